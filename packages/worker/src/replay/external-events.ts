// Routes the history events of child workflows and of requests to other workflows (signal, cancel)
// to activation jobs, by the initiated event id their command produced.
import type { temporal } from '@temporalio/proto';
import { int64ToNumber, type ActivationJob, type ProtoFailure, type WorkflowCommand } from '@kairos/sdk-common';
import { childFailure, type InitiatedChild } from './failures.js';
import type { RunIdentity } from './history-replayer.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export class ExternalEventRouter {
  private readonly children = new Map<number, InitiatedChild>();
  private readonly cancelRequests = new Map<number, number>();
  private readonly signalRequests = new Map<number, number>();

  constructor(
    private readonly run: RunIdentity,
    private readonly unknownTarget: (event: HistoryEvent, what: string) => Error,
  ) {}

  /** Remembers which command an initiated event came from. */
  recordCommand(command: WorkflowCommand, event: HistoryEvent, eventId: number): void {
    if (command.kind === 'startChild') {
      const namespace = event.startChildWorkflowExecutionInitiatedEventAttributes?.namespace || this.run.namespace;
      this.children.set(eventId, { seq: command.seq, workflowId: command.workflowId, workflowType: command.workflowType, namespace, initiatedEventId: eventId });
    } else if (command.kind === 'requestCancelExternal') {
      this.cancelRequests.set(eventId, command.seq);
    } else if (command.kind === 'signalExternal') {
      this.signalRequests.set(eventId, command.seq);
    }
  }

  /** The job for an event of a child workflow or of a signal/cancel request; undefined for other events. */
  jobFor(event: HistoryEvent): ActivationJob | undefined {
    const started = event.childWorkflowExecutionStartedEventAttributes;
    if (started) {
      const child = this.childOf(event, started.initiatedEventId);
      return { kind: 'resolveChildStart', seq: child.seq, resolution: { status: 'started', runId: started.workflowExecution?.runId ?? '' } };
    }
    const startFailed = event.startChildWorkflowExecutionFailedEventAttributes;
    if (startFailed) {
      const child = this.childOf(event, startFailed.initiatedEventId);
      const cause = startFailed.cause === 1 ? 'alreadyStarted' : startFailed.cause === 2 ? 'namespaceNotFound' : 'unknown';
      return { kind: 'resolveChildStart', seq: child.seq, resolution: { status: 'failed', cause, workflowId: child.workflowId, workflowType: child.workflowType } };
    }
    const completed = event.childWorkflowExecutionCompletedEventAttributes;
    if (completed) {
      const child = this.childOf(event, completed.initiatedEventId);
      return { kind: 'resolveChild', seq: child.seq, resolution: { status: 'completed', result: completed.result?.payloads?.[0] } };
    }
    const closed =
      event.childWorkflowExecutionFailedEventAttributes ??
      event.childWorkflowExecutionCanceledEventAttributes ??
      event.childWorkflowExecutionTimedOutEventAttributes ??
      event.childWorkflowExecutionTerminatedEventAttributes;
    if (closed) {
      const child = this.childOf(event, closed.initiatedEventId);
      const failed = event.childWorkflowExecutionFailedEventAttributes;
      const cancelled = event.childWorkflowExecutionCanceledEventAttributes;
      const timedOut = event.childWorkflowExecutionTimedOutEventAttributes;
      const cause: ProtoFailure = failed?.failure
        ? failed.failure
        : cancelled
          ? { message: 'Child Workflow cancelled', canceledFailureInfo: { details: cancelled.details ?? null } }
          : timedOut
            ? { message: 'Child Workflow timed out', timeoutFailureInfo: { timeoutType: 1 } }
            : { message: 'Child Workflow terminated', terminatedFailureInfo: {} };
      const retryState = failed?.retryState ?? timedOut?.retryState ?? 0;
      const failure = childFailure(child, closed.workflowExecution, closed.startedEventId, retryState, cause);
      return { kind: 'resolveChild', seq: child.seq, resolution: { status: cancelled ? 'cancelled' : 'failed', failure } };
    }
    const cancelRequested = event.externalWorkflowExecutionCancelRequestedEventAttributes;
    const cancelFailed = event.requestCancelExternalWorkflowExecutionFailedEventAttributes;
    const request = cancelRequested ?? cancelFailed;
    if (request) {
      const seq = this.cancelRequests.get(int64ToNumber(request.initiatedEventId));
      if (seq === undefined) throw this.unknownTarget(event, `cancellation request ${int64ToNumber(request.initiatedEventId)}`);
      const failure: ProtoFailure | undefined = cancelFailed
        ? { message: 'Unable to cancel external workflow because not found', applicationFailureInfo: { type: 'ExternalWorkflowExecutionNotFound' } }
        : undefined;
      return { kind: 'resolveRequestCancelExternal', seq, failure };
    }
    const signalled = event.externalWorkflowExecutionSignaledEventAttributes;
    const signalFailed = event.signalExternalWorkflowExecutionFailedEventAttributes;
    const signal = signalled ?? signalFailed;
    if (signal) {
      const seq = this.signalRequests.get(int64ToNumber(signal.initiatedEventId));
      if (seq === undefined) throw this.unknownTarget(event, `signal request ${int64ToNumber(signal.initiatedEventId)}`);
      const failure: ProtoFailure | undefined = signalFailed
        ? { message: 'Unable to signal external workflow because not found', applicationFailureInfo: { type: 'ExternalWorkflowExecutionNotFound' } }
        : undefined;
      return { kind: 'resolveSignalExternal', seq, failure };
    }
    return undefined;
  }

  private childOf(event: HistoryEvent, initiatedEventId: Parameters<typeof int64ToNumber>[0] | undefined): InitiatedChild {
    const child = this.children.get(int64ToNumber(initiatedEventId));
    if (child === undefined) throw this.unknownTarget(event, `child workflow initiated by event ${int64ToNumber(initiatedEventId)}`);
    return child;
  }
}
