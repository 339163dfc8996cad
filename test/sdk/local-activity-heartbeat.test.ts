/**
 * Workflow task heartbeats: a local activity that outlasts the workflow task timeout keeps its task
 * alive, as sdk-core does: at 80 % of the timeout the worker completes the task with what the
 * workflow issued so far and force_create_new_workflow_task, takes the new task and keeps waiting.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '@kairos/worker';
import * as activities from './fixtures/crash-activities.js';
import { eventTypes, startSdkEnvironment, uniqueName, type SdkEnvironment } from './helpers.js';

const FIXTURE_WORKFLOWS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/crash-workflows.ts');

let env: SdkEnvironment;
let workDir: string;

beforeAll(async () => {
  env = await startSdkEnvironment(FIXTURE_WORKFLOWS);
  workDir = mkdtempSync(path.join(os.tmpdir(), 'kairos-sdk-la-heartbeat-'));
});

afterAll(async () => {
  await env?.close();
  rmSync(workDir, { recursive: true, force: true });
});

function lines(logFile: string): string[] {
  return readFileSync(logFile, 'utf8').split('\n').filter((line) => line !== '');
}

describe.each([
  { label: 'sticky (the server hands the new task back)', maxCachedWorkflows: undefined },
  { label: 'without the cache (the new task is polled)', maxCachedWorkflows: 0 },
])('workflow task heartbeat, $label', ({ maxCachedWorkflows }) => {
  it('a local activity taking 3x the workflow task timeout completes without a workflow task timeout', async () => {
    const logFile = path.join(workDir, `${uniqueName('long')}.log`);
    const workflowId = uniqueName('la-heartbeat');
    const result = await env.withWorker(
      async (taskQueue) =>
        await env.client.workflow.execute('longLocalActivityWorkflow', { taskQueue, workflowId, args: [logFile, 3_000], workflowTaskTimeout: '1s' }),
      { activities, ...(maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows }) },
    );
    expect(result).toEqual([`LONG@${process.pid}`, `AFTER@${process.pid}`]);
    // The local activity ran once: the heartbeats did not start it again.
    expect(lines(logFile)).toEqual([`LONG:1:${process.pid}`, `AFTER:1:${process.pid}`]);
    const handle = env.client.workflow.getHandle(workflowId);
    const types = await eventTypes(handle);
    expect(types).not.toContain('WORKFLOW_TASK_TIMED_OUT');
    expect(types).not.toContain('WORKFLOW_TASK_FAILED');
    // 3 s at a heartbeat every 0.8 s: at least three heartbeat completions before the final one.
    expect(types.filter((t) => t === 'WORKFLOW_TASK_COMPLETED').length).toBeGreaterThanOrEqual(4);
    expect(types.filter((t) => t === 'MARKER_RECORDED')).toHaveLength(2);
    // The markers come after the heartbeats, in the task that saw the activity finish.
    const firstMarker = types.indexOf('MARKER_RECORDED');
    expect(types.slice(0, firstMarker).filter((t) => t === 'WORKFLOW_TASK_COMPLETED').length).toBeGreaterThanOrEqual(4);
    const before = lines(logFile).length;
    await Worker.runReplayHistory({ workflowBundle: env.bundle }, await handle.fetchHistory(), workflowId);
    expect(lines(logFile)).toHaveLength(before);
  });
});
