// Rebuilds a run's mutable state from a prefix of its history (used by reset). The engine normally
// derives state from transitions; here the events are the only source, so each event type is applied
// as the transition that wrote it would have left the state. What history does not record (request ids
// of signals, retry progress of an unfinished activity attempt) starts afresh, as in Temporal's
// rebuilder. The caller re-arms timers and dispatches for the rebuilt state (rearmRebuiltState).
import { rebuildCompletionVersioning, startedVersioning } from './versioning.js';
import { priorityFields, setPriority } from './priority.js';
import { durationToMs, timestampToMs } from '@kairos/common';
import {
  ActivityScheduledAttributesCodec,
  EventType,
  HeaderCodec,
  HistoryEventCodec,
  MemoCodec,
  PayloadsCodec,
  RetryPolicyCodec,
  SearchAttributesCodec,
  UpdateOutcomeCodec,
  UpdateRequestCodec,
  type HistoryEvent,
} from '../proto-types.js';
import { newRunState, type ActivityInfo, type MutableState } from './mutable-state.js';
import { mergeMemo, mergeSearchAttributes } from './api/commands.js';
import { recordBuildId } from './machines/build-ids.js';
import { normalizeWorkflowTimeouts } from './api/start-workflow.js';
import { childInfoOf } from './machines/child-workflow.js';
import { newNexusOperationInfo, nexusOperations } from './machines/nexus-operation.js';
import { newCallbackInfos } from './machines/callbacks.js';

export class RebuildError extends Error {
  override readonly name = 'RebuildError';
}

export interface RebuildIdentity {
  readonly runId: string;
  readonly nowMs: number;
  readonly requestId: string;
}

/** Applies `events` (ids 1..n, contiguous) and returns the state of the new run `identity.runId`. */
export function rebuildState(namespaceId: string, events: readonly HistoryEvent[], identity: RebuildIdentity): MutableState {
  const first = events[0];
  const started = first?.workflowExecutionStartedEventAttributes;
  if (!first || Number(first.eventId) !== 1 || !started) throw new RebuildError('history does not start with WorkflowExecutionStarted');
  const state = initialState(namespaceId, started, identity);
  const versioning = startedVersioning(started);
  if (versioning) state.versioning = versioning;
  for (const event of events) {
    if (Number(event.eventId) !== state.nextEventId) throw new RebuildError(`history is not contiguous at event ${state.nextEventId}`);
    applyEvent(state, event);
    state.nextEventId++;
    state.historySizeBytes += HistoryEventCodec.encode(event).len;
  }
  return state;
}

type StartedAttributes = NonNullable<HistoryEvent['workflowExecutionStartedEventAttributes']>;

function initialState(namespaceId: string, a: StartedAttributes, id: RebuildIdentity): MutableState {
  const timeouts = normalizeWorkflowTimeouts(a);
  const parent = a.parentWorkflowExecution?.workflowId
    ? {
        namespaceId: a.parentWorkflowNamespaceId ?? '',
        namespace: a.parentWorkflowNamespace ?? '',
        workflowId: a.parentWorkflowExecution.workflowId,
        runId: a.parentWorkflowExecution.runId ?? '',
        initiatedEventId: Number(a.parentInitiatedEventId ?? 0),
        rootWorkflowId: a.rootWorkflowExecution?.workflowId || a.parentWorkflowExecution.workflowId,
        rootRunId: a.rootWorkflowExecution?.workflowId ? (a.rootWorkflowExecution.runId ?? '') : (a.parentWorkflowExecution.runId ?? ''),
      }
    : null;
  return newRunState({
    namespaceId,
    workflowId: a.workflowId ?? '',
    runId: id.runId,
    firstExecutionRunId: a.firstExecutionRunId || a.originalExecutionRunId || id.runId,
    workflowType: a.workflowType?.name ?? '',
    taskQueue: a.taskQueue?.name ?? '',
    // A reset run starts now (its first events keep their original times).
    startTimeMs: id.nowMs,
    executionTimeMs: id.nowMs,
    ...timeouts,
    startRequestId: id.requestId,
    requestIds: id.requestId ? [id.requestId] : [],
    signalRequestIds: [],
    signalCount: 0,
    memo: a.memo ? MemoCodec.encode(a.memo).finish() : null,
    searchAttributes: a.searchAttributes ? SearchAttributesCodec.encode(a.searchAttributes).finish() : null,
    attempt: a.attempt ?? 1,
    retryPolicy: a.retryPolicy ? RetryPolicyCodec.encode(a.retryPolicy).finish() : null,
    cronSchedule: a.cronSchedule ?? '',
    parent,
    startInput: a.input ? PayloadsCodec.encode(a.input).finish() : null,
    startHeader: a.header ? HeaderCodec.encode(a.header).finish() : null,
    executionExpirationMs: timestampToMs(a.workflowExecutionExpirationTime) ?? 0,
    ...priorityFields(a.priority),
    // The handler side of a Nexus operation: the reset run completes the caller's operation when it closes.
    ...(a.completionCallbacks?.length ? { callbacks: newCallbackInfos(a.completionCallbacks, id.nowMs, id.requestId) } : {}),
  });
}

function applyEvent(state: MutableState, event: HistoryEvent): void {
  const eventId = Number(event.eventId);
  const timeMs = timestampToMs(event.eventTime) ?? 0;
  switch (event.eventType) {
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
      state.signalCount++;
      return;
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
    case EventType.EVENT_TYPE_MARKER_RECORDED:
    case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
    case EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
    case EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
      if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED || event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT) state.workflowTask = null;
      return;
    case EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED: {
      const a = event.workflowTaskScheduledEventAttributes;
      state.workflowTask = {
        scheduledEventId: eventId,
        startedEventId: 0,
        attempt: a?.attempt ?? 1,
        transient: false,
        scheduledTimeMs: timeMs,
        startedTimeMs: 0,
        startToCloseMs: durationToMs(a?.startToCloseTimeout) || state.workflowTaskTimeoutMs,
        taskQueue: state.taskQueue,
        identity: '',
        requestId: '',
        timeoutTaskId: '',
      };
      return;
    }
    case EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED: {
      const wft = state.workflowTask;
      if (!wft) throw new RebuildError(`WorkflowTaskStarted ${eventId} without a scheduled workflow task`);
      wft.startedEventId = eventId;
      wft.startedTimeMs = timeMs;
      wft.identity = event.workflowTaskStartedEventAttributes?.identity ?? '';
      wft.requestId = event.workflowTaskStartedEventAttributes?.requestId ?? '';
      return;
    }
    case EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
      state.lastCompletedWftStartedEventId = Number(event.workflowTaskCompletedEventAttributes?.startedEventId ?? 0);
      recordBuildId(state, event.workflowTaskCompletedEventAttributes?.workerVersion, event.workflowTaskCompletedEventAttributes?.binaryChecksum ?? '');
      rebuildCompletionVersioning(state, event.workflowTaskCompletedEventAttributes);
      state.workflowTask = null;
      return;
    case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
      state.activities[eventId] = rebuiltActivity(eventId, timeMs, event.activityTaskScheduledEventAttributes ?? {});
      return;
    case EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED: {
      const info = state.activities[Number(event.activityTaskCancelRequestedEventAttributes?.scheduledEventId ?? 0)];
      if (info) {
        info.cancelRequested = true;
        info.cancelRequestedEventId = eventId;
      }
      return;
    }
    case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
    case EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
    case EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
    case EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
      delete state.activities[scheduledIdOfActivityClose(event)];
      return;
    case EventType.EVENT_TYPE_TIMER_STARTED: {
      const a = event.timerStartedEventAttributes;
      const timerId = a?.timerId ?? '';
      state.timers[timerId] = { timerId, startedEventId: eventId, fireAtMs: timeMs + durationToMs(a?.startToFireTimeout), taskId: '' };
      return;
    }
    case EventType.EVENT_TYPE_TIMER_FIRED:
      delete state.timers[event.timerFiredEventAttributes?.timerId ?? ''];
      return;
    case EventType.EVENT_TYPE_TIMER_CANCELED:
      delete state.timers[event.timerCanceledEventAttributes?.timerId ?? ''];
      return;
    case EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
      state.searchAttributes = mergeSearchAttributes(state.searchAttributes, event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes ?? {});
      return;
    case EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED:
      state.memo = mergeMemo(state.memo, event.workflowPropertiesModifiedEventAttributes?.upsertedMemo ?? {});
      return;
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
      state.cancelRequested = true;
      return;
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED: {
      const priority = event.workflowExecutionOptionsUpdatedEventAttributes?.priority;
      if (priority) setPriority(state, priority);
      return;
    }
    default:
      applyLinkedEvent(state, event, eventId, timeMs);
  }
}

/** Children, external requests and updates: records that other runs or callers are linked to. */
function applyLinkedEvent(state: MutableState, event: HistoryEvent, eventId: number, timeMs: number): void {
  switch (event.eventType) {
    case EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: {
      state.children[eventId] = childInfoOf(eventId, event.startChildWorkflowExecutionInitiatedEventAttributes ?? {}, state.namespaceId);
      return;
    }
    case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED: {
      const a = event.childWorkflowExecutionStartedEventAttributes;
      const child = state.children[Number(a?.initiatedEventId ?? 0)];
      if (child) Object.assign(child, { runId: a?.workflowExecution?.runId ?? '', startedEventId: eventId, started: true });
      return;
    }
    case EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED:
    case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
    case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
    case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED:
    case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT:
    case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED:
      delete state.children[initiatedIdOf(event)];
      return;
    case EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: {
      const a = event.signalExternalWorkflowExecutionInitiatedEventAttributes ?? {};
      state.externalRequests[eventId] = { initiatedEventId: eventId, kind: 'signal', initiatedAttributes: HistoryEventCodec.encode({ signalExternalWorkflowExecutionInitiatedEventAttributes: a }).finish() };
      return;
    }
    case EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: {
      const a = event.requestCancelExternalWorkflowExecutionInitiatedEventAttributes ?? {};
      state.externalRequests[eventId] = { initiatedEventId: eventId, kind: 'cancel', initiatedAttributes: HistoryEventCodec.encode({ requestCancelExternalWorkflowExecutionInitiatedEventAttributes: a }).finish() };
      return;
    }
    case EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED:
    case EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED:
    case EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
    case EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED:
      delete state.externalRequests[initiatedIdOf(event)];
      return;
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED: {
      const request = event.workflowExecutionUpdateAdmittedEventAttributes?.request;
      const updateId = request?.meta?.updateId ?? '';
      state.updates[updateId] = { ...newUpdate(state, updateId, timeMs), request: request ? UpdateRequestCodec.encode(request).finish() : null };
      return;
    }
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: {
      const updateId = event.workflowExecutionUpdateAcceptedEventAttributes?.protocolInstanceId ?? '';
      state.updates[updateId] = { ...newUpdate(state, updateId, timeMs), phase: 'accepted', acceptedEventId: eventId };
      return;
    }
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED: {
      const a = event.workflowExecutionUpdateCompletedEventAttributes;
      const info = state.updates[a?.meta?.updateId ?? ''];
      if (!info) return;
      info.phase = 'completed';
      info.completedEventId = eventId;
      info.outcome = a?.outcome ? UpdateOutcomeCodec.encode(a.outcome).finish() : null;
      return;
    }
    default:
      if (applyNexusEvent(state, event, eventId, timeMs)) return;
      throw new RebuildError(`cannot rebuild the state past event ${eventId} (event type ${event.eventType ?? 0}): the run had closed`);
  }
}

/** Nexus operations the run called: open from Scheduled until one of their closing events. */
function applyNexusEvent(state: MutableState, event: HistoryEvent, eventId: number, timeMs: number): boolean {
  switch (event.eventType) {
    case EventType.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED: {
      const a = event.nexusOperationScheduledEventAttributes ?? {};
      nexusOperations(state)[eventId] = newNexusOperationInfo(eventId, timeMs, a, {
        scheduleToCloseMs: durationToMs(a.scheduleToCloseTimeout),
        scheduleToStartMs: durationToMs(a.scheduleToStartTimeout),
        startToCloseMs: durationToMs(a.startToCloseTimeout),
      });
      return true;
    }
    case EventType.EVENT_TYPE_NEXUS_OPERATION_STARTED: {
      const a = event.nexusOperationStartedEventAttributes;
      const info = state.nexusOperations?.[Number(a?.scheduledEventId ?? 0)];
      if (!info) return true;
      info.phase = 'started';
      info.attempt++;
      info.operationToken = a?.operationToken || a?.operationId || '';
      info.startedTimeMs = timeMs;
      info.lastAttemptCompleteMs = timeMs;
      if (info.cancelPhase === 'pending') info.cancelPhase = 'scheduled';
      return true;
    }
    case EventType.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUESTED: {
      const info = state.nexusOperations?.[Number(event.nexusOperationCancelRequestedEventAttributes?.scheduledEventId ?? 0)];
      if (!info) return true;
      info.cancelRequestedEventId = eventId;
      info.cancelRequestedTimeMs = timeMs;
      info.cancelPhase = info.phase === 'started' ? 'scheduled' : 'pending';
      return true;
    }
    case EventType.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUEST_COMPLETED:
    case EventType.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUEST_FAILED: {
      const a = event.nexusOperationCancelRequestCompletedEventAttributes ?? event.nexusOperationCancelRequestFailedEventAttributes;
      const info = state.nexusOperations?.[Number(a?.scheduledEventId ?? 0)];
      if (!info) return true;
      info.cancelPhase = event.eventType === EventType.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUEST_COMPLETED ? 'succeeded' : 'failed';
      info.cancelAttempt++;
      info.cancelLastAttemptCompleteMs = timeMs;
      return true;
    }
    case EventType.EVENT_TYPE_NEXUS_OPERATION_COMPLETED:
    case EventType.EVENT_TYPE_NEXUS_OPERATION_FAILED:
    case EventType.EVENT_TYPE_NEXUS_OPERATION_CANCELED:
    case EventType.EVENT_TYPE_NEXUS_OPERATION_TIMED_OUT: {
      const a =
        event.nexusOperationCompletedEventAttributes ??
        event.nexusOperationFailedEventAttributes ??
        event.nexusOperationCanceledEventAttributes ??
        event.nexusOperationTimedOutEventAttributes;
      if (state.nexusOperations) delete state.nexusOperations[Number(a?.scheduledEventId ?? 0)];
      return true;
    }
    default:
      return false;
  }
}

function newUpdate(state: MutableState, updateId: string, timeMs: number): MutableState['updates'][string] {
  const seq = Object.values(state.updates).reduce((max, u) => Math.max(max, u.seq), 0) + 1;
  return { updateId, phase: 'admitted', seq, admittedTimeMs: timeMs, request: null, sentInWft: 0, acceptedEventId: 0, completedEventId: 0, outcome: null };
}

function rebuiltActivity(scheduledEventId: number, timeMs: number, a: NonNullable<HistoryEvent['activityTaskScheduledEventAttributes']>): ActivityInfo {
  return {
    scheduledEventId,
    activityId: a.activityId ?? '',
    activityType: a.activityType?.name ?? '',
    taskQueue: a.taskQueue?.name ?? '',
    scheduledAttributes: ActivityScheduledAttributesCodec.encode(a).finish(),
    scheduledTimeMs: timeMs,
    phase: 'scheduled',
    attempt: 1,
    awaitingRetry: false,
    currentAttemptScheduledTimeMs: timeMs,
    startedTimeMs: 0,
    startedIdentity: '',
    startedRequestId: '',
    scheduleToCloseMs: durationToMs(a.scheduleToCloseTimeout),
    scheduleToStartMs: durationToMs(a.scheduleToStartTimeout),
    startToCloseMs: durationToMs(a.startToCloseTimeout),
    heartbeatMs: durationToMs(a.heartbeatTimeout),
    heartbeatDetails: null,
    lastHeartbeatMs: 0,
    lastFailure: null,
    cancelRequested: false,
    cancelRequestedEventId: 0,
    timerTaskIds: [],
    heartbeatTimerTaskId: '',
    priorityKey: a.priority?.priorityKey ?? 0,
  };
}

function scheduledIdOfActivityClose(event: HistoryEvent): number {
  const a =
    event.activityTaskCompletedEventAttributes ??
    event.activityTaskFailedEventAttributes ??
    event.activityTaskTimedOutEventAttributes ??
    event.activityTaskCanceledEventAttributes;
  return Number(a?.scheduledEventId ?? 0);
}

function initiatedIdOf(event: HistoryEvent): number {
  const a =
    event.startChildWorkflowExecutionFailedEventAttributes ??
    event.childWorkflowExecutionCompletedEventAttributes ??
    event.childWorkflowExecutionFailedEventAttributes ??
    event.childWorkflowExecutionCanceledEventAttributes ??
    event.childWorkflowExecutionTimedOutEventAttributes ??
    event.childWorkflowExecutionTerminatedEventAttributes ??
    event.externalWorkflowExecutionSignaledEventAttributes ??
    event.signalExternalWorkflowExecutionFailedEventAttributes ??
    event.externalWorkflowExecutionCancelRequestedEventAttributes ??
    event.requestCancelExternalWorkflowExecutionFailedEventAttributes;
  return Number(a?.initiatedEventId ?? 0);
}
