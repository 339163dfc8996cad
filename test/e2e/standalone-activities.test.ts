/**
 * Standalone activities (StartActivityExecution and the calls about one activity), driven by the
 * official client's `client.activity` and run by the official worker: results and failures, retries,
 * cancel and terminate, id reuse and conflict policies, timeouts, start delay, describe's long poll,
 * listing and counting apart from workflows, delete, and an activity that outlives a server crash.
 */
import { randomUUID } from 'node:crypto';
import Long from 'long';
import type { ActivityOptions } from '@temporalio/client';
import { ActivityExecutionAlreadyStartedError, ActivityExecutionFailedError, TerminatedFailure } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, TimeoutFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as testActivities from './activities.js';
import { activityProbe, openGate } from './activities.js';
import { startEnvironment, type E2EEnvironment } from './helpers/environment.js';
import { uniqueTaskQueue, uniqueWorkflowId, withWorker } from './helpers/sdk.js';
import { greetingWorkflow } from './workflows/index.js';

const LONG_POLL_MS = 2_000;

describe('standalone activities', () => {
  let env: E2EEnvironment;
  const activities = () => env.client.activity;
  const options = (taskQueue: string, extra: Partial<ActivityOptions> = {}): ActivityOptions & { id: string } => ({ id: randomUUID(), taskQueue, scheduleToCloseTimeout: '1 minute', ...extra });

  beforeAll(async () => {
    env = await startEnvironment({ extraArgs: ['--dynamic-config-value', `activity.longPollTimeout="${LONG_POLL_MS}ms"`] });
  });

  afterAll(async () => {
    await env?.close();
  });

  it('runs an activity on a worker and gives its result, by start handle and by id', async () => {
    await env.withTaskQueue('saa-result', async (taskQueue) => {
      const opts = options(taskQueue, { args: ['standalone'] });
      const handle = await activities().start('greet', opts);
      expect(await handle.result()).toBe('Hello, standalone!');
      expect(await activities().getHandle(opts.id).result()).toBe('Hello, standalone!');
      const described = await activities().getHandle(opts.id, handle.runId).describe();
      expect(described).toMatchObject({ activityId: opts.id, activityRunId: handle.runId, activityType: 'greet', attempt: 1, status: 'COMPLETED', taskQueue });
      expect(described.lastStartedTime!.getTime()).toBeGreaterThanOrEqual(described.scheduleTime!.getTime());
      expect(described.closeTime).toBeDefined();
      expect(described.startToCloseTimeoutMs).toBe(60_000);
      expect(described.retryPolicy).toMatchObject({ initialInterval: 1000, backoffCoefficient: 2, maximumInterval: 100_000 });
    });
  });

  it('retries failed attempts under the retry policy, and reports a non-retryable failure', async () => {
    await env.withTaskQueue('saa-retry', async (taskQueue) => {
      const key = `saa-flaky-${randomUUID()}`;
      const retry = { initialInterval: '50 ms', backoffCoefficient: 1 } as const;
      expect(await activities().execute('flaky', options(taskQueue, { args: [key, 2], retry }))).toBe(3);
      expect(activityProbe.attempts.get(key)).toEqual([1, 2, 3]);

      const failing = await activities().start('failNonRetryable', options(taskQueue, { args: [`saa-fail-${randomUUID()}`, 'no luck'], retry }));
      const error = await failing.result().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ActivityExecutionFailedError);
      expect((error as ActivityExecutionFailedError).cause).toBeInstanceOf(ApplicationFailure);
      expect((error as ActivityExecutionFailedError).cause?.message).toBe('no luck');
      const described = await failing.describe({ includeLastFailure: true });
      expect(described.status).toBe('FAILED');
      expect(described.attempt).toBe(1);
    });
  });

  it('cancels a running activity through its heartbeats, and one no worker took at once', async () => {
    await env.withTaskQueue('saa-cancel', async (taskQueue) => {
      const key = `saa-cancel-${randomUUID()}`;
      const handle = await activities().start('heartbeatUntilCancelled', options(taskQueue, { args: [key], heartbeatTimeout: '5 s' }));
      await waitUntil(() => activityProbe.running.has(key));
      await handle.cancel('no longer needed');
      const error = await handle.result().catch((e: unknown) => e);
      expect((error as ActivityExecutionFailedError).cause).toBeInstanceOf(CancelledFailure);
      expect(activityProbe.cancelled.has(key)).toBe(true);
      expect(await handle.describe()).toMatchObject({ status: 'CANCELED', canceledReason: 'no longer needed' });
    });
    const idle = await activities().start('greet', options(uniqueTaskQueue('saa-no-worker'), { args: ['nobody'] }));
    await idle.cancel('before any worker');
    expect(((await idle.result().catch((e: unknown) => e)) as ActivityExecutionFailedError).cause).toBeInstanceOf(CancelledFailure);
    const again = await env.client.connection.workflowService.requestCancelActivityExecution({ namespace: 'default', activityId: (await idle.describe()).activityId, requestId: 'another' }).catch((e: unknown) => e);
    expect(String((again as Error).message)).toContain('activity is in terminal state Canceled');
  });

  it('terminates an activity; the worker that still runs it is told it is gone', async () => {
    await env.withTaskQueue('saa-terminate', async (taskQueue) => {
      const key = `saa-terminate-${randomUUID()}`;
      const handle = await activities().start('gated', options(taskQueue, { args: [key] }));
      await waitUntil(() => activityProbe.running.has(key));
      await handle.terminate('stop it');
      const error = (await handle.result().catch((e: unknown) => e)) as ActivityExecutionFailedError;
      expect(error.cause).toBeInstanceOf(TerminatedFailure);
      expect(error.cause?.message).toBe('stop it');
      openGate(key);
      await waitUntil(() => !activityProbe.running.has(key));
      expect((await handle.describe()).status).toBe('TERMINATED');
      const late = await env.client.connection.workflowService
        .respondActivityTaskCompletedById({ namespace: 'default', activityId: (await handle.describe()).activityId, runId: handle.runId })
        .catch((e: unknown) => e);
      expect(String((late as Error).message)).toContain('activity not found for ID');
    });
  });

  it('applies the id conflict and reuse policies, and de-duplicates a retried start', async () => {
    await env.withTaskQueue('saa-ids', async (taskQueue) => {
      const key = `saa-ids-${randomUUID()}`;
      const opts = options(taskQueue, { args: [key] });
      const running = await activities().start('gated', opts);
      const conflict = await activities().start('gated', { ...opts, idConflictPolicy: 'FAIL' }).catch((e: unknown) => e);
      expect(conflict).toBeInstanceOf(ActivityExecutionAlreadyStartedError);
      expect((conflict as ActivityExecutionAlreadyStartedError).runId).toBe(running.runId);
      const existing = await activities().start('gated', { ...opts, idConflictPolicy: 'USE_EXISTING' });
      expect(existing.runId).toBe(running.runId);
      openGate(key);
      await running.result();

      const rejected = await activities().start('gated', { ...opts, idReusePolicy: 'REJECT_DUPLICATE' }).catch((e: unknown) => e);
      expect(rejected).toBeInstanceOf(ActivityExecutionAlreadyStartedError);
      const failedOnly = await activities().start('gated', { ...opts, idReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY' }).catch((e: unknown) => e);
      expect(failedOnly).toBeInstanceOf(ActivityExecutionAlreadyStartedError);
      const second = await activities().start('gated', { ...opts, idReusePolicy: 'ALLOW_DUPLICATE' });
      expect(second.runId).not.toBe(running.runId);
      await second.result();

      // A start retried with its request id gets its run back, not a new one.
      const service = env.client.connection.workflowService;
      const request = { namespace: 'default', activityId: randomUUID(), activityType: { name: 'greet' }, taskQueue: { name: taskQueue }, startToCloseTimeout: { seconds: Long.fromNumber(10) }, requestId: randomUUID() };
      const first = await service.startActivityExecution(request);
      const retried = await service.startActivityExecution(request);
      expect(first.started).toBe(true);
      expect(retried).toMatchObject({ runId: first.runId, started: false });
    });
  });

  it('times out an activity no worker picks up, and delays the first attempt by the start delay', async () => {
    const idle = await activities().start('greet', options(uniqueTaskQueue('saa-timeout'), { args: ['late'], scheduleToStartTimeout: '300 ms' }));
    const error = (await idle.result().catch((e: unknown) => e)) as ActivityExecutionFailedError;
    expect(error).toBeInstanceOf(ActivityExecutionFailedError);
    expect(error.cause).toBeInstanceOf(TimeoutFailure);
    expect((await idle.describe()).status).toBe('TIMED_OUT');

    await env.withTaskQueue('saa-delay', async (taskQueue) => {
      const delayed = await activities().start('greet', options(taskQueue, { args: ['later'], startDelay: '1 s' }));
      expect(await delayed.result()).toBe('Hello, later!');
      const described = await delayed.describe();
      expect(described.lastStartedTime!.getTime() - described.scheduleTime!.getTime()).toBeGreaterThanOrEqual(900);
    });
  });

  it('answers a describe long poll when the activity changes, and an empty one when nothing changes', async () => {
    await env.withTaskQueue('saa-long-poll', async (taskQueue) => {
      const key = `saa-poll-${randomUUID()}`;
      const opts = options(taskQueue, { args: [key] });
      const handle = await activities().start('gated', opts);
      await waitUntil(() => activityProbe.running.has(key));
      const service = env.client.connection.workflowService;
      const first = await service.describeActivityExecution({ namespace: 'default', activityId: opts.id, runId: handle.runId });
      const startedAt = Date.now();
      const unchanged = await service.describeActivityExecution({ namespace: 'default', activityId: opts.id, runId: handle.runId, longPollToken: first.longPollToken });
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(LONG_POLL_MS - 500);
      expect(unchanged.info).toBeFalsy();
      const waiting = service.describeActivityExecution({ namespace: 'default', activityId: opts.id, runId: handle.runId, longPollToken: first.longPollToken, includeOutcome: true });
      setTimeout(() => openGate(key), 200);
      const changed = await waiting;
      expect(changed.info?.status).toBe(2 /* COMPLETED */);
      expect(changed.outcome?.result?.payloads?.length).toBe(1);
    });
  });

  it('lists and counts activities apart from workflows, and deletes one', async () => {
    await env.withTaskQueue('saa-list', async (taskQueue) => {
      const id = uniqueWorkflowId('saa-shared-id');
      // The same id for a workflow and an activity: two id spaces.
      await env.client.workflow.execute(greetingWorkflow, { taskQueue, workflowId: id, args: ['wf'] });
      const first = await activities().start('greet', { id, taskQueue, scheduleToCloseTimeout: '1 minute', args: ['one'] });
      await first.result();
      const second = await activities().start('greet', { id, taskQueue, scheduleToCloseTimeout: '1 minute', args: ['two'] });
      await second.result();

      const query = `ActivityId = '${id}'`;
      expect((await activities().count(query)).count).toBe(2);
      const listed: string[] = [];
      for await (const info of activities().list(`${query} AND ExecutionStatus = 'Completed'`)) {
        expect(info).toMatchObject({ activityId: id, activityType: 'greet', taskQueue });
        listed.push(info.activityRunId);
      }
      expect(listed.sort()).toEqual([first.runId, second.runId].sort());
      const workflows: string[] = [];
      for await (const wf of env.client.workflow.list({ query: `WorkflowId = '${id}'` })) workflows.push(wf.runId);
      expect(workflows).toHaveLength(1);

      await env.client.connection.workflowService.deleteActivityExecution({ namespace: 'default', activityId: id, runId: first.runId });
      const gone = await activities().getHandle(id, first.runId).describe().catch((e: unknown) => e);
      expect(String((gone as Error).message)).toContain(`activity not found for ID: ${id}`);
      expect((await activities().count(query)).count).toBe(1);
    });
  });

  it('refuses a start without a usable timeout or task queue', async () => {
    const service = env.client.connection.workflowService;
    const base = { namespace: 'default', activityId: randomUUID(), activityType: { name: 'greet' }, taskQueue: { name: 'q' } };
    await expect(service.startActivityExecution(base)).rejects.toThrow(/a valid StartToCloseTimeout or ScheduleToCloseTimeout must be set on the activity/);
    await expect(service.startActivityExecution({ ...base, taskQueue: null, startToCloseTimeout: { seconds: Long.fromNumber(1) } })).rejects.toThrow(/taskQueue is not set/);
    await expect(service.describeActivityExecution({ namespace: 'default', activityId: 'x', runId: 'not-a-uuid' })).rejects.toThrow(/invalid run id: must be a valid UUID/);
  });

  it('keeps an activity that no worker has taken across a server crash', async () => {
    const taskQueue = uniqueTaskQueue('saa-crash');
    const opts = options(taskQueue, { args: ['after the crash'] });
    const handle = await activities().start('greet', opts);
    await env.server.kill('SIGKILL');
    await env.server.restart();
    const result = await withWorker({ connection: env.sdk.nativeConnection, taskQueue, workflowBundle: env.workflowBundle, activities: testActivities }, () =>
      activities().getHandle(opts.id, handle.runId).result(),
    );
    expect(result).toBe('Hello, after the crash!');
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
