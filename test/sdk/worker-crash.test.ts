/**
 * Worker crash recovery with the Kairos SDK's own worker: it runs in a child process that the test
 * SIGKILLs mid-workflow, and a fresh worker process carries the workflow on (it has no cache of the
 * run: it replays the full history once the server moves the task off the dead worker's sticky queue).
 * Activity runs are counted in a log file, since the workers live in other processes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { api } from '@kairos/common';
import { Worker } from '@kairos/worker';
import { waitFor } from '../e2e/helpers/sdk.js';
import type { ResumeOutcome } from './fixtures/crash-activities.js';
import { spawnKairosWorker, type KairosWorkerChild } from './fixtures/kairos-worker-child.js';
import { eventTypes, startSdkEnvironment, uniqueName, type SdkEnvironment } from './helpers.js';

const CRASH_WORKFLOWS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/crash-workflows.ts');
const TimeoutType = api.enums.v1.TimeoutType;

let env: SdkEnvironment;
let workDir: string;
let bundleFile: string;
const children: KairosWorkerChild[] = [];

beforeAll(async () => {
  env = await startSdkEnvironment(CRASH_WORKFLOWS);
  workDir = mkdtempSync(path.join(os.tmpdir(), 'kairos-sdk-worker-crash-'));
  bundleFile = path.join(workDir, 'workflow-bundle.js');
  writeFileSync(bundleFile, env.bundle.code);
});

afterAll(async () => {
  await Promise.all(children.map((child) => child.kill('SIGKILL')));
  await env?.close();
  rmSync(workDir, { recursive: true, force: true });
});

async function startChildWorker(taskQueue: string): Promise<KairosWorkerChild> {
  // After the kill, the server moves the run's task off the dead worker's sticky queue this fast.
  const child = await spawnKairosWorker({ address: env.server.grpcAddress, taskQueue, bundleFile, stickyQueueScheduleToStartTimeout: '1s' });
  children.push(child);
  return child;
}

/** The log's lines `<step>:<attempt>:<pid>`, for steps starting with `prefix`. */
function runsOf(logFile: string, prefix: string): string[] {
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((line) => line.startsWith(prefix));
}

function decodeDetails(payload: { data?: Uint8Array | null } | undefined): unknown {
  return payload?.data ? JSON.parse(Buffer.from(payload.data).toString('utf8')) : undefined;
}

it('a workflow survives a SIGKILLed worker: completed activities do not run again, a heartbeating one resumes from its details', async () => {
  const taskQueue = uniqueName('crash');
  const logFile = path.join(workDir, 'crash-recovery.log');
  const first = await startChildWorker(taskQueue);
  const handle = await env.client.workflow.start('crashRecoveryWorkflow', { taskQueue, workflowId: uniqueName('crash'), args: [logFile, 20, 100] });

  // A completed, and B (attempt 1) has a heartbeat on the server: kill the worker mid-B.
  await waitFor(
    async () => {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      return pending[0]?.heartbeatDetails?.payloads?.length ? true : undefined;
    },
    { description: 'activity B to heartbeat', timeoutMs: 20_000, intervalMs: 50 },
  );
  await first.kill('SIGKILL');
  const lastHeartbeat = decodeDetails((await handle.describe()).raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0]);
  expect(runsOf(logFile, 'A')).toEqual([`A:1:${first.pid}`]);
  expect(runsOf(logFile, 'B')).toEqual([`B:1:${first.pid}`]);

  const second = await startChildWorker(taskQueue);
  const result = (await handle.result()) as { a: string; b: ResumeOutcome; c: string };
  expect(result.a).toBe(`A@${first.pid}`);
  expect(result.b).toEqual({ attempt: 2, resumedFrom: lastHeartbeat, pid: second.pid });
  expect(result.c).toBe(`C@${second.pid}`);
  // A ran once (the new worker replayed it from history), B twice, C once.
  expect(runsOf(logFile, 'A')).toEqual([`A:1:${first.pid}`]);
  expect(runsOf(logFile, 'B')).toEqual([`B:1:${first.pid}`, `B:2:${second.pid}`]);
  expect(runsOf(logFile, 'C')).toEqual([`C:1:${second.pid}`]);

  const history = await handle.fetchHistory();
  const types = await eventTypes(handle);
  expect(types).not.toContain('WORKFLOW_TASK_FAILED');
  expect(types.filter((t) => t === 'ACTIVITY_TASK_SCHEDULED')).toHaveLength(3);
  const startedB = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes?.attempt === 2);
  expect(startedB).toHaveLength(1);
  expect(startedB[0]?.activityTaskStartedEventAttributes?.lastFailure?.timeoutFailureInfo?.timeoutType).toBe(TimeoutType.TIMEOUT_TYPE_HEARTBEAT);
  await Worker.runReplayHistory({ workflowBundle: env.bundle }, history, handle.workflowId);
});

it('a signal whose workflow task was cut short by the kill is delivered exactly once by the new worker', async () => {
  const taskQueue = uniqueName('crash-signal');
  const logFile = path.join(workDir, 'signal-during-task.log');
  const first = await startChildWorker(taskQueue);
  const handle = await env.client.workflow.start('signalDuringTaskWorkflow', {
    taskQueue,
    workflowId: uniqueName('crash-signal'),
    args: [logFile, 1_000],
    workflowTaskTimeout: '2s',
  });
  await waitFor(async () => ((await eventTypes(handle)).includes('WORKFLOW_TASK_COMPLETED') ? true : undefined), {
    description: 'the first workflow task to complete',
  });
  await handle.signal('item', 'one');
  // The signal's task is running in the child (its local activity started): kill it there.
  await waitFor(() => runsOf(logFile, 'L-').length > 0 || undefined, { description: 'the local activity to start in the child', timeoutMs: 20_000 });
  await first.kill('SIGKILL');

  const second = await startChildWorker(taskQueue);
  expect(await handle.result()).toEqual(['one']);
  // The local activity had no marker yet: the new worker ran it again (local activities are at least once).
  expect(runsOf(logFile, 'L-')).toEqual([`L-one:1:${first.pid}`, `L-one:1:${second.pid}`]);
  const types = await eventTypes(handle);
  expect(types.filter((t) => t === 'WORKFLOW_EXECUTION_SIGNALED')).toHaveLength(1);
  expect(types).toContain('WORKFLOW_TASK_TIMED_OUT');
  expect(types).not.toContain('WORKFLOW_TASK_FAILED');
  expect(types.filter((t) => t === 'MARKER_RECORDED')).toHaveLength(1);
  await Worker.runReplayHistory({ workflowBundle: env.bundle }, await handle.fetchHistory(), handle.workflowId);
});
