/** Patching with the Kairos SDK: old runs replay on patched code, new runs take the new path. */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleWorkflowCode, NondeterminismError, Worker, type WorkflowBundle } from '@kairos/worker';
import { eventTypes, startSdkEnvironment, uniqueName, type SdkEnvironment } from './helpers.js';

let env: SdkEnvironment;
let v2: WorkflowBundle;
let v3: WorkflowBundle;

beforeAll(async () => {
  env = await startSdkEnvironment();
  const bundle = (file: string) => bundleWorkflowCode({ workflowsPath: path.join(import.meta.dirname, 'workflows', file) });
  [v2, v3] = await Promise.all([bundle('patched-v2.ts'), bundle('patched-v3.ts')]);
});

afterAll(async () => {
  await env?.close();
});

describe('patched / deprecatePatch', () => {
  it('replays version 1 histories on version 2, and version 2 runs take the new path and replay on version 3', async () => {
    const v1History = await env.withWorker(async (taskQueue) => {
      const handle = await env.client.workflow.start('patchableWorkflow', { taskQueue, workflowId: uniqueName('v1') });
      expect(await handle.result()).toBe('v1');
      return await handle.fetchHistory();
    });
    await Worker.runReplayHistory({ workflowBundle: v2 }, v1History, 'v1-on-v2');

    const v2Handle = await env.withWorker(
      async (taskQueue) => {
        const handle = await env.client.workflow.start('patchableWorkflow', { taskQueue, workflowId: uniqueName('v2') });
        expect(await handle.result()).toBe('Hello, v2!');
        return handle;
      },
      { workflowBundle: v2 },
    );
    expect(await eventTypes(v2Handle)).toContain('MARKER_RECORDED');
    const v2History = await v2Handle.fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: v2 }, v2History, 'v2-on-v2');
    await Worker.runReplayHistory({ workflowBundle: v3 }, v2History, 'v2-on-v3');

    // Version 1 code cannot replay a run that took the patched path.
    const error = await Worker.runReplayHistory({ workflowBundle: env.bundle }, v2History, 'v2-on-v1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NondeterminismError);
    expect((error as Error).message).toMatch(/MarkerRecorded \{markerName: 'core_patch', patchId: 'use-activity'\}.*StartTimer/);
  });
});
