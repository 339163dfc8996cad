// Operator control of a pending activity: PauseActivity, UnpauseActivity and ResetActivity, with
// Temporal's semantics (service/history/workflow/activity.go in temporalio/temporal):
//
//   pause    waiting attempt  -> not dispatched (its queued task is dropped at poll time, its
//                                schedule-to-start timer removed); schedule-to-close still runs
//            running attempt  -> runs on; its heartbeats answer activity_paused, so the SDK cancels
//                                it; if it then fails, the next attempt waits, paused
//   unpause                   -> a waiting attempt is dispatched now (or after a random jitter),
//                                optionally from attempt 1 and without heartbeat details
//   reset    waiting attempt  -> attempt 1, dispatched now unless it stays paused (keep_paused)
//            running attempt  -> heartbeats answer activity_reset; its failure retries as attempt 2;
//                                a pause stays
//
// No event is written for any of these: the history shows only what the attempts did.
import { FailedPreconditionError } from '../../errors.js';
import type { Transition } from '../transition.js';
import type { ActivityInfo } from '../mutable-state.js';
import { dispatchAttempt, keepOnlyScheduleToClose } from './activity.js';

export interface PauseRequest {
  identity: string;
  reason: string;
  requestId: string;
}

export function pauseActivity(t: Transition, info: ActivityInfo, request: PauseRequest): void {
  if (info.paused) {
    // A retried request (same request id, or none twice) succeeds again without changing anything.
    if ((info.pauseRequestId ?? '') === request.requestId) return;
    throw new FailedPreconditionError('activity is already paused');
  }
  info.paused = true;
  info.pausedAtMs = t.nowMs;
  info.pausedBy = request.identity;
  info.pauseReason = request.reason;
  info.pauseRequestId = request.requestId;
  if (info.phase === 'scheduled' && !info.awaitingRetry) keepOnlyScheduleToClose(t, info);
  t.stateChanged = true;
}

export interface UnpauseOptions {
  resetAttempts: boolean;
  resetHeartbeat: boolean;
  jitterMs: number;
}

export function unpauseActivity(t: Transition, info: ActivityInfo, options: UnpauseOptions): void {
  clearPause(info);
  if (options.resetHeartbeat) dropHeartbeat(info);
  t.stateChanged = true;
  // A running attempt keeps its number (its token names it); the reset applies to a waiting one.
  if (info.phase !== 'scheduled') return;
  if (options.resetAttempts) info.attempt = 1;
  scheduleNow(t, info, options.jitterMs);
}

export interface ResetOptions {
  resetHeartbeats: boolean;
  keepPaused: boolean;
  jitterMs: number;
}

export function resetActivity(t: Transition, info: ActivityInfo, options: ResetOptions): void {
  t.stateChanged = true;
  if (info.phase === 'started') {
    // Temporal sets the attempt to 1 at once; Kairos keeps the running attempt's number (its token and
    // timers name it) and starts again from 1 when that attempt fails (failActivityAttempt). A pause
    // stays, as in Temporal's released servers: the TypeScript SDK's tests pause and reset a running
    // activity at once and expect its heartbeats to report both, whichever request lands first.
    info.resetRequested = true;
    if (options.resetHeartbeats) info.resetHeartbeats = true;
    return;
  }
  if (info.paused && !options.keepPaused) clearPause(info);
  info.attempt = 1;
  if (options.resetHeartbeats) dropHeartbeat(info);
  if (!info.paused) scheduleNow(t, info, options.jitterMs);
}

function clearPause(info: ActivityInfo): void {
  info.paused = false;
  info.pausedAtMs = 0;
  info.pausedBy = '';
  info.pauseReason = '';
  info.pauseRequestId = '';
}

function dropHeartbeat(info: ActivityInfo): void {
  info.heartbeatDetails = null;
  info.lastHeartbeatMs = 0;
}

/** The waiting attempt is dispatched now, or after a random delay below `jitterMs` (as a retry backoff). */
function scheduleNow(t: Transition, info: ActivityInfo, jitterMs: number): void {
  keepOnlyScheduleToClose(t, info);
  const delayMs = jitterMs > 0 ? Math.floor(Math.random() * jitterMs) : 0;
  if (delayMs > 0) {
    info.awaitingRetry = true;
    info.currentAttemptScheduledTimeMs = t.nowMs + delayMs;
    info.timerTaskIds.push(t.addTimer(t.nowMs + delayMs, { kind: 'activityRetry', scheduledEventId: info.scheduledEventId, attempt: info.attempt }));
    return;
  }
  info.awaitingRetry = false;
  info.currentAttemptScheduledTimeMs = t.nowMs;
  dispatchAttempt(t, info);
}
