/**
 * Sticky execution at the protocol level: this file plays the worker with raw RPCs, so that it can
 * stop polling, fail a task or shut down exactly when it wants. Checked: the next task goes to the
 * sticky queue with only the events the worker has not seen; it moves to the normal queue (full
 * history) after the sticky schedule-to-start timeout, at once when the sticky worker is gone or shut
 * down, and after a failure. The official SDK's worker runs sticky in every other file of the suite.
 */
import type { Client, Connection } from '@temporalio/client';
import Long from 'long';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnvironment, type E2EEnvironment } from './helpers/environment.js';
import { enums, EventType, uniqueTaskQueue, uniqueWorkflowId, type HistoryEvent } from './helpers/sdk.js';

const { TaskQueueKind, TimeoutType, CommandType, WorkflowTaskFailedCause } = enums;

let env: E2EEnvironment;
let client: Client;
let connection: Connection;

beforeAll(async () => {
  env = await startEnvironment();
  client = env.client;
  connection = env.sdk.connection;
});

afterAll(async () => {
  await env?.close();
});

type PollResponse = Awaited<ReturnType<Connection['workflowService']['pollWorkflowTaskQueue']>>;

/** One long poll, cut short after `waitMs` (an empty response then). */
async function poll(name: string, kind: number, waitMs = 5_000): Promise<PollResponse> {
  return await connection.withDeadline(Date.now() + waitMs, () =>
    connection.workflowService.pollWorkflowTaskQueue({
      namespace: 'default',
      taskQueue: { name, kind, ...(kind === TaskQueueKind.TASK_QUEUE_KIND_STICKY ? { normalName: 'unused' } : {}) },
      identity: 'protocol-test',
    }),
  );
}

async function complete(task: { taskToken?: Uint8Array | null }, stickyQueue: string | null, commands: object[] = [], scheduleToStartMs = 10_000): Promise<void> {
  await connection.workflowService.respondWorkflowTaskCompleted({
    namespace: 'default',
    taskToken: task.taskToken,
    identity: 'protocol-test',
    commands,
    ...(stickyQueue
      ? {
          stickyAttributes: {
            workerTaskQueue: { name: stickyQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_STICKY },
            scheduleToStartTimeout: { seconds: Long.fromNumber(Math.floor(scheduleToStartMs / 1000)), nanos: (scheduleToStartMs % 1000) * 1e6 },
          },
        }
      : {}),
  });
}

const completeWorkflow = { commandType: CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION, completeWorkflowExecutionCommandAttributes: {} };

const ids = (events: readonly HistoryEvent[] | null | undefined): number[] => (events ?? []).map((e) => Number(e.eventId));
const typeNames = (events: readonly HistoryEvent[]): string[] => events.map((e) => EventType[e.eventType ?? 0] ?? 'unknown');

/** Starts a workflow, runs its first task from the normal queue and asks for stickiness. */
async function startSticky(label: string, scheduleToStartMs = 10_000): Promise<{ workflowId: string; taskQueue: string; stickyQueue: string }> {
  const taskQueue = uniqueTaskQueue(label);
  const stickyQueue = `${taskQueue}-sticky`;
  const workflowId = uniqueWorkflowId(label);
  await client.workflow.start('ProtocolWorkflow', { taskQueue, workflowId });
  const first = await poll(taskQueue, TaskQueueKind.TASK_QUEUE_KIND_NORMAL);
  expect(ids(first.history?.events)).toEqual([1, 2, 3]);
  await complete(first, stickyQueue, [], scheduleToStartMs);
  return { workflowId, taskQueue, stickyQueue };
}

async function historyOf(workflowId: string): Promise<HistoryEvent[]> {
  return (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
}

describe('sticky execution', () => {
  it('sends the next task to the sticky queue with only the events after the last completed task', async () => {
    const { workflowId, stickyQueue } = await startSticky('sticky-partial');
    // The worker polls its sticky queue, as SDK workers do all the time.
    const waiting = poll(stickyQueue, TaskQueueKind.TASK_QUEUE_KIND_STICKY);
    await client.workflow.getHandle(workflowId).signal('go');
    const task = await waiting;
    expect(Number(task.previousStartedEventId)).toBe(3);
    expect(ids(task.history?.events)).toEqual([4, 5, 6, 7]);
    const scheduled = task.history!.events![2]!;
    expect(scheduled.workflowTaskScheduledEventAttributes?.taskQueue?.name).toBe(stickyQueue);
    expect(scheduled.workflowTaskScheduledEventAttributes?.taskQueue?.kind).toBe(TaskQueueKind.TASK_QUEUE_KIND_STICKY);
    await complete(task, stickyQueue, [completeWorkflow]);
    expect((await client.workflow.getHandle(workflowId).describe()).status.name).toBe('COMPLETED');
  });

  it('moves a task the sticky worker does not take in time to the normal queue, with the full history', async () => {
    const { workflowId, taskQueue, stickyQueue } = await startSticky('sticky-timeout', 1_000);
    await poll(stickyQueue, TaskQueueKind.TASK_QUEUE_KIND_STICKY, 200); // the worker was there a moment ago
    await client.workflow.getHandle(workflowId).signal('go');
    const task = await poll(taskQueue, TaskQueueKind.TASK_QUEUE_KIND_NORMAL, 10_000);
    expect(ids(task.history?.events)[0]).toBe(1);
    const events = task.history!.events!;
    expect(typeNames(events.slice(4))).toEqual([
      'EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED',
      'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED',
      'EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT',
      'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED',
      'EVENT_TYPE_WORKFLOW_TASK_STARTED',
    ]);
    const timedOut = events[6]!.workflowTaskTimedOutEventAttributes!;
    expect(timedOut.timeoutType).toBe(TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START);
    expect(Number(timedOut.scheduledEventId)).toBe(6);
    expect(events[7]!.workflowTaskScheduledEventAttributes?.taskQueue?.kind).toBe(TaskQueueKind.TASK_QUEUE_KIND_NORMAL);
    expect(events[7]!.workflowTaskScheduledEventAttributes?.attempt).toBe(1);
    // Without sticky attributes in this completion the run is not sticky any more.
    await complete(task, null, [completeWorkflow]);
    expect((await client.workflow.getHandle(workflowId).describe()).status.name).toBe('COMPLETED');
  });

  it('sends the task to the normal queue at once when nobody has polled the sticky queue lately', async () => {
    const { workflowId, taskQueue } = await startSticky('sticky-gone');
    await client.workflow.getHandle(workflowId).signal('go');
    const task = await poll(taskQueue, TaskQueueKind.TASK_QUEUE_KIND_NORMAL, 3_000);
    expect(ids(task.history?.events)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    await complete(task, null, [completeWorkflow]);
    expect(typeNames(await historyOf(workflowId))).not.toContain('EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT');
  });

  it('returns the next task in the completion to a worker that is not sticky, with the whole history', async () => {
    const taskQueue = uniqueTaskQueue('return-new-task');
    const workflowId = uniqueWorkflowId('return-new-task');
    await client.workflow.start('ProtocolWorkflow', { taskQueue, workflowId });
    const first = await poll(taskQueue, TaskQueueKind.TASK_QUEUE_KIND_NORMAL);
    // A workflow-task heartbeat (a long local activity): no commands, a new task forced and asked for.
    const response = await connection.workflowService.respondWorkflowTaskCompleted({
      namespace: 'default',
      taskToken: first.taskToken,
      identity: 'protocol-test',
      commands: [],
      forceCreateNewWorkflowTask: true,
      returnNewWorkflowTask: true,
    });
    const next = response.workflowTask!;
    expect(Number(next.startedEventId)).toBe(6);
    expect(Number(next.previousStartedEventId)).toBe(3);
    expect(ids(next.history?.events)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(next.history!.events![5]!.workflowTaskStartedEventAttributes?.requestId).toBe('request-from-RespondWorkflowTaskCompleted');
    await complete(next, null, [completeWorkflow]);
    expect(typeNames(await historyOf(workflowId))).toEqual([
      'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED',
      'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED',
      'EVENT_TYPE_WORKFLOW_TASK_STARTED',
      'EVENT_TYPE_WORKFLOW_TASK_COMPLETED',
      'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED',
      'EVENT_TYPE_WORKFLOW_TASK_STARTED',
      'EVENT_TYPE_WORKFLOW_TASK_COMPLETED',
      'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED',
    ]);
  });

  it('moves the waiting task to the normal queue when the sticky worker shuts down', async () => {
    const { workflowId, taskQueue, stickyQueue } = await startSticky('sticky-shutdown', 60_000);
    await poll(stickyQueue, TaskQueueKind.TASK_QUEUE_KIND_STICKY, 200);
    await client.workflow.getHandle(workflowId).signal('go');
    // The task now waits on the sticky queue (the worker polled a moment ago); the worker leaves.
    await connection.workflowService.shutdownWorker({ namespace: 'default', stickyTaskQueue: stickyQueue, identity: 'protocol-test', reason: 'test' });
    const task = await poll(taskQueue, TaskQueueKind.TASK_QUEUE_KIND_NORMAL, 3_000);
    expect(ids(task.history?.events)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    await complete(task, null, [completeWorkflow]);
    expect(typeNames(await historyOf(workflowId))).not.toContain('EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT');
  });

  it('retries a task that failed on the sticky worker on the normal queue, as the same attempt', async () => {
    const { workflowId, taskQueue, stickyQueue } = await startSticky('sticky-failed');
    const waiting = poll(stickyQueue, TaskQueueKind.TASK_QUEUE_KIND_STICKY);
    await client.workflow.getHandle(workflowId).signal('go');
    const task = await waiting;
    await connection.workflowService.respondWorkflowTaskFailed({
      namespace: 'default',
      taskToken: task.taskToken,
      cause: WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_STICKY_TASK_QUEUE,
      identity: 'protocol-test',
    });
    const retry = await poll(taskQueue, TaskQueueKind.TASK_QUEUE_KIND_NORMAL, 3_000);
    expect(retry.attempt).toBe(1);
    const events = retry.history!.events!;
    expect(ids(events)[0]).toBe(1);
    expect(typeNames(events.slice(7))).toEqual(['EVENT_TYPE_WORKFLOW_TASK_FAILED', 'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED', 'EVENT_TYPE_WORKFLOW_TASK_STARTED']);
    expect(events[8]!.workflowTaskScheduledEventAttributes?.taskQueue?.kind).toBe(TaskQueueKind.TASK_QUEUE_KIND_NORMAL);
    await complete(retry, null, [completeWorkflow]);
  });

  it('ResetStickyTaskQueue sends the next task to the normal queue', async () => {
    const { workflowId, taskQueue, stickyQueue } = await startSticky('sticky-reset');
    await poll(stickyQueue, TaskQueueKind.TASK_QUEUE_KIND_STICKY, 200);
    await connection.workflowService.resetStickyTaskQueue({ namespace: 'default', execution: { workflowId } });
    await client.workflow.getHandle(workflowId).signal('go');
    const task = await poll(taskQueue, TaskQueueKind.TASK_QUEUE_KIND_NORMAL, 3_000);
    const scheduled = task.history!.events!.find((e, i) => i > 3 && e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
    expect(scheduled?.workflowTaskScheduledEventAttributes?.taskQueue?.kind).toBe(TaskQueueKind.TASK_QUEUE_KIND_NORMAL);
    await complete(task, null, [completeWorkflow]);
  });
});
