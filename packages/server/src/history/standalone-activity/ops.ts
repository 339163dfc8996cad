// Standalone activities (StartActivityExecution and the calls about one activity): start with Temporal's
// id reuse and conflict policies, cancel, terminate and delete. The activity itself runs on the activity
// machine (machines/activity.ts), exactly as a workflow's does: matching, timeouts, retries, heartbeats.
import { randomUUID } from 'node:crypto';
import { api } from '@kairos/common';
import { AlreadyExistsError, FailedPreconditionError } from '../../errors.js';
import type { NamespaceRecord } from '../../namespace/registry.js';
import { statusName } from '../../visibility/query/literals.js';
import { newRunState, type ActivityInfo, type MutableState } from '../mutable-state.js';
import { Transition } from '../transition.js';
import { armScheduleToClose, dispatchAttempt, newActivityInfo, type ActivityTimeouts, type ScheduledAttributes } from '../machines/activity.js';
import { isRunning } from '../machines/workflow.js';
import { MAX_CALLBACKS, newCallbackInfos, type CompletionCallback } from '../machines/callbacks.js';
import type { HistoryContext } from '../service-context.js';
import { deleteStandaloneRun, startStandaloneRun, terminateStandaloneRun, type StandaloneKind } from './start-run.js';
import { activityKeySpace, STANDALONE_ACTIVITY_SLOT } from './key-space.js';
import { closeStandaloneActivity, terminateStandaloneActivity } from './close.js';
import { requireStandalone, resolveStandaloneRun } from './lookup.js';


/** A validated, normalized StartActivityExecution. */
export interface StartActivity {
  readonly activityId: string;
  readonly requestId: string;
  /** ActivityTaskScheduled-shaped attributes: type, task queue, input, header, normalized timeouts and retry policy, priority. */
  readonly attrs: ScheduledAttributes;
  readonly timeouts: ActivityTimeouts;
  readonly startDelayMs: number;
  readonly reusePolicy: number;
  readonly conflictPolicy: number;
  /** Encoded SearchAttributes / UserMetadata, or null. */
  readonly searchAttributes: Uint8Array | null;
  readonly userMetadata: Uint8Array | null;
  /** Completion callbacks (checked, header keys lower-cased), delivered when the activity closes. */
  readonly callbacks: readonly CompletionCallback[];
  /** on_conflict_options.attach_completion_callbacks: a start that finds the activity running adds its callbacks to it. */
  readonly attachCallbacksOnConflict: boolean;
}

export interface StartedActivity {
  readonly runId: string;
  readonly started: boolean;
}

export async function startActivityExecution(ctx: HistoryContext, ns: NamespaceRecord, start: StartActivity): Promise<StartedActivity> {
  return startStandaloneRun(ctx, activityKeySpace(ns.id), start.activityId, start, {
    newRun: (nowMs) => newActivityRun(activityKeySpace(ns.id), start, nowMs),
    alreadyStarted,
    useExisting: async (previous) => {
      if (start.attachCallbacksOnConflict && start.callbacks.length > 0) await attachCallbacks(ctx, previous, start);
    },
  });
}

/** The new run's first transition: its activity scheduled, dispatched now or once the start delay passes. */
function newActivityRun(space: string, start: StartActivity, nowMs: number): Transition {
  const runId = randomUUID();
  const state = newRunState({
    namespaceId: space,
    workflowId: start.activityId,
    runId,
    firstExecutionRunId: runId,
    workflowType: start.attrs.activityType?.name ?? '',
    taskQueue: start.attrs.taskQueue?.name ?? '',
    startTimeMs: nowMs,
    executionTimeMs: nowMs + start.startDelayMs,
    workflowTaskTimeoutMs: 0,
    runTimeoutMs: 0,
    executionTimeoutMs: 0,
    startRequestId: start.requestId,
    requestIds: [start.requestId],
    signalRequestIds: [],
    signalCount: 0,
    memo: null,
    searchAttributes: start.searchAttributes,
    attempt: 1,
    retryPolicy: null,
    cronSchedule: '',
    parent: null,
    startInput: null,
    startHeader: null,
    executionExpirationMs: 0,
    priorityKey: start.attrs.priority?.priorityKey ?? 0,
    standalone: {
      outcome: null,
      userMetadata: start.userMetadata,
      startDelayMs: start.startDelayMs,
      canceledReason: '',
      cancelIdentity: '',
      cancelRequestId: '',
      terminateRequestId: '',
      lastAttemptCompleteMs: 0,
      currentRetryIntervalMs: 0,
      totalHeartbeats: 0,
      lastWorkerIdentity: '',
    },
  });
  if (start.callbacks.length > 0) state.callbacks = newCallbackInfos(start.callbacks, nowMs, '');
  const t = new Transition(state, nowMs);
  const info = newActivityInfo(STANDALONE_ACTIVITY_SLOT, start.attrs, start.timeouts, nowMs);
  state.activities[STANDALONE_ACTIVITY_SLOT] = info;
  if (start.startDelayMs > 0) {
    // The first attempt waits out the delay as a retry waits out its backoff; schedule-to-close counts from its end.
    info.awaitingRetry = true;
    info.currentAttemptScheduledTimeMs = nowMs + start.startDelayMs;
    info.timerTaskIds.push(t.addTimer(nowMs + start.startDelayMs, { kind: 'activityRetry', scheduledEventId: STANDALONE_ACTIVITY_SLOT, attempt: 1 }));
  } else {
    dispatchAttempt(t, info);
  }
  armScheduleToClose(t, info, start.startDelayMs);
  t.stateChanged = true;
  return t;
}

/** A start that found the activity running attaches its callbacks to it (once per request id), as Temporal's on-conflict options ask. */
async function attachCallbacks(ctx: HistoryContext, running: MutableState, start: StartActivity): Promise<void> {
  const key = { namespaceId: running.namespaceId, workflowId: running.workflowId, runId: running.runId };
  await ctx.engine.update(key, (state, nowMs) => {
    if (!state || !isRunning(state)) return { transition: null, value: undefined };
    const attached = state.callbacks ?? [];
    if (attached.some((c) => c.requestId === start.requestId)) return { transition: null, value: undefined };
    if (attached.length + start.callbacks.length > MAX_CALLBACKS) {
      throw new FailedPreconditionError(`cannot attach more than ${MAX_CALLBACKS} callbacks to an activity (${attached.length} callbacks already attached)`);
    }
    const t = new Transition(state, nowMs);
    state.callbacks = [...attached, ...newCallbackInfos(start.callbacks, nowMs, start.requestId)];
    t.stateChanged = true;
    return { transition: t, value: undefined };
  });
}

function alreadyStarted(state: MutableState): AlreadyExistsError {
  return new AlreadyExistsError('activity execution already started', {
    typeName: 'temporal.api.errordetails.v1.ActivityExecutionAlreadyStartedFailure',
    value: api.errordetails.v1.ActivityExecutionAlreadyStartedFailure.encode({ startRequestId: state.startRequestId, runId: state.runId }).finish(),
  });
}

export interface ActivityRequestTarget {
  readonly activityId: string;
  readonly runId?: string | null;
}

export interface ControlRequest extends ActivityRequestTarget {
  readonly requestId: string;
  readonly identity: string;
  readonly reason: string;
}

/**
 * RequestCancelActivityExecution: an activity no worker runs is canceled at once (its details hold the
 * reason); a running attempt is asked to stop through its heartbeats and closes when the worker says so.
 */
export async function requestCancelActivityExecution(ctx: HistoryContext, ns: NamespaceRecord, req: ControlRequest): Promise<void> {
  const key = await resolveStandaloneRun(ctx, ns.id, req.activityId, req.runId);
  await ctx.engine.update(key, (loaded, nowMs) => {
    const state = requireStandalone(loaded, key);
    const standalone = state.standalone;
    if (standalone.cancelRequestId === req.requestId) return { transition: null, value: undefined };
    if (!isRunning(state)) throw new FailedPreconditionError(`activity is in terminal state ${statusName(state.status)}`);
    const info = activityOf(state);
    if (info.cancelRequested) throw new FailedPreconditionError(`cancellation already requested with request ID ${standalone.cancelRequestId}`);
    const t = new Transition(state, nowMs);
    standalone.canceledReason = req.reason;
    standalone.cancelIdentity = req.identity;
    standalone.cancelRequestId = req.requestId;
    if (info.phase === 'started') {
      info.cancelRequested = true;
      t.stateChanged = true;
    } else {
      const reason = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(req.reason)) };
      closeStandaloneActivity(t, standalone, info, { eventType: api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED, details: { payloads: [reason] } });
    }
    return { transition: t, value: undefined };
  });
}

/** A standalone activity as terminate and delete handle it (start-run.ts). */
const ACTIVITY_KIND: StandaloneKind<ReturnType<typeof requireStandalone>> = {
  require: requireStandalone,
  terminateRequestId: (state) => state.standalone.terminateRequestId,
  terminate: (t, state, requestId, reason, identity) => {
    state.standalone.terminateRequestId = requestId;
    terminateStandaloneActivity(t, state.standalone, activityOf(state), reason, identity);
  },
};

/** TerminateActivityExecution: closes the run at once; a worker still running it is told NOT_FOUND. */
export async function terminateActivityExecution(ctx: HistoryContext, ns: NamespaceRecord, req: ControlRequest): Promise<void> {
  await terminateStandaloneRun(ctx, await resolveStandaloneRun(ctx, ns.id, req.activityId, req.runId), ACTIVITY_KIND, req);
}

/** DeleteActivityExecution: a running activity is terminated first; then the run and its listing go. */
export async function deleteActivityExecution(ctx: HistoryContext, ns: NamespaceRecord, req: ActivityRequestTarget): Promise<void> {
  await deleteStandaloneRun(ctx, await resolveStandaloneRun(ctx, ns.id, req.activityId, req.runId), ACTIVITY_KIND, 'Delete activity execution');
}

export function activityOf(state: MutableState): ActivityInfo {
  const info = state.activities[STANDALONE_ACTIVITY_SLOT];
  if (!info) throw new Error(`standalone activity ${state.workflowId} has no activity`);
  return info;
}
