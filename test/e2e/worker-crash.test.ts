/**
 * Worker crash recovery: the first worker runs in a child process and is SIGKILLed; a fresh worker (no
 * cache, so it must rebuild the workflow by replaying the full history) carries the workflow on.
 * Executions are counted in a file, since the two workers live in different processes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as activities from './activities.js';
import { startEnvironment, type E2EEnvironment } from './helpers/environment.js';
import {
  enums,
  EventType,
  eventsOfType,
  processedAfter,
  uniqueTaskQueue,
  uniqueWorkflowId,
  waitFor,
  waitForHistory,
  withWorker,
  type HistoryRecorder,
} from './helpers/sdk.js';
import { spawnWorkerProcess, type WorkerChild } from './helpers/worker-child.js';
import { awaitReleaseWorkflow, proceedSignal, twoStepWorkflow } from './workflows/index.js';

let env: E2EEnvironment;
let client: Client;
let recorder: HistoryRecorder;
let workDir: string | undefined;
let bundleFile: string;
const children: WorkerChild[] = [];

beforeAll(async () => {
  env = await startEnvironment();
  ({ client, recorder } = env);
  workDir = mkdtempSync(path.join(os.tmpdir(), 'kairos-worker-crash-'));
  bundleFile = path.join(workDir, 'workflow-bundle.js');
  writeFileSync(bundleFile, env.workflowBundle.code);
});

afterAll(async () => {
  await Promise.all(children.map((child) => child.kill('SIGKILL')));
  await env?.close();
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

function executionCounts(counterFile: string): Record<string, number> {
  const counts: Record<string, number> = {};
  let text = '';
  try {
    text = readFileSync(counterFile, 'utf8');
  } catch {
    return counts;
  }
  for (const name of text.split('\n').filter((line) => line !== '')) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

async function startChildWorker(taskQueue: string): Promise<WorkerChild> {
  const child = await spawnWorkerProcess({
    address: env.server.address,
    taskQueue,
    bundleFile,
    // After the kill, the server moves the workflow off the dead worker's sticky queue this fast.
    stickyQueueScheduleToStartTimeout: '1s',
  });
  children.push(child);
  return child;
}

it('continues a workflow on a new worker after the first was killed, without re-running completed activities', async () => {
  const taskQueue = uniqueTaskQueue('worker-crash');
  const counterFile = path.join(workDir!, 'two-step.log');
  const child = await startChildWorker(taskQueue);

  const handle = recorder.record(
    await client.workflow.start(twoStepWorkflow, {
      taskQueue,
      workflowId: uniqueWorkflowId('worker-crash'),
      args: [counterFile],
    }),
  );
  // Activity A completed and the workflow has processed it: it now waits for the signal.
  await waitForHistory(handle, (history) => processedAfter(history, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED));
  expect(executionCounts(counterFile)).toEqual({ A: 1 });

  await child.kill('SIGKILL');
  await handle.signal(proceedSignal);

  const result = await withWorker(
    { connection: env.sdk.nativeConnection, taskQueue, workflowBundle: env.workflowBundle, activities },
    async () => await handle.result(),
  );
  expect(result).toEqual([`A@${child.pid}`, `B@${process.pid}`]);
  expect(executionCounts(counterFile)).toEqual({ A: 1, B: 1 });

  const history = await handle.fetchHistory();
  expect(eventsOfType(history, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)).toHaveLength(2);
  expect(eventsOfType(history, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)).toHaveLength(2);
});

it('retries on a new worker an activity whose worker was killed mid-attempt, after its start-to-close timeout', async () => {
  const taskQueue = uniqueTaskQueue('worker-crash-activity');
  const counterFile = path.join(workDir!, 'await-release.log');
  const releaseFile = path.join(workDir!, 'await-release.go');
  const child = await startChildWorker(taskQueue);

  const handle = recorder.record(
    await client.workflow.start(awaitReleaseWorkflow, {
      taskQueue,
      workflowId: uniqueWorkflowId('worker-crash-activity'),
      args: [counterFile, releaseFile],
    }),
  );
  // The first attempt is running in the child (it wrote its line and waits for the release file).
  await waitFor(() => executionCounts(counterFile)['C'] === 1, { description: 'attempt 1 to start in the child' });
  await child.kill('SIGKILL');
  writeFileSync(releaseFile, 'go');

  const result = await withWorker(
    { connection: env.sdk.nativeConnection, taskQueue, workflowBundle: env.workflowBundle, activities },
    async () => await handle.result(),
  );
  expect(result).toBe(`C@${process.pid}`);
  expect(executionCounts(counterFile)).toEqual({ C: 2 });

  const history = await handle.fetchHistory();
  const started = eventsOfType(history, EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED);
  expect(started).toHaveLength(1);
  expect(started[0]?.activityTaskStartedEventAttributes?.attempt).toBe(2);
  expect(started[0]?.activityTaskStartedEventAttributes?.lastFailure?.timeoutFailureInfo?.timeoutType).toBe(
    enums.TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE,
  );
});

it('replays every history of this file without nondeterminism', async () => {
  expect(recorder.size).toBeGreaterThan(0);
  expect(await recorder.replayAll(env.workflowBundle)).toEqual([]);
});
