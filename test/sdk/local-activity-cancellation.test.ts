/**
 * Cancelling the scope of a running local activity: the activity's Context sees the cancellation,
 * the workflow gets an ActivityFailure caused by a CancelledFailure at once (a cancelled marker is
 * recorded), and the history replays.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '@kairos/worker';
import { waitFor } from '../e2e/helpers/sdk.js';
import * as activities from './fixtures/crash-activities.js';
import { eventTypes, startSdkEnvironment, uniqueName, type SdkEnvironment } from './helpers.js';

const FIXTURE_WORKFLOWS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/crash-workflows.ts');

let env: SdkEnvironment;
let workDir: string;

beforeAll(async () => {
  env = await startSdkEnvironment(FIXTURE_WORKFLOWS);
  workDir = mkdtempSync(path.join(os.tmpdir(), 'kairos-sdk-la-cancel-'));
});

afterAll(async () => {
  await env?.close();
  rmSync(workDir, { recursive: true, force: true });
});

function lines(logFile: string): string[] {
  try {
    return readFileSync(logFile, 'utf8').split('\n').filter((line) => line !== '');
  } catch {
    return [];
  }
}

describe.each([
  { label: 'with the workflow cache', maxCachedWorkflows: undefined },
  { label: 'without it', maxCachedWorkflows: 0 },
])('local activity cancellation $label', ({ maxCachedWorkflows }) => {
  it('cancelling its scope cancels the running local activity and the workflow sees a cancellation', async () => {
    const logFile = path.join(workDir, `${uniqueName('cancel')}.log`);
    const workflowId = uniqueName('la-cancel');
    const result = await env.withWorker(
      // The timer that cancels the scope reaches the workflow with the next task, which the running
      // local activity holds back until the task's heartbeat (at 80 % of the timeout): keep it short.
      async (taskQueue) =>
        await env.client.workflow.execute('cancelLocalActivityWorkflow', { taskQueue, workflowId, args: [logFile, 300], workflowTaskTimeout: '1s' }),
      { activities, ...(maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows }) },
    );
    expect(result).toBe('cancelled: ActivityFailure');
    // The attempt's Context saw the cancellation (its catch block wrote the line).
    await waitFor(() => lines(logFile).includes(`CANCELLED-LA:cancelled:${process.pid}`) || undefined, { description: 'the activity to see its cancellation', timeoutMs: 5_000 });
    expect(lines(logFile)).toEqual([`CANCELLED-LA:1:${process.pid}`, `CANCELLED-LA:cancelled:${process.pid}`]);
    const handle = env.client.workflow.getHandle(workflowId);
    const history = await handle.fetchHistory();
    const markers = (history.events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity');
    expect(markers).toHaveLength(1);
    expect(markers[0]?.markerRecordedEventAttributes?.failure?.canceledFailureInfo).toBeTruthy();
    const types = await eventTypes(handle);
    expect(types).not.toContain('ACTIVITY_TASK_CANCEL_REQUESTED');
    expect(types).not.toContain('WORKFLOW_TASK_FAILED');
    await Worker.runReplayHistory({ workflowBundle: env.bundle }, history, workflowId);
    expect(lines(logFile)).toHaveLength(2);
  });
});
