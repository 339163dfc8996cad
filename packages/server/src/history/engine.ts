// The I/O edge of the history room. It loads an execution's mutable state (decoding a private copy
// from its cache of encoded states, or from the store), runs a pure handler on it, commits the resulting transition atomically (events + state
// guarded by its version + timer rows), and only after the commit is durable hands dispatches to
// matching, timers to the timer queue, updates the cache and wakes history long-polls. Transitions of
// one execution are serialized by a per-execution lock; a lost version race evicts the cache and is
// retried. Commits go through a CommitBatcher (group commit): the transitions of all executions
// produced in one event-loop turn share one transaction and one fsync, each still atomic on its own.
import { HistoryEventCodec, type HistoryEvent } from '../proto-types.js';
import type { ExecutionKey, ExecutionSummary, ExecutionWrite, ListedFields, ShardFence, Store, TimerTaskRef, TimerTaskRow, TransitionWrite } from '../persistence/store.js';
import { ConditionFailedError, ShardOwnershipLostError } from '../persistence/errors.js';
import type { MutableState } from './mutable-state.js';
import { decodeMutableState, encodeMutableState } from './state-codec.js';
import type { Transition, Dispatch } from './transition.js';
import { encodeTimerTask, isMemoryOnlyTimerId } from '../timers/timer-task.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { KeyedMutex } from './keyed-mutex.js';
import { ShardUnavailableError } from '../errors.js';
import { randomUUID } from 'node:crypto';
import { enforceHistoryLimits, isRunning } from './machines/workflow.js';
import { startWorkflowTask } from './machines/workflow-task.js';
import { markUpdatesDelivered } from './machines/update.js';
import { moveStickyTaskToNormalQueue } from './machines/sticky.js';
import { RecentEvents } from './recent-events.js';
import { CommitBatcher, type CommitBatcherOptions, type CommitBatcherStats } from './commit-batcher.js';
import { summarizeRun } from './execution-summary.js';

export interface DispatchSink {
  /** `state`: the run as committed (read only), for routing (its versioning, history/versioning.ts). */
  dispatch(key: ExecutionKey, d: Dispatch, state: MutableState): void;
}

/** A workflow poll waiting in matching, taken for a task the committing transition starts for it. */
export interface ReservedPoll {
  readonly identity: string;
  /** The commit is durable: the poll answers with the task of `state` (the run as committed, shared). */
  deliver(state: MutableState): void;
  /** The commit failed: the poll answers empty. */
  release(): void;
}

export interface TimerSink {
  /** Rows just stored. */
  add(rows: readonly TimerTaskRow[]): void;
  /** Memory-only rows (never stored): kept until they fire or are removed. */
  hold(rows: readonly TimerTaskRow[]): void;
  remove(taskIds: readonly string[]): void;
}

/**
 * A cached run: its state as encoded for the database (a few KB, where the decoded object graph is
 * several times larger), so the cache holds many runs in little memory. Every load decodes a fresh,
 * private copy, which is also the copy a handler may change.
 */
interface CachedExecution {
  readonly bytes: Uint8Array;
  readonly version: number;
  /** The memo and search attributes stored with this version, which `bytes` leaves to the row. */
  readonly listed: ListedFields;
  /** The summary stored with this version: written by this node, or read with the state (SQLite). */
  readonly summary?: ExecutionSummary;
}

/** A run as loaded: a private copy of its state and the version it was read at. */
export interface LoadedExecution {
  readonly state: MutableState;
  readonly version: number;
  /** The bytes it was decoded from, with the fields they leave to the row: another private copy costs one decode. */
  readonly bytes: Uint8Array;
  readonly listed: ListedFields;
}

const NO_REQUEST_IDS: ReadonlySet<string> = new Set();
/** Runs whose stored signal request ids are kept in memory (the ones signalled lately). */
const MAX_SIGNAL_REQUEST_ID_SETS = 1_000;

export function keyString(k: ExecutionKey): string {
  return `${k.namespaceId}\u0000${k.workflowId}\u0000${k.runId}`;
}

/** What a handler returns: the transition to commit (or null for nothing) and a value for the caller. */
export interface HandlerResult<R> {
  readonly transition: Transition | null;
  readonly value: R;
}

/** One request's outcome in a combined transition: its value, or the error it alone failed with. */
export type CombinedOutcome<R> = { readonly value: R } | { readonly error: unknown };

/** What a combined handler returns: one transition for all the requests, and an outcome for each. */
export interface CombinedResult<R> {
  readonly transition: Transition | null;
  readonly outcomes: ReadonlyArray<CombinedOutcome<R>>;
}

interface CombinedRequest<I, R> {
  readonly item: I;
  readonly resolve: (value: R) => void;
  readonly reject: (error: unknown) => void;
}

export class ExecutionEngine {
  private readonly cache = new Map<string, CachedExecution>();
  private readonly locks = new KeyedMutex();
  /**
   * Signal request ids stored beside runs that were signalled lately (plus any their state still holds
   * from before), for de-duplication under the run's lock; kept current after each commit. LRU-bounded.
   */
  private readonly signalRequestIdSets = new Map<string, Set<string>>();
  /** Requests waiting for an execution's lock that later requests of their kind may join (`updateCombined`). */
  private readonly combining = new Map<string, Array<CombinedRequest<unknown, unknown>>>();
  private readonly waiters = new Map<string, Set<(state?: MutableState) => void>>();
  /** The encoded events this node committed lately, per run: what a task's history or a result read wants next. */
  private readonly recentEvents = new RecentEvents();
  private readonly batcher: CommitBatcher;
  dispatchSink: DispatchSink | null = null;
  /**
   * Whether a sticky queue still has its worker (matching knows); a task for a sticky queue without one
   * goes to the normal queue in the same commit. Unset: sticky queues are trusted.
   */
  stickyQueueAvailable: ((namespaceId: string, taskQueue: string, state: MutableState) => boolean) | null = null;
  /**
   * Worker Deployments: whether a pinned run's task queue now routes new work to another version than
   * the run's (WorkflowTaskStarted's target_worker_deployment_version_changed). Unset: never.
   */
  targetVersionChanged: ((state: MutableState) => boolean) | null = null;
  /**
   * Takes a poll waiting on a workflow task queue (matching), or null when none waits. A transition that
   * schedules a workflow task while a poll waits for it also starts it, for that poll, in the same
   * commit: one transition and one commit fewer than dispatching the task and starting it when the poll
   * takes it. Unset: every task is dispatched after its commit.
   */
  reserveWorkflowPoll: ((namespaceId: string, taskQueue: string, state: MutableState) => ReservedPoll | null) | null = null;
  /** Namespace retention: how long a closed run is kept before it is deleted (unset: kept forever). */
  retentionMsFor: ((namespaceId: string) => number) | null = null;
  timerSink: TimerSink | null = null;
  /** Told every run's state once its transition is durable (time skipping tracks outstanding work). */
  onCommitted: ((state: MutableState) => void) | null = null;
  /**
   * Cluster mode: the fence (shard and lease range id) under which this node may read and write an
   * execution; throws (UNAVAILABLE) when this node does not hold that shard's lease. Unset: one node
   * owns everything and writes unfenced.
   */
  shardFence: ((key: ExecutionKey) => ShardFence) | null = null;
  /** Cluster mode: told when a write found its shard taken over by another node. */
  onShardLost: ((fence: ShardFence) => void) | null = null;

  constructor(
    readonly store: Store,
    readonly clock: Clock,
    readonly logger: Logger,
    private readonly maxCached = 10_000,
    commitOptions: CommitBatcherOptions = {},
  ) {
    this.batcher = new CommitBatcher(store, commitOptions);
  }

  /** Group-commit counters: batches written, writes in them, the largest batch. */
  commitStats(): CommitBatcherStats {
    return this.batcher.stats();
  }

  /** Loads a run (from the cache or the store) as a private copy the caller may change. */
  async load(key: ExecutionKey): Promise<LoadedExecution | null> {
    // Only the shard's owner may serve a run: another node's copy may be stale.
    this.shardFence?.(key);
    const k = keyString(key);
    const hit = this.cache.get(k);
    if (hit) {
      // Refresh recency for the LRU order.
      this.cache.delete(k);
      this.cache.set(k, hit);
      return { state: decodeMutableState(hit.bytes, key, hit.listed), version: hit.version, bytes: hit.bytes, listed: hit.listed };
    }
    const row = await this.store.getExecution(key);
    if (!row) return null;
    const listed: ListedFields = { memo: row.memo, searchAttributes: row.searchAttributes };
    this.remember(k, { bytes: row.state, version: row.version, listed, ...(row.summary ? { summary: row.summary } : {}) });
    return { state: decodeMutableState(row.state, key, listed), version: row.version, bytes: row.state, listed };
  }

  private remember(k: string, entry: CachedExecution): void {
    this.cache.set(k, entry);
    if (this.cache.size > this.maxCached) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }

  /** Reads the current state without locking (a private snapshot). */
  async read(key: ExecutionKey): Promise<MutableState | null> {
    return (await this.load(key))?.state ?? null;
  }

  /**
   * Runs `handler` on a clone of the execution's state under its lock and commits what it returns.
   * `handler` receives null when the execution does not exist; `original()` decodes another private copy
   * of the state as loaded (for a handler that must start over after changing its copy).
   */
  async update<R>(
    key: ExecutionKey,
    handler: (state: MutableState | null, nowMs: number, signalRequestIds: ReadonlySet<string>, original: () => MutableState) => HandlerResult<R>,
    options: { readonly signalRequestIds?: boolean } = {},
  ): Promise<R> {
    return this.locks.run(keyString(key), async () => {
      for (let attempt = 0; ; attempt++) {
        const loaded = await this.load(key);
        const stored = options.signalRequestIds && loaded ? await this.storedSignalRequestIds(key, loaded.state) : NO_REQUEST_IDS;
        const original = (): MutableState => {
          if (!loaded) throw new Error(`no state of ${keyString(key)} to copy`);
          return decodeMutableState(loaded.bytes, key, loaded.listed);
        };
        const result = handler(loaded?.state ?? null, this.clock.now(), stored, original);
        const t = result.transition;
        if (t) enforceHistoryLimits(t);
        if (!t || !loaded) return result.value;
        try {
          await this.commitTransitions(withNewRun(t, loaded.version));
          return result.value;
        } catch (err) {
          if (err instanceof ConditionFailedError && attempt < 2) {
            this.evict(key);
            continue;
          }
          throw err;
        }
      }
    });
  }

  /**
   * Like `update`, for requests of one kind that may share a transition (signals into one workflow): a
   * request that arrives while another of its `kind` for the same execution still waits for the lock
   * joins that one, and `handler` applies them all, in arrival order, to one state in one transition
   * and one commit. Each caller is answered only once that commit is durable, with its own outcome;
   * when the transition as a whole fails (the run is gone, the commit failed) every caller gets the
   * error. One execution then takes as many requests per commit as arrived during the previous one,
   * instead of one.
   */
  async updateCombined<I, R>(
    key: ExecutionKey,
    kind: string,
    item: I,
    handler: (state: MutableState | null, nowMs: number, items: readonly I[], signalRequestIds: ReadonlySet<string>) => CombinedResult<R>,
  ): Promise<R> {
    const k = keyString(key);
    const slot = `${kind}\u0000${k}`;
    return new Promise<R>((resolve, reject) => {
      const request: CombinedRequest<I, R> = { item, resolve, reject };
      const waiting = this.combining.get(slot);
      if (waiting) {
        waiting.push(request as CombinedRequest<unknown, unknown>);
        return;
      }
      const group: Array<CombinedRequest<I, R>> = [request];
      this.combining.set(slot, group as Array<CombinedRequest<unknown, unknown>>);
      const close = (): void => {
        // Requests arriving from now on start a group of their own (behind this one's lock).
        if (this.combining.get(slot) === (group as unknown)) this.combining.delete(slot);
      };
      this.update(
        key,
        (state, nowMs, signalRequestIds) => {
          close();
          const result = handler(state, nowMs, group.map((r) => r.item), signalRequestIds);
          return { transition: result.transition, value: result.outcomes };
        },
        { signalRequestIds: true },
      ).then(
        (outcomes) => {
          for (const [i, r] of group.entries()) {
            const outcome = outcomes[i];
            if (outcome && 'value' in outcome) r.resolve(outcome.value);
            else r.reject(outcome ? outcome.error : new Error('No outcome for a combined request.'));
          }
        },
        (err: unknown) => {
          close();
          for (const r of group) r.reject(err);
        },
      );
    });
  }

  /** The signal request ids stored for a run (cached), with those its state holds from before they moved out. */
  private async storedSignalRequestIds(key: ExecutionKey, state: MutableState): Promise<ReadonlySet<string>> {
    const k = keyString(key);
    let ids = this.signalRequestIdSets.get(k);
    if (ids) {
      this.signalRequestIdSets.delete(k);
    } else {
      ids = new Set([...(await this.store.getSignalRequestIds(key)), ...state.signalRequestIds]);
    }
    this.signalRequestIdSets.set(k, ids);
    if (this.signalRequestIdSets.size > MAX_SIGNAL_REQUEST_ID_SETS) {
      const oldest = this.signalRequestIdSets.keys().next().value;
      if (oldest !== undefined) this.signalRequestIdSets.delete(oldest);
    }
    return ids;
  }

  /** Locks several executions (in a stable order) around `fn` — used by start with terminate-existing. */
  async withLocks<R>(keys: readonly string[], fn: () => Promise<R>): Promise<R> {
    return this.locks.runMany(keys, fn);
  }

  /**
   * Commits transitions of one or more executions atomically, then publishes their effects.
   * expectedVersion 0 creates the execution. The write joins the current group-commit batch; this
   * resolves only once it is durable, and rejects with its own error (ConditionFailedError on a lost
   * race) or, when the whole batch failed, with the batch's error. On rejection nothing is published and
   * the cache keeps the state as it was before the transition.
   */
  async commitTransitions(
    items: ReadonlyArray<{ t: Transition; expectedVersion: number; setCurrent: ExecutionWrite['setCurrent'] }>,
  ): Promise<void> {
    const reserved: Array<{ poll: ReservedPoll; state: MutableState }> = [];
    try {
      await this.commitAndPublish(items, reserved);
    } catch (err) {
      // A poll taken for a task is answered whatever failed (a delivered one ignores this).
      for (const r of reserved) r.poll.release();
      throw err;
    }
  }

  private async commitAndPublish(
    items: ReadonlyArray<{ t: Transition; expectedVersion: number; setCurrent: ExecutionWrite['setCurrent'] }>,
    reserved: Array<{ poll: ReservedPoll; state: MutableState }>,
  ): Promise<void> {
    const executions: ExecutionWrite[] = [];
    const timersToAdd: TimerTaskRow[] = [];
    const memoryOnlyTimers: TimerTaskRow[] = [];
    const timerIdsToDelete: string[] = [];
    const storedToDelete: TimerTaskRef[] = [];
    for (const { t, expectedVersion, setCurrent } of items) {
      const state = t.state;
      const wft = state.workflowTask;
      if (wft?.sticky && wft.startedEventId === 0 && this.stickyQueueAvailable && t.dispatches.some((d) => d.kind === 'workflowTask')) {
        if (!this.stickyQueueAvailable(state.namespaceId, wft.taskQueue, state)) moveStickyTaskToNormalQueue(t);
      }
      const poll = this.startForWaitingPoll(t);
      if (poll) reserved.push({ poll, state });
      state.stateTransitionCount++;
      const key = { namespaceId: state.namespaceId, workflowId: state.workflowId, runId: state.runId };
      const cached = this.cache.get(keyString(key));
      const previous = cached?.version === expectedVersion ? cached.summary : undefined;
      const { summary, listingUnchanged } = summarizeRun(state, previous);
      executions.push({
        key,
        expectedVersion,
        newVersion: expectedVersion + 1,
        state: encodeMutableState(state),
        summary,
        ...(listingUnchanged ? { listingUnchanged } : {}),
        needsDispatch: needsDispatch(state),
        events: t.events.map((e) => ({ eventId: Number(e.eventId), data: t.encodedEvent(e) })),
        ...(t.signalRequestIds.length > 0 ? { signalRequestIds: t.signalRequestIds } : {}),
        ...(setCurrent !== undefined ? { setCurrent } : {}),
      });
      if (t.closed && this.retentionMsFor) {
        // Deleting the run after the namespace retention is part of closing it, in the same commit.
        t.addTimer(t.nowMs + this.retentionMsFor(state.namespaceId), { kind: 'deleteExecution' });
      }
      for (const timer of t.timersToAdd) {
        const row = { taskId: timer.taskId, fireAtMs: timer.fireAtMs, key, data: encodeTimerTask(timer.task) };
        (timer.memoryOnly ? memoryOnlyTimers : timersToAdd).push(row);
      }
      for (const taskId of t.timerIdsToDelete) {
        timerIdsToDelete.push(taskId);
        if (!isMemoryOnlyTimerId(taskId)) storedToDelete.push({ key, taskId });
      }
    }
    const fence = this.fenceOf(executions[0]?.key);
    const write: TransitionWrite = { executions, timersToAdd, timersToDelete: storedToDelete, ...(fence ? { fence } : {}) };
    await this.fenced(fence, () => this.batcher.commit(write));
    for (const [i, { t, expectedVersion }] of items.entries()) {
      const exec = executions[i]!;
      const k = keyString(exec.key);
      this.remember(k, { bytes: exec.state, version: expectedVersion + 1, listed: exec.summary, summary: exec.summary });
      if (exec.events.length > 0) this.recentEvents.append(k, exec.events[0]!.eventId, exec.events.map((e) => e.data));
      const storedIds = this.signalRequestIdSets.get(k);
      if (storedIds) for (const id of t.signalRequestIds) storedIds.add(id);
      for (const d of t.dispatches) this.dispatchSink?.dispatch(exec.key, d, t.state);
      this.onCommitted?.(t.state);
      // Waiters re-check what they wait for: new events, a close, an update's stage (which can change
      // without an event when a speculative task is discarded).
      if (t.events.length > 0 || t.closed || t.stateChanged) this.notify(k, t.state);
    }
    for (const r of reserved) r.poll.deliver(r.state);
    if (timerIdsToDelete.length > 0) this.timerSink?.remove(timerIdsToDelete);
    if (timersToAdd.length > 0) this.timerSink?.add(timersToAdd);
    if (memoryOnlyTimers.length > 0) this.timerSink?.hold(memoryOnlyTimers);
  }

  /**
   * When `t` schedules a workflow task (its dispatch is pending) and a poll waits on the task's queue,
   * takes that poll and starts the task for it in `t`, instead of dispatching it.
   */
  private startForWaitingPoll(t: Transition): ReservedPoll | null {
    const wft = t.state.workflowTask;
    if (!this.reserveWorkflowPoll || !wft || wft.startedEventId !== 0 || !isRunning(t.state)) return null;
    const i = t.dispatches.findIndex((d) => d.kind === 'workflowTask' && d.scheduledEventId === wft.scheduledEventId && d.attempt === wft.attempt && d.taskQueue === wft.taskQueue);
    if (i < 0) return null;
    const poll = this.reserveWorkflowPoll(t.state.namespaceId, wft.taskQueue, t.state);
    if (!poll) return null;
    t.dispatches.splice(i, 1);
    markUpdatesDelivered(t.state, startWorkflowTask(t, poll.identity, randomUUID(), this.targetVersionChanged?.(t.state) ?? false));
    return poll;
  }

  /**
   * Waits until the execution changes (new events) or `signal` aborts / `timeoutMs` passes. Resolves with
   * the run's state as just committed when it changed (shared: read it, never change it), else undefined.
   */
  waitForChange(key: ExecutionKey, timeoutMs: number, signal: AbortSignal): Promise<MutableState | undefined> {
    const k = keyString(key);
    return new Promise((resolve) => {
      let set = this.waiters.get(k);
      if (!set) this.waiters.set(k, (set = new Set()));
      const done = (state?: MutableState): void => {
        cancelTimer();
        signal.removeEventListener('abort', onAbort);
        set.delete(done);
        if (set.size === 0 && this.waiters.get(k) === set) this.waiters.delete(k);
        resolve(state);
      };
      const onAbort = (): void => done();
      const cancelTimer = this.clock.schedule(this.clock.now() + timeoutMs, onAbort);
      signal.addEventListener('abort', onAbort);
      set.add(done);
    });
  }

  private notify(k: string, state: MutableState): void {
    const set = this.waiters.get(k);
    if (!set) return;
    for (const fn of [...set]) fn(state);
  }

  /** Events [first, next) of a run, decoded. */
  async readEvents(key: ExecutionKey, firstEventId: number, nextEventId: number, limit = Number.MAX_SAFE_INTEGER): Promise<HistoryEvent[]> {
    const rows = await this.readEncodedEvents(key, firstEventId, nextEventId, limit);
    return rows.map((r) => HistoryEventCodec.decode(r));
  }

  /** Events [first, next) of a run, at most `limit`, as stored (encoded): from memory when this node wrote them lately. */
  async readEncodedEvents(key: ExecutionKey, firstEventId: number, nextEventId: number, limit = Number.MAX_SAFE_INTEGER): Promise<Uint8Array[]> {
    return this.recentEvents.read(keyString(key), firstEventId, nextEventId, limit) ?? this.store.readEvents(key, firstEventId, nextEventId, limit);
  }

  /** Drops the cached state (after an unexpected error the cache may be ahead of the database). */
  evict(key: ExecutionKey): void {
    this.cache.delete(keyString(key));
    this.signalRequestIdSets.delete(keyString(key));
    this.recentEvents.drop(keyString(key));
  }

  /** Drops the cached state of every run `belongs` selects (their shard moved to another node). */
  evictWhere(belongs: (key: ExecutionKey) => boolean): void {
    for (const map of [this.cache, this.signalRequestIdSets]) {
      for (const k of [...map.keys()]) {
        const [namespaceId = '', workflowId = '', runId = ''] = k.split('\u0000');
        if (belongs({ namespaceId, workflowId, runId })) map.delete(k);
      }
    }
    this.recentEvents.dropWhere((k) => {
      const [namespaceId = '', workflowId = '', runId = ''] = k.split('\u0000');
      return belongs({ namespaceId, workflowId, runId });
    });
  }

  /** Deletes timer rows of `key`'s run that were handled without a transition of it (fenced in a cluster). */
  async deleteTimerRows(key: ExecutionKey, taskIds: readonly string[]): Promise<void> {
    const stored = taskIds.filter((id) => !isMemoryOnlyTimerId(id)).map((taskId) => ({ key, taskId }));
    if (stored.length === 0) return;
    const fence = this.fenceOf(key);
    await this.fenced(fence, () => this.store.commit({ executions: [], timersToAdd: [], timersToDelete: stored, ...(fence ? { fence } : {}) }));
  }

  /** Deletes a run and all it owns (fenced in a cluster). */
  async deleteExecution(key: ExecutionKey): Promise<void> {
    const fence = this.fenceOf(key);
    await this.fenced(fence, () => this.store.deleteExecution(key, fence));
    this.evict(key);
  }

  private fenceOf(key: ExecutionKey | undefined): ShardFence | undefined {
    return key && this.shardFence ? this.shardFence(key) : undefined;
  }

  /** Runs a fenced write; a lost lease is reported (the node drops the shard) and rethrown. */
  private async fenced<T>(fence: ShardFence | undefined, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if (fence && err instanceof ShardOwnershipLostError) {
        this.onShardLost?.(fence);
        throw new ShardUnavailableError(`shard ${fence.shardId} moved to another node; retry`, { cause: err });
      }
      throw err;
    }
  }
}

/** A transition plus the run it starts in the same commit (which becomes the current run). */
export function withNewRun(t: Transition, expectedVersion: number): Array<{ t: Transition; expectedVersion: number; setCurrent: ExecutionWrite['setCurrent'] }> {
  const items: Array<{ t: Transition; expectedVersion: number; setCurrent: ExecutionWrite['setCurrent'] }> = [{ t, expectedVersion, setCurrent: undefined }];
  if (t.newRun) items.push({ t: t.newRun, expectedVersion: 0, setCurrent: { expectedCurrentRunId: t.state.runId } });
  return items;
}

export function needsDispatch(state: MutableState): boolean {
  // A closed standalone activity keeps its ActivityInfo (for describe), never a task.
  if (!isRunning(state)) return false;
  if (state.workflowTask && state.workflowTask.startedEventId === 0) return true;
  return Object.values(state.activities).some((a) => a.phase === 'scheduled' && !a.awaitingRetry);
}
