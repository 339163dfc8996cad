// The activity state machine (server side of one scheduled activity).
//
//   SCHEDULED --dispatch/poll--> STARTED --completed/canceled--> closed (Started + close events written)
//      ^  |                         |--failed/timed out, retry allowed--> SCHEDULED (attempt+1, after backoff)
//      |  |--schedule-to-start / schedule-to-close timeout--> closed (TimedOut, no Started event)
//      |____________ retry timer fires (awaitingRetry -> dispatchable) ____|
//
// Retried attempts write no events: ActivityTaskStarted is written only when the activity closes,
// carrying the final attempt and the previous attempt's failure, exactly as Temporal does.
import { msToDuration, msToTimestamp } from '@kairos/common';
import { ActivityScheduledAttributesCodec, EventType, FailureCodec, PayloadsCodec, RetryState, TimeoutType, type Failure, type HistoryEvent, type Payloads } from '../../proto-types.js';
import type { Transition } from '../transition.js';
import type { ActivityInfo, MutableState } from '../mutable-state.js';
import { addExternalEvent, ensureWorkflowTask, hasStartedWorkflowTask } from './workflow-task.js';
import { decideRetry, normalizeRetryPolicy } from '../retry.js';
import { closeStandaloneActivity } from '../standalone-activity/close.js';

const ScheduledAttrs = ActivityScheduledAttributesCodec;

export type ScheduledAttributes = NonNullable<HistoryEvent['activityTaskScheduledEventAttributes']>;

export function decodeScheduledAttributes(info: ActivityInfo): ScheduledAttributes {
  return ScheduledAttrs.decode(info.scheduledAttributes);
}

/** An activity's own priority key, else its workflow's (0 = default). */
export function activityPriorityKey(state: MutableState, info: ActivityInfo): number {
  return info.priorityKey || state.priorityKey || 0;
}

/** Records ActivityTaskScheduled (attributes already validated and normalized) and dispatches it. */
export function scheduleActivity(t: Transition, attrs: ScheduledAttributes, timeouts: ActivityTimeouts): ActivityInfo {
  const ev = t.addEvent(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, 'activityTaskScheduledEventAttributes', attrs);
  const info = newActivityInfo(Number(ev.eventId), attrs, timeouts, t.nowMs);
  t.state.activities[info.scheduledEventId] = info;
  dispatchAttempt(t, info);
  armScheduleToClose(t, info);
  return info;
}

export interface ActivityTimeouts {
  scheduleToCloseMs: number;
  scheduleToStartMs: number;
  startToCloseMs: number;
  heartbeatMs: number;
}

/** A scheduled activity's state before its first attempt (attributes already validated and normalized). */
export function newActivityInfo(scheduledEventId: number, attrs: ScheduledAttributes, timeouts: ActivityTimeouts, nowMs: number): ActivityInfo {
  return {
    scheduledEventId,
    activityId: attrs.activityId ?? '',
    activityType: attrs.activityType?.name ?? '',
    taskQueue: attrs.taskQueue?.name ?? '',
    scheduledAttributes: ScheduledAttrs.encode(attrs).finish(),
    scheduledTimeMs: nowMs,
    phase: 'scheduled',
    attempt: 1,
    awaitingRetry: false,
    currentAttemptScheduledTimeMs: nowMs,
    startedTimeMs: 0,
    startedIdentity: '',
    startedRequestId: '',
    scheduleToCloseMs: timeouts.scheduleToCloseMs,
    scheduleToStartMs: timeouts.scheduleToStartMs,
    startToCloseMs: timeouts.startToCloseMs,
    heartbeatMs: timeouts.heartbeatMs,
    heartbeatDetails: null,
    lastHeartbeatMs: 0,
    lastFailure: null,
    cancelRequested: false,
    cancelRequestedEventId: 0,
    timerTaskIds: [],
    heartbeatTimerTaskId: '',
    priorityKey: attrs.priority?.priorityKey ?? 0,
  };
}

/**
 * Arms a pending activity of a rebuilt (reset) run: it counts as scheduled now, as in Temporal's
 * resetter, with its schedule-to-close clock restarted, and is dispatched again.
 */
export function rearmRebuiltActivity(t: Transition, info: ActivityInfo): void {
  info.scheduledTimeMs = t.nowMs;
  info.currentAttemptScheduledTimeMs = t.nowMs;
  dispatchAttempt(t, info);
  armScheduleToClose(t, info);
}

/**
 * Armed after the first attempt's schedule-to-start timer: timers due at the same instant fire in the
 * order they were added, and, as in Temporal (which orders equal timeouts by type), a task nobody
 * picked up times out as SCHEDULE_TO_START when both timeouts are equal (only schedule-to-close set).
 */
export function armScheduleToClose(t: Transition, info: ActivityInfo, delayMs = 0): void {
  if (info.scheduleToCloseMs <= 0) return;
  info.timerTaskIds.push(
    t.addTimer(t.nowMs + delayMs + info.scheduleToCloseMs, { kind: 'activityTimeout', scheduledEventId: info.scheduledEventId, attempt: 0, timeoutType: TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE }),
  );
}

/**
 * Drops the activity's timers but its schedule-to-close deadline (kept where it was): what a new
 * attempt, or a paused one, starts from.
 */
export function keepOnlyScheduleToClose(t: Transition, info: ActivityInfo): void {
  for (const id of info.timerTaskIds) t.deleteTimer(id);
  info.timerTaskIds = [];
  info.heartbeatTimerTaskId = '';
  if (info.scheduleToCloseMs > 0) {
    info.timerTaskIds.push(
      t.addTimer(info.scheduledTimeMs + info.scheduleToCloseMs, { kind: 'activityTimeout', scheduledEventId: info.scheduledEventId, attempt: 0, timeoutType: TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE }),
    );
  }
}

export function dispatchAttempt(t: Transition, info: ActivityInfo): void {
  if (info.scheduleToStartMs > 0) {
    info.timerTaskIds.push(
      t.addTimer(t.nowMs + info.scheduleToStartMs, {
        kind: 'activityTimeout',
        scheduledEventId: info.scheduledEventId,
        attempt: info.attempt,
        timeoutType: TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START,
      }),
    );
  }
  t.dispatch({ kind: 'activityTask', taskQueue: info.taskQueue, scheduledEventId: info.scheduledEventId, attempt: info.attempt, priorityKey: activityPriorityKey(t.state, info) });
}

/** A worker picked up the current attempt. */
export function startActivity(t: Transition, info: ActivityInfo, identity: string, requestId: string): void {
  info.phase = 'started';
  info.startedTimeMs = t.nowMs;
  info.startedIdentity = identity;
  info.startedRequestId = requestId;
  info.lastHeartbeatMs = 0;
  if (t.state.standalone) t.state.standalone.lastWorkerIdentity = identity;
  t.stateChanged = true;
  if (info.startToCloseMs > 0) {
    info.timerTaskIds.push(
      t.addTimer(t.nowMs + info.startToCloseMs, {
        kind: 'activityTimeout',
        scheduledEventId: info.scheduledEventId,
        attempt: info.attempt,
        timeoutType: TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE,
      }),
    );
  }
  armHeartbeatTimer(t, info, t.nowMs + info.heartbeatMs);
}

function armHeartbeatTimer(t: Transition, info: ActivityInfo, atMs: number): void {
  if (info.heartbeatMs <= 0) return;
  info.heartbeatTimerTaskId = t.addTimer(atMs, {
    kind: 'activityTimeout',
    scheduledEventId: info.scheduledEventId,
    attempt: info.attempt,
    timeoutType: TimeoutType.TIMEOUT_TYPE_HEARTBEAT,
  });
  info.timerTaskIds.push(info.heartbeatTimerTaskId);
}

export function recordHeartbeat(t: Transition, info: ActivityInfo, details: Payloads | null | undefined): void {
  if (details) info.heartbeatDetails = PayloadsCodec.encode(details).finish();
  info.lastHeartbeatMs = t.nowMs;
  if (t.state.standalone) t.state.standalone.totalHeartbeats++;
  t.stateChanged = true;
}

type CloseKey = 'activityTaskCompletedEventAttributes' | 'activityTaskFailedEventAttributes' | 'activityTaskTimedOutEventAttributes' | 'activityTaskCanceledEventAttributes';

/** Writes ActivityTaskStarted (if the attempt started) and the close event, then forgets the activity. */
function closeActivity<K extends CloseKey>(t: Transition, info: ActivityInfo, eventType: number, key: K, attrs: NonNullable<HistoryEvent[K]>): void {
  const state = t.state;
  if (state.standalone) {
    const a = attrs as { result?: Payloads | null; failure?: Failure | null; details?: Payloads | null; identity?: string | null; retryState?: number | null };
    closeStandaloneActivity(t, state.standalone, info, { eventType, result: a.result ?? null, failure: a.failure ?? null, details: a.details ?? null, identity: a.identity ?? null, retryState: a.retryState ?? null });
    return;
  }
  const started = info.phase === 'started';
  const startedAttrs: NonNullable<HistoryEvent['activityTaskStartedEventAttributes']> = {
    scheduledEventId: info.scheduledEventId,
    identity: info.startedIdentity,
    requestId: info.startedRequestId,
    attempt: info.attempt,
    lastFailure: info.lastFailure ? FailureCodec.decode(info.lastFailure) : null,
  };
  const closeAttrs = attrs as { scheduledEventId?: number | null; startedEventId?: number | null };
  closeAttrs.scheduledEventId = info.scheduledEventId;
  if (hasStartedWorkflowTask(state)) {
    const meta = { scheduledEventId: info.scheduledEventId };
    if (started) addExternalEvent(t, EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED, 'activityTaskStartedEventAttributes', startedAttrs, { ...meta, timeMs: info.startedTimeMs });
    closeAttrs.startedEventId = 0;
    addExternalEvent(t, eventType, key, attrs, meta);
  } else {
    closeAttrs.startedEventId = started
      ? Number(t.addEvent(EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED, 'activityTaskStartedEventAttributes', startedAttrs, info.startedTimeMs).eventId)
      : 0;
    t.addEvent(eventType, key, attrs);
    ensureWorkflowTask(t);
  }
  for (const id of info.timerTaskIds) t.deleteTimer(id);
  delete state.activities[info.scheduledEventId];
}

export function completeActivity(t: Transition, info: ActivityInfo, result: Payloads | null | undefined, identity: string): void {
  closeActivity(t, info, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, 'activityTaskCompletedEventAttributes', { result: result ?? null, identity });
}

export function cancelActivity(t: Transition, info: ActivityInfo, details: Payloads | null | undefined, identity: string): void {
  closeActivity(t, info, EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED, 'activityTaskCanceledEventAttributes', {
    details: details ?? null,
    latestCancelRequestedEventId: info.cancelRequestedEventId,
    identity,
  });
}

/** The attempt failed (worker failure or timeout): schedule a retry or close the activity. */
export function failActivityAttempt(
  t: Transition,
  info: ActivityInfo,
  failure: Failure,
  opts: { identity: string; heartbeatDetails?: Payloads | null; timeoutType?: number },
): void {
  if (opts.heartbeatDetails) info.heartbeatDetails = PayloadsCodec.encode(opts.heartbeatDetails).finish();
  // ResetActivity while this attempt ran: retry as if it had been the first.
  if (info.resetRequested) info.attempt = 1;
  const attrs = decodeScheduledAttributes(info);
  const policy = normalizeRetryPolicy(attrs.retryPolicy);
  const deadline = info.scheduleToCloseMs > 0 ? info.scheduledTimeMs + info.scheduleToCloseMs : 0;
  const decision = info.cancelRequested
    ? { retryState: RetryState.RETRY_STATE_CANCEL_REQUESTED, delayMs: 0 }
    : decideRetry(policy, info.attempt, failure, t.nowMs, deadline);
  // A paused activity is not closed for running out of attempts (as Temporal): it waits, paused, for
  // an operator to unpause or reset it.
  const waitsPaused =
    info.paused === true && (decision.retryState === RetryState.RETRY_STATE_IN_PROGRESS || decision.retryState === RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED);
  if (decision.retryState === RetryState.RETRY_STATE_IN_PROGRESS || waitsPaused) {
    keepOnlyScheduleToClose(t, info);
    info.lastFailure = FailureCodec.encode(failure).finish();
    info.phase = 'scheduled';
    info.attempt++;
    if (info.resetHeartbeats) {
      info.heartbeatDetails = null;
      info.lastHeartbeatMs = 0;
    }
    info.resetRequested = false;
    info.resetHeartbeats = false;
    info.awaitingRetry = !waitsPaused;
    info.lastAttemptCompleteMs = t.nowMs;
    if (!waitsPaused) info.currentAttemptScheduledTimeMs = t.nowMs + decision.delayMs;
    if (t.state.standalone) {
      t.state.standalone.lastAttemptCompleteMs = t.nowMs;
      t.state.standalone.currentRetryIntervalMs = decision.delayMs;
    }
    if (!waitsPaused) info.timerTaskIds.push(t.addTimer(t.nowMs + decision.delayMs, { kind: 'activityRetry', scheduledEventId: info.scheduledEventId, attempt: info.attempt }));
    t.stateChanged = true;
    return;
  }
  let finalFailure = failure;
  if (opts.timeoutType !== undefined && decision.retryState === RetryState.RETRY_STATE_TIMEOUT) {
    finalFailure = timeoutFailure(TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, info, 'Not enough time to schedule next retry before activity ScheduleToClose timeout, giving up retrying');
  }
  if (opts.timeoutType !== undefined) {
    closeActivity(t, info, EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, 'activityTaskTimedOutEventAttributes', { failure: finalFailure, retryState: decision.retryState });
  } else {
    closeActivity(t, info, EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED, 'activityTaskFailedEventAttributes', {
      failure,
      identity: opts.identity,
      retryState: decision.retryState,
    });
  }
}

/**
 * The backoff elapsed: the next attempt becomes dispatchable. A timer armed before
 * UpdateActivityOptions moved the retry later only arms one for the new time.
 */
export function retryTimerFired(t: Transition, info: ActivityInfo): void {
  if (info.currentAttemptScheduledTimeMs > t.nowMs) {
    info.timerTaskIds.push(t.addTimer(info.currentAttemptScheduledTimeMs, { kind: 'activityRetry', scheduledEventId: info.scheduledEventId, attempt: info.attempt }));
    t.stateChanged = true;
    return;
  }
  info.awaitingRetry = false;
  info.currentAttemptScheduledTimeMs = t.nowMs;
  t.stateChanged = true;
  // Paused while it waited: the attempt is dispatched when the activity is unpaused.
  if (!info.paused) dispatchAttempt(t, info);
}

const TIMEOUT_NAMES: Record<number, string> = {
  [TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE]: 'StartToClose',
  [TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START]: 'ScheduleToStart',
  [TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE]: 'ScheduleToClose',
  [TimeoutType.TIMEOUT_TYPE_HEARTBEAT]: 'Heartbeat',
};

export function timeoutFailure(timeoutType: number, info: ActivityInfo, message?: string): Failure {
  return {
    message: message ?? `activity ${TIMEOUT_NAMES[timeoutType] ?? 'Unknown'} timeout`,
    source: 'Server',
    timeoutFailureInfo: {
      timeoutType,
      lastHeartbeatDetails: info.heartbeatDetails ? PayloadsCodec.decode(info.heartbeatDetails) : null,
    },
  };
}

/**
 * A timeout timer fired. Returns false when it was stale (for another attempt or phase); one armed
 * for a deadline UpdateActivityOptions has since moved only arms the new one. Schedule-to-start and schedule-to-close
 * are final; start-to-close and heartbeat timeouts are retried like failures.
 */
export function activityTimeoutFired(t: Transition, info: ActivityInfo, timeoutType: number, attempt: number): boolean {
  switch (timeoutType) {
    case TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE:
      if (notYetDue(t, info, info.scheduledTimeMs, info.scheduleToCloseMs, timeoutType, 0)) return true;
      closeActivity(t, info, EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, 'activityTaskTimedOutEventAttributes', {
        failure: timeoutFailure(timeoutType, info),
        retryState: RetryState.RETRY_STATE_TIMEOUT,
      });
      return true;
    case TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START:
      if (info.attempt !== attempt || info.phase !== 'scheduled' || info.awaitingRetry || info.paused) return false;
      if (notYetDue(t, info, info.currentAttemptScheduledTimeMs, info.scheduleToStartMs, timeoutType, attempt)) return true;
      closeActivity(t, info, EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, 'activityTaskTimedOutEventAttributes', {
        failure: timeoutFailure(timeoutType, info),
        retryState: RetryState.RETRY_STATE_TIMEOUT,
      });
      return true;
    case TimeoutType.TIMEOUT_TYPE_HEARTBEAT: {
      if (info.attempt !== attempt || info.phase !== 'started') return false;
      const last = Math.max(info.lastHeartbeatMs, info.startedTimeMs);
      if (last + info.heartbeatMs > t.nowMs) {
        armHeartbeatTimer(t, info, last + info.heartbeatMs);
        t.stateChanged = true;
        return true;
      }
      failActivityAttempt(t, info, timeoutFailure(timeoutType, info), { identity: '', timeoutType });
      return true;
    }
    case TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE:
      if (info.attempt !== attempt || info.phase !== 'started') return false;
      if (notYetDue(t, info, info.startedTimeMs, info.startToCloseMs, timeoutType, attempt)) return true;
      failActivityAttempt(t, info, timeoutFailure(timeoutType, info), { identity: '', timeoutType });
      return true;
    default:
      return false;
  }
}

/**
 * A timeout of `timeoutMs` counted from `fromMs` is not due yet: UpdateActivityOptions moved it later
 * (and armed a timer for the new deadline) or took it away. A timeout still set is armed again at its
 * deadline, so that a timer fired by a clock read a moment earlier is not lost.
 */
function notYetDue(t: Transition, info: ActivityInfo, fromMs: number, timeoutMs: number, timeoutType: number, attempt: number): boolean {
  if (timeoutMs > 0 && fromMs + timeoutMs <= t.nowMs) return false;
  if (timeoutMs > 0) info.timerTaskIds.push(t.addTimer(fromMs + timeoutMs, { kind: 'activityTimeout', scheduledEventId: info.scheduledEventId, attempt, timeoutType }));
  t.stateChanged = true;
  return true;
}

/** RequestCancelActivityTask command: cancels at once if no attempt is running, else asks the worker. */
export function requestCancelActivity(t: Transition, info: ActivityInfo, workflowTaskCompletedEventId: number, identity: string): void {
  const ev = t.addEvent(EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED, 'activityTaskCancelRequestedEventAttributes', {
    scheduledEventId: info.scheduledEventId,
    workflowTaskCompletedEventId,
  });
  info.cancelRequested = true;
  info.cancelRequestedEventId = Number(ev.eventId);
  if (info.phase !== 'started') {
    t.addEvent(EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED, 'activityTaskCanceledEventAttributes', {
      scheduledEventId: info.scheduledEventId,
      startedEventId: 0,
      latestCancelRequestedEventId: info.cancelRequestedEventId,
      // Temporal's wording for an activity cancelled before any attempt started.
      details: { payloads: [{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"ACTIVITY_ID_NOT_STARTED"') }] },
      identity,
    });
    for (const id of info.timerTaskIds) t.deleteTimer(id);
    delete t.state.activities[info.scheduledEventId];
    t.forceNewWorkflowTask = true;
  }
}

export function activityPollFields(info: ActivityInfo): { scheduledTime: ReturnType<typeof msToTimestamp>; currentAttemptScheduledTime: ReturnType<typeof msToTimestamp>; startedTime: ReturnType<typeof msToTimestamp>; scheduleToCloseTimeout: ReturnType<typeof msToDuration>; startToCloseTimeout: ReturnType<typeof msToDuration>; heartbeatTimeout: ReturnType<typeof msToDuration> } {
  return {
    scheduledTime: msToTimestamp(info.scheduledTimeMs),
    currentAttemptScheduledTime: msToTimestamp(info.currentAttemptScheduledTimeMs),
    startedTime: msToTimestamp(info.startedTimeMs),
    scheduleToCloseTimeout: msToDuration(info.scheduleToCloseMs),
    startToCloseTimeout: msToDuration(info.startToCloseMs),
    heartbeatTimeout: msToDuration(info.heartbeatMs),
  };
}
