// The workflow-update state machine (server side of one update of a run).
//
//   (none) --admit--> ADMITTED --accept (worker)--> ACCEPTED --respond (worker)--> COMPLETED
//                        |  ^                                                          ^
//                        |  |__ delivered on a workflow task that failed / timed out __|  (accept and respond
//                        |      (delivered again on the next one)                          may share a task)
//                        |--reject (worker's validator, or not processed by the worker)--> REJECTED
//
// Updates reach the workflow as protocol messages on a workflow task: the pending one, or else a
// speculative one whose events are written only if the worker does more than reject (a task that only
// rejects is discarded without a trace). The request waits in mutable state while admitted, so a
// restart delivers it again. Acceptance and completion are events (WorkflowExecutionUpdateAccepted
// holds the request, WorkflowExecutionUpdateCompleted the outcome), written where the worker's
// PROTOCOL_MESSAGE commands put them. A rejection writes nothing: the rejected entry is kept (only the
// most recent ones) so that the callers waiting for the update can read the rejection.
//
// A run that closes leaves its updates as they are; what a caller then sees is decided when it looks
// (updateStatus): an accepted update fails with AcceptedUpdateCompletedWorkflow, an admitted one is
// aborted (and tried again on the next run when the workflow continued as new or was retried).
import { api } from '@kairos/common';
import type { temporal } from '@temporalio/proto';
import {
  EventType,
  UpdateOutcomeCodec,
  UpdateRequestCodec,
  UpdateStage,
  WorkflowExecutionStatus,
  type Failure,
  type HistoryEvent,
  type ProtocolMessage,
  type UpdateOutcome,
  type UpdateRequest,
} from '../../proto-types.js';
import type { Transition } from '../transition.js';
import type { MutableState, UpdateInfo, WorkflowTaskInfo } from '../mutable-state.js';
import { scheduleWorkflowTask } from './workflow-task.js';
import { isRunning } from './workflow.js';

const UpdatePb = api.update.v1;

/** Rejected updates kept for their callers (oldest dropped first). */
export const KEPT_REJECTIONS = 20;
/** Outcomes up to this size are copied into mutable state; larger ones are read from their event. */
export const INLINE_OUTCOME_BYTES = 16 * 1024;

export const REQUEST_TYPE_URL = 'type.googleapis.com/temporal.api.update.v1.Request';
const ACCEPTANCE_TYPE_URL = 'type.googleapis.com/temporal.api.update.v1.Acceptance';
const REJECTION_TYPE_URL = 'type.googleapis.com/temporal.api.update.v1.Rejection';
const RESPONSE_TYPE_URL = 'type.googleapis.com/temporal.api.update.v1.Response';

/** Temporal's failure for an update the worker neither accepted nor rejected (update/errors_failures.go). */
export const UNPROCESSED_UPDATE_FAILURE: Failure = {
  message: "Workflow Update is rejected because it wasn't processed by worker. Probably, Workflow Update is not supported by the worker.",
  source: 'Server',
  applicationFailureInfo: { type: 'UnprocessedUpdate', nonRetryable: true },
};

/** Temporal's failure for an accepted update whose run closed before it completed. */
export const ACCEPTED_UPDATE_COMPLETED_WORKFLOW_FAILURE: Failure = {
  message: 'Workflow Update failed because the Workflow completed before the Update completed.',
  source: 'Server',
  applicationFailureInfo: { type: 'AcceptedUpdateCompletedWorkflow', nonRetryable: true },
};

/** A protocol message the update machine cannot apply; the caller fails the workflow task with it. */
export class UpdateMessageError extends Error {
  override name = 'UpdateMessageError';
}

export function updatesOf(state: MutableState): Record<string, UpdateInfo> {
  return (state.updates ??= {});
}

/** The update with this id, rejected ones included. */
export function findUpdate(state: MutableState, updateId: string): UpdateInfo | undefined {
  return Object.hasOwn(updatesOf(state), updateId) ? updatesOf(state)[updateId] : undefined;
}

/** Admitted or accepted: what history.maxInFlightUpdates counts. */
export function inFlightUpdateCount(state: MutableState): number {
  return Object.values(updatesOf(state)).filter((u) => u.phase === 'admitted' || u.phase === 'accepted').length;
}

/** Every update of the run except rejected ones: what history.maxTotalUpdates counts. */
export function totalUpdateCount(state: MutableState): number {
  return Object.values(updatesOf(state)).filter((u) => u.phase !== 'rejected').length;
}

/**
 * Admits an update (limits and duplicates are the caller's business) and, when no workflow task is
 * pending, schedules one to deliver it: also while the first task waits for a start delay or a
 * backoff, which the update ends, as in Temporal (the SDK's first activation then holds the update and
 * the start). A rejected update with the same id is replaced: as in Temporal, a rejected update leaves
 * nothing that de-duplicates a new request.
 */
export function admitUpdate(t: Transition, request: UpdateRequest): UpdateInfo {
  const info = recordAdmission(t, request);
  const state = t.state;
  if (isRunning(state) && state.workflowTask === null) scheduleWorkflowTask(t, 1, true);
  return info;
}

function recordAdmission(t: Transition, request: UpdateRequest): UpdateInfo {
  const updates = updatesOf(t.state);
  const updateId = request.meta?.updateId ?? '';
  const seq = Object.values(updates).reduce((max, u) => Math.max(max, u.seq), 0) + 1;
  const info: UpdateInfo = {
    updateId,
    phase: 'admitted',
    seq,
    admittedTimeMs: t.nowMs,
    request: UpdateRequestCodec.encode(request).finish(),
    sentInWft: 0,
    acceptedEventId: 0,
    completedEventId: 0,
    outcome: null,
  };
  delete updates[updateId];
  updates[updateId] = info;
  t.stateChanged = true;
  return info;
}

function admittedInOrder(state: MutableState): UpdateInfo[] {
  return Object.values(updatesOf(state))
    .filter((u) => u.phase === 'admitted')
    .sort((a, b) => a.seq - b.seq);
}

/**
 * Marks the admitted updates the started task carries: all of them, except on a heartbeat task, which
 * carries only requests never delivered before (the worker still holds the others).
 */
export function markUpdatesDelivered(state: MutableState, wft: WorkflowTaskInfo): void {
  for (const u of admittedInOrder(state)) {
    if (!wft.heartbeat || u.sentInWft === 0) u.sentInWft = wft.startedEventId;
  }
}

/** The request messages of the started task (PollWorkflowTaskQueueResponse.messages). */
export function updateRequestMessages(state: MutableState, wft: WorkflowTaskInfo): ProtocolMessage[] {
  const messages: ProtocolMessage[] = [];
  for (const u of admittedInOrder(state)) {
    if (u.sentInWft !== wft.startedEventId || u.request === null) continue;
    messages.push({
      id: `${u.updateId}/request`,
      protocolInstanceId: u.updateId,
      // The worker processes it after the event before WorkflowTaskStarted (update/registry.go).
      eventId: wft.startedEventId - 1,
      body: { type_url: REQUEST_TYPE_URL, value: u.request },
    });
  }
  return messages;
}

/** Admitted updates no workflow task has carried yet: a new task must be scheduled for them. */
export function hasUndeliveredUpdates(state: MutableState): boolean {
  return admittedInOrder(state).some((u) => u.sentInWft === 0);
}

/**
 * After a completion: updates the completed task carried that the worker neither accepted nor
 * rejected are rejected on its behalf, as Temporal does (an SDK that ignores them would otherwise get
 * them again forever). Not after a heartbeat completion, which need not answer them yet.
 */
export function rejectUnprocessedUpdates(t: Transition): string[] {
  const rejected: string[] = [];
  for (const u of admittedInOrder(t.state)) {
    if (u.sentInWft === 0) continue;
    rejectUpdate(t, u, UNPROCESSED_UPDATE_FAILURE);
    rejected.push(u.updateId);
  }
  return rejected;
}

function rejectUpdate(t: Transition, info: UpdateInfo, failure: Failure | null | undefined): void {
  info.phase = 'rejected';
  info.request = null;
  info.outcome = UpdateOutcomeCodec.encode({ failure: failure ?? { message: 'update rejected' } }).finish();
  t.stateChanged = true;
  const updates = updatesOf(t.state);
  const rejected = Object.values(updates)
    .filter((u) => u.phase === 'rejected')
    .sort((a, b) => a.seq - b.seq);
  for (const old of rejected.slice(0, Math.max(0, rejected.length - KEPT_REJECTIONS))) delete updates[old.updateId];
}

// ---------------------------------------------------------------- messages from the worker

type Acceptance = temporal.api.update.v1.Acceptance;
type Rejection = temporal.api.update.v1.Rejection;
type Response = temporal.api.update.v1.Response;

/** True for a worker's Rejection of an update (it writes no event). */
export function isRejectionMessage(message: ProtocolMessage): boolean {
  return message.body?.type_url === REJECTION_TYPE_URL;
}

/**
 * Applies one protocol message of a completion (Acceptance, Rejection or Response). Acceptance and
 * Response write their event now, so a message referenced by a PROTOCOL_MESSAGE command lands in
 * command order. Throws UpdateMessageError for a message that does not fit the update's state.
 */
export function applyUpdateMessage(t: Transition, message: ProtocolMessage): void {
  // A message left for after the commands of a completion that closed the run changes nothing: the
  // run's updates are settled by its close (updateStatus).
  if (!isRunning(t.state)) return;
  const updateId = message.protocolInstanceId ?? '';
  if (!updateId) throw new UpdateMessageError(`invalid protocol message ${message.id ?? ''}: protocol_instance_id is not set`);
  const body = message.body;
  const value = body?.value ?? new Uint8Array();
  switch (body?.type_url) {
    case ACCEPTANCE_TYPE_URL:
      return onAcceptance(t, updateId, UpdatePb.Acceptance.decode(value));
    case REJECTION_TYPE_URL:
      return onRejection(t, updateId, UpdatePb.Rejection.decode(value));
    case RESPONSE_TYPE_URL:
      return onResponse(t, updateId, UpdatePb.Response.decode(value));
    default:
      throw new UpdateMessageError(`unsupported protocol message body type "${body?.type_url ?? ''}" in message ${message.id ?? ''}`);
  }
}

/**
 * The update a worker message is about. An update the server no longer knows (it was rejected as
 * unprocessed, or its rejection was forgotten) is admitted again from the request the message echoes,
 * as Temporal "resurrects" it.
 */
function updateForMessage(t: Transition, updateId: string, echoed: UpdateRequest | null | undefined): UpdateInfo {
  const info = findUpdate(t.state, updateId);
  if (info && info.phase !== 'rejected') return info;
  if (echoed?.meta?.updateId === updateId && echoed.input?.name) return recordAdmission(t, echoed);
  throw new UpdateMessageError(`update ${updateId} wasn't found on the server`);
}

function onAcceptance(t: Transition, updateId: string, acceptance: Acceptance): void {
  const info = updateForMessage(t, updateId, acceptance.acceptedRequest);
  if (info.phase !== 'admitted') throw new UpdateMessageError(`invalid Acceptance for update ${updateId}: the update is already ${info.phase}`);
  const sequencingEventId = Number(acceptance.acceptedRequestSequencingEventId ?? 0);
  if (sequencingEventId === 0) throw new UpdateMessageError(`invalid Acceptance for update ${updateId}: accepted_request_sequencing_event_id is not set`);
  if (!acceptance.acceptedRequestMessageId) throw new UpdateMessageError(`invalid Acceptance for update ${updateId}: accepted_request_message_id is not set`);
  const request = info.request ? UpdateRequestCodec.decode(info.request) : (acceptance.acceptedRequest ?? null);
  const ev = t.addEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, 'workflowExecutionUpdateAcceptedEventAttributes', {
    protocolInstanceId: updateId,
    acceptedRequestMessageId: `${updateId}/request`,
    acceptedRequestSequencingEventId: sequencingEventId,
    acceptedRequest: request,
  });
  info.phase = 'accepted';
  info.acceptedEventId = Number(ev.eventId);
  info.request = null;
}

function onRejection(t: Transition, updateId: string, rejection: Rejection): void {
  const info = findUpdate(t.state, updateId);
  // Rejecting an update the server does not hold changes nothing (it may have been rejected already).
  if (!info || info.phase === 'rejected') return;
  if (info.phase !== 'admitted') throw new UpdateMessageError(`invalid Rejection for update ${updateId}: the update is already ${info.phase}`);
  rejectUpdate(t, info, rejection.failure);
}

function onResponse(t: Transition, updateId: string, response: Response): void {
  const info = findUpdate(t.state, updateId);
  if (!info || info.phase !== 'accepted') {
    throw new UpdateMessageError(`invalid Response for update ${updateId}: the update is ${info ? info.phase : 'unknown'}, not accepted`);
  }
  if (response.meta?.updateId !== updateId) throw new UpdateMessageError(`invalid Response for update ${updateId}: meta.update_id is ${response.meta?.updateId ?? 'not set'}`);
  if (!response.outcome) throw new UpdateMessageError(`invalid Response for update ${updateId}: outcome is not set`);
  const ev = t.addEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, 'workflowExecutionUpdateCompletedEventAttributes', {
    meta: response.meta,
    outcome: response.outcome,
    acceptedEventId: info.acceptedEventId,
  });
  const outcome = UpdateOutcomeCodec.encode(response.outcome).finish();
  info.phase = 'completed';
  info.completedEventId = Number(ev.eventId);
  info.outcome = outcome.length <= INLINE_OUTCOME_BYTES ? outcome : null;
}

// ---------------------------------------------------------------- what callers see

export type UpdateStatus =
  | { readonly kind: 'missing' }
  /** Admitted in a run that closed: aborted; `continuing` when the run continued as new or was retried. */
  | { readonly kind: 'aborted'; readonly closedStatus: number }
  | {
      readonly kind: 'stage';
      /** UpdateWorkflowExecutionLifecycleStage reached. */
      readonly stage: number;
      readonly outcome: UpdateOutcome | null;
      /** Set when the outcome must be read from this WorkflowExecutionUpdateCompleted event. */
      readonly outcomeEventId: number;
    };

export function updateStatus(state: MutableState, updateId: string): UpdateStatus {
  const info = findUpdate(state, updateId);
  if (!info) return { kind: 'missing' };
  const running = isRunning(state);
  switch (info.phase) {
    case 'admitted':
      if (!running) return { kind: 'aborted', closedStatus: state.status };
      return { kind: 'stage', stage: UpdateStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED, outcome: null, outcomeEventId: 0 };
    case 'accepted':
      if (running) return { kind: 'stage', stage: UpdateStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED, outcome: null, outcomeEventId: 0 };
      return { kind: 'stage', stage: UpdateStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED, outcome: { failure: ACCEPTED_UPDATE_COMPLETED_WORKFLOW_FAILURE }, outcomeEventId: 0 };
    case 'completed':
    case 'rejected':
      return {
        kind: 'stage',
        stage: UpdateStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED,
        outcome: info.outcome ? UpdateOutcomeCodec.decode(info.outcome) : null,
        outcomeEventId: info.outcome ? 0 : info.completedEventId,
      };
  }
}

/** The outcome carried by a WorkflowExecutionUpdateCompleted event. */
export function outcomeOfEvent(event: HistoryEvent | undefined): UpdateOutcome | null {
  return event?.workflowExecutionUpdateCompletedEventAttributes?.outcome ?? null;
}

/** True for a closed run that lives on in a new run of the same chain (continue-as-new). */
export function continuedAsNew(closedStatus: number): boolean {
  return closedStatus === WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW;
}

/** Whether `reached` satisfies the wait policy's stage (UNSPECIFIED/ADMITTED: whatever is reached now). */
export function stageReached(reached: number, wanted: number): boolean {
  if (wanted <= UpdateStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED) return true;
  return reached >= wanted;
}
