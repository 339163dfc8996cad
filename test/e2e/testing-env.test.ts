/**
 * `@temporalio/testing`'s TestWorkflowEnvironment.createLocal launches `kairos` as its dev server (it
 * passes `server start-dev --port --namespace --ip --log-format --log-level ...`), runs a workflow
 * through `env.client` and `env.nativeConnection`, and tears the server down.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
let dbDir: string | undefined;
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
  // A throwaway file: the default would be the durable kairos.db in the user's data directory.
  dbDir = mkdtempSync(join(tmpdir(), 'kairos-testing-env-'));
  env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: executable }, dbFilename: join(dbDir, 'kairos.db') },
  });
});

afterAll(async () => {
  await env?.teardown();
  if (dbDir) rmSync(dbDir, { recursive: true, force: true });
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
