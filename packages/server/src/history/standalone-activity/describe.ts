// What DescribeActivityExecution, PollActivityExecution and the listing say about a standalone activity,
// and their long polls: Describe with a token waits for any change of the run after the one the token
// names; Poll waits for the run to close. Either answers empty when its wait runs out, as Temporal does
// (the client asks again).
import type { temporal } from '@temporalio/proto';
import { msToDuration, msToTimestamp, type Loose } from '@kairos/common';
import { api } from '@kairos/common';
import { InvalidArgumentError } from '../../errors.js';
import type { NamespaceRecord } from '../../namespace/registry.js';
import { ActivityOutcomeCodec, FailureCodec, PayloadsCodec, SearchAttributesCodec, UserMetadataCodec, WorkflowExecutionStatus as Status, type ActivityOutcome } from '../../proto-types.js';
import type { ExecutionKey } from '../../persistence/store.js';
import { decodeScheduledAttributes } from '../machines/activity.js';
import { callbackInfoMessage } from '../machines/callbacks.js';
import { isRunning } from '../machines/workflow.js';
import type { MutableState } from '../mutable-state.js';
import { encodeMutableState } from '../state-codec.js';
import type { HistoryContext } from '../service-context.js';
import { requireStandalone, resolveStandaloneRun } from './lookup.js';
import { activityOf } from './ops.js';

type Info = Loose<temporal.api.activity.v1.IActivityExecutionInfo>;
type DescribeResponse = Loose<temporal.api.workflowservice.v1.IDescribeActivityExecutionResponse>;
type PollResponse = Loose<temporal.api.workflowservice.v1.IPollActivityExecutionResponse>;

const ActivityStatus = api.enums.v1.ActivityExecutionStatus;
const PendingState = api.enums.v1.PendingActivityState;

/** A run's WorkflowExecutionStatus (what its row stores and queries compare) as an ActivityExecutionStatus. */
export function activityStatus(status: number): number {
  switch (status) {
    case Status.WORKFLOW_EXECUTION_STATUS_RUNNING:
      return ActivityStatus.ACTIVITY_EXECUTION_STATUS_RUNNING;
    case Status.WORKFLOW_EXECUTION_STATUS_COMPLETED:
      return ActivityStatus.ACTIVITY_EXECUTION_STATUS_COMPLETED;
    case Status.WORKFLOW_EXECUTION_STATUS_FAILED:
      return ActivityStatus.ACTIVITY_EXECUTION_STATUS_FAILED;
    case Status.WORKFLOW_EXECUTION_STATUS_CANCELED:
      return ActivityStatus.ACTIVITY_EXECUTION_STATUS_CANCELED;
    case Status.WORKFLOW_EXECUTION_STATUS_TERMINATED:
      return ActivityStatus.ACTIVITY_EXECUTION_STATUS_TERMINATED;
    case Status.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
      return ActivityStatus.ACTIVITY_EXECUTION_STATUS_TIMED_OUT;
    default:
      return ActivityStatus.ACTIVITY_EXECUTION_STATUS_UNSPECIFIED;
  }
}

/** Heartbeat details and the last failure are given only when asked for, as Temporal does. */
export interface InfoParts {
  readonly heartbeatDetails: boolean;
  readonly lastFailure: boolean;
}

export function activityExecutionInfo(state: MutableState, nowMs: number, parts: InfoParts): Info {
  const standalone = requireStandalone(state, state).standalone;
  const info = activityOf(state);
  const attrs = decodeScheduledAttributes(info);
  const running = isRunning(state);
  const closed = !running;
  const dispatchAtMs = info.awaitingRetry ? (info.attempt === 1 ? state.executionTimeMs : standalone.lastAttemptCompleteMs + standalone.currentRetryIntervalMs) : 0;
  const backingOff = running && info.awaitingRetry && info.attempt > 1 && dispatchAtMs > nowMs;
  let runState = PendingState.PENDING_ACTIVITY_STATE_UNSPECIFIED;
  if (running) runState = info.phase !== 'started' ? PendingState.PENDING_ACTIVITY_STATE_SCHEDULED : info.cancelRequested ? PendingState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED : PendingState.PENDING_ACTIVITY_STATE_STARTED;
  return {
    activityId: state.workflowId,
    runId: state.runId,
    activityType: { name: info.activityType },
    status: activityStatus(state.status),
    runState,
    taskQueue: info.taskQueue,
    scheduleToCloseTimeout: msToDuration(info.scheduleToCloseMs),
    scheduleToStartTimeout: msToDuration(info.scheduleToStartMs),
    startToCloseTimeout: msToDuration(info.startToCloseMs),
    heartbeatTimeout: msToDuration(info.heartbeatMs),
    retryPolicy: attrs.retryPolicy ?? null,
    heartbeatDetails: parts.heartbeatDetails && info.heartbeatDetails ? PayloadsCodec.decode(info.heartbeatDetails) : null,
    lastHeartbeatTime: info.lastHeartbeatMs > 0 ? msToTimestamp(info.lastHeartbeatMs) : null,
    lastStartedTime: info.startedTimeMs > 0 ? msToTimestamp(info.startedTimeMs) : null,
    attempt: info.attempt,
    executionDuration: closed ? msToDuration(state.closeTimeMs - state.startTimeMs) : null,
    scheduleTime: msToTimestamp(state.startTimeMs),
    expirationTime: info.scheduleToCloseMs > 0 ? msToTimestamp(state.executionTimeMs + info.scheduleToCloseMs) : null,
    closeTime: closed ? msToTimestamp(state.closeTimeMs) : null,
    lastFailure: parts.lastFailure && info.lastFailure ? FailureCodec.decode(info.lastFailure) : null,
    lastWorkerIdentity: standalone.lastWorkerIdentity,
    currentRetryInterval: backingOff ? msToDuration(standalone.currentRetryIntervalMs) : null,
    lastAttemptCompleteTime: standalone.lastAttemptCompleteMs > 0 ? msToTimestamp(standalone.lastAttemptCompleteMs) : null,
    nextAttemptScheduleTime: running && info.awaitingRetry && dispatchAtMs > nowMs ? msToTimestamp(dispatchAtMs) : null,
    priority: attrs.priority ?? null,
    stateTransitionCount: state.stateTransitionCount,
    stateSizeBytes: encodeMutableState(state).length,
    searchAttributes: state.searchAttributes ? SearchAttributesCodec.decode(state.searchAttributes) : {},
    header: attrs.header ?? null,
    userMetadata: standalone.userMetadata ? UserMetadataCodec.decode(standalone.userMetadata) : null,
    canceledReason: standalone.canceledReason,
    totalHeartbeatCount: standalone.totalHeartbeats,
    ...(standalone.startDelayMs > 0 ? { startDelay: msToDuration(standalone.startDelayMs) } : {}),
    executionTime: msToTimestamp(state.executionTimeMs),
  };
}

/** The outcome of a closed run (null while running). */
export function activityOutcome(state: MutableState): ActivityOutcome | null {
  const outcome = state.standalone?.outcome;
  if (isRunning(state) || !outcome) return null;
  return ActivityOutcomeCodec.decode(outcome);
}

/** Describe's long-poll token: the run and how many transitions it had when described. */
export function encodeLongPollToken(state: MutableState): Uint8Array {
  return Buffer.from(JSON.stringify({ rid: state.runId, stc: state.stateTransitionCount }));
}

export function decodeLongPollToken(bytes: Uint8Array, runId: string): number {
  let token: unknown;
  try {
    token = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new InvalidArgumentError('invalid long poll token');
  }
  const t = token as { rid?: unknown; stc?: unknown };
  if (typeof t !== 'object' || t === null || typeof t.stc !== 'number' || typeof t.rid !== 'string') throw new InvalidArgumentError('invalid long poll token');
  if (t.rid !== runId) throw new InvalidArgumentError('long poll token does not match execution');
  return t.stc;
}

export interface DescribeRequest {
  readonly activityId: string;
  readonly runId: string;
  readonly includeInput: boolean;
  readonly includeOutcome: boolean;
  readonly includeHeartbeatDetails: boolean;
  readonly includeLastFailure: boolean;
  readonly longPollToken: Uint8Array | null;
}

export interface LongPoll {
  /** How long the call may wait for a change (already bounded by the caller's deadline). */
  readonly waitMs: number;
  readonly signal: AbortSignal;
}

export async function describeActivityExecution(ctx: HistoryContext, ns: NamespaceRecord, req: DescribeRequest, poll: LongPoll): Promise<DescribeResponse> {
  const key = await resolveStandaloneRun(ctx, ns.id, req.activityId, req.runId);
  let state: MutableState = requireStandalone(await ctx.engine.read(key), key);
  if (req.longPollToken && req.longPollToken.length > 0) {
    const seen = decodeLongPollToken(req.longPollToken, key.runId);
    const changed = await waitFor(ctx, key, state, poll, (s) => s.stateTransitionCount > seen);
    if (!changed) return {};
    state = changed;
  }
  const info = activityExecutionInfo(state, ctx.engine.clock.now(), { heartbeatDetails: req.includeHeartbeatDetails, lastFailure: req.includeLastFailure });
  const outcome = req.includeOutcome ? activityOutcome(state) : null;
  return {
    runId: state.runId,
    info,
    input: req.includeInput ? (decodeScheduledAttributes(activityOf(state)).input ?? null) : null,
    outcome,
    longPollToken: encodeLongPollToken(state),
    // Temporal's activity CallbackInfo: the workflow's, under an activity-closed trigger.
    callbacks: (state.callbacks ?? []).map((c) => {
      const { trigger: _workflowClosed, ...info } = callbackInfoMessage(c) as { trigger: unknown };
      return { trigger: { activityClosed: {} }, info };
    }),
  };
}

export async function pollActivityExecution(ctx: HistoryContext, ns: NamespaceRecord, activityId: string, runId: string, poll: LongPoll): Promise<PollResponse> {
  const key = await resolveStandaloneRun(ctx, ns.id, activityId, runId);
  const state = requireStandalone(await ctx.engine.read(key), key);
  const closed = await waitFor(ctx, key, state, poll, (s) => !isRunning(s));
  if (!closed) return {};
  return { runId: closed.runId, outcome: activityOutcome(closed) };
}

/** Waits until `done` holds for the run (checking `state` first); null when the wait runs out or is cancelled. */
export async function waitFor(ctx: HistoryContext, key: ExecutionKey, state: MutableState, poll: LongPoll, done: (s: MutableState) => boolean): Promise<MutableState | null> {
  if (done(state)) return state;
  const endMs = ctx.engine.clock.now() + poll.waitMs;
  for (;;) {
    const leftMs = endMs - ctx.engine.clock.now();
    if (leftMs <= 0 || poll.signal.aborted) return null;
    // The state may have changed between the read and the wait: read it again after arming.
    const stop = new AbortController();
    const onAbort = (): void => stop.abort();
    poll.signal.addEventListener('abort', onAbort);
    const change = ctx.engine.waitForChange(key, leftMs, stop.signal);
    const now = await ctx.engine.read(key);
    if (now && done(now)) stop.abort();
    const changed = await change;
    poll.signal.removeEventListener('abort', onAbort);
    if (now && done(now)) return now;
    if (changed && done(changed)) return changed;
    if (!changed) return null;
  }
}
