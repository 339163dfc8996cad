// Workflow-update RPCs: UpdateWorkflowExecution (get-or-create by update id, then wait for a stage),
// PollWorkflowExecutionUpdate (wait only) and update-with-start (ExecuteMultiOperation: start + update
// in one call). Waiting reads the update's state after every change of the execution, for at most
// Temporal's long-poll interval (20 s) or the caller's deadline, and then answers with the stage
// reached: the client sends the request again while it is below ACCEPTED and polls for the outcome.
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import { api } from '@kairos/common';
import {
  DeadlineExceededError,
  FailedPreconditionError,
  GrpcCode,
  NotFoundError,
  ResourceExhaustedError,
  ServiceError,
  type ErrorDetail,
} from '../../errors.js';
import { WorkflowExecutionStatus, type UpdateOutcome, type UpdateRequest } from '../../proto-types.js';
import type { NamespaceRecord } from '../../namespace/registry.js';
import type { ExecutionKey } from '../../persistence/store.js';
import { LIMITS } from '../../limits.js';
import { Transition } from '../transition.js';
import type { MutableState } from '../mutable-state.js';
import { isRunning } from '../machines/workflow.js';
import { admitUpdate, continuedAsNew, findUpdate, inFlightUpdateCount, outcomeOfEvent, stageReached, totalUpdateCount, updateStatus } from '../machines/update.js';
import { requireState, resolveRun, WORKFLOW_COMPLETED, WORKFLOW_NOT_FOUND, type HistoryContext } from '../service-context.js';
import { linkedAbort } from '../../linked-abort.js';
import { startWorkflow } from './start-workflow.js';

type UpdateResponse = Loose<temporal.api.workflowservice.v1.IUpdateWorkflowExecutionResponse>;
type PollResponse = Loose<temporal.api.workflowservice.v1.IPollWorkflowExecutionUpdateResponse>;
type StartRequest = Loose<temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest>;
type StartResponse = Loose<temporal.api.workflowservice.v1.IStartWorkflowExecutionResponse>;
type MultiOperationResponse = Loose<temporal.api.workflowservice.v1.IExecuteMultiOperationResponse>;

/** history.longPollExpirationInterval: the longest an update call waits before answering. */
export const UPDATE_LONG_POLL_MS = 20_000;
/** An admitted update of a run that continued as new is tried again on the new run this many times. */
const CONTINUED_RETRIES = 2;
/** Workflow-task attempt from which updates fail fast (updateworkflow/api.go). */
const FAILING_TASK_ATTEMPT = 3;

export const UPDATE_ABORTED_BY_CLOSE = 'workflow update was aborted by closing workflow';

/** What the frontend validated and normalized (the update id is set). */
export interface UpdateCall {
  readonly workflowId: string;
  /** Empty: the current run (and then a run that continued as new is followed). */
  readonly runId: string;
  readonly firstExecutionRunId: string;
  readonly request: UpdateRequest;
  /** UpdateWorkflowExecutionLifecycleStage to wait for (ACCEPTED or COMPLETED). */
  readonly waitStage: number;
}

interface Waited {
  readonly stage: number;
  readonly outcome: UpdateOutcome | null;
}

type WaitResult = { readonly kind: 'reached'; readonly result: Waited } | { readonly kind: 'missing' } | { readonly kind: 'aborted'; readonly continuing: boolean };

function updateIdOf(call: UpdateCall): string {
  return call.request.meta?.updateId ?? '';
}

/** When a wait started now must answer: the long-poll interval, or the caller's deadline if sooner. */
export function waitEndMs(nowMs: number, deadlineMs: number | undefined): number {
  return Math.min(nowMs + UPDATE_LONG_POLL_MS, deadlineMs ?? Number.POSITIVE_INFINITY);
}

function response(key: ExecutionKey, updateId: string, w: Waited): UpdateResponse {
  return {
    updateRef: { workflowExecution: { workflowId: key.workflowId, runId: key.runId }, updateId },
    stage: w.stage,
    outcome: w.outcome,
  };
}

export async function updateWorkflowExecution(ctx: HistoryContext, ns: NamespaceRecord, call: UpdateCall, deadlineMs: number | undefined, signal: AbortSignal): Promise<UpdateResponse> {
  const updateId = updateIdOf(call);
  const endMs = waitEndMs(ctx.engine.clock.now(), deadlineMs);
  for (let attempt = 0; ; attempt++) {
    const key = await resolveRun(ctx, ns.id, call.workflowId, call.runId);
    await admit(ctx, key, call);
    const waited = await waitForUpdate(ctx, key, updateId, call.waitStage, endMs, signal);
    if (waited.kind === 'reached') return response(key, updateId, waited.result);
    if (waited.kind === 'missing') throw new NotFoundError(`update "${updateId}" not found`);
    // Admitted, but the run closed before the workflow saw the update.
    if (!waited.continuing) throw new NotFoundError(UPDATE_ABORTED_BY_CLOSE);
    if (!call.runId && attempt < CONTINUED_RETRIES) continue;
    throw workflowClosingError();
  }
}

/** Temporal's retryable error for an update caught by a run that continues as new (consts.ErrWorkflowClosing). */
function workflowClosingError(): ResourceExhaustedError {
  return new ResourceExhaustedError('workflow operation can not be applied because workflow is closing', resourceExhaustedDetail(api.enums.v1.ResourceExhaustedCause.RESOURCE_EXHAUSTED_CAUSE_BUSY_WORKFLOW));
}

export function resourceExhaustedDetail(cause: number): ErrorDetail {
  return {
    typeName: 'temporal.api.errordetails.v1.ResourceExhaustedFailure',
    value: api.errordetails.v1.ResourceExhaustedFailure.encode({ cause, scope: api.enums.v1.ResourceExhaustedScope.RESOURCE_EXHAUSTED_SCOPE_NAMESPACE }).finish(),
  };
}

/** Whether the run takes the update ('admit') or already has it ('exists'); throws the RPC's error when it cannot. */
export function admissionCheck(state: MutableState, key: ExecutionKey, call: UpdateCall): 'admit' | 'exists' {
  if (call.firstExecutionRunId && state.firstExecutionRunId !== call.firstExecutionRunId) {
    throw new NotFoundError(`${WORKFLOW_NOT_FOUND} for ID: ${key.workflowId}`);
  }
  const existing = findUpdate(state, updateIdOf(call));
  const known = existing !== undefined && existing.phase !== 'rejected';
  if (!isRunning(state)) {
    // A closed run still answers for the updates it had (their outcome, or their abort).
    if (known) return 'exists';
    throw new NotFoundError(WORKFLOW_COMPLETED);
  }
  if (known) return 'exists';
  if ((state.workflowTask?.attempt ?? 1) >= FAILING_TASK_ATTEMPT) {
    throw new FailedPreconditionError('Unable to perform workflow execution update due to Workflow Task in failed state.', {
      typeName: 'temporal.api.errordetails.v1.WorkflowNotReadyFailure',
      value: api.errordetails.v1.WorkflowNotReadyFailure.encode({}).finish(),
    });
  }
  if (inFlightUpdateCount(state) >= LIMITS.maxInFlightUpdates) {
    throw new ResourceExhaustedError(
      `limit on number of concurrent in-flight updates has been reached (${LIMITS.maxInFlightUpdates})`,
      resourceExhaustedDetail(api.enums.v1.ResourceExhaustedCause.RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT),
    );
  }
  if (totalUpdateCount(state) >= LIMITS.maxTotalUpdates) {
    throw new FailedPreconditionError(
      `The limit on the total number of distinct updates in this workflow has been reached (${LIMITS.maxTotalUpdates}). ` +
        'Make sure any duplicate updates share an Update ID so the server can deduplicate them, and consider rejecting updates that you aren\'t going to process. ' +
        'You can also Continue-as-New to avoid this; we recommend you check Continue-as-New Suggested in your Workflow.',
    );
  }
  return 'admit';
}

/** Get-or-create: admits the update unless the run already has one with this id (de-duplication). */
async function admit(ctx: HistoryContext, key: ExecutionKey, call: UpdateCall): Promise<void> {
  await ctx.engine.update(key, (loaded, nowMs) => {
    const state = requireState(loaded, key);
    if (admissionCheck(state, key, call) === 'exists') return { transition: null, value: undefined };
    const t = new Transition(state, nowMs);
    admitUpdate(t, call.request);
    return { transition: t, value: undefined };
  });
}

/**
 * Waits until the update reaches `stage` (or is settled), `endMs` passes, or the caller goes away
 * (DEADLINE_EXCEEDED then, since nobody reads the answer). Re-reads the update after every committed
 * change of the execution; the change listener is registered before each read, so none is missed.
 */
async function waitForUpdate(ctx: HistoryContext, key: ExecutionKey, updateId: string, stage: number, endMs: number, signal: AbortSignal): Promise<WaitResult> {
  const clock = ctx.engine.clock;
  for (;;) {
    // Aborted by the caller, or by this iteration's end (which drops the pending wait).
    const iteration = new AbortController();
    const linked = linkedAbort([signal], iteration);
    try {
      const changed = ctx.engine.waitForChange(key, Math.max(0, endMs - clock.now()), iteration.signal);
      const state = requireState(await ctx.engine.read(key), key);
      const status = updateStatus(state, updateId);
      if (status.kind === 'missing') return { kind: 'missing' };
      if (status.kind === 'aborted') return { kind: 'aborted', continuing: await runContinues(ctx, key, status.closedStatus, state) };
      if (stageReached(status.stage, stage) || clock.now() >= endMs) {
        let outcome = status.outcome;
        if (status.outcomeEventId > 0) outcome = outcomeOfEvent((await ctx.engine.readEvents(key, status.outcomeEventId, status.outcomeEventId + 1))[0]);
        return { kind: 'reached', result: { stage: status.stage, outcome } };
      }
      if (signal.aborted) throw new DeadlineExceededError('update call deadline exceeded');
      await changed;
    } finally {
      linked.dispose();
      iteration.abort();
    }
  }
}

/** Whether a closed run lives on in a newer run of its chain (continue-as-new, or a workflow retry). */
async function runContinues(ctx: HistoryContext, key: ExecutionKey, closedStatus: number, state: MutableState): Promise<boolean> {
  if (continuedAsNew(closedStatus)) return true;
  if (closedStatus !== WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED && closedStatus !== WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT) return false;
  const current = await ctx.engine.store.getCurrentRun(key.namespaceId, key.workflowId);
  if (!current || current.runId === key.runId) return false;
  const next = await ctx.engine.read({ namespaceId: key.namespaceId, workflowId: key.workflowId, runId: current.runId });
  return next !== null && next.firstExecutionRunId === state.firstExecutionRunId;
}

export interface PollCall {
  readonly workflowId: string;
  readonly runId: string;
  readonly updateId: string;
  readonly waitStage: number;
}

export async function pollWorkflowExecutionUpdate(ctx: HistoryContext, ns: NamespaceRecord, call: PollCall, deadlineMs: number | undefined, signal: AbortSignal): Promise<PollResponse> {
  const key = await resolveRun(ctx, ns.id, call.workflowId, call.runId);
  const state = requireState(await ctx.engine.read(key), key);
  if (!findUpdate(state, call.updateId)) throw new NotFoundError(`update "${call.updateId}" not found`);
  const waited = await waitForUpdate(ctx, key, call.updateId, call.waitStage, waitEndMs(ctx.engine.clock.now(), deadlineMs), signal);
  if (waited.kind === 'missing') throw new NotFoundError(`update "${call.updateId}" not found`);
  if (waited.kind === 'aborted') throw new NotFoundError(UPDATE_ABORTED_BY_CLOSE);
  return response(key, call.updateId, waited.result);
}

// ---------------------------------------------------------------- update-with-start

/** An error of one operation of a multi-operation call, or null when that operation succeeded. */
type OperationError = ServiceError | 'aborted' | null;

const MULTI_OPERATION_MESSAGE = 'Update-with-Start could not be executed.';

/**
 * Temporal's MultiOperationExecution error: the status of the first failed operation, with one status
 * per operation in a MultiOperationExecutionFailure detail (the others "aborted").
 */
export function multiOperationError(errors: readonly OperationError[], message = MULTI_OPERATION_MESSAGE): ServiceError {
  const first = errors.find((e): e is ServiceError => e instanceof ServiceError);
  const statuses = errors.map((e) => {
    if (e === null) return { code: GrpcCode.OK, message: '', details: [] };
    if (e === 'aborted') {
      return {
        code: GrpcCode.ABORTED,
        message: 'Operation was aborted.',
        details: [{ type_url: 'type.googleapis.com/temporal.api.failure.v1.MultiOperationExecutionAborted', value: api.failure.v1.MultiOperationExecutionAborted.encode({}).finish() }],
      };
    }
    return { code: e.code, message: e.message, details: e.details ? [{ type_url: `type.googleapis.com/${e.details.typeName}`, value: e.details.value }] : [] };
  });
  return new ServiceError(first?.code ?? GrpcCode.ABORTED, message, {
    typeName: 'temporal.api.errordetails.v1.MultiOperationExecutionFailure',
    value: api.errordetails.v1.MultiOperationExecutionFailure.encode({ statuses }).finish(),
  });
}

function asServiceError(err: unknown): ServiceError {
  if (err instanceof ServiceError) return err;
  throw err;
}

/**
 * Update-with-start: the update goes to the running workflow when the start is a duplicate, the update
 * id is already known there, or the conflict policy is USE_EXISTING; otherwise a new run is started
 * with the update admitted in the same transaction (so its first workflow task carries it).
 */
export async function updateWithStart(
  ctx: HistoryContext,
  ns: NamespaceRecord,
  start: StartRequest,
  call: UpdateCall,
  deadlineMs: number | undefined,
  signal: AbortSignal,
): Promise<MultiOperationResponse> {
  const updateId = updateIdOf(call);
  const endMs = waitEndMs(ctx.engine.clock.now(), deadlineMs);
  for (let attempt = 0; ; attempt++) {
    let startResponse: StartResponse;
    let key: ExecutionKey;
    const current = await ctx.engine.store.getCurrentRun(ns.id, call.workflowId);
    const currentKey = current ? { namespaceId: ns.id, workflowId: call.workflowId, runId: current.runId } : null;
    const existing = currentKey ? await ctx.engine.read(currentKey) : null;
    if (currentKey && existing && attachesToExisting(existing, start, updateId)) {
      key = currentKey;
      try {
        await admit(ctx, key, call);
      } catch (err) {
        throw multiOperationError(['aborted', asServiceError(err)]);
      }
      startResponse = { runId: key.runId, started: false, status: existing.status };
    } else {
      let admittedWithStart = false;
      let outcome: Awaited<ReturnType<typeof startWorkflow>>;
      try {
        outcome = await startWorkflow(ctx, ns, start, undefined, undefined, {
          onNewRun(t) {
            admitUpdate(t, call.request);
            admittedWithStart = true;
          },
        });
      } catch (err) {
        throw multiOperationError([asServiceError(err), 'aborted']);
      }
      key = { namespaceId: ns.id, workflowId: call.workflowId, runId: outcome.runId };
      if (!admittedWithStart) {
        // The workflow was already running (USE_EXISTING, or a duplicate start request).
        try {
          await admit(ctx, key, call);
        } catch (err) {
          throw multiOperationError(['aborted', asServiceError(err)]);
        }
      }
      startResponse = { runId: outcome.runId, started: outcome.started && admittedWithStart, status: WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING };
    }
    let waited: WaitResult;
    try {
      waited = await waitForUpdate(ctx, key, updateId, call.waitStage, endMs, signal);
    } catch (err) {
      throw multiOperationError([null, asServiceError(err)]);
    }
    if (waited.kind === 'reached') {
      return { responses: [{ startWorkflow: startResponse }, { updateWorkflow: response(key, updateId, waited.result) }] };
    }
    if (waited.kind === 'missing') throw multiOperationError([null, new NotFoundError(`update "${updateId}" not found`)]);
    if (!waited.continuing) throw multiOperationError([null, new NotFoundError(UPDATE_ABORTED_BY_CLOSE)]);
    if (attempt < CONTINUED_RETRIES) continue;
    // Retryable for the client, as Temporal answers after its own retry.
    throw multiOperationError([null, new ServiceError(GrpcCode.ABORTED, UPDATE_ABORTED_BY_CLOSE)]);
  }
}

/** Whether update-with-start leaves the current run alone and only updates it. */
function attachesToExisting(existing: MutableState, start: StartRequest, updateId: string): boolean {
  const known = findUpdate(existing, updateId);
  if (!isRunning(existing)) return known !== undefined && known.phase !== 'rejected' && known.phase !== 'admitted';
  if (start.requestId && existing.requestIds.includes(start.requestId)) return true;
  return known !== undefined && known.phase !== 'rejected';
}
