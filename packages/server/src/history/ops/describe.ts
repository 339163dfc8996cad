// DescribeWorkflowExecution from mutable state.
import { versioningInfoMessage } from '../versioning.js';
import { workflowPriority } from '../priority.js';
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import { msToDuration, msToOptionalDuration, msToTimestamp } from '@kairos/common';
import { FailureCodec, MemoCodec, PayloadsCodec, PendingActivityState, PendingWorkflowTaskState, SearchAttributesCodec } from '../../proto-types.js';
import { decodeScheduledAttributes } from '../machines/activity.js';
import { pendingNexusOperationInfo } from '../machines/nexus-operation.js';
import { callbackInfoMessage } from '../machines/callbacks.js';
import { rootExecutionOf, type ActivityInfo, type MutableState } from '../mutable-state.js';

type DescribeResponse = Loose<temporal.api.workflowservice.v1.IDescribeWorkflowExecutionResponse>;

export function describeExecution(state: MutableState): DescribeResponse {
  const execution = { workflowId: state.workflowId, runId: state.runId };
  const pendingActivities = Object.values(state.activities).map((a) => {
    const attrs = decodeScheduledAttributes(a);
    const activityState = pendingActivityState(a);
    return {
      activityId: a.activityId,
      activityType: { name: a.activityType },
      state: activityState,
      heartbeatDetails: a.heartbeatDetails ? PayloadsCodec.decode(a.heartbeatDetails) : null,
      lastHeartbeatTime: a.lastHeartbeatMs ? msToTimestamp(a.lastHeartbeatMs) : null,
      lastStartedTime: a.startedTimeMs ? msToTimestamp(a.startedTimeMs) : null,
      attempt: a.attempt,
      maximumAttempts: attrs.retryPolicy?.maximumAttempts ?? 0,
      scheduledTime: msToTimestamp(a.currentAttemptScheduledTimeMs),
      expirationTime: a.scheduleToCloseMs > 0 ? msToTimestamp(a.scheduledTimeMs + a.scheduleToCloseMs) : null,
      lastFailure: a.lastFailure ? FailureCodec.decode(a.lastFailure) : null,
      lastWorkerIdentity: a.startedIdentity,
      currentRetryInterval: null,
      paused: a.paused === true,
      pauseInfo: a.paused ? { pauseTime: msToTimestamp(a.pausedAtMs ?? 0), manual: { identity: a.pausedBy ?? '', reason: a.pauseReason ?? '' } } : null,
      activityOptions: {
        taskQueue: { name: a.taskQueue, kind: 1 },
        scheduleToCloseTimeout: msToDuration(a.scheduleToCloseMs),
        scheduleToStartTimeout: msToDuration(a.scheduleToStartMs),
        startToCloseTimeout: msToDuration(a.startToCloseMs),
        heartbeatTimeout: msToDuration(a.heartbeatMs),
        retryPolicy: attrs.retryPolicy ?? null,
      },
    };
  });
  const wft = state.workflowTask;
  return {
    executionConfig: {
      taskQueue: { name: state.taskQueue, kind: 1 },
      workflowExecutionTimeout: msToOptionalDuration(state.executionTimeoutMs),
      workflowRunTimeout: msToOptionalDuration(state.runTimeoutMs),
      defaultWorkflowTaskTimeout: msToDuration(state.workflowTaskTimeoutMs),
    },
    workflowExecutionInfo: {
      execution,
      type: { name: state.workflowType },
      startTime: msToTimestamp(state.startTimeMs),
      closeTime: state.closeTimeMs > 0 ? msToTimestamp(state.closeTimeMs) : null,
      status: state.status,
      historyLength: state.nextEventId - 1,
      executionTime: msToTimestamp(state.executionTimeMs),
      memo: state.memo ? MemoCodec.decode(state.memo) : { fields: {} },
      searchAttributes: state.searchAttributes ? SearchAttributesCodec.decode(state.searchAttributes) : { indexedFields: {} },
      taskQueue: state.taskQueue,
      stateTransitionCount: state.stateTransitionCount,
      historySizeBytes: state.historySizeBytes,
      firstRunId: state.firstExecutionRunId,
      parentExecution: state.parent ? { workflowId: state.parent.workflowId, runId: state.parent.runId } : null,
      parentNamespaceId: state.parent?.namespaceId ?? '',
      rootExecution: rootExecutionOf(state),
      executionDuration: state.closeTimeMs > 0 ? msToDuration(state.closeTimeMs - state.executionTimeMs) : null,
      versioningInfo: versioningInfoMessage(state),
      workerDeploymentName: state.versioning?.workerDeploymentName || state.versioning?.overrideDeploymentName || '',
      priority: workflowPriority(state),
    },
    workflowExtendedInfo: {
      executionExpirationTime: state.executionExpirationMs > 0 ? msToTimestamp(state.executionExpirationMs) : null,
      runExpirationTime: state.runTimeoutMs > 0 ? msToTimestamp(state.executionTimeMs + state.runTimeoutMs) : null,
      cancelRequested: state.cancelRequested === true,
      originalStartTime: msToTimestamp(state.startTimeMs),
      // The run a reset replaced this one with (it was the reset's base run).
      resetRunId: state.resetRunId ?? '',
    },
    pendingActivities,
    pendingChildren: Object.values(state.children ?? {}).map((c) => ({
      workflowId: c.workflowId,
      runId: c.runId,
      workflowTypeName: c.workflowType,
      initiatedId: c.initiatedEventId,
      parentClosePolicy: c.parentClosePolicy,
    })),
    pendingWorkflowTask: wft
      ? {
          state: wft.startedEventId > 0 ? PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED : PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED,
          scheduledTime: msToTimestamp(wft.scheduledTimeMs),
          originalScheduledTime: msToTimestamp(wft.scheduledTimeMs),
          startedTime: wft.startedTimeMs ? msToTimestamp(wft.startedTimeMs) : null,
          attempt: wft.attempt,
        }
      : null,
    pendingNexusOperations: Object.values(state.nexusOperations ?? {}).map((op) => pendingNexusOperationInfo(op, msToTimestamp)),
    callbacks: (state.callbacks ?? []).map(callbackInfoMessage),
  };
}

/** As Temporal reports it: a paused activity is PAUSED while no attempt runs, PAUSE_REQUESTED while one does. */
function pendingActivityState(a: ActivityInfo): number {
  if (a.cancelRequested) return PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED;
  if (a.phase === 'started') return a.paused ? PendingActivityState.PENDING_ACTIVITY_STATE_PAUSE_REQUESTED : PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
  return a.paused ? PendingActivityState.PENDING_ACTIVITY_STATE_PAUSED : PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED;
}
