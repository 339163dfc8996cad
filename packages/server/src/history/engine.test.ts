// The engine over a real (in-memory SQLite) store: what it writes for a run it no longer caches.
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../clock.js';
import { createLogger } from '../logger.js';
import type { ExecutionKey, ExecutionWrite } from '../persistence/store.js';
import { SqliteStore } from '../persistence/sqlite/sqlite-store.js';
import { EventType, WorkflowExecutionStatus as Status } from '../proto-types.js';
import { ExecutionEngine } from './engine.js';
import { newRunState } from './mutable-state.js';
import { runFields } from './test-support/builders.js';
import { Transition, type Dispatch } from './transition.js';
import { Matching } from '../matching/matching.js';
import { scheduleWorkflowTask } from './machines/workflow-task.js';

const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

/** An engine caching one run, and every execution write it hands the store. */
function engineOverSqlite(): { engine: ExecutionEngine; writes: ExecutionWrite[]; store: SqliteStore } {
  const store = SqliteStore.open({ filename: ':memory:' });
  stores.push(store);
  const writes: ExecutionWrite[] = [];
  const commitBatch = store.commitBatch.bind(store);
  store.commitBatch = (batch) => {
    for (const write of batch) writes.push(...write.executions);
    return commitBatch(batch);
  };
  const engine = new ExecutionEngine(store, systemClock, createLogger({ level: 'never', format: 'json' }), 1);
  return { engine, writes, store };
}

async function startRun(engine: ExecutionEngine, workflowId: string): Promise<ExecutionKey> {
  const state = newRunState(runFields({ workflowId, runId: `run-${workflowId}` }));
  const t = new Transition(state, 1_000);
  t.addEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, 'workflowExecutionStartedEventAttributes', { workflowType: { name: 'Greet' } });
  await engine.commitTransitions([{ t, expectedVersion: 0, setCurrent: { expectedCurrentRunId: null } }]);
  return { namespaceId: state.namespaceId, workflowId, runId: state.runId };
}

describe('ExecutionEngine over SQLite', () => {
  it('a run read back from the store (not cached) is compared with its stored listing: unchanged, only state and counters are written', async () => {
    const { engine, writes, store } = engineOverSqlite();
    const a = await startRun(engine, 'a');
    await startRun(engine, 'b'); // the cache holds one run: 'a' is evicted
    await engine.update(a, (state, nowMs) => {
      const t = new Transition(state!, nowMs);
      t.addEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, 'workflowExecutionSignaledEventAttributes', { signalName: 's' });
      return { transition: t, value: null };
    });
    expect(writes.at(-1)).toMatchObject({ key: a, listingUnchanged: true, summary: { historyLength: 2, status: Status.WORKFLOW_EXECUTION_STATUS_RUNNING } });

    await startRun(engine, 'c'); // evicts 'a' again
    await engine.update(a, (state, nowMs) => {
      const t = new Transition(state!, nowMs);
      t.addEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, 'workflowExecutionCompletedEventAttributes', {});
      t.state.status = Status.WORKFLOW_EXECUTION_STATUS_COMPLETED;
      t.state.closeTimeMs = nowMs;
      return { transition: t, value: null };
    });
    expect(writes.at(-1)!.listingUnchanged).toBeUndefined();
    const page = await store.listExecutions({ namespaceId: a.namespaceId, filter: null, pageSize: 10, after: null });
    const listed = page.executions.find((e) => e.key.workflowId === 'a');
    expect(listed?.summary).toMatchObject({ status: Status.WORKFLOW_EXECUTION_STATUS_COMPLETED, historyLength: 3 });
    expect((await store.getCurrentRun(a.namespaceId, 'a'))?.status).toBe(Status.WORKFLOW_EXECUTION_STATUS_COMPLETED);
  });

  it('keeps a memory-only timer out of the store: the timer queue holds it, and deleting it writes nothing', async () => {
    const { engine, store } = engineOverSqlite();
    const held: string[] = [];
    const removed: string[] = [];
    engine.timerSink = { add: () => undefined, hold: (rows) => held.push(...rows.map((r) => r.taskId)), remove: (ids) => removed.push(...ids) };
    const a = await startRun(engine, 'a');
    let memoryId = '';
    let storedId = '';
    await engine.update(a, (state, nowMs) => {
      const t = new Transition(state!, nowMs);
      t.addEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, 'workflowExecutionSignaledEventAttributes', { signalName: 's' });
      memoryId = t.addTimer(nowMs + 10_000, { kind: 'stickyScheduleToStartTimeout', scheduledEventId: 2, attempt: 1 }, true);
      storedId = t.addTimer(nowMs + 10_000, { kind: 'workflowTaskTimeout', scheduledEventId: 2, attempt: 1 });
      return { transition: t, value: null };
    });
    expect(held).toEqual([memoryId]);
    expect((await store.listTimerTasks(Number.MAX_SAFE_INTEGER, 10)).map((r) => r.taskId)).toEqual([storedId]);

    const commit = store.commit.bind(store);
    const direct: string[][] = [];
    store.commit = (write) => {
      direct.push(write.timersToDelete.map((r) => r.taskId));
      return commit(write);
    };
    await engine.deleteTimerRows(a, [memoryId]);
    expect(direct).toEqual([]);
    await engine.update(a, (state, nowMs) => {
      const t = new Transition(state!, nowMs);
      t.deleteTimer(memoryId);
      t.deleteTimer(storedId);
      return { transition: t, value: null };
    });
    expect(removed).toEqual([memoryId, storedId]);
    expect(await store.listTimerTasks(Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
  });

  it('serves the events it committed from memory, and the store what it did not write', async () => {
    const { engine, store } = engineOverSqlite();
    const reads: number[][] = [];
    const readEvents = store.readEvents.bind(store);
    store.readEvents = (key, first, next, limit) => {
      reads.push([first, next]);
      return readEvents(key, first, next, limit);
    };
    const a = await startRun(engine, 'a');
    await engine.update(a, (state, nowMs) => {
      const t = new Transition(state!, nowMs);
      t.addEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, 'workflowExecutionSignaledEventAttributes', { signalName: 's' });
      return { transition: t, value: null };
    });
    const fromMemory = await engine.readEncodedEvents(a, 1, 3);
    expect(reads).toEqual([]);
    expect(fromMemory).toEqual(await readEvents(a, 1, 3, 10));
    expect((await engine.readEvents(a, 2, 3)).map((e) => e.eventType)).toEqual([EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED]);
    expect(reads).toEqual([]);
    // Beyond what was committed here, or after the run was evicted: the store answers.
    await engine.readEncodedEvents(a, 1, 4);
    engine.evict(a);
    expect(await engine.readEncodedEvents(a, 1, 3)).toEqual(fromMemory);
    expect(reads).toEqual([[1, 4], [1, 3]]);
  });

  it("gives a handler the loaded state's original on demand: a fresh copy, untouched by the handler's changes", async () => {
    const { engine } = engineOverSqlite();
    const a = await startRun(engine, 'a');
    const copies = await engine.update(a, (state, _nowMs, _ids, original) => {
      state!.signalCount = 7;
      const first = original();
      const second = original();
      return { transition: null, value: { first, second } };
    });
    expect(copies.first.signalCount).toBe(0);
    expect(copies.first).toEqual(copies.second);
    expect(copies.first).not.toBe(copies.second);
    expect(copies.first.runId).toBe(a.runId);
  });

  it('wakes a waiter with the state as committed, and with nothing on timeout or abort', async () => {
    const { engine } = engineOverSqlite();
    const a = await startRun(engine, 'a');
    const changed = engine.waitForChange(a, 10_000, new AbortController().signal);
    await engine.update(a, (state, nowMs) => {
      const t = new Transition(state!, nowMs);
      t.addEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, 'workflowExecutionSignaledEventAttributes', { signalName: 's' });
      return { transition: t, value: null };
    });
    expect((await changed)?.nextEventId).toBe(3);
    expect(await engine.waitForChange(a, 5, new AbortController().signal)).toBeUndefined();
    const abort = new AbortController();
    const aborted = engine.waitForChange(a, 10_000, abort.signal);
    abort.abort();
    expect(await aborted).toBeUndefined();
  });

  describe('a workflow task scheduled while a poll waits for it', () => {
    const never = new AbortController().signal;
    const scheduleTask = (state: Parameters<Parameters<ExecutionEngine['update']>[1]>[0], nowMs: number) => {
      const t = new Transition(state!, nowMs);
      t.addEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, 'workflowExecutionSignaledEventAttributes', { signalName: 's' });
      scheduleWorkflowTask(t, 1);
      return { transition: t, value: null };
    };

    function wired(): ReturnType<typeof engineOverSqlite> & { matching: Matching; dispatched: Dispatch[] } {
      const parts = engineOverSqlite();
      const matching = new Matching(systemClock);
      const dispatched: Dispatch[] = [];
      parts.engine.reserveWorkflowPoll = (ns, queue) => matching.reserveWorkflowPoll(ns, queue);
      parts.engine.dispatchSink = { dispatch: (_key, d) => dispatched.push(d) };
      return { ...parts, matching, dispatched };
    }

    it('is started for that poll in the same commit, and never dispatched', async () => {
      const { engine, writes, matching, dispatched } = wired();
      const a = await startRun(engine, 'a');
      const poll = matching.pollWorkflowTaskQueue(a.namespaceId, 'q', 60_000, never, 'worker-1');
      const before = writes.length;
      await engine.update(a, scheduleTask);
      expect(writes.length - before).toBe(1);
      const entry = await poll;
      if (entry?.kind !== 'started') throw new Error(`expected a started task, got ${entry?.kind}`);
      expect(entry.state.workflowTask).toMatchObject({ scheduledEventId: 3, startedEventId: 4, identity: 'worker-1' });
      expect(dispatched).toEqual([]);
      const events = await engine.readEvents(a, 1, 5);
      expect(events.map((e) => e.eventType)).toEqual([
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
      ]);
      expect(Number(events[3]!.workflowTaskStartedEventAttributes?.scheduledEventId)).toBe(3);
      expect(events[3]!.workflowTaskStartedEventAttributes?.identity).toBe('worker-1');
      expect(writes.at(-1)!.needsDispatch).toBe(false);
    });

    it('is dispatched when no poll waits on its queue', async () => {
      const { engine, matching, dispatched } = wired();
      const a = await startRun(engine, 'a');
      const elsewhere = matching.pollWorkflowTaskQueue(a.namespaceId, 'other-queue', 50, never, 'worker-1');
      await engine.update(a, scheduleTask);
      expect(dispatched).toEqual([{ kind: 'workflowTask', taskQueue: 'q', scheduledEventId: 3, attempt: 1, priorityKey: 0 }]);
      expect((await engine.read(a))?.workflowTask?.startedEventId).toBe(0);
      expect(await elsewhere).toBeNull();
    });

    it('leaves nothing started when the commit fails: the poll answers empty', async () => {
      const { engine, store, matching, dispatched } = wired();
      const a = await startRun(engine, 'a');
      const poll = matching.pollWorkflowTaskQueue(a.namespaceId, 'q', 60_000, never, 'worker-1');
      store.commitBatch = () => Promise.reject(new Error('disk gone'));
      await expect(engine.update(a, scheduleTask)).rejects.toThrow('disk gone');
      expect(await poll).toBeNull();
      expect(dispatched).toEqual([]);
      expect(matching.describe(a.namespaceId, 'q')).toMatchObject({ workflowPollers: 0, workflowBacklog: 0 });
    });

    it('answers the poll empty when the commit fails before it is written (the shard is gone)', async () => {
      const { engine, matching } = wired();
      const a = await startRun(engine, 'a');
      const state = (await engine.read(a))!;
      const poll = matching.pollWorkflowTaskQueue(a.namespaceId, 'q', 60_000, never, 'worker-1');
      engine.shardFence = () => {
        throw new Error('shard moved');
      };
      const { transition } = scheduleTask(state, 2_000);
      await expect(engine.commitTransitions([{ t: transition, expectedVersion: 1, setCurrent: undefined }])).rejects.toThrow('shard moved');
      expect(await poll).toBeNull();
    });
  });
});
