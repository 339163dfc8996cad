// The visibility half of the PostgreSQL store: list and count over the executions table with a compiled
// VisibilityFilter (visibility-sql.ts), and the per-namespace search attribute registry table.
// PostgresStore delegates to it; both share the one pool.

import type pg from 'pg';
import { ConditionFailedError } from '../errors.js';
import type { ExecutionListing, ExecutionListPage, ExecutionSummary } from '../store.js';
import type { ExecutionCount, ExecutionCountQuery, ExecutionListQuery, SearchAttributeRow } from '../visibility.js';
import { textTokens, type SearchAttributeTypeName, type SearchAttributeValues } from '../visibility.js';
import { checkout } from './connection.js';
import { LIST_ORDER, whereSql } from './visibility-sql.js';

/** The summary columns of executions, aliased to ExecutionSummary's field names. */
export const SUMMARY_COLUMNS = `workflow_type AS "workflowType", task_queue AS "taskQueue", status,
  start_time_ms AS "startTimeMs", execution_time_ms AS "executionTimeMs", close_time_ms AS "closeTimeMs",
  history_length AS "historyLength", history_size_bytes AS "historySizeBytes",
  state_transition_count AS "stateTransitionCount", execution_duration_ms AS "executionDurationMs",
  parent_workflow_id AS "parentWorkflowId", parent_run_id AS "parentRunId", root_workflow_id AS "rootWorkflowId",
  root_run_id AS "rootRunId", memo, search_attributes AS "searchAttributes",
  search_attribute_values AS "searchAttributeValues"`;

type ListingRow = ExecutionSummary & { namespaceId: string; workflowId: string; runId: string };

/**
 * The visibility columns of an execution write, in the order of SUMMARY_PARAMETER_COLUMNS. The typed
 * values go as JSON text (jsonb), with the words of each string value for Text matching.
 */
export function summaryParams(summary: ExecutionSummary): unknown[] {
  const values = summary.searchAttributeValues;
  return [
    summary.workflowType, summary.taskQueue, summary.status, summary.startTimeMs, summary.executionTimeMs,
    summary.closeTimeMs, summary.historyLength, summary.historySizeBytes, summary.stateTransitionCount,
    summary.executionDurationMs, summary.parentWorkflowId, summary.parentRunId, summary.rootWorkflowId,
    summary.rootRunId, summary.memo, summary.searchAttributes,
    values === null ? null : JSON.stringify(values),
    values === null ? null : JSON.stringify(attributeWords(values)),
  ];
}

export const SUMMARY_PARAMETER_COLUMNS = [
  'workflow_type', 'task_queue', 'status', 'start_time_ms', 'execution_time_ms', 'close_time_ms', 'history_length',
  'history_size_bytes', 'state_transition_count', 'execution_duration_ms', 'parent_workflow_id', 'parent_run_id',
  'root_workflow_id', 'root_run_id', 'memo', 'search_attributes', 'search_attribute_values', 'search_attribute_words',
] as const;

function attributeWords(values: SearchAttributeValues): Record<string, string[]> {
  const words: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(values)) {
    if (typeof value === 'string') words[name] = [...new Set(textTokens(value))];
  }
  return words;
}

export class PostgresVisibility {
  constructor(private readonly pool: pg.Pool) {}

  async list(query: ExecutionListQuery): Promise<ExecutionListPage> {
    const where = whereSql(query.namespaceId, query.filter, query.after);
    const limit = `$${where.params.length + 1}`;
    const sql = `SELECT namespace_id AS "namespaceId", workflow_id AS "workflowId", run_id AS "runId", ${SUMMARY_COLUMNS}
      FROM executions WHERE ${where.sql} ORDER BY ${LIST_ORDER} LIMIT ${limit}`;
    // One row more than the page says whether another page follows, so the last page is never empty.
    const { rows } = await this.pool.query<ListingRow>(sql, [...where.params, query.pageSize + 1]);
    const executions: ExecutionListing[] = rows.slice(0, query.pageSize).map(({ namespaceId, workflowId, runId, ...summary }) => ({
      key: { namespaceId, workflowId, runId },
      summary,
    }));
    const last = executions.at(-1);
    const more = rows.length > query.pageSize && last !== undefined;
    const next = more ? { closeTimeMs: last.summary.closeTimeMs, startTimeMs: last.summary.startTimeMs, runId: last.key.runId } : null;
    return { executions, next };
  }

  async count(query: ExecutionCountQuery): Promise<ExecutionCount> {
    const where = whereSql(query.namespaceId, query.filter, null);
    if (!query.groupByStatus) {
      const { rows } = await this.pool.query<{ count: number }>(`SELECT COUNT(*) AS count FROM executions WHERE ${where.sql}`, [...where.params]);
      return { count: rows[0]?.count ?? 0, groups: [] };
    }
    const sql = `SELECT status, COUNT(*) AS count FROM executions WHERE ${where.sql} GROUP BY status ORDER BY status`;
    const { rows: groups } = await this.pool.query<{ status: number; count: number }>(sql, [...where.params]);
    return { count: groups.reduce((sum, group) => sum + group.count, 0), groups };
  }

  async listSearchAttributes(namespaceId: string): Promise<SearchAttributeRow[]> {
    const { rows } = await this.pool.query<SearchAttributeRow>({
      name: 'kairos_list_search_attributes',
      text: 'SELECT name, type FROM search_attributes WHERE namespace_id = $1 ORDER BY name',
      values: [namespaceId],
    });
    return rows;
  }

  /** All or none: one transaction; a name registered with another type rolls it back. */
  async addSearchAttributes(namespaceId: string, attributes: readonly SearchAttributeRow[]): Promise<void> {
    await this.transaction(async (client) => {
      for (const { name, type } of attributes) {
        // The no-op update returns (and locks) the row that is there, so a concurrent registration of
        // the same name with another type is seen here rather than silently kept.
        const { rows } = await client.query<{ type: SearchAttributeTypeName }>({
          name: 'kairos_add_search_attribute',
          text: `INSERT INTO search_attributes (namespace_id, name, type) VALUES ($1, $2, $3)
            ON CONFLICT (namespace_id, name) DO UPDATE SET type = search_attributes.type RETURNING type`,
          values: [namespaceId, name, type],
        });
        const found = rows[0]?.type;
        if (found !== undefined && found !== type) {
          const message = `search attribute ${name} of namespace ${namespaceId} is registered as ${found}, not ${type}`;
          throw new ConditionFailedError(message, type, found);
        }
      }
    });
  }

  async removeSearchAttributes(namespaceId: string, names: readonly string[]): Promise<string[]> {
    const { rows } = await this.pool.query<{ name: string }>({
      name: 'kairos_remove_search_attributes',
      text: 'DELETE FROM search_attributes WHERE namespace_id = $1 AND name = ANY($2::text[]) RETURNING name',
      values: [namespaceId, names],
    });
    // In the order asked, each once, as the SQLite store reports them.
    const removed = new Set(rows.map((row) => row.name));
    return names.filter((name) => removed.delete(name));
  }

  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await checkout(this.pool);
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (error) {
      await rollbackAndRelease(client, error);
      throw error;
    }
  }
}

/** Rolls back and returns the client to the pool; a client that cannot roll back is discarded. */
export async function rollbackAndRelease(client: pg.PoolClient, cause: unknown): Promise<void> {
  try {
    await client.query('ROLLBACK');
    client.release();
  } catch {
    client.release(cause instanceof Error ? cause : true);
  }
}
