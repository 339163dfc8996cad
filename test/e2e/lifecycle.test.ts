/**
 * Workflow lifecycle through the official SDK: run and execution timeouts, a delayed start, local
 * activities (markers), memo on start and upserted, pending activities in describe, and the reverse
 * history used by UIs.
 */
import { TimeoutFailure, WorkflowFailedError, type Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asyncTokens, openGate } from './activities.js';
import { startEnvironment, type E2EEnvironment } from './helpers/environment.js';
import { EventType, eventsOfType, eventTypeNames, uniqueWorkflowId, waitFor, type HistoryRecorder } from './helpers/sdk.js';
import { asyncCompletionWorkflow, countdownWorkflow, cronCounter, gatedActivityWorkflow, retriedWorkflow, localActivityWorkflow, memoWorkflow, sleepLongWorkflow } from './workflows/index.js';

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

describe('workflow timeouts', () => {
  it.each([
    ['run', { workflowRunTimeout: '1s' }],
    ['execution', { workflowExecutionTimeout: '1s' }],
  ] as const)('times out a workflow past its %s timeout', async (_label, timeouts) => {
    await env.withTaskQueue('wf-timeout', async (taskQueue) => {
      const handle = recorder.record(await client.workflow.start(sleepLongWorkflow, { taskQueue, workflowId: uniqueWorkflowId('wf-timeout'), args: [60_000], ...timeouts }));
      const err = await handle.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect((err as WorkflowFailedError).cause).toBeInstanceOf(TimeoutFailure);
      expect(((err as WorkflowFailedError).cause as TimeoutFailure).timeoutType).toBe('START_TO_CLOSE');
      const names = eventTypeNames(await handle.fetchHistory());
      expect(names.at(-1)).toBe('WORKFLOW_EXECUTION_TIMED_OUT');
      expect((await handle.describe()).status.name).toBe('TIMED_OUT');
    });
  });
});

describe('start options', () => {
  it('delays the first workflow task by the start delay', async () => {
    await env.withTaskQueue('start-delay', async (taskQueue) => {
      const started = Date.now();
      const handle = recorder.record(await client.workflow.start(sleepLongWorkflow, { taskQueue, workflowId: uniqueWorkflowId('start-delay'), args: [1], startDelay: '1500ms' }));
      expect(await handle.result()).toBe('woke up');
      expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
      const history = await handle.fetchHistory();
      const startedAttrs = history.events?.[0]?.workflowExecutionStartedEventAttributes;
      expect(Number(startedAttrs?.firstWorkflowTaskBackoff?.seconds ?? 0) * 1000 + (startedAttrs?.firstWorkflowTaskBackoff?.nanos ?? 0) / 1e6).toBe(1500);
      expect(eventTypeNames(history).slice(0, 2)).toEqual(['WORKFLOW_EXECUTION_STARTED', 'WORKFLOW_TASK_SCHEDULED']);
    });
  });

  it('keeps the start memo and applies memo upserts', async () => {
    await env.withTaskQueue('memo', async (taskQueue) => {
      const handle = recorder.record(await client.workflow.start(memoWorkflow, { taskQueue, workflowId: uniqueWorkflowId('memo'), memo: { initial: 'hello' } }));
      expect(await handle.result()).toBe('hello');
      const described = await handle.describe();
      expect(described.memo).toEqual({ initial: 'hello', stage: 'upserted' });
      expect(eventTypeNames(await handle.fetchHistory())).toContain('WORKFLOW_PROPERTIES_MODIFIED');
    });
  });
});

describe('activities seen from outside', () => {
  it('runs a local activity, recorded as a marker', async () => {
    await env.withTaskQueue('local-activity', async (taskQueue) => {
      const handle = recorder.record(await client.workflow.start(localActivityWorkflow, { taskQueue, workflowId: uniqueWorkflowId('local'), args: ['local'] }));
      expect(await handle.result()).toBe('Hello, local!');
      const history = await handle.fetchHistory();
      expect(eventsOfType(history, EventType.EVENT_TYPE_MARKER_RECORDED)).toHaveLength(1);
      expect(eventsOfType(history, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)).toHaveLength(0);
    });
  });

  it('lists a running activity as pending in describe', async () => {
    await env.withTaskQueue('pending', async (taskQueue) => {
      const key = uniqueWorkflowId('gate');
      const handle = recorder.record(await client.workflow.start(gatedActivityWorkflow, { taskQueue, workflowId: uniqueWorkflowId('pending'), args: [key] }));
      const described = await waitFor(async () => {
        const d = await handle.describe();
        const pending = d.raw.pendingActivities ?? [];
        return pending.length === 1 && pending[0]?.state === 2 /* STARTED */ ? d : undefined;
      });
      const pending = described.raw.pendingActivities![0]!;
      expect(pending.activityType?.name).toBe('gated');
      expect(pending.attempt).toBe(1);
      openGate(key);
      await handle.result();
      expect((await handle.describe()).raw.pendingActivities ?? []).toHaveLength(0);
    });
  });
});

describe('asynchronous activity completion', () => {
  it('heartbeats and completes an activity by task token', async () => {
    await env.withTaskQueue('async-token', async (taskQueue) => {
      const key = uniqueWorkflowId('async-token');
      const handle = recorder.record(await client.workflow.start(asyncCompletionWorkflow, { taskQueue, workflowId: uniqueWorkflowId('async'), args: [key] }));
      const token = await waitFor(() => asyncTokens.get(key));
      await client.activity.heartbeat(token, 'progress');
      await client.activity.complete(token, 'done by token');
      expect(await handle.result()).toBe('done by token');
      // The token is spent: a second completion changes nothing and is refused.
      await expect(client.activity.complete(token, 'again')).rejects.toThrow();
    });
  });

  it('heartbeats and completes an activity by workflow id and activity id', async () => {
    await env.withTaskQueue('async-id', async (taskQueue) => {
      const key = uniqueWorkflowId('async-id');
      const workflowId = uniqueWorkflowId('async-by-id');
      const handle = recorder.record(await client.workflow.start(asyncCompletionWorkflow, { taskQueue, workflowId, args: [key] }));
      await waitFor(() => asyncTokens.get(key));
      const fullId = { workflowId, runId: handle.firstExecutionRunId, activityId: '1' };
      await client.activity.heartbeat(fullId, 'progress');
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      expect(pending[0]?.heartbeatDetails?.payloads).toHaveLength(1);
      await client.activity.complete(fullId, 'done by id');
      expect(await handle.result()).toBe('done by id');
    });
  });

  it('fails an activity by id and the workflow sees the failure', async () => {
    await env.withTaskQueue('async-fail', async (taskQueue) => {
      const key = uniqueWorkflowId('async-fail');
      const workflowId = uniqueWorkflowId('async-fail');
      const handle = recorder.record(await client.workflow.start(asyncCompletionWorkflow, { taskQueue, workflowId, args: [key] }));
      await waitFor(() => asyncTokens.get(key));
      const { ApplicationFailure } = await import('@temporalio/common');
      await client.activity.fail({ workflowId, runId: handle.firstExecutionRunId, activityId: '1' }, ApplicationFailure.nonRetryable('gave up', 'AsyncGiveUp'));
      const err = await handle.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(String(((err as WorkflowFailedError).cause?.cause as Error | undefined)?.message)).toBe('gave up');
    });
  });
});

describe('new runs of the same workflow id', () => {
  it('continues as new, and the client follows the chain to the last result', async () => {
    await env.withTaskQueue('continue-as-new', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('can');
      const handle = await client.workflow.start(countdownWorkflow, { taskQueue, workflowId, args: [3, 0] });
      expect(await handle.result()).toBe(6);
      const first = client.workflow.getHandle(workflowId, handle.firstExecutionRunId);
      recorder.record(first);
      const firstHistory = await first.fetchHistory();
      const names = eventTypeNames(firstHistory);
      expect(names.at(-1)).toBe('WORKFLOW_EXECUTION_CONTINUED_AS_NEW');
      const next = firstHistory.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
      expect(next).toBeTruthy();
      expect((await first.describe()).status.name).toBe('CONTINUED_AS_NEW');
      const second = client.workflow.getHandle(workflowId, next!);
      recorder.record(second);
      const started = (await second.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
      expect(started?.continuedExecutionRunId).toBe(handle.firstExecutionRunId);
      expect(started?.firstExecutionRunId).toBe(handle.firstExecutionRunId);
      const current = await client.workflow.getHandle(workflowId).describe();
      expect(current.status.name).toBe('COMPLETED');
      expect(current.runId).not.toBe(handle.firstExecutionRunId);
    });
  });

  it('retries a failing workflow under its retry policy', async () => {
    await env.withTaskQueue('wf-retry', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('wf-retry');
      const handle = await client.workflow.start(retriedWorkflow, {
        taskQueue,
        workflowId,
        args: [3],
        retry: { initialInterval: '100ms', backoffCoefficient: 1, maximumAttempts: 5 },
      });
      expect(await handle.result()).toBe(3);
      const first = client.workflow.getHandle(workflowId, handle.firstExecutionRunId);
      recorder.record(first);
      const last = (await first.fetchHistory()).events?.at(-1);
      expect(last?.workflowExecutionFailedEventAttributes?.newExecutionRunId).toBeTruthy();
      expect(last?.workflowExecutionFailedEventAttributes?.retryState).toBe(1 /* IN_PROGRESS */);
    });
  });

  it('runs a cron workflow on a seconds schedule, passing each result to the next run', async () => {
    await env.withTaskQueue('cron', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('cron');
      const handle = await client.workflow.start(cronCounter, { taskQueue, workflowId, cronSchedule: '*/2 * * * * *' });
      // Follow the chain of runs through each close event's new run id.
      const runs: Array<{ runId: string; firstTaskAtMs: number; result: number }> = [];
      let runId = handle.firstExecutionRunId;
      while (runs.length < 3) {
        const run = client.workflow.getHandle(workflowId, runId);
        const history = await waitFor(async () => {
          const h = await run.fetchHistory();
          return h.events?.at(-1)?.workflowExecutionCompletedEventAttributes ? h : undefined;
        }, { timeoutMs: 20_000, description: `run ${runs.length + 1} completed` });
        recorder.record(run);
        const completed = history.events!.at(-1)!.workflowExecutionCompletedEventAttributes!;
        const scheduled = history.events!.find((e) => e.workflowTaskScheduledEventAttributes)!;
        const seconds = Number(scheduled.eventTime?.seconds ?? 0);
        const result = JSON.parse(Buffer.from(completed.result!.payloads![0]!.data!).toString()) as number;
        runs.push({ runId, firstTaskAtMs: seconds * 1000 + Math.floor((scheduled.eventTime?.nanos ?? 0) / 1e6), result });
        runId = completed.newExecutionRunId!;
        expect(runId).toBeTruthy();
      }
      await client.workflow.getHandle(workflowId).terminate('cron test over');
      expect(runs.map((r) => r.result)).toEqual([1, 2, 3]);
      // Each run's first workflow task comes at a fire time of the schedule (even seconds), in order.
      for (const [i, r] of runs.entries()) {
        expect(Math.floor(r.firstTaskAtMs / 1000) % 2).toBe(0);
        if (i > 0) expect(r.firstTaskAtMs).toBeGreaterThan(runs[i - 1]!.firstTaskAtMs);
      }
      const started = (await client.workflow.getHandle(workflowId, runs[1]!.runId).fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
      expect(started?.initiator).toBe(3 /* CRON_SCHEDULE */);
      expect(started?.cronSchedule).toBe('*/2 * * * * *');
    });
  });

  it('rejects a malformed cron schedule with INVALID_ARGUMENT', async () => {
    const err = await client.workflow
      .start(cronCounter, { taskQueue: 'unused', workflowId: uniqueWorkflowId('bad-cron'), cronSchedule: 'every day at noon' })
      .catch((e: unknown) => e as Error & { cause?: { code?: number; details?: string } });
    expect(err).toBeInstanceOf(Error);
    expect((err as { cause?: { code?: number } }).cause?.code).toBe(3 /* INVALID_ARGUMENT */);
    expect((err as { cause?: { details?: string } }).cause?.details).toMatch(/^Invalid CronSchedule: invalid cron schedule "every day at noon"/);
  });

  it('gives up when the workflow retry policy is exhausted', async () => {
    await env.withTaskQueue('wf-retry-exhausted', async (taskQueue) => {
      const handle = recorder.record(
        await client.workflow.start(retriedWorkflow, {
          taskQueue,
          workflowId: uniqueWorkflowId('wf-retry-exhausted'),
          args: [10],
          retry: { initialInterval: '100ms', maximumAttempts: 2 },
        }),
      );
      const err = await handle.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect((err as WorkflowFailedError).retryState).toBe('MAXIMUM_ATTEMPTS_REACHED');
      expect(((err as WorkflowFailedError).cause as Error | undefined)?.message).toBe('attempt 2 fails');
    });
  });
});

it('describes a task queue with its pollers', async () => {
  await env.withTaskQueue('describe-tq', async (taskQueue) => {
    const describe = (taskQueueType: number) =>
      env.sdk.connection.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue }, taskQueueType, includeTaskQueueStatus: true });
    const workflowPollers = await waitFor(async () => {
      const d = await describe(1 /* WORKFLOW */);
      return (d.pollers ?? []).length > 0 ? d : undefined;
    });
    expect(workflowPollers.pollers?.[0]?.identity).toMatch(/@/);
    expect(Number(workflowPollers.taskQueueStatus?.backlogCountHint ?? 0)).toBe(0);
    const activityPollers = await waitFor(async () => {
      const d = await describe(2 /* ACTIVITY */);
      return (d.pollers ?? []).length > 0 ? d : undefined;
    });
    expect(activityPollers.pollers?.[0]?.identity).toBe(workflowPollers.pollers?.[0]?.identity);
    const unknown = await env.sdk.connection.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: `${taskQueue}-nobody` }, taskQueueType: 1 });
    expect(unknown.pollers ?? []).toHaveLength(0);
  });
});

it('serves the history in reverse, page by page', async () => {
  await env.withTaskQueue('reverse', async (taskQueue) => {
    const handle = recorder.record(await client.workflow.start(sleepLongWorkflow, { taskQueue, workflowId: uniqueWorkflowId('reverse'), args: [10] }));
    await handle.result();
    const forward = (await handle.fetchHistory()).events ?? [];
    const ids: number[] = [];
    let nextPageToken: Uint8Array | undefined;
    do {
      const page = await env.sdk.connection.workflowService.getWorkflowExecutionHistoryReverse({
        namespace: 'default',
        execution: { workflowId: handle.workflowId },
        maximumPageSize: 3,
        nextPageToken,
      });
      ids.push(...(page.history?.events ?? []).map((e) => Number(e.eventId)));
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken);
    expect(ids).toEqual(forward.map((e) => Number(e.eventId)).reverse());
  });
});

it('replays every history of this file without nondeterminism', async () => {
  expect(recorder.size).toBeGreaterThan(0);
  expect(await recorder.replayAll(env.workflowBundle)).toEqual([]);
});
