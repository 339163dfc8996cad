// How a standalone activity's run closes. The activity machine (machines/activity.ts) decides when an
// activity closes and how, for workflow activities and standalone ones alike; a workflow activity then
// writes its close events and wakes its workflow, a standalone one closes its run here with the outcome
// a caller of PollActivityExecution gets.
import { ActivityOutcomeCodec, EventType, WorkflowExecutionStatus as Status, type ActivityOutcome, type Failure, type Payloads } from '../../proto-types.js';
import type { ActivityInfo, StandaloneActivity } from '../mutable-state.js';
import type { Transition } from '../transition.js';
import { scheduleCallbacks } from '../machines/callbacks.js';

/** What closed the activity: the close event's type and the parts of its attributes that matter here. */
export interface StandaloneClose {
  readonly eventType: number;
  readonly result?: Payloads | null;
  readonly failure?: Failure | null;
  readonly details?: Payloads | null;
  readonly identity?: string | null;
  /** Why a failed or timed-out activity was not retried (RetryState). */
  readonly retryState?: number | null;
}

/** Closes a standalone activity's run: its status, its outcome, its timers. The ActivityInfo stays, for describe. */
export function closeStandaloneActivity(t: Transition, standalone: StandaloneActivity, info: ActivityInfo, close: StandaloneClose): void {
  let status: number;
  let outcome: ActivityOutcome;
  switch (close.eventType) {
    case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
      status = Status.WORKFLOW_EXECUTION_STATUS_COMPLETED;
      outcome = { result: close.result ?? {} };
      break;
    case EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
      status = Status.WORKFLOW_EXECUTION_STATUS_CANCELED;
      // As Temporal: the identity is the cancel requester's, not the worker's that acknowledged it.
      outcome = { failure: canceledFailure(close.details ?? null, standalone.cancelIdentity) };
      break;
    case EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
      status = Status.WORKFLOW_EXECUTION_STATUS_TIMED_OUT;
      outcome = { failure: (close.failure ?? { message: 'activity timed out' }) };
      break;
    default:
      status = Status.WORKFLOW_EXECUTION_STATUS_FAILED;
      outcome = { failure: (close.failure ?? { message: 'activity task failed without failure details' }) };
  }
  if (close.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED || close.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED) {
    standalone.lastAttemptCompleteMs = t.nowMs;
    standalone.lastWorkerIdentity = close.identity ?? '';
  }
  closeRun(t, info, standalone, status, ActivityOutcomeCodec.encode(outcome).finish());
}

/** TerminateActivityExecution: the outcome is a terminated failure whose message is the reason. */
export function terminateStandaloneActivity(t: Transition, standalone: StandaloneActivity, info: ActivityInfo, reason: string, identity: string): void {
  const failure = { message: reason, terminatedFailureInfo: { identity } };
  closeRun(t, info, standalone, Status.WORKFLOW_EXECUTION_STATUS_TERMINATED, ActivityOutcomeCodec.encode({ failure }).finish());
}

/** The canceled failure of a standalone activity's outcome. */
export function canceledFailure(details: Payloads | null, identity: string): Failure {
  return { message: 'Activity canceled', canceledFailureInfo: { details, identity } };
}

function closeRun(t: Transition, info: ActivityInfo, standalone: StandaloneActivity, status: number, outcome: Uint8Array): void {
  for (const id of info.timerTaskIds) t.deleteTimer(id);
  info.timerTaskIds = [];
  info.heartbeatTimerTaskId = '';
  standalone.outcome = outcome;
  t.state.status = status;
  t.state.closeTimeMs = t.nowMs;
  t.dispatches.length = 0;
  t.stateChanged = true;
  t.closed = true;
  // The callers whose Nexus operations this activity backs learn of its close.
  scheduleCallbacks(t);
}
