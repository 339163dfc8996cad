// The pure effect of a durable timer firing on a running execution. Every case re-validates the timer
// against mutable state (scheduled event id, attempt, timer id) and does nothing when it is stale.
import type { TimerTask } from '../../timers/timer-task.js';
import type { Transition } from '../transition.js';
import { scheduleWorkflowTask, timeOutWorkflowTask } from '../machines/workflow-task.js';
import { activityTimeoutFired, retryTimerFired } from '../machines/activity.js';
import { userTimerFired } from '../machines/timer.js';
import { forceCloseWorkflowTask } from '../machines/workflow.js';
import { timeOutWorkflow } from '../machines/new-run.js';
import { stickyScheduleToStartTimedOut } from '../machines/sticky.js';
import { nexusTimerFired } from '../machines/nexus-operation.js';

/** Applies `task`; returns the started event id of a workflow task it timed out (0 if none). */
export function applyTimerTask(t: Transition, task: TimerTask, taskId = ''): number {
  const state = t.state;
  switch (task.kind) {
    case 'workflowTaskTimeout': {
      const wft = state.workflowTask;
      if (wft && wft.scheduledEventId === task.scheduledEventId && wft.attempt === task.attempt && wft.startedEventId > 0) {
        const startedEventId = wft.startedEventId;
        timeOutWorkflowTask(t);
        return startedEventId;
      }
      return 0;
    }
    case 'stickyScheduleToStartTimeout':
      stickyScheduleToStartTimedOut(t, task.scheduledEventId, task.attempt);
      return 0;
    case 'activityTimeout': {
      const info = state.activities[task.scheduledEventId];
      if (info) activityTimeoutFired(t, info, task.timeoutType, task.attempt);
      return 0;
    }
    case 'activityRetry': {
      const info = state.activities[task.scheduledEventId];
      if (info && info.attempt === task.attempt && info.awaitingRetry) retryTimerFired(t, info);
      return 0;
    }
    case 'userTimer':
      userTimerFired(t, task.timerId, task.startedEventId);
      return 0;
    case 'workflowRunTimeout':
    case 'workflowExecutionTimeout': {
      const startedEventId = state.workflowTask?.startedEventId ?? 0;
      forceCloseWorkflowTask(t, '');
      timeOutWorkflow(t, task.kind === 'workflowExecutionTimeout');
      return startedEventId;
    }
    case 'workflowBackoff':
      if (!state.workflowTask && state.lastCompletedWftStartedEventId === 0) scheduleWorkflowTask(t, 1);
      return 0;
    case 'nexusTimeout':
    case 'nexusBackoff':
    case 'nexusCancelBackoff':
      nexusTimerFired(t, taskId, task);
      return 0;
    default:
      // Transfer tasks reach other executions (ops/external.ts); deletion is ops/delete.ts.
      return 0;
  }
}
