import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { migrate, migrations } from './migrations.js';
import { SqliteStore } from './sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'kairos-migrations-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('migration 2 (visibility)', () => {
  it('upgrades a version-1 file: existing runs are listed with what can be derived for them', async () => {
    const filename = join(dir, 'v1.db');
    const db = new Database(filename);
    migrate(db, filename, migrations.slice(0, 1));
    const insert = db.prepare(`INSERT INTO executions (namespace_id, workflow_id, run_id, state, version, needs_dispatch,
      workflow_type, task_queue, status, start_time_ms, execution_time_ms, close_time_ms, history_length)
      VALUES ('ns', ?, ?, x'00', 1, 0, 'T', 'q', ?, 1000, 1500, ?, 5)`);
    insert.run('open', 'run-open', 1, null);
    insert.run('closed', 'run-closed', 2, 4000);
    db.close();

    const store = SqliteStore.open({ filename });
    try {
      expect(store.settings().schemaVersion).toBe(migrations.length);
      const page = await store.listExecutions({ namespaceId: 'ns', filter: null, pageSize: 10, after: null });
      expect(page.executions.map(({ key, summary }) => [key.workflowId, summary.executionDurationMs, summary.rootWorkflowId, summary.rootRunId])).toEqual([
        ['open', null, 'open', 'run-open'],
        ['closed', 2500, 'closed', 'run-closed'],
      ]);
      expect(page.executions[0]?.summary).toMatchObject({ historySizeBytes: 0, stateTransitionCount: 0, memo: null, searchAttributeValues: null });
      expect(await store.listSearchAttributes('ns')).toEqual([]);
      const counted = await store.countExecutions({
        namespaceId: 'ns',
        filter: { kind: 'isNull', target: { attribute: 'TemporalNamespaceDivision' }, negated: false },
        groupByStatus: true,
      });
      expect(counted).toEqual({ count: 2, groups: [{ status: 1, count: 1 }, { status: 2, count: 1 }] });
    } finally {
      await store.close();
    }
  });

  it('reads the namespace division from its own column, the same value the JSON holds', async () => {
    const store = SqliteStore.open({ filename: ':memory:' });
    try {
      const summary = {
        workflowType: 'T', taskQueue: 'q', status: 1, startTimeMs: 1, executionTimeMs: 1, closeTimeMs: null, historyLength: 1,
        historySizeBytes: 0, stateTransitionCount: 0, executionDurationMs: null, parentWorkflowId: null, parentRunId: null,
        rootWorkflowId: null, rootRunId: null, memo: null, searchAttributes: null,
      };
      const write = (workflowId: string, values: Record<string, string | number> | null) => ({
        executions: [{ key: { namespaceId: 'ns', workflowId, runId: workflowId }, expectedVersion: 0, newVersion: 1, state: new Uint8Array([0]),
          summary: { ...summary, searchAttributeValues: values }, needsDispatch: false, events: [] }],
        timersToAdd: [],
        timersToDelete: [],
      });
      await store.commitBatch([write('plain', null), write('scheduler', { TemporalNamespaceDivision: 'TemporalScheduler' }), write('odd', { TemporalNamespaceDivision: 7 })]);
      const ids = async (negated: boolean) =>
        (await store.listExecutions({ namespaceId: 'ns', filter: { kind: 'isNull', target: { attribute: 'TemporalNamespaceDivision' }, negated }, pageSize: 10, after: null }))
          .executions.map((run) => run.key.workflowId).sort();
      expect(await ids(false)).toEqual(['plain']);
      expect(await ids(true)).toEqual(['odd', 'scheduler']);
    } finally {
      await store.close();
    }
  });
});

describe('migration 5 (integer run keys)', () => {
  it('upgrades a version-4 file: every run keeps its events, list entries and state, and new runs get new keys', async () => {
    const filename = join(dir, 'v4.db');
    const db = new Database(filename);
    migrate(db, filename, migrations.slice(0, 4));
    const insertRun = db.prepare(`INSERT INTO executions (namespace_id, workflow_id, run_id, state, version, needs_dispatch,
      workflow_type, task_queue, status, start_time_ms, execution_time_ms, close_time_ms, history_length, root_workflow_id, root_run_id,
      search_attribute_values)
      VALUES ('ns', ?, ?, ?, 3, ?, 'T', 'q', 1, ?, ?, NULL, 2, ?, ?, ?)`);
    const insertEvent = db.prepare(`INSERT INTO history_events (namespace_id, workflow_id, run_id, event_id, data) VALUES ('ns', ?, ?, ?, ?)`);
    for (const [index, workflowId] of ['a', 'b', 'c'].entries()) {
      const runId = `run-${workflowId}`;
      const division = workflowId === 'c' ? '{"TemporalNamespaceDivision":"TemporalScheduler"}' : null;
      insertRun.run(workflowId, runId, Buffer.from(`state-${workflowId}`), workflowId === 'b' ? 1 : 0, 1000 + index, 1000 + index, workflowId, runId, division);
      for (const eventId of [1, 2]) insertEvent.run(workflowId, runId, eventId, Buffer.from(`${workflowId}${eventId}`));
    }
    db.close();

    const store = SqliteStore.open({ filename });
    try {
      expect(store.settings().schemaVersion).toBe(migrations.length);
      const key = (workflowId: string) => ({ namespaceId: 'ns', workflowId, runId: `run-${workflowId}` });
      for (const workflowId of ['a', 'b', 'c']) {
        const events = await store.readEvents(key(workflowId), 1, 10, 10);
        expect(events.map((e) => Buffer.from(e).toString())).toEqual([`${workflowId}1`, `${workflowId}2`]);
        expect(await store.readEventsReverse(key(workflowId), 3, 1)).toHaveLength(1);
        const row = await store.getExecution(key(workflowId));
        expect(Buffer.from(row!.state).toString()).toBe(`state-${workflowId}`);
        expect(row!.version).toBe(3);
      }
      expect((await store.listExecutionsNeedingDispatch()).map((row) => row.key.workflowId)).toEqual(['b']);
      const listed = await store.listExecutions({ namespaceId: 'ns', filter: null, pageSize: 10, after: null });
      expect(listed.executions.map((run) => run.key.workflowId)).toEqual(['c', 'b', 'a']);

      // Deleting a run deletes its events; a run started afterwards never sees them.
      await store.deleteExecution(key('c'));
      expect(await store.readEvents(key('c'), 1, 10, 10)).toEqual([]);
      const summary = {
        workflowType: 'T', taskQueue: 'q', status: 1, startTimeMs: 1, executionTimeMs: 1, closeTimeMs: null, historyLength: 1,
        historySizeBytes: 0, stateTransitionCount: 0, executionDurationMs: null, parentWorkflowId: null, parentRunId: null,
        rootWorkflowId: null, rootRunId: null, memo: null, searchAttributes: null, searchAttributeValues: null,
      };
      await store.commit({
        executions: [{ key: key('d'), expectedVersion: 0, newVersion: 1, state: new Uint8Array([0]), summary, needsDispatch: false,
          events: [{ eventId: 1, data: Buffer.from('d1') }] }],
        timersToAdd: [],
        timersToDelete: [],
      });
      expect((await store.readEvents(key('d'), 1, 10, 10)).map((e) => Buffer.from(e).toString())).toEqual(['d1']);
    } finally {
      await store.close();
    }
    const check = new Database(filename, { readonly: true });
    try {
      const keys = check.prepare('SELECT workflow_id, run_key FROM executions ORDER BY run_key').raw().all();
      // The deleted run's key (3) is not handed out again.
      expect(keys).toEqual([['a', 1], ['b', 2], ['d', 4]]);
      const tables = check.prepare("SELECT name FROM sqlite_schema WHERE name LIKE '%_v4'").pluck().all();
      expect(tables).toEqual([]);
    } finally {
      check.close();
    }
  });
});

describe('migration 7 (timer tasks keyed by run)', () => {
  it('upgrades a version-6 file: pending timers keep their ids, times, runs and data, in fire order', async () => {
    const filename = join(dir, 'v6.db');
    const db = new Database(filename);
    migrate(db, filename, migrations.slice(0, 6));
    insertRuns(db, ['a', 'b']);
    const insert = db.prepare(`INSERT INTO timer_tasks (task_id, fire_at_ms, namespace_id, workflow_id, run_id, data)
      VALUES (?, ?, 'ns', ?, ?, ?)`);
    insert.run('t-late', 300, 'a', 'run-a', Buffer.from('late'));
    insert.run('t-early', 100, 'b', 'run-b', Buffer.from('early'));
    insert.run('t-mid', 200, 'a', 'run-a', Buffer.from('mid'));
    db.close();

    const store = SqliteStore.open({ filename });
    try {
      expect(store.settings().schemaVersion).toBe(migrations.length);
      const key = (workflowId: string) => ({ namespaceId: 'ns', workflowId, runId: `run-${workflowId}` });
      const listed = async () =>
        (await store.listTimerTasks(1_000, 10)).map((row) => [row.taskId, row.fireAtMs, row.key.workflowId, Buffer.from(row.data).toString()]);
      expect(await listed()).toEqual([
        ['t-early', 100, 'b', 'early'],
        ['t-mid', 200, 'a', 'mid'],
        ['t-late', 300, 'a', 'late'],
      ]);
      // A timer written before the upgrade is deleted by its run and id, like a new one.
      await store.commit({ executions: [], timersToAdd: [], timersToDelete: [{ key: key('a'), taskId: 't-mid' }] });
      expect((await listed()).map(([taskId]) => taskId)).toEqual(['t-early', 't-late']);
      await store.deleteExecution(key('a'));
      expect((await listed()).map(([taskId]) => taskId)).toEqual(['t-early']);
    } finally {
      await store.close();
    }
    // Two b-trees: the table (its key is the primary key, no rowid and no automatic index) and the fire-time index.
    expect(timerSchema(filename).names).toEqual(['timer_tasks', 'timer_tasks_by_fire_time']);
  });
});

/** The timer table's b-trees and columns in a closed file. */
function timerSchema(filename: string): { names: unknown[]; columns: unknown[] } {
  const check = new Database(filename, { readonly: true });
  try {
    return {
      names: check.prepare("SELECT name FROM sqlite_schema WHERE tbl_name LIKE 'timer_tasks%' ORDER BY name").pluck().all(),
      columns: check.prepare("SELECT name FROM pragma_table_info('timer_tasks') ORDER BY cid").pluck().all(),
    };
  } finally {
    check.close();
  }
}

/** Version-5-and-later run rows with nothing but what a test of timers needs. */
function insertRuns(db: Database.Database, workflowIds: readonly string[]): void {
  const insert = db.prepare(`INSERT INTO executions (namespace_id, workflow_id, run_id, state, version, needs_dispatch,
    workflow_type, task_queue, status, start_time_ms, execution_time_ms, history_length)
    VALUES ('ns', ?, ?, x'00', 1, 0, 'T', 'q', 1, 1000, 1000, 1)`);
  for (const workflowId of workflowIds) insert.run(workflowId, `run-${workflowId}`);
}

describe("migration 8 (timer tasks keyed by the run's integer key)", () => {
  it('upgrades a version-7 file: timers keep their ids, times, runs and data; a timer of a run that is gone is dropped', async () => {
    const filename = join(dir, 'v7.db');
    const db = new Database(filename);
    migrate(db, filename, migrations.slice(0, 7));
    insertRuns(db, ['a', 'b', 'c']);
    const insert = db.prepare(`INSERT INTO timer_tasks (namespace_id, workflow_id, run_id, task_id, fire_at_ms, data)
      VALUES ('ns', ?, ?, ?, ?, ?)`);
    insert.run('c', 'run-c', 't-c', 250, Buffer.from('c'));
    insert.run('a', 'run-a', 't-late', 300, Buffer.from('late'));
    insert.run('b', 'run-b', 't-early', 100, Buffer.from('early'));
    insert.run('gone', 'run-gone', 't-orphan', 150, Buffer.from('orphan'));
    insert.run('a', 'run-a', 't-mid', 200, Buffer.from('mid'));
    db.close();

    const store = SqliteStore.open({ filename });
    try {
      expect(store.settings().schemaVersion).toBe(migrations.length);
      const key = (workflowId: string) => ({ namespaceId: 'ns', workflowId, runId: `run-${workflowId}` });
      const listed = async (after?: { fireAtMs: number; taskId: string }) =>
        (await store.listTimerTasks(1_000, 10, undefined, after)).map((row) => [row.taskId, row.fireAtMs, row.key.workflowId, row.key.runId, Buffer.from(row.data).toString()]);
      expect(await listed()).toEqual([
        ['t-early', 100, 'b', 'run-b', 'early'],
        ['t-mid', 200, 'a', 'run-a', 'mid'],
        ['t-c', 250, 'c', 'run-c', 'c'],
        ['t-late', 300, 'a', 'run-a', 'late'],
      ]);
      expect((await listed({ fireAtMs: 200, taskId: 't-mid' })).map(([taskId]) => taskId)).toEqual(['t-c', 't-late']);
      // Deleted by run and id, in a transition that writes the run or one that does not.
      await store.commit({ executions: [], timersToAdd: [], timersToDelete: [{ key: key('a'), taskId: 't-mid' }, { key: key('gone'), taskId: 't-orphan' }] });
      expect((await listed()).map(([taskId]) => taskId)).toEqual(['t-early', 't-c', 't-late']);
      await store.deleteExecution(key('a'));
      expect((await listed()).map(([taskId]) => taskId)).toEqual(['t-early', 't-c']);
      // A timer for a run that is not stored is refused, and its transition with it.
      const orphan = { taskId: 't-new', fireAtMs: 50, key: key('gone'), data: new Uint8Array([1]) };
      await expect(store.commit({ executions: [], timersToAdd: [orphan], timersToDelete: [{ key: key('c'), taskId: 't-c' }] })).rejects.toThrow(
        /timer task t-new: run ns\/gone\/run-gone is not stored/,
      );
      expect((await listed()).map(([taskId]) => taskId)).toEqual(['t-early', 't-c']);
    } finally {
      await store.close();
    }
    expect(timerSchema(filename)).toEqual({ names: ['timer_tasks', 'timer_tasks_by_fire_time'], columns: ['run_key', 'task_id', 'fire_at_ms', 'data'] });
  });
});
