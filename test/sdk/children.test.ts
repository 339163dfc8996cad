/** Child workflows with the Kairos SDK: results, failures, cancellation, id conflicts. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '@kairos/worker';
import { eventTypes, startSdkEnvironment, uniqueName, type SdkEnvironment } from './helpers.js';

let env: SdkEnvironment;

beforeAll(async () => {
  env = await startSdkEnvironment();
});

afterAll(async () => {
  await env?.close();
});

describe('Kairos SDK child workflows', () => {
  it('runs a child and returns its result; the child knows its parent', async () => {
    const workflowId = uniqueName('parent');
    await env.withWorker(async (taskQueue) => {
      const handle = await env.client.workflow.start('parentOfGreeting', { taskQueue, workflowId, args: ['Kairos'] });
      expect(await handle.result()).toBe(`child says hello to Kairos (parent ${workflowId})`);
      const types = await eventTypes(handle);
      expect(types).toContain('START_CHILD_WORKFLOW_EXECUTION_INITIATED');
      expect(types).toContain('CHILD_WORKFLOW_EXECUTION_STARTED');
      expect(types).toContain('CHILD_WORKFLOW_EXECUTION_COMPLETED');
      await Worker.runReplayHistory({ workflowBundle: env.bundle }, await handle.fetchHistory(), workflowId);
    });
  });

  it('tells every descendant the first run of its tree (workflowInfo().root)', async () => {
    await env.withWorker(async (taskQueue) => {
      const workflowId = uniqueName('root');
      expect(await env.client.workflow.execute('reportsRoot', { taskQueue, workflowId, args: [2] })).toEqual(['none', workflowId, workflowId]);
    });
  });

  it('reports a failed child as ChildWorkflowFailure with the child failure as cause', async () => {
    await env.withWorker(async (taskQueue) => {
      const result = await env.client.workflow.execute('parentOfFailure', { taskQueue, workflowId: uniqueName('parent') });
      expect(result).toBe('caught: child broke');
    });
  });

  it('cancels a child when the scope that started it is cancelled, and waits for it', async () => {
    const workflowId = uniqueName('parent');
    await env.withWorker(async (taskQueue) => {
      const handle = await env.client.workflow.start('parentCancelsChild', { taskQueue, workflowId });
      expect(await handle.result()).toBe('child cancelled');
      const types = await eventTypes(handle);
      expect(types).toContain('REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED');
      expect(types).toContain('CHILD_WORKFLOW_EXECUTION_CANCELED');
      const child = await env.client.workflow.getHandle(`${workflowId}-child`).describe();
      expect(child.status.name).toBe('CANCELED');
      await Worker.runReplayHistory({ workflowBundle: env.bundle }, await handle.fetchHistory(), workflowId);
    });
  });

  it('fails startChild with WorkflowExecutionAlreadyStartedError when the id is taken', async () => {
    await env.withWorker(async (taskQueue) => {
      const taken = uniqueName('taken');
      await env.client.workflow.start('childWaitsForever', { taskQueue, workflowId: taken });
      const result = await env.client.workflow.execute('parentOfDuplicate', { taskQueue, workflowId: uniqueName('parent'), args: [taken] });
      expect(result).toBe(`already started: ${taken}`);
      await env.client.workflow.getHandle(taken).terminate('test over');
    });
  });
});
