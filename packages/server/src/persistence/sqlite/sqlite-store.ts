// The embedded backend: one SQLite file owned by exactly one server process (see connection.ts for how
// it is opened, locked and checked).
//
// Group commit: `commitBatch` applies many transitions in one transaction, so one fsync (at its COMMIT,
// synchronous=FULL) makes all of them durable. A transition that fails its conditions fails alone: the
// batch then runs again with each transition in a SAVEPOINT, and only the failing ones are rolled back
// (`commitTogether`).

import Database from 'better-sqlite3';
import { ConditionFailedError, PersistenceError } from '../errors.js';
import type { CurrentRunRow, ExecutionKey, ExecutionListPage, ExecutionRow, ExecutionWrite } from '../store.js';
import type { NamespaceRow, ScheduleRow, ShardFence, Store, TimerTaskKey, TimerTaskRow, TransitionWrite } from '../store.js';
import type { ExecutionCount, ExecutionCountQuery, ExecutionListQuery, SearchAttributeRow } from '../visibility.js';
import { isWriteLocalError, openConnection } from './connection.js';
import { schemaVersion } from './migrations.js';
import { SqliteVisibility, SUMMARY_COLUMNS, summaryFromRow, summaryParams, type SummaryRow } from './visibility-store.js';

export { assertDurablePragmas } from './connection.js';

export interface SqliteStoreOptions {
  /** A file path, or ':memory:' for a throwaway database (tests). */
  readonly filename: string;
}

/** The live connection settings, as SQLite reports them. */
export interface SqliteSettings {
  readonly journalMode: string;
  readonly synchronous: number;
  readonly lockingMode: string;
  readonly busyTimeoutMs: number;
  readonly schemaVersion: number;
}

type KeyParams = [namespaceId: string, workflowId: string, runId: string];
type Bytes = Uint8Array;
type ExecutionParams = ReturnType<typeof executionParams>;

const KEY = 'namespace_id = ? AND workflow_id = ? AND run_id = ?';
// Aliased to the Store's field names so rows map onto its shapes without per-column copying.
/** The integer key of a run (events are stored under it), from its three ids. */
const RUN_KEY = `SELECT run_key FROM executions WHERE ${KEY}`;
const KEY_COLUMNS = 'namespace_id AS namespaceId, workflow_id AS workflowId, run_id AS runId';
const TIMER_RUN_COLUMNS = 'e.namespace_id AS namespaceId, e.workflow_id AS workflowId, e.run_id AS runId';

/** Each statement is prepared once per connection; exported so tests can check every query plan. */
export function prepareStatements(db: Database.Database) {
  return {
    insertExecution: db.prepare<ExecutionParams, number>(`INSERT INTO executions (namespace_id, workflow_id, run_id,
        state, version, needs_dispatch, workflow_type, task_queue, status, start_time_ms, execution_time_ms,
        close_time_ms, history_length, history_size_bytes, state_transition_count, execution_duration_ms,
        parent_workflow_id, parent_run_id, root_workflow_id, root_run_id, memo, search_attributes,
        search_attribute_values)
      VALUES (@namespaceId, @workflowId, @runId, @state, @version, @needsDispatch, @workflowType, @taskQueue,
        @status, @startTimeMs, @executionTimeMs, @closeTimeMs, @historyLength, @historySizeBytes,
        @stateTransitionCount, @executionDurationMs, @parentWorkflowId, @parentRunId, @rootWorkflowId, @rootRunId,
        @memo, @searchAttributes, @searchAttributeValues)
      ON CONFLICT DO NOTHING RETURNING run_key`).pluck(),
    updateExecution: db.prepare<ExecutionParams & { expectedVersion: number }, number>(`UPDATE executions
      SET state = @state, version = @version, needs_dispatch = @needsDispatch, workflow_type = @workflowType,
        task_queue = @taskQueue, status = @status, start_time_ms = @startTimeMs,
        execution_time_ms = @executionTimeMs, close_time_ms = @closeTimeMs, history_length = @historyLength,
        history_size_bytes = @historySizeBytes, state_transition_count = @stateTransitionCount,
        execution_duration_ms = @executionDurationMs, parent_workflow_id = @parentWorkflowId,
        parent_run_id = @parentRunId, root_workflow_id = @rootWorkflowId, root_run_id = @rootRunId, memo = @memo,
        search_attributes = @searchAttributes, search_attribute_values = @searchAttributeValues
      WHERE namespace_id = @namespaceId AND workflow_id = @workflowId AND run_id = @runId
        AND version = @expectedVersion RETURNING run_key`).pluck(),
    // Most transitions change neither the status nor any other listing column: this rewrites only what
    // they do change, so SQLite leaves the listing indexes alone (it updates an index only when a
    // column of it is in the SET list).
    updateExecutionState: db.prepare<[Bytes, number, number, number, number, number, ...KeyParams, number], number>(`UPDATE
      executions SET state = ?, version = ?, needs_dispatch = ?, history_length = ?, history_size_bytes = ?,
        state_transition_count = ?
      WHERE namespace_id = ? AND workflow_id = ? AND run_id = ? AND version = ? RETURNING run_key`).pluck(),
    executionVersion: db.prepare<KeyParams, number>(`SELECT version FROM executions WHERE ${KEY}`).pluck(),
    // With the listing columns: the engine compares the next transition's listing against them.
    getExecution: db.prepare<KeyParams, SummaryRow & { state: Bytes; version: number }>(
      `SELECT state, version, ${SUMMARY_COLUMNS} FROM executions WHERE ${KEY}`,
    ),
    insertEvent: db.prepare<[runKey: number, eventId: number, data: Bytes]>(`INSERT INTO history_events
      (run_key, event_id, data) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`),
    readEvents: db.prepare<[...KeyParams, number, number, number], Bytes>(`SELECT data FROM history_events
      WHERE run_key = (${RUN_KEY}) AND event_id >= ? AND event_id < ? ORDER BY event_id LIMIT ?`).pluck(),
    readEventsReverse: db.prepare<[...KeyParams, number, number], Bytes>(`SELECT data FROM history_events
      WHERE run_key = (${RUN_KEY}) AND event_id < ? ORDER BY event_id DESC LIMIT ?`).pluck(),
    getCurrentRun: db.prepare<[string, string], { runId: string; status: number }>(`SELECT run_id AS runId,
      status FROM current_executions WHERE namespace_id = ? AND workflow_id = ?`),
    insertCurrentRun: db.prepare<[...KeyParams, number]>(`INSERT INTO current_executions
      (namespace_id, workflow_id, run_id, status) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`),
    replaceCurrentRun: db.prepare<[string, number, string, string, string]>(`UPDATE current_executions
      SET run_id = ?, status = ? WHERE namespace_id = ? AND workflow_id = ? AND run_id = ?`),
    updateCurrentStatus: db.prepare<[number, ...KeyParams]>(`UPDATE current_executions SET status = ?
      WHERE ${KEY}`),
    insertTimer: db.prepare<[number, string, number, Bytes]>(`INSERT INTO timer_tasks
      (run_key, task_id, fire_at_ms, data) VALUES (?, ?, ?, ?)`),
    deleteTimer: db.prepare<[number, string]>('DELETE FROM timer_tasks WHERE run_key = ? AND task_id = ?'),
    // The fire-time index first, then each row's run by its key (CROSS JOIN keeps that order).
    listTimers: db.prepare<[number, number], Omit<TimerTaskRow, 'key'> & ExecutionKey>(`SELECT t.task_id AS taskId,
      t.fire_at_ms AS fireAtMs, ${TIMER_RUN_COLUMNS}, t.data FROM timer_tasks t CROSS JOIN executions e USING (run_key)
      WHERE t.fire_at_ms <= ? ORDER BY t.fire_at_ms, t.task_id LIMIT ?`),
    listTimersAfter: db.prepare<[number, string, number, number], Omit<TimerTaskRow, 'key'> & ExecutionKey>(`SELECT
      t.task_id AS taskId, t.fire_at_ms AS fireAtMs, ${TIMER_RUN_COLUMNS}, t.data FROM timer_tasks t
      CROSS JOIN executions e USING (run_key)
      WHERE (t.fire_at_ms, t.task_id) > (?, ?) AND t.fire_at_ms <= ? ORDER BY t.fire_at_ms, t.task_id LIMIT ?`),
    listNeedingDispatch: db.prepare<[], Omit<ExecutionRow, 'key'> & ExecutionKey>(`SELECT ${KEY_COLUMNS},
      state, version, memo, search_attributes AS searchAttributes FROM executions WHERE needs_dispatch = 1`),
    listNamespaces: db.prepare<[], NamespaceRow>('SELECT id, name, data, version FROM namespaces ORDER BY name'),
    insertNamespace: db.prepare<[string, string, Bytes, number]>(`INSERT INTO namespaces (id, name, data, version)
      VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`),
    updateNamespace: db.prepare<[string, Bytes, number, string, number]>(`UPDATE namespaces
      SET name = ?, data = ?, version = ? WHERE id = ? AND version = ?`),
    namespaceVersion: db.prepare<[string], number>('SELECT version FROM namespaces WHERE id = ?').pluck(),
    namespaceIdByName: db.prepare<[string], string>('SELECT id FROM namespaces WHERE name = ?').pluck(),
    getSchedule: db.prepare<[string, string], ScheduleRow>(`SELECT namespace_id AS namespaceId, schedule_id AS scheduleId,
      data, version FROM schedules WHERE namespace_id = ? AND schedule_id = ?`),
    listSchedules: db.prepare<[string, string, number], ScheduleRow>(`SELECT namespace_id AS namespaceId,
      schedule_id AS scheduleId, data, version FROM schedules WHERE namespace_id = ? AND schedule_id > ?
      ORDER BY schedule_id LIMIT ?`),
    listAllSchedules: db.prepare<[], ScheduleRow>(`SELECT namespace_id AS namespaceId, schedule_id AS scheduleId,
      data, version FROM schedules ORDER BY namespace_id, schedule_id`),
    insertSchedule: db.prepare<[string, string, Bytes, number]>(`INSERT INTO schedules (namespace_id, schedule_id, data,
      version) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`),
    updateSchedule: db.prepare<[Bytes, number, string, string, number]>(`UPDATE schedules SET data = ?, version = ?
      WHERE namespace_id = ? AND schedule_id = ? AND version = ?`),
    scheduleVersion: db.prepare<[string, string], number>('SELECT version FROM schedules WHERE namespace_id = ? AND schedule_id = ?').pluck(),
    deleteSchedule: db.prepare<[string, string]>('DELETE FROM schedules WHERE namespace_id = ? AND schedule_id = ?'),
    deleteExecutionRow: db.prepare<KeyParams>(`DELETE FROM executions WHERE ${KEY}`),
    runKey: db.prepare<KeyParams, number>(RUN_KEY).pluck(),
    deleteExecutionEvents: db.prepare<KeyParams>(`DELETE FROM history_events WHERE run_key = (${RUN_KEY})`),
    deleteExecutionTimers: db.prepare<KeyParams>(`DELETE FROM timer_tasks WHERE run_key = (${RUN_KEY})`),
    deleteCurrentIfRun: db.prepare<KeyParams>(`DELETE FROM current_executions WHERE ${KEY}`),
    insertSignalRequest: db.prepare<[...KeyParams, string]>(`INSERT INTO signal_requests
      (namespace_id, workflow_id, run_id, request_id) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`),
    getSignalRequestIds: db.prepare<KeyParams, string>(`SELECT request_id FROM signal_requests WHERE ${KEY}`).pluck(),
    deleteSignalRequests: db.prepare<KeyParams>(`DELETE FROM signal_requests WHERE ${KEY}`),
  };
}

/** A SQLite file belongs to one node: there are no shard leases to check a fence against. */
function refuseFence(fence: ShardFence | undefined): void {
  if (fence !== undefined) throw new PersistenceError('the SQLite store has no shard leases: fenced writes need the PostgreSQL store');
}

/** better-sqlite3 is synchronous; this turns a throw into a rejection so callers have one error path. */
function settle<T>(work: () => T): Promise<T> {
  return new Promise<T>((resolvePromise) => resolvePromise(work()));
}

export class SqliteStore implements Store {
  private readonly statements: ReturnType<typeof prepareStatements>;
  private readonly visibility: SqliteVisibility;
  private readonly applyTransition: Database.Transaction<(write: TransitionWrite) => void>;
  private readonly applyBatch: Database.Transaction<(writes: readonly TransitionWrite[]) => Array<Error | null>>;
  private readonly applyAll: Database.Transaction<(writes: readonly TransitionWrite[]) => void>;

  private constructor(private readonly db: Database.Database) {
    this.statements = prepareStatements(db);
    this.visibility = new SqliteVisibility(db);
    // applyTransition: called inside applyBatch, better-sqlite3 runs it as SAVEPOINT ... RELEASE, and on
    // a throw rolls back to the savepoint (when the transaction is still open) before rethrowing. Called
    // alone (commitAlone), it is BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on a throw.
    const apply = (write: TransitionWrite): void => {
      refuseFence(write.fence);
      const runKeys = write.executions.map((execution) => this.writeExecution(execution));
      for (const timer of write.timersToAdd) this.addTimer(timer, this.runKeyOf(timer.key, write, runKeys));
      for (const { key, taskId } of write.timersToDelete) {
        const runKey = this.runKeyOf(key, write, runKeys);
        if (runKey !== undefined) this.statements.deleteTimer.run(runKey, taskId);
      }
    };
    this.applyTransition = db.transaction(apply);
    // applyAll: every write in one BEGIN IMMEDIATE ... COMMIT, no savepoints; any throw rolls back all.
    this.applyAll = db.transaction((writes: readonly TransitionWrite[]) => {
      for (const write of writes) apply(write);
    });
    this.applyBatch = db.transaction((writes: readonly TransitionWrite[]) =>
      writes.map((write) => {
        try {
          this.applyTransition(write);
          return null;
        } catch (error) {
          // The transition's own failure: its savepoint is undone, the others go on. Anything else, or
          // a transaction SQLite already rolled back, fails the whole batch (the outer ROLLBACK).
          if (this.db.inTransaction && isWriteLocalError(error)) return error;
          throw error;
        }
      }),
    );
  }

  /** Opens (creating and migrating if needed) and locks the file; throws DatabaseLockedError if it is held. */
  static open(options: SqliteStoreOptions): SqliteStore {
    return new SqliteStore(openConnection(options.filename));
  }

  /** The live connection settings, read back from SQLite (for start-up logs and tests). */
  settings(): SqliteSettings {
    const read = (name: string): unknown => this.db.pragma(name, { simple: true });
    return {
      journalMode: String(read('journal_mode')),
      synchronous: Number(read('synchronous')),
      lockingMode: String(read('locking_mode')),
      busyTimeoutMs: Number(read('busy_timeout')),
      schemaVersion: schemaVersion(this.db),
    };
  }

  async commit(write: TransitionWrite): Promise<void> {
    const [error] = await this.commitBatch([write]);
    if (error) throw error;
  }

  commitBatch(writes: readonly TransitionWrite[]): Promise<Array<Error | null>> {
    if (writes.length === 0) return Promise.resolve([]);
    if (writes.length === 1) return settle(() => this.commitAlone(writes[0]!));
    // A throw here means the transaction was rolled back (or never began, or its COMMIT failed):
    // nothing of the batch is written.
    return settle(() => this.commitTogether(writes));
  }

  /**
   * The batch in one transaction (one fsync). Writes nearly always meet their conditions, so it is
   * first tried without savepoints (a savepoint copies every page it changes to the statement journal
   * first: about a tenth of a batch's statement time, in a replay of captured batches). When a write
   * fails its own conditions, that attempt is rolled back whole and the batch runs again with one
   * SAVEPOINT per write, which undoes exactly the failing ones: the same outcome as if it had run that
   * way from the start, since the rolled-back attempt left nothing behind.
   */
  private commitTogether(writes: readonly TransitionWrite[]): Array<Error | null> {
    try {
      this.applyAll.immediate(writes);
      return writes.map(() => null);
    } catch (error) {
      if (this.db.inTransaction || !isWriteLocalError(error)) throw error;
    }
    return this.applyBatch.immediate(writes);
  }

  /**
   * BEGIN IMMEDIATE ... COMMIT around one write, without the savepoint a batch gives each write: the
   * transaction is the write's own, so a failure of the write rolls back exactly it and is its result.
   * (Each savepoint copies every page it changes to the statement journal first.)
   */
  private commitAlone(write: TransitionWrite): Array<Error | null> {
    try {
      this.applyTransition.immediate(write);
      return [null];
    } catch (error) {
      if (!this.db.inTransaction && isWriteLocalError(error)) return [error];
      throw error;
    }
  }

  getExecution(key: ExecutionKey): Promise<ExecutionRow | null> {
    return settle(() => {
      const row = this.statements.getExecution.get(...keyParams(key));
      if (!row) return null;
      const { state, version, ...columns } = row;
      const summary = summaryFromRow(columns);
      return { key, state, version, memo: summary.memo, searchAttributes: summary.searchAttributes, summary };
    });
  }

  getSignalRequestIds(key: ExecutionKey): Promise<string[]> {
    return settle(() => this.statements.getSignalRequestIds.all(...keyParams(key)));
  }

  getCurrentRun(namespaceId: string, workflowId: string): Promise<CurrentRunRow | null> {
    return settle(() => {
      const row = this.statements.getCurrentRun.get(namespaceId, workflowId);
      return row ? { namespaceId, workflowId, ...row } : null;
    });
  }

  readEvents(key: ExecutionKey, firstEventId: number, nextEventId: number, limit: number): Promise<Uint8Array[]> {
    return settle(() => this.statements.readEvents.all(...keyParams(key), firstEventId, nextEventId, limit));
  }

  readEventsReverse(key: ExecutionKey, beforeEventId: number, limit: number): Promise<Uint8Array[]> {
    return settle(() => this.statements.readEventsReverse.all(...keyParams(key), beforeEventId, limit));
  }

  // One node owns a SQLite file: there is one shard, so a shard filter selects everything.
  listExecutionsNeedingDispatch(): Promise<ExecutionRow[]> {
    return settle(() =>
      this.statements.listNeedingDispatch.all().map(({ state, version, memo, searchAttributes, ...key }) => ({ key, state, version, memo, searchAttributes })),
    );
  }

  listTimerTasks(untilMs: number, limit: number, _shardIds?: readonly number[], after?: TimerTaskKey): Promise<TimerTaskRow[]> {
    return settle(() => {
      const rows = after ? this.statements.listTimersAfter.all(after.fireAtMs, after.taskId, untilMs, limit) : this.statements.listTimers.all(untilMs, limit);
      return rows.map(({ taskId, fireAtMs, data, ...key }) => ({ taskId, fireAtMs, key, data }));
    });
  }

  listExecutions(query: ExecutionListQuery): Promise<ExecutionListPage> {
    return settle(() => this.visibility.list(query));
  }

  countExecutions(query: ExecutionCountQuery): Promise<ExecutionCount> {
    return settle(() => this.visibility.count(query));
  }

  listSearchAttributes(namespaceId: string): Promise<SearchAttributeRow[]> {
    return settle(() => this.visibility.listSearchAttributes(namespaceId));
  }

  addSearchAttributes(namespaceId: string, attributes: readonly SearchAttributeRow[]): Promise<void> {
    return settle(() => this.visibility.addSearchAttributes(namespaceId, attributes));
  }

  removeSearchAttributes(namespaceId: string, names: readonly string[]): Promise<string[]> {
    return settle(() => this.visibility.removeSearchAttributes(namespaceId, names));
  }

  listNamespaces(): Promise<NamespaceRow[]> {
    return settle(() => this.statements.listNamespaces.all());
  }

  upsertNamespace(row: NamespaceRow, expectedVersion: number): Promise<void> {
    return settle(() => {
      const s = this.statements;
      const nameOwner = s.namespaceIdByName.get(row.name);
      if (nameOwner !== undefined && nameOwner !== row.id) {
        const message = `namespace name ${row.name} is taken by namespace ${nameOwner}`;
        throw new ConditionFailedError(message, row.id, nameOwner);
      }
      const changes =
        expectedVersion === 0
          ? s.insertNamespace.run(row.id, row.name, row.data, row.version).changes
          : s.updateNamespace.run(row.name, row.data, row.version, row.id, expectedVersion).changes;
      if (changes !== 1) {
        const found = s.namespaceVersion.get(row.id) ?? null;
        throw new ConditionFailedError(
          `namespace ${row.id}: expected version ${expectedVersion}, found ${found ?? 'no namespace'}`,
          expectedVersion,
          found,
        );
      }
    });
  }

  getSchedule(namespaceId: string, scheduleId: string): Promise<ScheduleRow | null> {
    return settle(() => this.statements.getSchedule.get(namespaceId, scheduleId) ?? null);
  }

  listSchedules(namespaceId: string, afterScheduleId: string | null, limit: number): Promise<ScheduleRow[]> {
    // '' sorts before every id: a schedule id is never empty.
    return settle(() => this.statements.listSchedules.all(namespaceId, afterScheduleId ?? '', limit));
  }

  listAllSchedules(): Promise<ScheduleRow[]> {
    return settle(() => this.statements.listAllSchedules.all());
  }

  putSchedule(row: ScheduleRow, expectedVersion: number): Promise<void> {
    return settle(() => {
      const s = this.statements;
      const changes =
        expectedVersion === 0
          ? s.insertSchedule.run(row.namespaceId, row.scheduleId, row.data, row.version).changes
          : s.updateSchedule.run(row.data, row.version, row.namespaceId, row.scheduleId, expectedVersion).changes;
      if (changes !== 1) {
        const found = s.scheduleVersion.get(row.namespaceId, row.scheduleId) ?? null;
        throw new ConditionFailedError(`schedule ${row.scheduleId}: expected version ${expectedVersion}, found ${found ?? 'no schedule'}`, expectedVersion, found);
      }
    });
  }

  deleteSchedule(namespaceId: string, scheduleId: string): Promise<boolean> {
    return settle(() => this.statements.deleteSchedule.run(namespaceId, scheduleId).changes === 1);
  }

  deleteExecution(key: ExecutionKey, fence?: ShardFence): Promise<void> {
    return settle(() => {
      refuseFence(fence);
      const params: KeyParams = [key.namespaceId, key.workflowId, key.runId];
      this.db.transaction(() => {
        // Events and timers first: they are found through the run's row.
        this.statements.deleteExecutionEvents.run(...params);
        this.statements.deleteExecutionTimers.run(...params);
        this.statements.deleteExecutionRow.run(...params);
        this.statements.deleteSignalRequests.run(...params);
        this.statements.deleteCurrentIfRun.run(...params);
      }).immediate();
    });
  }

  close(): Promise<void> {
    return settle(() => {
      if (!this.db.open) return;
      // Fold the WAL back into the main file so a closed database is one self-contained file.
      try {
        this.db.pragma('wal_checkpoint(TRUNCATE)');
      } finally {
        this.db.close();
      }
    });
  }

  /** Writes the run's row, events and current-run row; returns its integer key. */
  private writeExecution(write: ExecutionWrite): number {
    const s = this.statements;
    const key = keyParams(write.key);
    if (write.newVersion <= write.expectedVersion) {
      const versions = `newVersion ${write.newVersion} must exceed expectedVersion ${write.expectedVersion}`;
      throw new PersistenceError(`execution ${key.join('/')}: ${versions}`);
    }
    const runKey =
      write.expectedVersion === 0
        ? s.insertExecution.get(executionParams(write))
        : write.listingUnchanged === true
          ? s.updateExecutionState.get(
              write.state,
              write.newVersion,
              write.needsDispatch ? 1 : 0,
              write.summary.historyLength,
              write.summary.historySizeBytes,
              write.summary.stateTransitionCount,
              ...key,
              write.expectedVersion,
            )
          : s.updateExecution.get(executionParams(write));
    if (runKey === undefined) {
      const found = s.executionVersion.get(...key) ?? null;
      throw new ConditionFailedError(
        `execution ${key.join('/')}: expected version ${write.expectedVersion}, found ${found ?? 'no run'}`,
        write.expectedVersion,
        found,
      );
    }
    for (const event of write.events) {
      if (s.insertEvent.run(runKey, event.eventId, event.data).changes !== 1) {
        throw new ConditionFailedError(`execution ${key.join('/')}: event ${event.eventId} is already stored`);
      }
    }
    for (const requestId of write.signalRequestIds ?? []) s.insertSignalRequest.run(...key, requestId);
    this.writeCurrentRun(write);
    return runKey;
  }

  private writeCurrentRun(write: ExecutionWrite): void {
    const s = this.statements;
    const { namespaceId, workflowId, runId } = write.key;
    const status = write.summary.status;
    if (write.setCurrent === undefined) {
      // The status is a listing column: unchanged, the current row (if it is this run's) already has it.
      if (write.listingUnchanged !== true) s.updateCurrentStatus.run(status, namespaceId, workflowId, runId);
      return;
    }
    const expected = write.setCurrent.expectedCurrentRunId;
    const changes =
      expected === null
        ? s.insertCurrentRun.run(namespaceId, workflowId, runId, status).changes
        : s.replaceCurrentRun.run(runId, status, namespaceId, workflowId, expected).changes;
    if (changes !== 1) {
      const found = s.getCurrentRun.get(namespaceId, workflowId)?.runId ?? null;
      throw new ConditionFailedError(
        `workflow ${namespaceId}/${workflowId}: expected current run ${expected ?? 'none'}, found ${found ?? 'none'}`,
        expected,
        found,
      );
    }
  }

  /** The integer key of `key`'s run: from this write when it writes the run (it nearly always does), else stored. */
  private runKeyOf(key: ExecutionKey, write: TransitionWrite, runKeys: readonly number[]): number | undefined {
    const index = write.executions.findIndex(
      ({ key: written }) => written.runId === key.runId && written.workflowId === key.workflowId && written.namespaceId === key.namespaceId,
    );
    return index >= 0 ? runKeys[index] : this.statements.runKey.get(...keyParams(key));
  }

  private addTimer(timer: TimerTaskRow, runKey: number | undefined): void {
    const { namespaceId, workflowId, runId } = timer.key;
    if (runKey === undefined) throw new PersistenceError(`timer task ${timer.taskId}: run ${namespaceId}/${workflowId}/${runId} is not stored`);
    try {
      this.statements.insertTimer.run(runKey, timer.taskId, timer.fireAtMs, timer.data);
    } catch (error) {
      // A reused task id is an allocator bug, not a lost race: no ConditionFailedError, but a clear message.
      if (error instanceof Database.SqliteError && error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new PersistenceError(`timer task ${timer.taskId} is already stored`, { cause: error });
      }
      throw error;
    }
  }
}

function keyParams(key: ExecutionKey): KeyParams {
  return [key.namespaceId, key.workflowId, key.runId];
}

/** The named parameters of an execution row (one literal: see summaryParams on spreads). */
function executionParams(write: ExecutionWrite) {
  const { key, state, newVersion, needsDispatch } = write;
  const summary = summaryParams(write.summary);
  return {
    namespaceId: key.namespaceId,
    workflowId: key.workflowId,
    runId: key.runId,
    workflowType: summary.workflowType,
    taskQueue: summary.taskQueue,
    status: summary.status,
    startTimeMs: summary.startTimeMs,
    executionTimeMs: summary.executionTimeMs,
    closeTimeMs: summary.closeTimeMs,
    historyLength: summary.historyLength,
    historySizeBytes: summary.historySizeBytes,
    stateTransitionCount: summary.stateTransitionCount,
    executionDurationMs: summary.executionDurationMs,
    parentWorkflowId: summary.parentWorkflowId,
    parentRunId: summary.parentRunId,
    rootWorkflowId: summary.rootWorkflowId,
    rootRunId: summary.rootRunId,
    memo: summary.memo,
    searchAttributes: summary.searchAttributes,
    searchAttributeValues: summary.searchAttributeValues,
    state,
    version: newVersion,
    needsDispatch: needsDispatch ? 1 : 0,
    expectedVersion: write.expectedVersion,
  };
}
