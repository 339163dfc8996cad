// Workflow lifecycle: RUNNING --complete/fail/cancel/terminate/time out--> closed.
// Closing writes the close event, forgets every pending activity, timer and workflow task, and deletes
// their durable timers in the same transition.
import { EventType, ParentClosePolicy, WorkflowExecutionStatus, WorkflowTaskFailedCause, type HistoryEvent, type Payloads } from '../../proto-types.js';
import type { Transition, EventAttributesKey } from '../transition.js';
import type { MutableState } from '../mutable-state.js';
import { flushBufferedEvents } from './workflow-task.js';
import { scheduleCallbacks } from './callbacks.js';
import { LIMITS } from '../../limits.js';

export function isRunning(state: MutableState): boolean {
  return state.status === WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING;
}

export function closeWorkflow<K extends EventAttributesKey>(t: Transition, status: number, eventType: number, key: K, attrs: NonNullable<HistoryEvent[K]>): void {
  const state = t.state;
  t.addEvent(eventType, key, attrs);
  state.status = status;
  state.closeTimeMs = t.nowMs;
  for (const info of Object.values(state.activities)) for (const id of info.timerTaskIds) t.deleteTimer(id);
  for (const timer of Object.values(state.timers)) t.deleteTimer(timer.taskId);
  if (state.workflowTask) {
    t.deleteTimer(state.workflowTask.timeoutTaskId);
    t.deleteTimer(state.workflowTask.scheduleToStartTaskId ?? '');
  }
  for (const id of state.workflowTimerTaskIds) t.deleteTimer(id);
  // The parent learns of the close (unless a new run continues the chain), and open children get
  // their parent-close policy (default TERMINATE; ABANDON leaves them alone).
  if (state.parent && !t.newRun) t.addTimer(t.nowMs, { kind: 'notifyParent' });
  // So do the callers whose Nexus operations this chain serves; a continuing run takes the callbacks over.
  if (!t.newRun) scheduleCallbacks(t);
  else if (state.callbacks) state.callbacks = state.callbacks.filter((c) => c.phase !== 'standby');
  // Nexus operations still open are abandoned, as in Temporal: nothing is sent to their handlers.
  for (const op of Object.values(state.nexusOperations ?? {})) for (const id of op.timerTaskIds) t.deleteTimer(id);
  if (state.nexusOperations) state.nexusOperations = {};
  // A run closed by a reset leaves its children to the reset run (ops/reset.ts).
  for (const child of state.resetRunId ? [] : Object.values(state.children ?? {})) {
    const policy = child.parentClosePolicy || ParentClosePolicy.PARENT_CLOSE_POLICY_TERMINATE;
    if (policy === ParentClosePolicy.PARENT_CLOSE_POLICY_ABANDON) continue;
    t.addTimer(t.nowMs, { kind: 'parentClosePolicy', initiatedEventId: child.initiatedEventId, workflowId: child.workflowId, runId: child.runId, namespaceId: child.namespaceId, policy });
  }
  state.children = {};
  state.externalRequests = {};
  state.activities = {};
  state.timers = {};
  state.buffered = [];
  state.workflowTask = null;
  state.workflowTimerTaskIds = [];
  t.dispatches.length = 0;
  t.closed = true;
}

/**
 * Before the server closes a run on its own (terminate, timeout), a started workflow task is failed
 * with FORCE_CLOSE_COMMAND and buffered events are written, so nothing received is lost.
 */
export function forceCloseWorkflowTask(t: Transition, identity: string): void {
  const wft = t.state.workflowTask;
  if (wft && wft.startedEventId > 0 && !wft.transient) {
    t.addEvent(EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, 'workflowTaskFailedEventAttributes', {
      scheduledEventId: wft.scheduledEventId,
      startedEventId: wft.startedEventId,
      cause: WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND,
      identity,
    });
  }
  if (wft && wft.startedEventId > 0) {
    t.deleteTimer(wft.timeoutTaskId);
    t.state.workflowTask = null;
  }
  flushBufferedEvents(t);
}

/**
 * Temporal's hard history limits: a run whose history passes 51,200 events or 50 MiB is terminated
 * (it would be too large to replay). Returns true when it terminated the run.
 */
export function enforceHistoryLimits(t: Transition): boolean {
  const state = t.state;
  if (!isRunning(state) || t.closed) return false;
  let reason = '';
  if (state.nextEventId - 1 > LIMITS.historyCountLimitError) reason = 'Workflow history count exceeds limit.';
  else if (state.historySizeBytes > LIMITS.historySizeLimitError) reason = 'Workflow history size exceeds limit.';
  if (!reason) return false;
  terminateWorkflow(t, reason, null, 'history-service');
  return true;
}

/** TerminateWorkflowExecution. */
export function terminateWorkflow(t: Transition, reason: string, details: Payloads | null | undefined, identity: string): void {
  forceCloseWorkflowTask(t, identity);
  closeWorkflow(t, WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED, 'workflowExecutionTerminatedEventAttributes', {
    reason,
    details: details ?? null,
    identity,
  });
}
