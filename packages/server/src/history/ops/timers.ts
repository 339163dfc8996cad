// Handles a fired durable timer: re-validates it against mutable state, applies its effect, and
// deletes its row in the same transition. Stale timers only delete their row.
import { EventType, RetryState, WorkflowExecutionStatus } from '../../proto-types.js';
import type { TimerTaskRow } from '../../persistence/store.js';
import { decodeTimerTask } from '../../timers/timer-task.js';
import { Transition } from '../transition.js';
import { scheduleWorkflowTask, timeOutWorkflowTask } from '../machines/workflow-task.js';
import { activityTimeoutFired, retryTimerFired } from '../machines/activity.js';
import { userTimerFired } from '../machines/timer.js';
import { closeWorkflow, isRunning } from '../machines/workflow.js';
import type { HistoryContext } from '../service-context.js';
import { settleQueries } from './workflow-task.js';
import type { MutableState } from '../mutable-state.js';

export async function handleTimer(ctx: HistoryContext, row: TimerTaskRow): Promise<void> {
  const task = decodeTimerTask(row.data);
  let wftTimedOut: { startedEventId: number; state: MutableState } | null = null;
  const found = await ctx.engine.update(row.key, (state, nowMs) => {
    if (!state) return { transition: null, value: false };
    const t = new Transition(state, nowMs);
    t.deleteTimer(row.taskId);
    if (!isRunning(state)) return { transition: t, value: true };
    switch (task.kind) {
      case 'workflowTaskTimeout': {
        const wft = state.workflowTask;
        if (wft && wft.scheduledEventId === task.scheduledEventId && wft.attempt === task.attempt && wft.startedEventId > 0) {
          const startedEventId = wft.startedEventId;
          timeOutWorkflowTask(t);
          wftTimedOut = { startedEventId, state: t.state };
        }
        break;
      }
      case 'activityTimeout': {
        const info = state.activities[task.scheduledEventId];
        if (info) activityTimeoutFired(t, info, task.timeoutType, task.attempt);
        break;
      }
      case 'activityRetry': {
        const info = state.activities[task.scheduledEventId];
        if (info && info.attempt === task.attempt && info.awaitingRetry) retryTimerFired(t, info);
        break;
      }
      case 'userTimer':
        userTimerFired(t, task.timerId, task.startedEventId);
        break;
      case 'workflowRunTimeout':
      case 'workflowExecutionTimeout':
        closeWorkflow(t, WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, 'workflowExecutionTimedOutEventAttributes', {
          retryState: RetryState.RETRY_STATE_TIMEOUT,
        });
        break;
      case 'workflowBackoff':
        if (!state.workflowTask && state.lastCompletedWftStartedEventId === 0) scheduleWorkflowTask(t, 1);
        break;
    }
    return { transition: t, value: true };
  });
  if (!found) await ctx.engine.store.commit({ executions: [], timersToAdd: [], timerIdsToDelete: [row.taskId] });
  const timedOut = wftTimedOut as { startedEventId: number; state: MutableState } | null;
  if (timedOut) settleQueries(ctx, row.key, timedOut.startedEventId, [], timedOut.state);
}
