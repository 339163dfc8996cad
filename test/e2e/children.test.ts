/**
 * Child workflows and messages between workflows through the official SDK: child result and failure,
 * parent close policies, a parent cancelling its child, signals and cancel requests to other
 * workflows (including ones that do not exist).
 */
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnvironment, type E2EEnvironment } from './helpers/environment.js';
import { eventTypeNames, uniqueWorkflowId, waitFor, type HistoryRecorder } from './helpers/sdk.js';
import {
  cancelsAnother,
  childWaits,
  parentCancelsChild,
  parentLeavesChild,
  parentOfFailure,
  parentOfGreeting,
  reportsRoot,
  signalsAnother,
} from './workflows/index.js';

let env: E2EEnvironment;
let client: Client;
let recorder: HistoryRecorder;

beforeAll(async () => {
  env = await startEnvironment();
  ({ client, recorder } = env);
});

afterAll(async () => {
  await env?.close();
});

describe('child workflows', () => {
  it('returns the child result to the parent', async () => {
    await env.withTaskQueue('child-result', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('parent');
      const handle = recorder.record(await client.workflow.start(parentOfGreeting, { taskQueue, workflowId, args: ['Ada'] }));
      expect(await handle.result()).toBe(`child says hello to Ada (parent ${workflowId})`);
      const names = eventTypeNames(await handle.fetchHistory());
      expect(names).toContain('START_CHILD_WORKFLOW_EXECUTION_INITIATED');
      expect(names).toContain('CHILD_WORKFLOW_EXECUTION_STARTED');
      expect(names).toContain('CHILD_WORKFLOW_EXECUTION_COMPLETED');
      const child = recorder.record(client.workflow.getHandle(`${workflowId}-child`));
      const started = (await child.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
      expect(started?.parentWorkflowExecution?.workflowId).toBe(workflowId);
    });
  });

  it('names the first run of the tree as every descendant\'s root, as Temporal does', async () => {
    await env.withTaskQueue('child-root', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('root');
      const handle = recorder.record(await client.workflow.start(reportsRoot, { taskQueue, workflowId, args: [2] }));
      // The top run has no root in its started event; the child and the grandchild name the top run.
      expect(await handle.result()).toEqual(['none', workflowId, workflowId]);
      const top = { workflowId, runId: handle.firstExecutionRunId };
      expect((await handle.describe()).rootExecution).toEqual(top);
      for (const id of [`${workflowId}-c`, `${workflowId}-c-c`]) {
        const descendant = recorder.record(client.workflow.getHandle(id));
        expect((await descendant.describe()).rootExecution).toEqual(top);
        const started = (await descendant.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
        expect(started?.rootWorkflowExecution).toMatchObject(top);
      }
      const listed = [];
      for await (const info of client.workflow.list({ query: `WorkflowId = '${workflowId}-c-c'` })) listed.push(info.rootExecution);
      expect(listed).toEqual([top]);
      expect((await handle.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes?.rootWorkflowExecution ?? null).toBeNull();
    });
  });

  it('delivers the child failure to the parent', async () => {
    await env.withTaskQueue('child-failure', async (taskQueue) => {
      const handle = recorder.record(await client.workflow.start(parentOfFailure, { taskQueue, workflowId: uniqueWorkflowId('parent-fail') }));
      expect(await handle.result()).toBe('caught: child broke');
      expect(eventTypeNames(await handle.fetchHistory())).toContain('CHILD_WORKFLOW_EXECUTION_FAILED');
    });
  });

  it.each([
    ['TERMINATE', 'TERMINATED'],
    ['REQUEST_CANCEL', 'COMPLETED'],
    ['ABANDON', 'RUNNING'],
  ] as const)('applies parent close policy %s to a running child', async (policy, childStatus) => {
    await env.withTaskQueue(`close-policy-${policy}`, async (taskQueue) => {
      const handle = recorder.record(await client.workflow.start(parentLeavesChild, { taskQueue, workflowId: uniqueWorkflowId('leaves'), args: [policy] }));
      const childId = await handle.result();
      const child = recorder.record(client.workflow.getHandle(childId));
      await waitFor(async () => (await child.describe()).status.name === childStatus, { description: `child ${childStatus}` });
      if (policy === 'REQUEST_CANCEL') expect(await child.result()).toBe('cancelled');
      if (policy === 'ABANDON') await child.terminate('test over');
    });
  });

  it('lets a parent cancel its child', async () => {
    await env.withTaskQueue('child-cancel', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('cancels-child');
      const handle = recorder.record(await client.workflow.start(parentCancelsChild, { taskQueue, workflowId }));
      expect(await handle.result()).toBe('child cancelled');
      const child = recorder.record(client.workflow.getHandle(`${workflowId}-child`));
      expect((await child.describe()).status.name).toBe('CANCELLED');
      expect(eventTypeNames(await handle.fetchHistory())).toContain('CHILD_WORKFLOW_EXECUTION_CANCELED');
    });
  });
});

describe('external signals and cancels', () => {
  it('signals another workflow', async () => {
    await env.withTaskQueue('external-signal', async (taskQueue) => {
      const target = recorder.record(await client.workflow.start(childWaits, { taskQueue, workflowId: uniqueWorkflowId('target') }));
      const sender = recorder.record(await client.workflow.start(signalsAnother, { taskQueue, workflowId: uniqueWorkflowId('sender'), args: [target.workflowId, 'hi'] }));
      expect(await sender.result()).toBe('delivered');
      expect(await target.result()).toBe('poked with hi');
      expect(eventTypeNames(await sender.fetchHistory())).toContain('EXTERNAL_WORKFLOW_EXECUTION_SIGNALED');
    });
  });

  it('fails cleanly when signalling a workflow that does not exist', async () => {
    await env.withTaskQueue('external-signal-missing', async (taskQueue) => {
      const sender = recorder.record(await client.workflow.start(signalsAnother, { taskQueue, workflowId: uniqueWorkflowId('sender'), args: [uniqueWorkflowId('nobody'), 'hi'] }));
      expect(await sender.result()).toMatch(/^failed: /);
      expect(eventTypeNames(await sender.fetchHistory())).toContain('SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED');
    });
  });

  it('requests cancellation of another workflow', async () => {
    await env.withTaskQueue('external-cancel', async (taskQueue) => {
      const target = recorder.record(await client.workflow.start(childWaits, { taskQueue, workflowId: uniqueWorkflowId('target') }));
      const sender = recorder.record(await client.workflow.start(cancelsAnother, { taskQueue, workflowId: uniqueWorkflowId('canceller'), args: [target.workflowId] }));
      expect(await sender.result()).toBe('cancel requested');
      expect(await target.result()).toBe('cancelled');
    });
  });

  it('fails cleanly when cancelling a workflow that does not exist', async () => {
    await env.withTaskQueue('external-cancel-missing', async (taskQueue) => {
      const sender = recorder.record(await client.workflow.start(cancelsAnother, { taskQueue, workflowId: uniqueWorkflowId('canceller'), args: [uniqueWorkflowId('nobody')] }));
      expect(await sender.result()).toMatch(/^failed: /);
      expect(eventTypeNames(await sender.fetchHistory())).toContain('REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED');
    });
  });
});

it('replays every history of this file without nondeterminism', async () => {
  expect(recorder.size).toBeGreaterThan(0);
  expect(await recorder.replayAll(env.workflowBundle)).toEqual([]);
});
