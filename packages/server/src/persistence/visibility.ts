// The visibility part of the store contract: the typed search-attribute values kept with each run, the
// filter a list/count query compiles to, and the shapes of list and count. The query language itself
// lives in visibility/query/; a backend only has to evaluate a VisibilityFilter.
//
// Filter semantics are SQL's three-valued logic, the same on every backend:
// - A comparison, IN, BETWEEN or STARTS_WITH on a value the run does not have (a custom attribute it
//   never set, CloseTime while running, ...) is UNKNOWN; NOT UNKNOWN is UNKNOWN; AND/OR follow SQL; a
//   run is selected only when the whole filter is TRUE. So `NOT (Color = 'red')` does not select runs
//   without Color (as in Temporal's SQL visibility).
// - `isNull`, `listContains` and `textMatch` are never UNKNOWN.
// - Strings compare by their UTF-8 bytes (SQLite's BINARY collation); STARTS_WITH is case-sensitive.
// - Numbers: Int and Double attributes, times (epoch ms, possibly fractional), durations (ms), statuses
//   (WorkflowExecutionStatus value) and Bool (1 / 0) all compare as numbers.

/** An IndexedValueType, spelled as Temporal spells it in payload metadata and in the CLI. */
export type SearchAttributeTypeName = 'Text' | 'Keyword' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

/**
 * A search attribute value as indexed: Keyword/Text strings, Int/Double numbers, Bool booleans,
 * Datetime epoch milliseconds (fractional below a millisecond), KeywordList string arrays.
 */
export type SearchAttributeValue = string | number | boolean | readonly string[];
export type SearchAttributeValues = Readonly<Record<string, SearchAttributeValue>>;

/** The visibility columns every run has (Temporal's system search attributes). */
export type VisibilityColumn =
  | 'workflowId'
  | 'runId'
  | 'workflowType'
  | 'startTime'
  | 'executionTime'
  | 'closeTime'
  | 'status'
  | 'taskQueue'
  | 'historyLength'
  | 'executionDuration'
  | 'stateTransitionCount'
  | 'historySizeBytes'
  | 'parentWorkflowId'
  | 'parentRunId'
  | 'rootWorkflowId'
  | 'rootRunId';

/** What a condition reads: a column, or a search attribute from the run's indexed values. */
export type FilterTarget = { readonly column: VisibilityColumn } | { readonly attribute: string };

/** A literal: strings for keywords; numbers for everything else (see the semantics above). */
export type FilterScalar = string | number;

export type ComparisonOperator = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type VisibilityFilter =
  | { readonly kind: 'and' | 'or'; readonly operands: readonly VisibilityFilter[] }
  | { readonly kind: 'not'; readonly operand: VisibilityFilter }
  | { readonly kind: 'compare'; readonly target: FilterTarget; readonly operator: ComparisonOperator; readonly value: FilterScalar }
  | { readonly kind: 'in'; readonly target: FilterTarget; readonly negated: boolean; readonly values: readonly FilterScalar[] }
  | {
      readonly kind: 'between';
      readonly target: FilterTarget;
      readonly negated: boolean;
      readonly low: FilterScalar;
      readonly high: FilterScalar;
    }
  | { readonly kind: 'startsWith'; readonly target: FilterTarget; readonly negated: boolean; readonly prefix: string }
  | { readonly kind: 'isNull'; readonly target: FilterTarget; readonly negated: boolean }
  /** KeywordList: TRUE when the list holds any of `values` (negated: holds none of them, or is absent). */
  | { readonly kind: 'listContains'; readonly attribute: string; readonly negated: boolean; readonly values: readonly string[] }
  /** Text: TRUE when the text holds any of `tokens` (see textTokens); negated: none of them, or absent. */
  | { readonly kind: 'textMatch'; readonly attribute: string; readonly negated: boolean; readonly tokens: readonly string[] };

/**
 * The words of a Text value or query, as Text matching sees them: maximal runs of letters and digits,
 * lower-cased. Backends must tokenize stored text exactly like this.
 */
export function textTokens(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** Where a page ended, in list order (COALESCE(close time, +inf) DESC, start time DESC, run id ASC). */
export interface VisibilityCursor {
  readonly closeTimeMs: number | null;
  readonly startTimeMs: number;
  readonly runId: string;
}

export interface ExecutionListQuery {
  readonly namespaceId: string;
  /** null = every run of the namespace. */
  readonly filter: VisibilityFilter | null;
  readonly pageSize: number;
  /** Continue after this run (exclusive); null = from the first. */
  readonly after: VisibilityCursor | null;
}

export interface ExecutionCountQuery {
  readonly namespaceId: string;
  readonly filter: VisibilityFilter | null;
  /** Also count per WorkflowExecutionStatus (`GROUP BY ExecutionStatus`). */
  readonly groupByStatus: boolean;
}

export interface ExecutionCount {
  readonly count: number;
  /** One entry per status that has runs, by ascending status value; empty unless grouped. */
  readonly groups: ReadonlyArray<{ readonly status: number; readonly count: number }>;
}

/** A custom search attribute registered in a namespace. */
export interface SearchAttributeRow {
  readonly name: string;
  readonly type: SearchAttributeTypeName;
}
