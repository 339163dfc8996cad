/**
 * Signals, signal-with-start, queries, cancellation and termination through the official SDK.
 */
import {
  CancelledFailure,
  TerminatedFailure,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type Client,
} from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityProbe } from './activities.js';
import { startEnvironment, type E2EEnvironment } from './helpers/environment.js';
import {
  EventType,
  eventsOfType,
  eventTypeNames,
  hasEvent,
  processedAfter,
  uniqueWorkflowId,
  waitForHistory,
  type HistoryRecorder,
} from './helpers/sdk.js';
import {
  addItemSignal,
  cleanupOnCancelWorkflow,
  closeSignal,
  collectorWorkflow,
  itemsQuery,
  stateQuery,
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

async function withTaskQueue<R>(label: string, fn: (taskQueue: string) => Promise<R>): Promise<R> {
  return await env.withTaskQueue(label, fn);
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return await promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error,
  );
}

describe('signals', () => {
  it('delivers signals in the order they were sent', async () => {
    await withTaskQueue('signals', async (taskQueue) => {
      const handle = recorder.record(
        await client.workflow.start(collectorWorkflow, { taskQueue, workflowId: uniqueWorkflowId('signals') }),
      );
      for (const item of ['one', 'two', 'three']) await handle.signal(addItemSignal, item);
      await handle.signal(closeSignal);
      expect(await handle.result()).toEqual(['one', 'two', 'three']);

      const signaled = eventsOfType(await handle.fetchHistory(), EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
      expect(signaled.map((event) => event.workflowExecutionSignaledEventAttributes?.signalName)).toEqual([
        'addItem',
        'addItem',
        'addItem',
        'close',
      ]);
    });
  });

  it('signal-with-start starts a workflow that is not running, signal first', async () => {
    await withTaskQueue('signal-with-start-new', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('signal-with-start-new');
      const handle = recorder.record(
        await client.workflow.signalWithStart(collectorWorkflow, {
          taskQueue,
          workflowId,
          signal: addItemSignal,
          signalArgs: ['from signal-with-start'],
        }),
      );
      await handle.signal(closeSignal);
      expect(await handle.result()).toEqual(['from signal-with-start']);

      // Temporal writes the signal right after the start event, before the first workflow task.
      const history = await handle.fetchHistory();
      expect(eventTypeNames(history).slice(0, 3)).toEqual([
        'WORKFLOW_EXECUTION_STARTED',
        'WORKFLOW_EXECUTION_SIGNALED',
        'WORKFLOW_TASK_SCHEDULED',
      ]);
    });
  });

  it('signal-with-start signals the running workflow instead of starting another', async () => {
    await withTaskQueue('signal-with-start-running', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('signal-with-start-running');
      const original = recorder.record(await client.workflow.start(collectorWorkflow, { taskQueue, workflowId }));
      await original.signal(addItemSignal, 'before');

      const signaled = await client.workflow.signalWithStart(collectorWorkflow, {
        taskQueue,
        workflowId,
        signal: addItemSignal,
        signalArgs: ['via signal-with-start'],
      });
      expect(signaled.signaledRunId).toBe(original.firstExecutionRunId);

      await original.signal(closeSignal);
      expect(await original.result()).toEqual(['before', 'via signal-with-start']);
      const history = await original.fetchHistory();
      expect(eventsOfType(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)).toHaveLength(1);
    });
  });

  it('signal-with-start follows its id-conflict policy: FAIL refuses, TERMINATE_EXISTING replaces the running run', async () => {
    await withTaskQueue('signal-with-start-conflict', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('signal-with-start-conflict');
      const original = recorder.record(await client.workflow.start(collectorWorkflow, { taskQueue, workflowId }));
      const options = { taskQueue, workflowId, signal: addItemSignal, signalArgs: ['fresh'] as [string] };
      await expect(client.workflow.signalWithStart(collectorWorkflow, { ...options, workflowIdConflictPolicy: 'FAIL' })).rejects.toBeInstanceOf(
        WorkflowExecutionAlreadyStartedError,
      );
      const replacement = recorder.record(await client.workflow.signalWithStart(collectorWorkflow, { ...options, workflowIdConflictPolicy: 'TERMINATE_EXISTING' }));
      expect(replacement.signaledRunId).not.toBe(original.firstExecutionRunId);
      expect((await client.workflow.getHandle(workflowId, original.firstExecutionRunId).describe()).status.name).toBe('TERMINATED');
      await replacement.signal(closeSignal);
      expect(await replacement.result()).toEqual(['fresh']);
      const described = await client.workflow.getHandle(workflowId, replacement.signaledRunId).describe();
      // A run that replaced a terminated one heads its own chain.
      expect(described.raw.workflowExecutionInfo?.firstRunId).toBe(replacement.signaledRunId);
    });
  });

  it('takes many concurrent signals into one workflow: each request once, repeats de-duplicated, several per transition', async () => {
    await withTaskQueue('signals-concurrent', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('signals-concurrent');
      const handle = recorder.record(await client.workflow.start(collectorWorkflow, { taskQueue, workflowId }));
      const before = Number((await handle.describe()).raw.workflowExecutionInfo?.stateTransitionCount ?? 0);
      const items = Array.from({ length: 100 }, (_, i) => `item-${i}`);
      // Every request twice, all in flight at once: the copy is a retry of the same request id.
      await Promise.all(
        [...items, ...items].map((item) =>
          client.workflowService.signalWorkflowExecution({
            namespace: 'default',
            workflowExecution: { workflowId },
            signalName: 'addItem',
            input: { payloads: [defaultPayloadConverter.toPayload(item)] },
            identity: 'concurrent-test',
            requestId: `request-${item}`,
          }),
        ),
      );
      const after = Number((await handle.describe()).raw.workflowExecutionInfo?.stateTransitionCount ?? 0);
      await handle.signal(closeSignal);
      const received = await handle.result();
      expect([...received].sort()).toEqual([...items].sort());
      const signaled = eventsOfType(await handle.fetchHistory(), EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
      expect(signaled).toHaveLength(101);
      // Signals that waited for the run's lock together shared one transition (and one commit).
      expect(after - before).toBeLessThan(100);
    });
  });

  it('rejects a signal to a completed workflow', async () => {
    await withTaskQueue('signal-completed', async (taskQueue) => {
      const handle = recorder.record(
        await client.workflow.start(collectorWorkflow, { taskQueue, workflowId: uniqueWorkflowId('signal-completed') }),
      );
      await handle.signal(closeSignal);
      expect(await handle.result()).toEqual([]);
      const lengthBefore = (await handle.fetchHistory()).events?.length;

      const error = await failureOf(handle.signal(addItemSignal, 'too late'));
      expect(error).toBeInstanceOf(WorkflowNotFoundError);
      expect((error as Error).message).toMatch(/already completed/i);
      expect((await handle.fetchHistory()).events?.length).toBe(lengthBefore);
    });
  });
});

describe('queries', () => {
  it('answers queries while the workflow waits on a condition, and after it completed', async () => {
    await withTaskQueue('queries', async (taskQueue) => {
      const handle = recorder.record(
        await client.workflow.start(collectorWorkflow, { taskQueue, workflowId: uniqueWorkflowId('queries') }),
      );
      await waitForHistory(handle, (history) => processedAfter(history, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED));
      expect(await handle.query(itemsQuery)).toEqual([]);

      await handle.signal(addItemSignal, 'a');
      await handle.signal(addItemSignal, 'b');
      // A query sees every signal that was accepted before it was asked.
      expect(await handle.query(itemsQuery)).toEqual(['a', 'b']);
      expect(await handle.query(stateQuery)).toEqual({ items: 2, closed: false });

      await handle.signal(closeSignal);
      expect(await handle.result()).toEqual(['a', 'b']);
      expect(await handle.query(stateQuery)).toEqual({ items: 2, closed: true });
      expect(await handle.query(itemsQuery)).toEqual(['a', 'b']);

      // Queries leave no trace in history.
      const history = await handle.fetchHistory();
      expect(eventsOfType(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)).toHaveLength(3);
      expect(eventTypeNames(history).at(-1)).toBe('WORKFLOW_EXECUTION_COMPLETED');
    });
  });
});

describe('cancellation and termination', () => {
  it('cancels a workflow that cleans up in a non-cancellable scope and rethrows', async () => {
    await withTaskQueue('cancel', async (taskQueue) => {
      const key = uniqueWorkflowId('cancel');
      const handle = recorder.record(
        await client.workflow.start(cleanupOnCancelWorkflow, { taskQueue, workflowId: key, args: [key] }),
      );
      await waitForHistory(handle, (history) => hasEvent(history, EventType.EVENT_TYPE_TIMER_STARTED));
      await handle.cancel();

      const error = await failureOf(handle.result());
      expect(error).toBeInstanceOf(WorkflowFailedError);
      expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
      expect(activityProbe.cleanups.get(key)).toBe(1);
      expect((await handle.describe()).status.name).toBe('CANCELLED');

      const history = await handle.fetchHistory();
      const names = eventTypeNames(history);
      expect(names).toContain('WORKFLOW_EXECUTION_CANCEL_REQUESTED');
      expect(names).toContain('TIMER_CANCELED');
      expect(names).toContain('ACTIVITY_TASK_COMPLETED');
      expect(names.at(-1)).toBe('WORKFLOW_EXECUTION_CANCELED');
    });
  });

  it('terminates a workflow', async () => {
    await withTaskQueue('terminate', async (taskQueue) => {
      const handle = recorder.record(
        await client.workflow.start(collectorWorkflow, { taskQueue, workflowId: uniqueWorkflowId('terminate') }),
      );
      await waitForHistory(handle, (history) => processedAfter(history, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED));
      await handle.terminate('enough of this');

      const error = await failureOf(handle.result());
      expect(error).toBeInstanceOf(WorkflowFailedError);
      expect((error as WorkflowFailedError).cause).toBeInstanceOf(TerminatedFailure);
      expect((await handle.describe()).status.name).toBe('TERMINATED');

      const history = await handle.fetchHistory();
      const terminated = eventsOfType(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED);
      expect(terminated).toHaveLength(1);
      expect(terminated[0]?.workflowExecutionTerminatedEventAttributes?.reason).toBe('enough of this');
      expect(eventTypeNames(history).at(-1)).toBe('WORKFLOW_EXECUTION_TERMINATED');
    });
  });
});

it('replays every history of this file without nondeterminism', async () => {
  expect(recorder.size).toBeGreaterThan(0);
  expect(await recorder.replayAll(env.workflowBundle)).toEqual([]);
});
