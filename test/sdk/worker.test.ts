/** The Kairos worker itself: graceful shutdown, the activation deadline and the sandbox's limits. */
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { api } from '@kairos/common';
import { bundleWorkflowCode, Worker, WorkflowBundleError } from '@kairos/worker';
import * as activities from './activities.js';
import { eventTypes, startSdkEnvironment, uniqueName, type SdkEnvironment } from './helpers.js';

let env: SdkEnvironment;
const quiet = { warn: () => undefined, error: () => undefined };

beforeAll(async () => {
  env = await startSdkEnvironment();
});

afterAll(async () => {
  await env?.close();
});

afterEach(() => {
  vi.restoreAllMocks();
});

async function waitUntil(probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('Kairos worker', () => {
  it('shuts down gracefully: stops polling and lets the running activity finish and report', async () => {
    const taskQueue = uniqueName('shutdown');
    const worker = await Worker.create({ connection: env.connection, taskQueue, workflowBundle: env.bundle, activities, shutdownGraceTime: '10s' });
    const running = worker.run();
    try {
      const handle = await env.client.workflow.start('busyWorkflow', { taskQueue, workflowId: uniqueName('busy'), args: [1_500] });
      const STARTED = api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
      await waitUntil(async () => (await handle.describe()).raw.pendingActivities.some((a) => a.state === STARTED));
      const shutdownAt = Date.now();
      worker.shutdown();
      expect(worker.state).toBe('STOPPING');
      await running;
      expect(worker.state).toBe('STOPPED');
      expect(Date.now() - shutdownAt).toBeGreaterThan(500); // it waited for the activity
      // The activity's result reached the server before the worker stopped: a new worker only has
      // to finish the workflow, and the activity ran once.
      await env.withWorker(async () => expect(await handle.result()).toBe('busy for 1500 ms'), { taskQueue });
      const history = await handle.fetchHistory();
      const started = (history.events ?? []).find((e) => e.activityTaskStartedEventAttributes);
      expect(started?.activityTaskStartedEventAttributes?.attempt).toBe(1);
    } finally {
      worker.shutdown(); // a failed assertion must not leave the worker polling
      await running;
    }
  });

  it('reports itself in heartbeats (slots, pollers, tasks run), and its last one with ShutdownWorker', async () => {
    const taskQueue = uniqueName('heartbeats');
    const worker = await Worker.create({ connection: env.connection, taskQueue, workflowBundle: env.bundle, activities, workerHeartbeatInterval: '200ms' });
    const service = env.connection.workflowService;
    const listed = async () => (await service.listWorkers({ namespace: 'default', query: `TaskQueue = '${taskQueue}'` })).workersInfo?.map((w) => w.workerHeartbeat!) ?? [];
    const running = worker.run();
    try {
      const handle = await env.client.workflow.start('busyWorkflow', { taskQueue, workflowId: uniqueName('busy'), args: [10] });
      expect(await handle.result()).toBe('busy for 10 ms');
      // A heartbeat (not the first: that one has no time since the one before) after the workflow's
      // three tasks (two workflow tasks, one activity) have run.
      await waitUntil(async () => {
        const [beat] = await listed();
        const ran = Number(beat?.workflowTaskSlotsInfo?.totalProcessedTasks ?? 0) >= 2 && Number(beat?.activityTaskSlotsInfo?.totalProcessedTasks ?? 0) >= 1;
        return ran && Boolean(beat?.elapsedSinceLastHeartbeat);
      });
      const [beat] = await listed();
      expect(beat).toMatchObject({ workerInstanceKey: worker.workerInstanceKey, workerIdentity: worker.options.identity, sdkName: 'kairos-typescript', status: 1 });
      expect(beat!.hostInfo?.processId).toBe(String(process.pid));
      expect(beat!.activityTaskSlotsInfo).toMatchObject({ slotSupplierKind: 'Fixed', currentUsedSlots: 0 });
      expect(beat!.workflowPollerInfo?.currentPollers).toBeGreaterThan(0);
      expect(beat!.workflowPollerInfo?.lastSuccessfulPollTime).toBeTruthy();
      expect(beat!.elapsedSinceLastHeartbeat).toBeTruthy();
    } finally {
      worker.shutdown();
      await running;
    }
    const [last] = await listed();
    expect(last).toMatchObject({ workerInstanceKey: worker.workerInstanceKey, status: 2 });
    expect(last!.workflowPollerInfo?.currentPollers).toBe(0);
  });

  it('fails a workflow task whose activation runs past the deadline, with a message that says so', async () => {
    const taskQueue = uniqueName('deadline');
    const worker = await Worker.create({
      connection: env.connection,
      taskQueue,
      workflowBundle: env.bundle,
      workflowActivationTimeout: '200ms',
      logger: quiet,
    });
    const handle = await env.client.workflow.start('busyLoopWorkflow', { taskQueue, workflowId: uniqueName('loop') });
    await worker.runUntil(() => waitUntil(async () => (await eventTypes(handle)).includes('WORKFLOW_TASK_FAILED')));
    const history = await handle.fetchHistory();
    const failed = (history.events ?? []).find((e) => e.workflowTaskFailedEventAttributes);
    expect(failed?.workflowTaskFailedEventAttributes?.failure?.message).toMatch(/ran for more than 200 ms in one activation/);
    await handle.terminate('test over');
  });

  it('runs workflows without Node globals and with WeakRef refused', async () => {
    await env.withWorker(async (taskQueue) => {
      const result = await env.client.workflow.execute('sandboxProbe', { taskQueue, workflowId: uniqueName('probe') });
      expect(result).toEqual({
        weakRef: 'DeterminismViolationError',
        process: 'undefined',
        require: 'undefined',
        Buffer: 'undefined',
        setTimeout: 'function',
        WebAssembly: 'undefined',
        SharedArrayBuffer: 'undefined',
      });
    });
  });

  it('maps setTimeout and clearTimeout in workflow code to durable timers', async () => {
    await env.withWorker(async (taskQueue) => {
      const handle = await env.client.workflow.start('setTimeoutWorkflow', { taskQueue, workflowId: uniqueName('set-timeout') });
      expect(await handle.result()).toEqual(['kept one']);
      const types = await eventTypes(handle);
      expect(types.filter((t) => t === 'TIMER_STARTED')).toHaveLength(1); // the cleared one never left the activation
      expect(types).toContain('TIMER_FIRED');
    });
  });

  it('logs from workflow code once per line, not again on every replay', async () => {
    const lines: unknown[][] = [];
    vi.spyOn(console, 'info').mockImplementation((...args: unknown[]) => {
      lines.push(args);
    });
    await env.withWorker(async (taskQueue) => {
      await env.client.workflow.execute('loggingWorkflow', { taskQueue, workflowId: uniqueName('logging') });
    });
    const messages = lines.map((args) => args[1]);
    expect(messages).toEqual(['before the timer', 'after the timer']);
    expect(lines[0]?.[2]).toMatchObject({ step: 1, workflowType: 'loggingWorkflow' });
  });

  it('refuses to create a worker for a namespace the server does not have', async () => {
    const creating = Worker.create({ connection: env.connection, namespace: 'no-such-namespace', taskQueue: 'q', activities });
    await expect(creating).rejects.toThrow(/namespace 'no-such-namespace' does not exist/);
  });

  it('refuses to bundle workflow code that imports a Node built-in, naming the import', async () => {
    const workflowsPath = path.join(import.meta.dirname, 'workflows/forbidden.ts');
    const error = await bundleWorkflowCode({ workflowsPath }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowBundleError);
    expect((error as Error).message).toMatch(/may not import 'node:fs' \(imported from .*forbidden\.ts\)/);
  });
});
