// ResetWorkflowExecution: a new run that shares the base run's history up to a workflow task, fails that
// task with RESET_WORKFLOW, and goes on from there with the signals received after that point
// re-applied. The current run, if still running, is terminated in the same commit and the new run
// becomes current. Shape of the new run's history:
//
//   1 .. N-1   copied from the base run (N = workflow_task_finish_event_id)
//   [WorkflowTaskStarted]   when the base run's task at that point was only scheduled
//   WorkflowTaskFailed      cause RESET_WORKFLOW, base_run_id, new_run_id
//   WorkflowExecutionSignaled ...  re-applied signals (base run after N, later runs of its chain,
//                                  and signals buffered in the terminated current run)
//   WorkflowTaskScheduled
import { randomUUID } from 'node:crypto';
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import { InvalidArgumentError } from '../../errors.js';
import { EventType, WorkflowTaskFailedCause, type HistoryEvent } from '../../proto-types.js';
import type { NamespaceRecord } from '../../namespace/registry.js';
import type { ExecutionKey } from '../../persistence/store.js';
import { Transition } from '../transition.js';
import type { MutableState } from '../mutable-state.js';
import { isRunning, terminateWorkflow } from '../machines/workflow.js';
import { scheduleWorkflowTask } from '../machines/workflow-task.js';
import { rearmRebuiltActivity } from '../machines/activity.js';
import { RebuildError, rebuildState } from '../state-rebuilder.js';
import { requireState, resolveRun, type HistoryContext } from '../service-context.js';
import { keyString } from '../engine.js';

type ResetRequest = Loose<temporal.api.workflowservice.v1.IResetWorkflowExecutionRequest>;

const RESET_IDENTITY = 'history-service';
const TERMINATE_IDENTITY = 'history-resetter';
/** How many later runs of a continue-as-new / retry chain are searched for signals to re-apply. */
const MAX_CHAIN_RUNS = 100;

// temporal.api.enums.v1.ResetReapplyType / ResetReapplyExcludeType
const REAPPLY_TYPE_NONE = 2;
const EXCLUDE_SIGNAL = 1;

export async function resetWorkflow(ctx: HistoryContext, ns: NamespaceRecord, req: ResetRequest): Promise<string> {
  const workflowId = req.workflowExecution?.workflowId;
  if (!workflowId) throw new InvalidArgumentError('WorkflowId is not set on request.');
  const finishEventId = Number(req.workflowTaskFinishEventId ?? 0);
  const reapplySignals = req.resetReapplyType !== REAPPLY_TYPE_NONE && !(req.resetReapplyExcludeTypes ?? []).includes(EXCLUDE_SIGNAL);
  // A signal or update racing with the reset changes the current run between our reads and the commit:
  // then everything is read again.
  for (let attempt = 0; ; attempt++) {
    const baseKey = await resolveRun(ctx, ns.id, workflowId, req.workflowExecution?.runId);
    const base = requireState(await ctx.engine.read(baseKey), baseKey);
    if (finishEventId <= 1 || finishEventId >= base.nextEventId) {
      throw new InvalidArgumentError('Workflow task finish ID must be > 1 && <= workflow last event ID.');
    }
    const currentKey = await resolveRun(ctx, ns.id, workflowId, null);
    const current = requireState(await ctx.engine.read(currentKey), currentKey);
    if (req.requestId && current.startRequestId === req.requestId) return current.runId; // a retried request

    const copied = await ctx.engine.readEvents(baseKey, 1, finishEventId);
    const later = reapplySignals ? await laterSignals(ctx, baseKey, finishEventId, base.nextEventId, current.runId) : { signals: [], currentNextEventId: -1 };
    const newRunId = randomUUID();
    const build = (nowMs: number): Transition => buildResetRun(ns.id, copied, later.signals, { baseRunId: base.runId, newRunId, nowMs, reason: req.reason ?? '', requestId: req.requestId ?? '' });

    const committed = isRunning(current)
      ? await ctx.engine.update(currentKey, (loaded, nowMs) => {
          const state = requireState(loaded, currentKey);
          if (!isRunning(state) || (later.currentNextEventId >= 0 && state.nextEventId !== later.currentNextEventId)) return { transition: null, value: false };
          const resetRun = build(nowMs);
          const t = new Transition(state, nowMs);
          t.newRun = resetRun; // the chain goes on in the reset run: the parent is not told of this close
          const before = t.events.length;
          terminateWorkflow(t, req.reason ?? '', null, TERMINATE_IDENTITY);
          // Signals that were buffered in the terminated run's workflow task are written by the
          // terminate: they are re-applied too.
          if (reapplySignals) for (const e of t.events.slice(before)) if (isSignal(e)) reapplySignal(resetRun, e);
          finishResetRun(resetRun);
          return { transition: t, value: true };
        })
      : await ctx.engine.withLocks([keyString(currentKey)], async () => {
          const resetRun = build(ctx.engine.clock.now());
          finishResetRun(resetRun);
          await ctx.engine.commitTransitions([{ t: resetRun, expectedVersion: 0, setCurrent: { expectedCurrentRunId: currentKey.runId } }]);
          return true;
        });
    if (committed) return newRunId;
    if (attempt >= 4) throw new Error('the workflow kept changing while it was being reset; try again');
  }
}

interface ResetRunParams {
  readonly baseRunId: string;
  readonly newRunId: string;
  readonly nowMs: number;
  readonly reason: string;
  readonly requestId: string;
}

/** The new run up to its re-applied signals; finishResetRun schedules its workflow task. */
function buildResetRun(namespaceId: string, copied: readonly HistoryEvent[], signals: readonly HistoryEvent[], p: ResetRunParams): Transition {
  const finishEventId = copied.length + 1;
  let state: MutableState;
  try {
    state = rebuildState(namespaceId, copied, { runId: p.newRunId, nowMs: p.nowMs, requestId: p.requestId });
  } catch (err) {
    if (err instanceof RebuildError) throw new InvalidArgumentError(`cannot reset to event ${finishEventId}: ${err.message}`);
    throw err;
  }
  const wft = state.workflowTask;
  if (!wft) {
    throw new InvalidArgumentError(`Can only reset workflow to event ID in range [WorkflowTaskScheduled +1, WorkflowTaskStarted + 1]: ${finishEventId}`);
  }
  if (Object.keys(state.children).length > 0) throw new InvalidArgumentError('WorkflowResetter encountered pending child workflows.');
  const t = new Transition(state, p.nowMs);
  t.events.push(...copied);
  if (wft.startedEventId === 0) {
    const started = t.addEvent(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, 'workflowTaskStartedEventAttributes', {
      scheduledEventId: wft.scheduledEventId,
      identity: RESET_IDENTITY,
      requestId: randomUUID(),
    });
    wft.startedEventId = Number(started.eventId);
  }
  t.addEvent(EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, 'workflowTaskFailedEventAttributes', {
    scheduledEventId: wft.scheduledEventId,
    startedEventId: wft.startedEventId,
    cause: WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW,
    failure: { message: p.reason, resetWorkflowFailureInfo: {} },
    identity: RESET_IDENTITY,
    baseRunId: p.baseRunId,
    newRunId: p.newRunId,
  });
  state.workflowTask = null;
  rearm(t);
  for (const signal of signals) reapplySignal(t, signal);
  return t;
}

function finishResetRun(t: Transition): void {
  scheduleWorkflowTask(t, 1);
}

/** Timers and dispatches for what the rebuilt run has pending, counted from now where Temporal does. */
function rearm(t: Transition): void {
  const state = t.state;
  for (const info of Object.values(state.activities)) rearmRebuiltActivity(t, info);
  for (const timer of Object.values(state.timers)) {
    timer.taskId = t.addTimer(timer.fireAtMs, { kind: 'userTimer', timerId: timer.timerId, startedEventId: timer.startedEventId });
  }
  for (const request of Object.values(state.externalRequests)) t.addTimer(t.nowMs, { kind: 'externalRequest', initiatedEventId: request.initiatedEventId });
  if (state.runTimeoutMs > 0) state.workflowTimerTaskIds.push(t.addTimer(t.nowMs + state.runTimeoutMs, { kind: 'workflowRunTimeout' }));
  if (state.executionExpirationMs > 0) state.workflowTimerTaskIds.push(t.addTimer(state.executionExpirationMs, { kind: 'workflowExecutionTimeout' }));
}

function isSignal(e: HistoryEvent): boolean {
  return e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED;
}

function reapplySignal(t: Transition, e: HistoryEvent): void {
  const a = e.workflowExecutionSignaledEventAttributes;
  t.addEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, 'workflowExecutionSignaledEventAttributes', {
    signalName: a?.signalName ?? '',
    input: a?.input ?? null,
    identity: a?.identity ?? '',
    header: a?.header ?? null,
  });
}

/**
 * Signals written after the reset point: in the base run, then in each later run its close event
 * continued into (continue-as-new, retry, cron), up to the current run. Also returns the current run's
 * next event id as read, when the current run was read (-1 otherwise), to detect a race.
 */
async function laterSignals(
  ctx: HistoryContext,
  baseKey: ExecutionKey,
  fromEventId: number,
  baseNextEventId: number,
  currentRunId: string,
): Promise<{ signals: HistoryEvent[]; currentNextEventId: number }> {
  const signals: HistoryEvent[] = [];
  let key = baseKey;
  let from = fromEventId;
  let next = baseNextEventId;
  for (let runs = 0; runs < MAX_CHAIN_RUNS; runs++) {
    const events = await ctx.engine.readEvents(key, from, next);
    signals.push(...events.filter(isSignal));
    if (key.runId === currentRunId) return { signals, currentNextEventId: next };
    const continuedRunId = continuedInto(events.at(-1));
    if (!continuedRunId) break;
    key = { ...key, runId: continuedRunId };
    const state = await ctx.engine.read(key);
    if (!state) break;
    from = 1;
    next = state.nextEventId;
  }
  return { signals, currentNextEventId: -1 };
}

function continuedInto(close: HistoryEvent | undefined): string {
  if (!close) return '';
  return (
    close.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ??
    close.workflowExecutionCompletedEventAttributes?.newExecutionRunId ??
    close.workflowExecutionFailedEventAttributes?.newExecutionRunId ??
    close.workflowExecutionTimedOutEventAttributes?.newExecutionRunId ??
    ''
  );
}
