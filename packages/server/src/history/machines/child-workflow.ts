// Child workflows and signals/cancels to other executions, seen from the run that issued them.
//
// Child:   INITIATED --child run created--> STARTED --child run closed--> (close event written)
//              |--id already in use--> StartChildWorkflowExecutionFailed
// External signal/cancel: INITIATED --delivered--> ExternalWorkflowExecutionSignaled/CancelRequested
//              |--target not found--> SignalExternal.../RequestCancelExternal...Failed
//
// The cross-execution steps run as transfer tasks (timers due at once) after the initiating
// transition committed; the functions here are their pure effects on this run.
import { EventType, HistoryEventCodec, type HistoryEvent } from '../../proto-types.js';
import { api } from '@kairos/common';
import type { Transition } from '../transition.js';
import type { ChildInfo } from '../mutable-state.js';
import { addExternalEvent } from './workflow-task.js';

const InitiatedChild = api.history.v1.StartChildWorkflowExecutionInitiatedEventAttributes;
export type ChildInitiatedAttributes = NonNullable<HistoryEvent['startChildWorkflowExecutionInitiatedEventAttributes']>;
type SignalInitiated = NonNullable<HistoryEvent['signalExternalWorkflowExecutionInitiatedEventAttributes']>;
type CancelInitiated = NonNullable<HistoryEvent['requestCancelExternalWorkflowExecutionInitiatedEventAttributes']>;

/** A child as its StartChildWorkflowExecutionInitiated event describes it, before it started. */
export function childInfoOf(initiatedEventId: number, attrs: ChildInitiatedAttributes, defaultNamespaceId = ''): ChildInfo {
  return {
    initiatedEventId,
    namespaceId: attrs.namespaceId || defaultNamespaceId,
    namespace: attrs.namespace ?? '',
    workflowId: attrs.workflowId ?? '',
    workflowType: attrs.workflowType?.name ?? '',
    runId: '',
    startedEventId: 0,
    started: false,
    parentClosePolicy: attrs.parentClosePolicy ?? 0,
    initiatedAttributes: HistoryEventCodec.encode({ startChildWorkflowExecutionInitiatedEventAttributes: attrs }).finish(),
  };
}

export function initiateChild(t: Transition, attrs: ChildInitiatedAttributes): ChildInfo {
  const ev = t.addEvent(EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED, 'startChildWorkflowExecutionInitiatedEventAttributes', attrs);
  const initiatedEventId = Number(ev.eventId);
  const info = childInfoOf(initiatedEventId, attrs);
  t.state.children[initiatedEventId] = info;
  t.addTimer(t.nowMs, { kind: 'startChild', initiatedEventId });
  return info;
}

export function decodeChildInitiated(info: ChildInfo): ChildInitiatedAttributes {
  const event = HistoryEventCodec.decode(info.initiatedAttributes);
  return event.startChildWorkflowExecutionInitiatedEventAttributes ?? InitiatedChild.create();
}

function childRef(info: ChildInfo): { namespace: string; namespaceId: string; workflowExecution: { workflowId: string; runId: string }; workflowType: { name: string }; initiatedEventId: number } {
  return {
    namespace: info.namespace,
    namespaceId: info.namespaceId,
    workflowExecution: { workflowId: info.workflowId, runId: info.runId },
    workflowType: { name: info.workflowType },
    initiatedEventId: info.initiatedEventId,
  };
}

/** The child's first run exists. */
export function recordChildStarted(t: Transition, info: ChildInfo, runId: string): void {
  info.runId = runId;
  info.started = true;
  const attrs = decodeChildInitiated(info);
  const before = t.events.length;
  addExternalEvent(t, EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED, 'childWorkflowExecutionStartedEventAttributes', { ...childRef(info), header: attrs.header ?? null }, { scheduledEventId: info.initiatedEventId });
  const written = t.events.slice(before).find((e) => e.eventType === EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED);
  if (written) info.startedEventId = Number(written.eventId);
  t.stateChanged = true;
}

export function recordChildStartFailed(t: Transition, info: ChildInfo, cause: number): void {
  const attrs = decodeChildInitiated(info);
  addExternalEvent(t, EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED, 'startChildWorkflowExecutionFailedEventAttributes', {
    namespace: info.namespace,
    namespaceId: info.namespaceId,
    workflowId: info.workflowId,
    workflowType: { name: info.workflowType },
    cause,
    control: attrs.control ?? '',
    initiatedEventId: info.initiatedEventId,
    workflowTaskCompletedEventId: attrs.workflowTaskCompletedEventId ?? 0,
  });
  delete t.state.children[info.initiatedEventId];
}

export type ChildOutcome =
  | { kind: 'completed'; event: NonNullable<HistoryEvent['workflowExecutionCompletedEventAttributes']> }
  | { kind: 'failed'; event: NonNullable<HistoryEvent['workflowExecutionFailedEventAttributes']> }
  | { kind: 'canceled'; event: NonNullable<HistoryEvent['workflowExecutionCanceledEventAttributes']> }
  | { kind: 'timedOut'; event: NonNullable<HistoryEvent['workflowExecutionTimedOutEventAttributes']> }
  | { kind: 'terminated' };

/** The child's chain closed: writes its close event (the Started one first if it was never written). */
export function recordChildClosed(t: Transition, info: ChildInfo, outcome: ChildOutcome): void {
  if (!info.started) recordChildStarted(t, info, info.runId);
  const ref = { ...childRef(info), startedEventId: info.startedEventId };
  const meta = { scheduledEventId: info.initiatedEventId };
  switch (outcome.kind) {
    case 'completed':
      addExternalEvent(t, EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED, 'childWorkflowExecutionCompletedEventAttributes', { ...ref, result: outcome.event.result ?? null }, meta);
      break;
    case 'failed':
      addExternalEvent(t, EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED, 'childWorkflowExecutionFailedEventAttributes', { ...ref, failure: outcome.event.failure ?? null, retryState: outcome.event.retryState ?? 0 }, meta);
      break;
    case 'canceled':
      addExternalEvent(t, EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED, 'childWorkflowExecutionCanceledEventAttributes', { ...ref, details: outcome.event.details ?? null }, meta);
      break;
    case 'timedOut':
      addExternalEvent(t, EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT, 'childWorkflowExecutionTimedOutEventAttributes', { ...ref, retryState: outcome.event.retryState ?? 0 }, meta);
      break;
    case 'terminated':
      addExternalEvent(t, EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED, 'childWorkflowExecutionTerminatedEventAttributes', ref, meta);
      break;
  }
  delete t.state.children[info.initiatedEventId];
}

export function initiateSignalExternal(t: Transition, attrs: SignalInitiated): void {
  initiateExternal(t, 'signal', t.addEvent(EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, 'signalExternalWorkflowExecutionInitiatedEventAttributes', attrs), {
    signalExternalWorkflowExecutionInitiatedEventAttributes: attrs,
  });
}

export function initiateCancelExternal(t: Transition, attrs: CancelInitiated): void {
  initiateExternal(t, 'cancel', t.addEvent(EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, 'requestCancelExternalWorkflowExecutionInitiatedEventAttributes', attrs), {
    requestCancelExternalWorkflowExecutionInitiatedEventAttributes: attrs,
  });
}

/** Remembers the request until its delivery is acknowledged, and schedules the delivery. */
function initiateExternal(t: Transition, kind: 'signal' | 'cancel', initiated: HistoryEvent, attributes: HistoryEvent): void {
  const initiatedEventId = Number(initiated.eventId);
  t.state.externalRequests[initiatedEventId] = { initiatedEventId, kind, initiatedAttributes: HistoryEventCodec.encode(attributes).finish() };
  t.addTimer(t.nowMs, { kind: 'externalRequest', initiatedEventId });
}

/** The external request was delivered (`runId`: the run that got it) or its target was not found. */
export function recordExternalRequestOutcome(t: Transition, initiatedEventId: number, delivered: { runId: string } | null): void {
  const info = t.state.externalRequests[initiatedEventId];
  if (!info) return;
  const event = HistoryEventCodec.decode(info.initiatedAttributes);
  const common = { initiatedEventId, meta: { scheduledEventId: initiatedEventId } };
  if (info.kind === 'signal') {
    const a = event.signalExternalWorkflowExecutionInitiatedEventAttributes!;
    const execution = { workflowId: a.workflowExecution?.workflowId ?? '', runId: delivered?.runId ?? a.workflowExecution?.runId ?? '' };
    if (delivered) {
      addExternalEvent(t, EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED, 'externalWorkflowExecutionSignaledEventAttributes', {
        initiatedEventId, namespace: a.namespace ?? '', namespaceId: a.namespaceId ?? '', workflowExecution: execution, control: a.control ?? '',
      }, common.meta);
    } else {
      addExternalEvent(t, EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED, 'signalExternalWorkflowExecutionFailedEventAttributes', {
        cause: 1 /* EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND */, workflowTaskCompletedEventId: a.workflowTaskCompletedEventId ?? 0,
        namespace: a.namespace ?? '', namespaceId: a.namespaceId ?? '', workflowExecution: execution, initiatedEventId, control: a.control ?? '',
      }, common.meta);
    }
  } else {
    const a = event.requestCancelExternalWorkflowExecutionInitiatedEventAttributes!;
    const execution = { workflowId: a.workflowExecution?.workflowId ?? '', runId: delivered?.runId ?? a.workflowExecution?.runId ?? '' };
    if (delivered) {
      addExternalEvent(t, EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED, 'externalWorkflowExecutionCancelRequestedEventAttributes', {
        initiatedEventId, namespace: a.namespace ?? '', namespaceId: a.namespaceId ?? '', workflowExecution: execution,
      }, common.meta);
    } else {
      addExternalEvent(t, EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED, 'requestCancelExternalWorkflowExecutionFailedEventAttributes', {
        cause: 1 /* EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND */, workflowTaskCompletedEventId: a.workflowTaskCompletedEventId ?? 0,
        namespace: a.namespace ?? '', namespaceId: a.namespaceId ?? '', workflowExecution: execution, initiatedEventId, control: a.control ?? '',
      }, common.meta);
    }
  }
  delete t.state.externalRequests[initiatedEventId];
}
