/**
 * Payload size limits set with dynamic config (`limit.blobSize.error` / `.warn`), as Temporal's
 * server has them: DescribeNamespace reports them, so the official worker refuses an oversized
 * payload itself (PAYLOADS_TOO_LARGE); a worker told not to check sends it, and the server then fails
 * the task and terminates the run, as Temporal does, instead of failing the task for ever.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnvironment, type E2EEnvironment } from './helpers/environment.js';
import { enums, EventType, eventTypeNames, eventsOfType, uniqueWorkflowId, waitForHistory } from './helpers/sdk.js';
import { bigActivityInputWorkflow, bigActivityOutputWorkflow, greetingWorkflow } from './workflows/index.js';

const ERROR_LIMIT = 10 * 1024;
const WARN_LIMIT = 2 * 1024;

describe('payload size limits from dynamic config', () => {
  let env: E2EEnvironment;

  beforeAll(async () => {
    env = await startEnvironment({
      extraArgs: ['--dynamic-config-value', `limit.blobSize.error=${ERROR_LIMIT}`, '--dynamic-config-value', `limit.blobSize.warn=${WARN_LIMIT}`],
    });
  });

  afterAll(async () => {
    await env?.close();
  });

  it('reports the limits in DescribeNamespace', async () => {
    const described = await env.sdk.connection.workflowService.describeNamespace({ namespace: 'default' });
    const limits = described.namespaceInfo?.limits;
    expect(Number(limits?.blobSizeLimitError)).toBe(ERROR_LIMIT);
    expect(Number(limits?.memoSizeLimitError)).toBe(2 * 1024 * 1024);
    expect(Number(limits?.workflowTaskCompletionSizeLimitError)).toBe(40 * 1024 * 1024);
  });

  it('terminates a run whose worker sends an activity input over the limit', async () => {
    const workflowId = uniqueWorkflowId('payload-limit-terminate');
    const outcome = await env.withTaskQueue(
      'payload-limit-terminate',
      async (taskQueue) => {
        const handle = await env.client.workflow.start(bigActivityInputWorkflow, { taskQueue, workflowId, args: [ERROR_LIMIT + 1024] });
        return await handle.result().catch((err: unknown) => err);
      },
      { disablePayloadErrorLimit: true },
    );
    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    expect(eventTypeNames(history).slice(-2)).toEqual(['WORKFLOW_TASK_FAILED', 'WORKFLOW_EXECUTION_TERMINATED']);
    const reason = 'BadScheduleActivityAttributes: ScheduleActivityTaskCommandAttributes.Input exceeds size limit.';
    const failed = eventsOfType(history, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)[0]!.workflowTaskFailedEventAttributes!;
    expect(failed.cause).toBe(enums.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES);
    expect(failed.failure?.message).toBe(reason);
    const terminated = eventsOfType(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED)[0]!.workflowExecutionTerminatedEventAttributes!;
    expect(terminated.reason).toBe(reason);
    expect(terminated.identity).toBe('history-service');
    // Nothing was scheduled: the oversized command left no trace but the failure.
    expect(eventsOfType(history, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)).toEqual([]);
  });

  it('lets the official worker, which learned the limit, fail its own task with PAYLOADS_TOO_LARGE', async () => {
    const workflowId = uniqueWorkflowId('payload-limit-worker');
    await env.withTaskQueue('payload-limit-worker', async (taskQueue) => {
      const handle = await env.client.workflow.start(bigActivityInputWorkflow, { taskQueue, workflowId, args: [ERROR_LIMIT + 1024] });
      const history = await waitForHistory(handle, (h) => eventsOfType(h, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED).length > 0);
      const failed = eventsOfType(history, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)[0]!.workflowTaskFailedEventAttributes!;
      expect(failed.cause).toBe(enums.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_PAYLOADS_TOO_LARGE);
      // The worker's own refusal is retried like any failed task; the run stays open.
      expect((await handle.describe()).status.name).toBe('RUNNING');
      await handle.terminate('test over');
    });
  });

  it('fails, without retrying, an activity whose result or heartbeat passes the limit', async () => {
    for (const heartbeat of [false, true]) {
      const workflowId = uniqueWorkflowId(`payload-limit-activity-${heartbeat ? 'heartbeat' : 'result'}`);
      const caught = await env.withTaskQueue(
        'payload-limit-activity',
        (taskQueue) => env.client.workflow.execute(bigActivityOutputWorkflow, { taskQueue, workflowId, args: [ERROR_LIMIT + 1024, heartbeat] }),
        { disablePayloadErrorLimit: true },
      );
      const message = heartbeat ? 'Heartbeat details exceed size limit.' : 'Complete result exceeds size limit.';
      expect(caught).toMatchObject({ causeName: 'ServerFailure', causeMessage: message });
      const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
      const failed = eventsOfType(history, EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED).map((e) => e.activityTaskFailedEventAttributes!);
      expect(failed).toHaveLength(1);
      expect(failed[0]!.failure).toMatchObject({ message, serverFailureInfo: { nonRetryable: true } });
      expect(failed[0]!.retryState).toBe(enums.RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE);
      expect(eventsOfType(history, EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)[0]!.activityTaskStartedEventAttributes?.attempt).toBe(1);
    }
  });

  it('refuses a start over the limit at the front door, and lets through what is under it', async () => {
    const big = 'x'.repeat(ERROR_LIMIT + 1024);
    await env.withTaskQueue('payload-limit-frontdoor', async (taskQueue) => {
      const refused = await env.client.workflow.start(greetingWorkflow, { taskQueue, workflowId: uniqueWorkflowId('payload-limit-start'), args: [big] }).catch((err: unknown) => err);
      expect(String((refused as Error).cause)).toMatch(/INVALID_ARGUMENT: Blob data size exceeds limit/);
      const small = 'y'.repeat(WARN_LIMIT * 2);
      expect(await env.client.workflow.execute(greetingWorkflow, { taskQueue, workflowId: uniqueWorkflowId('payload-limit-small'), args: [small] })).toContain(small);
    });
  });
});
