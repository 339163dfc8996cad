// The visibility part of the Store conformance suite (run from store-conformance.ts): what list and count
// return for a VisibilityFilter (semantics in persistence/visibility.ts), keyset paging, and the search
// attribute registry.

import { describe, expect, it } from 'vitest';
import { ConditionFailedError } from './errors.js';
import type { ExecutionKey, ExecutionSummary, Store, TransitionWrite } from './store.js';
import type { VisibilityFilter } from './visibility.js';

const RUNNING = 1;
const COMPLETED = 2;
const FAILED = 3;
const NS = 'ns-vis';

/** The visibility fields of a summary, empty. */
export const NO_VISIBILITY_EXTRAS = {
  historySizeBytes: 0,
  stateTransitionCount: 0,
  executionDurationMs: null,
  parentWorkflowId: null,
  parentRunId: null,
  rootWorkflowId: null,
  rootRunId: null,
  memo: null,
  searchAttributes: null,
  searchAttributeValues: null,
} as const satisfies Partial<ExecutionSummary>;

function summary(overrides: Partial<ExecutionSummary>): ExecutionSummary {
  const base = { workflowType: 'Order', taskQueue: 'orders', status: RUNNING, startTimeMs: 1_000, executionTimeMs: 1_000 };
  return { ...base, closeTimeMs: null, historyLength: 2, ...NO_VISIBILITY_EXTRAS, ...overrides };
}

function runKey(workflowId: string, namespaceId = NS): ExecutionKey {
  return { namespaceId, workflowId, runId: `${workflowId}-run` };
}

/** Writes a run (version 1) or rewrites it (version `version`), with the summary given. */
function save(key: ExecutionKey, fields: Partial<ExecutionSummary>, version = 0): TransitionWrite {
  const write = { key, expectedVersion: version, newVersion: version + 1, state: new Uint8Array([1]), summary: summary(fields), needsDispatch: false };
  return { executions: [{ ...write, events: [] }], timersToAdd: [], timersToDelete: [] };
}

const attr = (attribute: string) => ({ attribute });
const col = <C extends 'workflowId' | 'status' | 'closeTime' | 'startTime' | 'historyLength'>(column: C) => ({ column });

export function runVisibilityConformance(open: () => Promise<Store>, reopen?: (closed: Store) => Promise<Store>): void {
  describe('visibility', () => {
    const ids = async (store: Store, filter: VisibilityFilter | null, namespaceId = NS): Promise<string[]> =>
      (await store.listExecutions({ namespaceId, filter, pageSize: 100, after: null })).executions.map((r) => r.key.workflowId).sort();

    it('returns every visibility field as written, and as rewritten', async () => {
      const store = await open();
      const key = runKey('full');
      const fields: Partial<ExecutionSummary> = {
        historySizeBytes: 1234,
        stateTransitionCount: 7,
        parentWorkflowId: 'parent',
        parentRunId: 'parent-run',
        rootWorkflowId: 'root',
        rootRunId: 'root-run',
        memo: new Uint8Array([1, 2, 3]),
        searchAttributes: new Uint8Array([4, 5]),
        searchAttributeValues: { Color: 'red', Tags: ['a', 'b'], Amount: 12.5, Vip: true, Due: 1_700_000_000_000.5 },
      };
      await store.commit(save(key, fields));
      const [listed] = (await store.listExecutions({ namespaceId: NS, filter: null, pageSize: 10, after: null })).executions;
      expect(listed).toEqual({ key, summary: { ...summary(fields), memo: expect.any(Uint8Array), searchAttributes: expect.any(Uint8Array) } });
      expect([...(listed?.summary.memo ?? [])]).toEqual([1, 2, 3]);
      expect([...(listed?.summary.searchAttributes ?? [])]).toEqual([4, 5]);
      const closed = { status: COMPLETED, closeTimeMs: 5_000, executionDurationMs: 4_000, searchAttributeValues: null, memo: null };
      await store.commit(save(key, closed, 1));
      const [after] = (await store.listExecutions({ namespaceId: NS, filter: null, pageSize: 10, after: null })).executions;
      expect(after?.summary).toEqual(summary(closed));
    });

    it('pages with cursors: no run twice, none skipped, ties by run id, nothing after the last page', async () => {
      const store = await open();
      const starts = [5, 3, 3, 3, 9, 1, 7];
      for (const [i, startTimeMs] of starts.entries()) {
        const closeTimeMs = i % 2 === 0 ? null : 10_000 + i;
        await store.commit(save(runKey(`wf-${i}`), { startTimeMs, closeTimeMs, status: closeTimeMs === null ? RUNNING : COMPLETED }));
      }
      const everything = await store.listExecutions({ namespaceId: NS, filter: null, pageSize: 100, after: null });
      expect(everything.executions.map((r) => r.key.workflowId)).toEqual(['wf-4', 'wf-6', 'wf-0', 'wf-2', 'wf-5', 'wf-3', 'wf-1']);
      const paged: string[] = [];
      let after = null;
      for (let page = 0; page < 10; page++) {
        const result = await store.listExecutions({ namespaceId: NS, filter: null, pageSize: 3, after });
        paged.push(...result.executions.map((r) => r.key.workflowId));
        // A run that starts later sorts before the cursor: later pages must not return it.
        if (page === 0) await store.commit(save(runKey('late'), { startTimeMs: 50 }));
        if (result.next === null) break;
        after = result.next;
      }
      expect(paged).toEqual(everything.executions.map((r) => r.key.workflowId));
      const exact = await store.listExecutions({ namespaceId: NS, filter: null, pageSize: 8, after: null });
      expect(exact.next).toBeNull();
    });

    it('filters with SQL three-valued logic over columns and search attributes', async () => {
      const store = await open();
      const runs: Array<[string, Partial<ExecutionSummary>]> = [
        ['a', { searchAttributeValues: { Color: 'red', Tags: ['x', 'y'], Amount: 10, Vip: true, Notes: 'Rush order, fragile' } }],
        ['b', { searchAttributeValues: { Color: 'Redwood', Tags: ['y'], Amount: 2.5, Vip: false }, status: COMPLETED, closeTimeMs: 9_000 }],
        ['c', { searchAttributeValues: { Amount: 30, Notes: 'slow' }, status: FAILED, closeTimeMs: 8_000, historyLength: 40 }],
        ['d', {}],
      ];
      for (const [id, fields] of runs) await store.commit(save(runKey(id), fields));
      await store.commit(save(runKey('a', 'ns-other'), { searchAttributeValues: { Color: 'red' } }));
      const not = (operand: VisibilityFilter): VisibilityFilter => ({ kind: 'not', operand });
      const red: VisibilityFilter = { kind: 'compare', target: attr('Color'), operator: '=', value: 'red' };
      expect(await ids(store, red)).toEqual(['a']);
      expect(await ids(store, not(red))).toEqual(['b']); // c and d have no Color: UNKNOWN, not TRUE
      expect(await ids(store, { kind: 'or', operands: [red, { kind: 'isNull', target: attr('Color'), negated: false }] })).toEqual(['a', 'c', 'd']);
      expect(await ids(store, { kind: 'startsWith', target: attr('Color'), negated: false, prefix: 'Red' })).toEqual(['b']);
      expect(await ids(store, { kind: 'startsWith', target: attr('Color'), negated: true, prefix: 'Red' })).toEqual(['a']);
      expect(await ids(store, { kind: 'compare', target: attr('Amount'), operator: '>', value: 5 })).toEqual(['a', 'c']);
      expect(await ids(store, { kind: 'between', target: attr('Amount'), negated: false, low: 2.5, high: 10 })).toEqual(['a', 'b']);
      expect(await ids(store, { kind: 'in', target: attr('Amount'), negated: true, values: [10, 30] })).toEqual(['b']);
      expect(await ids(store, { kind: 'compare', target: attr('Vip'), operator: '=', value: 1 })).toEqual(['a']);
      expect(await ids(store, { kind: 'listContains', attribute: 'Tags', negated: false, values: ['x', 'z'] })).toEqual(['a']);
      expect(await ids(store, { kind: 'listContains', attribute: 'Tags', negated: true, values: ['x'] })).toEqual(['b', 'c', 'd']);
      expect(await ids(store, { kind: 'textMatch', attribute: 'Notes', negated: false, tokens: ['rush', 'slow'] })).toEqual(['a', 'c']);
      expect(await ids(store, { kind: 'textMatch', attribute: 'Notes', negated: true, tokens: ['fragile'] })).toEqual(['b', 'c', 'd']);
      expect(await ids(store, { kind: 'isNull', target: col('closeTime'), negated: true })).toEqual(['b', 'c']);
      expect(await ids(store, { kind: 'in', target: col('status'), negated: false, values: [COMPLETED, FAILED] })).toEqual(['b', 'c']);
      expect(await ids(store, { kind: 'compare', target: col('closeTime'), operator: '<', value: 8_500 })).toEqual(['c']);
      expect(await ids(store, { kind: 'compare', target: col('workflowId'), operator: '>=', value: 'b' })).toEqual(['b', 'c', 'd']);
      const both: VisibilityFilter = { kind: 'and', operands: [{ kind: 'compare', target: col('historyLength'), operator: '<', value: 10 }, not(red)] };
      expect(await ids(store, both)).toEqual(['b']);
      expect(await ids(store, red, 'ns-other')).toEqual(['a']);
    });

    it('counts, in total and per status', async () => {
      const store = await open();
      const statuses = [RUNNING, COMPLETED, RUNNING, FAILED, COMPLETED, RUNNING];
      for (const [i, status] of statuses.entries()) {
        await store.commit(save(runKey(`c-${i}`), { status, searchAttributeValues: i < 3 ? { Batch: 'first' } : null }));
      }
      await store.commit(save(runKey('x', 'ns-other'), {}));
      expect(await store.countExecutions({ namespaceId: NS, filter: null, groupByStatus: false })).toEqual({ count: 6, groups: [] });
      const grouped = await store.countExecutions({ namespaceId: NS, filter: null, groupByStatus: true });
      expect(grouped).toEqual({ count: 6, groups: [{ status: RUNNING, count: 3 }, { status: COMPLETED, count: 2 }, { status: FAILED, count: 1 }] });
      const first: VisibilityFilter = { kind: 'compare', target: attr('Batch'), operator: '=', value: 'first' };
      const firstGrouped = await store.countExecutions({ namespaceId: NS, filter: first, groupByStatus: true });
      expect(firstGrouped).toEqual({ count: 3, groups: [{ status: RUNNING, count: 2 }, { status: COMPLETED, count: 1 }] });
      expect(await store.countExecutions({ namespaceId: 'nobody', filter: null, groupByStatus: true })).toEqual({ count: 0, groups: [] });
    });

    it('registers search attributes per namespace, all or none, and removes them', async () => {
      const store = await open();
      await store.addSearchAttributes(NS, [{ name: 'Color', type: 'Keyword' }, { name: 'Amount', type: 'Double' }]);
      await store.addSearchAttributes('ns-other', [{ name: 'Color', type: 'Int' }]);
      await store.addSearchAttributes(NS, [{ name: 'Color', type: 'Keyword' }]);
      const conflict = store.addSearchAttributes(NS, [{ name: 'Tags', type: 'KeywordList' }, { name: 'Amount', type: 'Int' }]);
      await expect(conflict).rejects.toBeInstanceOf(ConditionFailedError);
      await expect(conflict).rejects.toMatchObject({ expected: 'Int', found: 'Double' });
      expect(await store.listSearchAttributes(NS)).toEqual([{ name: 'Amount', type: 'Double' }, { name: 'Color', type: 'Keyword' }]);
      expect(await store.listSearchAttributes('ns-other')).toEqual([{ name: 'Color', type: 'Int' }]);
      expect(await store.removeSearchAttributes(NS, ['Color', 'Nope'])).toEqual(['Color']);
      expect(await store.listSearchAttributes(NS)).toEqual([{ name: 'Amount', type: 'Double' }]);
      expect(await store.listSearchAttributes('ns-other')).toEqual([{ name: 'Color', type: 'Int' }]);
      expect(await store.listSearchAttributes('nobody')).toEqual([]);
    });

    it.skipIf(!reopen)('keeps registered search attributes and visibility fields across reopen', async () => {
      if (!reopen) return;
      const store = await open();
      await store.addSearchAttributes(NS, [{ name: 'Color', type: 'Keyword' }]);
      await store.commit(save(runKey('kept'), { searchAttributeValues: { Color: 'red' }, stateTransitionCount: 3 }));
      const before = await store.listExecutions({ namespaceId: NS, filter: null, pageSize: 10, after: null });
      await store.close();
      const reopened = await reopen(store);
      expect(await reopened.listSearchAttributes(NS)).toEqual([{ name: 'Color', type: 'Keyword' }]);
      expect(await reopened.listExecutions({ namespaceId: NS, filter: null, pageSize: 10, after: null })).toEqual(before);
    });
  });
}
