// A Nexus operation seen from the workflow that scheduled it (Temporal's operation state machine; docs/nexus.md).
//
//   SCHEDULED --invocation: sync result / operation error / non-retryable handler error--> closed
//      |  ^ --invocation: retryable error--> BACKING_OFF --backoff timer--> SCHEDULED (attempt + 1)
//      |--invocation: async start (token)--> STARTED --callback: completed / failed / canceled--> closed
//   any open phase --schedule-to-close (or schedule-to-start before STARTED, start-to-close once STARTED)--> TimedOut
//
// The invocation itself (a Nexus task dispatched to the endpoint's workers) runs outside the run's lock,
// from a timer row due at once (ops/nexus-invocation.ts); the functions here are its pure effects on the
// run. Closing events and Started are buffered while a workflow task runs; Scheduled and
// CancelRequested come from commands. A cancel asked for before the operation started is only recorded;
// it is sent to the handler once the operation has a token.
import { msToDuration } from '@kairos/common';
import { EventType, FailureCodec, TimeoutType, WorkflowExecutionStatus as Status, type Failure, type HistoryEvent, type Payload } from '../../proto-types.js';
import type { Transition } from '../transition.js';
import type { MutableState, NexusOperationInfo } from '../mutable-state.js';
import { addStandaloneNexusLinks, completeStandaloneNexus, failStandaloneNexus } from '../standalone-nexus/close.js';
import { addExternalEvent } from './workflow-task.js';

export type NexusScheduledAttributes = NonNullable<HistoryEvent['nexusOperationScheduledEventAttributes']>;
type Links = NonNullable<HistoryEvent['links']>;

/** Temporal's defaults (components/nexusoperations/config.go): retry backoff, per-request timeout and its floor. */
export const NEXUS_RETRY_INITIAL_MS = 1000;
export const NEXUS_RETRY_MAX_MS = 3_600_000;
export const NEXUS_REQUEST_TIMEOUT_MS = 10_000;
export const NEXUS_MIN_REQUEST_TIMEOUT_MS = 1500;
/** At most this many operations open at once per run. */
export const MAX_PENDING_NEXUS_OPERATIONS = 30;

export function nexusOperations(state: MutableState): Record<number, NexusOperationInfo> {
  return (state.nexusOperations ??= {});
}

/** The backoff before attempt `attempt` + 1, jittered as Temporal's (0.8 d + up to 0.2 d). */
export function nexusBackoffMs(attempt: number, random = Math.random): number {
  const base = Math.min(NEXUS_RETRY_INITIAL_MS * 2 ** Math.max(0, attempt - 1), NEXUS_RETRY_MAX_MS);
  return Math.floor(base * 0.8 + random() * base * 0.2);
}

/** Writes NexusOperationScheduled (attributes validated and normalized) and arms its invocation and timeouts. */
export function scheduleNexusOperation(t: Transition, attrs: NexusScheduledAttributes, timeouts: NexusTimeouts): NexusOperationInfo {
  const ev = t.addEvent(EventType.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED, 'nexusOperationScheduledEventAttributes', attrs);
  const info = newNexusOperationInfo(Number(ev.eventId), t.nowMs, attrs, timeouts);
  nexusOperations(t.state)[info.scheduledEventId] = info;
  armNexusOperation(t, info);
  return info;
}

/** Arms a just scheduled operation's timeouts and its first start attempt (a workflow's, or a standalone one's). */
export function armNexusOperation(t: Transition, info: NexusOperationInfo): void {
  if (info.scheduleToCloseMs > 0) armTimeout(t, info, t.nowMs + info.scheduleToCloseMs, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE);
  if (info.scheduleToStartMs > 0) armTimeout(t, info, t.nowMs + info.scheduleToStartMs, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START);
  invokeNow(t, info);
}

export interface NexusTimeouts {
  readonly scheduleToCloseMs: number;
  readonly scheduleToStartMs: number;
  readonly startToCloseMs: number;
}

/** The record of an operation just scheduled (by its command, or in a state rebuilt from history). */
export function newNexusOperationInfo(scheduledEventId: number, scheduledTimeMs: number, attrs: NexusScheduledAttributes, timeouts: NexusTimeouts): NexusOperationInfo {
  return {
    scheduledEventId,
    endpoint: attrs.endpoint ?? '',
    endpointId: attrs.endpointId ?? '',
    service: attrs.service ?? '',
    operation: attrs.operation ?? '',
    requestId: attrs.requestId ?? '',
    scheduledTimeMs,
    scheduleToCloseMs: timeouts.scheduleToCloseMs,
    scheduleToStartMs: timeouts.scheduleToStartMs,
    startToCloseMs: timeouts.startToCloseMs,
    phase: 'scheduled',
    attempt: 0,
    operationToken: '',
    startedTimeMs: 0,
    lastAttemptCompleteMs: 0,
    lastAttemptFailure: null,
    nextAttemptMs: 0,
    timerTaskIds: [],
    invocationTaskId: '',
    cancelPhase: '',
    cancelRequestedEventId: 0,
    cancelRequestedTimeMs: 0,
    cancelAttempt: 0,
    cancelLastAttemptCompleteMs: 0,
    cancelLastFailure: null,
    cancelNextAttemptMs: 0,
    cancelTaskId: '',
  };
}

/**
 * Arms the rows of an operation in a state rebuilt from history (a reset run): its deadlines count from
 * the times its events recorded, as Temporal regenerates them; a start not yet answered is attempted
 * again at once (with the same request id), and so is a cancel not yet delivered to a started operation.
 */
export function rearmRebuiltNexusOperation(t: Transition, info: NexusOperationInfo): void {
  if (info.scheduleToCloseMs > 0) armTimeout(t, info, info.scheduledTimeMs + info.scheduleToCloseMs, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE);
  if (info.phase !== 'started') {
    if (info.scheduleToStartMs > 0) armTimeout(t, info, info.scheduledTimeMs + info.scheduleToStartMs, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START);
    invokeNow(t, info);
    return;
  }
  if (info.startToCloseMs > 0) armTimeout(t, info, info.startedTimeMs + info.startToCloseMs, TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE);
  if (info.cancelPhase === 'scheduled') {
    info.cancelRequestedTimeMs = t.nowMs;
    cancelNow(t, info);
  }
}

function armTimeout(t: Transition, info: NexusOperationInfo, atMs: number, timeoutType: number): void {
  info.timerTaskIds.push(t.addTimer(atMs, { kind: 'nexusTimeout', scheduledEventId: info.scheduledEventId, timeoutType }));
}

/** Arms the row that runs the next start attempt. */
function invokeNow(t: Transition, info: NexusOperationInfo): void {
  info.invocationTaskId = t.addTimer(t.nowMs, { kind: 'nexusInvoke', scheduledEventId: info.scheduledEventId });
  info.timerTaskIds.push(info.invocationTaskId);
}

function cancelNow(t: Transition, info: NexusOperationInfo): void {
  info.cancelPhase = 'scheduled';
  info.cancelTaskId = t.addTimer(t.nowMs, { kind: 'nexusCancel', scheduledEventId: info.scheduledEventId });
  info.timerTaskIds.push(info.cancelTaskId);
}

function dropTimer(t: Transition, info: NexusOperationInfo, taskId: string): void {
  if (!taskId) return;
  t.deleteTimer(taskId);
  info.timerTaskIds = info.timerTaskIds.filter((id) => id !== taskId);
}

/** The operation closed: its rows go, and so does its record. */
function close(t: Transition, info: NexusOperationInfo): void {
  for (const id of info.timerTaskIds) t.deleteTimer(id);
  delete nexusOperations(t.state)[info.scheduledEventId];
  t.stateChanged = true;
}

/** The failure closing events carry: Temporal's wrapper around what the operation failed with. */
export function operationFailure(info: NexusOperationInfo, cause: Failure | null): Failure {
  return {
    message: 'nexus operation completed unsuccessfully',
    nexusOperationExecutionFailureInfo: {
      scheduledEventId: info.scheduledEventId,
      endpoint: info.endpoint,
      service: info.service,
      operation: info.operation,
      operationId: info.operationToken,
      operationToken: info.operationToken,
    },
    cause,
  };
}

/** The handler started the operation asynchronously. */
export function recordNexusStarted(t: Transition, info: NexusOperationInfo, operationToken: string, links: Links, timeMs = t.nowMs): void {
  dropTimer(t, info, info.invocationTaskId);
  info.invocationTaskId = '';
  info.phase = 'started';
  info.attempt++;
  info.operationToken = operationToken;
  info.startedTimeMs = timeMs;
  info.lastAttemptCompleteMs = t.nowMs;
  info.lastAttemptFailure = null;
  info.nextAttemptMs = 0;
  const standalone = t.state.standaloneNexus;
  if (standalone) {
    addStandaloneNexusLinks(standalone, links);
  } else {
    addExternalEvent(t, EventType.EVENT_TYPE_NEXUS_OPERATION_STARTED, 'nexusOperationStartedEventAttributes', {
      scheduledEventId: info.scheduledEventId,
      operationId: operationToken,
      requestId: info.requestId,
      operationToken,
    }, { scheduledEventId: info.scheduledEventId, timeMs, links });
  }
  // Schedule-to-start is over; start-to-close begins.
  if (info.startToCloseMs > 0) armTimeout(t, info, timeMs + info.startToCloseMs, TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE);
  // A cancel asked for before the start goes to the handler now.
  if (info.cancelPhase === 'pending') {
    info.cancelRequestedTimeMs = t.nowMs;
    cancelNow(t, info);
  }
  t.stateChanged = true;
}

export function recordNexusCompleted(t: Transition, info: NexusOperationInfo, result: Payload | null, links: Links): void {
  const standalone = t.state.standaloneNexus;
  if (standalone) {
    addStandaloneNexusLinks(standalone, links);
    return completeStandaloneNexus(t, standalone, info, result);
  }
  addExternalEvent(t, EventType.EVENT_TYPE_NEXUS_OPERATION_COMPLETED, 'nexusOperationCompletedEventAttributes', {
    scheduledEventId: info.scheduledEventId,
    result,
    requestId: info.requestId,
  }, { scheduledEventId: info.scheduledEventId, links });
  close(t, info);
}

/** The operation failed (`canceled`: its failure is a cancellation) with `cause` as the reason. */
export function recordNexusFailed(t: Transition, info: NexusOperationInfo, cause: Failure | null, canceled = false): void {
  const standalone = t.state.standaloneNexus;
  if (standalone) {
    const status = canceled ? Status.WORKFLOW_EXECUTION_STATUS_CANCELED : Status.WORKFLOW_EXECUTION_STATUS_FAILED;
    return failStandaloneNexus(t, standalone, info, status, cause ?? { message: canceled ? 'operation canceled' : 'operation failed' });
  }
  const attrs = { scheduledEventId: info.scheduledEventId, failure: operationFailure(info, cause), requestId: info.requestId };
  if (canceled) addExternalEvent(t, EventType.EVENT_TYPE_NEXUS_OPERATION_CANCELED, 'nexusOperationCanceledEventAttributes', attrs, { scheduledEventId: info.scheduledEventId });
  else addExternalEvent(t, EventType.EVENT_TYPE_NEXUS_OPERATION_FAILED, 'nexusOperationFailedEventAttributes', attrs, { scheduledEventId: info.scheduledEventId });
  close(t, info);
}

export function recordNexusTimedOut(t: Transition, info: NexusOperationInfo, timeoutType: number): void {
  const cause: Failure = { message: 'operation timed out', timeoutFailureInfo: { timeoutType } };
  const standalone = t.state.standaloneNexus;
  if (standalone) return failStandaloneNexus(t, standalone, info, Status.WORKFLOW_EXECUTION_STATUS_TIMED_OUT, cause);
  addExternalEvent(t, EventType.EVENT_TYPE_NEXUS_OPERATION_TIMED_OUT, 'nexusOperationTimedOutEventAttributes', {
    scheduledEventId: info.scheduledEventId,
    failure: operationFailure(info, cause),
    requestId: info.requestId,
  }, { scheduledEventId: info.scheduledEventId });
  close(t, info);
}

/** A start attempt failed with a retryable error: wait, then try again. No event. */
export function recordNexusAttemptFailed(t: Transition, info: NexusOperationInfo, failure: Failure): void {
  dropTimer(t, info, info.invocationTaskId);
  info.invocationTaskId = '';
  info.attempt++;
  info.phase = 'backingOff';
  info.lastAttemptCompleteMs = t.nowMs;
  info.lastAttemptFailure = FailureCodec.encode(failure).finish();
  info.nextAttemptMs = t.nowMs + nexusBackoffMs(info.attempt);
  info.timerTaskIds.push(t.addTimer(info.nextAttemptMs, { kind: 'nexusBackoff', scheduledEventId: info.scheduledEventId, attempt: info.attempt }));
  t.stateChanged = true;
}

/** A timer of this operation fired: a timeout, or the end of a backoff. */
export function nexusTimerFired(t: Transition, taskId: string, task: { kind: 'nexusTimeout'; scheduledEventId: number; timeoutType: number } | { kind: 'nexusBackoff' | 'nexusCancelBackoff'; scheduledEventId: number; attempt: number }): void {
  const info = t.state.nexusOperations?.[task.scheduledEventId];
  if (!info) return;
  info.timerTaskIds = info.timerTaskIds.filter((id) => id !== taskId);
  if (task.kind === 'nexusTimeout') {
    const stale = (task.timeoutType === TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START && info.phase === 'started') ||
      (task.timeoutType === TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE && info.phase !== 'started');
    if (!stale) recordNexusTimedOut(t, info, task.timeoutType);
    else t.stateChanged = true;
    return;
  }
  if (task.kind === 'nexusBackoff') {
    if (info.phase !== 'backingOff' || info.attempt !== task.attempt) return;
    info.phase = 'scheduled';
    info.nextAttemptMs = 0;
    invokeNow(t, info);
    t.stateChanged = true;
    return;
  }
  if (info.cancelPhase !== 'backingOff' || info.cancelAttempt !== task.attempt) return;
  info.cancelNextAttemptMs = 0;
  cancelNow(t, info);
  t.stateChanged = true;
}

/** The workflow asked to cancel the operation (a RequestCancelNexusOperation command). */
export function requestCancelNexusOperation(t: Transition, info: NexusOperationInfo, completedEventId: number): void {
  const ev = t.addEvent(EventType.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUESTED, 'nexusOperationCancelRequestedEventAttributes', {
    scheduledEventId: info.scheduledEventId,
    workflowTaskCompletedEventId: completedEventId,
  });
  info.cancelRequestedEventId = Number(ev.eventId);
  requestNexusCancel(t, info);
}

/** A cancel was asked for: sent to the handler now if the operation started, else once it starts. */
export function requestNexusCancel(t: Transition, info: NexusOperationInfo): void {
  if (info.phase === 'started') {
    info.cancelRequestedTimeMs = t.nowMs;
    cancelNow(t, info);
  } else {
    info.cancelPhase = 'pending';
  }
  t.stateChanged = true;
}

/** The handler accepted the cancel request: NexusOperationCancelRequestCompleted; the operation stays open. */
export function recordNexusCancelDelivered(t: Transition, info: NexusOperationInfo): void {
  dropTimer(t, info, info.cancelTaskId);
  info.cancelTaskId = '';
  info.cancelPhase = 'succeeded';
  info.cancelAttempt++;
  info.cancelLastAttemptCompleteMs = t.nowMs;
  info.cancelLastFailure = null;
  t.stateChanged = true;
  // A standalone operation writes no events.
  if (t.state.standaloneNexus) return;
  addExternalEvent(t, EventType.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUEST_COMPLETED, 'nexusOperationCancelRequestCompletedEventAttributes', {
    requestedEventId: info.cancelRequestedEventId,
    scheduledEventId: info.scheduledEventId,
  }, { scheduledEventId: info.scheduledEventId, workerMayIgnore: true });
}

/** The cancel request failed (`retryable`: it is sent again after a backoff; else CancelRequestFailed is written). */
export function recordNexusCancelFailed(t: Transition, info: NexusOperationInfo, failure: Failure, retryable: boolean): void {
  dropTimer(t, info, info.cancelTaskId);
  info.cancelTaskId = '';
  info.cancelAttempt++;
  info.cancelLastAttemptCompleteMs = t.nowMs;
  info.cancelLastFailure = FailureCodec.encode(failure).finish();
  if (retryable) {
    info.cancelPhase = 'backingOff';
    info.cancelNextAttemptMs = t.nowMs + nexusBackoffMs(info.cancelAttempt);
    info.timerTaskIds.push(t.addTimer(info.cancelNextAttemptMs, { kind: 'nexusCancelBackoff', scheduledEventId: info.scheduledEventId, attempt: info.cancelAttempt }));
  } else {
    info.cancelPhase = 'failed';
  }
  t.stateChanged = true;
  // A standalone operation writes no events.
  if (!retryable && !t.state.standaloneNexus) {
    addExternalEvent(t, EventType.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUEST_FAILED, 'nexusOperationCancelRequestFailedEventAttributes', {
      requestedEventId: info.cancelRequestedEventId,
      failure,
      scheduledEventId: info.scheduledEventId,
    }, { scheduledEventId: info.scheduledEventId, workerMayIgnore: true });
  }
}

/** Temporal's PendingNexusOperationInfo of one open operation (DescribeWorkflowExecution). */
export function pendingNexusOperationInfo(info: NexusOperationInfo, toTimestamp: (ms: number) => object | null): object {
  const ts = (ms: number) => (ms > 0 ? toTimestamp(ms) : null);
  const state = info.phase === 'started' ? 3 : info.phase === 'backingOff' ? 2 : 1;
  const cancelState = { '': 0, pending: 0, scheduled: 1, backingOff: 2, succeeded: 3, failed: 4 }[info.cancelPhase];
  return {
    endpoint: info.endpoint,
    service: info.service,
    operation: info.operation,
    operationId: info.operationToken,
    operationToken: info.operationToken,
    scheduleToCloseTimeout: msToDuration(info.scheduleToCloseMs),
    scheduleToStartTimeout: msToDuration(info.scheduleToStartMs),
    startToCloseTimeout: msToDuration(info.startToCloseMs),
    scheduledTime: ts(info.scheduledTimeMs),
    state,
    attempt: info.attempt,
    lastAttemptCompleteTime: ts(info.lastAttemptCompleteMs),
    lastAttemptFailure: info.lastAttemptFailure ? FailureCodec.decode(info.lastAttemptFailure) : null,
    nextAttemptScheduleTime: ts(info.nextAttemptMs),
    scheduledEventId: info.scheduledEventId,
    blockedReason: '',
    cancellationInfo: info.cancelPhase
      ? {
          requestedTime: ts(info.cancelRequestedTimeMs),
          state: cancelState,
          attempt: info.cancelAttempt,
          lastAttemptCompleteTime: ts(info.cancelLastAttemptCompleteMs),
          lastAttemptFailure: info.cancelLastFailure ? FailureCodec.decode(info.cancelLastFailure) : null,
          nextAttemptScheduleTime: ts(info.cancelNextAttemptMs),
          blockedReason: '',
        }
      : null,
  };
}
