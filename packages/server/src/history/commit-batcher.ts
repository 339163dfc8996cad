// Group commit for the engine: transitions computed in the same event-loop turn are written by one
// `Store.commitBatch`, so they share one transaction and one fsync instead of paying one each.
//
// - `commit(write)` queues the write and resolves (or rejects with that write's own error) only once
//   the batch holding it is durable; the caller publishes its effects after that, as before.
// - A flush is scheduled with `setImmediate`: it runs after the I/O callbacks of the current turn, so
//   every transition those callbacks produced is in it.
// - One batch is in flight at a time. Writes queued meanwhile (or beyond `maxBatch`) go in the next
//   batch, flushed as soon as the previous one settles.
// - A batch that fails as a whole (the store rejects: I/O error, disk full, closed) rejects every write
//   of it with that error. A write that fails its own conditions rejects only its caller.
// Ordering: writes are applied in the order they were queued. Two transitions of one execution never
// meet in a batch, because the engine computes the next only after the previous commit resolved.
import type { Store, TransitionWrite } from '../persistence/store.js';
import { PersistenceError } from '../persistence/errors.js';

export interface CommitBatcherOptions {
  /** Most writes in one batch (one transaction). */
  readonly maxBatch?: number;
  /** How a flush is deferred to let the current turn's writes join it; setImmediate by default. */
  readonly schedule?: (flush: () => void) => void;
}

export interface CommitBatcherStats {
  readonly batches: number;
  readonly writes: number;
  readonly largestBatch: number;
}

interface Pending {
  readonly write: TransitionWrite;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export const DEFAULT_MAX_BATCH = 256;

export class CommitBatcher {
  private queue: Pending[] = [];
  /** A flush is scheduled or running: new writes only join the queue. */
  private active = false;
  private readonly maxBatch: number;
  private readonly schedule: (flush: () => void) => void;
  private counters = { batches: 0, writes: 0, largestBatch: 0 };

  constructor(
    private readonly store: Pick<Store, 'commitBatch'>,
    options: CommitBatcherOptions = {},
  ) {
    this.maxBatch = Math.max(1, options.maxBatch ?? DEFAULT_MAX_BATCH);
    this.schedule = options.schedule ?? ((flush) => void setImmediate(flush));
  }

  /** Resolves once `write` is durable; rejects with its own error, or with its batch's. */
  commit(write: TransitionWrite): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ write, resolve, reject });
      if (this.active) return;
      this.active = true;
      this.schedule(() => void this.flush());
    });
  }

  /** Writes queued and not yet settled (in a batch in flight or waiting for the next). */
  get pending(): number {
    return this.queue.length;
  }

  stats(): CommitBatcherStats {
    return { ...this.counters };
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        await this.commitOne(batch);
      }
    } finally {
      this.active = false;
    }
  }

  /** Settles every write of `batch`; never throws. */
  private async commitOne(batch: readonly Pending[]): Promise<void> {
    this.counters.batches++;
    this.counters.writes += batch.length;
    this.counters.largestBatch = Math.max(this.counters.largestBatch, batch.length);
    let results: ReadonlyArray<Error | null>;
    try {
      results = await this.store.commitBatch(batch.map((p) => p.write));
      if (results.length !== batch.length) {
        throw new PersistenceError(`commitBatch returned ${results.length} results for ${batch.length} writes`);
      }
    } catch (error) {
      const failure = error instanceof Error ? error : new PersistenceError(String(error));
      for (const p of batch) p.reject(failure);
      return;
    }
    batch.forEach((p, i) => {
      const error = results[i];
      if (error) p.reject(error);
      else p.resolve();
    });
  }
}
