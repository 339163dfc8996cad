// The activation jobs that single history events turn into, apart from the replayer's bookkeeping:
// the first activation's `initialize` job, and the resolution of a completed, failed, timed-out or
// cancelled activity.
import type { temporal } from '@temporalio/proto';
import { api, timestampToMs } from '@kairos/common';
import { protoDurationToMs, type ActivationJob, type int64ToNumber, type Payload, type ProtoFailure } from '@kairos/sdk-common';
import { activityFailure, type ScheduledActivity } from './failures.js';
import type { RunIdentity } from './history-replayer.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** The `initialize` job of WorkflowExecutionStarted: the workflow's arguments and its info. */
export function initializeJob(event: HistoryEvent, run: RunIdentity): ActivationJob {
  const a = event.workflowExecutionStartedEventAttributes as temporal.api.history.v1.IWorkflowExecutionStartedEventAttributes;
  const startMs = timestampToMs(event.eventTime) ?? 0;
  const memo: Record<string, Payload> = {};
  for (const [key, value] of Object.entries(a.memo?.fields ?? {})) memo[key] = value;
  const searchAttributes: Record<string, Payload> = {};
  for (const [key, value] of Object.entries(a.searchAttributes?.indexedFields ?? {})) searchAttributes[key] = value;
  return {
    kind: 'initialize',
    args: a.input?.payloads ?? [],
    headers: { ...a.header?.fields },
    randomnessSeed: a.originalExecutionRunId || run.runId,
    info: {
      workflowId: run.workflowId,
      runId: run.runId,
      workflowType: a.workflowType?.name ?? '',
      namespace: run.namespace,
      taskQueue: a.taskQueue?.name ?? '',
      attempt: a.attempt || 1,
      firstExecutionRunId: a.firstExecutionRunId || run.runId,
      continuedFromExecutionRunId: a.continuedExecutionRunId || undefined,
      startTimeMs: startMs,
      runStartTimeMs: startMs,
      executionTimeoutMs: protoDurationToMs(a.workflowExecutionTimeout) || undefined,
      runTimeoutMs: protoDurationToMs(a.workflowRunTimeout) || undefined,
      taskTimeoutMs: protoDurationToMs(a.workflowTaskTimeout) ?? 10_000,
      cronSchedule: a.cronSchedule || undefined,
      lastResult: a.lastCompletionResult?.payloads?.[0],
      memo,
      searchAttributes,
      parent: a.parentWorkflowExecution
        ? {
            workflowId: a.parentWorkflowExecution.workflowId ?? '',
            runId: a.parentWorkflowExecution.runId ?? '',
            namespace: a.parentWorkflowNamespace ?? '',
          }
        : undefined,
      root: a.rootWorkflowExecution?.workflowId
        ? { workflowId: a.rootWorkflowExecution.workflowId, runId: a.rootWorkflowExecution.runId ?? '' }
        : undefined,
    },
  };
}

/**
 * The job that resolves an activity from its close event (undefined for other events); `activityOf`
 * finds the activity the event's scheduled event id names (and throws for one the code never started).
 */
export function activityResolutionJob(event: HistoryEvent, activityOf: (scheduledEventId: Parameters<typeof int64ToNumber>[0] | undefined) => ScheduledActivity): ActivationJob | undefined {
  if (event.activityTaskCompletedEventAttributes) {
    const a = event.activityTaskCompletedEventAttributes;
    const activity = activityOf(a.scheduledEventId);
    return { kind: 'resolveActivity', seq: activity.seq, resolution: { status: 'completed', result: a.result?.payloads?.[0] } };
  }
  if (event.activityTaskFailedEventAttributes) {
    const a = event.activityTaskFailedEventAttributes;
    const activity = activityOf(a.scheduledEventId);
    const failure = activityFailure(activity, 'Activity task failed', a.startedEventId, a.identity, a.retryState, a.failure);
    return { kind: 'resolveActivity', seq: activity.seq, resolution: { status: 'failed', failure } };
  }
  if (event.activityTaskTimedOutEventAttributes) {
    const a = event.activityTaskTimedOutEventAttributes;
    const activity = activityOf(a.scheduledEventId);
    const failure = activityFailure(activity, 'Activity task timed out', a.startedEventId, '', a.retryState, a.failure);
    return { kind: 'resolveActivity', seq: activity.seq, resolution: { status: 'failed', failure } };
  }
  if (event.activityTaskCanceledEventAttributes) {
    const a = event.activityTaskCanceledEventAttributes;
    const activity = activityOf(a.scheduledEventId);
    const cause: ProtoFailure = { message: 'Activity cancelled', canceledFailureInfo: { details: a.details ?? null, identity: a.identity } };
    const retryState = api.enums.v1.RetryState.RETRY_STATE_CANCEL_REQUESTED;
    const failure = activityFailure(activity, 'Activity task cancelled', a.startedEventId, a.identity, retryState, cause);
    return { kind: 'resolveActivity', seq: activity.seq, resolution: { status: 'cancelled', failure } };
  }
  return undefined;
}
