import { describe, expect, it } from 'vitest';
import { durationToMs, msToDuration } from '@kairos/common';
import { EventType } from '../../proto-types.js';
import { Transition } from '../transition.js';
import { cmd, EngineHarness, START_MS } from '../test-support/harness.js';
import { applyActivityOptions, currentActivityOptions, maskPaths, mergeActivityOptions, type ActivityOptions } from './activity-options.js';

/** A run with activity "a1" (ActivityTaskScheduled is event 5), one attempt only. */
function withActivity(): EngineHarness {
  const h = EngineHarness.start();
  h.startWorkflowTask();
  h.completeWorkflowTask([cmd.scheduleActivity('a1', { startToCloseMs: 60_000, scheduleToCloseMs: 600_000, retryPolicy: { maximumAttempts: 1 } })]);
  return h;
}

/** UpdateActivityOptions as the operation applies it: the masked fields of `from` over the activity's own. */
function update(h: EngineHarness, from: ActivityOptions, paths: string[]): ActivityOptions {
  return h.update((state, nowMs) => {
    const t = new Transition(state, nowMs);
    const info = state.activities[5]!;
    const options = currentActivityOptions(info);
    const mask = maskPaths(paths);
    mergeActivityOptions(options, from, mask);
    return { transition: t, value: applyActivityOptions(t, info, options, mask.has('retryPolicy.maximumAttempts')) };
  });
}

const closedWith = (h: EngineHarness) => h.history.at(-2)?.eventType;

describe('UpdateActivityOptions', () => {
  it('merges only the masked fields, named in either case', () => {
    const into: ActivityOptions = { taskQueue: { name: 'a' }, heartbeatTimeout: msToDuration(1_000), retryPolicy: { maximumAttempts: 3, backoffCoefficient: 2 } };
    mergeActivityOptions(into, { taskQueue: { name: 'b' }, heartbeatTimeout: msToDuration(5_000), retryPolicy: { maximumAttempts: 9 } }, maskPaths(['retry_policy.maximum_attempts', 'heartbeatTimeout']));
    expect(into.taskQueue?.name).toBe('a');
    expect(durationToMs(into.heartbeatTimeout)).toBe(5_000);
    expect(into.retryPolicy).toEqual({ maximumAttempts: 9, backoffCoefficient: 2 });
    expect(() => mergeActivityOptions(into, {}, maskPaths(['retry_policy.maximum_attempts']))).toThrow('RetryPolicy is not provided');
    expect(() => mergeActivityOptions(into, {}, maskPaths(['task_queue.name']))).toThrow('TaskQueue is not provided');
  });

  it('settles timeouts as a schedule command does, and refuses a bad retry policy', () => {
    const h = withActivity();
    const answered = update(h, { startToCloseTimeout: msToDuration(900_000) }, ['start_to_close_timeout']);
    // Capped by schedule-to-close.
    expect(durationToMs(answered.startToCloseTimeout)).toBe(600_000);
    expect(() => update(h, { scheduleToCloseTimeout: null, startToCloseTimeout: null }, ['schedule_to_close_timeout', 'start_to_close_timeout'])).toThrow(/A valid StartToClose/);
    expect(() => update(h, { retryPolicy: { maximumAttempts: -1 } }, ['retry_policy.maximum_attempts'])).toThrow(/MaximumAttempts/i);
  });

  it('times out a running attempt at a shortened start-to-close', () => {
    const h = withActivity();
    h.startActivity(5);
    h.advance(1_000);
    update(h, { startToCloseTimeout: msToDuration(5_000) }, ['start_to_close_timeout']);
    h.runUntil(START_MS + 5_500);
    expect(h.activity(5)).toBeUndefined();
    expect(closedWith(h)).toBe(EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT);
  });

  it('keeps a running attempt past its old start-to-close when the timeout is lengthened', () => {
    const h = withActivity();
    h.startActivity(5);
    update(h, { startToCloseTimeout: msToDuration(120_000) }, ['start_to_close_timeout']);
    h.runUntil(START_MS + 90_000);
    expect(h.activity(5)?.phase).toBe('started');
    h.runUntil(START_MS + 120_001);
    expect(h.activity(5)).toBeUndefined();
    expect(closedWith(h)).toBe(EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT);
  });

  it('queues a waiting attempt on the task queue it is moved to', () => {
    const h = withActivity();
    const before = h.dispatches.length;
    const answered = update(h, { taskQueue: { name: 'elsewhere' } }, ['task_queue.name']);
    expect(answered.taskQueue?.name).toBe('elsewhere');
    expect(h.dispatches.slice(before)).toEqual([expect.objectContaining({ kind: 'activityTask', taskQueue: 'elsewhere', scheduledEventId: 5, attempt: 1 })]);
    // The same queue again queues nothing more.
    update(h, { taskQueue: { name: 'elsewhere' } }, ['task_queue.name']);
    expect(h.dispatches.length).toBe(before + 1);
  });

  it('moves a waiting retry to the backoff of the new policy, counted from the failed attempt', () => {
    const h = EngineHarness.start();
    h.startWorkflowTask();
    h.completeWorkflowTask([cmd.scheduleActivity('a1', { startToCloseMs: 60_000, retryPolicy: { initialInterval: msToDuration(600_000), maximumAttempts: 5 } })]);
    h.startActivity(5);
    h.failActivity(5);
    expect(h.activity(5)).toMatchObject({ awaitingRetry: true, attempt: 2, currentAttemptScheduledTimeMs: START_MS + 600_000 });
    update(h, { retryPolicy: { initialInterval: msToDuration(1_000) } }, ['retry_policy.initial_interval']);
    // Temporal's count: initial x coefficient^(attempt - 1) = 1 s x 2 after the failure.
    expect(h.activity(5)?.currentAttemptScheduledTimeMs).toBe(START_MS + 2_000);
    h.runUntil(START_MS + 2_000);
    expect(h.activity(5)).toMatchObject({ awaitingRetry: false, attempt: 2, phase: 'scheduled' });

    // Lengthened: the timer armed for the old, earlier time dispatches nothing.
    h.startActivity(5);
    h.failActivity(5);
    update(h, { retryPolicy: { initialInterval: msToDuration(100_000), maximumInterval: msToDuration(1_000_000) } }, ['retry_policy']);
    h.runUntil(START_MS + 300_000);
    expect(h.activity(5)).toMatchObject({ awaitingRetry: true, attempt: 3 });
    h.runUntil(START_MS + 2_000 + 400_000);
    expect(h.activity(5)).toMatchObject({ awaitingRetry: false, attempt: 3 });
  });
});

