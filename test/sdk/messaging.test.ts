/** The Kairos SDK against a Kairos server: signals, queries, signal-with-start, conditions, terminate. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueryNotRegisteredError, TerminatedFailure, WorkflowFailedError } from '@kairos/client';
import { addItemSignal, closeSignal, itemsQuery } from './workflows/basics.js';
import { eventTypes, startSdkEnvironment, uniqueName, type SdkEnvironment } from './helpers.js';

let env: SdkEnvironment;

beforeAll(async () => {
  env = await startSdkEnvironment();
});

afterAll(async () => {
  await env?.close();
});

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${String(lastError)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('Kairos SDK messaging', () => {
  it('delivers signals in order and answers queries', async () => {
    await env.withWorker(async (taskQueue) => {
      const handle = await env.client.workflow.start('collectorWorkflow', { taskQueue, workflowId: uniqueName('collector') });
      await handle.signal(addItemSignal, 'a');
      await handle.signal(addItemSignal, 'b');
      const items = await waitFor(async () => {
        const seen = await handle.query(itemsQuery);
        return seen.length === 2 ? seen : undefined;
      });
      expect(items).toEqual(['a', 'b']);
      await expect(handle.query('noSuchQuery')).rejects.toBeInstanceOf(QueryNotRegisteredError);
      await handle.signal(closeSignal);
      expect(await handle.result()).toEqual(['a', 'b']);
      // A query after completion is answered by replaying the closed run.
      expect(await handle.query(itemsQuery)).toEqual(['a', 'b']);
    });
  });

  it('starts a workflow with signal-with-start and signals it while it runs', async () => {
    await env.withWorker(async (taskQueue) => {
      const workflowId = uniqueName('sws');
      const options = { taskQueue, workflowId, signal: addItemSignal, signalArgs: ['first'] as [string] };
      const handle = await env.client.workflow.signalWithStart('collectorWorkflow', options);
      await env.client.workflow.signalWithStart('collectorWorkflow', { ...options, signalArgs: ['second'] });
      await handle.signal(closeSignal);
      expect(await handle.result()).toEqual(['first', 'second']);
      expect((await eventTypes(handle)).filter((t) => t === 'WORKFLOW_EXECUTION_STARTED')).toHaveLength(1);
    });
  });

  it('times out a condition on a durable timer, or returns true when it is met first', async () => {
    await env.withWorker(async (taskQueue) => {
      expect(await env.client.workflow.execute('conditionTimeoutWorkflow', { taskQueue, workflowId: uniqueName('cond'), args: [200] })).toBe(false);
      const handle = await env.client.workflow.start('conditionTimeoutWorkflow', { taskQueue, workflowId: uniqueName('cond'), args: [60_000] });
      await handle.signal(closeSignal);
      expect(await handle.result()).toBe(true);
      // The timer lost the race and was cancelled.
      expect(await eventTypes(handle)).toContain('TIMER_CANCELED');
    });
  });

  it('terminates a workflow', async () => {
    await env.withWorker(async (taskQueue) => {
      const handle = await env.client.workflow.start('collectorWorkflow', { taskQueue, workflowId: uniqueName('terminate') });
      await handle.terminate('enough');
      const error = await handle.result().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WorkflowFailedError);
      expect((error as WorkflowFailedError).cause).toBeInstanceOf(TerminatedFailure);
      expect((error as WorkflowFailedError).cause?.message).toBe('enough');
    });
  });
});
