// Activity-task operations: a poller takes an attempt; a worker heartbeats, completes, fails or
// cancels it, by task token or by (workflow id, run id, activity id).
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import { InvalidArgumentError, NotFoundError } from '../../errors.js';
import { mergePriority, workflowPriority } from '../priority.js';
import { FailureCodec, PayloadsCodec, type Failure, type Payloads } from '../../proto-types.js';
import type { NamespaceRecord } from '../../namespace/registry.js';
import type { ActivityInfo, MutableState } from '../mutable-state.js';
import { Transition } from '../transition.js';
import { activityPollFields, cancelActivity, completeActivity, decodeScheduledAttributes, failActivityAttempt, recordHeartbeat, startActivity } from '../machines/activity.js';
import { isRunning } from '../machines/workflow.js';
import { decodeTaskToken, encodeTaskToken, type ActivityTaskToken } from '../task-token.js';
import type { TaskRef } from '../../matching/matching.js';
import { requireRunning, resolveRun, type HistoryContext } from '../service-context.js';
import type { ExecutionKey } from '../../persistence/store.js';
import { currentSizeLimits, exceedsBlobLimit, payloadsSize } from '../../limits.js';
import { ownerNamespaceId, STANDALONE_ACTIVITY_SLOT } from '../standalone-activity/key-space.js';
import { resolveStandaloneRun, standaloneNotFoundMessage } from '../standalone-activity/lookup.js';

type PollRequest = Loose<temporal.api.workflowservice.v1.IPollActivityTaskQueueRequest>;
type PollResponse = Loose<temporal.api.workflowservice.v1.IPollActivityTaskQueueResponse>;

const ACTIVITY_NOT_FOUND = 'Activity task not found.';

/** `taskQueue`: the queue the task was polled from; a task left on a queue the activity moved away from is dropped. */
export async function recordActivityTaskStarted(ctx: HistoryContext, ns: NamespaceRecord, ref: TaskRef, poll: PollRequest, requestId: string, taskQueue: string): Promise<PollResponse | null> {
  return ctx.engine.update(ref.key, (state, nowMs) => {
    if (!state || !isRunning(state)) return { transition: null, value: null };
    const info = state.activities[ref.scheduledEventId];
    // A paused activity's queued task is dropped: unpausing dispatches the attempt again.
    if (!info || info.attempt !== ref.attempt || info.phase !== 'scheduled' || info.awaitingRetry || info.paused) return { transition: null, value: null };
    if (info.taskQueue !== taskQueue) return { transition: null, value: null };
    const t = new Transition(state, nowMs);
    startActivity(t, info, poll.identity ?? '', requestId);
    return { transition: t, value: activityTaskResponse(ns.name, state, info) };
  });
}

/** The task a worker gets for a started activity attempt (a poll's answer, or an eager dispatch). */
export function activityTaskResponse(namespace: string, state: MutableState, info: ActivityInfo): PollResponse {
  const attrs = decodeScheduledAttributes(info);
  const token: ActivityTaskToken = { k: 'act', ns: state.namespaceId, wid: state.workflowId, rid: state.runId, sid: info.scheduledEventId, att: info.attempt, aid: info.activityId };
  // A standalone activity has no workflow: Temporal sends an empty execution and the activity's run id.
  const standalone = Boolean(state.standalone);
  return {
    taskToken: encodeTaskToken(token),
    workflowNamespace: namespace,
    workflowType: standalone ? null : { name: state.workflowType },
    workflowExecution: standalone ? {} : { workflowId: state.workflowId, runId: state.runId },
    ...(standalone ? { activityRunId: state.runId } : {}),
    activityType: attrs.activityType ?? null,
    activityId: info.activityId,
    header: attrs.header ?? null,
    input: attrs.input ?? null,
    heartbeatDetails: info.heartbeatDetails ? PayloadsCodec.decode(info.heartbeatDetails) : null,
    attempt: info.attempt,
    retryPolicy: attrs.retryPolicy ?? null,
    priority: mergePriority(workflowPriority(state), attrs.priority),
    ...activityPollFields(info),
  };
}

export interface ActivityTarget {
  key: ExecutionKey;
  /** Validates the activity against the token/id; returns it or throws NOT_FOUND. */
  find(state: MutableState): ActivityInfo;
}

function byToken(ns: NamespaceRecord, bytes: Uint8Array | null | undefined): ActivityTarget {
  const token = decodeTaskToken(bytes);
  if (token.k !== 'act' || ownerNamespaceId(token.ns) !== ns.id) throw new InvalidArgumentError('Invalid task token: not an activity task of this namespace.');
  return {
    key: { namespaceId: token.ns, workflowId: token.wid, runId: token.rid },
    find(state) {
      const info = state.activities[token.sid];
      if (!info || info.attempt !== token.att || info.phase !== 'started') throw activityNotFound(state);
      return info;
    },
  };
}

/** Temporal's NOT_FOUND for a stale task of a workflow activity, and for any of a standalone one. */
function activityNotFound(state: MutableState): NotFoundError {
  return new NotFoundError(state.standalone ? standaloneNotFoundMessage(state.workflowId) : ACTIVITY_NOT_FOUND);
}

/** The running execution a worker's call is about; a closed standalone activity is not found at all. */
function requireRunningTarget(loaded: MutableState | null, key: ExecutionKey): MutableState {
  if (key.namespaceId !== ownerNamespaceId(key.namespaceId) && (!loaded || !isRunning(loaded))) throw new NotFoundError(standaloneNotFoundMessage(key.workflowId));
  return requireRunning(loaded, key);
}

/** By id with no workflow id: the standalone activity of that id (its latest run when no run id is given). */
async function standaloneById(ctx: HistoryContext, ns: NamespaceRecord, runId: string | null | undefined, activityId: string): Promise<ActivityTarget> {
  const key = await resolveStandaloneRun(ctx, ns.id, activityId, runId);
  return {
    key,
    find(state) {
      const info = state.activities[STANDALONE_ACTIVITY_SLOT];
      if (!info || info.phase !== 'started') throw activityNotFound(state);
      return info;
    },
  };
}

async function byId(ctx: HistoryContext, ns: NamespaceRecord, workflowId: string | null | undefined, runId: string | null | undefined, activityId: string | null | undefined): Promise<ActivityTarget> {
  if (!activityId) throw new InvalidArgumentError('ActivityId is not set on request.');
  if (!workflowId) return standaloneById(ctx, ns, runId, activityId);
  const key = await resolveRun(ctx, ns.id, workflowId, runId);
  return {
    key,
    find(state) {
      const info = Object.values(state.activities).find((a) => a.activityId === activityId);
      if (!info || info.phase !== 'started') throw new NotFoundError(ACTIVITY_NOT_FOUND);
      return info;
    },
  };
}

export function resolveActivityTarget(
  ctx: HistoryContext,
  ns: NamespaceRecord,
  req: { taskToken?: Uint8Array | null; workflowId?: string | null; runId?: string | null; activityId?: string | null },
  useToken: boolean,
): Promise<ActivityTarget> {
  return useToken ? Promise.resolve(byToken(ns, req.taskToken)) : byId(ctx, ns, req.workflowId, req.runId, req.activityId);
}

/** What a heartbeat answers: the running attempt should stop when its activity was cancelled, paused or reset. */
export interface HeartbeatAnswer {
  cancelRequested: boolean;
  activityPaused: boolean;
  activityReset: boolean;
}

export async function heartbeatActivity(ctx: HistoryContext, target: ActivityTarget, details: Payloads | null | undefined, identity = ''): Promise<HeartbeatAnswer> {
  const tooLarge = exceedsBlobLimit(payloadsSize(details));
  return ctx.engine.update(target.key, (loaded, nowMs) => {
    const state = requireRunningTarget(loaded, target.key);
    const info = target.find(state);
    const t = new Transition(state, nowMs);
    if (tooLarge) {
      // Temporal fails the attempt (not retried) and tells the activity to stop.
      failActivityAttempt(t, info, serverFailure(HEARTBEAT_TOO_LARGE), { identity });
      return { transition: t, value: { cancelRequested: true, activityPaused: false, activityReset: false } };
    }
    recordHeartbeat(t, info, details);
    return { transition: t, value: { cancelRequested: info.cancelRequested, activityPaused: info.paused === true, activityReset: info.resetRequested === true } };
  });
}

export type ActivityOutcome =
  | { kind: 'completed'; result: Payloads | null | undefined; identity: string }
  | { kind: 'failed'; failure: Failure; identity: string; lastHeartbeatDetails: Payloads | null | undefined }
  | { kind: 'canceled'; details: Payloads | null | undefined; identity: string };

export async function respondActivity(ctx: HistoryContext, target: ActivityTarget, outcome: ActivityOutcome): Promise<object> {
  // RespondActivityTaskFailed: oversize parts are dropped or replaced, and the response lists what
  // the server recorded in their place.
  const replaced: Failure[] = [];
  let failure = outcome.kind === 'failed' ? outcome.failure : null;
  const heartbeatTooLarge = outcome.kind === 'failed' && exceedsBlobLimit(payloadsSize(outcome.lastHeartbeatDetails));
  if (heartbeatTooLarge) replaced.push(serverFailure(HEARTBEAT_TOO_LARGE));
  if (failure && exceedsBlobLimit(FailureCodec.encode(failure).len)) {
    failure = { ...serverFailure(FAILURE_TOO_LARGE), cause: truncateFailure(failure, currentSizeLimits().blobSizeLimitWarn) };
    replaced.push(failure);
  }
  await ctx.engine.update(target.key, (loaded, nowMs) => {
    const state = requireRunningTarget(loaded, target.key);
    const info = target.find(state);
    const t = new Transition(state, nowMs);
    switch (outcome.kind) {
      case 'completed':
        // Temporal fails the attempt, without retrying it, instead of storing an oversize payload.
        if (exceedsBlobLimit(payloadsSize(outcome.result))) failActivityAttempt(t, info, serverFailure(RESULT_TOO_LARGE), { identity: outcome.identity });
        else completeActivity(t, info, outcome.result, outcome.identity);
        break;
      case 'failed':
        failActivityAttempt(t, info, failure ?? outcome.failure, { identity: outcome.identity, heartbeatDetails: heartbeatTooLarge ? null : outcome.lastHeartbeatDetails });
        break;
      case 'canceled':
        if (state.standalone && !info.cancelRequested) throw new InvalidArgumentError('unable to mark activity as canceled without activity being request canceled first');
        if (exceedsBlobLimit(payloadsSize(outcome.details))) failActivityAttempt(t, info, serverFailure(CANCEL_DETAILS_TOO_LARGE), { identity: outcome.identity });
        else cancelActivity(t, info, outcome.details, outcome.identity);
        break;
    }
    return { transition: t, value: undefined };
  });
  return replaced.length > 0 ? { failures: replaced } : {};
}

const RESULT_TOO_LARGE = 'Complete result exceeds size limit.';
const FAILURE_TOO_LARGE = 'Failure exceeds size limit.';
const CANCEL_DETAILS_TOO_LARGE = 'Cancel details exceed size limit.';
const HEARTBEAT_TOO_LARGE = 'Heartbeat details exceed size limit.';

function serverFailure(message: string): Failure {
  return { message, serverFailureInfo: { nonRetryable: true } };
}

/**
 * A failure that passes the size limit is replaced, as Temporal's frontend does, by a non-retryable
 * server failure whose cause keeps the original's type, source, message and stack trace, cut to `budget`
 * bytes (earlier fields first), down its chain of causes.
 */
export function truncateFailure(f: Failure, budget: number, depth = 20): Failure {
  let left = budget;
  const cut = (text: string | null | undefined): string => {
    const bytes = Buffer.from(text ?? '');
    let end = Math.min(bytes.length, Math.max(left, 0));
    while (end > 0 && end < bytes.length && (bytes[end]! & 0xc0) === 0x80) end--; // whole UTF-8 characters
    const kept = bytes.subarray(0, end).toString();
    left -= end + (end > 0 ? 4 : 0);
    return kept;
  };
  const out: Failure = {};
  if (f.applicationFailureInfo) {
    out.applicationFailureInfo = { nonRetryable: f.applicationFailureInfo.nonRetryable ?? false, type: cut(f.applicationFailureInfo.type) };
    left -= 8;
  } else if (f.serverFailureInfo) {
    out.serverFailureInfo = { nonRetryable: f.serverFailureInfo.nonRetryable ?? false };
    left -= 4;
  }
  out.source = cut(f.source);
  out.message = cut(f.message);
  out.stackTrace = cut(f.stackTrace);
  if (f.cause && left > 4 && depth > 0) out.cause = truncateFailure(f.cause, left - 4, depth - 1);
  return out;
}
