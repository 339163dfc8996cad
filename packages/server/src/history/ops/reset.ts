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
//   ChildWorkflowExecution* ...    what happened after N to the children pending at N (they go on
//                                  running; they were started, or closed, for the base run)
//   NexusOperation* ...            what happened after N to the Nexus operations pending at N (Started
//                                  and the closing events; not with the NEXUS exclude type)
//   WorkflowTaskScheduled
//
// Nexus operations pending at the reset point stay pending too: one not started is attempted again
// with its request id, and a completion delivered to the base run's callback is taken by the
// workflow's current run (ops/callbacks.ts), as Temporal retries such a completion without a run id.
// A handler run that is reset keeps the completion callbacks of its start.
// Children pending at the reset point stay pending in the new run, as on Temporal (whose
// history.allowResetWithPendingChildren is on by default). The base run records the new run's id
// (resetRunId): a child that closes later reports to its parent run as before, and a closed run that was
// reset hands the report on to its reset run. When the run the reset terminates is the base run, its
// children keep running (no parent-close policy), so that the new run can reconnect to them.
import { randomUUID } from 'node:crypto';
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import { InvalidArgumentError } from '../../errors.js';
import { EventType, WorkflowTaskFailedCause, type Failure, type HistoryEvent } from '../../proto-types.js';
import type { NamespaceRecord } from '../../namespace/registry.js';
import type { ExecutionKey } from '../../persistence/store.js';
import { Transition } from '../transition.js';
import type { MutableState } from '../mutable-state.js';
import { isRunning, terminateWorkflow } from '../machines/workflow.js';
import { scheduleWorkflowTask } from '../machines/workflow-task.js';
import { rearmRebuiltActivity } from '../machines/activity.js';
import { recordChildClosed, recordChildStarted, recordChildStartFailed } from '../machines/child-workflow.js';
import { rearmRebuiltNexusOperation, recordNexusCompleted, recordNexusFailed, recordNexusStarted, recordNexusTimedOut } from '../machines/nexus-operation.js';
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
const EXCLUDE_NEXUS = 3;

export async function resetWorkflow(ctx: HistoryContext, ns: NamespaceRecord, req: ResetRequest): Promise<string> {
  const workflowId = req.workflowExecution?.workflowId;
  if (!workflowId) throw new InvalidArgumentError('WorkflowId is not set on request.');
  const finishEventId = Number(req.workflowTaskFinishEventId ?? 0);
  const reapplySignals = req.resetReapplyType !== REAPPLY_TYPE_NONE && !(req.resetReapplyExcludeTypes ?? []).includes(EXCLUDE_SIGNAL);
  // What a Nexus operation pending at the reset point went on to do is re-applied unless excluded (as
  // Temporal cherry-picks it); the commands themselves are not, the workflow code issues them again.
  const reapplyNexus = !(req.resetReapplyExcludeTypes ?? []).includes(EXCLUDE_NEXUS);
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
    const later = await laterEvents(ctx, baseKey, finishEventId, base.nextEventId, current.runId);
    const reapplied = later.events.filter((e) => (isSignal(e) ? reapplySignals : isNexusEvent(e) ? reapplyNexus : true));
    const newRunId = randomUUID();
    const build = (nowMs: number): Transition => buildResetRun(ns.id, copied, reapplied, { baseRunId: base.runId, newRunId, nowMs, reason: req.reason ?? '', requestId: req.requestId ?? '' });
    // A closed base run learns its reset run first: if the reset then fails, it names a run that does
    // not exist, which changes nothing (children's reports to it are dropped, as they would be anyway).
    if (base.runId !== current.runId || !isRunning(current)) await markReset(ctx, baseKey, newRunId);

    const committed = isRunning(current)
      ? await ctx.engine.update(currentKey, (loaded, nowMs) => {
          const state = requireState(loaded, currentKey);
          if (!isRunning(state) || (later.currentNextEventId >= 0 && state.nextEventId !== later.currentNextEventId)) return { transition: null, value: false };
          const resetRun = build(nowMs);
          const t = new Transition(state, nowMs);
          t.newRun = resetRun; // the chain goes on in the reset run: the parent is not told of this close
          // The base run's children stay: the reset run takes over those pending at the reset point.
          if (state.runId === base.runId) state.resetRunId = newRunId;
          const before = t.events.length;
          terminateWorkflow(t, req.reason ?? '', null, TERMINATE_IDENTITY);
          // Events that were buffered in the terminated run's workflow task are written by the
          // terminate: they are re-applied too.
          for (const e of t.events.slice(before)) {
            const reapply = isSignal(e) ? reapplySignals : state.runId === base.runId && (isChildEvent(e) || (reapplyNexus && isNexusEvent(e)));
            if (reapply) reapplyEvent(resetRun, e);
          }
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
function buildResetRun(namespaceId: string, copied: readonly HistoryEvent[], later: readonly HistoryEvent[], p: ResetRunParams): Transition {
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
  for (const event of later) reapplyEvent(t, event);
  return t;
}

function finishResetRun(t: Transition): void {
  // A child initiated before the reset point that the base run never saw started is started afresh.
  for (const child of Object.values(t.state.children)) if (!child.started) t.addTimer(t.nowMs, { kind: 'startChild', initiatedEventId: child.initiatedEventId });
  scheduleWorkflowTask(t, 1);
}

/** Records the reset run in a closed base run (ops/external.ts forwards its children's reports). */
async function markReset(ctx: HistoryContext, key: ExecutionKey, resetRunId: string): Promise<void> {
  await ctx.engine.update(key, (state, nowMs) => {
    if (!state || isRunning(state)) return { transition: null, value: undefined };
    state.resetRunId = resetRunId;
    return { transition: new Transition(state, nowMs), value: undefined };
  });
}

/** Timers and dispatches for what the rebuilt run has pending, counted from now where Temporal does. */
function rearm(t: Transition): void {
  const state = t.state;
  for (const info of Object.values(state.activities)) rearmRebuiltActivity(t, info);
  for (const timer of Object.values(state.timers)) {
    timer.taskId = t.addTimer(timer.fireAtMs, { kind: 'userTimer', timerId: timer.timerId, startedEventId: timer.startedEventId });
  }
  for (const request of Object.values(state.externalRequests)) t.addTimer(t.nowMs, { kind: 'externalRequest', initiatedEventId: request.initiatedEventId });
  for (const info of Object.values(state.nexusOperations ?? {})) rearmRebuiltNexusOperation(t, info);
  if (state.runTimeoutMs > 0) state.workflowTimerTaskIds.push(t.addTimer(t.nowMs + state.runTimeoutMs, { kind: 'workflowRunTimeout' }));
  if (state.executionExpirationMs > 0) state.workflowTimerTaskIds.push(t.addTimer(state.executionExpirationMs, { kind: 'workflowExecutionTimeout' }));
}

function isSignal(e: HistoryEvent): boolean {
  return e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED;
}

/** What happens to a child after it is initiated (the initiation itself is not re-applied). */
const CHILD_EVENTS = new Set<number>([
  EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED,
  EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
  EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
  EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
  EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
  EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
  EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
]);

function isChildEvent(e: HistoryEvent): boolean {
  return CHILD_EVENTS.has(e.eventType ?? 0);
}

/** What happens to a Nexus operation after it is scheduled that Temporal re-applies (not cancel requests). */
const NEXUS_EVENTS = new Set<number>([
  EventType.EVENT_TYPE_NEXUS_OPERATION_STARTED,
  EventType.EVENT_TYPE_NEXUS_OPERATION_COMPLETED,
  EventType.EVENT_TYPE_NEXUS_OPERATION_FAILED,
  EventType.EVENT_TYPE_NEXUS_OPERATION_CANCELED,
  EventType.EVENT_TYPE_NEXUS_OPERATION_TIMED_OUT,
]);

function isNexusEvent(e: HistoryEvent): boolean {
  return NEXUS_EVENTS.has(e.eventType ?? 0);
}

/** Writes a later signal again, or a later child or Nexus event when that child or operation is pending in the reset run. */
function reapplyEvent(t: Transition, e: HistoryEvent): void {
  if (isSignal(e)) {
    const a = e.workflowExecutionSignaledEventAttributes;
    t.addEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, 'workflowExecutionSignaledEventAttributes', {
      signalName: a?.signalName ?? '',
      input: a?.input ?? null,
      identity: a?.identity ?? '',
      header: a?.header ?? null,
    });
    return;
  }
  if (isNexusEvent(e)) reapplyNexusEvent(t, e);
  else reapplyChildEvent(t, e);
}

/** A Nexus event of the base run, for an operation the reset run has pending with the same request id. */
function reapplyNexusEvent(t: Transition, e: HistoryEvent): void {
  const a =
    e.nexusOperationStartedEventAttributes ??
    e.nexusOperationCompletedEventAttributes ??
    e.nexusOperationFailedEventAttributes ??
    e.nexusOperationCanceledEventAttributes ??
    e.nexusOperationTimedOutEventAttributes;
  const info = a ? t.state.nexusOperations?.[Number(a.scheduledEventId ?? 0)] : undefined;
  if (!a || !info || (a.requestId && a.requestId !== info.requestId)) return;
  const links = e.links ?? [];
  switch (e.eventType) {
    case EventType.EVENT_TYPE_NEXUS_OPERATION_STARTED: {
      const started = e.nexusOperationStartedEventAttributes;
      if (info.phase !== 'started') recordNexusStarted(t, info, started?.operationToken || started?.operationId || '', links);
      return;
    }
    case EventType.EVENT_TYPE_NEXUS_OPERATION_COMPLETED:
      recordNexusCompleted(t, info, e.nexusOperationCompletedEventAttributes?.result ?? null, links);
      return;
    case EventType.EVENT_TYPE_NEXUS_OPERATION_FAILED:
    case EventType.EVENT_TYPE_NEXUS_OPERATION_CANCELED: {
      const failure = (e.nexusOperationFailedEventAttributes ?? e.nexusOperationCanceledEventAttributes)?.failure;
      recordNexusFailed(t, info, (failure?.cause as Failure | undefined) ?? null, e.eventType === EventType.EVENT_TYPE_NEXUS_OPERATION_CANCELED);
      return;
    }
    case EventType.EVENT_TYPE_NEXUS_OPERATION_TIMED_OUT:
      recordNexusTimedOut(t, info, e.nexusOperationTimedOutEventAttributes?.failure?.cause?.timeoutFailureInfo?.timeoutType ?? 0);
      return;
  }
}

/**
 * Signals and child events written after the reset point: in the base run, then in each later run its
 * close event continued into (continue-as-new, retry, cron), up to the current run. Also returns the
 * current run's next event id as read, when the current run was read (-1 otherwise), to detect a race.
 */
async function laterEvents(
  ctx: HistoryContext,
  baseKey: ExecutionKey,
  fromEventId: number,
  baseNextEventId: number,
  currentRunId: string,
): Promise<{ events: HistoryEvent[]; currentNextEventId: number }> {
  const later: HistoryEvent[] = [];
  let key = baseKey;
  let from = fromEventId;
  let next = baseNextEventId;
  for (let runs = 0; runs < MAX_CHAIN_RUNS; runs++) {
    const events = await ctx.engine.readEvents(key, from, next);
    // Child and Nexus events only from the base run: a later run's event ids name other children and operations.
    later.push(...events.filter((e) => isSignal(e) || (key === baseKey && (isChildEvent(e) || isNexusEvent(e)))));
    if (key.runId === currentRunId) return { events: later, currentNextEventId: next };
    const continuedRunId = continuedInto(events.at(-1));
    if (!continuedRunId) break;
    key = { ...key, runId: continuedRunId };
    const state = await ctx.engine.read(key);
    if (!state) break;
    from = 1;
    next = state.nextEventId;
  }
  return { events: later, currentNextEventId: -1 };
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

/** A child event of the base run, for a child the reset run has pending under the same initiated id. */
function reapplyChildEvent(t: Transition, e: HistoryEvent): void {
  const a =
    e.startChildWorkflowExecutionFailedEventAttributes ??
    e.childWorkflowExecutionStartedEventAttributes ??
    e.childWorkflowExecutionCompletedEventAttributes ??
    e.childWorkflowExecutionFailedEventAttributes ??
    e.childWorkflowExecutionCanceledEventAttributes ??
    e.childWorkflowExecutionTimedOutEventAttributes ??
    e.childWorkflowExecutionTerminatedEventAttributes;
  const info = a ? t.state.children[Number(a.initiatedEventId ?? 0)] : undefined;
  if (!a || !info) return;
  const workflowId = 'workflowExecution' in a ? a.workflowExecution?.workflowId : 'workflowId' in a ? a.workflowId : undefined;
  if (workflowId !== info.workflowId) return;
  const runId = ('workflowExecution' in a ? a.workflowExecution?.runId : '') ?? '';
  if (info.started && runId && info.runId && runId !== info.runId) return;
  if (!info.runId) info.runId = runId;
  switch (e.eventType) {
    case EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED:
      if (!info.started) recordChildStartFailed(t, info, e.startChildWorkflowExecutionFailedEventAttributes?.cause ?? 0);
      return;
    case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
      if (!info.started) recordChildStarted(t, info, runId);
      return;
    case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
      recordChildClosed(t, info, { kind: 'completed', event: { result: e.childWorkflowExecutionCompletedEventAttributes?.result ?? null } });
      return;
    case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED: {
      const f = e.childWorkflowExecutionFailedEventAttributes;
      recordChildClosed(t, info, { kind: 'failed', event: { failure: f?.failure ?? null, retryState: f?.retryState ?? 0 } });
      return;
    }
    case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED:
      recordChildClosed(t, info, { kind: 'canceled', event: { details: e.childWorkflowExecutionCanceledEventAttributes?.details ?? null } });
      return;
    case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT:
      recordChildClosed(t, info, { kind: 'timedOut', event: { retryState: e.childWorkflowExecutionTimedOutEventAttributes?.retryState ?? 0 } });
      return;
    case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED:
      recordChildClosed(t, info, { kind: 'terminated' });
      return;
  }
}
