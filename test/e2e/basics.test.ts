/**
 * The official SDK against Kairos: activities (results, retries with backoff, non-retryable failures,
 * start-to-close and heartbeat timeouts, heartbeat details, cancellation), timers, workflow failure, id
 * conflicts and describe. Each test runs its own worker on its own task queue.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
} from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityProbe } from './activities.js';
import { startEnvironment, type E2EEnvironment } from './helpers/environment.js';
import {
  enums,
  EventType,
  eventsOfType,
  eventTypeNames,
  processedAfter,
  uniqueWorkflowId,
  type HistoryRecorder,
  waitFor,
  waitForHistory,
} from './helpers/sdk.js';
import {
  cancelActivitySignal,
  cancelActivityWorkflow,
  cancelTimerWorkflow,
  failingWorkflow,
  finishSignal,
  flakyActivityWorkflow,
  greetingWorkflow,
  heartbeatDetailsWorkflow,
  heartbeatTimeoutWorkflow,
  nonRetryableWorkflow,
  sleepWorkflow,
  startToCloseTimeoutWorkflow,
  waitForFinishWorkflow,
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

describe('activities', () => {
  it('returns the result of an activity through the workflow to the client', async () => {
    await withTaskQueue('greet', async (taskQueue) => {
      const handle = recorder.record(
        await client.workflow.start(greetingWorkflow, {
          taskQueue,
          workflowId: uniqueWorkflowId('greet'),
          args: ['Kairos'],
        }),
      );
      expect(await handle.result()).toBe('Hello, Kairos!');
      const history = await handle.fetchHistory();
      expect(eventTypeNames(history)).toEqual([
        'WORKFLOW_EXECUTION_STARTED',
        'WORKFLOW_TASK_SCHEDULED',
        'WORKFLOW_TASK_STARTED',
        'WORKFLOW_TASK_COMPLETED',
        'ACTIVITY_TASK_SCHEDULED',
        'ACTIVITY_TASK_STARTED',
        'ACTIVITY_TASK_COMPLETED',
        'WORKFLOW_TASK_SCHEDULED',
        'WORKFLOW_TASK_STARTED',
        'WORKFLOW_TASK_COMPLETED',
        'WORKFLOW_EXECUTION_COMPLETED',
      ]);
      // The worker asked to run the activity itself (request_eager_execution): it came back in the
      // workflow-task completion's response, started in the same commit, without a poll.
      if (process.env['KAIROS_E2E_SERVER_BIN'] === undefined) expect(history.events?.[5]?.activityTaskStartedEventAttributes?.requestId).toBe('eager-5');
      // The second workflow task went to the worker's sticky queue.
      expect(history.events?.[7]?.workflowTaskScheduledEventAttributes?.taskQueue?.kind).toBe(enums.TaskQueueKind.TASK_QUEUE_KIND_STICKY);
    });
  });

  it('eager workflow start: the first workflow task comes back in the start response', async () => {
    // Core hands an eager task to a worker of the same NativeConnection; a client identity of its own
    // shows who started the first task (a polled task carries the worker's identity).
    const eagerClient = new Client({ connection: env.sdk.nativeConnection, identity: 'eager-starter' });
    await withTaskQueue('eager-start', async (taskQueue) => {
      const handle = recorder.record(
        await eagerClient.workflow.start(greetingWorkflow, {
          taskQueue,
          workflowId: uniqueWorkflowId('eager-start'),
          args: ['eager'],
          requestEagerStart: true,
        }),
      );
      expect(await handle.result()).toBe('Hello, eager!');
      const history = await handle.fetchHistory();
      expect(eventTypeNames(history).slice(0, 4)).toEqual([
        'WORKFLOW_EXECUTION_STARTED',
        'WORKFLOW_TASK_SCHEDULED',
        'WORKFLOW_TASK_STARTED',
        'WORKFLOW_TASK_COMPLETED',
      ]);
      expect(history.events?.[2]?.workflowTaskStartedEventAttributes?.identity).toBe('eager-starter');
      expect(history.events?.[3]?.workflowTaskCompletedEventAttributes?.identity).not.toBe('eager-starter');
    });
  });

  it('retries a failing activity with backoff and writes only the final attempt to history', async () => {
    await withTaskQueue('retry', async (taskQueue) => {
      const key = uniqueWorkflowId('flaky');
      const handle = recorder.record(
        await client.workflow.start(flakyActivityWorkflow, { taskQueue, workflowId: key, args: [key, 2] }),
      );
      expect(await handle.result()).toBe(3);
      expect(activityProbe.attempts.get(key)).toEqual([1, 2, 3]);

      // initialInterval 100 ms, backoffCoefficient 2: attempt 2 waits >= 100 ms, attempt 3 >= 200 ms.
      const [t1, t2, t3] = activityProbe.attemptStartedAt.get(key) ?? [];
      expect(t2! - t1!).toBeGreaterThanOrEqual(90);
      expect(t3! - t2!).toBeGreaterThanOrEqual(180);

      const history = await handle.fetchHistory();
      const started = eventsOfType(history, EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED);
      expect(started, eventTypeNames(history).join(', ')).toHaveLength(1);
      expect(started[0]?.activityTaskStartedEventAttributes?.attempt).toBe(3);
      expect(started[0]?.activityTaskStartedEventAttributes?.lastFailure?.message).toBe(
        'attempt 2 fails on purpose',
      );
      expect(eventsOfType(history, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)).toHaveLength(1);
      expect(eventsOfType(history, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)).toHaveLength(1);
      expect(eventsOfType(history, EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED)).toHaveLength(0);
    });
  });

  it('delivers a non-retryable ApplicationFailure to the workflow without retrying', async () => {
    await withTaskQueue('non-retryable', async (taskQueue) => {
      const key = uniqueWorkflowId('non-retryable');
      const handle = recorder.record(
        await client.workflow.start(nonRetryableWorkflow, {
          taskQueue,
          workflowId: key,
          args: [key, 'order 17 does not exist'],
        }),
      );
      expect(await handle.result()).toEqual({
        errorName: 'ActivityFailure',
        causeName: 'ApplicationFailure',
        causeType: 'InvalidInputError',
        causeMessage: 'order 17 does not exist',
        nonRetryable: true,
        details: [{ key }],
      });
      expect(activityProbe.attempts.get(key)).toEqual([1]);

      const history = await handle.fetchHistory();
      const failed = eventsOfType(history, EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED);
      expect(failed).toHaveLength(1);
      const attributes = failed[0]?.activityTaskFailedEventAttributes;
      expect(attributes?.failure?.message).toBe('order 17 does not exist');
      expect(attributes?.failure?.applicationFailureInfo?.nonRetryable).toBe(true);
      expect(attributes?.retryState).toBe(enums.RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE);
    });
  });

  it('retries an attempt that outlived its start-to-close timeout and ignores its late completion', async () => {
    await withTaskQueue('start-to-close', async (taskQueue) => {
      const key = uniqueWorkflowId('start-to-close');
      const handle = recorder.record(
        await client.workflow.start(startToCloseTimeoutWorkflow, { taskQueue, workflowId: key, args: [key] }),
      );
      // Attempt 1 returns 1 at 3 s, after its 2 s timeout and while attempt 2 still runs: the server
      // must reject that stale completion, so only attempt 2's result counts.
      expect(await handle.result()).toBe(2);
      expect(activityProbe.attempts.get(key)).toEqual([1, 2]);

      const history = await handle.fetchHistory();
      const started = eventsOfType(history, EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED);
      expect(started).toHaveLength(1);
      const attributes = started[0]?.activityTaskStartedEventAttributes;
      expect(attributes?.attempt).toBe(2);
      expect(attributes?.lastFailure?.timeoutFailureInfo?.timeoutType).toBe(
        enums.TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE,
      );
      expect(eventsOfType(history, EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT)).toHaveLength(0);
      expect(eventsOfType(history, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)).toHaveLength(1);
    });
  });

  it('retries an attempt that stopped heartbeating past its heartbeat timeout and ignores its late completion', async () => {
    await withTaskQueue('heartbeat-timeout', async (taskQueue) => {
      const key = uniqueWorkflowId('heartbeat-timeout');
      const handle = recorder.record(
        await client.workflow.start(heartbeatTimeoutWorkflow, { taskQueue, workflowId: key, args: [key] }),
      );
      expect(await handle.result()).toBe(2);
      expect(activityProbe.attempts.get(key)).toEqual([1, 2]);

      const history = await handle.fetchHistory();
      const started = eventsOfType(history, EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED);
      expect(started).toHaveLength(1);
      const attributes = started[0]?.activityTaskStartedEventAttributes;
      expect(attributes?.attempt).toBe(2);
      expect(attributes?.lastFailure?.timeoutFailureInfo?.timeoutType).toBe(enums.TimeoutType.TIMEOUT_TYPE_HEARTBEAT);
      // The silent attempt was noticed by the server's 1 s heartbeat timeout, not by the 20 s
      // start-to-close timeout.
      const [t1, t2] = activityProbe.attemptStartedAt.get(key) ?? [];
      expect(t2! - t1!).toBeLessThan(10_000);
    });
  });

  it('hands the last heartbeat details of a failed attempt to the next attempt', async () => {
    await withTaskQueue('heartbeat-details', async (taskQueue) => {
      const key = uniqueWorkflowId('heartbeat-details');
      const handle = recorder.record(
        await client.workflow.start(heartbeatDetailsWorkflow, { taskQueue, workflowId: key, args: [key, 7] }),
      );
      expect(await handle.result()).toEqual({ attempt: 2, details: { progress: 7 } });
    });
  });

  it('delivers an activity cancellation through its heartbeat and reports it to the workflow', async () => {
    await withTaskQueue('cancel-activity', async (taskQueue) => {
      const key = uniqueWorkflowId('cancel-activity');
      const handle = recorder.record(
        await client.workflow.start(cancelActivityWorkflow, { taskQueue, workflowId: key, args: [key] }),
      );
      await waitFor(() => activityProbe.running.has(key), { description: 'the activity to be running' });
      await handle.signal(cancelActivitySignal);

      const caught = await handle.result();
      expect(caught.errorName).toBe('ActivityFailure');
      expect(caught.causeName).toBe('CancelledFailure');
      expect(activityProbe.cancelled.has(key)).toBe(true);

      const history = await handle.fetchHistory();
      expect(eventsOfType(history, EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED)).toHaveLength(1);
      const canceled = eventsOfType(history, EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED);
      expect(canceled, eventTypeNames(history).join(', ')).toHaveLength(1);
      // The activity had started, so the cancellation was acknowledged by the worker (not synthesized).
      expect(Number(canceled[0]?.activityTaskCanceledEventAttributes?.startedEventId ?? 0)).toBeGreaterThan(0);
    });
  });
});

describe('timers', () => {
  it('fires a durable timer no earlier than its duration', async () => {
    await withTaskQueue('timer', async (taskQueue) => {
      const startedAt = Date.now();
      const handle = recorder.record(
        await client.workflow.start(sleepWorkflow, { taskQueue, workflowId: uniqueWorkflowId('timer'), args: [1500] }),
      );
      const workflowElapsed = await handle.result();
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1500);
      expect(workflowElapsed).toBeGreaterThanOrEqual(1500);

      const history = await handle.fetchHistory();
      const timerStarted = eventsOfType(history, EventType.EVENT_TYPE_TIMER_STARTED);
      const timerFired = eventsOfType(history, EventType.EVENT_TYPE_TIMER_FIRED);
      expect(timerStarted).toHaveLength(1);
      expect(timerFired).toHaveLength(1);
      expect(String(timerFired[0]?.timerFiredEventAttributes?.startedEventId)).toBe(String(timerStarted[0]?.eventId));
    });
  });

  it('cancels a started timer', async () => {
    await withTaskQueue('cancel-timer', async (taskQueue) => {
      const handle = recorder.record(
        await client.workflow.start(cancelTimerWorkflow, { taskQueue, workflowId: uniqueWorkflowId('cancel-timer') }),
      );
      expect(await handle.result()).toBe('long timer cancelled');

      const history = await handle.fetchHistory();
      const [longTimer, shortTimer] = eventsOfType(history, EventType.EVENT_TYPE_TIMER_STARTED);
      const canceled = eventsOfType(history, EventType.EVENT_TYPE_TIMER_CANCELED);
      const fired = eventsOfType(history, EventType.EVENT_TYPE_TIMER_FIRED);
      expect(canceled).toHaveLength(1);
      expect(canceled[0]?.timerCanceledEventAttributes?.timerId).toBe(longTimer?.timerStartedEventAttributes?.timerId);
      expect(fired).toHaveLength(1);
      expect(fired[0]?.timerFiredEventAttributes?.timerId).toBe(shortTimer?.timerStartedEventAttributes?.timerId);
    });
  });
});

describe('workflow lifecycle', () => {
  it('reports a workflow failure to the client as WorkflowFailedError with the ApplicationFailure cause', async () => {
    await withTaskQueue('fail', async (taskQueue) => {
      const handle = recorder.record(
        await client.workflow.start(failingWorkflow, {
          taskQueue,
          workflowId: uniqueWorkflowId('fail'),
          args: ['the ledger does not balance'],
        }),
      );
      const error = await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(WorkflowFailedError);
      const cause = (error as WorkflowFailedError).cause;
      expect(cause).toBeInstanceOf(ApplicationFailure);
      expect(cause?.message).toBe('the ledger does not balance');
      expect((cause as ApplicationFailure).type).toBe('BusinessRuleViolation');
      expect((cause as ApplicationFailure).details).toEqual([42]);
      expect(cause).not.toBeInstanceOf(ActivityFailure);
      expect((await handle.describe()).status.name).toBe('FAILED');
    });
  });

  it('rejects a second start with the id of a running workflow, and allows it once that one closed', async () => {
    await withTaskQueue('id-conflict', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('id-conflict');
      const first = recorder.record(await client.workflow.start(waitForFinishWorkflow, { taskQueue, workflowId }));

      const error = await client.workflow.start(waitForFinishWorkflow, { taskQueue, workflowId }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
      expect((error as WorkflowExecutionAlreadyStartedError).workflowId).toBe(workflowId);

      await first.signal(finishSignal);
      expect(await first.result()).toBe('finished');

      // The default reuse policy (ALLOW_DUPLICATE) lets the id start a new run once the first closed.
      const second = recorder.record(await client.workflow.start(waitForFinishWorkflow, { taskQueue, workflowId }));
      expect(second.firstExecutionRunId).not.toBe(first.firstExecutionRunId);
      await second.signal(finishSignal);
      expect(await second.result()).toBe('finished');
    });
  });

  it('describes a running and then a completed workflow', async () => {
    await withTaskQueue('describe', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('describe');
      const handle = recorder.record(await client.workflow.start(waitForFinishWorkflow, { taskQueue, workflowId }));
      await waitForHistory(handle, (history) => processedAfter(history, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED));

      const running = await handle.describe();
      expect(running.workflowId).toBe(workflowId);
      expect(running.runId).toBe(handle.firstExecutionRunId);
      expect(running.status.name).toBe('RUNNING');
      expect(running.type).toBe('waitForFinishWorkflow');
      expect(running.taskQueue).toBe(taskQueue);
      expect(running.historyLength).toBeGreaterThan(0);
      expect(running.startTime).toBeInstanceOf(Date);
      expect(Math.abs(running.startTime.getTime() - Date.now())).toBeLessThan(60_000);
      expect(running.closeTime).toBeUndefined();

      await handle.signal(finishSignal);
      await handle.result();
      const closed = await handle.describe();
      expect(closed.status.name).toBe('COMPLETED');
      expect(closed.closeTime).toBeInstanceOf(Date);
      expect(closed.closeTime!.getTime()).toBeGreaterThanOrEqual(closed.startTime.getTime());
      expect(closed.historyLength).toBeGreaterThan(running.historyLength);
      expect(closed.historyLength).toBe((await handle.fetchHistory()).events?.length);
    });
  });
});

it('replays every history of this file without nondeterminism', async () => {
  expect(recorder.size).toBeGreaterThan(0);
  expect(await recorder.replayAll(env.workflowBundle)).toEqual([]);
});
