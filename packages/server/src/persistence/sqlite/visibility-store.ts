// The visibility half of the SQLite store: list and count over the executions table with a compiled
// VisibilityFilter (visibility-sql.ts), and the per-namespace search attribute registry table.
// SqliteStore delegates to it; both share the one connection.

import type Database from 'better-sqlite3';
import { ConditionFailedError } from '../errors.js';
import type { ExecutionListing, ExecutionListPage, ExecutionSummary } from '../store.js';
import type { ExecutionCount, ExecutionCountQuery, ExecutionListQuery, SearchAttributeRow } from '../visibility.js';
import type { SearchAttributeTypeName, SearchAttributeValues } from '../visibility.js';
import { LIST_ORDER, registerVisibilityFunctions, whereSql, type SqlParam } from './visibility-sql.js';

/** The summary columns of executions, aliased to ExecutionSummary's field names. */
export const SUMMARY_COLUMNS = `workflow_type AS workflowType, task_queue AS taskQueue, status,
  start_time_ms AS startTimeMs, execution_time_ms AS executionTimeMs, close_time_ms AS closeTimeMs,
  history_length AS historyLength, history_size_bytes AS historySizeBytes,
  state_transition_count AS stateTransitionCount, execution_duration_ms AS executionDurationMs,
  parent_workflow_id AS parentWorkflowId, parent_run_id AS parentRunId, root_workflow_id AS rootWorkflowId,
  root_run_id AS rootRunId, memo, search_attributes AS searchAttributes,
  search_attribute_values AS searchAttributeValues`;

export type SummaryRow = Omit<ExecutionSummary, 'searchAttributeValues'> & { searchAttributeValues: string | null };
type ListingRow = SummaryRow & { namespaceId: string; workflowId: string; runId: string };

/** Dynamic statements are kept by their SQL text; a query shape is prepared once. */
const STATEMENT_CACHE_SIZE = 256;

/** The columns of an execution write that visibility owns, as named parameters. */
export function summaryParams(summary: ExecutionSummary): SummaryRow {
  const values = summary.searchAttributeValues;
  return summaryWith(summary, values === null ? null : JSON.stringify(values));
}

export function summaryFromRow(row: SummaryRow): ExecutionSummary {
  const values = row.searchAttributeValues;
  return summaryWith(row, values === null ? null : (JSON.parse(values) as SearchAttributeValues));
}

/**
 * The columns of `from` with other search attribute values: one literal with every field, because in
 * Node 20's V8 an object built as a leading spread plus more properties takes a slow path (microseconds
 * per call; docs/performance.md).
 */
function summaryWith<V>(from: Omit<ExecutionSummary, 'searchAttributeValues'>, searchAttributeValues: V) {
  return {
    workflowType: from.workflowType,
    taskQueue: from.taskQueue,
    status: from.status,
    startTimeMs: from.startTimeMs,
    executionTimeMs: from.executionTimeMs,
    closeTimeMs: from.closeTimeMs,
    historyLength: from.historyLength,
    historySizeBytes: from.historySizeBytes,
    stateTransitionCount: from.stateTransitionCount,
    executionDurationMs: from.executionDurationMs,
    parentWorkflowId: from.parentWorkflowId,
    parentRunId: from.parentRunId,
    rootWorkflowId: from.rootWorkflowId,
    rootRunId: from.rootRunId,
    memo: from.memo,
    searchAttributes: from.searchAttributes,
    searchAttributeValues,
  };
}

export function prepareRegistryStatements(db: Database.Database) {
  return {
    listSearchAttributes: db.prepare<[string], SearchAttributeRow>(`SELECT name, type FROM search_attributes
      WHERE namespace_id = ? ORDER BY name`),
    searchAttributeType: db
      .prepare<[string, string], SearchAttributeTypeName>('SELECT type FROM search_attributes WHERE namespace_id = ? AND name = ?')
      .pluck(),
    insertSearchAttribute: db.prepare<[string, string, string]>(`INSERT INTO search_attributes (namespace_id, name, type)
      VALUES (?, ?, ?) ON CONFLICT DO NOTHING`),
    deleteSearchAttribute: db.prepare<[string, string]>('DELETE FROM search_attributes WHERE namespace_id = ? AND name = ?'),
  };
}

export class SqliteVisibility {
  private readonly statements: ReturnType<typeof prepareRegistryStatements>;
  private readonly cache = new Map<string, Database.Statement<SqlParam[], unknown>>();
  private readonly addAll: Database.Transaction<(namespaceId: string, rows: readonly SearchAttributeRow[]) => void>;
  private readonly removeAll: Database.Transaction<(namespaceId: string, names: readonly string[]) => string[]>;

  constructor(private readonly db: Database.Database) {
    registerVisibilityFunctions(db);
    this.statements = prepareRegistryStatements(db);
    this.addAll = db.transaction((namespaceId: string, rows: readonly SearchAttributeRow[]) => {
      for (const { name, type } of rows) {
        const found = this.statements.searchAttributeType.get(namespaceId, name);
        if (found !== undefined && found !== type) {
          const message = `search attribute ${name} of namespace ${namespaceId} is registered as ${found}, not ${type}`;
          throw new ConditionFailedError(message, type, found);
        }
        this.statements.insertSearchAttribute.run(namespaceId, name, type);
      }
    });
    this.removeAll = db.transaction((namespaceId: string, names: readonly string[]) =>
      names.filter((name) => this.statements.deleteSearchAttribute.run(namespaceId, name).changes === 1),
    );
  }

  list(query: ExecutionListQuery): ExecutionListPage {
    const where = whereSql(query.namespaceId, query.filter, query.after);
    const sql = `SELECT namespace_id AS namespaceId, workflow_id AS workflowId, run_id AS runId, ${SUMMARY_COLUMNS}
      FROM executions WHERE ${where.sql} ORDER BY ${LIST_ORDER} LIMIT ?`;
    // One row more than the page says whether another page follows, so the last page is never empty.
    const rows = this.statement<ListingRow>(sql).all(...where.params, query.pageSize + 1);
    const executions: ExecutionListing[] = rows.slice(0, query.pageSize).map(({ namespaceId, workflowId, runId, ...summary }) => ({
      key: { namespaceId, workflowId, runId },
      summary: summaryFromRow(summary),
    }));
    const last = executions.at(-1);
    const more = rows.length > query.pageSize && last !== undefined;
    const next = more ? { closeTimeMs: last.summary.closeTimeMs, startTimeMs: last.summary.startTimeMs, runId: last.key.runId } : null;
    return { executions, next };
  }

  count(query: ExecutionCountQuery): ExecutionCount {
    const where = whereSql(query.namespaceId, query.filter, null);
    if (!query.groupByStatus) {
      const count = this.statement<{ count: number }>(`SELECT COUNT(*) AS count FROM executions WHERE ${where.sql}`).get(...where.params);
      return { count: count?.count ?? 0, groups: [] };
    }
    const sql = `SELECT status, COUNT(*) AS count FROM executions WHERE ${where.sql} GROUP BY status ORDER BY status`;
    const groups = this.statement<{ status: number; count: number }>(sql).all(...where.params);
    return { count: groups.reduce((sum, group) => sum + group.count, 0), groups };
  }

  listSearchAttributes(namespaceId: string): SearchAttributeRow[] {
    return this.statements.listSearchAttributes.all(namespaceId);
  }

  addSearchAttributes(namespaceId: string, rows: readonly SearchAttributeRow[]): void {
    this.addAll.immediate(namespaceId, rows);
  }

  removeSearchAttributes(namespaceId: string, names: readonly string[]): string[] {
    return this.removeAll.immediate(namespaceId, names);
  }

  private statement<Row>(sql: string): Database.Statement<SqlParam[], Row> {
    let statement = this.cache.get(sql);
    if (statement === undefined) {
      if (this.cache.size >= STATEMENT_CACHE_SIZE) this.cache.clear();
      statement = this.db.prepare<SqlParam[], unknown>(sql);
      this.cache.set(sql, statement);
    }
    return statement as Database.Statement<SqlParam[], Row>;
  }
}
