// The PostgreSQL backend: the same Store as sqlite/, over a pool of node-postgres connections, for
// deployments that outgrow one machine (see connection.ts for how it is opened and checked).
//
// Group commit: `commitBatch` applies many transitions in one transaction, each inside its own
// SAVEPOINT, so one WAL flush (at COMMIT, synchronous_commit=on) makes all of them durable. A transition
// that fails its conditions rolls back only its savepoint. Conditions are the same as SQLite's: an
// insert must find no row (ON CONFLICT DO NOTHING, then count), an update must find the version it
// read (UPDATE ... WHERE version = expected). Under READ COMMITTED a concurrent writer of the same row
// blocks until the first commits and then re-checks the WHERE against the committed row, so exactly one
// of two writers that read the same version wins.

import pg from 'pg';
import { ConditionFailedError, PersistenceError, ShardOwnershipLostError } from '../errors.js';
import type { CurrentRunRow, ExecutionKey, ExecutionListPage, ExecutionRow, ExecutionWrite } from '../store.js';
import type { NamespaceRow, ScheduleRow, ShardFence, Store, TimerTaskKey, TimerTaskRow, TransitionWrite } from '../store.js';
import type { ExecutionCount, ExecutionCountQuery, ExecutionListQuery, SearchAttributeRow } from '../visibility.js';
import { checkout, isWriteLocalError, openPool, persistenceError, type PostgresConnectionOptions } from './connection.js';
import { schemaVersion } from './migrations.js';
import { executionWriteSql, SQL, type CurrentRunMode } from './statements.js';
import { PostgresVisibility, rollbackAndRelease, summaryParams } from './visibility-store.js';

export { assertDurableSettings } from './connection.js';

export type PostgresStoreOptions = PostgresConnectionOptions;

/** The live session settings, as PostgreSQL reports them. */
export interface PostgresSettings {
  readonly synchronousCommit: string;
  readonly fsync: string;
  readonly serverVersion: string;
  readonly schema: string;
  readonly schemaVersion: number;
}

type Row<Key extends string> = { readonly [K in Key]: unknown };

export class PostgresStore implements Store {
  private readonly visibility: PostgresVisibility;
  private closed: Promise<void> | undefined;

  private constructor(private readonly pool: pg.Pool) {
    this.visibility = new PostgresVisibility(pool);
  }

  /**
   * Opens the pool, checks it is durable, creates the schema if needed and migrates it. Several servers
   * may open one database: they coordinate as a cluster (cluster/), fencing every write by shard.
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    return new PostgresStore(await openPool(options));
  }

  /** The live session settings, read back from PostgreSQL (for start-up logs and tests). */
  async settings(): Promise<PostgresSettings> {
    const client = await this.connect();
    try {
      const { rows } = await client.query<Omit<PostgresSettings, 'schemaVersion'>>(`SELECT
        current_setting('synchronous_commit') AS "synchronousCommit", current_setting('fsync') AS fsync,
        current_setting('server_version') AS "serverVersion", current_schema() AS schema`);
      const [row] = rows;
      if (!row) throw new PersistenceError('PostgreSQL returned no settings');
      return { ...row, schemaVersion: await schemaVersion(client) };
    } finally {
      client.release();
    }
  }

  async commit(write: TransitionWrite): Promise<void> {
    const [error] = await this.commitBatch([write]);
    if (error) throw error;
  }

  async commitBatch(writes: readonly TransitionWrite[]): Promise<Array<Error | null>> {
    if (writes.length === 0) return [];
    const client = await this.connect();
    // One write needs no savepoint: the transaction is its savepoint. Savepoint statements travel
    // together (one round trip) where they follow each other: a savepoint rolled back to is still
    // established and clean, and COMMIT releases the last one.
    const savepoints = writes.length > 1;
    try {
      let next = savepoints ? 'BEGIN; SAVEPOINT transition' : 'BEGIN';
      // Fenced writes: the shard rows are locked FOR SHARE until COMMIT, so a node taking a shard over
      // (UPDATE ... range_id + 1) waits for this batch, and this batch sees any take-over before it.
      const shardIds = [...new Set(writes.flatMap((write) => (write.fence ? [write.fence.shardId] : [])))];
      let ranges: ReadonlyMap<number, number> = new Map();
      if (shardIds.length > 0) {
        // One round trip: BEGIN, the lock (shard ids are integers, inlined), and the first savepoint.
        const lock = SQL.lockShards.replace('ANY($1::integer[])', `ANY('{${shardIds.map((id) => Math.trunc(id)).join(',')}}'::integer[])`);
        const results = (await client.query(`BEGIN; ${lock}${savepoints ? '; SAVEPOINT transition' : ''}`)) as unknown as pg.QueryResult[];
        const locked = results.find((r) => r.command === 'SELECT')?.rows as Array<{ shardId: number; rangeId: number }> | undefined;
        ranges = new Map((locked ?? []).map((row) => [row.shardId, Number(row.rangeId)]));
        next = '';
      }
      const results: Array<Error | null> = [];
      for (const write of writes) {
        const fence = write.fence;
        if (fence !== undefined && ranges.get(fence.shardId) !== fence.rangeId) {
          results.push(new ShardOwnershipLostError(fence.shardId, fence.rangeId, ranges.get(fence.shardId) ?? null));
          continue;
        }
        if (next !== '') await client.query(next);
        try {
          await this.applyTransition(client, write);
          next = 'RELEASE SAVEPOINT transition; SAVEPOINT transition';
          results.push(null);
        } catch (error) {
          // The transition's own failure: its savepoint is undone, the others go on. Anything else
          // (connection, server, deadlock) fails the whole batch below.
          if (!isWriteLocalError(error)) throw error;
          const failure = persistenceError(error, 'transition refused by PostgreSQL');
          if (!savepoints) {
            await client.query('ROLLBACK');
            client.release();
            return [failure];
          }
          await client.query('ROLLBACK TO SAVEPOINT transition');
          next = '';
          results.push(failure);
        }
      }
      const committed = await client.query('COMMIT');
      // COMMIT of a transaction that is in an error state answers ROLLBACK, not an error.
      if (committed.command !== 'COMMIT') throw new PersistenceError(`COMMIT answered ${committed.command}: nothing was written`);
      client.release();
      return results;
    } catch (error) {
      await rollbackAndRelease(client, error);
      throw persistenceError(error, 'commit to PostgreSQL failed');
    }
  }

  async getExecution(key: ExecutionKey): Promise<ExecutionRow | null> {
    const [row] = await this.rows<Row<'state' | 'version' | 'memo' | 'searchAttributes'>>('getExecution', keyParams(key));
    return row ? { key, ...stateOf(row) } : null;
  }

  async getSignalRequestIds(key: ExecutionKey): Promise<string[]> {
    const rows = await this.rows<Row<'requestId'>>('getSignalRequestIds', keyParams(key));
    return rows.map((row) => row.requestId as string);
  }

  async getCurrentRun(namespaceId: string, workflowId: string): Promise<CurrentRunRow | null> {
    const [row] = await this.rows<Row<'runId' | 'status'>>('getCurrentRun', [namespaceId, workflowId]);
    return row ? { namespaceId, workflowId, runId: row.runId as string, status: row.status as number } : null;
  }

  async readEvents(key: ExecutionKey, firstEventId: number, nextEventId: number, limit: number): Promise<Uint8Array[]> {
    const rows = await this.rows<Row<'data'>>('readEvents', [...keyParams(key), firstEventId, nextEventId, limit]);
    return rows.map((row) => row.data as Uint8Array);
  }

  async readEventsReverse(key: ExecutionKey, beforeEventId: number, limit: number): Promise<Uint8Array[]> {
    const rows = await this.rows<Row<'data'>>('readEventsReverse', [...keyParams(key), beforeEventId, limit]);
    return rows.map((row) => row.data as Uint8Array);
  }

  async listExecutionsNeedingDispatch(shardIds?: readonly number[]): Promise<ExecutionRow[]> {
    type DispatchRow = Row<'namespaceId' | 'workflowId' | 'runId' | 'state' | 'version' | 'memo' | 'searchAttributes'>;
    const rows = shardIds === undefined ? await this.rows<DispatchRow>('listNeedingDispatch', []) : await this.rows<DispatchRow>('listShardNeedingDispatch', [shardIds]);
    return rows.map((row) => ({ key: keyOf(row), ...stateOf(row) }));
  }

  async listTimerTasks(untilMs: number, limit: number, shardIds?: readonly number[], after?: TimerTaskKey): Promise<TimerTaskRow[]> {
    type TimerRow = Row<'taskId' | 'fireAtMs' | 'namespaceId' | 'workflowId' | 'runId' | 'data'>;
    const [statement, values]: [keyof typeof SQL, unknown[]] =
      after === undefined
        ? shardIds === undefined ? ['listTimers', [untilMs, limit]] : ['listShardTimers', [untilMs, limit, shardIds]]
        : shardIds === undefined ? ['listTimersAfter', [untilMs, limit, after.fireAtMs, after.taskId]] : ['listShardTimersAfter', [untilMs, limit, after.fireAtMs, after.taskId, shardIds]];
    const rows = await this.rows<TimerRow>(statement, values);
    return rows.map((row) => ({ taskId: row.taskId as string, fireAtMs: row.fireAtMs as number, key: keyOf(row), data: row.data as Uint8Array }));
  }

  listExecutions(query: ExecutionListQuery): Promise<ExecutionListPage> {
    return this.wrap('list executions', () => this.visibility.list(query));
  }

  countExecutions(query: ExecutionCountQuery): Promise<ExecutionCount> {
    return this.wrap('count executions', () => this.visibility.count(query));
  }

  listSearchAttributes(namespaceId: string): Promise<SearchAttributeRow[]> {
    return this.wrap('list search attributes', () => this.visibility.listSearchAttributes(namespaceId));
  }

  addSearchAttributes(namespaceId: string, attributes: readonly SearchAttributeRow[]): Promise<void> {
    return this.wrap('add search attributes', () => this.visibility.addSearchAttributes(namespaceId, attributes));
  }

  removeSearchAttributes(namespaceId: string, names: readonly string[]): Promise<string[]> {
    return this.wrap('remove search attributes', () => this.visibility.removeSearchAttributes(namespaceId, names));
  }

  async listNamespaces(): Promise<NamespaceRow[]> {
    const rows = await this.rows<Row<'id' | 'name' | 'data' | 'version'>>('listNamespaces', []);
    return rows.map((row) => ({ id: row.id as string, name: row.name as string, data: row.data as Uint8Array, version: row.version as number }));
  }

  async upsertNamespace(row: NamespaceRow, expectedVersion: number): Promise<void> {
    const [owner] = await this.rows<Row<'id'>>('namespaceIdByName', [row.name]);
    if (owner !== undefined && owner.id !== row.id) {
      throw new ConditionFailedError(`namespace name ${row.name} is taken by namespace ${String(owner.id)}`, row.id, owner.id as string);
    }
    let changes: number;
    try {
      changes =
        expectedVersion === 0
          ? await this.changes('insertNamespace', [row.id, row.name, row.data, row.version])
          : await this.changes('updateNamespace', [row.name, row.data, row.version, row.id, expectedVersion]);
    } catch (error) {
      // Another namespace took the name since the check above.
      if (error instanceof PersistenceError && error.cause instanceof pg.DatabaseError && error.cause.code === '23505') {
        throw new ConditionFailedError(`namespace name ${row.name} is taken`, row.id, null);
      }
      throw error;
    }
    if (changes !== 1) {
      const [current] = await this.rows<Row<'version'>>('namespaceVersion', [row.id]);
      const found = (current?.version as number | undefined) ?? null;
      throw new ConditionFailedError(
        `namespace ${row.id}: expected version ${expectedVersion}, found ${found ?? 'no namespace'}`,
        expectedVersion,
        found,
      );
    }
  }

  async getSchedule(namespaceId: string, scheduleId: string): Promise<ScheduleRow | null> {
    const [row] = await this.rows<Row<'namespaceId' | 'scheduleId' | 'data' | 'version'>>('getSchedule', [namespaceId, scheduleId]);
    return row ? scheduleRow(row) : null;
  }

  async listSchedules(namespaceId: string, afterScheduleId: string | null, limit: number): Promise<ScheduleRow[]> {
    const rows = await this.rows<Row<'namespaceId' | 'scheduleId' | 'data' | 'version'>>('listSchedules', [namespaceId, afterScheduleId ?? '', limit]);
    return rows.map(scheduleRow);
  }

  async listAllSchedules(): Promise<ScheduleRow[]> {
    return (await this.rows<Row<'namespaceId' | 'scheduleId' | 'data' | 'version'>>('listAllSchedules', [])).map(scheduleRow);
  }

  async putSchedule(row: ScheduleRow, expectedVersion: number): Promise<void> {
    const changes =
      expectedVersion === 0
        ? await this.changes('insertSchedule', [row.namespaceId, row.scheduleId, row.data, row.version])
        : await this.changes('updateSchedule', [row.data, row.version, row.namespaceId, row.scheduleId, expectedVersion]);
    if (changes !== 1) {
      const [current] = await this.rows<Row<'version'>>('scheduleVersion', [row.namespaceId, row.scheduleId]);
      const found = current === undefined ? null : Number(current.version);
      throw new ConditionFailedError(`schedule ${row.scheduleId}: expected version ${expectedVersion}, found ${found ?? 'no schedule'}`, expectedVersion, found);
    }
  }

  async deleteSchedule(namespaceId: string, scheduleId: string): Promise<boolean> {
    return (await this.changes('deleteSchedule', [namespaceId, scheduleId])) === 1;
  }

  async deleteExecution(key: ExecutionKey, fence?: ShardFence): Promise<void> {
    const client = await this.connect();
    try {
      await client.query('BEGIN');
      if (fence !== undefined) {
        const { rows } = await client.query<{ rangeId: number }>(query('lockShards', [[fence.shardId]]));
        const found = rows[0]?.rangeId ?? null;
        if (found !== fence.rangeId) throw new ShardOwnershipLostError(fence.shardId, fence.rangeId, found);
      }
      for (const statement of ['deleteExecutionRow', 'deleteExecutionEvents', 'deleteExecutionTimers', 'deleteSignalRequests', 'deleteCurrentIfRun'] as const) {
        await client.query(query(statement, keyParams(key)));
      }
      await client.query('COMMIT');
      client.release();
    } catch (error) {
      await rollbackAndRelease(client, error);
      throw persistenceError(error, `delete execution ${keyParams(key).join('/')}`);
    }
  }

  close(): Promise<void> {
    this.closed ??= this.pool.end();
    return this.closed;
  }

  private async applyTransition(client: pg.ClientBase, write: TransitionWrite): Promise<void> {
    for (const execution of write.executions) await this.writeExecution(client, execution, write.fence);
    if (write.timersToAdd.length > 0) await this.addTimers(client, write.timersToAdd, write.fence?.shardId ?? 0);
    if (write.timersToDelete.length > 0) await client.query(query('deleteTimers', [write.timersToDelete.map((r) => r.taskId)]));
  }

  private async writeExecution(client: pg.ClientBase, write: ExecutionWrite, fence: ShardFence | undefined): Promise<void> {
    const key = keyParams(write.key);
    if (write.newVersion <= write.expectedVersion) {
      const versions = `newVersion ${write.newVersion} must exceed expectedVersion ${write.expectedVersion}`;
      throw new PersistenceError(`execution ${key.join('/')}: ${versions}`);
    }
    const insert = write.expectedVersion === 0;
    const expectedRun = write.setCurrent?.expectedCurrentRunId;
    const mode: CurrentRunMode = expectedRun === undefined ? 'status' : expectedRun === null ? 'insert' : 'replace';
    const params: unknown[] = [
      ...key, write.state, write.newVersion, write.needsDispatch, ...summaryParams(write.summary),
      write.events.map((event) => event.eventId), write.events.map((event) => event.data),
      fence?.shardId ?? 0, fence?.rangeId ?? 0,
    ];
    if (!insert) params.push(write.expectedVersion);
    if (typeof expectedRun === 'string') params.push(expectedRun);
    const name = `kairos_write_${insert ? 'insert' : 'update'}_${mode}`;
    const { rows } = await client.query<{ written: number; events: number; current: number }>({
      name,
      text: executionWriteSql(insert, mode),
      values: params,
    });
    const counts = rows[0] ?? { written: 0, events: 0, current: 0 };
    // The conditions in the order the SQLite store checks them, so both report the same conflict.
    if (counts.written !== 1) {
      const { rows: found } = await client.query<{ version: number }>(query('executionVersion', key));
      const version = found[0]?.version ?? null;
      throw new ConditionFailedError(
        `execution ${key.join('/')}: expected version ${write.expectedVersion}, found ${version ?? 'no run'}`,
        write.expectedVersion,
        version,
      );
    }
    if (counts.events !== write.events.length) {
      const ids = write.events.map((event) => event.eventId).join(', ');
      throw new ConditionFailedError(`execution ${key.join('/')}: some of events ${ids} are already stored`);
    }
    if (mode !== 'status' && counts.current !== 1) {
      const { rows: current } = await client.query<{ runId: string }>(query('getCurrentRun', [key[0], key[1]]));
      const found = current[0]?.runId ?? null;
      throw new ConditionFailedError(
        `workflow ${key[0]}/${key[1]}: expected current run ${expectedRun ?? 'none'}, found ${found ?? 'none'}`,
        expectedRun ?? null,
        found,
      );
    }
    if (write.signalRequestIds !== undefined && write.signalRequestIds.length > 0) {
      await client.query(query('insertSignalRequests', [...key, write.signalRequestIds]));
    }
  }

  private async addTimers(client: pg.ClientBase, timers: readonly TimerTaskRow[], shardId: number): Promise<void> {
    const column = <T>(pick: (timer: TimerTaskRow) => T): T[] => timers.map(pick);
    const params = [
      column((t) => t.taskId), column((t) => t.fireAtMs), column((t) => t.key.namespaceId),
      column((t) => t.key.workflowId), column((t) => t.key.runId), column((t) => t.data), shardId,
    ];
    try {
      await client.query(query('insertTimers', params));
    } catch (error) {
      // A reused task id is an allocator bug, not a lost race: no ConditionFailedError, but a clear message.
      if (error instanceof pg.DatabaseError && error.code === '23505') {
        throw new PersistenceError(`timer task already stored (${error.detail ?? column((t) => t.taskId).join(', ')})`, { cause: error });
      }
      throw error;
    }
  }

  private async connect(): Promise<pg.PoolClient> {
    try {
      return await checkout(this.pool);
    } catch (error) {
      throw persistenceError(error, 'cannot get a PostgreSQL connection');
    }
  }

  private async rows<R extends pg.QueryResultRow>(statement: keyof typeof SQL, values: unknown[]): Promise<R[]> {
    return this.wrap(statement, async () => (await this.pool.query<R>(query(statement, values))).rows);
  }

  private async changes(statement: keyof typeof SQL, values: unknown[]): Promise<number> {
    return this.wrap(statement, async () => (await this.pool.query(query(statement, values))).rowCount ?? 0);
  }

  private async wrap<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw persistenceError(error, `PostgreSQL ${what} failed`);
    }
  }
}

/** A named (so prepared once per connection) query of statements.ts. */
function query(statement: keyof typeof SQL, values: unknown[]): pg.QueryConfig {
  return { name: `kairos_${statement}`, text: SQL[statement], values };
}

function keyParams(key: ExecutionKey): [string, string, string] {
  return [key.namespaceId, key.workflowId, key.runId];
}

function keyOf(row: Row<'namespaceId' | 'workflowId' | 'runId'>): ExecutionKey {
  return { namespaceId: row.namespaceId as string, workflowId: row.workflowId as string, runId: row.runId as string };
}

/** A run's state, version and the listing columns the state leaves out. */
function stateOf(row: Row<'state' | 'version' | 'memo' | 'searchAttributes'>): Omit<ExecutionRow, 'key'> {
  return {
    state: row.state as Uint8Array,
    version: row.version as number,
    memo: (row.memo as Uint8Array | null) ?? null,
    searchAttributes: (row.searchAttributes as Uint8Array | null) ?? null,
  };
}

function scheduleRow(row: Row<'namespaceId' | 'scheduleId' | 'data' | 'version'>): ScheduleRow {
  return { namespaceId: row.namespaceId as string, scheduleId: row.scheduleId as string, data: row.data as Uint8Array, version: Number(row.version) };
}
