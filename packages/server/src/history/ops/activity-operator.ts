// PauseActivity, UnpauseActivity, ResetActivity and UpdateActivityOptions: an operator acting on the
// pending activities of a running workflow, chosen by activity id, by activity type (every pending one
// of that type) or all of them; the state changes are in machines/activity-pause.ts and
// machines/activity-options.ts.
import type { temporal } from '@temporalio/proto';
import { durationToMs } from '@kairos/common';
import { InvalidArgumentError, NotFoundError } from '../../errors.js';
import type { NamespaceRecord } from '../../namespace/registry.js';
import type { ActivityInfo, MutableState } from '../mutable-state.js';
import { Transition } from '../transition.js';
import { pauseActivity, resetActivity, unpauseActivity } from '../machines/activity-pause.js';
import { applyActivityOptions, currentActivityOptions, maskPaths, mergeActivityOptions, originalActivityOptions, type ActivityOptions } from '../machines/activity-options.js';
import { requireRunning, resolveRun, type HistoryContext } from '../service-context.js';

/** Temporal's wording. */
const ACTIVITY_NOT_FOUND = "Can't find pending activity with such ID. Invalid activityID or activity already completed";

type Execution = temporal.api.common.v1.IWorkflowExecution | null | undefined;

interface Selector {
  execution?: Execution;
  id?: string | null;
  type?: string | null;
}

export async function pauseActivities(ctx: HistoryContext, ns: NamespaceRecord, req: temporal.api.workflowservice.v1.IPauseActivityRequest): Promise<object> {
  const request = { identity: req.identity ?? '', reason: req.reason ?? '', requestId: req.requestId ?? '' };
  await onActivities(ctx, ns, req, false, (t, info) => pauseActivity(t, info, request));
  return {};
}

export async function unpauseActivities(ctx: HistoryContext, ns: NamespaceRecord, req: temporal.api.workflowservice.v1.IUnpauseActivityRequest): Promise<object> {
  const options = { resetAttempts: req.resetAttempts === true, resetHeartbeat: req.resetHeartbeat === true, jitterMs: durationToMs(req.jitter) };
  await onActivities(ctx, ns, req, req.unpauseAll === true, (t, info) => {
    // Temporal leaves an activity that is not paused as it is.
    if (info.paused) unpauseActivity(t, info, options);
  });
  return {};
}

export async function resetActivities(ctx: HistoryContext, ns: NamespaceRecord, req: temporal.api.workflowservice.v1.IResetActivityRequest): Promise<object> {
  const options = { resetHeartbeats: req.resetHeartbeat === true, keepPaused: req.keepPaused === true, jitterMs: durationToMs(req.jitter) };
  const all = req.matchAll === true;
  const originals = req.restoreOriginalOptions === true ? await originalOptions(ctx, ns, req, all) : null;
  await onActivities(ctx, ns, req, all, (t, info) => {
    if (originals) applyActivityOptions(t, info, originalOf(originals, info), false);
    resetActivity(t, info, options);
  });
  return {};
}

export async function updateActivityOptions(ctx: HistoryContext, ns: NamespaceRecord, req: temporal.api.workflowservice.v1.IUpdateActivityOptionsRequest): Promise<object> {
  const paths = maskPaths(req.updateMask?.paths);
  const restore = req.restoreOriginal === true;
  if (restore && paths.size > 0) throw new InvalidArgumentError('Both UpdateMask and RestoreOriginal are provided');
  if (!restore && !req.activityOptions) throw new InvalidArgumentError('ActivityOptions are not provided');
  if (!restore && !req.updateMask) throw new InvalidArgumentError('UpdateMask is not provided');
  const touchesRetry = [...paths].some((p) => p === 'retryPolicy' || p.startsWith('retryPolicy.'));
  const all = req.matchAll === true;
  const originals = restore ? await originalOptions(ctx, ns, req, all) : null;
  let answer: ActivityOptions | null = null;
  await onActivities(ctx, ns, req, all, (t, info) => {
    let options: ActivityOptions;
    if (originals) {
      options = originalOf(originals, info);
    } else {
      options = currentActivityOptions(info);
      mergeActivityOptions(options, req.activityOptions!, paths);
    }
    answer = applyActivityOptions(t, info, options, touchesRetry);
  });
  return { activityOptions: answer };
}

/** The options the chosen activities were scheduled with, from their ActivityTaskScheduled events (read before the transition). */
async function originalOptions(ctx: HistoryContext, ns: NamespaceRecord, req: Selector, all: boolean): Promise<Map<number, ActivityOptions>> {
  const originals = new Map<number, ActivityOptions>();
  const key = await resolveRun(ctx, ns.id, req.execution?.workflowId ?? '', req.execution?.runId);
  const state = await ctx.engine.read(key);
  for (const info of state ? chooseActivities(state, req, all) : []) {
    const [event] = await ctx.engine.readEncodedEvents(key, info.scheduledEventId, info.scheduledEventId + 1, 1);
    if (event) originals.set(info.scheduledEventId, originalActivityOptions(event));
  }
  return originals;
}

function originalOf(originals: Map<number, ActivityOptions>, info: ActivityInfo): ActivityOptions {
  const original = originals.get(info.scheduledEventId);
  if (!original) throw new NotFoundError(ACTIVITY_NOT_FOUND);
  return original;
}

/** Applies `act` to the chosen pending activities of the run in one transition; NOT_FOUND when none is chosen. */
async function onActivities(ctx: HistoryContext, ns: NamespaceRecord, req: Selector, all: boolean, act: (t: Transition, info: ActivityInfo) => void): Promise<void> {
  const workflowId = req.execution?.workflowId;
  if (!workflowId) throw new InvalidArgumentError('WorkflowId is not set on request.');
  if (!all && !req.id && !req.type) throw new InvalidArgumentError('Either Activity.Id or Activity.Type should be set on request.');
  const key = await resolveRun(ctx, ns.id, workflowId, req.execution?.runId);
  await ctx.engine.update(key, (loaded, nowMs) => {
    const state = requireRunning(loaded, key);
    const chosen = chooseActivities(state, req, all);
    if (chosen.length === 0) throw new NotFoundError(ACTIVITY_NOT_FOUND);
    const t = new Transition(state, nowMs);
    for (const info of chosen) act(t, info);
    return { transition: t, value: undefined };
  });
}

function chooseActivities(state: MutableState, req: Selector, all: boolean): ActivityInfo[] {
  const pending = Object.values(state.activities);
  if (all) return pending;
  if (req.id) return pending.filter((a) => a.activityId === req.id);
  return pending.filter((a) => a.activityType === req.type);
}
