// Standalone Nexus operations (StartNexusOperationExecution and the calls about one operation): start
// with Temporal's id reuse and conflict policies, cancel, terminate and delete. The operation itself runs
// on the operation machine (machines/nexus-operation.ts), exactly as a workflow's does: start attempts
// as Nexus tasks, retries and backoff, timeouts, the handler's async start, completion callbacks, and a
// cancel sent to the handler once the operation has started.
import { randomUUID } from 'node:crypto';
import { api } from '@kairos/common';
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from '../../errors.js';
import type { NamespaceRecord } from '../../namespace/registry.js';
import type { ExecutionKey } from '../../persistence/store.js';
import { PayloadCodec, type Payload } from '../../proto-types.js';
import { newRunState, type MutableState, type NexusOperationInfo, type StandaloneNexusOperation } from '../mutable-state.js';
import { Transition } from '../transition.js';
import { armNexusOperation, newNexusOperationInfo, requestNexusCancel, type NexusTimeouts } from '../machines/nexus-operation.js';
import { isRunning } from '../machines/workflow.js';
import type { HistoryContext } from '../service-context.js';
import { nexusOperationKeySpace } from '../standalone-activity/key-space.js';
import { deleteStandaloneRun, startStandaloneRun, terminateStandaloneRun, type StandaloneKind } from '../standalone-activity/start-run.js';
import { STANDALONE_NEXUS_SLOT, terminateStandaloneNexus } from './close.js';


type Standalone = MutableState & { standaloneNexus: StandaloneNexusOperation };

/** A validated, normalized StartNexusOperationExecution. */
export interface StartNexusOperation {
  readonly operationId: string;
  readonly requestId: string;
  readonly endpoint: string;
  readonly endpointId: string;
  readonly service: string;
  readonly operation: string;
  readonly timeouts: NexusTimeouts;
  readonly input: Payload | null;
  /** Keys lower-cased. */
  readonly nexusHeader: Record<string, string>;
  readonly identity: string;
  readonly reusePolicy: number;
  readonly conflictPolicy: number;
  /** Encoded SearchAttributes / UserMetadata, or null. */
  readonly searchAttributes: Uint8Array | null;
  readonly userMetadata: Uint8Array | null;
}

export interface StartedNexusOperation {
  readonly runId: string;
  readonly started: boolean;
}

/** Temporal's NOT_FOUND text for an operation id or run it does not know (or no longer has). */
export function nexusOperationNotFound(operationId: string): NotFoundError {
  return new NotFoundError(`operation not found for ID: ${operationId}`);
}

export async function startNexusOperationExecution(ctx: HistoryContext, ns: NamespaceRecord, start: StartNexusOperation): Promise<StartedNexusOperation> {
  const space = nexusOperationKeySpace(ns.id);
  return startStandaloneRun(ctx, space, start.operationId, start, { newRun: (nowMs) => newOperationRun(space, start, nowMs), alreadyStarted });
}

/** The new run's first transition: its operation scheduled, its first start attempt due at once. */
function newOperationRun(space: string, start: StartNexusOperation, nowMs: number): Transition {
  const runId = randomUUID();
  const state = newRunState({
    namespaceId: space,
    workflowId: start.operationId,
    runId,
    firstExecutionRunId: runId,
    // The listing's type and queue columns hold the operation and the endpoint (list queries name them so).
    workflowType: start.operation,
    taskQueue: start.endpoint,
    startTimeMs: nowMs,
    executionTimeMs: nowMs,
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
    priorityKey: 0,
    standaloneNexus: {
      outcome: null,
      input: start.input ? PayloadCodec.encode(start.input).finish() : null,
      nexusHeader: Object.keys(start.nexusHeader).length > 0 ? JSON.stringify(start.nexusHeader) : '',
      userMetadata: start.userMetadata,
      identity: start.identity,
      links: [],
      cancelRequestId: '',
      cancelIdentity: '',
      cancelReason: '',
      terminateRequestId: '',
    },
  });
  const t = new Transition(state, nowMs);
  // As Temporal: the operation's own request id (what the handler sees, and its callback names) is new.
  const info = newNexusOperationInfo(STANDALONE_NEXUS_SLOT, nowMs, {
    endpoint: start.endpoint,
    endpointId: start.endpointId,
    service: start.service,
    operation: start.operation,
    requestId: randomUUID(),
  }, start.timeouts);
  state.nexusOperations = { [STANDALONE_NEXUS_SLOT]: info };
  armNexusOperation(t, info);
  t.stateChanged = true;
  return t;
}

function alreadyStarted(state: MutableState): AlreadyExistsError {
  return new AlreadyExistsError(`nexus operation execution already started: request_id=${state.startRequestId}, run_id=${state.runId}`, {
    typeName: 'temporal.api.errordetails.v1.NexusOperationExecutionAlreadyStartedFailure',
    value: api.errordetails.v1.NexusOperationExecutionAlreadyStartedFailure.encode({ startRequestId: state.startRequestId, runId: state.runId }).finish(),
  });
}

export interface OperationTarget {
  readonly operationId: string;
  readonly runId?: string | null;
}

export interface ControlRequest extends OperationTarget {
  readonly requestId: string;
  readonly identity: string;
  readonly reason: string;
}

/** The run a request names: `runId`, or the operation id's latest run when empty. NOT_FOUND when there is none. */
export async function resolveOperationRun(ctx: HistoryContext, namespaceId: string, operationId: string, runId: string | null | undefined): Promise<ExecutionKey> {
  const space = nexusOperationKeySpace(namespaceId);
  if (runId) return { namespaceId: space, workflowId: operationId, runId };
  const current = await ctx.engine.store.getCurrentRun(space, operationId);
  if (!current) throw nexusOperationNotFound(operationId);
  return { namespaceId: space, workflowId: operationId, runId: current.runId };
}

/** The run's state, or NOT_FOUND (also for a run id of another kind of execution). */
export function requireOperation(state: MutableState | null, key: ExecutionKey): Standalone {
  if (!state?.standaloneNexus) throw nexusOperationNotFound(key.workflowId);
  return state as Standalone;
}

export function operationOf(state: MutableState): NexusOperationInfo {
  const info = state.nexusOperations?.[STANDALONE_NEXUS_SLOT];
  if (!info) throw new Error(`standalone Nexus operation ${state.workflowId} has no operation`);
  return info;
}

/**
 * RequestCancelNexusOperationExecution: recorded, and sent to the handler once the operation has started
 * (at once when it has). The operation closes as canceled when its handler says so, through the
 * completion of what backs it; until then it stays running.
 */
export async function requestCancelNexusOperationExecution(ctx: HistoryContext, ns: NamespaceRecord, req: ControlRequest): Promise<void> {
  const key = await resolveOperationRun(ctx, ns.id, req.operationId, req.runId);
  await ctx.engine.update(key, (loaded, nowMs) => {
    const state = requireOperation(loaded, key);
    const standalone = state.standaloneNexus;
    if (standalone.cancelRequestId === req.requestId) return { transition: null, value: undefined };
    if (!isRunning(state)) throw new FailedPreconditionError('operation already completed');
    if (standalone.cancelRequestId) throw new FailedPreconditionError(`cancellation already requested with request ID ${standalone.cancelRequestId}`);
    const t = new Transition(state, nowMs);
    standalone.cancelRequestId = req.requestId;
    standalone.cancelIdentity = req.identity;
    standalone.cancelReason = req.reason;
    const info = operationOf(state);
    info.cancelRequestedTimeMs = nowMs;
    requestNexusCancel(t, info);
    return { transition: t, value: undefined };
  });
}

/** A standalone Nexus operation as terminate and delete handle it (standalone-activity/start-run.ts). */
const OPERATION_KIND: StandaloneKind<Standalone> = {
  require: requireOperation,
  terminateRequestId: (state) => state.standaloneNexus.terminateRequestId,
  terminate: (t, state, requestId, reason, identity) => {
    state.standaloneNexus.terminateRequestId = requestId;
    terminateStandaloneNexus(t, state.standaloneNexus, operationOf(state), reason, identity);
  },
};

/** TerminateNexusOperationExecution: closes the run at once; the handler is not told. */
export async function terminateNexusOperationExecution(ctx: HistoryContext, ns: NamespaceRecord, req: ControlRequest): Promise<void> {
  await terminateStandaloneRun(ctx, await resolveOperationRun(ctx, ns.id, req.operationId, req.runId), OPERATION_KIND, req);
}

/** DeleteNexusOperationExecution: a running operation is terminated first; then the run and its listing go. */
export async function deleteNexusOperationExecution(ctx: HistoryContext, ns: NamespaceRecord, req: OperationTarget): Promise<void> {
  await deleteStandaloneRun(ctx, await resolveOperationRun(ctx, ns.id, req.operationId, req.runId), OPERATION_KIND, 'Delete nexus operation execution');
}
