/**
 * Figures read back from histories: the server stamps every event with its own clock when it writes
 * the event, so event times measure the server without trusting the load generator's timing.
 */
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { forEachConcurrently, timestampMs } from './harness.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export async function fetchEvents(client: Client, workflowId: string): Promise<HistoryEvent[]> {
  return (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
}

/** `count` ids spread evenly over `ids` (all of them when there are fewer). */
export function spreadSample<T>(ids: readonly T[], count: number): T[] {
  if (ids.length <= count) return [...ids];
  return Array.from({ length: count }, (_, i) => ids[Math.floor((i * ids.length) / count)]!);
}

/** Fetches the histories of `workflowIds` (8 at a time) and hands each to `read`. */
export async function readHistories(client: Client, workflowIds: readonly string[], read: (events: HistoryEvent[]) => void): Promise<number> {
  return await forEachConcurrently(workflowIds.length, 8, async (index) => read(await fetchEvents(client, workflowIds[index]!)));
}

export interface TimerTimes {
  /** When the timer was due: TimerStarted time + start_to_fire_timeout. */
  readonly dueMs: number;
  /** TimerFired event time: the fire was handled and written. */
  readonly firedMs: number;
  /** The WorkflowTaskCompleted after the fire: the workflow ran on and reported back. */
  readonly resumedMs: number;
}

/** The first timer of a history, or undefined if it has not fired and resumed yet. */
export function timerTimes(events: readonly HistoryEvent[]): TimerTimes | undefined {
  const startedIndex = events.findIndex((e) => e.timerStartedEventAttributes);
  const started = events[startedIndex];
  const timeout = started?.timerStartedEventAttributes?.startToFireTimeout;
  if (started === undefined || timeout === undefined || timeout === null) return undefined;
  const dueMs = timestampMs(started.eventTime) + Number(timeout.seconds ?? 0) * 1000 + (timeout.nanos ?? 0) / 1e6;
  const firedIndex = events.findIndex((e, i) => i > startedIndex && e.timerFiredEventAttributes);
  const fired = events[firedIndex];
  const resumed = events.find((e, i) => i > firedIndex && e.workflowTaskCompletedEventAttributes);
  if (fired === undefined || resumed === undefined) return undefined;
  return { dueMs, firedMs: timestampMs(fired.eventTime), resumedMs: timestampMs(resumed.eventTime) };
}

export interface StepTimes {
  /** ActivityTaskScheduled of one step to that of the next: the whole cost of a step. */
  readonly stepMs: number[];
  /** ActivityTaskScheduled to ActivityTaskStarted: dispatch to a polling worker. */
  readonly dispatchMs: number[];
  /** ActivityTaskCompleted to the next ActivityTaskScheduled: workflow task round trip. */
  readonly workflowTaskMs: number[];
}

/** Adds the step times of one activity chain's history to `into`. */
export function addStepTimes(events: readonly HistoryEvent[], into: StepTimes): void {
  let lastScheduled = Number.NaN;
  let lastCompleted = Number.NaN;
  for (const event of events) {
    const at = timestampMs(event.eventTime);
    if (event.activityTaskScheduledEventAttributes) {
      if (!Number.isNaN(lastScheduled)) into.stepMs.push(at - lastScheduled);
      if (!Number.isNaN(lastCompleted)) into.workflowTaskMs.push(at - lastCompleted);
      lastScheduled = at;
    } else if (event.activityTaskStartedEventAttributes) {
      into.dispatchMs.push(at - lastScheduled);
    } else if (event.activityTaskCompletedEventAttributes) {
      lastCompleted = at;
    }
  }
}
