// Sticky execution. A worker that completes a workflow task may name its own (sticky) task queue: the
// run's next workflow task goes there, and that worker, which still holds the workflow in its cache,
// gets only the events after the task it last completed. Stickiness ends when:
//   - a completion comes without sticky attributes, or the task fails or times out (the retry goes to
//     the normal queue as the same attempt, with the full history);
//   - the task waits on the sticky queue past the worker's schedule-to-start timeout
//     (WorkflowTaskTimedOut SCHEDULE_TO_START, then a new task on the normal queue);
//   - the sticky worker is gone (no poll for a while, or ShutdownWorker) or ResetStickyTaskQueue is
//     called: the waiting task moves to the normal queue without an event.
import { durationToMs } from '@kairos/common';
import { EventType, TimeoutType, type Duration } from '../../proto-types.js';
import type { MutableState } from '../mutable-state.js';
import type { Transition } from '../transition.js';
import { scheduleWorkflowTask } from './workflow-task.js';

export interface StickyAttributes {
  readonly workerTaskQueue?: { readonly name?: string | null } | null;
  readonly scheduleToStartTimeout?: Duration | null;
}

/** Applies the sticky attributes of a workflow-task completion (none = not sticky any more). */
export function setStickiness(state: MutableState, attributes: StickyAttributes | null | undefined): void {
  const name = attributes?.workerTaskQueue?.name ?? '';
  state.stickyTaskQueue = name;
  state.stickyScheduleToStartMs = name ? durationToMs(attributes?.scheduleToStartTimeout) : 0;
}

/** Forgets the sticky queue; true when one was set. */
export function clearStickiness(state: MutableState): boolean {
  const was = state.stickyTaskQueue !== '';
  state.stickyTaskQueue = '';
  state.stickyScheduleToStartMs = 0;
  return was;
}

/** The waiting task as dispatched to the sticky queue, or null when there is none. */
function waitingStickyTask(state: MutableState): MutableState['workflowTask'] {
  const wft = state.workflowTask;
  return wft && wft.sticky && wft.startedEventId === 0 ? wft : null;
}

/**
 * The sticky schedule-to-start timeout fired: no sticky poller took the task in time. Writes
 * WorkflowTaskTimedOut (SCHEDULE_TO_START) and schedules the task again on the normal queue, as the
 * same attempt. False when the timer is stale.
 */
export function stickyScheduleToStartTimedOut(t: Transition, scheduledEventId: number, attempt: number): boolean {
  const state = t.state;
  const wft = waitingStickyTask(state);
  if (!wft || wft.scheduledEventId !== scheduledEventId || wft.attempt !== attempt) return false;
  // A speculative task has no Scheduled event to time out: it just moves.
  if (wft.speculative) return moveStickyTaskToNormalQueue(t);
  t.addEvent(EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, 'workflowTaskTimedOutEventAttributes', {
    scheduledEventId: wft.scheduledEventId,
    startedEventId: 0,
    timeoutType: TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START,
  });
  wft.scheduleToStartTaskId = '';
  clearStickiness(state);
  state.workflowTask = null;
  scheduleWorkflowTask(t, wft.attempt);
  return true;
}

/**
 * Moves a task waiting on the sticky queue to the normal queue, without an event (the sticky worker is
 * gone, or stickiness was reset). The same task, same ids: whichever queue hands it out first starts it.
 * Returns false when no task waits on the sticky queue.
 */
export function moveStickyTaskToNormalQueue(t: Transition): boolean {
  const state = t.state;
  clearStickiness(state);
  const wft = waitingStickyTask(state);
  if (!wft) return false;
  if (wft.scheduleToStartTaskId) t.deleteTimer(wft.scheduleToStartTaskId);
  wft.scheduleToStartTaskId = '';
  wft.sticky = false;
  wft.taskQueue = state.taskQueue;
  t.stateChanged = true;
  const i = t.dispatches.findIndex((d) => d.kind === 'workflowTask');
  if (i >= 0) t.dispatches.splice(i, 1);
  t.dispatch({ kind: 'workflowTask', taskQueue: wft.taskQueue, scheduledEventId: wft.scheduledEventId, attempt: wft.attempt, priorityKey: state.priorityKey ?? 0 });
  return true;
}
