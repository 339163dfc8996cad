/**
 * ResetWorkflowExecution through the official SDK: a completed run reset to its first workflow task
 * re-runs from there with its signals re-applied; a running run is terminated and replaced; bad event
 * ids and repeated requests are handled as Temporal does.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import Long from 'long';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityProbe } from './activities.js';
import { startEnvironment, type E2EEnvironment } from './helpers/environment.js';
import { EventType, enums, events, eventsOfType, eventTypeNames, uniqueWorkflowId, waitForHistory, type HistoryRecorder } from './helpers/sdk.js';
import { addItemSignal, parentAroundChild, pokeSignal, stepsAroundSignal } from './workflows/index.js';

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

async function reset(workflowId: string, runId: string, eventId: number, reason: string, requestId = randomUUID()): Promise<string> {
  const response = await client.workflowService.resetWorkflowExecution({
    namespace: 'default',
    workflowExecution: { workflowId, runId },
    workflowTaskFinishEventId: Long.fromNumber(eventId),
    reason,
    requestId,
  });
  return response.runId ?? '';
}

async function grpcCode(promise: Promise<unknown>): Promise<{ code: number; message: string }> {
  return await promise.then(
    () => ({ code: 0, message: 'no error' }),
    (error: { code?: number; details?: string; message?: string }) => ({ code: error.code ?? -1, message: error.details ?? error.message ?? '' }),
  );
}

describe('reset', () => {
  it('resets a completed run to its first workflow task: it runs again with its signals re-applied', async () => {
    await env.withTaskQueue('reset-completed', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('reset-completed');
      const handle = await client.workflow.start(stepsAroundSignal, { taskQueue, workflowId, args: [workflowId] });
      await handle.signal(addItemSignal, 'a');
      expect(await handle.result()).toEqual(['a']);
      const baseRunId = handle.firstExecutionRunId;
      recorder.record(client.workflow.getHandle(workflowId, baseRunId));
      const baseHistory = await handle.fetchHistory();
      const firstCompleted = eventsOfType(baseHistory, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)[0]!;
      expect(Number(firstCompleted.eventId)).toBe(4);

      const newRunId = await reset(workflowId, baseRunId, 4, 'try it again');
      expect(newRunId).not.toBe(baseRunId);
      const resetHandle = recorder.record(client.workflow.getHandle(workflowId, newRunId));
      expect(await resetHandle.result()).toEqual(['a']);
      // The first activity ran once in each run; the second once in each run too.
      expect(activityProbe.attempts.get(`${workflowId}-first`)).toEqual([1, 1]);
      expect(activityProbe.attempts.get(`${workflowId}-second`)).toEqual([1, 1]);

      const history = await resetHandle.fetchHistory();
      const names = eventTypeNames(history);
      expect(names.slice(0, 6)).toEqual([
        'WORKFLOW_EXECUTION_STARTED',
        'WORKFLOW_TASK_SCHEDULED',
        'WORKFLOW_TASK_STARTED',
        'WORKFLOW_TASK_FAILED',
        'WORKFLOW_EXECUTION_SIGNALED',
        'WORKFLOW_TASK_SCHEDULED',
      ]);
      // The copied events are the base run's, byte for byte in content.
      expect(events(history).slice(0, 3).map((e) => e.eventTime)).toEqual(events(baseHistory).slice(0, 3).map((e) => e.eventTime));
      const failed = events(history)[3]!.workflowTaskFailedEventAttributes!;
      expect(failed.cause).toBe(enums.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW);
      expect(failed.baseRunId).toBe(baseRunId);
      expect(failed.newRunId).toBe(newRunId);
      expect(failed.failure?.message).toBe('try it again');
      expect(events(history)[4]!.workflowExecutionSignaledEventAttributes?.signalName).toBe('addItem');

      // The new run is the current run; the base run keeps its own status.
      const current = await client.workflow.getHandle(workflowId).describe();
      expect(current.runId).toBe(newRunId);
      const base = await client.workflow.getHandle(workflowId, baseRunId).describe();
      expect(base.status.name).toBe('COMPLETED');
    });
  });

  it('resets a running run: the old run is terminated, the new one goes on from the reset point', async () => {
    await env.withTaskQueue('reset-running', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('reset-running');
      const handle = await client.workflow.start(stepsAroundSignal, { taskQueue, workflowId, args: [workflowId] });
      const baseRunId = handle.firstExecutionRunId;
      recorder.record(client.workflow.getHandle(workflowId, baseRunId));
      // Wait until the first activity's result was processed (the workflow now waits for a signal).
      const waiting = await waitForHistory(handle, (h) => eventsOfType(h, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED).length >= 2);
      const resetPoint = Number(eventsOfType(waiting, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)[1]!.eventId);

      const requestId = randomUUID();
      const newRunId = await reset(workflowId, baseRunId, resetPoint, 'operator reset', requestId);
      // The same request again is answered with the same run.
      expect(await reset(workflowId, baseRunId, resetPoint, 'operator reset', requestId)).toBe(newRunId);

      const base = await client.workflow.getHandle(workflowId, baseRunId).describe();
      expect(base.status.name).toBe('TERMINATED');
      const terminated = eventsOfType(await client.workflow.getHandle(workflowId, baseRunId).fetchHistory(), EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED);
      expect(terminated[0]?.workflowExecutionTerminatedEventAttributes?.reason).toBe('operator reset');

      const resetHandle = recorder.record(client.workflow.getHandle(workflowId, newRunId));
      await resetHandle.signal(addItemSignal, 'b');
      expect(await resetHandle.result()).toEqual(['b']);
      // Reset after the first activity completed: it is not run again.
      expect(activityProbe.attempts.get(`${workflowId}-first`)).toEqual([1]);
      expect(activityProbe.attempts.get(`${workflowId}-second`)).toEqual([1]);
    });
  });

  it('refuses event ids that are not a workflow task boundary or out of range', async () => {
    await env.withTaskQueue('reset-bad', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('reset-bad');
      const handle = await client.workflow.start(stepsAroundSignal, { taskQueue, workflowId, args: [workflowId] });
      await handle.signal(addItemSignal, 'x');
      await handle.result();
      const runId = handle.firstExecutionRunId;
      const last = events(await handle.fetchHistory()).length;
      for (const eventId of [0, 1, last + 1]) {
        const failure = await grpcCode(reset(workflowId, runId, eventId, 'bad'));
        expect(failure.code).toBe(3);
        expect(failure.message).toContain('Workflow task finish ID must be > 1');
      }
      // Event 2 (WorkflowTaskScheduled): the history up to event 1 has no workflow task.
      const notAtTask = await grpcCode(reset(workflowId, runId, 2, 'bad'));
      expect(notAtTask.code).toBe(3);
      expect(notAtTask.message).toContain('Can only reset workflow to event ID in range');
      const missing = await grpcCode(reset('no-such-workflow', '', 4, 'bad'));
      expect(missing.code).toBe(5);
      // Nothing changed: the run is still the current one.
      expect((await client.workflow.getHandle(workflowId).describe()).runId).toBe(runId);
    });
  });

  /** Starts parentAroundChild and returns the id of the task completed after its child started. */
  async function parentWithStartedChild(taskQueue: string, label: string) {
    const workflowId = uniqueWorkflowId(label);
    const childId = `${workflowId}-child`;
    const handle = await client.workflow.start(parentAroundChild, { taskQueue, workflowId, args: [childId] });
    recorder.record(client.workflow.getHandle(workflowId, handle.firstExecutionRunId));
    const history = await waitForHistory(handle, (h) => eventsOfType(h, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED).length >= 2);
    const started = Number(eventsOfType(history, EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)[0]!.eventId);
    const resetPoint = Number(eventsOfType(history, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED).find((e) => Number(e.eventId) > started)!.eventId);
    return { workflowId, childId, handle, baseRunId: handle.firstExecutionRunId, resetPoint };
  }

  it('resets a run with a running child: the child goes on, and its result reaches the reset run', async () => {
    await env.withTaskQueue('reset-child-running', async (taskQueue) => {
      const { workflowId, childId, baseRunId, resetPoint } = await parentWithStartedChild(taskQueue, 'reset-child-running');
      const newRunId = await reset(workflowId, baseRunId, resetPoint, 'reset with a child');

      // The terminated base run left its child running (no parent-close policy) and names the reset run.
      const base = await client.workflowService.describeWorkflowExecution({ namespace: 'default', execution: { workflowId, runId: baseRunId } });
      expect(base.workflowExecutionInfo?.status).toBe(enums.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED);
      expect(base.workflowExtendedInfo?.resetRunId).toBe(newRunId);
      const child = client.workflow.getHandle(childId);
      const childInfo = await child.describe();
      expect(childInfo.status.name).toBe('RUNNING');
      expect(childInfo.parentExecution).toEqual({ workflowId, runId: baseRunId });
      const resetRun = await client.workflowService.describeWorkflowExecution({ namespace: 'default', execution: { workflowId, runId: newRunId } });
      expect(resetRun.pendingChildren?.map((c) => c.workflowId)).toEqual([childId]);

      const resetHandle = recorder.record(client.workflow.getHandle(workflowId, newRunId));
      await resetHandle.signal(addItemSignal, 'b');
      await child.signal(pokeSignal, 'x');
      expect(await resetHandle.result()).toEqual(['b', 'poked with x']);
      expect(eventTypeNames(await resetHandle.fetchHistory())).toContain('CHILD_WORKFLOW_EXECUTION_COMPLETED');
    });
  });

  it('re-applies what happened to a pending child after the reset point', async () => {
    await env.withTaskQueue('reset-child-closed', async (taskQueue) => {
      const { workflowId, childId, handle, baseRunId, resetPoint } = await parentWithStartedChild(taskQueue, 'reset-child-closed');
      await client.workflow.getHandle(childId).signal(pokeSignal, 'early');
      await waitForHistory(handle, (h) => eventsOfType(h, EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED).length > 0);
      const newRunId = await reset(workflowId, baseRunId, resetPoint, 'reset after the child closed');

      const resetHandle = recorder.record(client.workflow.getHandle(workflowId, newRunId));
      const history = await resetHandle.fetchHistory();
      expect(eventTypeNames(history).slice(resetPoint - 1, resetPoint + 2)).toEqual(['WORKFLOW_TASK_FAILED', 'CHILD_WORKFLOW_EXECUTION_COMPLETED', 'WORKFLOW_TASK_SCHEDULED']);
      await resetHandle.signal(addItemSignal, 'c');
      expect(await resetHandle.result()).toEqual(['c', 'poked with early']);
    });
  });

  it('replays every history it produced', async () => {
    expect(await recorder.replayAll(env.workflowBundle)).toEqual([]);
  });
});
