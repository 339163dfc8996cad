// VisibilityFilter -> an SQLite WHERE clause over the executions table. Every literal, JSON path and
// list travels as a bound parameter; the SQL text holds only column names and operators, so no value
// can change the statement (and equal query shapes share a prepared statement).
//
// Custom attributes live in the JSON column search_attribute_values: json_extract for scalars, json_each
// for KeywordList membership, and kairos_text_match (registered on the connection, see
// registerVisibilityFunctions) for Text, so that NULL/UNKNOWN behave as persistence/visibility.ts says.

import type Database from 'better-sqlite3';
import { PersistenceError } from '../errors.js';
import { textTokens, type FilterTarget, type VisibilityColumn, type VisibilityCursor, type VisibilityFilter } from '../visibility.js';
import { OPEN_RUN_CLOSE_TIME } from './migrations.js';

export type SqlParam = string | number | bigint;

export interface SqlFragment {
  readonly sql: string;
  readonly params: readonly SqlParam[];
}

const COLUMNS: Readonly<Record<VisibilityColumn, string>> = {
  workflowId: 'workflow_id',
  runId: 'run_id',
  workflowType: 'workflow_type',
  startTime: 'start_time_ms',
  executionTime: 'execution_time_ms',
  closeTime: 'close_time_ms',
  status: 'status',
  taskQueue: 'task_queue',
  historyLength: 'history_length',
  executionDuration: 'execution_duration_ms',
  stateTransitionCount: 'state_transition_count',
  historySizeBytes: 'history_size_bytes',
  parentWorkflowId: 'parent_workflow_id',
  parentRunId: 'parent_run_id',
  rootWorkflowId: 'root_workflow_id',
  rootRunId: 'root_run_id',
};

const VALUES_COLUMN = 'search_attribute_values';
/** Attributes with a column of their own (generated from the JSON, so it reads the same value). */
const ATTRIBUTE_COLUMNS: ReadonlyMap<string, string> = new Map([['TemporalNamespaceDivision', 'namespace_division']]);
/** The list order; must repeat the expression of the executions_list_order index to use it. */
export const LIST_ORDER_KEY = `COALESCE(close_time_ms, ${OPEN_RUN_CLOSE_TIME})`;
export const LIST_ORDER = `${LIST_ORDER_KEY} DESC, start_time_ms DESC, run_id`;

/** The JSON path of a custom attribute. SQLite paths have no escapes, so a name may not hold `"`. */
export function attributePath(name: string): string {
  if (name.includes('"')) throw new PersistenceError(`search attribute name ${name} cannot be stored: it contains '"'`);
  return `$."${name}"`;
}

/** Appends the SQL of `filter` to `params` and returns it. */
export function filterSql(filter: VisibilityFilter, params: SqlParam[]): string {
  switch (filter.kind) {
    case 'and':
    case 'or': {
      if (filter.operands.length === 0) return filter.kind === 'and' ? '1' : '0';
      return filter.operands.map((operand) => `(${filterSql(operand, params)})`).join(filter.kind === 'and' ? ' AND ' : ' OR ');
    }
    case 'not':
      return `NOT (${filterSql(filter.operand, params)})`;
    case 'compare': {
      const target = targetSql(filter.target, params);
      params.push(filter.value);
      return `${target} ${filter.operator === '!=' ? '<>' : filter.operator} ?`;
    }
    case 'in': {
      const target = targetSql(filter.target, params);
      params.push(...filter.values);
      return `${target} ${filter.negated ? 'NOT IN' : 'IN'} (${placeholders(filter.values.length)})`;
    }
    case 'between': {
      const target = targetSql(filter.target, params);
      params.push(filter.low, filter.high);
      return `${target} ${filter.negated ? 'NOT BETWEEN' : 'BETWEEN'} ? AND ?`;
    }
    case 'startsWith': {
      // substr counts characters, as [...prefix] does; LIKE would ignore ASCII case in SQLite.
      const target = targetSql(filter.target, params);
      params.push([...filter.prefix].length, filter.prefix);
      return `${filter.negated ? 'NOT ' : ''}(substr(${target}, 1, ?) = ?)`;
    }
    case 'isNull':
      return `${targetSql(filter.target, params)} IS ${filter.negated ? 'NOT ' : ''}NULL`;
    case 'listContains': {
      params.push(attributePath(filter.attribute), ...filter.values);
      const exists = `EXISTS (SELECT 1 FROM json_each(${VALUES_COLUMN}, ?) WHERE value IN (${placeholders(filter.values.length)}))`;
      return filter.negated ? `NOT ${exists}` : exists;
    }
    case 'textMatch': {
      params.push(attributePath(filter.attribute), JSON.stringify(filter.tokens));
      return `${filter.negated ? 'NOT ' : ''}kairos_text_match(json_extract(${VALUES_COLUMN}, ?), ?)`;
    }
  }
}

function targetSql(target: FilterTarget, params: SqlParam[]): string {
  if ('column' in target) return COLUMNS[target.column];
  const own = ATTRIBUTE_COLUMNS.get(target.attribute);
  if (own !== undefined) return own;
  params.push(attributePath(target.attribute));
  return `json_extract(${VALUES_COLUMN}, ?)`;
}

function placeholders(count: number): string {
  return Array.from({ length: count }, () => '?').join(', ');
}

/** The WHERE clause of list and count: the namespace, then the page cursor, then the filter. */
export function whereSql(namespaceId: string, filter: VisibilityFilter | null, after: VisibilityCursor | null): SqlFragment {
  const params: SqlParam[] = [namespaceId];
  const clauses = ['namespace_id = ?'];
  if (after !== null) {
    // Open runs sort as close time = max int64, which a JS number cannot hold exactly: bind a bigint.
    const close: SqlParam = after.closeTimeMs ?? BigInt(OPEN_RUN_CLOSE_TIME);
    // The leading `<=` is a range on the index, so a later page starts at its cursor instead of
    // scanning every run before it.
    clauses.push(
      `${LIST_ORDER_KEY} <= ? AND (${LIST_ORDER_KEY} < ? OR (${LIST_ORDER_KEY} = ? AND ` +
        '(start_time_ms < ? OR (start_time_ms = ? AND run_id > ?))))',
    );
    params.push(close, close, close, after.startTimeMs, after.startTimeMs, after.runId);
  }
  if (filter !== null) clauses.push(`(${filterSql(filter, params)})`);
  return { sql: clauses.join(' AND '), params };
}

/** Functions the generated SQL calls; registered once per connection. */
export function registerVisibilityFunctions(db: Database.Database): void {
  db.function('kairos_text_match', { deterministic: true }, (value: unknown, tokensJson: unknown) => {
    if (typeof value !== 'string' || typeof tokensJson !== 'string') return 0;
    const wanted = new Set(JSON.parse(tokensJson) as string[]);
    return textTokens(value).some((token) => wanted.has(token)) ? 1 : 0;
  });
}
