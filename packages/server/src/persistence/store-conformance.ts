// The behaviour every Store backend must have, written once. A backend's test file calls
// runStoreConformance with a factory that opens a fresh, empty store, and (when the backend keeps data
// across connections, as every real one does) a `reopen` that opens the same database again.

import { afterEach, describe, expect, it } from 'vitest';
import { ConditionFailedError, PersistenceError } from './errors.js';
import type { ExecutionKey, NamespaceRow, ScheduleRow, Store, TransitionWrite } from './store.js';
import { NO_VISIBILITY_EXTRAS, runVisibilityConformance } from './store-conformance-visibility.js';
import { RUNNING, COMPLETED, EVERYTHING, bytes, texts, key, write, transition, timer, start, snapshot, expectConflict, outcomes } from './store-conformance-support.js';

export interface StoreConformanceOptions {
  /** Closes nothing itself: receives a closed store and opens its database again. */
  readonly reopen?: (closed: Store) => Promise<Store>;
}

export function runStoreConformance(
  name: string,
  makeStore: () => Promise<Store>,
  options: StoreConformanceOptions = {},
): void {
  describe(`Store conformance: ${name}`, () => {
    const opened: Store[] = [];
    const open = async (): Promise<Store> => {
      const store = await makeStore();
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    });

    describe('commit', () => {
      it('inserts a new run with its events, current row and timers', async () => {
        const store = await open();
        const k = key('wf');
        await store.commit({ ...start(k, { needsDispatch: true }), timersToAdd: [timer('t1', 500, k)] });
        const row = await store.getExecution(k);
        expect(row && [row.key, texts([row.state]), row.version]).toEqual([k, ['wf-run v1'], 1]);
        expect(texts(await store.readEvents(k, 1, 3, 10))).toEqual(['wf-run e1', 'wf-run e2']);
        const current = { namespaceId: 'ns-1', workflowId: 'wf', runId: 'wf-run', status: RUNNING };
        expect(await store.getCurrentRun('ns-1', 'wf')).toEqual(current);
        expect((await store.listTimerTasks(500, 10)).map((t) => t.taskId)).toEqual(['t1']);
        expect(await store.getExecution(key('wf', 'other-run'))).toBeNull();
      });

      it('refuses to insert a run that exists, reporting its version, and writes nothing', async () => {
        const store = await open();
        const k = key('wf');
        await store.commit(start(k));
        const before = await snapshot(store, k);
        const again = transition([write(k, 0, { events: [3], summary: { status: COMPLETED } })], [timer('t1', 1, k)]);
        await expectConflict(store.commit(again), { expected: 0, found: 1 });
        expect(await snapshot(store, k)).toEqual(before);
      });

      it('updates a run whose version matches', async () => {
        const store = await open();
        const k = key('wf');
        await store.commit({ ...start(k), timersToAdd: [timer('t1', 100, k)] });
        await store.commit(transition([write(k, 1, { events: [3, 4], state: 'updated' })], [timer('t2', 200, k)], ['t1']));
        const row = await store.getExecution(k);
        expect(row && [texts([row.state]), row.version]).toEqual([['updated'], 2]);
        expect(texts(await store.readEvents(k, 1, 5, 10))).toEqual(['wf-run e1', 'wf-run e2', 'wf-run e3', 'wf-run e4']);
        expect((await store.listTimerTasks(EVERYTHING, 10)).map((t) => t.taskId)).toEqual(['t2']);
      });

      it('refuses a stale update with expected and found versions, and writes nothing of it', async () => {
        const store = await open();
        const k = key('wf');
        await store.commit({ ...start(k, { needsDispatch: true }), timersToAdd: [timer('t1', 100, k)] });
        // Two writers read version 1; the first wins.
        await store.commit(transition([write(k, 1, { events: [3], needsDispatch: true })]));
        const before = await snapshot(store, k);
        const loser = write(k, 1, { events: [3, 4], summary: { status: COMPLETED, closeTimeMs: 9_000 } });
        await expectConflict(store.commit(transition([loser], [timer('t9', 50, k)], ['t1'])), { expected: 1, found: 2 });
        expect(await snapshot(store, k)).toEqual(before);
      });

      it('reads a run with the memo and search attributes of its listing columns, which its state leaves to them', async () => {
        const store = await open();
        const k = key('wf');
        const plain = (row: { memo: Uint8Array | null; searchAttributes: Uint8Array | null } | null | undefined) =>
          row && [row.memo && texts([row.memo])[0], row.searchAttributes && texts([row.searchAttributes])[0]];
        await store.commit(start(k, { needsDispatch: true, summary: { memo: bytes('memo 1'), searchAttributes: bytes('attributes 1') } }));
        expect(plain(await store.getExecution(k))).toEqual(['memo 1', 'attributes 1']);
        expect((await store.listExecutionsNeedingDispatch()).map(plain)).toEqual([['memo 1', 'attributes 1']]);
        await store.commit(transition([write(k, 1, { needsDispatch: true, summary: { memo: null, searchAttributes: bytes('attributes 2') } })]));
        expect(plain(await store.getExecution(k))).toEqual([null, 'attributes 2']);
        // A write that leaves the listing alone leaves them as they were.
        await store.commit(transition([{ ...write(k, 2, { needsDispatch: true, summary: { searchAttributes: bytes('attributes 2') } }), listingUnchanged: true }]));
        expect(plain(await store.getExecution(k))).toEqual([null, 'attributes 2']);
        expect((await store.listExecutionsNeedingDispatch()).map(plain)).toEqual([[null, 'attributes 2']]);
      });

      it('listingUnchanged: writes the state, version, needsDispatch and counters, and keeps the version check', async () => {
        const store = await open();
        const k = key('wf');
        await store.commit(start(k, { summary: { historySizeBytes: 10, stateTransitionCount: 1 } }));
        const counters = { historySizeBytes: 30, stateTransitionCount: 2 };
        const quiet = { ...write(k, 1, { events: [3], needsDispatch: true, state: 'quiet', summary: counters }), listingUnchanged: true };
        await store.commit(transition([quiet]));
        const row = await store.getExecution(k);
        expect(row && [texts([row.state]), row.version]).toEqual([['quiet'], 2]);
        expect((await store.listExecutionsNeedingDispatch()).map((r) => r.key)).toEqual([k]);
        const listed = await store.listExecutions({ namespaceId: 'ns-1', filter: null, pageSize: 10, after: null });
        expect(listed.executions.map((e) => e.summary)).toEqual([{ ...quiet.summary }]);
        expect(await store.getCurrentRun(k.namespaceId, k.workflowId)).toMatchObject({ runId: k.runId, status: RUNNING });
        // The version condition holds as for a full write: a stale one is refused and writes nothing.
        const before = await snapshot(store, k);
        await expectConflict(store.commit(transition([{ ...write(k, 1, { events: [4] }), listingUnchanged: true }])), { expected: 1, found: 2 });
        expect(await snapshot(store, k)).toEqual(before);
      });

      it('refuses an update of a run that does not exist', async () => {
        const store = await open();
        await expectConflict(store.commit(transition([write(key('ghost'), 3)])), { expected: 3, found: null });
        expect(await store.getExecution(key('ghost'))).toBeNull();
      });

      it('rolls back every execution of a transition when a later one conflicts', async () => {
        const store = await open();
        const parent = key('parent');
        const child = key('child');
        await store.commit(start(parent));
        await store.commit(start(child));
        const before = await snapshot(store, parent, child);
        const startChildAgain = write(child, 0, { events: [1], setCurrent: { expectedCurrentRunId: null } });
        const both = transition([write(parent, 1, { events: [3] }), startChildAgain], [timer('t', 1, parent)]);
        await expectConflict(store.commit(both));
        expect(await snapshot(store, parent, child)).toEqual(before);
        // The same as a batch of one: the write's own failure is its result, and nothing of it is kept.
        const [failed] = await store.commitBatch([both]);
        expect(failed).toBeInstanceOf(ConditionFailedError);
        expect(await snapshot(store, parent, child)).toEqual(before);
        // The store goes on: the next transition commits.
        await store.commit(transition([write(parent, 1, { events: [3] })]));
        expect((await store.getExecution(parent))?.version).toBe(2);
      });

      it('treats an event id that is already stored as a conflict and writes nothing', async () => {
        const store = await open();
        const k = key('wf');
        await store.commit(start(k));
        const before = await snapshot(store, k);
        await expectConflict(store.commit(transition([write(k, 1, { events: [2, 3] })], [timer('t', 1, k)])));
        expect(await snapshot(store, k)).toEqual(before);
      });
    });

    describe('commitBatch', () => {
      it('commits independent transitions together, each with its events, current row and timers', async () => {
        const store = await open();
        const [a, b, c] = [key('a'), key('b'), key('c', 'c-run', 'ns-2')];
        const results = await store.commitBatch([
          { ...start(a, { needsDispatch: true }), timersToAdd: [timer('ta', 100, a)] },
          start(b),
          { ...start(c), timersToAdd: [timer('tc', 50, c)] },
        ]);
        expect(outcomes(results)).toEqual(['ok', 'ok', 'ok']);
        for (const k of [a, b, c]) {
          expect((await store.getExecution(k))?.version).toBe(1);
          expect(texts(await store.readEvents(k, 1, EVERYTHING, 10))).toEqual([`${k.runId} e1`, `${k.runId} e2`]);
          expect(await store.getCurrentRun(k.namespaceId, k.workflowId)).toMatchObject({ runId: k.runId });
        }
        expect((await store.listTimerTasks(EVERYTHING, 10)).map((t) => t.taskId)).toEqual(['tc', 'ta']);
        expect((await store.listExecutionsNeedingDispatch()).map((r) => r.key)).toEqual([a]);
      });

      it('applies writes in input order: a later write sees the earlier ones of its batch', async () => {
        const store = await open();
        const k = key('wf');
        const results = await store.commitBatch([
          { ...start(k), timersToAdd: [timer('t1', 100, k)] },
          transition([write(k, 1, { events: [3] })], [timer('t2', 200, k)], ['t1']),
          transition([write(k, 2, { events: [4], state: 'last' })]),
          // Read version 2 like the previous write did: loses to it.
          transition([write(k, 2, { events: [4] })]),
        ]);
        expect(outcomes(results)).toEqual(['ok', 'ok', 'ok', 'conflict 2/3']);
        const row = await store.getExecution(k);
        expect(row && [texts([row.state]), row.version]).toEqual([['last'], 3]);
        expect(texts(await store.readEvents(k, 1, EVERYTHING, 10))).toEqual(['wf-run e1', 'wf-run e2', 'wf-run e3', 'wf-run e4']);
        expect((await store.listTimerTasks(EVERYTHING, 10)).map((t) => t.taskId)).toEqual(['t2']);
      });

      it('leaves no trace of a write that fails its conditions and commits the others', async () => {
        // The same history on two stores; the batch with a stale write must end exactly like the batch without it.
        const [a, b, c] = [key('a'), key('b'), key('c')];
        const setUp = async (): Promise<Store> => {
          const store = await open();
          await store.commit({ ...start(b, { needsDispatch: true }), timersToAdd: [timer('t1', 100, b)] });
          await store.commit(transition([write(b, 1, { events: [3], needsDispatch: true })]));
          return store;
        };
        const before = await setUp();
        const beforeB = await snapshot(before, b);
        const stale = transition(
          [write(b, 1, { events: [3, 4], summary: { status: COMPLETED, closeTimeMs: 9_000 } })],
          [timer('t9', 50, b)],
          ['t1'],
        );
        const others = [{ ...start(a), timersToAdd: [timer('ta', 10, a)] }, transition([write(b, 2, { events: [4] })]), start(c)];
        const [first, ...rest] = others;
        if (!first) throw new Error('unreachable');
        const withStale = await before.commitBatch([first, stale, ...rest]);
        expect(outcomes(withStale)).toEqual(['ok', 'conflict 1/2', 'ok', 'ok']);

        const reference = await setUp();
        expect(outcomes(await reference.commitBatch(others))).toEqual(['ok', 'ok', 'ok']);
        expect(await snapshot(before, a, b, c)).toEqual(await snapshot(reference, a, b, c));
        expect(await snapshot(before, b)).not.toEqual(beforeB);
      });

      it('rolls back every part of a failing multi-execution write, even parts that were applied', async () => {
        const store = await open();
        const [parent, child, elsewhere] = [key('parent'), key('child'), key('other', 'other-run', 'ns-2')];
        await store.commit(start(parent));
        const before = await snapshot(store, parent, child);
        const startChild = write(child, 0, { events: [1], setCurrent: { expectedCurrentRunId: null } });
        const results = await store.commitBatch([
          start(elsewhere),
          // The parent's update and the first start of the child apply; the second start of the child fails.
          transition([write(parent, 1, { events: [3] }), startChild, startChild], [timer('t', 1, parent)]),
        ]);
        expect(outcomes(results)).toEqual(['ok', 'conflict 0/1']);
        expect(await snapshot(store, parent, child)).toEqual(before);
        expect((await store.getExecution(elsewhere))?.version).toBe(1);
      });

      it('reports each failure at its own index, in input order', async () => {
        const store = await open();
        const [a, b] = [key('a'), key('b')];
        await store.commit({ ...start(a), timersToAdd: [timer('t1', 100, a)] });
        const results = await store.commitBatch([
          transition([write(a, 1, { events: [3] })]),
          transition([write(key('ghost'), 4)]),
          start(b),
          transition([write(a, 2, { events: [4] })], [timer('t1', 60, a)]),
          start(key('b', 'b-second')),
          transition([write(a, 2, { events: [4] })]),
        ]);
        expect(outcomes(results)).toEqual(['ok', 'conflict 4/null', 'ok', 'persistence error', 'conflict null/b-run', 'ok']);
        expect(results.every((r) => r === null || r instanceof Error)).toBe(true);
        expect((await store.getExecution(a))?.version).toBe(3);
        expect((await store.getExecution(b))?.version).toBe(1);
      });

      it('resolves an empty batch with no results', async () => {
        const store = await open();
        expect(await store.commitBatch([])).toEqual([]);
      });
    });

    describe('signal request ids', () => {
      it('stores the ids a transition adds beside its run, keeps them when a later write fails, and deletes them with the run', async () => {
        const store = await open();
        const k = key('signalled');
        const other = key('other');
        await store.commit({ ...start(k), executions: [{ ...write(k, 0, { events: [1, 2], setCurrent: { expectedCurrentRunId: null } }), signalRequestIds: ['r1'] }] });
        await store.commit(start(other));
        await store.commit(transition([{ ...write(k, 1, { events: [3] }), signalRequestIds: ['r2', 'r3'] }]));
        // A write that fails its version check stores none of its ids.
        const [failed] = await store.commitBatch([transition([{ ...write(k, 1, { events: [4] }), signalRequestIds: ['r4'] }])]);
        expect(failed).toBeInstanceOf(ConditionFailedError);
        expect((await store.getSignalRequestIds(k)).sort()).toEqual(['r1', 'r2', 'r3']);
        expect(await store.getSignalRequestIds(other)).toEqual([]);
        await store.deleteExecution(k);
        expect(await store.getSignalRequestIds(k)).toEqual([]);
      });
    });

    describe('deleteExecution', () => {
      it('removes a run with its events, timers, listing and current row, and nothing else', async () => {
        const store = await open();
        const gone = key('gone');
        const kept = key('kept');
        await store.commit({ ...start(gone), timersToAdd: [timer('t-gone', 5, gone)] });
        await store.commit({ ...start(kept), timersToAdd: [timer('t-kept', 5, kept)] });
        const keptRun = async () => ((await snapshot(store, kept)) as { runs: unknown }).runs;
        const keptBefore = await keptRun();
        await store.deleteExecution(gone);
        expect(await store.getExecution(gone)).toBeNull();
        expect(await store.readEvents(gone, 1, EVERYTHING, 100)).toEqual([]);
        expect(await store.getCurrentRun(gone.namespaceId, gone.workflowId)).toBeNull();
        expect((await store.listTimerTasks(EVERYTHING, 100)).map((t) => t.taskId)).toEqual(['t-kept']);
        const listed = await store.listExecutions({ namespaceId: 'ns-1', filter: null, pageSize: 100, after: null });
        expect(JSON.stringify(listed)).not.toContain('gone');
        expect(await keptRun()).toEqual(keptBefore);
        // Deleting again, or a run that never existed, changes nothing.
        await store.deleteExecution(gone);
        await store.deleteExecution(key('never'));
        expect(await keptRun()).toEqual(keptBefore);
      });

      it('keeps the current row when it points at a newer run', async () => {
        const store = await open();
        const first = key('chain', 'run-1');
        const second = key('chain', 'run-2');
        await store.commit(start(first));
        await store.commit(transition([write(second, 0, { events: [1], setCurrent: { expectedCurrentRunId: 'run-1' } })]));
        await store.deleteExecution(first);
        expect((await store.getCurrentRun('ns-1', 'chain'))?.runId).toBe('run-2');
        expect(await store.getExecution(second)).not.toBeNull();
      });
    });

    describe('current run', () => {
      it('null: a current row must not exist; the new run is not written when one does', async () => {
        const store = await open();
        await store.commit(start(key('wf', 'a')));
        const before = await snapshot(store, key('wf', 'a'), key('wf', 'b'));
        await expectConflict(store.commit(start(key('wf', 'b'))), { expected: null, found: 'a' });
        expect(await snapshot(store, key('wf', 'a'), key('wf', 'b'))).toEqual(before);
      });

      it('a run id: the current row must point at it and is replaced', async () => {
        const store = await open();
        await store.commit(start(key('wf', 'a'), { summary: { status: COMPLETED } }));
        await store.commit(start(key('wf', 'b'), { setCurrent: { expectedCurrentRunId: 'a' } }));
        expect(await store.getCurrentRun('ns-1', 'wf')).toMatchObject({ runId: 'b', status: RUNNING });
        const replacing = (k: ExecutionKey): TransitionWrite => start(k, { setCurrent: { expectedCurrentRunId: 'a' } });
        await expectConflict(store.commit(replacing(key('wf', 'c'))), { expected: 'a', found: 'b' });
        expect(await store.getExecution(key('wf', 'c'))).toBeNull();
        await expectConflict(store.commit(replacing(key('new', 'x'))), { expected: 'a', found: null });
        expect(await store.getCurrentRun('ns-1', 'new')).toBeNull();
      });

      it('undefined: only the status follows, and only when the current row points at this run', async () => {
        const store = await open();
        await store.commit(start(key('wf', 'a')));
        await store.commit(transition([write(key('wf', 'old'), 0, { events: [1] })]));
        await store.commit(transition([write(key('wf', 'old'), 1, { summary: { status: COMPLETED } })]));
        expect(await store.getCurrentRun('ns-1', 'wf')).toMatchObject({ runId: 'a', status: RUNNING });
        await store.commit(transition([write(key('wf', 'a'), 1, { events: [3], summary: { status: COMPLETED } })]));
        expect(await store.getCurrentRun('ns-1', 'wf')).toMatchObject({ runId: 'a', status: COMPLETED });
        expect(await store.getCurrentRun('ns-2', 'wf')).toBeNull();
      });
    });

    describe('timer tasks', () => {
      it('lists due tasks (bound inclusive) by fire time, up to the limit, and deletes them with a transition', async () => {
        const store = await open();
        const k = key('wf');
        const timers = [timer('c', 300, k), timer('a', 100, k), timer('d', 400, k), timer('b', 200, k)];
        await store.commit({ ...start(k), timersToAdd: timers });
        const ids = async (until: number, limit: number): Promise<string[]> =>
          (await store.listTimerTasks(until, limit)).map((t) => t.taskId);
        expect(await ids(300, 10)).toEqual(['a', 'b', 'c']);
        expect(await ids(300, 2)).toEqual(['a', 'b']);
        expect(await ids(99, 10)).toEqual([]);
        const [first] = await store.listTimerTasks(100, 1);
        expect(first && { ...first, data: texts([first.data]) }).toEqual({
          taskId: 'a',
          fireAtMs: 100,
          key: k,
          data: ['timer a'],
        });
        // Deleting an id that is gone already is not an error: timers are at-least-once.
        await store.commit(transition([write(k, 1)], [timer('e', 50, k)], ['a', 'c', 'gone']));
        expect(await ids(EVERYTHING, 10)).toEqual(['e', 'b', 'd']);
      });

      it('continues after a keyset (fire time, task id), so a limit that cuts equal fire times skips and repeats nothing', async () => {
        const store = await open();
        const k = key('wf');
        // Ids out of insertion order; b, c, d and e share a fire time.
        const rows = [timer('d', 200, k), timer('a', 100, k), timer('c', 200, k), timer('e', 200, k), timer('b', 200, k), timer('f', 300, k)];
        await store.commit({ ...start(k), timersToAdd: rows });
        const page = async (until: number, limit: number, after?: { fireAtMs: number; taskId: string }): Promise<string[]> =>
          (await store.listTimerTasks(until, limit, undefined, after)).map((t) => t.taskId);
        expect(await page(EVERYTHING, 2)).toEqual(['a', 'b']);
        expect(await page(EVERYTHING, 2, { fireAtMs: 200, taskId: 'b' })).toEqual(['c', 'd']);
        expect(await page(EVERYTHING, 2, { fireAtMs: 200, taskId: 'd' })).toEqual(['e', 'f']);
        expect(await page(EVERYTHING, 2, { fireAtMs: 300, taskId: 'f' })).toEqual([]);
        // The bound still applies, inclusive; a key between stored ones starts after it.
        expect(await page(200, 10, { fireAtMs: 100, taskId: 'a' })).toEqual(['b', 'c', 'd', 'e']);
        expect(await page(300, 10, { fireAtMs: 200, taskId: 'cc' })).toEqual(['d', 'e', 'f']);
        // (t + 1, '') starts after every row due at t (every id is longer than '').
        expect(await page(EVERYTHING, 10, { fireAtMs: 201, taskId: '' })).toEqual(['f']);
        expect(await page(EVERYTHING, 10, { fireAtMs: 0, taskId: '' })).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
        const [first] = await store.listTimerTasks(EVERYTHING, 1, undefined, { fireAtMs: 100, taskId: 'a' });
        expect(first && { ...first, data: texts([first.data]) }).toEqual({ taskId: 'b', fireAtMs: 200, key: k, data: ['timer b'] });
      });

      it('rejects a transition that reuses a stored task id, and writes nothing of it', async () => {
        const store = await open();
        const k = key('wf');
        await store.commit({ ...start(k), timersToAdd: [timer('t1', 100, k)] });
        const before = await snapshot(store, k);
        const reuse = transition([write(k, 1, { events: [3] })], [timer('t2', 50, k), timer('t1', 60, k)]);
        await expect(store.commit(reuse)).rejects.toBeInstanceOf(PersistenceError);
        expect(await snapshot(store, k)).toEqual(before);
      });
    });

    describe('history events', () => {
      it('reads a range forwards and backwards with a limit, one run at a time', async () => {
        const store = await open();
        const k = key('wf', 'a');
        await store.commit(start(k));
        await store.commit(transition([write(k, 1, { events: [3, 4, 5] })]));
        await store.commit(start(key('wf', 'b'), { setCurrent: { expectedCurrentRunId: 'a' } }));
        const e = (...ids: number[]): string[] => ids.map((id) => `a e${id}`);
        expect(texts(await store.readEvents(k, 2, 5, 10))).toEqual(e(2, 3, 4));
        expect(texts(await store.readEvents(k, 1, 6, 2))).toEqual(e(1, 2));
        expect(texts(await store.readEvents(k, 6, 10, 10))).toEqual([]);
        expect(texts(await store.readEventsReverse(k, 6, 10))).toEqual(e(5, 4, 3, 2, 1));
        expect(texts(await store.readEventsReverse(k, 4, 2))).toEqual(e(3, 2));
        expect(await store.readEvents(key('none'), 1, 10, 10)).toEqual([]);
      });
    });

    it('lists the runs that need dispatch', async () => {
      const store = await open();
      await store.commit(start(key('a'), { needsDispatch: true }));
      await store.commit(start(key('b')));
      await store.commit(start(key('c', 'c-run', 'ns-2'), { needsDispatch: true }));
      const listed = async (): Promise<unknown[]> =>
        (await store.listExecutionsNeedingDispatch())
          .map((r) => [r.key, texts([r.state]), r.version])
          .sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
      expect(await listed()).toEqual([[key('a'), ['a-run v1'], 1], [key('c', 'c-run', 'ns-2'), ['c-run v1'], 1]]);
      await store.commit(transition([write(key('a'), 1, { needsDispatch: false })]));
      expect(await listed()).toEqual([[key('c', 'c-run', 'ns-2'), ['c-run v1'], 1]]);
    });

    it('lists executions open first by start time, then closed by close time, newest first', async () => {
      const store = await open();
      const runs: Array<[string, number, number | null]> = [
        ['open-old', 100, null],
        ['closed-mid', 50, 500],
        ['open-new', 300, null],
        ['closed-old', 200, 400],
        ['closed-new', 10, 900],
      ];
      for (const [id, startTimeMs, closeTimeMs] of runs) {
        const status = closeTimeMs === null ? RUNNING : COMPLETED;
        await store.commit(start(key(id), { summary: { startTimeMs, closeTimeMs, status } }));
      }
      await store.commit(start(key('elsewhere', 'x', 'ns-2')));
      const all = await store.listExecutions({ namespaceId: 'ns-1', filter: null, pageSize: 10, after: null });
      expect(all.executions.map((r) => r.key.workflowId)).toEqual(['open-new', 'open-old', 'closed-new', 'closed-mid', 'closed-old']);
      expect(all.next).toBeNull();
      const newest = all.executions[2];
      expect(newest).toEqual({
        key: key('closed-new'),
        summary: {
          workflowType: 'Greet',
          taskQueue: 'greetings',
          status: COMPLETED,
          startTimeMs: 10,
          executionTimeMs: 1_000,
          closeTimeMs: 900,
          historyLength: 2,
          ...NO_VISIBILITY_EXTRAS,
        },
      });
    });

    it('inserts and updates namespaces under a version check, with unique names', async () => {
      const store = await open();
      const ns = (id: string, name: string, version: number, data = `${name} v${version}`): NamespaceRow => ({
        id,
        name,
        data: bytes(data),
        version,
      });
      const listed = async (): Promise<unknown[]> =>
        (await store.listNamespaces())
          .map((n) => [n.id, n.name, texts([n.data])[0], n.version])
          .sort((x, y) => String(x[0]).localeCompare(String(y[0])));
      await store.upsertNamespace(ns('id-1', 'default', 1), 0);
      await store.upsertNamespace(ns('id-2', 'orders', 1), 0);
      await store.upsertNamespace(ns('id-1', 'default', 2), 1);
      await expectConflict(store.upsertNamespace(ns('id-1', 'default', 2, 'lost'), 1), { expected: 1, found: 2 });
      await expectConflict(store.upsertNamespace(ns('id-1', 'default', 1, 'lost'), 0), { expected: 0, found: 2 });
      await expectConflict(store.upsertNamespace(ns('id-3', 'orders', 1, 'lost'), 0));
      await expectConflict(store.upsertNamespace(ns('id-1', 'orders', 3, 'lost'), 2));
      await expectConflict(store.upsertNamespace(ns('id-9', 'ghost', 2, 'lost'), 1), { expected: 1, found: null });
      expect(await listed()).toEqual([['id-1', 'default', 'default v2', 2], ['id-2', 'orders', 'orders v1', 1]]);
      await store.upsertNamespace(ns('id-1', 'renamed', 3), 2);
      await store.upsertNamespace(ns('id-3', 'default', 1), 0);
      expect(await listed()).toEqual([
        ['id-1', 'renamed', 'renamed v3', 3],
        ['id-2', 'orders', 'orders v1', 1],
        ['id-3', 'default', 'default v1', 1],
      ]);
    });

    it('inserts, updates, pages and deletes schedules under a version check', async () => {
      const store = await open();
      const row = (namespaceId: string, scheduleId: string, version: number, data = `${scheduleId} v${version}`): ScheduleRow => ({
        namespaceId,
        scheduleId,
        data: bytes(data),
        version,
      });
      const ids = (rows: readonly ScheduleRow[]) => rows.map((r) => [r.namespaceId, r.scheduleId, texts([r.data])[0], r.version]);
      expect(await store.getSchedule('ns-1', 'daily')).toBeNull();
      await store.putSchedule(row('ns-1', 'daily', 1), 0);
      await store.putSchedule(row('ns-1', 'Hourly', 1), 0);
      await store.putSchedule(row('ns-1', 'b-weekly', 1), 0);
      await store.putSchedule(row('ns-2', 'daily', 1), 0);
      await expectConflict(store.putSchedule(row('ns-1', 'daily', 1, 'lost'), 0), { expected: 0, found: 1 });
      await store.putSchedule(row('ns-1', 'daily', 2), 1);
      await expectConflict(store.putSchedule(row('ns-1', 'daily', 3, 'lost'), 1), { expected: 1, found: 2 });
      await expectConflict(store.putSchedule(row('ns-1', 'ghost', 2, 'lost'), 1), { expected: 1, found: null });
      expect(ids([(await store.getSchedule('ns-1', 'daily'))!])).toEqual([['ns-1', 'daily', 'daily v2', 2]]);
      // Bytewise order: upper case before lower case.
      const first = await store.listSchedules('ns-1', null, 2);
      expect(ids(first)).toEqual([['ns-1', 'Hourly', 'Hourly v1', 1], ['ns-1', 'b-weekly', 'b-weekly v1', 1]]);
      expect(ids(await store.listSchedules('ns-1', 'b-weekly', 2))).toEqual([['ns-1', 'daily', 'daily v2', 2]]);
      expect((await store.listAllSchedules()).map((r) => `${r.namespaceId}/${r.scheduleId}`)).toEqual(['ns-1/Hourly', 'ns-1/b-weekly', 'ns-1/daily', 'ns-2/daily']);
      expect(await store.deleteSchedule('ns-1', 'daily')).toBe(true);
      expect(await store.deleteSchedule('ns-1', 'daily')).toBe(false);
      expect(await store.getSchedule('ns-1', 'daily')).toBeNull();
      expect(ids(await store.listSchedules('ns-2', null, 10))).toEqual([['ns-2', 'daily', 'daily v1', 1]]);
    });

    it('closes idempotently', async () => {
      const store = await open();
      await store.close();
      await store.close();
    });

    const { reopen } = options;
    const reopenTracked = reopen && (async (closed: Store): Promise<Store> => {
      const reopened = await reopen(closed);
      opened.push(reopened);
      return reopened;
    });
    runVisibilityConformance(open, reopenTracked);
    it.skipIf(!reopen)('keeps every committed write across close and reopen', async () => {
      if (!reopen) return;
      const store = await open();
      const k = key('wf');
      await store.commit({ ...start(k, { needsDispatch: true }), timersToAdd: [timer('t1', 100, k)] });
      await store.commit(transition([write(k, 1, { events: [3] })], [timer('t2', 200, k)]));
      await store.upsertNamespace({ id: 'id-1', name: 'default', data: bytes('ns'), version: 1 }, 0);
      const before = await snapshot(store, k);
      const namespaces = await store.listNamespaces();
      await store.close();
      const reopened = await reopen(store);
      opened.push(reopened);
      expect(await snapshot(reopened, k)).toEqual(before);
      expect(await reopened.listNamespaces()).toEqual(namespaces);
    });

    it.skipIf(!reopen)('keeps every write a batch committed, and none of the one that failed, across reopen', async () => {
      if (!reopen) return;
      const store = await open();
      const [a, b] = [key('a'), key('b')];
      const results = await store.commitBatch([
        { ...start(a), timersToAdd: [timer('ta', 100, a)] },
        transition([write(key('ghost'), 1, { events: [2] })], [timer('tg', 100, a)]),
        transition([write(a, 1, { events: [3] })]),
        start(b),
      ]);
      expect(outcomes(results)).toEqual(['ok', 'conflict 1/null', 'ok', 'ok']);
      const before = await snapshot(store, a, b, key('ghost'));
      await store.close();
      const reopened = await reopen(store);
      opened.push(reopened);
      expect(await snapshot(reopened, a, b, key('ghost'))).toEqual(before);
      expect((await reopened.getExecution(a))?.version).toBe(2);
      expect((await reopened.listTimerTasks(EVERYTHING, 10)).map((t) => t.taskId)).toEqual(['ta']);
    });
  });
}
