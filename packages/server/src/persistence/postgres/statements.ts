// The fixed statements of the PostgreSQL store, by name. Each runs as a named prepared statement
// (planned once per connection). Tables are unqualified: the pool's search_path picks the schema.
// Columns are aliased to the Store's field names so rows map onto its shapes.

import { SUMMARY_PARAMETER_COLUMNS } from './visibility-store.js';

const KEY = 'namespace_id = $1 AND workflow_id = $2 AND run_id = $3';
const KEY_COLUMNS = 'namespace_id AS "namespaceId", workflow_id AS "workflowId", run_id AS "runId"';
/** A run's state with the listing columns it leaves out (store.ts ListedFields). */
const STATE_COLUMNS = 'state, version, memo, search_attributes AS "searchAttributes"';

/** $1..$6 are the key, state, version and needs_dispatch; the summary follows from $7. */
const SUMMARY_FIRST = 7;
const JSONB_COLUMNS: ReadonlySet<string> = new Set(['search_attribute_values', 'search_attribute_words']);
const summaryPlaceholders = SUMMARY_PARAMETER_COLUMNS.map(
  (column, i) => `$${SUMMARY_FIRST + i}${JSONB_COLUMNS.has(column) ? '::jsonb' : ''}`,
);
const EXPECTED_VERSION = `$${SUMMARY_FIRST + SUMMARY_PARAMETER_COLUMNS.length}`;
/** After the summary come the event ids and data, then the shard id and the writer's range id. */
const SHARD_ID = `$${SUMMARY_FIRST + SUMMARY_PARAMETER_COLUMNS.length + 2}::integer`;
const SHARD_RANGE_ID = `$${SUMMARY_FIRST + SUMMARY_PARAMETER_COLUMNS.length + 3}::bigint`;

/** How a write treats the current-run row: follow its status, create it, or take it over from a run. */
export type CurrentRunMode = 'status' | 'insert' | 'replace';

/**
 * One execution write as one statement (one round trip): the execution row (insert, or update under
 * the version check), its events, and the current-run row, as data-modifying CTEs. Events and the
 * current row are written only when the execution row was; the counts it returns tell the caller which
 * condition failed (the caller then rolls the savepoint back). Parameters: $1..$24 as insertExecution,
 * $25 event ids, $26 event data, $27 shard id, $28 range id, then the expected version (update) and the
 * expected current run (replace), in that order.
 */
export function executionWriteSql(insert: boolean, current: CurrentRunMode): string {
  const name = `${insert ? 'insert' : 'update'}_${current}`;
  let text = executionWrites.get(name);
  if (text === undefined) {
    text = buildExecutionWrite(insert, current);
    executionWrites.set(name, text);
  }
  return text;
}

const executionWrites = new Map<string, string>();

function buildExecutionWrite(insert: boolean, current: CurrentRunMode): string {
  const status = `$${SUMMARY_FIRST + SUMMARY_PARAMETER_COLUMNS.indexOf('status')}`;
  let next = SUMMARY_FIRST + SUMMARY_PARAMETER_COLUMNS.length + 4;
  const written = insert ? SQL.insertExecution : SQL.updateExecution.replace(EXPECTED_VERSION, `$${next++}`);
  const currentSql = {
    status: `UPDATE current_executions SET status = ${status} WHERE ${KEY} AND EXISTS (SELECT FROM written)`,
    insert: `INSERT INTO current_executions (namespace_id, workflow_id, run_id, status)
      SELECT $1::text, $2::text, $3::text, ${status}::integer WHERE EXISTS (SELECT FROM written) ON CONFLICT DO NOTHING`,
    replace: `UPDATE current_executions SET run_id = $3, status = ${status}
      WHERE namespace_id = $1 AND workflow_id = $2 AND run_id = $${next++}::text AND EXISTS (SELECT FROM written)`,
  }[current];
  return `WITH written AS (${written} RETURNING 1),
    events AS (
      INSERT INTO history_events (namespace_id, workflow_id, run_id, event_id, data)
      SELECT $1::text, $2::text, $3::text, event_id, data
        FROM unnest($${SUMMARY_FIRST + SUMMARY_PARAMETER_COLUMNS.length}::bigint[], $${SUMMARY_FIRST + SUMMARY_PARAMETER_COLUMNS.length + 1}::bytea[]) AS e(event_id, data)
        WHERE EXISTS (SELECT FROM written)
      ON CONFLICT DO NOTHING RETURNING 1),
    current_run AS (${currentSql} RETURNING 1)
    SELECT (SELECT COUNT(*) FROM written) AS written, (SELECT COUNT(*) FROM events) AS events,
      (SELECT COUNT(*) FROM current_run) AS current`;
}

/** Fixed statements; insertExecution and updateExecution are parts of executionWriteSql's statement. */
export const SQL = {
  insertExecution: `INSERT INTO executions (namespace_id, workflow_id, run_id, state, version, needs_dispatch,
      ${SUMMARY_PARAMETER_COLUMNS.join(', ')}, shard_id, shard_range_id)
    VALUES ($1, $2, $3, $4, $5, $6, ${summaryPlaceholders.join(', ')}, ${SHARD_ID}, ${SHARD_RANGE_ID})
    ON CONFLICT DO NOTHING`,
  updateExecution: `UPDATE executions SET state = $4, version = $5, needs_dispatch = $6,
      ${SUMMARY_PARAMETER_COLUMNS.map((column, i) => `${column} = ${summaryPlaceholders[i] ?? ''}`).join(', ')},
      shard_id = ${SHARD_ID}, shard_range_id = ${SHARD_RANGE_ID}
    WHERE ${KEY} AND version = ${EXPECTED_VERSION}`,
  executionVersion: `SELECT version FROM executions WHERE ${KEY}`,
  getExecution: `SELECT ${STATE_COLUMNS} FROM executions WHERE ${KEY}`,
  readEvents: `SELECT data FROM history_events WHERE ${KEY} AND event_id >= $4 AND event_id < $5 ORDER BY event_id LIMIT $6`,
  readEventsReverse: `SELECT data FROM history_events WHERE ${KEY} AND event_id < $4 ORDER BY event_id DESC LIMIT $5`,
  getCurrentRun: `SELECT run_id AS "runId", status FROM current_executions WHERE namespace_id = $1 AND workflow_id = $2`,
  insertTimers: `INSERT INTO timer_tasks (task_id, fire_at_ms, namespace_id, workflow_id, run_id, data, shard_id)
    SELECT *, $7::integer FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bytea[])`,
  deleteTimers: 'DELETE FROM timer_tasks WHERE task_id = ANY($1::text[])',
  listTimers: `SELECT task_id AS "taskId", fire_at_ms AS "fireAtMs", ${KEY_COLUMNS}, data FROM timer_tasks
    WHERE fire_at_ms <= $1 ORDER BY fire_at_ms, task_id LIMIT $2`,
  listShardTimers: `SELECT task_id AS "taskId", fire_at_ms AS "fireAtMs", ${KEY_COLUMNS}, data FROM timer_tasks
    WHERE shard_id = ANY($3::integer[]) AND fire_at_ms <= $1 ORDER BY fire_at_ms, task_id LIMIT $2`,
  /** Keyset continuations: rows after ($3, $4) in (fire time, task id) order (task_id is COLLATE "C"). */
  listTimersAfter: `SELECT task_id AS "taskId", fire_at_ms AS "fireAtMs", ${KEY_COLUMNS}, data FROM timer_tasks
    WHERE (fire_at_ms, task_id) > ($3::bigint, $4::text) AND fire_at_ms <= $1 ORDER BY fire_at_ms, task_id LIMIT $2`,
  listShardTimersAfter: `SELECT task_id AS "taskId", fire_at_ms AS "fireAtMs", ${KEY_COLUMNS}, data FROM timer_tasks
    WHERE shard_id = ANY($5::integer[]) AND (fire_at_ms, task_id) > ($3::bigint, $4::text) AND fire_at_ms <= $1
    ORDER BY fire_at_ms, task_id LIMIT $2`,
  listNeedingDispatch: `SELECT ${KEY_COLUMNS}, ${STATE_COLUMNS} FROM executions WHERE needs_dispatch`,
  listShardNeedingDispatch: `SELECT ${KEY_COLUMNS}, ${STATE_COLUMNS} FROM executions WHERE needs_dispatch AND shard_id = ANY($1::integer[])`,
  /** Locks the shard rows a batch writes (against a concurrent take-over) and reads their range ids. */
  lockShards: 'SELECT shard_id AS "shardId", range_id AS "rangeId" FROM cluster_shards WHERE shard_id = ANY($1::integer[]) FOR SHARE',
  listNamespaces: 'SELECT id, name, data, version FROM namespaces ORDER BY name',
  insertNamespace: 'INSERT INTO namespaces (id, name, data, version) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
  updateNamespace: 'UPDATE namespaces SET name = $1, data = $2, version = $3 WHERE id = $4 AND version = $5',
  namespaceVersion: 'SELECT version FROM namespaces WHERE id = $1',
  namespaceIdByName: 'SELECT id FROM namespaces WHERE name = $1',
  getSchedule: `SELECT namespace_id AS "namespaceId", schedule_id AS "scheduleId", data, version FROM schedules
    WHERE namespace_id = $1 AND schedule_id = $2`,
  listSchedules: `SELECT namespace_id AS "namespaceId", schedule_id AS "scheduleId", data, version FROM schedules
    WHERE namespace_id = $1 AND schedule_id > $2 ORDER BY schedule_id LIMIT $3`,
  listAllSchedules: `SELECT namespace_id AS "namespaceId", schedule_id AS "scheduleId", data, version FROM schedules
    ORDER BY namespace_id, schedule_id`,
  insertSchedule: 'INSERT INTO schedules (namespace_id, schedule_id, data, version) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
  updateSchedule: 'UPDATE schedules SET data = $1, version = $2 WHERE namespace_id = $3 AND schedule_id = $4 AND version = $5',
  scheduleVersion: 'SELECT version FROM schedules WHERE namespace_id = $1 AND schedule_id = $2',
  deleteSchedule: 'DELETE FROM schedules WHERE namespace_id = $1 AND schedule_id = $2',
  deleteExecutionRow: `DELETE FROM executions WHERE ${KEY}`,
  deleteExecutionEvents: `DELETE FROM history_events WHERE ${KEY}`,
  deleteExecutionTimers: `DELETE FROM timer_tasks WHERE ${KEY}`,
  deleteCurrentIfRun: `DELETE FROM current_executions WHERE ${KEY}`,
  insertSignalRequests: `INSERT INTO signal_requests (namespace_id, workflow_id, run_id, request_id)
    SELECT $1::text, $2::text, $3::text, request_id FROM unnest($4::text[]) AS r(request_id) ON CONFLICT DO NOTHING`,
  getSignalRequestIds: `SELECT request_id AS "requestId" FROM signal_requests WHERE ${KEY}`,
  deleteSignalRequests: `DELETE FROM signal_requests WHERE ${KEY}`,
} as const;
