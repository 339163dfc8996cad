/**
 * Async activity completion: an activity throws CompleteAsyncError, the worker reports nothing, and
 * the test completes, fails, heartbeats and cancels it through `client.activity`, by task token and
 * by id; the workflow sees the outcome.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ActivityCancelledError,
  ActivityFailure,
  ActivityNotFoundError,
  ApplicationFailure,
  WorkflowFailedError,
  type WorkflowHandle,
} from '@kairos/client';
import * as activities from './fixtures/async-completion-activities.js';
import { eventTypes, startSdkEnvironment, uniqueName, type SdkEnvironment } from './helpers.js';

const FIXTURE_WORKFLOWS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/async-completion-workflows.ts');

let env: SdkEnvironment;

beforeAll(async () => {
  env = await startSdkEnvironment(FIXTURE_WORKFLOWS);
});

afterAll(async () => {
  await env?.close();
});

/** Waits (with a deadline) until the activity of `key` has started and recorded how to reach it. */
async function pendingActivity(key: string): Promise<activities.PendingActivity> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const pending = activities.pendingActivities.get(key);
    if (pending !== undefined) return pending;
    if (Date.now() > deadline) throw new Error(`activity ${key} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function start(taskQueue: string, workflow: string, key: string): Promise<WorkflowHandle> {
  return await env.client.workflow.start(workflow, { taskQueue, workflowId: uniqueName(key), args: [key] });
}

describe('async activity completion', () => {
  it('completes by task token; the worker sent no completion of its own', async () => {
    const key = uniqueName('by-token');
    await env.withWorker(
      async (taskQueue) => {
        const handle = await start(taskQueue, 'asyncCompletionWorkflow', key);
        const pending = await pendingActivity(key);
        // The worker reported nothing: the activity is still running on the server.
        const description = await handle.describe();
        expect(description.raw.pendingActivities).toHaveLength(1);
        await env.client.activity.complete(pending.taskToken, 'done by token');
        expect(await handle.result()).toBe('done by token');
        expect(await eventTypes(handle)).toContain('ACTIVITY_TASK_COMPLETED');
        // Completed: the token names nothing any more.
        await expect(env.client.activity.complete(pending.taskToken, 'again')).rejects.toBeInstanceOf(ActivityNotFoundError);
      },
      { activities },
    );
  });

  it('completes by full activity id (with and without the run id)', async () => {
    const withRun = uniqueName('by-id');
    const withoutRun = uniqueName('by-id-current');
    await env.withWorker(
      async (taskQueue) => {
        const first = await start(taskQueue, 'asyncCompletionWorkflow', withRun);
        const second = await start(taskQueue, 'asyncCompletionWorkflow', withoutRun);
        const a = await pendingActivity(withRun);
        const b = await pendingActivity(withoutRun);
        await env.client.activity.complete({ workflowId: a.workflowId, runId: a.runId, activityId: a.activityId }, { n: 1 });
        await env.client.activity.complete({ workflowId: b.workflowId, activityId: b.activityId }, { n: 2 });
        expect(await first.result()).toEqual({ n: 1 });
        expect(await second.result()).toEqual({ n: 2 });
      },
      { activities },
    );
  });

  it('fails the activity; the workflow sees the failure', async () => {
    const key = uniqueName('fail');
    await env.withWorker(
      async (taskQueue) => {
        const handle = await start(taskQueue, 'asyncCompletionWorkflow', key);
        const pending = await pendingActivity(key);
        await env.client.activity.fail(pending.taskToken, ApplicationFailure.nonRetryable('failed from outside', 'OutsideError', 'detail'));
        const error: unknown = await handle.result().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WorkflowFailedError);
        const activityFailure = (error as WorkflowFailedError).cause;
        expect(activityFailure).toBeInstanceOf(ActivityFailure);
        const cause = (activityFailure as ActivityFailure).cause;
        expect(cause).toBeInstanceOf(ApplicationFailure);
        expect(cause).toMatchObject({ message: 'failed from outside', type: 'OutsideError', nonRetryable: true, details: ['detail'] });
      },
      { activities },
    );
  });

  it('heartbeats, learns of the cancellation from a heartbeat, and reports it', async () => {
    const key = uniqueName('cancel');
    await env.withWorker(
      async (taskQueue) => {
        const handle = await start(taskQueue, 'asyncCancellationWorkflow', key);
        const pending = await pendingActivity(key);
        const byId = { workflowId: pending.workflowId, activityId: pending.activityId };
        await env.client.activity.heartbeat(pending.taskToken, 'progress 1');
        await env.client.activity.heartbeat(byId, 'progress 2');
        const description = await handle.describe();
        const heartbeat = description.raw.pendingActivities[0]?.heartbeatDetails?.payloads?.[0];
        expect(heartbeat === undefined ? undefined : Buffer.from(heartbeat.data ?? []).toString()).toBe('"progress 2"');
        await handle.signal('cancelActivity');
        // The cancellation request reaches the server with the workflow's next task completion.
        const deadline = Date.now() + 10_000;
        let cancelled: unknown;
        while (cancelled === undefined && Date.now() < deadline) {
          cancelled = await env.client.activity.heartbeat(pending.taskToken, 'still going').then(
            () => undefined,
            (error: unknown) => error,
          );
          if (cancelled === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
        }
        expect(cancelled).toBeInstanceOf(ActivityCancelledError);
        await env.client.activity.reportCancellation(pending.taskToken, 'cleaned up');
        expect(await handle.result()).toBe('cancelled:cleaned up');
        expect(await eventTypes(handle)).toContain('ACTIVITY_TASK_CANCELED');
      },
      { activities },
    );
  });

  it('fails a local activity that throws CompleteAsyncError, without retrying it', async () => {
    const key = uniqueName('local');
    await env.withWorker(
      async (taskQueue) => {
        const handle = await start(taskQueue, 'localAsyncCompletionWorkflow', key);
        const error: unknown = await handle.result().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WorkflowFailedError);
        // As sdk-core resolves a failed local activity: its failure as it is (see local-activity-markers.ts).
        const cause = (error as WorkflowFailedError).cause;
        expect(cause).toBeInstanceOf(ApplicationFailure);
        expect(cause).toMatchObject({ message: 'Local activities cannot be completed asynchronously', nonRetryable: true });
      },
      { activities },
    );
  });

  it('throws ActivityNotFoundError for an activity that does not exist', async () => {
    await expect(env.client.activity.complete({ workflowId: uniqueName('missing'), activityId: '1' }, 'x')).rejects.toBeInstanceOf(ActivityNotFoundError);
    await expect(env.client.activity.heartbeat({ workflowId: uniqueName('missing'), activityId: '1' })).rejects.toBeInstanceOf(ActivityNotFoundError);
  });
});
