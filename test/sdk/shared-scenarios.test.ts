/**
 * The official-SDK suite's workflows (test/e2e/workflows), unchanged, run by the Kairos worker: the
 * bundler aliases @temporalio/workflow to @kairos/workflow. Every history produced here is then
 * replayed by the official SDK's replayer, so both SDKs are held to the same behaviour.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledFailure, WorkflowFailedError, type WorkflowHandle } from '@kairos/client';
import { bundleWorkflowCode, type WorkflowBundle } from '@kairos/worker';
import { Worker as OfficialWorker } from '@temporalio/worker';
import { activityLog } from './activities.js';
import { bundleWorkflows, installQuietRuntime } from '../e2e/helpers/sdk.js';
import { OFFICIAL_TO_KAIROS, SHARED_WORKFLOWS, startSdkEnvironment, uniqueName, type SdkEnvironment } from './helpers.js';

let env: SdkEnvironment;
let sharedBundle: WorkflowBundle;
const produced: WorkflowHandle[] = [];

beforeAll(async () => {
  env = await startSdkEnvironment();
  sharedBundle = await bundleWorkflowCode({ workflowsPath: SHARED_WORKFLOWS, aliases: OFFICIAL_TO_KAIROS });
});

afterAll(async () => {
  await env?.close();
});

async function withSharedWorker<R>(fn: (taskQueue: string) => Promise<R>): Promise<R> {
  return await env.withWorker(fn, { workflowBundle: sharedBundle });
}

async function start(taskQueue: string, workflowType: string, args: unknown[] = []): Promise<WorkflowHandle> {
  const handle = await env.client.workflow.start(workflowType, { taskQueue, workflowId: uniqueName(workflowType), args });
  produced.push(handle);
  return handle;
}

async function waitUntil(probe: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('official-SDK scenarios on the Kairos worker', () => {
  it('a non-retryable activity failure reaches the workflow as ActivityFailure(ApplicationFailure)', async () => {
    const key = uniqueName('nonretryable');
    await withSharedWorker(async (taskQueue) => {
      const handle = await start(taskQueue, 'nonRetryableWorkflow', [key, 'bad input']);
      expect(await handle.result()).toEqual({
        errorName: 'ActivityFailure',
        causeName: 'ApplicationFailure',
        causeType: 'InvalidInputError',
        causeMessage: 'bad input',
        nonRetryable: true,
        details: [{ key }],
      });
      expect(activityLog.attempts.get(key)).toEqual([1]);
    });
  });

  it('heartbeat details of a failed attempt reach the next attempt', async () => {
    const key = uniqueName('heartbeat');
    await withSharedWorker(async (taskQueue) => {
      const handle = await start(taskQueue, 'heartbeatDetailsWorkflow', [key, 7]);
      expect(await handle.result()).toEqual({ attempt: 2, details: { progress: 7 } });
    });
  });

  it('cancels a heartbeating activity and waits for it to acknowledge (WAIT_CANCELLATION_COMPLETED)', async () => {
    const key = uniqueName('cancel-activity');
    await withSharedWorker(async (taskQueue) => {
      const handle = await start(taskQueue, 'cancelActivityWorkflow', [key]);
      await waitUntil(() => activityLog.running.has(key));
      await handle.signal('cancelActivity');
      expect(await handle.result()).toMatchObject({ errorName: 'ActivityFailure', causeName: 'CancelledFailure' });
      expect(activityLog.cancelled.get(key)).toBe('CANCELLED');
    });
  });

  it('cancels a timer through its cancellation scope', async () => {
    await withSharedWorker(async (taskQueue) => {
      const handle = await start(taskQueue, 'cancelTimerWorkflow');
      expect(await handle.result()).toBe('long timer cancelled');
    });
  });

  it('cleans up in a non-cancellable scope when the workflow is cancelled', async () => {
    const key = uniqueName('cleanup');
    await withSharedWorker(async (taskQueue) => {
      const handle = await start(taskQueue, 'cleanupOnCancelWorkflow', [key]);
      await waitUntil(async () => (await handle.describe()).historyLength >= 5);
      await handle.cancel();
      const error = await handle.result().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WorkflowFailedError);
      expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
      expect(activityLog.cleanups.get(key)).toBe(1);
    });
  });

  it('blocks on a condition until a signal arrives', async () => {
    await withSharedWorker(async (taskQueue) => {
      const handle = await start(taskQueue, 'waitForFinishWorkflow');
      await handle.signal('finish');
      expect(await handle.result()).toBe('finished');
    });
  });

  it('returns a child result to its parent, and the child knows its parent', async () => {
    await withSharedWorker(async (taskQueue) => {
      const handle = await start(taskQueue, 'parentOfGreeting', ['Ada']);
      expect(await handle.result()).toBe(`child says hello to Ada (parent ${handle.workflowId})`);
      produced.push(env.client.workflow.getHandle(`${handle.workflowId}-child`));
    });
  });

  it('delivers a child failure to the parent', async () => {
    await withSharedWorker(async (taskQueue) => {
      expect(await (await start(taskQueue, 'parentOfFailure')).result()).toBe('caught: child broke');
    });
  });

  it.each([
    ['TERMINATE', 'TERMINATED'],
    ['REQUEST_CANCEL', 'COMPLETED'],
    ['ABANDON', 'RUNNING'],
  ] as const)('applies parent close policy %s to a running child', async (policy, childStatus) => {
    await withSharedWorker(async (taskQueue) => {
      const childId = (await (await start(taskQueue, 'parentLeavesChild', [policy])).result()) as string;
      const child = env.client.workflow.getHandle(childId);
      await waitUntil(async () => (await child.describe()).status.name === childStatus);
      if (policy === 'REQUEST_CANCEL') expect(await child.result()).toBe('cancelled');
      if (policy === 'ABANDON') await child.terminate('test over');
      produced.push(child);
    });
  });

  it('lets a parent cancel its child', async () => {
    await withSharedWorker(async (taskQueue) => {
      const handle = await start(taskQueue, 'parentCancelsChild');
      expect(await handle.result()).toBe('child cancelled');
      expect((await env.client.workflow.getHandle(`${handle.workflowId}-child`).describe()).status.name).toBe('CANCELED');
    });
  });

  it('signals and cancels other workflows, and fails cleanly when they do not exist', async () => {
    await withSharedWorker(async (taskQueue) => {
      const target = await start(taskQueue, 'childWaits');
      expect(await (await start(taskQueue, 'signalsAnother', [target.workflowId, 'hi'])).result()).toBe('delivered');
      expect(await target.result()).toBe('poked with hi');
      expect(await (await start(taskQueue, 'signalsAnother', [uniqueName('nobody'), 'hi'])).result()).toMatch(/^failed: Unable to signal/);
      const second = await start(taskQueue, 'childWaits');
      expect(await (await start(taskQueue, 'cancelsAnother', [second.workflowId])).result()).toBe('cancel requested');
      expect(await second.result()).toBe('cancelled');
      expect(await (await start(taskQueue, 'cancelsAnother', [uniqueName('nobody')])).result()).toMatch(/^failed: Unable to cancel/);
    });
  });

  it('every history above replays in the official SDK', async () => {
    installQuietRuntime();
    const officialBundle = await bundleWorkflows(SHARED_WORKFLOWS);
    expect(produced.length).toBeGreaterThanOrEqual(20);
    const histories = [];
    for (const handle of produced) histories.push({ workflowId: handle.workflowId, history: (await handle.fetchHistory()) as never });
    const failures: string[] = [];
    for await (const result of OfficialWorker.runReplayHistories({ workflowBundle: officialBundle, replayName: 'kairos-shared' }, histories)) {
      if (result.error !== undefined) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
  });
});
