/**
 * Task-queue behaviours through the official SDK: the queue-wide activity rate limit a worker asks for
 * (maxTaskQueueActivitiesPerSecond -> max_tasks_per_second) is honoured, activities are handed out by
 * priority key, and tasks wait in the backlog until a worker has a free slot (flow control).
 */
import { Worker } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as activities from './activities.js';
import { activityProbe } from './activities.js';
import { startEnvironment, type E2EEnvironment } from './helpers/environment.js';
import { EventType, eventsOfType, uniqueTaskQueue, uniqueWorkflowId, waitFor, waitForHistory, withWorker, type HistoryRecorder } from './helpers/sdk.js';
import { buildIdQuery, fanOutActivities, fanOutPauses, inheritsPriority, prioritizedActivities, priorityAfterSignal, proceedSignal, reportsBuildId } from './workflows/index.js';

let env: E2EEnvironment;
let client: Client;
let recorder: HistoryRecorder;

beforeAll(async () => {
  env = await startEnvironment();
  ({ client, recorder } = env);
});

afterAll(async () => {
  await env?.close();
});

/** A Priority with its unset fields as their defaults (decoders differ in which they leave out). */
function fieldsOf(priority: unknown): { priorityKey: number; fairnessKey: string; fairnessWeight: number } {
  const p = (priority ?? {}) as { priorityKey?: number; fairnessKey?: string; fairnessWeight?: number };
  return { priorityKey: p.priorityKey || 0, fairnessKey: p.fairnessKey || '', fairnessWeight: p.fairnessWeight || 0 };
}

function startTimes(keys: readonly string[]): number[] {
  return keys.map((key) => activityProbe.attemptStartedAt.get(key)?.[0] ?? Number.NaN);
}

describe('task queues', () => {
  it('honours the queue-wide activity rate limit a worker asks for', async () => {
    const count = 8;
    const rate = 2;
    await env.withTaskQueue(
      'rate-limit',
      async (taskQueue) => {
        const workflowId = uniqueWorkflowId('rate-limit');
        const handle = recorder.record(await client.workflow.start(fanOutActivities, { taskQueue, workflowId, args: [workflowId, count] }));
        await handle.result();
        const starts = startTimes(Array.from({ length: count }, (_, i) => `${workflowId}-${i}`)).sort((a, b) => a - b);
        const span = starts[count - 1]! - starts[0]!;
        // A burst of `rate`, then `rate` a second: the last starts (count - rate) / rate seconds after the
        // first (times are taken in the worker, which may start the first ones late on a loaded machine).
        console.log(`rate limit ${rate}/s: ${count} activities started over ${span} ms`);
        expect(span).toBeGreaterThanOrEqual(((count - rate) / rate) * 1000 - 500);
        // Start times are taken in the worker: allow 100 ms of jitter on a 1 s window.
        for (const [i, at] of starts.entries()) {
          const inWindow = starts.slice(i).filter((t) => t < at + 900).length;
          expect(inWindow).toBeLessThanOrEqual(rate + 1);
        }
        const described = await env.sdk.connection.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue }, taskQueueType: 2 });
        expect(described.pollers?.[0]?.ratePerSecond).toBe(rate);
      },
      { maxTaskQueueActivitiesPerSecond: rate },
    );
  });

  it('hands out waiting activities by priority key, one at a time to a worker with one slot', async () => {
    const activityQueue = uniqueTaskQueue('priority-activities');
    const keys = [5, 3, 4, 1, 2];
    await env.withTaskQueue('priority', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('priority');
      const handle = recorder.record(await client.workflow.start(prioritizedActivities, { taskQueue, workflowId, args: [workflowId, activityQueue, keys] }));
      // All five wait in the backlog: no worker polls their queue yet.
      await waitForHistory(handle, (h) => eventsOfType(h, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).length === keys.length);
      const backlog = await env.sdk.connection.workflowService.describeTaskQueue({
        namespace: 'default',
        taskQueue: { name: activityQueue },
        taskQueueType: 2,
        reportStats: true,
      });
      expect(Number(backlog.stats?.approximateBacklogCount)).toBe(keys.length);

      const worker = await Worker.create({
        connection: env.sdk.nativeConnection,
        taskQueue: activityQueue,
        activities,
        maxConcurrentActivityTaskExecutions: 1,
        shutdownGraceTime: '2s',
      });
      await worker.runUntil(handle.result());
      const byKey = [1, 2, 3, 4, 5].map((k) => ({ k, at: startTimes([`${workflowId}-p${k}`])[0]! }));
      const order = [...byKey].sort((a, b) => a.at - b.at).map((e) => e.k);
      expect(order).toEqual([1, 2, 3, 4, 5]);
    });
  });

  it('keeps activities in the backlog while the only worker slot is busy (flow control)', async () => {
    const count = 4;
    const ms = 400;
    await env.withTaskQueue(
      'flow-control',
      async (taskQueue) => {
        const workflowId = uniqueWorkflowId('flow-control');
        const handle = recorder.record(await client.workflow.start(fanOutPauses, { taskQueue, workflowId, args: [workflowId, count, ms] }));
        // While the first runs, the others wait on the server, not in the worker.
        const backlog = await waitFor(async () => {
          const described = await env.sdk.connection.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue }, taskQueueType: 2, reportStats: true });
          const n = Number(described.stats?.approximateBacklogCount ?? 0);
          return n >= count - 2 ? n : undefined;
        }, { description: 'activities waiting in the backlog' });
        expect(backlog).toBeGreaterThanOrEqual(count - 2);
        await handle.result();
        // With one slot the attempts never overlap.
        const starts = startTimes(Array.from({ length: count }, (_, i) => `${workflowId}-${i}`)).sort((a, b) => a - b);
        for (let i = 1; i < count; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(ms - 20);
      },
      { maxConcurrentActivityTaskExecutions: 1 },
    );
  });

  it('keeps the build id of each completing worker in the history, which a replaying worker reads back', async () => {
    const taskQueue = uniqueTaskQueue('build-id');
    const workflowId = uniqueWorkflowId('build-id');
    const worker = (buildId: string) => ({ connection: env.sdk.nativeConnection, taskQueue, workflowBundle: env.workflowBundle, buildId });
    const handle = recorder.record(await client.workflow.start(reportsBuildId, { taskQueue, workflowId }));
    await withWorker(worker('1.0'), async () => expect(await handle.query(buildIdQuery)).toBe('1.0'));
    // A worker of another build replays the history: the task it replays was completed by 1.0.
    await client.workflowService.resetStickyTaskQueue({ namespace: 'default', execution: { workflowId } });
    await withWorker(worker('1.1'), async () => {
      expect(await handle.query(buildIdQuery)).toBe('1.0');
      await handle.signal(proceedSignal);
      expect(await handle.result()).toBe('1.1');
    });
    const completed = eventsOfType(await handle.fetchHistory(), EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
    expect(completed.map((e) => e.workflowTaskCompletedEventAttributes?.workerVersion?.buildId)).toEqual(['1.0', '1.1']);
    const { searchAttributes } = await handle.describe();
    expect(searchAttributes.BuildIds).toEqual(['unversioned', 'unversioned:1.0', 'unversioned:1.1']);
  });

  it("passes a run's Priority on to its activities, children and next run, and reports it", async () => {
    await env.withTaskQueue('priority-inherit', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('priority-inherit');
      const priority = { priorityKey: 2, fairnessKey: 'tenant-a', fairnessWeight: 1.5 };
      const handle = recorder.record(await client.workflow.start(inheritsPriority, { taskQueue, workflowId, args: [true], priority }));
      const result = await handle.result();
      // The run after continue-as-new kept it; the activity set only its fairness key; the child set nothing.
      expect(result).toEqual({ own: priority, activity: { ...priority, fairnessKey: 'activity-key' }, child: priority });
      expect((await handle.describe()).priority).toEqual(priority);
      const child = recorder.record(client.workflow.getHandle(`${workflowId}-child`));
      const childStarted = (await child.fetchHistory()).events![0]!.workflowExecutionStartedEventAttributes!;
      expect(childStarted.priority).toMatchObject(priority);
      expect((await child.describe()).priority).toEqual(priority);
    });
  });

  it('UpdateWorkflowExecutionOptions replaces the Priority, which the run then passes on', async () => {
    await env.withTaskQueue('priority-update', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('priority-update');
      const handle = recorder.record(await client.workflow.start(priorityAfterSignal, { taskQueue, workflowId, priority: { priorityKey: 4, fairnessKey: 'before' } }));
      const update = (priority: { priorityKey?: number; fairnessKey?: string }) =>
        client.workflowService.updateWorkflowExecutionOptions({ namespace: 'default', workflowExecution: { workflowId }, workflowExecutionOptions: { priority }, updateMask: { paths: ['priority'] } });
      const answered = await update({ priorityKey: 1 });
      expect(answered.workflowExecutionOptions?.priority).toMatchObject({ priorityKey: 1, fairnessKey: '' });
      // The fairness key set at the start is gone: the whole Priority was replaced.
      expect(fieldsOf((await handle.describe()).priority)).toEqual({ priorityKey: 1, fairnessKey: '', fairnessWeight: 0 });
      await handle.signal(proceedSignal);
      expect(fieldsOf(await handle.result())).toEqual({ priorityKey: 1, fairnessKey: '', fairnessWeight: 0 });
      const updated = eventsOfType(await handle.fetchHistory(), EventType.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED);
      expect(updated).toHaveLength(1);
      expect(updated[0]!.workflowExecutionOptionsUpdatedEventAttributes!.priority).toMatchObject({ priorityKey: 1, fairnessKey: '' });
    });
  });

  it('replays every history it produced', async () => {
    expect(await recorder.replayAll(env.workflowBundle)).toEqual([]);
  });
});
