// User timers (StartTimer / CancelTimer commands): STARTED --fire--> fired (TimerFired) | --cancel--> canceled.
import { durationToMs } from '@kairos/common';
import { EventType, type HistoryEvent } from '../../proto-types.js';
import type { Transition } from '../transition.js';
import { addExternalEvent, removeBufferedTimerFired } from './workflow-task.js';

export function startTimer(t: Transition, attrs: NonNullable<HistoryEvent['timerStartedEventAttributes']>): void {
  const ev = t.addEvent(EventType.EVENT_TYPE_TIMER_STARTED, 'timerStartedEventAttributes', attrs);
  const timerId = attrs.timerId ?? '';
  const startedEventId = Number(ev.eventId);
  const fireAtMs = t.nowMs + durationToMs(attrs.startToFireTimeout);
  const taskId = t.addTimer(fireAtMs, { kind: 'userTimer', timerId, startedEventId });
  t.state.timers[timerId] = { timerId, startedEventId, fireAtMs, taskId };
}

/** Returns false when the timer is unknown (neither pending nor fired-and-buffered). */
export function cancelTimer(t: Transition, timerId: string, workflowTaskCompletedEventId: number, identity: string): boolean {
  const timer = t.state.timers[timerId];
  let startedEventId: number;
  if (timer) {
    startedEventId = timer.startedEventId;
    t.deleteTimer(timer.taskId);
    delete t.state.timers[timerId];
  } else {
    // It fired while this workflow task ran: the TimerFired is still buffered; drop it (Temporal does).
    startedEventId = removeBufferedTimerFired(t.state, timerId);
    if (startedEventId === 0) return false;
  }
  t.addEvent(EventType.EVENT_TYPE_TIMER_CANCELED, 'timerCanceledEventAttributes', {
    timerId,
    startedEventId,
    workflowTaskCompletedEventId,
    identity,
  });
  return true;
}

/** The durable timer fired; false if stale. */
export function userTimerFired(t: Transition, timerId: string, startedEventId: number): boolean {
  const timer = t.state.timers[timerId];
  if (!timer || timer.startedEventId !== startedEventId) return false;
  delete t.state.timers[timerId];
  addExternalEvent(t, EventType.EVENT_TYPE_TIMER_FIRED, 'timerFiredEventAttributes', { timerId, startedEventId }, { timerId });
  return true;
}
