// VisibilityFilter -> a PostgreSQL WHERE clause over the executions table. Every literal, attribute name
// and list travels as a bound parameter ($1, $2, ...); the SQL text holds only column names, operators
// and constants, so no value can change the statement.
//
// The semantics are persistence/visibility.ts's, which follow SQLite's dynamic typing: a custom
// attribute may hold a number where a string is compared (numbers sort before text), a boolean reads as
// 1/0 and a list as its JSON text. PostgreSQL is statically typed, so a condition on a custom attribute
// (jsonb in search_attribute_values) branches on jsonb_typeof and compares each type as the reference
// evaluator does; a missing attribute falls through the CASE to NULL, i.e. UNKNOWN. Text matching reads
// the words stored at write time (search_attribute_words), tokenized by textTokens.

import type { ComparisonOperator, FilterScalar, FilterTarget, VisibilityColumn, VisibilityCursor, VisibilityFilter } from '../visibility.js';
import { OPEN_RUN_CLOSE_TIME } from './migrations.js';

export type SqlParam = string | number | readonly string[] | null;

export interface SqlFragment {
  readonly sql: string;
  readonly params: readonly SqlParam[];
}

/** Numbered parameters: a value is bound once and may be referenced several times. */
export class SqlParams {
  readonly values: SqlParam[] = [];
  add(value: SqlParam): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

type ColumnType = 'text' | 'number';

const COLUMNS: Readonly<Record<VisibilityColumn, readonly [string, ColumnType]>> = {
  workflowId: ['workflow_id', 'text'],
  runId: ['run_id', 'text'],
  workflowType: ['workflow_type', 'text'],
  startTime: ['start_time_ms', 'number'],
  executionTime: ['execution_time_ms', 'number'],
  closeTime: ['close_time_ms', 'number'],
  status: ['status', 'number'],
  taskQueue: ['task_queue', 'text'],
  historyLength: ['history_length', 'number'],
  executionDuration: ['execution_duration_ms', 'number'],
  stateTransitionCount: ['state_transition_count', 'number'],
  historySizeBytes: ['history_size_bytes', 'number'],
  parentWorkflowId: ['parent_workflow_id', 'text'],
  parentRunId: ['parent_run_id', 'text'],
  rootWorkflowId: ['root_workflow_id', 'text'],
  rootRunId: ['root_run_id', 'text'],
};

/** Attributes with a column of their own (generated from the JSON, so it holds the same jsonb value). */
const ATTRIBUTE_COLUMNS: ReadonlyMap<string, string> = new Map([['TemporalNamespaceDivision', 'namespace_division']]);
/** The list order; repeats the expression of the executions_list_order index so it can be used. */
export const LIST_ORDER_KEY = `COALESCE(close_time_ms, ${OPEN_RUN_CLOSE_TIME})`;
export const LIST_ORDER = `${LIST_ORDER_KEY} DESC, start_time_ms DESC, run_id`;

/** What a condition reads: a typed column, or a jsonb value (SQL NULL when the run lacks it). */
type Operand = { readonly kind: ColumnType; readonly sql: string } | { readonly kind: 'json'; readonly sql: string };

/** Returns the SQL of `filter`, binding its values in `params`. */
export function filterSql(filter: VisibilityFilter, params: SqlParams): string {
  switch (filter.kind) {
    case 'and':
    case 'or': {
      if (filter.operands.length === 0) return filter.kind === 'and' ? 'TRUE' : 'FALSE';
      return filter.operands.map((operand) => `(${filterSql(operand, params)})`).join(filter.kind === 'and' ? ' AND ' : ' OR ');
    }
    case 'not':
      return `NOT (${filterSql(filter.operand, params)})`;
    case 'compare':
      return compareSql(operand(filter.target, params), filter.operator, filter.value, params);
    case 'in': {
      // x IN (a, b) is x = a OR x = b: TRUE when one is equal, else UNKNOWN when x is missing.
      const target = operand(filter.target, params);
      const any = filter.values.map((value) => `(${compareSql(target, '=', value, params)})`).join(' OR ') || 'FALSE';
      return negate(filter.negated, any);
    }
    case 'between': {
      const target = operand(filter.target, params);
      const within = `(${compareSql(target, '>=', filter.low, params)}) AND (${compareSql(target, '<=', filter.high, params)})`;
      return negate(filter.negated, within);
    }
    case 'startsWith': {
      const target = operand(filter.target, params);
      return negate(filter.negated, `starts_with(${textSql(target)}, ${params.add(filter.prefix)}::text)`);
    }
    case 'isNull':
      return `${operand(filter.target, params).sql} IS ${filter.negated ? 'NOT ' : ''}NULL`;
    case 'listContains': {
      // A list holds its elements; a single keyword holds itself (jsonb ?| matches both, strings only).
      const value = `search_attribute_values -> ${attributeName(filter.attribute, params)}`;
      return negate(filter.negated, `COALESCE((${value}) ?| ${params.add(filter.values)}::text[], FALSE)`);
    }
    case 'textMatch': {
      const words = `search_attribute_words -> ${attributeName(filter.attribute, params)}`;
      return negate(filter.negated, `COALESCE((${words}) ?| ${params.add(filter.tokens)}::text[], FALSE)`);
    }
  }
}

function negate(negated: boolean, sql: string): string {
  return negated ? `NOT (${sql})` : `(${sql})`;
}

function attributeName(name: string, params: SqlParams): string {
  return `${params.add(name)}::text`;
}

function operand(target: FilterTarget, params: SqlParams): Operand {
  if ('column' in target) {
    const [sql, kind] = COLUMNS[target.column];
    return { kind, sql };
  }
  const own = ATTRIBUTE_COLUMNS.get(target.attribute);
  return { kind: 'json', sql: own ?? `(search_attribute_values -> ${attributeName(target.attribute, params)})` };
}

/** `value op literal` with the reference evaluator's typing; NULL (UNKNOWN) when the value is missing. */
function compareSql(target: Operand, operator: ComparisonOperator, literal: FilterScalar, params: SqlParams): string {
  const op = operator === '!=' ? '<>' : operator;
  // Bound only where used: PostgreSQL cannot type a parameter that the statement never reads.
  if (typeof literal === 'number') {
    if (target.kind === 'text') return whenPresent(target.sql, constant(1, operator));
    const bound = Number.isSafeInteger(literal) ? `${params.add(literal)}::bigint` : `${params.add(literal)}::float8`;
    if (target.kind === 'number') return `${target.sql} ${op} ${bound}`;
    return `CASE jsonb_typeof(${target.sql})
      WHEN 'number' THEN (${target.sql})::float8 ${op} ${bound}
      WHEN 'boolean' THEN (CASE WHEN (${target.sql})::boolean THEN 1 ELSE 0 END) ${op} ${bound}
      WHEN 'string' THEN ${constant(1, operator)} WHEN 'array' THEN ${constant(1, operator)} WHEN 'object' THEN ${constant(1, operator)} END`;
  }
  if (target.kind === 'number') return whenPresent(target.sql, constant(-1, operator));
  const bound = `${params.add(literal)}::text`;
  if (target.kind === 'text') return `${target.sql} ${op} ${bound}`;
  return `CASE jsonb_typeof(${target.sql})
    WHEN 'string' THEN (${target.sql} #>> '{}') COLLATE "C" ${op} ${bound}
    WHEN 'array' THEN ${jsonText(target.sql)} COLLATE "C" ${op} ${bound}
    WHEN 'object' THEN (${target.sql})::text COLLATE "C" ${op} ${bound}
    WHEN 'number' THEN ${constant(-1, operator)} WHEN 'boolean' THEN ${constant(-1, operator)} END`;
}

/** The value as text, as the evaluator's String(value) sees it (booleans 1/0, lists as JSON). */
function textSql(target: Operand): string {
  switch (target.kind) {
    case 'text':
      return target.sql;
    case 'number':
      return `(${target.sql})::text`;
    case 'json':
      return `CASE jsonb_typeof(${target.sql})
        WHEN 'string' THEN ${target.sql} #>> '{}' WHEN 'number' THEN ${target.sql} #>> '{}'
        WHEN 'boolean' THEN (CASE WHEN (${target.sql})::boolean THEN '1' ELSE '0' END)
        WHEN 'array' THEN ${jsonText(target.sql)} WHEN 'object' THEN (${target.sql})::text END`;
  }
}

/** A jsonb array as JSON.stringify writes it (jsonb's own text form puts a space after each comma). */
function jsonText(sql: string): string {
  return `(SELECT '[' || COALESCE(string_agg(element::text, ',' ORDER BY position), '') || ']'
    FROM jsonb_array_elements(${sql}) WITH ORDINALITY AS elements(element, position))`;
}

function whenPresent(sql: string, result: string): string {
  return `CASE WHEN ${sql} IS NULL THEN NULL ELSE ${result} END`;
}

/** The outcome of `operator` when the value's order against the literal is fixed (mixed types). */
function constant(order: -1 | 1, operator: ComparisonOperator): string {
  const holds = { '=': false, '!=': true, '<': order < 0, '<=': order < 0, '>': order > 0, '>=': order > 0 }[operator];
  return holds ? 'TRUE' : 'FALSE';
}

/** The WHERE clause of list and count: the namespace, then the page cursor, then the filter. */
export function whereSql(namespaceId: string, filter: VisibilityFilter | null, after: VisibilityCursor | null): SqlFragment {
  const params = new SqlParams();
  const clauses = [`namespace_id = ${params.add(namespaceId)}`];
  if (after !== null) {
    // Open runs sort as close time = max int64, which a JS number cannot hold exactly: bound as text.
    const close = `${params.add(after.closeTimeMs ?? OPEN_RUN_CLOSE_TIME)}::bigint`;
    const start = `${params.add(after.startTimeMs)}::bigint`;
    // The leading `<=` is a range on the index, so a later page starts at its cursor instead of
    // scanning every run before it.
    clauses.push(
      `${LIST_ORDER_KEY} <= ${close} AND (${LIST_ORDER_KEY} < ${close} OR (${LIST_ORDER_KEY} = ${close} AND ` +
        `(start_time_ms < ${start} OR (start_time_ms = ${start} AND run_id > ${params.add(after.runId)}::text))))`,
    );
  }
  if (filter !== null) clauses.push(`(${filterSql(filter, params)})`);
  return { sql: clauses.join(' AND '), params: params.values };
}
