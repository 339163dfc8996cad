// The durable timer queue. Timer rows live in the store (written in the same transaction as the
// transition that set them); this class keeps the pending ones in a min-heap ordered by fire time,
// arms one clock callback for the earliest, and hands due rows to the engine, which re-validates each
// against mutable state and deletes the row in the transition that handles it. A row whose handling
// fails is retried with a short backoff; nothing is lost on restart because `start` reloads the rows.
import type { Store, TimerTaskRow } from '../persistence/store.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { TimerSink } from '../history/engine.js';

export type TimerHandler = (row: TimerTaskRow) => Promise<void>;

export class TimerQueue implements TimerSink {
  private heap: TimerTaskRow[] = [];
  /** Ids in the heap (a row loaded twice, by a shard take-over and by its own commit, fires once). */
  private readonly queued = new Set<string>();
  private readonly removed = new Set<string>();
  /** Cluster mode: only rows of shards this node holds are kept (checked on every add and retry). */
  accepts: ((row: TimerTaskRow) => boolean) | null = null;
  private cancelArm: (() => void) | null = null;
  private armedAt = Infinity;
  private running = false;
  private stopped = false;
  private inFlight = 0;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly handler: TimerHandler,
  ) {}

  /** Loads the stored rows (of `shardIds` only, when given) and arms the clock. */
  async start(shardIds?: readonly number[]): Promise<void> {
    const rows = await this.store.listTimerTasks(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, shardIds);
    this.add(rows);
  }

  /** Forgets the rows `belongs` selects (their shard moved to another node, which loads them). */
  dropWhere(belongs: (row: TimerTaskRow) => boolean): void {
    const kept = this.heap.filter((r) => !belongs(r));
    if (kept.length === this.heap.length) return;
    this.heap = kept;
    this.queued.clear();
    for (const r of kept) this.queued.add(r.taskId);
    heapify(this.heap);
  }

  stop(): void {
    this.stopped = true;
    this.cancelArm?.();
    this.cancelArm = null;
  }

  get size(): number {
    return this.heap.length;
  }

  add(rows: readonly TimerTaskRow[]): void {
    for (const row of rows) this.push(row);
    this.arm();
  }

  remove(taskIds: readonly string[]): void {
    for (const id of taskIds) this.removed.add(id);
    // Lazy deletion: ids are skipped when they reach the top. Compact when tombstones dominate.
    if (this.removed.size > 1024 && this.removed.size * 2 > this.heap.length) {
      this.heap = this.heap.filter((r) => !this.removed.has(r.taskId));
      for (const id of this.removed) this.queued.delete(id);
      this.removed.clear();
      heapify(this.heap);
    }
  }

  private push(row: TimerTaskRow): void {
    this.removed.delete(row.taskId);
    if (this.queued.has(row.taskId) || (this.accepts && !this.accepts(row))) return;
    this.queued.add(row.taskId);
    this.heap.push(row);
    siftUp(this.heap, this.heap.length - 1);
  }

  private pop(): TimerTaskRow | undefined {
    const top = this.heap[0];
    if (top) this.queued.delete(top.taskId);
    const last = this.heap.pop();
    if (this.heap.length > 0 && last) {
      this.heap[0] = last;
      siftDown(this.heap, 0);
    }
    return top;
  }

  private arm(): void {
    if (this.stopped || this.running) return;
    while (this.heap.length > 0 && this.removed.has(this.heap[0]!.taskId)) this.removed.delete(this.pop()!.taskId);
    const next = this.heap[0];
    if (!next) return;
    if (next.fireAtMs >= this.armedAt && this.cancelArm) return;
    this.cancelArm?.();
    this.armedAt = next.fireAtMs;
    // Returning fireDue's promise lets a time-skipping clock hold time until the due rows are handled.
    this.cancelArm = this.clock.schedule(
      next.fireAtMs,
      () => {
        this.cancelArm = null;
        this.armedAt = Infinity;
        return this.fireDue();
      },
      'timer',
    );
  }

  private async fireDue(): Promise<void> {
    if (this.stopped) return;
    this.running = true;
    try {
      const now = this.clock.now();
      const due: TimerTaskRow[] = [];
      while (this.heap.length > 0 && this.heap[0]!.fireAtMs <= now) {
        const row = this.pop()!;
        if (this.removed.delete(row.taskId)) continue;
        due.push(row);
      }
      this.inFlight += due.length;
      await Promise.all(
        due.map(async (row) => {
          try {
            await this.handler(row);
          } catch (err) {
            this.logger.warn('timer task failed; retrying', { taskId: row.taskId, error: String(err) });
            if (!this.stopped) this.push({ ...row, fireAtMs: this.clock.now() + 1000 });
          } finally {
            this.inFlight--;
          }
        }),
      );
    } finally {
      this.running = false;
      this.arm();
    }
  }
}

function less(a: TimerTaskRow, b: TimerTaskRow): boolean {
  return a.fireAtMs < b.fireAtMs || (a.fireAtMs === b.fireAtMs && a.taskId < b.taskId);
}

function siftUp(h: TimerTaskRow[], i: number): void {
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!less(h[i]!, h[p]!)) break;
    [h[i], h[p]] = [h[p]!, h[i]!];
    i = p;
  }
}

function siftDown(h: TimerTaskRow[], i: number): void {
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < h.length && less(h[l]!, h[m]!)) m = l;
    if (r < h.length && less(h[r]!, h[m]!)) m = r;
    if (m === i) return;
    [h[i], h[m]] = [h[m]!, h[i]!];
    i = m;
  }
}

function heapify(h: TimerTaskRow[]): void {
  for (let i = (h.length >> 1) - 1; i >= 0; i--) siftDown(h, i);
}
