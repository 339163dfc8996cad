// An activity's options (task queue, timeouts, retry policy, priority): how a schedule command's
// timeouts are settled, and how UpdateActivityOptions changes a pending activity's, as Temporal's
// (service/history/api/updateactivityoptions and common/activityoptions in temporalio/temporal).
//
// No event is written. The new options replace the pending activity's own copy of its scheduled
// attributes (what its next attempts, DescribeWorkflowExecution and the poll answers read);
// ActivityTaskScheduled keeps the originals, which `restore_original` goes back to. New deadlines get
// timers of their own; a timer armed for the old deadline finds its timeout not yet due when it fires
// (activityTimeoutFired) and changes nothing. A waiting attempt moved to another task queue is queued
// there; its task on the old queue is dropped when polled.
import type { temporal } from '@temporalio/proto';
import { durationToMs, msToDuration, type Loose } from '@kairos/common';
import { InvalidArgumentError } from '../../errors.js';
import { ActivityScheduledAttributesCodec, HistoryEventCodec, TimeoutType } from '../../proto-types.js';
import type { Transition } from '../transition.js';
import type { ActivityInfo } from '../mutable-state.js';
import { normalizeRetryPolicy, retryPolicyToProto, validateRetryPolicy } from '../retry.js';
import { activityPriorityKey, decodeScheduledAttributes, type ActivityTimeouts, type ScheduledAttributes } from './activity.js';

export type ActivityOptions = Loose<temporal.api.activity.v1.IActivityOptions>;
type Duration = ActivityOptions['scheduleToCloseTimeout'];

/**
 * The timeouts a schedule command (or an options update) settles on, as Temporal's validator: at least
 * one of schedule-to-close and start-to-close; the others filled in and capped by schedule-to-close and
 * the run timeout; heartbeat capped by start-to-close. A string is the InvalidArgument message.
 */
export function normalizeActivityTimeouts(
  a: { scheduleToCloseTimeout?: Duration; scheduleToStartTimeout?: Duration; startToCloseTimeout?: Duration; heartbeatTimeout?: Duration },
  runTimeoutMs: number,
): ActivityTimeouts | string {
  let s2c = durationToMs(a.scheduleToCloseTimeout);
  let s2s = durationToMs(a.scheduleToStartTimeout);
  let stc = durationToMs(a.startToCloseTimeout);
  let hb = durationToMs(a.heartbeatTimeout);
  if (s2c < 0 || s2s < 0 || stc < 0 || hb < 0) return 'A valid timeout may not be negative.';
  if (s2c > 0) {
    s2s = s2s > 0 ? Math.min(s2s, s2c) : s2c;
    stc = stc > 0 ? Math.min(stc, s2c) : s2c;
  } else if (stc > 0) {
    s2c = runTimeoutMs;
    if (s2s === 0) s2s = runTimeoutMs;
  } else {
    return 'A valid StartToClose or ScheduleToCloseTimeout is not set on ScheduleActivityTaskCommand.';
  }
  if (runTimeoutMs > 0) {
    s2c = s2c > 0 ? Math.min(s2c, runTimeoutMs) : runTimeoutMs;
    s2s = s2s > 0 ? Math.min(s2s, runTimeoutMs) : runTimeoutMs;
    stc = Math.min(stc, runTimeoutMs);
  }
  hb = Math.min(hb, stc);
  return { scheduleToCloseMs: s2c, scheduleToStartMs: s2s, startToCloseMs: stc, heartbeatMs: hb };
}

/** A pending activity's options as they are now. */
export function currentActivityOptions(info: ActivityInfo): ActivityOptions {
  const attrs = decodeScheduledAttributes(info);
  return {
    taskQueue: { name: info.taskQueue },
    scheduleToCloseTimeout: msToDuration(info.scheduleToCloseMs),
    scheduleToStartTimeout: msToDuration(info.scheduleToStartMs),
    startToCloseTimeout: msToDuration(info.startToCloseMs),
    heartbeatTimeout: msToDuration(info.heartbeatMs),
    retryPolicy: attrs.retryPolicy ? { ...attrs.retryPolicy } : {},
    priority: attrs.priority ? { ...attrs.priority } : null,
  };
}

/** The options an activity was scheduled with (its ActivityTaskScheduled event). */
export function originalActivityOptions(scheduledEvent: Uint8Array): ActivityOptions {
  const attrs = HistoryEventCodec.decode(scheduledEvent).activityTaskScheduledEventAttributes;
  if (!attrs) throw new InvalidArgumentError('ActivityTaskScheduledEvent is invalid');
  return {
    taskQueue: { name: attrs.taskQueue?.name ?? '' },
    scheduleToCloseTimeout: attrs.scheduleToCloseTimeout ?? null,
    scheduleToStartTimeout: attrs.scheduleToStartTimeout ?? null,
    startToCloseTimeout: attrs.startToCloseTimeout ?? null,
    heartbeatTimeout: attrs.heartbeatTimeout ?? null,
    retryPolicy: attrs.retryPolicy ?? null,
    priority: attrs.priority ?? null,
  };
}

/** An update mask's paths in the camel case the merge names them by ("retry_policy.maximum_attempts" → "retryPolicy.maximumAttempts"). */
export function maskPaths(paths: readonly string[] | null | undefined): Set<string> {
  return new Set((paths ?? []).map((p) => p.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())));
}

const DURATIONS = ['scheduleToCloseTimeout', 'scheduleToStartTimeout', 'startToCloseTimeout', 'heartbeatTimeout'] as const;
const RETRY_FIELDS = ['initialInterval', 'backoffCoefficient', 'maximumInterval', 'maximumAttempts'] as const;
const PRIORITY_FIELDS = ['priorityKey', 'fairnessKey', 'fairnessWeight'] as const;

/** Copies the masked fields of `from` into `into` (Temporal's MergeActivityOptions, with its errors). */
export function mergeActivityOptions(into: ActivityOptions, from: ActivityOptions, paths: Set<string>): void {
  if (paths.has('taskQueue.name')) {
    if (!from.taskQueue) throw new InvalidArgumentError('TaskQueue is not provided');
    into.taskQueue = { name: from.taskQueue.name ?? '' };
  }
  for (const field of DURATIONS) if (paths.has(field)) into[field] = from[field] ?? null;
  if (paths.has('priority')) into.priority = from.priority ?? null;
  for (const field of PRIORITY_FIELDS) {
    if (!paths.has(`priority.${field}`)) continue;
    if (!from.priority) throw new InvalidArgumentError('Priority is not provided');
    into.priority = { ...into.priority, [field]: from.priority[field] };
  }
  if (paths.has('retryPolicy')) {
    if (!from.retryPolicy) throw new InvalidArgumentError('RetryPolicy is not provided');
    into.retryPolicy = from.retryPolicy;
  }
  for (const field of RETRY_FIELDS) {
    if (!paths.has(`retryPolicy.${field}`)) continue;
    if (!from.retryPolicy) throw new InvalidArgumentError('RetryPolicy is not provided');
    into.retryPolicy = { ...into.retryPolicy, [field]: from.retryPolicy[field] };
  }
}

/**
 * Gives the pending activity `options` (settled as a schedule command's would be) and returns them as
 * they now stand. `checkRetryPolicy`: the update touched the retry policy, which must then be valid.
 */
export function applyActivityOptions(t: Transition, info: ActivityInfo, options: ActivityOptions, checkRetryPolicy: boolean): ActivityOptions {
  if (checkRetryPolicy) {
    const problem = validateRetryPolicy(options.retryPolicy, 'RetryPolicy');
    if (problem) throw new InvalidArgumentError(problem);
  }
  const timeouts = normalizeActivityTimeouts(options, t.state.runTimeoutMs);
  if (typeof timeouts === 'string') throw new InvalidArgumentError(timeouts);
  const taskQueue = options.taskQueue?.name || t.state.taskQueue;
  const movedQueue = taskQueue !== info.taskQueue;
  const attrs: ScheduledAttributes = {
    ...decodeScheduledAttributes(info),
    taskQueue: { name: taskQueue, kind: 1 },
    scheduleToCloseTimeout: msToDuration(timeouts.scheduleToCloseMs),
    scheduleToStartTimeout: msToDuration(timeouts.scheduleToStartMs),
    startToCloseTimeout: msToDuration(timeouts.startToCloseMs),
    heartbeatTimeout: msToDuration(timeouts.heartbeatMs),
    retryPolicy: retryPolicyToProto(normalizeRetryPolicy(options.retryPolicy)),
    priority: options.priority ?? null,
  };
  info.scheduledAttributes = ActivityScheduledAttributesCodec.encode(attrs).finish();
  info.taskQueue = taskQueue;
  Object.assign(info, timeouts);
  const priorityKey = options.priority?.priorityKey ?? 0;
  if (priorityKey) info.priorityKey = priorityKey;
  else delete info.priorityKey;
  armNewDeadlines(t, info);
  if (movedQueue && info.phase === 'scheduled' && !info.awaitingRetry && !info.paused) {
    t.dispatch({ kind: 'activityTask', taskQueue, scheduledEventId: info.scheduledEventId, attempt: info.attempt, priorityKey: activityPriorityKey(t.state, info) });
  }
  t.stateChanged = true;
  return currentActivityOptions(info);
}

/** Timers for the deadlines the new timeouts give the activity's current phase. */
function armNewDeadlines(t: Transition, info: ActivityInfo): void {
  const arm = (atMs: number, timeoutType: number, attempt: number): string => {
    const id = t.addTimer(atMs, { kind: 'activityTimeout', scheduledEventId: info.scheduledEventId, attempt, timeoutType });
    info.timerTaskIds.push(id);
    return id;
  };
  if (info.scheduleToCloseMs > 0) arm(info.scheduledTimeMs + info.scheduleToCloseMs, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, 0);
  if (info.phase === 'scheduled') {
    if (info.awaitingRetry) rearmRetry(t, info);
    else if (!info.paused && info.scheduleToStartMs > 0) {
      arm(info.currentAttemptScheduledTimeMs + info.scheduleToStartMs, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START, info.attempt);
    }
    return;
  }
  if (info.startToCloseMs > 0) arm(info.startedTimeMs + info.startToCloseMs, TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE, info.attempt);
  // One heartbeat timer at a time: it re-arms itself while heartbeats keep coming.
  t.deleteTimer(info.heartbeatTimerTaskId);
  info.heartbeatTimerTaskId = '';
  if (info.heartbeatMs > 0) {
    info.heartbeatTimerTaskId = t.addTimer(Math.max(info.lastHeartbeatMs, info.startedTimeMs) + info.heartbeatMs, {
      kind: 'activityTimeout',
      scheduledEventId: info.scheduledEventId,
      attempt: info.attempt,
      timeoutType: TimeoutType.TIMEOUT_TYPE_HEARTBEAT,
    });
  }
}

/**
 * A waiting retry is due a backoff under the new policy after its last attempt ended, counted as
 * Temporal's GetNextScheduledTime does (initial × coefficient^(attempt − 1), capped by the maximum).
 */
function rearmRetry(t: Transition, info: ActivityInfo): void {
  const completedMs = info.lastAttemptCompleteMs;
  if (completedMs === undefined) return;
  const policy = normalizeRetryPolicy(decodeScheduledAttributes(info).retryPolicy);
  let intervalMs = policy.initialIntervalMs * Math.pow(policy.backoffCoefficient, info.attempt - 1);
  if (policy.maximumIntervalMs > 0 && (!(intervalMs > 0) || intervalMs > policy.maximumIntervalMs)) intervalMs = policy.maximumIntervalMs;
  if (!(intervalMs > 0)) return;
  info.currentAttemptScheduledTimeMs = completedMs + intervalMs;
  info.timerTaskIds.push(t.addTimer(info.currentAttemptScheduledTimeMs, { kind: 'activityRetry', scheduledEventId: info.scheduledEventId, attempt: info.attempt }));
}
