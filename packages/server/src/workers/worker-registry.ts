// The workers a namespace has heard from: the latest heartbeat of each worker instance, in memory, as
// Temporal's matching keeps them (docs/workers.md). Nothing is persisted: after a restart a worker
// reappears with its next heartbeat (the SDKs send one a minute by default).
//
// A heartbeat replaces the worker's previous one whole; one with status SHUTDOWN removes the worker;
// SHUTTING_DOWN (what the SDKs send when they stop) keeps it listed until it expires. A worker not
// heard from for `ttlMs` is dropped by the next sweep, and past `maxEntries` the least recently heard
// are dropped first (never one heard from within `minEvictAgeMs`).
import type { temporal } from '@temporalio/proto';

type Heartbeat = temporal.api.worker.v1.IWorkerHeartbeat;

const WORKER_STATUS_SHUTDOWN = 3;
/** Temporal's prefix of its own (per-namespace) task queues: their workers are system workers. */
const SYSTEM_TASK_QUEUE_PREFIX = 'temporal-sys-';

export interface WorkerEntry {
  readonly heartbeat: Heartbeat;
  /** When this server last heard from the worker (its own clock; never shown). */
  readonly lastSeenMs: number;
  /** A worker of the server's own task queues, left out of listings unless asked for. */
  readonly system: boolean;
}

export interface WorkerRegistryOptions {
  /** matching.workerRegistryEntryTTL (Temporal: 5 min). */
  readonly ttlMs: number;
  /** matching.workerRegistryMaxEntries (Temporal: 1,000,000). */
  readonly maxEntries: number;
  /** matching.workerRegistryMinEvictAge (Temporal: 1 min). */
  readonly minEvictAgeMs: number;
}

export const DEFAULT_WORKER_REGISTRY_OPTIONS: WorkerRegistryOptions = { ttlMs: 5 * 60_000, maxEntries: 1_000_000, minEvictAgeMs: 60_000 };

export class WorkerRegistry {
  /** Per namespace id, entries by worker instance key in the order last heard from (oldest first). */
  private readonly byNamespace = new Map<string, Map<string, WorkerEntry>>();
  private total = 0;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly options: WorkerRegistryOptions = DEFAULT_WORKER_REGISTRY_OPTIONS,
  ) {}

  record(namespaceId: string, heartbeats: readonly Heartbeat[]): void {
    let workers = this.byNamespace.get(namespaceId);
    if (workers === undefined) this.byNamespace.set(namespaceId, (workers = new Map()));
    for (const heartbeat of heartbeats) {
      const key = heartbeat.workerInstanceKey ?? '';
      if (workers.delete(key)) this.total--;
      if (heartbeat.status === WORKER_STATUS_SHUTDOWN) continue;
      workers.set(key, { heartbeat, lastSeenMs: this.now(), system: (heartbeat.taskQueue ?? '').startsWith(SYSTEM_TASK_QUEUE_PREFIX) });
      this.total++;
    }
  }

  /** The namespace's workers (system ones too). */
  entries(namespaceId: string): WorkerEntry[] {
    return [...(this.byNamespace.get(namespaceId)?.values() ?? [])];
  }

  get(namespaceId: string, workerInstanceKey: string): WorkerEntry | undefined {
    return this.byNamespace.get(namespaceId)?.get(workerInstanceKey);
  }

  get size(): number {
    return this.total;
  }

  /** Drops the workers not heard from within the TTL, then the oldest while over capacity. */
  sweep(): void {
    const now = this.now();
    for (const workers of this.byNamespace.values()) {
      for (const [key, entry] of workers) {
        // Oldest first: the first one heard from recently enough ends the namespace's sweep.
        if (now - entry.lastSeenMs < this.options.ttlMs) break;
        workers.delete(key);
        this.total--;
      }
    }
    while (this.total > this.options.maxEntries) {
      let removed = false;
      for (const workers of this.byNamespace.values()) {
        if (this.total <= this.options.maxEntries) break;
        const oldest = workers.entries().next();
        if (oldest.done || now - oldest.value[1].lastSeenMs < this.options.minEvictAgeMs) continue;
        workers.delete(oldest.value[0]);
        this.total--;
        removed = true;
      }
      if (!removed) break;
    }
  }
}
