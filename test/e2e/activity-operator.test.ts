/**
 * An operator pausing, unpausing and resetting a workflow's activity (PauseActivity, UnpauseActivity,
 * ResetActivity) while the official SDK's worker runs it: a running attempt learns of a pause or a
 * reset through its heartbeats (the SDK's cancellationDetails), a paused activity starts no attempt
 * until it is unpaused, and a reset starts again from attempt 1 at once. UpdateActivityOptions moves a
 * waiting activity to another task queue, changes and restores its options, and a shorter
 * start-to-close timeout times out a running attempt.
 */
import { status as grpcStatus } from '@grpc/grpc-js';
import type { Client } from '@temporalio/client';
import Long from 'long';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityProbe } from './activities.js';
import { describeRun, kairos } from './helpers/cli.js';
import { startEnvironment, type E2EEnvironment } from './helpers/environment.js';
import { enums, uniqueWorkflowId, waitFor, type HistoryRecorder } from './helpers/sdk.js';
import { awaitsLongActivity, greetsOn, runsOperatedActivity } from './workflows/index.js';

const { PendingActivityState } = enums;

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

const execution = (workflowId: string) => ({ namespace: 'default', execution: { workflowId }, identity: 'operator' });

async function pendingActivity(workflowId: string) {
  const described = await client.workflowService.describeWorkflowExecution({ namespace: 'default', execution: { workflowId } });
  return described.pendingActivities?.[0];
}

/** Resolves as soon as the server records a heartbeat of the run's activity newer than the current one. */
async function nextHeartbeat(workflowId: string): Promise<void> {
  const stamp = async (): Promise<string> => JSON.stringify((await pendingActivity(workflowId))?.lastHeartbeatTime ?? null);
  const before = await stamp();
  await waitFor(async () => (await stamp()) !== before, { intervalMs: 10, description: 'the next heartbeat' });
}

async function grpcCode(call: Promise<unknown>): Promise<number | undefined> {
  try {
    await call;
  } catch (err) {
    return (err as { code?: number }).code;
  }
  return undefined;
}

describe('activity operator commands', () => {
  it('pausing a running activity tells its heartbeats, and the SDK cancels it as paused', async () => {
    await env.withTaskQueue('pause-running', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('pause-running');
      const handle = recorder.record(await client.workflow.start(runsOperatedActivity, { taskQueue, workflowId, args: [workflowId, 'return'] }));
      await waitFor(() => activityProbe.running.has(workflowId), { description: 'the activity to run' });
      await client.workflowService.pauseActivity({ ...execution(workflowId), id: '1', reason: 'investigating', requestId: 'pause-1' });
      const pending = await pendingActivity(workflowId);
      if (pending) {
        // Still running (the worker has not heartbeated since): the pause is requested.
        expect(pending.state).toBe(PendingActivityState.PENDING_ACTIVITY_STATE_PAUSE_REQUESTED);
        expect(pending.paused).toBe(true);
        expect(pending.pauseInfo?.manual).toMatchObject({ identity: 'operator', reason: 'investigating' });
      }
      expect(await handle.result()).toBe('attempt 1: paused true, reset false');
    });
  });

  it('a paused activity whose attempt fails waits, paused, until it is unpaused', async () => {
    await env.withTaskQueue('pause-waits', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('pause-waits');
      const handle = recorder.record(await client.workflow.start(runsOperatedActivity, { taskQueue, workflowId, args: [workflowId, 'rethrow'] }));
      await waitFor(() => activityProbe.running.has(workflowId), { description: 'the activity to run' });
      await client.workflowService.pauseActivity({ ...execution(workflowId), type: 'operatedActivity', requestId: 'pause-1' });
      const paused = await waitFor(async () => {
        const pending = await pendingActivity(workflowId);
        return pending?.state === PendingActivityState.PENDING_ACTIVITY_STATE_PAUSED && pending;
      });
      // While it stays paused, a retried request succeeds again and another one is refused. (Checked here
      // rather than on a running attempt, which may end as soon as a heartbeat learns of the pause.)
      await client.workflowService.pauseActivity({ ...execution(workflowId), id: '1', requestId: 'pause-1' });
      expect(await grpcCode(client.workflowService.pauseActivity({ ...execution(workflowId), id: '1', requestId: 'pause-2' }))).toBe(grpcStatus.FAILED_PRECONDITION);
      expect(paused.attempt).toBe(2);
      expect(paused.lastFailure?.message).toBe('Activity paused');
      // The retry interval is 200 ms: a second attempt would have started by now if it were not paused.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(activityProbe.attempts.get(workflowId)).toEqual([1]);
      expect((await pendingActivity(workflowId))?.state).toBe(PendingActivityState.PENDING_ACTIVITY_STATE_PAUSED);

      await client.workflowService.unpauseActivity({ ...execution(workflowId), id: '1' });
      expect(await handle.result()).toBe('attempt 2');
      expect(activityProbe.attempts.get(workflowId)).toEqual([1, 2]);
    });
  });

  it('the by-id calls (PauseActivityExecution and the rest) act on a workflow activity; without a workflow id they are refused', async () => {
    await env.withTaskQueue('by-id', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('by-id');
      const byId = { namespace: 'default', workflowId, activityId: '1' };
      // Attempt 1 fails and the next waits an hour.
      const handle = recorder.record(await client.workflow.start(runsOperatedActivity, { taskQueue, workflowId, args: [workflowId, 'fail-first'] }));
      await waitFor(async () => (await pendingActivity(workflowId))?.attempt === 2, { description: 'the retry to wait' });
      await client.workflowService.pauseActivityExecution({ ...byId, identity: 'operator', reason: 'by id' });
      const paused = await waitFor(async () => {
        const pending = await pendingActivity(workflowId);
        return pending?.state === PendingActivityState.PENDING_ACTIVITY_STATE_PAUSED && pending;
      });
      expect(paused.pauseInfo?.manual).toMatchObject({ identity: 'operator', reason: 'by id' });
      const updated = await client.workflowService.updateActivityExecutionOptions({
        ...byId,
        activityOptions: { heartbeatTimeout: { seconds: Long.fromNumber(7) } },
        updateMask: { paths: ['heartbeat_timeout'] },
      });
      expect(Number(updated.activityOptions?.heartbeatTimeout?.seconds)).toBe(7);
      // Reset while paused, kept paused: attempt 1 again, still waiting for the unpause.
      await client.workflowService.resetActivityExecution({ ...byId, keepPaused: true });
      expect(await pendingActivity(workflowId)).toMatchObject({ attempt: 1, state: PendingActivityState.PENDING_ACTIVITY_STATE_PAUSED });
      await client.workflowService.unpauseActivityExecution({ ...byId });
      expect(await handle.result()).toBe('attempt 1');
      expect(activityProbe.attempts.get(workflowId)).toEqual([1, 1]);

      // A standalone activity's operator commands are off, as in Temporal by default.
      const standalone = { namespace: 'default', activityId: 'some-activity' };
      for (const call of [
        () => client.workflowService.pauseActivityExecution(standalone),
        () => client.workflowService.unpauseActivityExecution(standalone),
        () => client.workflowService.resetActivityExecution(standalone),
        () => client.workflowService.updateActivityExecutionOptions(standalone),
      ]) {
        await expect(call()).rejects.toMatchObject({ code: grpcStatus.UNIMPLEMENTED, details: 'Standalone activity operator commands are disabled' });
      }
    });
  });

  it('resetting a running activity tells its heartbeats; resetting a waiting one starts attempt 1 at once', async () => {
    await env.withTaskQueue('reset', async (taskQueue) => {
      const running = uniqueWorkflowId('reset-running');
      const first = recorder.record(await client.workflow.start(runsOperatedActivity, { taskQueue, workflowId: running, args: [running, 'return'] }));
      await waitFor(() => activityProbe.running.has(running), { description: 'the activity to run' });
      await client.workflowService.resetActivity({ ...execution(running), id: '1' });
      expect(await first.result()).toBe('attempt 1: paused false, reset true');

      // Paused and reset while running, in either order: the heartbeats report both.
      const both = uniqueWorkflowId('reset-paused');
      const third = recorder.record(await client.workflow.start(runsOperatedActivity, { taskQueue, workflowId: both, args: [both, 'return'] }));
      await waitFor(() => activityProbe.running.has(both), { description: 'the activity to run' });
      // No heartbeat between the two calls: its answer would report the pause alone. The SDK sends one
      // at most every 1.6 s (0.8 of the 2 s heartbeat timeout), so both calls go right after one arrives.
      await nextHeartbeat(both);
      await client.workflowService.pauseActivity({ ...execution(both), id: '1' });
      await client.workflowService.resetActivity({ ...execution(both), id: '1' });
      expect(await third.result()).toBe('attempt 1: paused true, reset true');

      // Attempt 1 failed and the next waits an hour; the reset runs attempt 1 again now.
      const waiting = uniqueWorkflowId('reset-waiting');
      const second = recorder.record(await client.workflow.start(runsOperatedActivity, { taskQueue, workflowId: waiting, args: [waiting, 'fail-first'] }));
      await waitFor(async () => (await pendingActivity(waiting))?.attempt === 2, { description: 'the retry to wait' });
      await client.workflowService.resetActivity({ ...execution(waiting), type: 'operatedActivity' });
      expect(await second.result()).toBe('attempt 1');
      expect(activityProbe.attempts.get(waiting)).toEqual([1, 1]);
    });
  });

  it('refuses a request that names no activity, or one the workflow does not have', async () => {
    await env.withTaskQueue('operator-bad', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('operator-bad');
      const handle = recorder.record(await client.workflow.start(runsOperatedActivity, { taskQueue, workflowId, args: [workflowId, 'return'] }));
      await waitFor(() => activityProbe.running.has(workflowId), { description: 'the activity to run' });
      expect(await grpcCode(client.workflowService.pauseActivity(execution(workflowId)))).toBe(grpcStatus.INVALID_ARGUMENT);
      expect(await grpcCode(client.workflowService.unpauseActivity({ ...execution(workflowId), id: 'nope' }))).toBe(grpcStatus.NOT_FOUND);
      expect(await grpcCode(client.workflowService.resetActivity({ ...execution(uniqueWorkflowId('nobody')), id: '1' }))).toBe(grpcStatus.NOT_FOUND);
      await handle.terminate('test over');
    });
  });

  it('UpdateActivityOptions moves a waiting activity to another task queue', async () => {
    await env.withTaskQueue('options-move', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('options-move');
      const handle = recorder.record(await client.workflow.start(greetsOn, { taskQueue, workflowId, args: [`${taskQueue}-nobody`] }));
      await waitFor(async () => (await pendingActivity(workflowId))?.state === PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED, { description: 'the activity to be scheduled' });
      const moved = await client.workflowService.updateActivityOptions({
        ...execution(workflowId),
        id: '1',
        activityOptions: { taskQueue: { name: taskQueue } },
        updateMask: { paths: ['task_queue.name'] },
      });
      expect(moved.activityOptions?.taskQueue?.name).toBe(taskQueue);
      expect(moved.activityOptions?.startToCloseTimeout?.seconds?.toString()).toBe('60');
      expect(await handle.result()).toBe('Hello, moved!');
    });
  });

  it('UpdateActivityOptions changes the masked options of a running activity, and restore_original brings back its own', async () => {
    await env.withTaskQueue('options-restore', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('options-restore');
      const handle = await client.workflow.start(runsOperatedActivity, { taskQueue, workflowId, args: [workflowId, 'return'] });
      await waitFor(() => activityProbe.running.has(workflowId), { description: 'the activity to run' });
      const update = (request: object) => client.workflowService.updateActivityOptions({ ...execution(workflowId), ...request });
      const updated = await update({
        type: 'operatedActivity',
        activityOptions: { heartbeatTimeout: { seconds: 5 }, retryPolicy: { maximumAttempts: 9 } },
        updateMask: { paths: ['heartbeat_timeout', 'retry_policy.maximum_attempts'] },
      });
      expect(updated.activityOptions).toMatchObject({ taskQueue: { name: taskQueue }, retryPolicy: { maximumAttempts: 9, backoffCoefficient: 2 } });
      expect(updated.activityOptions?.heartbeatTimeout?.seconds?.toString()).toBe('5');
      expect(updated.activityOptions?.retryPolicy?.initialInterval?.nanos).toBe(200_000_000);
      const described = await pendingActivity(workflowId);
      expect(described?.activityOptions?.heartbeatTimeout?.seconds?.toString()).toBe('5');
      expect(described?.maximumAttempts).toBe(9);

      const restored = await update({ matchAll: true, restoreOriginal: true });
      expect(restored.activityOptions?.heartbeatTimeout?.seconds?.toString()).toBe('2');
      expect(restored.activityOptions?.retryPolicy?.maximumAttempts).toBe(5);
      expect((await pendingActivity(workflowId))?.maximumAttempts).toBe(5);

      expect(await grpcCode(update({ id: '1', restoreOriginal: true, updateMask: { paths: ['heartbeat_timeout'] } }))).toBe(grpcStatus.INVALID_ARGUMENT);
      expect(await grpcCode(update({ id: '1', updateMask: { paths: ['heartbeat_timeout'] } }))).toBe(grpcStatus.INVALID_ARGUMENT);
      expect(await grpcCode(update({ id: '1', activityOptions: {} }))).toBe(grpcStatus.INVALID_ARGUMENT);
      expect(await grpcCode(update({ id: 'nope', activityOptions: {}, updateMask: { paths: [] } }))).toBe(grpcStatus.NOT_FOUND);
      expect(await grpcCode(update({ id: '1', activityOptions: {}, updateMask: { paths: ['start_to_close_timeout', 'schedule_to_close_timeout'] } }))).toBe(grpcStatus.INVALID_ARGUMENT);
      await handle.terminate();
    });
  });

  it('a start-to-close timeout shortened by UpdateActivityOptions times out the running attempt', async () => {
    await env.withTaskQueue('options-timeout', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('options-timeout');
      // The attempt would take 5 s, and the worker waits for it to end before it stops; the 1 s
      // timeout must end the workflow's wait first.
      const handle = recorder.record(await client.workflow.start(awaitsLongActivity, { taskQueue, workflowId, args: [workflowId, 5_000] }));
      await waitFor(() => activityProbe.running.has(workflowId), { description: 'the activity to run' });
      const started = Date.now();
      await client.workflowService.updateActivityOptions({ ...execution(workflowId), id: '1', activityOptions: { startToCloseTimeout: { seconds: Long.fromNumber(1) } }, updateMask: { paths: ['start_to_close_timeout'] } });
      expect(await handle.result()).toBe('activity StartToClose timeout');
      expect(Date.now() - started).toBeLessThan(4_500);
    });
  });
});

describe('kairos activity', () => {
  const cli = (...args: string[]) => kairos([...args, '--address', env.server.address]);

  it('moves, completes and pauses workflow activities from the command line', async () => {
    await env.withTaskQueue('cli-activity', async (taskQueue) => {
      const movedId = uniqueWorkflowId('cli-move');
      const moved = recorder.record(await client.workflow.start(greetsOn, { taskQueue, workflowId: movedId, args: [`${taskQueue}-nobody`] }));
      const completedId = uniqueWorkflowId('cli-complete');
      const completed = recorder.record(await client.workflow.start(runsOperatedActivity, { taskQueue, workflowId: completedId, args: [completedId, 'return'] }));
      const pausedId = uniqueWorkflowId('cli-pause');
      const paused = recorder.record(await client.workflow.start(runsOperatedActivity, { taskQueue, workflowId: pausedId, args: [pausedId, 'return'] }));
      await waitFor(async () => (await pendingActivity(movedId)) !== undefined, { description: 'the activity to be scheduled' });

      const update = await cli('activity', 'update-options', '-w', movedId, '-a', '1', '--task-queue', taskQueue, '--retry-maximum-attempts', '3');
      expect(update.code, describeRun(update)).toBe(0);
      expect(update.stdout).toMatch(new RegExp(`TaskQueue\\s+${taskQueue}\\n`));
      expect(update.stdout).toMatch(/RetryMaximumAttempts\s+3/);
      expect(await moved.result()).toBe('Hello, moved!');

      // Completing by id answers for a running attempt, as its worker would.
      await waitFor(() => activityProbe.running.has(completedId), { description: 'the activity to run' });
      const complete = await cli('activity', 'complete', '-w', completedId, '-a', '1', '--result', '"by hand"');
      expect(complete.code, describeRun(complete)).toBe(0);
      expect(await completed.result()).toBe('by hand');

      await waitFor(() => activityProbe.running.has(pausedId), { description: 'the activity to run' });
      const pause = await cli('activity', 'pause', '-w', pausedId, '--activity-type', 'operatedActivity', '--reason', 'from the CLI');
      expect(pause.code, describeRun(pause)).toBe(0);
      expect(pause.stdout).toContain(`Paused activities of type operatedActivity of workflow "${pausedId}".`);
      expect(await paused.result()).toBe('attempt 1: paused true, reset false');
    });
  });

  it('refuses what it cannot send, and reports what the server refused', async () => {
    const unnamed = await cli('activity', 'pause', '-w', 'any');
    expect(unnamed.code).toBe(2);
    expect(unnamed.stderr).toContain('name the activities');
    const nothing = await cli('activity', 'update-options', '-w', 'any', '-a', '1');
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('name at least one option to change');
    const missing = await cli('activity', 'reset', '-w', uniqueWorkflowId('missing'), '-a', '1');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not found/i);
  });
});

it('replays every history of this file without nondeterminism', async () => {
  expect(recorder.size).toBeGreaterThan(0);
  expect(await recorder.replayAll(env.workflowBundle)).toEqual([]);
});
