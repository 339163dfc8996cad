// What DescribeNexusOperationExecution, PollNexusOperationExecution and the listing say about a
// standalone Nexus operation, and their long polls: Describe with a token waits for any change after
// the one the token names; Poll waits for the operation to start (STARTED, or closed) or to close.
// Either answers empty when its wait runs out, as Temporal does (the client asks again).
import type { temporal } from '@temporalio/proto';
import { msToDuration, msToTimestamp, type Loose } from '@kairos/common';
import { api } from '@kairos/common';
import type { NamespaceRecord } from '../../namespace/registry.js';
import type { ExecutionListing } from '../../persistence/store.js';
import { ActivityOutcomeCodec, FailureCodec, LinkCodec, PayloadCodec, SearchAttributesCodec, UserMetadataCodec, WorkflowExecutionStatus as Status, type ActivityOutcome } from '../../proto-types.js';
import { isRunning } from '../machines/workflow.js';
import type { MutableState } from '../mutable-state.js';
import { encodeMutableState } from '../state-codec.js';
import type { HistoryContext } from '../service-context.js';
import { decodeLongPollToken, encodeLongPollToken, waitFor, type LongPoll } from '../standalone-activity/describe.js';
import { operationOf, requireOperation, resolveOperationRun } from './ops.js';

type Info = Loose<temporal.api.nexus.v1.INexusOperationExecutionInfo>;
type DescribeResponse = Loose<temporal.api.workflowservice.v1.IDescribeNexusOperationExecutionResponse>;
type PollResponse = Loose<temporal.api.workflowservice.v1.IPollNexusOperationExecutionResponse>;

const OperationStatus = api.enums.v1.NexusOperationExecutionStatus;
const PendingState = api.enums.v1.PendingNexusOperationState;
const WaitStage = api.enums.v1.NexusOperationWaitStage;
const CANCEL_STATE = { '': 0, pending: 0, scheduled: 1, backingOff: 2, succeeded: 3, failed: 4 } as const;

/** A run's WorkflowExecutionStatus (what its row stores and queries compare) as a NexusOperationExecutionStatus. */
export function nexusOperationStatus(status: number): number {
  switch (status) {
    case Status.WORKFLOW_EXECUTION_STATUS_RUNNING:
      return OperationStatus.NEXUS_OPERATION_EXECUTION_STATUS_RUNNING;
    case Status.WORKFLOW_EXECUTION_STATUS_COMPLETED:
      return OperationStatus.NEXUS_OPERATION_EXECUTION_STATUS_COMPLETED;
    case Status.WORKFLOW_EXECUTION_STATUS_FAILED:
      return OperationStatus.NEXUS_OPERATION_EXECUTION_STATUS_FAILED;
    case Status.WORKFLOW_EXECUTION_STATUS_CANCELED:
      return OperationStatus.NEXUS_OPERATION_EXECUTION_STATUS_CANCELED;
    case Status.WORKFLOW_EXECUTION_STATUS_TERMINATED:
      return OperationStatus.NEXUS_OPERATION_EXECUTION_STATUS_TERMINATED;
    case Status.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
      return OperationStatus.NEXUS_OPERATION_EXECUTION_STATUS_TIMED_OUT;
    default:
      return OperationStatus.NEXUS_OPERATION_EXECUTION_STATUS_UNSPECIFIED;
  }
}

export function nexusOperationExecutionInfo(state: MutableState, nowMs: number): Info {
  const standalone = requireOperation(state, state).standaloneNexus;
  const op = operationOf(state);
  const running = isRunning(state);
  const ts = (ms: number) => (ms > 0 ? msToTimestamp(ms) : null);
  const endMs = running ? nowMs : state.closeTimeMs;
  let pending = PendingState.PENDING_NEXUS_OPERATION_STATE_UNSPECIFIED;
  if (running) {
    pending = op.phase === 'started' ? PendingState.PENDING_NEXUS_OPERATION_STATE_STARTED
      : op.phase === 'backingOff' ? PendingState.PENDING_NEXUS_OPERATION_STATE_BACKING_OFF
        : PendingState.PENDING_NEXUS_OPERATION_STATE_SCHEDULED;
  }
  return {
    operationId: state.workflowId,
    runId: state.runId,
    endpoint: op.endpoint,
    service: op.service,
    operation: op.operation,
    status: nexusOperationStatus(state.status),
    state: pending,
    scheduleToCloseTimeout: op.scheduleToCloseMs > 0 ? msToDuration(op.scheduleToCloseMs) : null,
    scheduleToStartTimeout: op.scheduleToStartMs > 0 ? msToDuration(op.scheduleToStartMs) : null,
    startToCloseTimeout: op.startToCloseMs > 0 ? msToDuration(op.startToCloseMs) : null,
    // Temporal counts the attempt in flight; the machine counts those that ended (started, or failed and backing off).
    attempt: op.phase === 'started' || op.phase === 'backingOff' ? op.attempt : op.attempt + 1,
    scheduleTime: msToTimestamp(op.scheduledTimeMs),
    expirationTime: op.scheduleToCloseMs > 0 ? msToTimestamp(op.scheduledTimeMs + op.scheduleToCloseMs) : null,
    closeTime: running ? null : msToTimestamp(state.closeTimeMs),
    lastAttemptCompleteTime: ts(op.lastAttemptCompleteMs),
    lastAttemptFailure: op.lastAttemptFailure ? FailureCodec.decode(op.lastAttemptFailure) : null,
    nextAttemptScheduleTime: running ? ts(op.nextAttemptMs) : null,
    executionDuration: msToDuration(Math.max(0, endMs - op.scheduledTimeMs)),
    cancellationInfo: standalone.cancelRequestId
      ? {
          requestedTime: ts(op.cancelRequestedTimeMs),
          state: CANCEL_STATE[op.cancelPhase],
          attempt: op.cancelAttempt,
          lastAttemptCompleteTime: ts(op.cancelLastAttemptCompleteMs),
          lastAttemptFailure: op.cancelLastFailure ? FailureCodec.decode(op.cancelLastFailure) : null,
          nextAttemptScheduleTime: ts(op.cancelNextAttemptMs),
          blockedReason: '',
          reason: standalone.cancelReason,
        }
      : null,
    blockedReason: '',
    requestId: op.requestId,
    operationToken: op.operationToken,
    stateTransitionCount: state.stateTransitionCount,
    searchAttributes: state.searchAttributes ? SearchAttributesCodec.decode(state.searchAttributes) : {},
    nexusHeader: standalone.nexusHeader ? (JSON.parse(standalone.nexusHeader) as Record<string, string>) : {},
    userMetadata: standalone.userMetadata ? UserMetadataCodec.decode(standalone.userMetadata) : null,
    links: standalone.links.map((bytes) => LinkCodec.decode(bytes)),
    identity: standalone.identity,
    stateSizeBytes: encodeMutableState(state).length,
  };
}

/** The outcome of a closed run (null while running). */
function operationOutcome(state: MutableState): ActivityOutcome | null {
  const outcome = state.standaloneNexus?.outcome;
  if (isRunning(state) || !outcome) return null;
  return ActivityOutcomeCodec.decode(outcome);
}

export interface DescribeRequest {
  readonly operationId: string;
  readonly runId: string;
  readonly includeInput: boolean;
  readonly includeOutcome: boolean;
  readonly longPollToken: Uint8Array | null;
}

export async function describeNexusOperationExecution(ctx: HistoryContext, ns: NamespaceRecord, req: DescribeRequest, poll: LongPoll): Promise<DescribeResponse> {
  const key = await resolveOperationRun(ctx, ns.id, req.operationId, req.runId);
  let state: MutableState = requireOperation(await ctx.engine.read(key), key);
  if (req.longPollToken && req.longPollToken.length > 0) {
    const seen = decodeLongPollToken(req.longPollToken, key.runId);
    const changed = await waitFor(ctx, key, state, poll, (s) => s.stateTransitionCount > seen);
    if (!changed) return {};
    state = changed;
  }
  const outcome = req.includeOutcome ? operationOutcome(state) : null;
  const input = state.standaloneNexus?.input;
  return {
    runId: state.runId,
    info: nexusOperationExecutionInfo(state, ctx.engine.clock.now()),
    input: req.includeInput && input ? PayloadCodec.decode(input) : null,
    result: outcome?.result?.payloads?.[0] ?? null,
    failure: outcome?.failure ?? null,
    longPollToken: encodeLongPollToken(state),
  };
}

/** PollNexusOperationExecution: waits for `waitStage` (STARTED is also reached by a close). */
export async function pollNexusOperationExecution(ctx: HistoryContext, ns: NamespaceRecord, operationId: string, runId: string, waitStage: number, poll: LongPoll): Promise<PollResponse> {
  const key = await resolveOperationRun(ctx, ns.id, operationId, runId);
  const state = requireOperation(await ctx.engine.read(key), key);
  const reached = (s: MutableState) => !isRunning(s) || (waitStage === WaitStage.NEXUS_OPERATION_WAIT_STAGE_STARTED && operationOf(s).phase === 'started');
  const done = await waitFor(ctx, key, state, poll, reached);
  if (!done) return {};
  const closed = !isRunning(done);
  const outcome = closed ? operationOutcome(done) : null;
  return {
    runId: done.runId,
    waitStage: closed ? WaitStage.NEXUS_OPERATION_WAIT_STAGE_CLOSED : WaitStage.NEXUS_OPERATION_WAIT_STAGE_STARTED,
    operationToken: operationOf(done).operationToken,
    result: outcome?.result?.payloads?.[0] ?? null,
    failure: outcome?.failure ?? null,
  };
}

/** One row of ListNexusOperationExecutions, from the run's listing. */
export function nexusOperationListInfo(run: ExecutionListing): Loose<temporal.api.nexus.v1.INexusOperationExecutionListInfo> {
  const s = run.summary;
  return {
    operationId: run.key.workflowId,
    runId: run.key.runId,
    endpoint: s.taskQueue,
    service: s.rootWorkflowId ?? '',
    operation: s.workflowType,
    scheduleTime: msToTimestamp(s.startTimeMs),
    closeTime: s.closeTimeMs === null ? null : msToTimestamp(s.closeTimeMs),
    status: nexusOperationStatus(s.status),
    searchAttributes: s.searchAttributes ? SearchAttributesCodec.decode(s.searchAttributes) : null,
    stateTransitionCount: s.stateTransitionCount,
    executionDuration: s.closeTimeMs === null ? null : msToDuration(s.closeTimeMs - s.startTimeMs),
    stateSizeBytes: s.historySizeBytes,
  };
}
