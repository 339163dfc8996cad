/** The Kairos SDK against a Kairos server: activities, retries, timers, failures, continue-as-new, cancellation. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
} from '@kairos/client';
import { Worker } from '@kairos/worker';
import { activityLog } from './activities.js';
import { eventTypes, startSdkEnvironment, uniqueName, type SdkEnvironment } from './helpers.js';

let env: SdkEnvironment;

beforeAll(async () => {
  env = await startSdkEnvironment();
});

afterAll(async () => {
  await env?.close();
});

describe('Kairos SDK basics', () => {
  it('runs a workflow that calls an activity (hello-activity)', async () => {
    await env.withWorker(async (taskQueue) => {
      const handle = await env.client.workflow.start('helloActivity', { taskQueue, workflowId: uniqueName('hello'), args: ['Kairos'] });
      expect(await handle.result()).toBe('Hello, Kairos!');
      expect(await eventTypes(handle)).toEqual([
        'WORKFLOW_EXECUTION_STARTED',
        'WORKFLOW_TASK_SCHEDULED',
        'WORKFLOW_TASK_STARTED',
        'WORKFLOW_TASK_COMPLETED',
        'ACTIVITY_TASK_SCHEDULED',
        'ACTIVITY_TASK_STARTED',
        'ACTIVITY_TASK_COMPLETED',
        'WORKFLOW_TASK_SCHEDULED',
        'WORKFLOW_TASK_STARTED',
        'WORKFLOW_TASK_COMPLETED',
        'WORKFLOW_EXECUTION_COMPLETED',
      ]);
      const description = await handle.describe();
      expect(description.status.name).toBe('COMPLETED');
      expect(description.type).toBe('helloActivity');
    });
  });

  it('retries a failing activity with the retry policy of proxyActivities', async () => {
    const key = uniqueName('flaky');
    await env.withWorker(async (taskQueue) => {
      const handle = await env.client.workflow.start('flakyActivity', { taskQueue, workflowId: key, args: [key, 2] });
      expect(await handle.result()).toBe(3);
      expect(activityLog.attempts.get(key)).toEqual([1, 2, 3]);
      const history = await handle.fetchHistory();
      const started = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes);
      expect(started.map((e) => e.activityTaskStartedEventAttributes?.attempt)).toEqual([3]);
    });
  });

  it('sleeps on a durable timer, with workflow time moving with the timer', async () => {
    await env.withWorker(async (taskQueue) => {
      const handle = await env.client.workflow.start('timerWorkflow', { taskQueue, workflowId: uniqueName('timer'), args: [300] });
      expect(await handle.result()).toBeGreaterThanOrEqual(300);
      const types = await eventTypes(handle);
      expect(types).toContain('TIMER_STARTED');
      expect(types).toContain('TIMER_FIRED');
    });
  });

  it('reports a workflow failure with its ApplicationFailure', async () => {
    await env.withWorker(async (taskQueue) => {
      const handle = await env.client.workflow.start('failingWorkflow', { taskQueue, workflowId: uniqueName('fail'), args: ['no way'] });
      const error = await handle.result().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WorkflowFailedError);
      const cause = (error as WorkflowFailedError).cause;
      expect(cause).toBeInstanceOf(ApplicationFailure);
      expect(cause).toMatchObject({ message: 'no way', type: 'BusinessRuleViolation', nonRetryable: true, details: [42] });
    });
  });

  it('follows continue-as-new to the last run', async () => {
    const workflowId = uniqueName('countdown');
    await env.withWorker(async (taskQueue) => {
      const handle = await env.client.workflow.start('countdownWorkflow', { taskQueue, workflowId, args: [3, 0] });
      expect(await handle.result()).toBe(6);
      const firstRun = env.client.workflow.getHandle(workflowId, handle.runId);
      expect((await eventTypes(firstRun)).at(-1)).toBe('WORKFLOW_EXECUTION_CONTINUED_AS_NEW');
      const last = await env.client.workflow.getHandle(workflowId).describe();
      expect(last.runId).not.toBe(handle.runId);
    });
  });

  it('cancels a workflow; cleanup runs in a non-cancellable scope', async () => {
    await env.withWorker(async (taskQueue) => {
      const handle = await env.client.workflow.start('cancellableWorkflow', { taskQueue, workflowId: uniqueName('cancel') });
      await waitUntil(async () => (await eventTypes(handle)).includes('TIMER_STARTED'));
      await handle.cancel();
      const error = await handle.result().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WorkflowFailedError);
      expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
      const types = await eventTypes(handle);
      expect(types).toContain('TIMER_CANCELED');
      expect(types).toContain('ACTIVITY_TASK_COMPLETED');
      expect(types.at(-1)).toBe('WORKFLOW_EXECUTION_CANCELED');
    });
  });

  it('gives deterministic Math.random, uuid4 and Date inside workflows, and replays them', async () => {
    await env.withWorker(async (taskQueue) => {
      const handle = await env.client.workflow.start('determinismProbe', { taskQueue, workflowId: uniqueName('probe') });
      const result = (await handle.result()) as { random: number; uuid: string; now: number; runId: string };
      expect(result.random).toBeGreaterThanOrEqual(0);
      expect(result.random).toBeLessThan(1);
      expect(result.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(result.runId).toBe(handle.runId);
      const history = await handle.fetchHistory();
      const lastTaskStarted = (history.events ?? []).filter((e) => e.workflowTaskStartedEventAttributes).at(-1);
      expect(result.now).toBe(Number(lastTaskStarted?.eventTime?.seconds) * 1000 + Math.floor((lastTaskStarted?.eventTime?.nanos ?? 0) / 1e6));
      await Worker.runReplayHistory({ workflowBundle: env.bundle }, history, handle.workflowId);
    });
  });

  it('raises the official error classes for id conflicts and unknown workflows', async () => {
    await env.withWorker(async (taskQueue) => {
      const workflowId = uniqueName('conflict');
      await env.client.workflow.start('timerWorkflow', { taskQueue, workflowId, args: [60_000] });
      await expect(env.client.workflow.start('timerWorkflow', { taskQueue, workflowId, args: [1] })).rejects.toBeInstanceOf(
        WorkflowExecutionAlreadyStartedError,
      );
      await env.client.workflow.getHandle(workflowId).terminate('test over');
      await expect(env.client.workflow.getHandle(uniqueName('missing')).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    });
  });

  it('lists and counts workflows with a visibility query', async () => {
    await env.withWorker(async (taskQueue) => {
      const handle = await env.client.workflow.start('helloActivity', { taskQueue, workflowId: uniqueName('listed'), args: ['list'] });
      await handle.result();
      const query = `WorkflowId = '${handle.workflowId}'`;
      const listed = [];
      for await (const info of env.client.workflow.list({ query })) listed.push(info);
      expect(listed.map((info) => [info.workflowId, info.type, info.status.name])).toEqual([[handle.workflowId, 'helloActivity', 'COMPLETED']]);
      expect((await env.client.workflow.count(query)).count).toBe(1);
      const grouped = await env.client.workflow.count(`WorkflowType = 'helloActivity' GROUP BY ExecutionStatus`);
      expect(grouped.groups.map((g) => g.groupValues)).toContainEqual(['Completed']);
    });
  });

  it('fails an activity for the workflow to catch as ActivityFailure once retries are exhausted', async () => {
    const key = uniqueName('exhausted');
    await env.withWorker(async (taskQueue) => {
      const error = await env.client.workflow
        .execute('flakyActivity', { taskQueue, workflowId: key, args: [key, 10] })
        .catch((e: unknown) => e);
      // The workflow does not catch the ActivityFailure: it fails the workflow with it as the cause.
      expect(error).toBeInstanceOf(WorkflowFailedError);
      const cause = (error as WorkflowFailedError).cause;
      expect(cause).toBeInstanceOf(ActivityFailure);
      expect((cause as ActivityFailure).retryState).toBe('MAXIMUM_ATTEMPTS_REACHED');
      expect(activityLog.attempts.get(key)).toEqual([1, 2, 3, 4, 5]);
    });
  });
});

async function waitUntil(probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
