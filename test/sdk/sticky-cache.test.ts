/**
 * Sticky execution with the workflow cache: after its first task a run stays live in the worker and
 * its next tasks arrive on the worker's sticky queue with only their new events; results and
 * commands are those of a worker without the cache (which replays every task from the first event);
 * evicted runs and runs whose worker went away replay from the full history; nondeterminism is still
 * reported. (The time a long workflow takes with the cache on and off: `npm run bench -- sdk-worker`.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@kairos/client';
import { api } from '@kairos/common';
import { bundleWorkflowCode, Worker, type WorkflowCacheStats } from '@kairos/worker';
import type { temporal } from '@temporalio/proto';
import path from 'node:path';
import { addItemSignal, closeSignal, itemsQuery } from './workflows/basics.js';
import { progressQuery, stepSignal } from './workflows/sticky.js';
import { startSdkEnvironment, uniqueName, type SdkEnvironment } from './helpers.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const { EventType, TaskQueueKind, WorkflowTaskFailedCause } = api.enums.v1;
const CHANGED_WORKFLOWS = path.join(import.meta.dirname, 'workflows/changed.ts');
const quiet = { warn: () => {}, error: () => {} };

let env: SdkEnvironment;

beforeAll(async () => {
  env = await startSdkEnvironment();
});

afterAll(async () => {
  await env?.close();
});

async function waitUntil(probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function historyOf(handle: WorkflowHandle): Promise<HistoryEvent[]> {
  return (await handle.fetchHistory()).events ?? [];
}

/** What the workflow code decided, as the server recorded it: command events with their ids. */
function commandEvents(events: readonly HistoryEvent[]): string[] {
  return events.flatMap((e) => {
    if (e.activityTaskScheduledEventAttributes) return [`activity ${e.activityTaskScheduledEventAttributes.activityId} ${e.activityTaskScheduledEventAttributes.activityType?.name}`];
    if (e.timerStartedEventAttributes) return [`timer ${e.timerStartedEventAttributes.timerId}`];
    if (e.workflowExecutionCompletedEventAttributes) return ['complete'];
    return [];
  });
}

/** Kinds of the queues the run's workflow tasks were scheduled on, in order. */
function workflowTaskQueueKinds(events: readonly HistoryEvent[]): string[] {
  return events
    .filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
    .map((e) => (e.workflowTaskScheduledEventAttributes?.taskQueue?.kind === TaskQueueKind.TASK_QUEUE_KIND_STICKY ? 'sticky' : 'normal'));
}

/** Runs manyStepsWorkflow(steps, 3) with signals and queries along the way. */
async function runManySteps(taskQueue: string, steps: number): Promise<{ result: unknown; handle: WorkflowHandle; progress: number }> {
  const handle = await env.client.workflow.start('manyStepsWorkflow', { taskQueue, workflowId: uniqueName('steps'), args: [steps, 3] });
  await handle.signal(stepSignal, 1);
  // Wait until the steps are done: the run then waits for signals, with no workflow task pending.
  await waitUntil(async () => (await handle.query(progressQuery)) === steps);
  const progress = await handle.query(progressQuery);
  await handle.signal(stepSignal, 2);
  await handle.signal(stepSignal, 3);
  return { result: await handle.result(), handle, progress };
}

describe('sticky execution', () => {
  it('continues a cached run with the new events only, with the results and commands of an uncached worker', async () => {
    const steps = 16;
    let stats: WorkflowCacheStats | undefined;
    let stickyQueue: string | undefined;
    const cached = await env.withWorker(async (taskQueue, worker) => {
      stickyQueue = worker.stickyQueue;
      const outcome = await runManySteps(taskQueue, steps);
      stats = worker.workflowCacheStats;
      return outcome;
    });
    const uncached = await env.withWorker(
      async (taskQueue, worker) => {
        expect(worker.stickyQueue).toBeUndefined();
        const outcome = await runManySteps(taskQueue, steps);
        expect(worker.workflowCacheStats?.tasksOnCachedRuns).toBe(0);
        return outcome;
      },
      { maxCachedWorkflows: 0 },
    );

    expect(cached.result).toEqual(uncached.result);
    expect(cached.progress).toBe(steps);
    const cachedEvents = await historyOf(cached.handle);
    const uncachedEvents = await historyOf(uncached.handle);
    expect(commandEvents(cachedEvents)).toEqual(commandEvents(uncachedEvents));
    expect(commandEvents(cachedEvents)).toHaveLength(steps + 1);

    // Server side: after the first, the run's workflow tasks went to the worker's sticky queue...
    expect(stickyQueue).toMatch(/-[0-9a-f-]{36}$/);
    const kinds = workflowTaskQueueKinds(cachedEvents);
    expect(kinds[0]).toBe('normal');
    expect(kinds.slice(1).every((k) => k === 'sticky')).toBe(true);
    const sticky = cachedEvents.find((e) => e.workflowTaskScheduledEventAttributes?.taskQueue?.kind === TaskQueueKind.TASK_QUEUE_KIND_STICKY);
    expect(sticky?.workflowTaskScheduledEventAttributes?.taskQueue?.name).toBe(stickyQueue);
    expect(workflowTaskQueueKinds(uncachedEvents).every((k) => k === 'normal')).toBe(true);
    // ...and the worker applied only their new events to the cached run: one replay (the first
    // task), every other task on the cached run, far fewer events than the histories held.
    const tasks = kinds.length;
    expect(stats).toMatchObject({ fullReplays: 1, historyFetches: 0, tasksOnCachedRuns: tasks - 1 });
    const fullHistoriesSize = cachedEvents
      .filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)
      .reduce((sum, e) => sum + Number(e.eventId), 0);
    expect(stats?.eventsAppliedToCachedRuns).toBeLessThan(fullHistoriesSize / 3);
    // The history written through the cache replays from scratch.
    await Worker.runReplayHistory({ workflowBundle: env.bundle }, { events: cachedEvents }, cached.handle.workflowId);
  });

  it('answers a legacy query from the cached run without changing it', async () => {
    await env.withWorker(async (taskQueue, worker) => {
      const handle = await env.client.workflow.start('collectorWorkflow', { taskQueue, workflowId: uniqueName('collector') });
      await handle.signal(addItemSignal, 'a');
      await waitUntil(async () => (await historyOf(handle)).filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED).length >= 2);
      expect(await handle.query(itemsQuery)).toEqual(['a']);
      expect(await handle.query(itemsQuery)).toEqual(['a']);
      expect(worker.workflowCacheStats?.queriesFromCache).toBeGreaterThanOrEqual(1);
      await handle.signal(addItemSignal, 'b');
      await handle.signal(closeSignal);
      expect(await handle.result()).toEqual(['a', 'b']);
      expect(worker.workflowCacheStats).toMatchObject({ fullReplays: 1, historyFetches: 0 });
    });
  });

  it('with maxCachedWorkflows 1, two concurrent runs evict each other and both complete', async () => {
    await env.withWorker(
      async (taskQueue, worker) => {
        const handles = await Promise.all(
          [0, 1].map((i) => env.client.workflow.start('manyStepsWorkflow', { taskQueue, workflowId: uniqueName(`evict-${i}`), args: [12, 0] })),
        );
        const results = await Promise.all(handles.map((h) => h.result()));
        for (const result of results) expect((result as { results: string[] }).results).toHaveLength(12);
        const stats = worker.workflowCacheStats;
        expect(stats?.cachedRuns).toBeLessThanOrEqual(1);
        // A sticky task whose run had been evicted fetched the full history and replayed.
        expect(stats?.evictions).toBeGreaterThan(0);
        expect(stats?.historyFetches).toBeGreaterThan(0);
        expect(stats?.fullReplays).toBe(2 + (stats?.historyFetches ?? 0));
        for (const h of handles) await Worker.runReplayHistory({ workflowBundle: env.bundle }, { events: await historyOf(h) }, h.workflowId);
      },
      { maxCachedWorkflows: 1, maxConcurrentWorkflowTaskExecutions: 4 },
    );
  });

  it('a run cached by a worker that shut down completes on another worker, at once', async () => {
    const taskQueue = uniqueName('restart');
    const workflowId = uniqueName('restart');
    const first = await Worker.create({ connection: env.connection, taskQueue, workflowBundle: env.bundle, shutdownGraceTime: '2s' });
    const handle = await first.runUntil(async () => {
      const h = await env.client.workflow.start('collectorWorkflow', { taskQueue, workflowId });
      await h.signal(addItemSignal, 'from A');
      await waitUntil(async () => (await historyOf(h)).filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED).length >= 2);
      expect(first.workflowCacheStats?.cachedRuns).toBe(1);
      return h;
    });
    expect(first.workflowCacheStats?.cachedRuns).toBe(0); // disposed at shutdown
    const second = await Worker.create({ connection: env.connection, taskQueue, workflowBundle: env.bundle, shutdownGraceTime: '2s' });
    const started = Date.now();
    const result = await second.runUntil(async () => {
      await handle.signal(addItemSignal, 'from B');
      await handle.signal(closeSignal);
      return await handle.result();
    });
    // Well within the sticky schedule-to-start timeout (10 s): ShutdownWorker released the run.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result).toEqual(['from A', 'from B']);
    expect(second.workflowCacheStats?.fullReplays).toBeGreaterThanOrEqual(1);
    const events = await historyOf(handle);
    expect(events.some((e) => e.workflowTaskTimedOutEventAttributes)).toBe(false);
  });

  it('reports nondeterminism when changed code takes over a run cached by another worker', async () => {
    const taskQueue = uniqueName('nondet');
    const workflowId = uniqueName('nondet');
    const first = await Worker.create({ connection: env.connection, taskQueue, workflowBundle: env.bundle, shutdownGraceTime: '2s' });
    const handle = await first.runUntil(async () => {
      const h = await env.client.workflow.start('timerWorkflow', { taskQueue, workflowId, args: [600_000] });
      await waitUntil(async () => (await historyOf(h)).some((e) => e.timerStartedEventAttributes));
      return h;
    });
    const changed = await Worker.create({
      connection: env.connection,
      taskQueue,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: CHANGED_WORKFLOWS }),
      logger: quiet,
      shutdownGraceTime: '2s',
    });
    await changed.runUntil(async () => {
      await handle.signal('wake-up');
      await waitUntil(async () => (await historyOf(handle)).some((e) => e.workflowTaskFailedEventAttributes));
    });
    const failed = (await historyOf(handle)).find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes;
    expect(failed?.cause).toBe(WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR);
    expect(failed?.failure?.message).toMatch(/TimerStarted \{timerId: '1'\}.*ScheduleActivityTask/);
    await handle.terminate('test over');
  });
});
