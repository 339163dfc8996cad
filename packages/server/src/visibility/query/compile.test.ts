import { describe, expect, it } from 'vitest';
import type { VisibilityFilter } from '../../persistence/visibility.js';
import { compileQuery, type CompiledQuery } from './compile.js';
import { InvalidQueryError } from './errors.js';
import { parseDurationMs } from './literals.js';

const CUSTOM = new Map([
  ['Color', 'Keyword'],
  ['Tags', 'KeywordList'],
  ['Amount', 'Double'],
  ['Count', 'Int'],
  ['Vip', 'Bool'],
  ['Due', 'Datetime'],
  ['Notes', 'Text'],
] as const);

const DIVISION: VisibilityFilter = { kind: 'isNull', target: { attribute: 'TemporalNamespaceDivision' }, negated: false };

/** The filter of `query` without the implicit namespace-division condition. */
function filterOf(query: string): VisibilityFilter | null {
  const { filter } = compileQuery(query, CUSTOM, 'list');
  if (filter?.kind !== 'and' || filter.operands[0]?.kind !== 'isNull') throw new Error(`no division condition in ${JSON.stringify(filter)}`);
  const rest = filter.operands.slice(1);
  return rest.length === 1 ? (rest[0] ?? null) : { kind: 'and', operands: rest };
}

function rejected(query: string, purpose: 'list' | 'count' = 'list'): string {
  try {
    compileQuery(query, CUSTOM, purpose);
  } catch (error) {
    if (error instanceof InvalidQueryError) return error.message;
    throw error;
  }
  throw new Error(`expected ${query} to be rejected`);
}

describe('compileQuery', () => {
  it('maps system attributes to columns and literals to stored values', () => {
    expect(filterOf("WorkflowType = 'Order'")).toEqual({ kind: 'compare', target: { column: 'workflowType' }, operator: '=', value: 'Order' });
    expect(filterOf("ExecutionStatus IN ('Running', 'WORKFLOW_EXECUTION_STATUS_TIMED_OUT', 3)")).toEqual({
      kind: 'in',
      target: { column: 'status' },
      negated: false,
      values: [1, 7, 3],
    });
    expect(filterOf("StartTime > '2024-01-02T03:04:05.123456+01:00'")).toEqual({
      kind: 'compare',
      target: { column: 'startTime' },
      operator: '>',
      value: Date.UTC(2024, 0, 2, 2, 4, 5, 123) + 0.456,
    });
    expect(filterOf('CloseTime < 1700000000000000001')).toMatchObject({ value: 1_700_000_000_000.000001 });
    expect(filterOf("ExecutionDuration >= '1m30s'")).toMatchObject({ target: { column: 'executionDuration' }, value: 90_000 });
    expect(filterOf('ExecutionDuration < 2000000')).toMatchObject({ value: 2 });
    expect(filterOf('HistoryLength BETWEEN 10 AND 20')).toMatchObject({ kind: 'between', low: 10, high: 20 });
    expect(filterOf('CloseTime IS NULL')).toEqual({ kind: 'isNull', target: { column: 'closeTime' }, negated: false });
  });

  it('maps custom attributes by type: KeywordList and Text have their own matching', () => {
    expect(filterOf("Color STARTS_WITH 're'")).toEqual({ kind: 'startsWith', target: { attribute: 'Color' }, negated: false, prefix: 're' });
    expect(filterOf('Vip = true')).toEqual({ kind: 'compare', target: { attribute: 'Vip' }, operator: '=', value: 1 });
    expect(filterOf('Count != 3.5')).toMatchObject({ value: 3.5 });
    expect(filterOf("Tags = 'x'")).toEqual({ kind: 'listContains', attribute: 'Tags', negated: false, values: ['x'] });
    expect(filterOf("Tags NOT IN ('x', 'y')")).toEqual({ kind: 'listContains', attribute: 'Tags', negated: true, values: ['x', 'y'] });
    expect(filterOf("Notes != 'Rush, ORDER'")).toEqual({ kind: 'textMatch', attribute: 'Notes', negated: true, tokens: ['rush', 'order'] });
    expect(filterOf("`TemporalChangeVersion` = 'v1'")).toMatchObject({ kind: 'listContains', attribute: 'TemporalChangeVersion' });
  });

  it("resolves Temporal's aliases: ScheduleId, and names with or without the Temporal prefix", () => {
    expect(filterOf("ScheduleId = 's'")).toMatchObject({ target: { column: 'workflowId' } });
    expect(filterOf("ChangeVersion = 'v'")).toMatchObject({ attribute: 'TemporalChangeVersion' });
  });

  it('keeps AND/OR/NOT, flattening chains', () => {
    const filter = filterOf("NOT (Color = 'a' OR Color = 'b' OR Count > 1) AND Vip = false");
    expect(filter).toMatchObject({ kind: 'and', operands: [{ kind: 'not', operand: { kind: 'or', operands: [{}, {}, {}] } }, { kind: 'compare' }] });
  });

  it('hides other namespace divisions unless the query names TemporalNamespaceDivision', () => {
    expect(compileQuery('', CUSTOM, 'list')).toEqual<CompiledQuery>({ filter: DIVISION, groupByStatus: false });
    const named = compileQuery("TemporalNamespaceDivision = 'TemporalScheduler'", CUSTOM, 'list');
    expect(named.filter).toEqual({ kind: 'compare', target: { attribute: 'TemporalNamespaceDivision' }, operator: '=', value: 'TemporalScheduler' });
  });

  it('groups by ExecutionStatus for count only', () => {
    expect(compileQuery('GROUP BY ExecutionStatus', CUSTOM, 'count')).toEqual<CompiledQuery>({ filter: DIVISION, groupByStatus: true });
    expect(rejected('GROUP BY ExecutionStatus')).toBe("invalid query: operation is not supported: 'GROUP BY' clause is only supported by count");
    expect(rejected('GROUP BY WorkflowType', 'count')).toBe(
      "invalid query: operation is not supported: 'GROUP BY' clause is not supported for search attribute WorkflowType",
    );
    expect(rejected('GROUP BY ExecutionStatus, WorkflowType', 'count')).toContain("'GROUP BY' clause supports only a single field");
  });

  it.each([
    ["Colour = 'red'", "invalid expression: column name 'Colour' is not a valid search attribute (at position 1)"],
    ['Color = 1', 'invalid value for search attribute Color of type Keyword: 1'],
    ["Count = '1'", "invalid value for search attribute Count of type Int: '1'"],
    ["Vip = 'yes'", "invalid value for search attribute Vip of type Bool: 'yes'"],
    ["Due > 'yesterday'", "unable to parse datetime 'yesterday'"],
    ["Due > '2024-13-01T00:00:00Z'", "unable to parse datetime '2024-13-01T00:00:00Z'"],
    ['Due > 1.5', 'invalid value for search attribute Due of type Datetime: 1.5'],
    ["ExecutionStatus = 'running'", "invalid ExecutionStatus value 'running'"],
    ['ExecutionStatus = 42', 'invalid ExecutionStatus value 42'],
    ["ExecutionStatus STARTS_WITH 'Run'", "operator 'STARTS_WITH' not supported for Keyword type search attribute 'ExecutionStatus'"],
    ["ExecutionDuration > 'forever'", "invalid duration value for search attribute ExecutionDuration: 'forever'"],
    ["Amount STARTS_WITH '1'", "operator 'STARTS_WITH' not supported for Double type search attribute 'Amount'"],
    ["Tags > 'x'", "operator '>' not supported for KeywordList type search attribute 'Tags'"],
    ["Tags STARTS_WITH 'x'", "operator 'STARTS_WITH' not supported for KeywordList type search attribute 'Tags'"],
    ["Tags BETWEEN 'a' AND 'b'", "cannot do range condition on search attribute 'Tags' of type KeywordList"],
    ["Notes IN ('a')", "operator 'IN' not supported for Text type search attribute 'Notes'"],
    ["Notes = '...'", "unexpected value for Text type search attribute 'Notes' (no words found)"],
    ['Vip BETWEEN true AND false', "cannot do range condition on search attribute 'Vip' of type Bool"],
    ['ORDER BY StartTime', "operation is not supported: 'ORDER BY' clause"],
    ['ORDER BY Nope', "column name 'Nope' is not a valid search attribute"],
  ])('rejects %j', (query, message) => {
    expect(rejected(query)).toContain(message);
    expect(rejected(query)).toMatch(/^invalid query: /);
  });
});

describe('parseDurationMs', () => {
  it("reads nanoseconds, Go durations (with days) and hh:mm:ss like Temporal's ParseExecutionDurationStr", () => {
    expect(parseDurationMs('1500000')).toBe(1.5);
    expect(parseDurationMs('300ms')).toBe(300);
    expect(parseDurationMs('1h30m')).toBe(5_400_000);
    expect(parseDurationMs('-1.5h')).toBe(-5_400_000);
    expect(parseDurationMs('2d')).toBe(172_800_000);
    expect(parseDurationMs('10us')).toBe(0.01);
    expect(parseDurationMs('01:02:03')).toBe(3_723_000);
    expect(parseDurationMs('1x')).toBeNull();
    expect(parseDurationMs('')).toBeNull();
  });
});
