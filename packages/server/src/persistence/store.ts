// The one narrow interface between the engine and a database. Every backend (sqlite/, later postgres/)
// implements it and runs the same conformance suite (persistence/store-conformance.ts).
//
// Model:
// - namespaces: registry rows (id, name, serialized NamespaceRecord data).
// - executions: one row per run: the serialized mutable state plus a version used for optimistic
//   concurrency (`UPDATE ... WHERE version = expected`), and the few columns that listing needs.
//   Those columns (visibility) also carry the run's search attributes, memo and typed attribute values,
//   written in the same transaction as the state, so list/count never lag behind a transition.
// - current_executions: (namespace_id, workflow_id) -> the current run, for id-reuse/conflict policies.
// - history_events: one row per event, the encoded temporal.api.history.v1.HistoryEvent.
// - timer_tasks: the durable timer queue (transactional outbox): rows inserted and deleted in the
//   same transaction as the execution change that implies them.
// - search_attributes: the custom search attributes registered per namespace.
// - schedules: one row per schedule (the serialized schedule record, owned by schedules/), with a
//   version for optimistic concurrency as namespaces have.
// A transition is written by `commit`, atomically, or not at all. `commitBatch` writes many transitions
// in one durable commit (group commit: one fsync for all of them); each transition is still atomic on its
// own, and one that fails its conditions is left out without failing the others.

import type { ExecutionCount, ExecutionCountQuery, ExecutionListQuery, SearchAttributeRow } from './visibility.js';
import type { SearchAttributeValues, VisibilityCursor } from './visibility.js';

export interface ExecutionKey {
  readonly namespaceId: string;
  readonly workflowId: string;
  readonly runId: string;
}

export interface NamespaceRow {
  readonly id: string;
  readonly name: string;
  /** Opaque serialized namespace record (owned by namespace/registry.ts). */
  readonly data: Uint8Array;
  /** Bumped on every update; `upsertNamespace` with `expectedVersion` guards concurrent edits. */
  readonly version: number;
}

export interface ScheduleRow {
  readonly namespaceId: string;
  readonly scheduleId: string;
  /** Opaque serialized schedule record (owned by schedules/schedule-record.ts). */
  readonly data: Uint8Array;
  /** Bumped on every write; `putSchedule` with `expectedVersion` guards concurrent edits. */
  readonly version: number;
}

export interface CurrentRunRow {
  readonly namespaceId: string;
  readonly workflowId: string;
  readonly runId: string;
  /** WorkflowExecutionStatus enum value of that run. */
  readonly status: number;
}

/**
 * The run's fields its listing columns hold (the memo and search attributes): the stored state leaves
 * them to those columns (history/state-codec.ts), so a row read with its state carries them too.
 */
export type ListedFields = Pick<ExecutionSummary, 'memo' | 'searchAttributes'>;

export interface ExecutionRow extends ListedFields {
  readonly key: ExecutionKey;
  /** Serialized mutable state (owned by history/state-codec.ts). */
  readonly state: Uint8Array;
  readonly version: number;
  /**
   * The listing columns stored with this version, when the store reads them with the state (SQLite,
   * whose update of an unchanged listing then leaves the listing indexes alone).
   */
  readonly summary?: ExecutionSummary;
}

/** The columns that visibility (list/count and their filters) reads without decoding state. */
export interface ExecutionSummary {
  readonly workflowType: string;
  readonly taskQueue: string;
  /** WorkflowExecutionStatus enum value. */
  readonly status: number;
  readonly startTimeMs: number;
  readonly executionTimeMs: number;
  readonly closeTimeMs: number | null;
  readonly historyLength: number;
  readonly historySizeBytes: number;
  readonly stateTransitionCount: number;
  /** Close time minus execution time, once closed; null while running. */
  readonly executionDurationMs: number | null;
  readonly parentWorkflowId: string | null;
  readonly parentRunId: string | null;
  /** The run at the top of the child chain (the run itself when it has no parent). */
  readonly rootWorkflowId: string | null;
  readonly rootRunId: string | null;
  /** Encoded temporal.api.common.v1.Memo, opaque; null when the run has none. */
  readonly memo: Uint8Array | null;
  /** Encoded temporal.api.common.v1.SearchAttributes as the run holds them, opaque; null when none. */
  readonly searchAttributes: Uint8Array | null;
  /** The same attributes decoded to typed values: what filters read (persistence/visibility.ts). */
  readonly searchAttributeValues: SearchAttributeValues | null;
}

/** One run as list returns it. */
export interface ExecutionListing {
  readonly key: ExecutionKey;
  readonly summary: ExecutionSummary;
}

export interface ExecutionListPage {
  readonly executions: readonly ExecutionListing[];
  /** Where to continue; null when no run follows the last one returned. */
  readonly next: VisibilityCursor | null;
}

export interface TimerTaskRow {
  /** Unique, assigned by the engine (monotonic within a process; see TimerTaskIdAllocator). */
  readonly taskId: string;
  readonly fireAtMs: number;
  readonly key: ExecutionKey;
  /** Opaque serialized timer payload (owned by timers/). */
  readonly data: Uint8Array;
}

/** A timer row to delete: its run's key and its task id (the key finds the row without a scan). */
export interface TimerTaskRef {
  readonly key: ExecutionKey;
  readonly taskId: string;
}

/** A timer row's place in fire order: (fire time, task id). */
export interface TimerTaskKey {
  readonly fireAtMs: number;
  readonly taskId: string;
}

export interface ExecutionWrite {
  readonly key: ExecutionKey;
  /** 0 when the row must not exist yet (insert); else the version read (update WHERE version = expected). */
  readonly expectedVersion: number;
  readonly newVersion: number;
  readonly state: Uint8Array;
  readonly summary: ExecutionSummary;
  /** True while the run has work to hand to a worker (unstarted workflow or activity task). */
  readonly needsDispatch: boolean;
  /**
   * The writer vouches that `summary` equals the summary stored at `expectedVersion` in every field but
   * the three counters (historyLength, historySizeBytes, stateTransitionCount). A store may then write
   * only the state, the version, needsDispatch and the counters, and leave the listing columns (and
   * their indexes, and the current run's status) alone. Absent or false: write everything.
   */
  readonly listingUnchanged?: boolean;
  /** Events appended by this transition, contiguous after the run's last stored event. */
  readonly events: ReadonlyArray<{ readonly eventId: number; readonly data: Uint8Array }>;
  /**
   * Make this run the current run of its workflow id. `expectedCurrentRunId` null = no current row
   * may exist; a string = the current row must point at that run (it is replaced). Undefined = leave
   * the current row alone except to update its status when it points at this run.
   */
  readonly setCurrent?: { readonly expectedCurrentRunId: string | null };
  /**
   * Signal request ids this transition applied for the first time (de-duplication of retried signals).
   * Stored in rows of their own beside the run, so a transition writes only the new ones, however many
   * signals the run took before.
   */
  readonly signalRequestIds?: readonly string[];
}

/**
 * Cluster mode: the shard a transition's rows belong to and the range id of the lease its writer holds.
 * The transition is written only while the shard's range id is still `rangeId` (checked in the same
 * transaction, with the shard row locked against a concurrent take-over); otherwise it fails with
 * ShardOwnershipLostError and writes nothing. Stores without shards (SQLite) refuse fenced writes.
 */
export interface ShardFence {
  readonly shardId: number;
  readonly rangeId: number;
}

export interface TransitionWrite {
  readonly executions: readonly ExecutionWrite[];
  readonly timersToAdd: readonly TimerTaskRow[];
  readonly timersToDelete: readonly TimerTaskRef[];
  /** Every execution and timer of the transition belongs to this shard (cluster mode only). */
  readonly fence?: ShardFence;
}

export interface Store {
  /** Applies a transition atomically; throws ConditionFailedError (nothing written) on a version or current-run conflict. */
  commit(write: TransitionWrite): Promise<void>;

  /**
   * Applies several transitions in order, in one durable commit. Each is atomic on its own (a savepoint
   * or equivalent): a transition that fails (ConditionFailedError on a version or current-run conflict,
   * PersistenceError on a reused timer id, ...) leaves no trace and gets its error at its index, while the
   * others are written. Later transitions see the writes of earlier ones in the same batch.
   * Resolves, with one entry per write in input order (null = written), only once the batch is durable.
   * Rejects when the batch as a whole could not be committed (I/O error, disk full, closed store): then
   * every write of it failed and none may be acknowledged. (As with any database, a commit whose fsync
   * reported an error can still be found on disk after a crash; the version checks catch that.)
   */
  commitBatch(writes: readonly TransitionWrite[]): Promise<Array<Error | null>>;

  getExecution(key: ExecutionKey): Promise<ExecutionRow | null>;
  /** The signal request ids stored for a run (ExecutionWrite.signalRequestIds), in no particular order. */
  getSignalRequestIds(key: ExecutionKey): Promise<string[]>;
  getCurrentRun(namespaceId: string, workflowId: string): Promise<CurrentRunRow | null>;
  /** Encoded events with firstEventId <= eventId < nextEventId, ascending, at most `limit`. */
  readEvents(key: ExecutionKey, firstEventId: number, nextEventId: number, limit: number): Promise<Uint8Array[]>;
  /** Encoded events in descending order, eventId < beforeEventId, at most `limit`. */
  readEventsReverse(key: ExecutionKey, beforeEventId: number, limit: number): Promise<Uint8Array[]>;

  /** Runs with needsDispatch set (rebuilds the in-memory task queues at start-up), of `shardIds` only when given. */
  listExecutionsNeedingDispatch(shardIds?: readonly number[]): Promise<ExecutionRow[]>;
  /**
   * Timer tasks due at or before `untilMs`, ordered by (fire time, task id), at most `limit`, of `shardIds`
   * only when given, and only those after `after` in that order when given (exclusive keyset start: the
   * timer queue loads its window slice by slice, and a limit that cuts a run of equal fire times must
   * neither skip nor repeat a row). Task ids compare bytewise (they are ASCII).
   */
  listTimerTasks(untilMs: number, limit: number, shardIds?: readonly number[], after?: TimerTaskKey): Promise<TimerTaskRow[]>;

  /**
   * Runs of a namespace that match `query.filter`, in list order: COALESCE(close time, +inf) DESC (open
   * runs first), start time DESC, run id ASC; at most `pageSize`, after `query.after`. Keyset paging:
   * runs committed between two pages are neither skipped nor repeated unless they move in the order.
   */
  listExecutions(query: ExecutionListQuery): Promise<ExecutionListPage>;
  /** How many runs of a namespace match `query.filter`, optionally per status. */
  countExecutions(query: ExecutionCountQuery): Promise<ExecutionCount>;

  /** The custom search attributes registered in a namespace, by name. */
  listSearchAttributes(namespaceId: string): Promise<SearchAttributeRow[]>;
  /**
   * Registers attributes in a namespace, all or none. A name already registered with the same type is
   * left as it is; one registered with another type fails the whole call with ConditionFailedError
   * (expected = the type asked for, found = the registered one).
   */
  addSearchAttributes(namespaceId: string, attributes: readonly SearchAttributeRow[]): Promise<void>;
  /** Unregisters names of a namespace (unknown names are ignored); resolves with the names removed. */
  removeSearchAttributes(namespaceId: string, names: readonly string[]): Promise<string[]>;

  listNamespaces(): Promise<NamespaceRow[]>;
  /** Inserts (expectedVersion 0) or updates (WHERE version = expectedVersion); ConditionFailedError otherwise. Name is unique. */
  upsertNamespace(row: NamespaceRow, expectedVersion: number): Promise<void>;

  getSchedule(namespaceId: string, scheduleId: string): Promise<ScheduleRow | null>;
  /** Schedules of a namespace by schedule id ascending (bytewise), after `afterScheduleId` when given, at most `limit`. */
  listSchedules(namespaceId: string, afterScheduleId: string | null, limit: number): Promise<ScheduleRow[]>;
  /** Every schedule of every namespace: what the scheduler loads at start-up. */
  listAllSchedules(): Promise<ScheduleRow[]>;
  /** Inserts (expectedVersion 0) or updates (WHERE version = expectedVersion); ConditionFailedError otherwise. */
  putSchedule(row: ScheduleRow, expectedVersion: number): Promise<void>;
  /** Deletes a schedule; resolves true when a row was deleted. */
  deleteSchedule(namespaceId: string, scheduleId: string): Promise<boolean>;

  /**
   * Deletes a run and everything that belongs to it (events, timer rows, visibility, and the current
   * row when it points at this run), in one transaction. Deleting a run that does not exist is a no-op.
   * With a fence, only while the shard's lease is still held (as `TransitionWrite.fence`).
   */
  deleteExecution(key: ExecutionKey, fence?: ShardFence): Promise<void>;

  close(): Promise<void>;
}
