// The PostgreSQL visibility SQL must agree with the reference evaluator (visibility/query/evaluate.ts) on
// every filter, as the SQLite SQL does (visibility/query/sql-agreement.property.test.ts). PostgreSQL is
// statically typed where SQLite is not, so this test generates filters directly, not through the query
// compiler, to reach what the compiler never writes but the contract still defines: attributes holding
// numbers, strings, booleans and lists under one name, compared with literals of either type.

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matches } from '../../visibility/query/evaluate.js';
import type { ExecutionListing, TransitionWrite } from '../store.js';
import { NO_VISIBILITY_EXTRAS } from '../store-conformance-visibility.js';
import type { ComparisonOperator, FilterScalar, FilterTarget, SearchAttributeValue, VisibilityCursor, VisibilityFilter } from '../visibility.js';
import { PostgresStore } from './postgres-store.js';
import { startTestPostgres, type TestPostgres } from './test-postgres.js';

const NS = 'ns';
const STRINGS = ['a', 'ab', 'B', 'é', '', 'zz', 'a%', '1', 'alpha beta', 'Gamma, delta'];
const NUMBERS = [-2.5, 0, 1, 3, 7.25, 10_001];
const mixed: fc.Arbitrary<SearchAttributeValue> = fc.oneof(
  fc.constantFrom(...STRINGS),
  fc.constantFrom(...NUMBERS),
  fc.boolean(),
  fc.uniqueArray(fc.constantFrom(...STRINGS), { maxLength: 3 }),
);
const literal: fc.Arbitrary<FilterScalar> = fc.oneof(fc.constantFrom(...STRINGS), fc.constantFrom(...NUMBERS, 10_003.5));

const rowArbitrary = fc.record({
  status: fc.integer({ min: 1, max: 3 }),
  start: fc.constantFrom(1, 2, 3),
  parent: fc.option(fc.constantFrom(...STRINGS), { nil: null }),
  values: fc.dictionary(fc.constantFrom('A', 'B', 'TemporalNamespaceDivision'), mixed, { maxKeys: 3 }),
});

type RowInput = typeof rowArbitrary extends fc.Arbitrary<infer T> ? T : never;

function listing(index: number, row: RowInput): ExecutionListing {
  const closed = row.status !== 1;
  return {
    key: { namespaceId: NS, workflowId: `${STRINGS[index % STRINGS.length]}-${index}`, runId: `run-${String(index).padStart(4, '0')}` },
    summary: {
      workflowType: 'T', taskQueue: 'q', status: row.status, startTimeMs: row.start, executionTimeMs: row.start,
      closeTimeMs: closed ? 10_000 + (index % 4) : null, historyLength: index % 5, ...NO_VISIBILITY_EXTRAS,
      parentWorkflowId: row.parent, searchAttributeValues: Object.keys(row.values).length > 0 ? row.values : null,
    },
  };
}

const target: fc.Arbitrary<FilterTarget> = fc.constantFrom<FilterTarget>(
  { attribute: 'A' }, { attribute: 'B' }, { attribute: 'Missing' }, { attribute: 'TemporalNamespaceDivision' },
  { column: 'workflowId' }, { column: 'parentWorkflowId' }, { column: 'closeTime' }, { column: 'status' },
);
const operator = fc.constantFrom<ComparisonOperator>('=', '!=', '<', '<=', '>', '>=');
const attribute = fc.constantFrom('A', 'B', 'Missing');

const leaf: fc.Arbitrary<VisibilityFilter> = fc.oneof(
  fc.record({ kind: fc.constant('compare' as const), target, operator, value: literal }),
  fc.record({ kind: fc.constant('in' as const), target, negated: fc.boolean(), values: fc.array(literal, { minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('between' as const), target, negated: fc.boolean(), low: literal, high: literal }),
  fc.record({ kind: fc.constant('startsWith' as const), target, negated: fc.boolean(), prefix: fc.constantFrom('a', 'é', '', '1', '-', '[', 'G') }),
  fc.record({ kind: fc.constant('isNull' as const), target, negated: fc.boolean() }),
  fc.record({ kind: fc.constant('listContains' as const), attribute, negated: fc.boolean(), values: fc.array(fc.constantFrom(...STRINGS), { minLength: 1, maxLength: 2 }) }),
  fc.record({ kind: fc.constant('textMatch' as const), attribute, negated: fc.boolean(), tokens: fc.array(fc.constantFrom('alpha', 'gamma', 'delta', 'a', 'é'), { maxLength: 2 }) }),
);

const filters: fc.Arbitrary<VisibilityFilter> = fc.letrec<{ filter: VisibilityFilter }>((tie) => ({
  filter: fc.oneof(
    { depthSize: 'small' },
    leaf,
    fc.record({ kind: fc.constantFrom('and' as const, 'or' as const), operands: fc.array(tie('filter'), { maxLength: 3 }) }),
    fc.record({ kind: fc.constant('not' as const), operand: tie('filter') }),
  ),
})).filter;

function listOrder(a: ExecutionListing, b: ExecutionListing): number {
  const close = (run: ExecutionListing): number => run.summary.closeTimeMs ?? Number.POSITIVE_INFINITY;
  return close(b) - close(a) || b.summary.startTimeMs - a.summary.startTimeMs || Buffer.compare(Buffer.from(a.key.runId), Buffer.from(b.key.runId));
}

describe('PostgreSQL visibility agrees with the reference evaluator', () => {
  const rows = fc.sample(rowArbitrary, { numRuns: 300, seed: 20_251_121 }).map((row, index) => listing(index, row));
  let server: TestPostgres | undefined;
  let store: PostgresStore | undefined;

  beforeAll(async () => {
    server = await startTestPostgres();
    store = await PostgresStore.open({ url: await server.createDatabase('kairos_agreement') });
    const writes: TransitionWrite[] = rows.map(({ key, summary }) => ({
      executions: [{ key, expectedVersion: 0, newVersion: 1, state: new Uint8Array([0]), summary, needsDispatch: false, events: [] }],
      timersToAdd: [],
      timersToDelete: [],
    }));
    expect((await store.commitBatch(writes)).every((result) => result === null)).toBe(true);
  }, 120_000);
  afterAll(async () => {
    await store?.close();
    await server?.stop();
  }, 60_000);

  it('lists, pages and counts exactly the runs the evaluator selects, in list order', async () => {
    const opened = store;
    if (!opened) throw new Error('no store');
    let discriminating = 0;
    await fc.assert(
      fc.asyncProperty(filters, fc.integer({ min: 20, max: 120 }), async (filter, pageSize) => {
        const label = JSON.stringify(filter);
        const expected = rows.filter((run) => matches(filter, run)).sort(listOrder).map((run) => run.key.runId);
        const listed: string[] = [];
        let after: VisibilityCursor | null = null;
        do {
          const page = await opened.listExecutions({ namespaceId: NS, filter, pageSize, after });
          listed.push(...page.executions.map((run) => run.key.runId));
          after = page.next;
        } while (after !== null && listed.length <= rows.length);
        expect(listed, label).toEqual(expected);
        if (expected.length > 0 && expected.length < rows.length) discriminating++;
        const counted = await opened.countExecutions({ namespaceId: NS, filter, groupByStatus: true });
        expect(counted.count, label).toBe(expected.length);
      }),
      { numRuns: 200 },
    );
    expect(discriminating).toBeGreaterThan(60);
  });
});
