// The embedded SQLite store with its connection on a thread of its own. Every Store call is sent to that
// thread (store-thread.ts) and answered from it, so the statements and the fsync of a group commit run
// beside the main thread instead of stopping it: while one batch commits, the main thread reads and
// handles the next wave of requests. Same file, same schema, same durability as SqliteStore (which does
// the work on the thread). Design and figures: docs/adr/0007-sqlite-thread.md.
//
// The thread keeps the process alive only while a call is outstanding, as a synchronous connection
// would: an idle store does not stop a process from exiting.
import { Worker } from 'node:worker_threads';
import { PersistenceError } from '../errors.js';
import type { CurrentRunRow, ExecutionKey, ExecutionListPage, ExecutionRow, NamespaceRow, ScheduleRow, ShardFence, Store } from '../store.js';
import type { TimerTaskKey, TimerTaskRow, TransitionWrite } from '../store.js';
import type { ExecutionCount, ExecutionCountQuery, ExecutionListQuery, SearchAttributeRow } from '../visibility.js';
import { errorFromPayload, type ErrorPayload, type StoreMethod, type StoreRequest, type StoreResponse } from './store-thread.js';

export interface ThreadedSqliteStoreOptions {
  /** A file path, or ':memory:' for a throwaway database (tests). */
  readonly filename: string;
}

interface Call {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

/**
 * The thread's entry point: beside the bundle's main module when the server runs from the bundle (its
 * banner records where that is), else the TypeScript sources through tsx.
 */
function threadEntry(): URL {
  const bundle = (globalThis as { __kairosBundleUrl?: unknown }).__kairosBundleUrl;
  if (typeof bundle === 'string') return new URL('./sqlite-thread.mjs', bundle);
  return new URL('./sqlite-thread-sources.mjs', import.meta.url);
}

export class ThreadedSqliteStore implements Store {
  private nextId = 1;
  private readonly calls = new Map<number, Call>();
  /** Set once the thread is gone (closed, or failed): every later call rejects with it. */
  private stopped: Error | undefined;
  private closing: Promise<void> | undefined;
  private readonly exited: Promise<void>;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (response: StoreResponse) => this.answer(response));
    worker.on('error', (error: Error) => this.stop(new PersistenceError(`the SQLite thread failed: ${error.message}`, { cause: error })));
    this.exited = new Promise((resolve) => {
      worker.once('exit', (code: number) => {
        this.stop(new PersistenceError(this.closing ? 'the SQLite store is closed' : `the SQLite thread exited (code ${code})`));
        resolve();
      });
    });
    worker.unref();
  }

  /** Opens (creating and migrating if needed) and locks the file on a new thread; rejects as SqliteStore.open throws. */
  static async open(options: ThreadedSqliteStoreOptions): Promise<ThreadedSqliteStore> {
    const store = new ThreadedSqliteStore(new Worker(threadEntry(), { stdout: false, stderr: false }));
    try {
      await store.call('open', [options.filename]);
    } catch (error) {
      await store.worker.terminate();
      throw error;
    }
    return store;
  }

  commit(write: TransitionWrite): Promise<void> {
    return this.call('commit', [write]);
  }

  async commitBatch(writes: readonly TransitionWrite[]): Promise<Array<Error | null>> {
    if (writes.length === 0) return [];
    const results = await this.call<Array<ErrorPayload | null>>('commitBatch', [writes]);
    return results.map((error) => (error === null ? null : errorFromPayload(error)));
  }

  getExecution(key: ExecutionKey): Promise<ExecutionRow | null> {
    return this.call('getExecution', [key]);
  }

  getSignalRequestIds(key: ExecutionKey): Promise<string[]> {
    return this.call('getSignalRequestIds', [key]);
  }

  getCurrentRun(namespaceId: string, workflowId: string): Promise<CurrentRunRow | null> {
    return this.call('getCurrentRun', [namespaceId, workflowId]);
  }

  readEvents(key: ExecutionKey, firstEventId: number, nextEventId: number, limit: number): Promise<Uint8Array[]> {
    return this.call('readEvents', [key, firstEventId, nextEventId, limit]);
  }

  readEventsReverse(key: ExecutionKey, beforeEventId: number, limit: number): Promise<Uint8Array[]> {
    return this.call('readEventsReverse', [key, beforeEventId, limit]);
  }

  listExecutionsNeedingDispatch(): Promise<ExecutionRow[]> {
    return this.call('listExecutionsNeedingDispatch', []);
  }

  listTimerTasks(untilMs: number, limit: number, shardIds?: readonly number[], after?: TimerTaskKey): Promise<TimerTaskRow[]> {
    return this.call('listTimerTasks', [untilMs, limit, shardIds, after]);
  }

  listExecutions(query: ExecutionListQuery): Promise<ExecutionListPage> {
    return this.call('listExecutions', [query]);
  }

  countExecutions(query: ExecutionCountQuery): Promise<ExecutionCount> {
    return this.call('countExecutions', [query]);
  }

  listSearchAttributes(namespaceId: string): Promise<SearchAttributeRow[]> {
    return this.call('listSearchAttributes', [namespaceId]);
  }

  addSearchAttributes(namespaceId: string, attributes: readonly SearchAttributeRow[]): Promise<void> {
    return this.call('addSearchAttributes', [namespaceId, attributes]);
  }

  removeSearchAttributes(namespaceId: string, names: readonly string[]): Promise<string[]> {
    return this.call('removeSearchAttributes', [namespaceId, names]);
  }

  listNamespaces(): Promise<NamespaceRow[]> {
    return this.call('listNamespaces', []);
  }

  upsertNamespace(row: NamespaceRow, expectedVersion: number): Promise<void> {
    return this.call('upsertNamespace', [row, expectedVersion]);
  }

  getSchedule(namespaceId: string, scheduleId: string): Promise<ScheduleRow | null> {
    return this.call('getSchedule', [namespaceId, scheduleId]);
  }

  listSchedules(namespaceId: string, afterScheduleId: string | null, limit: number): Promise<ScheduleRow[]> {
    return this.call('listSchedules', [namespaceId, afterScheduleId, limit]);
  }

  listAllSchedules(): Promise<ScheduleRow[]> {
    return this.call('listAllSchedules', []);
  }

  putSchedule(row: ScheduleRow, expectedVersion: number): Promise<void> {
    return this.call('putSchedule', [row, expectedVersion]);
  }

  deleteSchedule(namespaceId: string, scheduleId: string): Promise<boolean> {
    return this.call('deleteSchedule', [namespaceId, scheduleId]);
  }

  deleteExecution(key: ExecutionKey, fence?: ShardFence): Promise<void> {
    return this.call('deleteExecution', [key, fence]);
  }

  /** Checkpoints and closes the database, then waits for the thread to end. Closing twice is harmless. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.stopped === undefined) {
        // Kept alive until the thread has ended, so the process waits for the checkpoint.
        this.worker.ref();
        await this.call('close', []);
      }
      await this.exited;
    })();
    return this.closing;
  }

  private call<T>(method: StoreMethod | 'open', args: readonly unknown[]): Promise<T> {
    if (this.stopped !== undefined) return Promise.reject(this.stopped);
    return new Promise<T>((resolve, reject) => {
      const id = this.nextId++;
      if (this.calls.size === 0) this.worker.ref();
      this.calls.set(id, { resolve: resolve as (value: unknown) => void, reject });
      const request: StoreRequest = { id, method, args };
      this.worker.postMessage(request);
    });
  }

  private answer(response: StoreResponse): void {
    const call = this.calls.get(response.id);
    if (call === undefined) return;
    this.calls.delete(response.id);
    if (this.calls.size === 0 && this.closing === undefined) this.worker.unref();
    if (response.ok) call.resolve(response.value);
    else call.reject(errorFromPayload(response.error));
  }

  /** The thread is gone: outstanding calls and every later one fail with `error`. */
  private stop(error: Error): void {
    this.stopped ??= error;
    for (const call of this.calls.values()) call.reject(this.stopped);
    this.calls.clear();
  }
}
