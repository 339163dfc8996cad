// The workflow cache: live runs kept between their workflow tasks, as sdk-core keeps them. A cached
// run is its sandbox (the workflow's memory, promises waiting) plus the replayer that knows where the
// run stands in its history; the next task of the run, arriving on the worker's sticky queue with
// only the new events, continues it instead of replaying from the first event.
//
// States of one run in this worker:
//
//   absent ──(task: full replay, answered)──► cached ──(task taken)──► in use ──(answered)──► cached
//                                               │                         │
//                                               └─(least recently used,   └─(failed, nondeterminism, workflow
//                                                  shutdown)──► disposed     closed, rolled back, stale)──► disposed
//
// A run in use is out of the cache: nothing can evict it under a running task, and a second task of
// the same run never sees it half-updated (the task handler also runs one task per run at a time).
// The bound, `maxCachedWorkflows`, counts the cached runs; runs in use are at most
// `maxConcurrentWorkflowTaskExecutions` more.
import type { HistoryReplayer } from './replay/history-replayer.js';
import type { WorkflowSandbox } from './sandbox.js';

export interface CachedRun {
  readonly runId: string;
  readonly sandbox: WorkflowSandbox;
  readonly replayer: HistoryReplayer;
}

export function disposeRun(run: CachedRun): void {
  run.sandbox.dispose();
}

/** Counters of the cache and of sticky execution, for tests and diagnostics. */
export interface WorkflowCacheStats {
  /** Runs in the cache now. */
  readonly cachedRuns: number;
  /** Workflow tasks that continued a cached run with only their new events. */
  readonly tasksOnCachedRuns: number;
  /** Events those tasks carried (the rest of each history was not sent, nor replayed). */
  readonly eventsAppliedToCachedRuns: number;
  /** Workflow tasks that replayed their run from the first event (first task, or the run was not cached). */
  readonly fullReplays: number;
  /** Tasks with a partial history whose run was not cached: the full history was fetched. */
  readonly historyFetches: number;
  /** Legacy query tasks answered from a cached run. */
  readonly queriesFromCache: number;
  /** Runs that left the cache other than by finishing (least recently used, failure, rollback, shutdown). */
  readonly evictions: number;
}

type Counters = { -readonly [K in Exclude<keyof WorkflowCacheStats, 'cachedRuns'>]: number };

/** The counters of a cache that holds nothing and did nothing (also what a worker without one reports). */
export function emptyCacheStats(): WorkflowCacheStats {
  return { cachedRuns: 0, tasksOnCachedRuns: 0, eventsAppliedToCachedRuns: 0, fullReplays: 0, historyFetches: 0, queriesFromCache: 0, evictions: 0 };
}

/** An LRU of cached runs by run id; the Map's order is the use order (oldest first). */
export class WorkflowCache {
  private readonly runs = new Map<string, CachedRun>();
  readonly counters: Counters = (({ cachedRuns: _none, ...counters }) => counters)(emptyCacheStats());

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new TypeError(`cache capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.runs.size;
  }

  stats(): WorkflowCacheStats {
    return { cachedRuns: this.runs.size, ...this.counters };
  }

  /** Takes a run out of the cache for a task (undefined when it is not cached). */
  take(runId: string): CachedRun | undefined {
    const run = this.runs.get(runId);
    if (run !== undefined) this.runs.delete(runId);
    return run;
  }

  /** The cached run, left in place (legacy queries read it without changing it). */
  peek(runId: string): CachedRun | undefined {
    return this.runs.get(runId);
  }

  /** Puts a run back as the most recently used one, evicting the least recently used beyond capacity. */
  put(run: CachedRun): void {
    const previous = this.runs.get(run.runId);
    if (previous !== undefined && previous !== run) this.evict(previous);
    this.runs.delete(run.runId);
    this.runs.set(run.runId, run);
    for (const oldest of this.runs.values()) {
      if (this.runs.size <= this.capacity) break;
      this.runs.delete(oldest.runId);
      this.evict(oldest);
    }
  }

  /** Disposes a run that will not come back (it may be in the cache or in use). */
  evict(run: CachedRun): void {
    if (this.runs.get(run.runId) === run) this.runs.delete(run.runId);
    if (run.sandbox.isDisposed) return;
    disposeRun(run);
    this.counters.evictions++;
  }

  /** Disposes every cached run (worker shutdown). */
  clear(): void {
    for (const run of [...this.runs.values()]) this.evict(run);
  }
}
