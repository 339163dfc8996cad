// Outside requests to a running workflow: signal (de-duplicated by request id), cancel request
// (idempotent), terminate.
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import { InvalidArgumentError, NotFoundError } from '../../errors.js';
import { EventType } from '../../proto-types.js';
import type { NamespaceRecord } from '../../namespace/registry.js';
import { Transition } from '../transition.js';
import { addExternalEvent } from '../machines/workflow-task.js';
import { isRunning, terminateWorkflow } from '../machines/workflow.js';
import { requireRunning, requireState, resolveRun, type HistoryContext } from '../service-context.js';
import type { ExecutionKey } from '../../persistence/store.js';
import { LIMITS } from '../../limits.js';
import type { MutableState } from '../mutable-state.js';

type SignalRequest = Loose<temporal.api.workflowservice.v1.ISignalWorkflowExecutionRequest>;

export interface SignalInput {
  readonly signalName: string;
  readonly input: SignalRequest['input'];
  readonly header: SignalRequest['header'];
  readonly identity: string;
  readonly requestId: string;
  /** Links the sender attached (a Nexus handler's to its caller): they go on the signaled event. */
  readonly links?: SignalRequest['links'];
}

/**
 * Applies a signal to a loaded running state; returns false if its request id was already applied.
 * `stored`: the request ids stored beside the run (Store.getSignalRequestIds); the state's own list
 * holds those of runs written before they moved there, and the transition those applied in it so far.
 */
export function applySignal(t: Transition, s: SignalInput, stored: ReadonlySet<string>): boolean {
  const state = t.state;
  if (s.requestId && (stored.has(s.requestId) || t.signalRequestIds.includes(s.requestId) || state.signalRequestIds.includes(s.requestId))) {
    return false;
  }
  if (state.signalCount >= LIMITS.maxSignalsPerExecution) throw new InvalidArgumentError('Signal count exceeds limit.');
  state.signalCount++;
  if (s.requestId) t.signalRequestIds.push(s.requestId);
  addExternalEvent(t, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, 'workflowExecutionSignaledEventAttributes', {
    signalName: s.signalName,
    input: s.input ?? null,
    identity: s.identity,
    header: s.header ?? null,
  }, s.links?.length ? { links: s.links } : {});
  return true;
}

/**
 * Signals a run. Signals into one run that arrive while an earlier one waits for the run's lock share
 * its transition (engine.updateCombined): applied in arrival order, one commit, each answered after it.
 * A signal over the per-run limit fails alone; the others in its transition still apply.
 */
export async function signalWorkflow(ctx: HistoryContext, key: ExecutionKey, s: SignalInput): Promise<void> {
  await ctx.engine.updateCombined<SignalInput, void>(key, 'signal', s, (loaded, nowMs, signals, stored) => {
    const state = requireRunning(loaded, key);
    const t = new Transition(state, nowMs);
    let applied = false;
    const outcomes = signals.map((signal) => {
      try {
        if (applySignal(t, signal, stored)) applied = true;
        return { value: undefined };
      } catch (error) {
        return { error };
      }
    });
    return { transition: applied ? t : null, outcomes };
  });
}

/** Signals an already-running run found by signal-with-start. */
export async function signalExisting(ctx: HistoryContext, existing: MutableState, s: SignalInput): Promise<void> {
  await signalWorkflow(ctx, { namespaceId: existing.namespaceId, workflowId: existing.workflowId, runId: existing.runId }, s);
}

export async function requestCancelWorkflow(
  ctx: HistoryContext,
  ns: NamespaceRecord,
  req: temporal.api.workflowservice.v1.IRequestCancelWorkflowExecutionRequest,
): Promise<void> {
  const exec = req.workflowExecution;
  if (!exec?.workflowId) throw new InvalidArgumentError('WorkflowId is not set on request.');
  const key = await resolveRun(ctx, ns.id, exec.workflowId, exec.runId);
  if (req.firstExecutionRunId) {
    const s = await ctx.engine.read(key);
    if (s && s.firstExecutionRunId !== req.firstExecutionRunId) throw new NotFoundError(`${'workflow execution not found'} for ID: ${exec.workflowId}`);
  }
  await ctx.engine.update(key, (loaded, nowMs) => {
    const state = requireState(loaded, key);
    // Cancelling a workflow that already closed succeeds and changes nothing (as in Temporal).
    if (!isRunning(state)) return { transition: null, value: undefined };
    if (state.cancelRequested || (req.requestId && state.requestIds.includes(req.requestId))) return { transition: null, value: undefined };
    const t = new Transition(state, nowMs);
    state.cancelRequested = true;
    if (req.requestId) state.requestIds.push(req.requestId);
    addExternalEvent(t, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED, 'workflowExecutionCancelRequestedEventAttributes', {
      cause: req.reason ?? '',
      identity: req.identity ?? '',
    });
    return { transition: t, value: undefined };
  });
}

export async function terminate(ctx: HistoryContext, ns: NamespaceRecord, req: temporal.api.workflowservice.v1.ITerminateWorkflowExecutionRequest): Promise<void> {
  const exec = req.workflowExecution;
  if (!exec?.workflowId) throw new InvalidArgumentError('WorkflowId is not set on request.');
  const key = await resolveRun(ctx, ns.id, exec.workflowId, exec.runId);
  await ctx.engine.update(key, (loaded, nowMs) => {
    const state = requireRunning(loaded, key);
    if (req.firstExecutionRunId && state.firstExecutionRunId !== req.firstExecutionRunId) throw new NotFoundError(`workflow execution not found for ID: ${exec.workflowId}`);
    const t = new Transition(state, nowMs);
    terminateWorkflow(t, req.reason ?? '', req.details ?? null, req.identity ?? '');
    return { transition: t, value: undefined };
  });
}
