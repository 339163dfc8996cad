/**
 * `@temporalio/testing`'s TestWorkflowEnvironment.createLocal launches `kairos` as its dev server (it
 * passes `server start-dev --port --namespace --ip --log-format --log-level ...`, and no database
 * file), runs a workflow through `env.client` and `env.nativeConnection`, and tears the server down.
 * Two environments start at once, as test runners with parallel files do: each server is in memory.
 */
import net from 'node:net';
import { WorkflowNotFoundError } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as activities from './activities.js';
import { KAIROS_BIN } from './helpers/server.js';
import {
  bundleWorkflows,
  EventType,
  eventsOfType,
  HistoryRecorder,
  installQuietRuntime,
  uniqueTaskQueue,
  uniqueWorkflowId,
  waitFor,
  withWorker,
} from './helpers/sdk.js';
import { greetingWorkflow } from './workflows/index.js';

let env: TestWorkflowEnvironment | undefined;
let other: TestWorkflowEnvironment | undefined;
let workflowBundle: WorkflowBundle;
const recorder = new HistoryRecorder();

/** Resolves true if something accepts TCP connections at `host:port`. */
async function accepts(address: string): Promise<boolean> {
  const separator = address.lastIndexOf(':');
  const host = address.slice(0, separator);
  const port = Number(address.slice(separator + 1));
  return await new Promise<boolean>((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

beforeAll(async () => {
  installQuietRuntime();
  workflowBundle = await bundleWorkflows();
  const executable = process.env['KAIROS_E2E_SERVER_BIN'] ?? KAIROS_BIN;
  // No dbFilename, as most users call it: start-dev then keeps its database in memory, as Temporal's does.
  const options = { server: { executable: { type: 'existing-path', path: executable } } } as const;
  [env, other] = await Promise.all([TestWorkflowEnvironment.createLocal(options), TestWorkflowEnvironment.createLocal(options)]);
});

afterAll(async () => {
  await Promise.all([env?.teardown(), other?.teardown()]);
});

it('runs a workflow with an activity on a server launched by TestWorkflowEnvironment.createLocal', async () => {
  const testEnv = env!;
  const taskQueue = uniqueTaskQueue('testing-env');
  const result = await withWorker(
    { connection: testEnv.nativeConnection, taskQueue, workflowBundle, activities },
    async () => {
      const handle = recorder.record(
        await testEnv.client.workflow.start(greetingWorkflow, {
          taskQueue,
          workflowId: uniqueWorkflowId('testing-env'),
          args: ['test environment'],
        }),
      );
      const value = await handle.result();
      const history = await handle.fetchHistory();
      expect(eventsOfType(history, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)).toHaveLength(1);
      return value;
    },
  );
  expect(result).toBe('Hello, test environment!');
});

it('runs two environments at once, each on a database of its own', async () => {
  const workflowId = uniqueWorkflowId('testing-env-other');
  const handle = await other!.client.workflow.start(greetingWorkflow, { taskQueue: uniqueTaskQueue('testing-env-other'), workflowId, args: ['x'] });
  expect((await handle.describe()).status.name).toBe('RUNNING');
  await expect(env!.client.workflow.getHandle(workflowId).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  await handle.terminate();
});

it('replays every history of this file without nondeterminism', async () => {
  expect(recorder.size).toBeGreaterThan(0);
  expect(await recorder.replayAll(workflowBundle)).toEqual([]);
});

it('tears the launched server down', async () => {
  const testEnv = env!;
  const { address } = testEnv;
  expect(await accepts(address)).toBe(true);
  await testEnv.teardown();
  env = undefined;
  await waitFor(async () => !(await accepts(address)), {
    timeoutMs: 15_000,
    description: `the server at ${address} to stop accepting connections`,
  });
});
