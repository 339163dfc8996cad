// The SQLite store and the in-memory evaluator must agree on every query: random rows are written to a
// real store once, then random well-typed queries (generated as syntax trees, printed, compiled) are run
// both ways, paging through the store with random page sizes. Counts, per-status counts and list order
// are checked too.

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../persistence/sqlite/sqlite-store.js';
import type { ExecutionListing, ExecutionSummary, TransitionWrite } from '../../persistence/store.js';
import type { SearchAttributeValue, VisibilityCursor } from '../../persistence/visibility.js';
import { NO_VISIBILITY_EXTRAS } from '../../persistence/store-conformance-visibility.js';
import { printQuery, type AttributeName, type ComparisonOp, type Expression, type Literal } from './ast.js';
import { compileQuery } from './compile.js';
import { matches } from './evaluate.js';

const NS = 'ns';
const KEYWORDS = ['a', 'ab', 'b', 'B', 'é', 'Ab', '', 'zz', 'a%', 'a_b'];
const WORDS = ['alpha', 'beta', 'Gamma', 'delta'];
const TIMES = [1_000, 2_000, 3_000, 4_000];
/** Custom Datetime values keep sub-millisecond digits. */
const CUSTOM_TIMES = [...TIMES, 2_000.5];
const DURATIONS = [0, 500, 1_000, 2_500];
const STATUSES = ['Running', 'Completed', 'Failed', 'Canceled', 'Terminated', 'ContinuedAsNew', 'TimedOut'];

type Kind = 'keyword' | 'int' | 'double' | 'bool' | 'datetime' | 'list' | 'text' | 'status' | 'duration';
const ATTRIBUTES: ReadonlyArray<readonly [string, Kind]> = [
  ['WorkflowId', 'keyword'],
  ['WorkflowType', 'keyword'],
  ['ExecutionStatus', 'status'],
  ['StartTime', 'datetime'],
  ['CloseTime', 'datetime'],
  ['HistoryLength', 'int'],
  ['ExecutionDuration', 'duration'],
  ['ParentWorkflowId', 'keyword'],
  ['TemporalNamespaceDivision', 'keyword'],
  ['Kw', 'keyword'],
  ['I', 'int'],
  ['D', 'double'],
  ['B', 'bool'],
  ['Dt', 'datetime'],
  ['KL', 'list'],
  ['Txt', 'text'],
];
const CUSTOM = new Map([['Kw', 'Keyword'], ['I', 'Int'], ['D', 'Double'], ['B', 'Bool'], ['Dt', 'Datetime'], ['KL', 'KeywordList'], ['Txt', 'Text']] as const);

// ---- rows ----------------------------------------------------------------------------------------

const maybe = <T>(arbitrary: fc.Arbitrary<T>, freq = 7): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: freq, arbitrary }, { weight: 10 - freq, arbitrary: fc.constant(undefined) });

const rowArbitrary = fc.record({
  type: fc.constantFrom(...KEYWORDS),
  status: fc.integer({ min: 1, max: 7 }),
  start: fc.constantFrom(...TIMES),
  close: fc.constantFrom(...TIMES.map((t) => t + 10_000)),
  historyLength: fc.integer({ min: 0, max: 12 }),
  duration: fc.constantFrom(...DURATIONS),
  parent: maybe(fc.constantFrom(...KEYWORDS), 3),
  values: fc.record({
    Kw: maybe(fc.constantFrom(...KEYWORDS)),
    I: maybe(fc.integer({ min: -3, max: 12 })),
    D: maybe(fc.constantFrom(-2.5, 0, 1.5, 3, 7.25)),
    B: maybe(fc.boolean()),
    Dt: maybe(fc.constantFrom(...CUSTOM_TIMES)),
    KL: maybe(fc.uniqueArray(fc.constantFrom(...KEYWORDS), { minLength: 1, maxLength: 3 })),
    Txt: maybe(fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 3 }).map((words) => words.join(', '))),
    TemporalNamespaceDivision: maybe(fc.constant('TemporalScheduler'), 1),
  }),
});

type Row = ReturnType<typeof sampleRows>[number];

function listing(index: number, row: Row): ExecutionListing {
  const closed = row.status !== 1;
  const values: Record<string, SearchAttributeValue> = {};
  for (const [name, value] of Object.entries(row.values)) if (value !== undefined) values[name] = value;
  const summary: ExecutionSummary = {
    workflowType: row.type,
    taskQueue: 'q',
    status: row.status,
    startTimeMs: row.start,
    executionTimeMs: row.start,
    closeTimeMs: closed ? row.close : null,
    historyLength: row.historyLength,
    ...NO_VISIBILITY_EXTRAS,
    executionDurationMs: closed ? row.duration : null,
    parentWorkflowId: row.parent ?? null,
    searchAttributeValues: Object.keys(values).length > 0 ? values : null,
  };
  return { key: { namespaceId: NS, workflowId: `${KEYWORDS[index % KEYWORDS.length]}-${index}`, runId: `run-${String(index).padStart(4, '0')}` }, summary };
}

function sampleRows(count: number) {
  return fc.sample(rowArbitrary, { numRuns: count, seed: 20_240_601 });
}

// ---- queries -------------------------------------------------------------------------------------

const at = (name: string): AttributeName => ({ name, position: 0 });
const str = (value: string): Literal => ({ kind: 'string', value, position: 0 });
const num = (value: number | string): Literal => ({ kind: 'number', text: String(value), position: 0 });

function literalsFor(kind: Kind): fc.Arbitrary<Literal> {
  switch (kind) {
    case 'keyword':
    case 'list':
      return fc.constantFrom(...KEYWORDS).map(str);
    case 'int':
      return fc.integer({ min: -4, max: 13 }).map(num);
    case 'double':
      return fc.constantFrom(-2.5, 0, 1, 1.5, 3, 7.25, 8).map(num);
    case 'bool':
      return fc.boolean().map((value) => ({ kind: 'bool' as const, value, position: 0 }));
    case 'datetime':
      return fc.oneof(
        fc.constantFrom(...TIMES, ...TIMES.map((t) => t + 10_000), 0, 99_999).map((ms) => str(new Date(ms).toISOString())),
        fc.constantFrom('1970-01-01T00:00:02.0005Z', '1970-01-01T01:00:02.0005+01:00').map(str),
        fc.constantFrom(...CUSTOM_TIMES).map((ms) => num(BigInt(Math.round(ms * 1e6)).toString())),
      );
    case 'text':
      return fc.constantFrom(...WORDS, 'ALPHA beta', 'omega', 'gamma-delta').map(str);
    case 'status':
      return fc.constantFrom(...STATUSES).map(str);
    case 'duration':
      return fc.oneof(fc.constantFrom(...DURATIONS, 700).map((ms) => num(ms * 1_000_000)), fc.constantFrom('500ms', '1s', '2.5s').map(str));
  }
}

function predicates(name: string, kind: Kind): fc.Arbitrary<Expression> {
  const attribute = at(name);
  const value = literalsFor(kind);
  const equality = fc.constantFrom<ComparisonOp>('=', '!=');
  const ordered = fc.constantFrom<ComparisonOp>('=', '!=', '<', '<=', '>', '>=');
  const isNull = fc.record({ kind: fc.constant('isNull' as const), attribute: fc.constant(attribute), negated: fc.boolean() });
  const compare = (operators: fc.Arbitrary<ComparisonOp>) =>
    fc.record({ kind: fc.constant('compare' as const), attribute: fc.constant(attribute), operator: operators, value });
  const inList = fc.record({ kind: fc.constant('in' as const), attribute: fc.constant(attribute), negated: fc.boolean(), values: fc.array(value, { minLength: 1, maxLength: 3 }) });
  const between = fc.record({ kind: fc.constant('between' as const), attribute: fc.constant(attribute), negated: fc.boolean(), low: value, high: value });
  switch (kind) {
    case 'keyword': {
      const startsWith = fc.record({ kind: fc.constant('startsWith' as const), attribute: fc.constant(attribute), negated: fc.boolean(), value });
      return fc.oneof(compare(ordered), inList, between, startsWith, isNull);
    }
    case 'bool':
      return fc.oneof(compare(equality), inList, isNull);
    case 'list':
      return fc.oneof(compare(equality), inList, isNull);
    case 'text':
      return fc.oneof(compare(equality), isNull);
    default:
      return fc.oneof(compare(ordered), inList, between, isNull);
  }
}

const expressions: fc.Arbitrary<Expression> = fc.letrec<{ expression: Expression }>((tie) => ({
  expression: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(...ATTRIBUTES).chain(([name, kind]) => predicates(name, kind)),
    fc.record({ kind: fc.constantFrom('and' as const, 'or' as const), left: tie('expression'), right: tie('expression') }),
    fc.record({ kind: fc.constant('not' as const), operand: tie('expression') }),
  ),
})).expression;

// ---- the property --------------------------------------------------------------------------------

function listOrder(a: ExecutionListing, b: ExecutionListing): number {
  const close = (run: ExecutionListing): number => run.summary.closeTimeMs ?? Number.POSITIVE_INFINITY;
  return close(b) - close(a) || b.summary.startTimeMs - a.summary.startTimeMs || Buffer.compare(Buffer.from(a.key.runId), Buffer.from(b.key.runId));
}

describe('SQL visibility agrees with the reference evaluator', () => {
  const rows = sampleRows(600).map((row, index) => listing(index, row));
  let store: SqliteStore;

  beforeAll(async () => {
    store = SqliteStore.open({ filename: ':memory:' });
    const writes: TransitionWrite[] = rows.map(({ key, summary }) => ({
      executions: [{ key, expectedVersion: 0, newVersion: 1, state: new Uint8Array([0]), summary, needsDispatch: false, events: [] }],
      timersToAdd: [],
      timersToDelete: [],
    }));
    expect((await store.commitBatch(writes)).every((result) => result === null)).toBe(true);
  });
  afterAll(async () => store.close());

  it('lists, pages and counts exactly the runs the evaluator selects, in list order', async () => {
    // How many queries selected some but not all runs: the property means little if they select none.
    let discriminating = 0;
    await fc.assert(
      fc.asyncProperty(fc.option(expressions, { nil: null }), fc.integer({ min: 5, max: 80 }), async (where, pageSize) => {
        const text = printQuery({ where, groupBy: [], orderBy: [] });
        const { filter } = compileQuery(text, CUSTOM, 'list');
        const expected = rows.filter((run) => matches(filter, run)).sort(listOrder).map((run) => run.key.runId);
        const listed: string[] = [];
        let after: VisibilityCursor | null = null;
        do {
          const page = await store.listExecutions({ namespaceId: NS, filter, pageSize, after });
          listed.push(...page.executions.map((run) => run.key.runId));
          after = page.next;
        } while (after !== null && listed.length <= rows.length);
        expect(listed, text).toEqual(expected);
        if (expected.length > 0 && expected.length < rows.length) discriminating++;

        const grouped = compileQuery(`${text} GROUP BY ExecutionStatus`, CUSTOM, 'count');
        const counted = await store.countExecutions({ namespaceId: NS, filter: grouped.filter, groupByStatus: true });
        expect(counted.count, text).toBe(expected.length);
        const byStatus = new Map<number, number>();
        for (const run of rows) if (matches(filter, run)) byStatus.set(run.summary.status, (byStatus.get(run.summary.status) ?? 0) + 1);
        expect(counted.groups, text).toEqual([...byStatus].sort(([a], [b]) => a - b).map(([status, count]) => ({ status, count })));
      }),
      { numRuns: 400 },
    );
    expect(discriminating).toBeGreaterThan(200);
  });
});
