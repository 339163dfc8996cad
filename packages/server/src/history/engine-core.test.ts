// Example-based tests of the pure history core (api/, machines/, retry.ts) driven through the
// in-memory harness, checked event by event against the sequences of the wire contract (§3) and,
// after every scenario, against the history validator.
import { describe, expect, it } from 'vitest';
import { durationToMs, timestampToMs } from '@kairos/common';
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import { LIMITS } from '../limits.js';
import { EventType, RetryState, TimeoutType, WorkflowExecutionStatus, WorkflowTaskFailedCause as Cause, type HistoryEvent } from '../proto-types.js';
import { applicationFailure, cmd, EngineHarness, payloads, START_MS, type ScheduleActivityOptions } from './test-support/harness.js';
import { eventTypeName, validateHistory } from './test-support/history-validator.js';

const names = (events: readonly HistoryEvent[]): string[] => events.map((e) => eventTypeName(Number(e.eventType)));

function expectValid(h: EngineHarness): void {
  expect(validateHistory(h.history)).toEqual([]);
}

function event(h: EngineHarness, id: number): HistoryEvent {
  const e = h.history[id - 1];
  if (!e) throw new Error(`no event ${id}`);
  expect(Number(e.eventId)).toBe(id);
  return e;
}

const timeOf = (e: HistoryEvent): number => timestampToMs(e.eventTime) ?? 0;

/** Runs the first workflow task, scheduling one activity; returns its scheduled event id. */
function withActivity(h: EngineHarness, o: ScheduleActivityOptions = { startToCloseMs: 10_000 }, activityId = 'a1'): number {
  h.startWorkflowTask();
  const out = h.completeWorkflowTask([cmd.scheduleActivity(activityId, o)]);
  expect(out.error).toBeNull();
  const info = h.activityByActivityId(activityId);
  if (!info) throw new Error('activity not scheduled');
  return info.scheduledEventId;
}

/** The delay of the pending retry-backoff row of an activity, relative to now. */
function retryDelay(h: EngineHarness, scheduledEventId: number): number {
  const rows = h.timerRows((t) => t.kind === 'activityRetry' && t.scheduledEventId === scheduledEventId);
  expect(rows).toHaveLength(1);
  return rows[0]!.fireAtMs - h.nowMs;
}

describe('hello world (§3.1): start -> activity -> complete', () => {
  it('writes the exact event sequence with the right attributes', () => {
    const h = EngineHarness.start({ runId: 'run-hello', workflowType: 'Hello', taskQueue: 'tq' });
    expect(names(h.history)).toEqual(['WorkflowExecutionStarted', 'WorkflowTaskScheduled']);

    const started = event(h, 1).workflowExecutionStartedEventAttributes!;
    expect(started.workflowType?.name).toBe('Hello');
    expect(started.taskQueue?.name).toBe('tq');
    expect(started.originalExecutionRunId).toBe('run-hello');
    expect(started.firstExecutionRunId).toBe('run-hello');
    expect(started.attempt).toBe(1);
    expect(durationToMs(started.workflowTaskTimeout)).toBe(10_000);
    expect(started.workflowId).toBe('wf-1');
    expect(timeOf(event(h, 1))).toBe(START_MS);

    const scheduled = event(h, 2).workflowTaskScheduledEventAttributes!;
    expect(scheduled.taskQueue?.name).toBe('tq');
    expect(durationToMs(scheduled.startToCloseTimeout)).toBe(10_000);
    expect(scheduled.attempt).toBe(1);
    expect(h.dispatches).toEqual([{ kind: 'workflowTask', taskQueue: 'tq', scheduledEventId: 2, attempt: 1, priorityKey: 0 }]);

    // Poll #1: history [1,2,3], previous_started_event_id=0, started_event_id=3.
    h.advance(100);
    const poll1 = h.startWorkflowTask('worker-1', 'req-1')!;
    expect(poll1).toMatchObject({ scheduledEventId: 2, startedEventId: 3, attempt: 1, previousStartedEventId: 0 });
    expect(poll1.history.map((e) => Number(e.eventId))).toEqual([1, 2, 3]);
    const wftStarted = event(h, 3);
    expect(wftStarted.workflowTaskStartedEventAttributes).toMatchObject({ scheduledEventId: 2, identity: 'worker-1', requestId: 'req-1' });
    expect(Number(wftStarted.workflowTaskStartedEventAttributes!.historySizeBytes)).toBeGreaterThan(0);
    expect(timeOf(wftStarted)).toBe(START_MS + 100);
    expect(h.timerRows((t) => t.kind === 'workflowTaskTimeout')).toHaveLength(1);

    h.advance(100);
    expect(h.completeWorkflowTask([cmd.scheduleActivity('1', { startToCloseMs: 30_000 })], { identity: 'worker-1' }).error).toBeNull();
    expect(names(h.history.slice(3))).toEqual(['WorkflowTaskCompleted', 'ActivityTaskScheduled']);
    expect(event(h, 4).workflowTaskCompletedEventAttributes).toMatchObject({ scheduledEventId: 2, startedEventId: 3, identity: 'worker-1' });
    const actScheduled = event(h, 5).activityTaskScheduledEventAttributes!;
    expect(actScheduled).toMatchObject({ workflowTaskCompletedEventId: 4, activityId: '1', activityType: { name: 'greet' }, taskQueue: { name: 'tq' } });
    expect(durationToMs(actScheduled.startToCloseTimeout)).toBe(30_000);
    expect(actScheduled.retryPolicy?.backoffCoefficient).toBe(2);
    expect(actScheduled.retryPolicy?.maximumAttempts ?? 0).toBe(0); // 0 = unlimited (absent on the wire)
    expect(durationToMs(actScheduled.retryPolicy?.initialInterval)).toBe(1000);
    expect(durationToMs(actScheduled.retryPolicy?.maximumInterval)).toBe(100_000);
    // The completed task's timeout row is gone.
    expect(h.timerRows((t) => t.kind === 'workflowTaskTimeout')).toHaveLength(0);
    expect(h.dispatches.at(-1)).toEqual({ kind: 'activityTask', taskQueue: 'tq', scheduledEventId: 5, attempt: 1, priorityKey: 0 });

    // The activity starts: no event yet (Started is written with the close event).
    h.advance(1000);
    const actStartMs = h.nowMs;
    const poll = h.startActivity(5, 'act-worker')!;
    expect(poll.attempt).toBe(1);
    expect(h.lastEvents).toEqual([]);
    h.advance(500);
    h.completeActivity(5, payloads('Hello, world'), { identity: 'act-worker' });
    expect(names(h.history.slice(5))).toEqual(['ActivityTaskStarted', 'ActivityTaskCompleted', 'WorkflowTaskScheduled']);
    expect(event(h, 6).activityTaskStartedEventAttributes).toMatchObject({ scheduledEventId: 5, attempt: 1, identity: 'act-worker' });
    expect(event(h, 6).activityTaskStartedEventAttributes!.lastFailure ?? null).toBeNull();
    expect(timeOf(event(h, 6))).toBe(actStartMs);
    expect(event(h, 7).activityTaskCompletedEventAttributes).toMatchObject({ scheduledEventId: 5, startedEventId: 6, identity: 'act-worker' });
    expect(event(h, 7).activityTaskCompletedEventAttributes!.result?.payloads).toHaveLength(1);
    expect(event(h, 8).workflowTaskScheduledEventAttributes!.attempt).toBe(1);

    // Poll #2: full history [1..9], previous_started_event_id=3.
    const poll2 = h.startWorkflowTask('worker-1')!;
    expect(poll2).toMatchObject({ scheduledEventId: 8, startedEventId: 9, attempt: 1, previousStartedEventId: 3 });
    expect(poll2.history.map((e) => Number(e.eventId))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(h.completeWorkflowTask([cmd.completeWorkflow(payloads('done'))]).error).toBeNull();
    expect(names(h.history.slice(9))).toEqual(['WorkflowTaskCompleted', 'WorkflowExecutionCompleted']);
    expect(event(h, 10).workflowTaskCompletedEventAttributes).toMatchObject({ scheduledEventId: 8, startedEventId: 9 });
    expect(event(h, 11).workflowExecutionCompletedEventAttributes).toMatchObject({ workflowTaskCompletedEventId: 10 });
    expect(h.state.status).toBe(WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED);
    expect(h.state.nextEventId).toBe(12);
    expect(h.timers.size).toBe(0);
    expectValid(h);
  });

  it('a completion for a closed run or with a stale token is NOT_FOUND and changes nothing', () => {
    const h = EngineHarness.start();
    const poll = h.startWorkflowTask()!;
    expect(() => h.completeWorkflowTask([], { token: { ...poll, attempt: 2 } })).toThrow(NotFoundError);
    expect(h.completeWorkflowTask([cmd.completeWorkflow()]).error).toBeNull();
    const before = h.history.length;
    expect(() => h.completeWorkflowTask([], { token: poll })).toThrow(NotFoundError);
    expect(() => h.signal()).toThrow(NotFoundError);
    expect(h.history).toHaveLength(before);
    expectValid(h);
  });
});

describe('activity retries (§3.2)', () => {
  it('retries write no events; the final ActivityTaskStarted carries attempt N and the previous failure', () => {
    const h = EngineHarness.start();
    const sid = withActivity(h, { startToCloseMs: 10_000, retryPolicy: { maximumAttempts: 5 } });
    const afterSchedule = h.history.length;

    h.startActivity(sid);
    h.failActivity(sid, applicationFailure('attempt 1 failed'));
    expect(h.lastEvents).toEqual([]);
    expect(h.activity(sid)).toMatchObject({ attempt: 2, awaitingRetry: true, phase: 'scheduled' });
    // Not dispatchable while the backoff runs.
    expect(h.startActivity(sid)).toBeNull();
    expect(retryDelay(h, sid)).toBe(1000);
    expect(h.fireActivityRetry(sid)).toBe(true);
    expect(h.lastEvents).toEqual([]);
    expect(h.dispatches.at(-1)).toEqual({ kind: 'activityTask', taskQueue: 'tq', scheduledEventId: sid, attempt: 2, priorityKey: 0 });

    expect(h.startActivity(sid)!.attempt).toBe(2);
    h.failActivity(sid, applicationFailure('attempt 2 failed'));
    expect(h.lastEvents).toEqual([]);
    h.fireActivityRetry(sid);
    const startMs = h.nowMs;
    expect(h.startActivity(sid)!.attempt).toBe(3);
    h.advance(250);
    h.completeActivity(sid);

    expect(h.history.length).toBe(afterSchedule + 3);
    expect(names(h.history.slice(afterSchedule))).toEqual(['ActivityTaskStarted', 'ActivityTaskCompleted', 'WorkflowTaskScheduled']);
    const started = h.history[afterSchedule]!;
    expect(started.activityTaskStartedEventAttributes).toMatchObject({ scheduledEventId: sid, attempt: 3 });
    expect(started.activityTaskStartedEventAttributes!.lastFailure?.message).toBe('attempt 2 failed');
    expect(timeOf(started)).toBe(startMs);
    expect(h.history[afterSchedule + 1]!.activityTaskCompletedEventAttributes).toMatchObject({ scheduledEventId: sid, startedEventId: Number(started.eventId) });
    expectValid(h);
  });

  it('maximum attempts: ActivityTaskFailed{MAXIMUM_ATTEMPTS_REACHED} after Started{attempt N}', () => {
    const h = EngineHarness.start();
    const sid = withActivity(h, { startToCloseMs: 10_000, retryPolicy: { maximumAttempts: 2 } });
    const from = h.lastEventId;
    h.startActivity(sid);
    h.failActivity(sid, applicationFailure('first'));
    h.fireActivityRetry(sid);
    h.startActivity(sid);
    h.failActivity(sid, applicationFailure('second'), { identity: 'w2' });
    const tail = h.eventsAfter(from);
    expect(names(tail)).toEqual(['ActivityTaskStarted', 'ActivityTaskFailed', 'WorkflowTaskScheduled']);
    expect(tail[0]!.activityTaskStartedEventAttributes).toMatchObject({ attempt: 2, lastFailure: { message: 'first' } });
    expect(tail[1]!.activityTaskFailedEventAttributes).toMatchObject({
      scheduledEventId: sid,
      startedEventId: Number(tail[0]!.eventId),
      retryState: RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED,
      identity: 'w2',
      failure: { message: 'second' },
    });
    expect(h.activity(sid)).toBeUndefined();
    expect(h.timerRows((t) => 'scheduledEventId' in t && t.kind !== 'workflowTaskTimeout' && t.scheduledEventId === sid)).toEqual([]);
    expectValid(h);
  });

  it('a non-retryable failure closes at once with NON_RETRYABLE_FAILURE', () => {
    const h = EngineHarness.start();
    const sid = withActivity(h, { startToCloseMs: 10_000 });
    h.startActivity(sid);
    h.failActivity(sid, applicationFailure('fatal', { nonRetryable: true }));
    const tail = h.lastEvents;
    expect(names(tail)).toEqual(['ActivityTaskStarted', 'ActivityTaskFailed', 'WorkflowTaskScheduled']);
    expect(tail[0]!.activityTaskStartedEventAttributes!.attempt).toBe(1);
    expect(tail[0]!.activityTaskStartedEventAttributes!.lastFailure ?? null).toBeNull();
    expect(tail[1]!.activityTaskFailedEventAttributes!.retryState).toBe(RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE);
    expectValid(h);
  });

  it('a failure type listed in non_retryable_error_types closes at once', () => {
    const h = EngineHarness.start();
    const sid = withActivity(h, { startToCloseMs: 10_000, retryPolicy: { nonRetryableErrorTypes: ['BadInput'] } });
    h.startActivity(sid);
    h.failActivity(sid, applicationFailure('retry me', { type: 'Transient' }));
    expect(h.lastEvents).toEqual([]);
    h.fireActivityRetry(sid);
    h.startActivity(sid);
    h.failActivity(sid, applicationFailure('bad', { type: 'BadInput' }));
    expect(names(h.lastEvents)).toEqual(['ActivityTaskStarted', 'ActivityTaskFailed', 'WorkflowTaskScheduled']);
    expect(h.lastEvents[1]!.activityTaskFailedEventAttributes!.retryState).toBe(RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE);
    expectValid(h);
  });

  it('backoff: initial interval x coefficient^(attempt-1), capped by the maximum interval', () => {
    const h = EngineHarness.start();
    const sid = withActivity(h, {
      startToCloseMs: 10_000,
      retryPolicy: { initialInterval: { seconds: 2 }, backoffCoefficient: 3, maximumInterval: { seconds: 10 } },
    });
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      h.startActivity(sid);
      h.advance(10);
      h.failActivity(sid, applicationFailure(`attempt ${i + 1}`));
      delays.push(retryDelay(h, sid));
      h.fireActivityRetry(sid);
    }
    expect(delays).toEqual([2000, 6000, 10_000, 10_000]);
    expect(h.activity(sid)!.attempt).toBe(5);
    expectValid(h);
  });

  it('backoff defaults (no policy): 1 s, 2 s, 4 s ... capped at 100 s', () => {
    const h = EngineHarness.start();
    const sid = withActivity(h, { startToCloseMs: 10_000 });
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) {
      h.startActivity(sid);
      h.failActivity(sid, applicationFailure(`attempt ${i + 1}`));
      delays.push(retryDelay(h, sid));
      h.fireActivityRetry(sid);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 100_000, 100_000]);
  });

  it('ApplicationFailureInfo.next_retry_delay overrides the computed backoff', () => {
    const h = EngineHarness.start();
    const sid = withActivity(h, { startToCloseMs: 10_000, retryPolicy: { initialInterval: { seconds: 1 }, maximumInterval: { seconds: 2 } } });
    h.startActivity(sid);
    h.failActivity(sid, applicationFailure('later', { nextRetryDelayMs: 7000 }));
    expect(retryDelay(h, sid)).toBe(7000);
    h.fireActivityRetry(sid);
    h.startActivity(sid);
    h.failActivity(sid, applicationFailure('normal'));
    expect(retryDelay(h, sid)).toBe(2000);
  });

  it('a worker failure whose retry would overrun schedule-to-close closes with ActivityTaskFailed{TIMEOUT}', () => {
    const h = EngineHarness.start();
    const sid = withActivity(h, { scheduleToCloseMs: 10_000, startToCloseMs: 8000 });
    const t0 = h.activity(sid)!.scheduledTimeMs;
    h.advance(1000);
    h.startActivity(sid);
    h.failActivity(sid, applicationFailure('one'));
    expect(retryDelay(h, sid)).toBe(1000);
    h.fireActivityRetry(sid);
    h.startActivity(sid);
    h.nowMs = t0 + 9000; // the next retry (2 s) would start after the 10 s deadline
    h.failActivity(sid, applicationFailure('two'));
    expect(names(h.lastEvents)).toEqual(['ActivityTaskStarted', 'ActivityTaskFailed', 'WorkflowTaskScheduled']);
    expect(h.lastEvents[0]!.activityTaskStartedEventAttributes!.attempt).toBe(2);
    expect(h.lastEvents[1]!.activityTaskFailedEventAttributes).toMatchObject({ retryState: RetryState.RETRY_STATE_TIMEOUT, failure: { message: 'two' } });
    expectValid(h);
  });

  it('a start-to-close timeout whose retry would overrun schedule-to-close becomes a SCHEDULE_TO_CLOSE timeout', () => {
    const h = EngineHarness.start();
    const sid = withActivity(h, { scheduleToCloseMs: 10_000, startToCloseMs: 4000 });
    h.startActivity(sid);
    expect(h.fireActivityTimeout(sid, TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE)).toBe(true); // t0+4 s, retry at +1 s
    expect(h.lastEvents).toEqual([]);
    expect(h.activity(sid)).toMatchObject({ attempt: 2, awaitingRetry: true });
    h.fireActivityRetry(sid); // t0+5 s
    h.startActivity(sid);
    h.fireActivityTimeout(sid, TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE); // t0+9 s; +2 s would pass t0+10 s
    expect(names(h.lastEvents)).toEqual(['ActivityTaskStarted', 'ActivityTaskTimedOut', 'WorkflowTaskScheduled']);
    expect(h.lastEvents[0]!.activityTaskStartedEventAttributes).toMatchObject({ attempt: 2, lastFailure: { message: 'activity StartToClose timeout' } });
    const timedOut = h.lastEvents[1]!.activityTaskTimedOutEventAttributes!;
    expect(timedOut.retryState).toBe(RetryState.RETRY_STATE_TIMEOUT);
    expect(timedOut.failure).toMatchObject({
      source: 'Server',
      message: 'Not enough time to schedule next retry before activity ScheduleToClose timeout, giving up retrying',
      timeoutFailureInfo: { timeoutType: TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE },
    });
    expectValid(h);
  });

  it('the schedule-to-close timer fires during a retry backoff: TimedOut{SCHEDULE_TO_CLOSE}, no Started event', () => {
    const h = EngineHarness.start();
    const sid = withActivity(h, {
      scheduleToCloseMs: 10_000,
      startToCloseMs: 2000,
      retryPolicy: { initialInterval: { seconds: 5 }, backoffCoefficient: 1 },
    });
    const from = h.lastEventId;
    h.startActivity(sid);
    h.advance(1000);
    h.failActivity(sid, applicationFailure('one')); // retry at t0+6 s
    h.fireActivityRetry(sid);
    h.startActivity(sid);
    h.advance(1000);
    h.failActivity(sid, applicationFailure('two')); // t0+7 s + 5 s > deadline: closes
    expect(names(h.eventsAfter(from))).toEqual(['ActivityTaskStarted', 'ActivityTaskFailed', 'WorkflowTaskScheduled']);

    const h2 = EngineHarness.start();
    const sid2 = withActivity(h2, { scheduleToCloseMs: 10_000, startToCloseMs: 2000, retryPolicy: { initialInterval: { seconds: 3 }, backoffCoefficient: 1 } });
    const from2 = h2.lastEventId;
    h2.startActivity(sid2);
    h2.advance(6000);
    h2.failActivity(sid2, applicationFailure('one')); // retry at t0+9 s < 10 s
    expect(h2.lastEvents).toEqual([]);
    h2.advance(500);
    h2.fireActivityTimeout(sid2, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE);
    const tail = h2.eventsAfter(from2);
    expect(names(tail)).toEqual(['ActivityTaskTimedOut', 'WorkflowTaskScheduled']);
    expect(tail[0]!.activityTaskTimedOutEventAttributes).toMatchObject({
      scheduledEventId: sid2,
      retryState: RetryState.RETRY_STATE_TIMEOUT,
      failure: { message: 'activity ScheduleToClose timeout', timeoutFailureInfo: { timeoutType: TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE } },
    });
    expect(Number(tail[0]!.activityTaskTimedOutEventAttributes!.startedEventId ?? 0)).toBe(0);
    // Its stale retry row is gone with it.
    expect(h2.timerRows((t) => t.kind === 'activityRetry')).toEqual([]);
    expectValid(h);
    expectValid(h2);
  });

  it('a schedule-to-start timeout is final and writes no Started event', () => {
    const h = EngineHarness.start();
    const sid = withActivity(h, { scheduleToStartMs: 3000, startToCloseMs: 5000 });
    h.fireActivityTimeout(sid, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START);
    expect(names(h.lastEvents)).toEqual(['ActivityTaskTimedOut', 'WorkflowTaskScheduled']);
    expect(h.lastEvents[0]!.activityTaskTimedOutEventAttributes).toMatchObject({
      retryState: RetryState.RETRY_STATE_TIMEOUT,
      failure: { message: 'activity ScheduleToStart timeout', timeoutFailureInfo: { timeoutType: TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START } },
    });
    expectValid(h);
  });

  it('an activity nobody picks up, with only schedule-to-close set, times out as SCHEDULE_TO_START', () => {
    // Both timeouts are due at the same instant; Temporal orders equal timeouts by type, start first.
    const h = EngineHarness.start();
    const sid = withActivity(h, { scheduleToCloseMs: 3000 });
    h.runUntil(h.nowMs + 3000);
    const timedOut = h.history.find((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT);
    expect(timedOut?.activityTaskTimedOutEventAttributes).toMatchObject({
      scheduledEventId: sid,
      failure: { message: 'activity ScheduleToStart timeout', timeoutFailureInfo: { timeoutType: TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START } },
    });
    expect(h.history.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT)).toHaveLength(1);
    expectValid(h);
  });

  it('a heartbeat timeout is retried; heartbeat details reach the next attempt', () => {
    const h = EngineHarness.start();
    const sid = withActivity(h, { startToCloseMs: 60_000, heartbeatMs: 5000 });
    h.startActivity(sid);
    h.advance(3000);
    expect(h.heartbeatActivity(sid, payloads('progress-1'))).toEqual({ cancelRequested: false });
    // The first heartbeat row fires at +5 s but the last heartbeat was at +3 s: re-armed, not timed out.
    h.fireActivityTimeout(sid, TimeoutType.TIMEOUT_TYPE_HEARTBEAT);
    expect(h.activity(sid)).toMatchObject({ attempt: 1, phase: 'started' });
    h.fireActivityTimeout(sid, TimeoutType.TIMEOUT_TYPE_HEARTBEAT); // at +8 s: timed out
    expect(h.activity(sid)).toMatchObject({ attempt: 2, awaitingRetry: true });
    expect(h.lastEvents).toEqual([]);
    h.fireActivityRetry(sid);
    const poll = h.startActivity(sid)!;
    expect(poll.attempt).toBe(2);
    expect(poll.heartbeatDetails?.payloads).toHaveLength(1);
    expectValid(h);
  });
});

describe('activity timeout normalization (§3.1)', () => {
  const scheduledWith = (o: ScheduleActivityOptions, runTimeoutMs?: number) => {
    const h = EngineHarness.start(runTimeoutMs !== undefined ? { runTimeoutMs } : {});
    h.startWorkflowTask();
    const out = h.completeWorkflowTask([cmd.scheduleActivity('a', o)]);
    return { h, out, attrs: h.history.find((e) => e.activityTaskScheduledEventAttributes)?.activityTaskScheduledEventAttributes };
  };
  const ms = (attrs: ReturnType<typeof scheduledWith>['attrs']) => ({
    scheduleToClose: durationToMs(attrs?.scheduleToCloseTimeout),
    scheduleToStart: durationToMs(attrs?.scheduleToStartTimeout),
    startToClose: durationToMs(attrs?.startToCloseTimeout),
    heartbeat: durationToMs(attrs?.heartbeatTimeout),
  });

  it.each([
    ['schedule-to-close only: the others default to it', { scheduleToCloseMs: 60_000 }, undefined, { scheduleToClose: 60_000, scheduleToStart: 60_000, startToClose: 60_000, heartbeat: 0 }],
    ['start-to-close and schedule-to-start are capped by schedule-to-close', { scheduleToCloseMs: 60_000, scheduleToStartMs: 90_000, startToCloseMs: 120_000 }, undefined, { scheduleToClose: 60_000, scheduleToStart: 60_000, startToClose: 60_000, heartbeat: 0 }],
    ['shorter start-to-close is kept', { scheduleToCloseMs: 60_000, startToCloseMs: 10_000 }, undefined, { scheduleToClose: 60_000, scheduleToStart: 60_000, startToClose: 10_000, heartbeat: 0 }],
    ['start-to-close only, no run timeout: schedule-to-close/start = 0 (unlimited)', { startToCloseMs: 10_000 }, undefined, { scheduleToClose: 0, scheduleToStart: 0, startToClose: 10_000, heartbeat: 0 }],
    ['start-to-close only, run timeout: schedule-to-close/start = run timeout', { startToCloseMs: 10_000 }, 300_000, { scheduleToClose: 300_000, scheduleToStart: 300_000, startToClose: 10_000, heartbeat: 0 }],
    ['an explicit schedule-to-start is kept with start-to-close only', { startToCloseMs: 10_000, scheduleToStartMs: 5000 }, 300_000, { scheduleToClose: 300_000, scheduleToStart: 5000, startToClose: 10_000, heartbeat: 0 }],
    ['everything is capped by the run timeout', { scheduleToCloseMs: 3_600_000, startToCloseMs: 600_000, heartbeatMs: 500_000 }, 120_000, { scheduleToClose: 120_000, scheduleToStart: 120_000, startToClose: 120_000, heartbeat: 120_000 }],
    ['heartbeat is capped by start-to-close', { startToCloseMs: 10_000, heartbeatMs: 60_000 }, undefined, { scheduleToClose: 0, scheduleToStart: 0, startToClose: 10_000, heartbeat: 10_000 }],
  ] as const)('%s', (_title, o, run, expected) => {
    const { h, out, attrs } = scheduledWith(o, run);
    expect(out.error).toBeNull();
    expect(ms(attrs)).toEqual(expected);
    const info = Object.values(h.state.activities)[0]!;
    expect({ scheduleToClose: info.scheduleToCloseMs, scheduleToStart: info.scheduleToStartMs, startToClose: info.startToCloseMs, heartbeat: info.heartbeatMs }).toEqual(expected);
    expectValid(h);
  });

  it('a missing retry policy gets the defaults; a partial one is completed', () => {
    const { attrs } = scheduledWith({ startToCloseMs: 1000, retryPolicy: { initialInterval: { seconds: 3 } } });
    expect(durationToMs(attrs?.retryPolicy?.initialInterval)).toBe(3000);
    expect(durationToMs(attrs?.retryPolicy?.maximumInterval)).toBe(300_000);
    expect(attrs?.retryPolicy?.backoffCoefficient).toBe(2);
  });

  it('neither schedule-to-close nor start-to-close: the task fails with BAD_SCHEDULE_ACTIVITY_ATTRIBUTES', () => {
    const { h, out } = scheduledWith({ scheduleToStartMs: 1000 });
    expect(out.error).toBeInstanceOf(InvalidArgumentError);
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskFailed']);
    expect(h.lastEvents[0]!.workflowTaskFailedEventAttributes).toMatchObject({
      cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES,
      scheduledEventId: 2,
      startedEventId: 3,
    });
    // Nothing of the rejected completion was kept; the retry is transient (attempt 2).
    expect(h.state.activities).toEqual({});
    expect(h.workflowTask).toMatchObject({ attempt: 2, transient: true, startedEventId: 0 });
    expectValid(h);
  });
});

describe('timers (§3.3)', () => {
  it('start and fire', () => {
    const h = EngineHarness.start();
    h.startWorkflowTask();
    h.completeWorkflowTask([cmd.startTimer('1', 5000)]);
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskCompleted', 'TimerStarted']);
    expect(h.lastEvents[1]!.timerStartedEventAttributes).toMatchObject({ timerId: '1', workflowTaskCompletedEventId: 4 });
    expect(durationToMs(h.lastEvents[1]!.timerStartedEventAttributes!.startToFireTimeout)).toBe(5000);
    const rows = h.timerRows((t) => t.kind === 'userTimer');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.fireAtMs).toBe(h.nowMs + 5000);
    h.runUntil(h.nowMs + 5000);
    expect(names(h.eventsAfter(5))).toEqual(['TimerFired', 'WorkflowTaskScheduled']);
    expect(event(h, 6).timerFiredEventAttributes).toMatchObject({ timerId: '1', startedEventId: 5 });
    expect(h.state.timers).toEqual({});
    expectValid(h);
  });

  it('cancel a pending timer: TimerCanceled, its row deleted', () => {
    const h = EngineHarness.start();
    h.startWorkflowTask();
    h.completeWorkflowTask([cmd.startTimer('1', 60_000)]);
    h.signal('wake');
    h.startWorkflowTask();
    h.completeWorkflowTask([cmd.cancelTimer('1')]);
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskCompleted', 'TimerCanceled']);
    const completedId = Number(h.lastEvents[0]!.eventId);
    expect(h.lastEvents[1]!.timerCanceledEventAttributes).toMatchObject({ timerId: '1', startedEventId: 5, workflowTaskCompletedEventId: completedId, identity: 'worker' });
    expect(h.timerRows((t) => t.kind === 'userTimer')).toEqual([]);
    expect(h.workflowTask).toBeNull();
    expectValid(h);
  });

  it('cancel a timer whose TimerFired is buffered: the TimerFired is dropped, no new task', () => {
    const h = EngineHarness.start();
    h.startWorkflowTask();
    h.completeWorkflowTask([cmd.startTimer('1', 5000)]);
    h.signal('wake');
    h.startWorkflowTask();
    const startedId = h.lastEventId;
    expect(h.fireUserTimer('1')).toBe(true);
    expect(h.history).toHaveLength(startedId); // buffered
    expect(h.state.buffered).toHaveLength(1);
    h.completeWorkflowTask([cmd.cancelTimer('1')]);
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskCompleted', 'TimerCanceled']);
    expect(h.lastEvents[1]!.timerCanceledEventAttributes).toMatchObject({ timerId: '1', startedEventId: 5 });
    expect(h.state.buffered).toEqual([]);
    expect(h.workflowTask).toBeNull();
    expectValid(h);
  });

  it('a timer that fires during a started task is written after the completion', () => {
    const h = EngineHarness.start();
    h.startWorkflowTask();
    h.completeWorkflowTask([cmd.startTimer('1', 5000)]);
    h.signal('wake');
    h.startWorkflowTask();
    h.fireUserTimer('1');
    h.completeWorkflowTask([cmd.recordMarker('m')]);
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskCompleted', 'MarkerRecorded', 'TimerFired', 'WorkflowTaskScheduled']);
    expectValid(h);
  });

  it('cancelling an unknown timer fails the task with BAD_CANCEL_TIMER_ATTRIBUTES', () => {
    const h = EngineHarness.start();
    h.startWorkflowTask();
    const out = h.completeWorkflowTask([cmd.cancelTimer('nope')]);
    expect(out.error).toBeInstanceOf(InvalidArgumentError);
    expect(h.lastEvents[0]!.workflowTaskFailedEventAttributes!.cause).toBe(Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_TIMER_ATTRIBUTES);
    expectValid(h);
  });
});

describe('buffering (§3.4)', () => {
  it('a signal during a started task is written after the command events, then a new task', () => {
    const h = EngineHarness.start();
    h.startWorkflowTask();
    expect(h.signal('greeting', payloads('hi'), { identity: 'sender' })).toBe(true);
    expect(h.history).toHaveLength(3);
    h.completeWorkflowTask([cmd.startTimer('t', 1000)]);
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskCompleted', 'TimerStarted', 'WorkflowExecutionSignaled', 'WorkflowTaskScheduled']);
    expect(h.lastEvents[2]!.workflowExecutionSignaledEventAttributes).toMatchObject({ signalName: 'greeting', identity: 'sender' });
    expect(h.lastEvents[3]!.workflowTaskScheduledEventAttributes!.attempt).toBe(1);
    expectValid(h);
  });

  it('a signal while a task is scheduled (not started) is written at once and does not add a task', () => {
    const h = EngineHarness.start();
    h.signal('s');
    expect(names(h.history)).toEqual(['WorkflowExecutionStarted', 'WorkflowTaskScheduled', 'WorkflowExecutionSignaled']);
    const poll = h.startWorkflowTask()!;
    expect(poll.scheduledEventId).toBe(2);
    expect(event(h, 4).workflowTaskStartedEventAttributes!.scheduledEventId).toBe(2);
    expectValid(h);
  });

  it('signal request ids are de-duplicated', () => {
    const h = EngineHarness.start();
    expect(h.signal('s', null, { requestId: 'r1' })).toBe(true);
    expect(h.signal('s', null, { requestId: 'r1' })).toBe(false);
    expect(names(h.history).filter((n) => n === 'WorkflowExecutionSignaled')).toHaveLength(1);
  });

  it('a run written before request ids moved out of its state still de-duplicates the ids it holds', () => {
    const h = EngineHarness.start();
    h.state.signalRequestIds.push('old-request');
    expect(h.signal('s', null, { requestId: 'old-request' })).toBe(false);
    expect(h.signal('s', null, { requestId: 'new-request' })).toBe(true);
    expect(h.state.signalRequestIds).toEqual(['old-request']);
  });

  it('counts every signal, with or without a request id, against the per-run limit', () => {
    const h = EngineHarness.start();
    h.signal('s');
    h.signal('s', null, { requestId: 'r1' });
    expect(h.state.signalCount).toBe(2);
    h.state.signalCount = LIMITS.maxSignalsPerExecution;
    expect(() => h.signal('s')).toThrow(/Signal count exceeds limit/);
  });

  it('buffered activity completions come after other buffered events, Started before its close', () => {
    const h = EngineHarness.start();
    const sid = withActivity(h);
    h.startActivity(sid);
    h.signal('first');
    h.startWorkflowTask();
    h.completeActivity(sid);
    h.signal('second');
    expect(h.state.buffered).toHaveLength(3);
    h.completeWorkflowTask([]);
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskCompleted', 'ActivityTaskStarted', 'WorkflowExecutionSignaled', 'ActivityTaskCompleted', 'WorkflowTaskScheduled']);
    const started = h.lastEvents[1]!;
    expect(h.lastEvents[3]!.activityTaskCompletedEventAttributes).toMatchObject({ scheduledEventId: sid, startedEventId: Number(started.eventId) });
    expectValid(h);
  });

  it('UnhandledCommand: a close command while events are buffered fails the task; buffered events then a new task', () => {
    const h = EngineHarness.start();
    const poll = h.startWorkflowTask()!;
    h.signal('late');
    const out = h.completeWorkflowTask([cmd.completeWorkflow()]);
    expect(out.error).toBeInstanceOf(InvalidArgumentError);
    expect(out.error!.message).toBe('UnhandledCommand');
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskFailed', 'WorkflowExecutionSignaled', 'WorkflowTaskScheduled']);
    expect(h.lastEvents[0]!.workflowTaskFailedEventAttributes).toMatchObject({
      cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
      scheduledEventId: poll.scheduledEventId,
      startedEventId: poll.startedEventId,
    });
    expect(h.lastEvents[2]!.workflowTaskScheduledEventAttributes!.attempt).toBe(1);
    expect(h.workflowTask).toMatchObject({ attempt: 1, transient: false });
    expect(h.running).toBe(true);
    // The next attempt sees the signal and may complete.
    h.startWorkflowTask();
    expect(h.completeWorkflowTask([cmd.completeWorkflow()]).error).toBeNull();
    expect(h.running).toBe(false);
    expectValid(h);
  });

  it('UnhandledCommand on a transient (retried) task writes its Scheduled/Started first', () => {
    const h = EngineHarness.start();
    h.startWorkflowTask();
    h.failWorkflowTask();
    const poll = h.startWorkflowTask()!;
    expect(poll.attempt).toBe(2);
    h.signal('late');
    const out = h.completeWorkflowTask([cmd.completeWorkflow()]);
    expect(out.error?.message).toBe('UnhandledCommand');
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskScheduled', 'WorkflowTaskStarted', 'WorkflowTaskFailed', 'WorkflowExecutionSignaled', 'WorkflowTaskScheduled']);
    expect(h.lastEvents[0]!.workflowTaskScheduledEventAttributes!.attempt).toBe(2);
    expect(Number(h.lastEvents[0]!.eventId)).toBe(poll.scheduledEventId);
    expect(Number(h.lastEvents[1]!.eventId)).toBe(poll.startedEventId);
    expect(h.lastEvents[4]!.workflowTaskScheduledEventAttributes!.attempt).toBe(1);
    expectValid(h);
  });

  it('force_create_new_workflow_task schedules a new task after an empty completion', () => {
    const h = EngineHarness.start();
    h.startWorkflowTask();
    h.completeWorkflowTask([], { forceCreateNewWorkflowTask: true });
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskCompleted', 'WorkflowTaskScheduled']);
    expectValid(h);
  });
});

describe('workflow-task failure and transient retries (§3.5)', () => {
  it('a failed task yields a transient attempt 2 (no events); completing it writes Scheduled(2)/Started/Completed', () => {
    const h = EngineHarness.start();
    h.startWorkflowTask();
    h.failWorkflowTask(Cause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE);
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskFailed']);
    expect(h.lastEvents[0]!.workflowTaskFailedEventAttributes).toMatchObject({
      scheduledEventId: 2,
      startedEventId: 3,
      cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
      failure: { message: 'workflow code threw' },
    });
    expect(h.workflowTask).toMatchObject({ attempt: 2, transient: true, scheduledEventId: 5, startedEventId: 0 });
    expect(h.dispatches.at(-1)).toEqual({ kind: 'workflowTask', taskQueue: 'tq', scheduledEventId: 5, attempt: 2, priorityKey: 0 });
    expect(h.history).toHaveLength(4);

    const poll = h.startWorkflowTask()!;
    expect(h.lastEvents).toEqual([]);
    expect(h.history).toHaveLength(4);
    expect(poll).toMatchObject({ attempt: 2, scheduledEventId: 5, startedEventId: 6 });
    expect(names(poll.history.slice(4))).toEqual(['WorkflowTaskScheduled', 'WorkflowTaskStarted']);
    expect(poll.history[4]!.workflowTaskScheduledEventAttributes!.attempt).toBe(2);
    expect(poll.history[5]!.workflowTaskStartedEventAttributes!.scheduledEventId).toBe(5);
    expect(validateHistory(poll.history)).toEqual([]);

    expect(h.completeWorkflowTask([cmd.startTimer('t', 1000)]).error).toBeNull();
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskScheduled', 'WorkflowTaskStarted', 'WorkflowTaskCompleted', 'TimerStarted']);
    expect(h.lastEvents.map((e) => Number(e.eventId))).toEqual([5, 6, 7, 8]);
    expect(h.lastEvents[0]!.workflowTaskScheduledEventAttributes!.attempt).toBe(2);
    expect(h.lastEvents[2]!.workflowTaskCompletedEventAttributes).toMatchObject({ scheduledEventId: 5, startedEventId: 6 });
    expect(h.state.lastCompletedWftStartedEventId).toBe(6);
    expectValid(h);
  });

  it('further failures and timeouts of transient attempts write nothing; the attempt keeps counting', () => {
    const h = EngineHarness.start();
    h.startWorkflowTask();
    h.failWorkflowTask();
    const len = h.history.length;
    h.startWorkflowTask();
    h.failWorkflowTask();
    expect(h.workflowTask).toMatchObject({ attempt: 3, transient: true });
    h.startWorkflowTask();
    expect(h.timeOutWorkflowTask()).toBe(true);
    expect(h.workflowTask).toMatchObject({ attempt: 4, transient: true, startedEventId: 0 });
    expect(h.history).toHaveLength(len);
    const poll = h.startWorkflowTask()!;
    expect(poll.attempt).toBe(4);
    h.completeWorkflowTask([]);
    expect(names(h.eventsAfter(len))).toEqual(['WorkflowTaskScheduled', 'WorkflowTaskStarted', 'WorkflowTaskCompleted']);
    expect(h.history[len]!.workflowTaskScheduledEventAttributes!.attempt).toBe(4);
    expectValid(h);
  });

  it('a timed-out attempt 1 writes WorkflowTaskTimedOut{START_TO_CLOSE} and schedules attempt 2 transiently', () => {
    const h = EngineHarness.start({ workflowTaskTimeoutMs: 5000 });
    h.startWorkflowTask();
    const startedAt = h.nowMs;
    h.timeOutWorkflowTask();
    expect(h.nowMs).toBe(startedAt + 5000);
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskTimedOut']);
    expect(h.lastEvents[0]!.workflowTaskTimedOutEventAttributes).toMatchObject({ scheduledEventId: 2, startedEventId: 3, timeoutType: TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE });
    expect(h.workflowTask).toMatchObject({ attempt: 2, transient: true });
    expectValid(h);
  });

  it('new events during a transient scheduled attempt turn it back into a normal attempt 1', () => {
    const h = EngineHarness.start();
    h.startWorkflowTask();
    h.failWorkflowTask();
    expect(h.workflowTask).toMatchObject({ attempt: 2, transient: true, scheduledEventId: 5 });
    h.signal('wake');
    expect(names(h.lastEvents)).toEqual(['WorkflowExecutionSignaled', 'WorkflowTaskScheduled']);
    expect(h.lastEvents[1]!.workflowTaskScheduledEventAttributes!.attempt).toBe(1);
    expect(h.workflowTask).toMatchObject({ attempt: 1, transient: false, scheduledEventId: 6 });
    expect(h.dispatches.at(-1)).toEqual({ kind: 'workflowTask', taskQueue: 'tq', scheduledEventId: 6, attempt: 1, priorityKey: 0 });
    const poll = h.startWorkflowTask()!;
    expect(poll).toMatchObject({ attempt: 1, scheduledEventId: 6, startedEventId: 7 });
    expectValid(h);
  });

  it('an activity completion during a transient scheduled attempt also resets it to attempt 1', () => {
    const h = EngineHarness.start();
    const sid = withActivity(h);
    h.startActivity(sid);
    h.signal('s');
    h.startWorkflowTask();
    h.failWorkflowTask();
    expect(h.workflowTask).toMatchObject({ transient: true, attempt: 2 });
    h.completeActivity(sid);
    expect(names(h.lastEvents)).toEqual(['ActivityTaskStarted', 'ActivityTaskCompleted', 'WorkflowTaskScheduled']);
    expect(h.workflowTask).toMatchObject({ transient: false, attempt: 1 });
    expectValid(h);
  });

  it('events arriving during a transient started attempt are buffered and follow its completion', () => {
    const h = EngineHarness.start();
    h.startWorkflowTask();
    h.failWorkflowTask();
    h.startWorkflowTask();
    h.signal('during');
    expect(h.lastEvents).toEqual([]);
    h.completeWorkflowTask([]);
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskScheduled', 'WorkflowTaskStarted', 'WorkflowTaskCompleted', 'WorkflowExecutionSignaled', 'WorkflowTaskScheduled']);
    expectValid(h);
  });

  it('a transient attempt that fails again with buffered events flushes them and resets to attempt 1', () => {
    const h = EngineHarness.start();
    h.startWorkflowTask();
    h.failWorkflowTask();
    h.startWorkflowTask();
    h.signal('during');
    h.failWorkflowTask();
    expect(names(h.lastEvents)).toEqual(['WorkflowExecutionSignaled', 'WorkflowTaskScheduled']);
    expect(h.workflowTask).toMatchObject({ attempt: 1, transient: false });
    expectValid(h);
  });

  it('an invalid completion of a transient attempt is dropped (its timeout retries it)', () => {
    const h = EngineHarness.start();
    h.startWorkflowTask();
    h.failWorkflowTask();
    const poll = h.startWorkflowTask()!;
    const before = structuredClone(h.state);
    const out = h.completeWorkflowTask([cmd.cancelTimer('nope')]);
    expect(out.error).toBeInstanceOf(InvalidArgumentError);
    expect(h.lastEvents).toEqual([]);
    expect(h.state).toEqual(before);
    expect(h.workflowTask).toMatchObject({ attempt: 2, startedEventId: poll.startedEventId });
    expectValid(h);
  });
});

describe('activity cancellation (§3.9)', () => {
  it('RequestCancelActivityTask on an unstarted activity writes CancelRequested + Canceled at once, then a new task', () => {
    const h = EngineHarness.start();
    const sid = withActivity(h, { startToCloseMs: 10_000, scheduleToCloseMs: 60_000 });
    h.signal('cancel it');
    h.startWorkflowTask();
    h.completeWorkflowTask([cmd.requestCancelActivity(sid)]);
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskCompleted', 'ActivityTaskCancelRequested', 'ActivityTaskCanceled', 'WorkflowTaskScheduled']);
    const completedId = Number(h.lastEvents[0]!.eventId);
    const requestedId = Number(h.lastEvents[1]!.eventId);
    expect(h.lastEvents[1]!.activityTaskCancelRequestedEventAttributes).toMatchObject({ scheduledEventId: sid, workflowTaskCompletedEventId: completedId });
    expect(h.lastEvents[2]!.activityTaskCanceledEventAttributes).toMatchObject({ scheduledEventId: sid, latestCancelRequestedEventId: requestedId });
    expect(Number(h.lastEvents[2]!.activityTaskCanceledEventAttributes!.startedEventId ?? 0)).toBe(0);
    expect(h.activity(sid)).toBeUndefined();
    expect(h.timerRows((t) => t.kind === 'activityTimeout' || t.kind === 'activityRetry')).toEqual([]);
    expectValid(h);
  });

  it('an activity waiting for a retry is cancelled at once too', () => {
    const h = EngineHarness.start();
    const sid = withActivity(h);
    h.startActivity(sid);
    h.failActivity(sid);
    h.signal('cancel it');
    h.startWorkflowTask();
    h.completeWorkflowTask([cmd.requestCancelActivity(sid)]);
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskCompleted', 'ActivityTaskCancelRequested', 'ActivityTaskCanceled', 'WorkflowTaskScheduled']);
    expect(h.timerRows((t) => t.kind === 'activityRetry')).toEqual([]);
    expectValid(h);
  });

  it('a started activity is asked to cancel; its RespondActivityTaskCanceled writes Started + Canceled', () => {
    const h = EngineHarness.start();
    const sid = withActivity(h);
    h.startActivity(sid);
    h.signal('cancel it');
    h.startWorkflowTask();
    h.completeWorkflowTask([cmd.requestCancelActivity(sid)]);
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskCompleted', 'ActivityTaskCancelRequested']);
    const requestedId = Number(h.lastEvents[1]!.eventId);
    expect(h.heartbeatActivity(sid)).toEqual({ cancelRequested: true });
    h.cancelActivity(sid, payloads('bye'));
    expect(names(h.lastEvents)).toEqual(['ActivityTaskStarted', 'ActivityTaskCanceled', 'WorkflowTaskScheduled']);
    expect(h.lastEvents[1]!.activityTaskCanceledEventAttributes).toMatchObject({
      scheduledEventId: sid,
      startedEventId: Number(h.lastEvents[0]!.eventId),
      latestCancelRequestedEventId: requestedId,
    });
    expectValid(h);
  });

  it('a started activity that fails after a cancel request is not retried (CANCEL_REQUESTED)', () => {
    const h = EngineHarness.start();
    const sid = withActivity(h);
    h.startActivity(sid);
    h.signal('cancel it');
    h.startWorkflowTask();
    h.completeWorkflowTask([cmd.requestCancelActivity(sid)]);
    h.failActivity(sid);
    expect(names(h.lastEvents)).toEqual(['ActivityTaskStarted', 'ActivityTaskFailed', 'WorkflowTaskScheduled']);
    expect(h.lastEvents[1]!.activityTaskFailedEventAttributes!.retryState).toBe(RetryState.RETRY_STATE_CANCEL_REQUESTED);
    expectValid(h);
  });

  // Regression (fixed): machines/activity.ts requestCancelActivity writes the immediate
  // ActivityTaskCanceled of an unstarted activity with details=null and no identity. Temporal
  // (workflow_task_completed_handler.go handleCommandRequestCancelActivity) writes
  // details=payloads.EncodeString("ACTIVITY_ID_NOT_STARTED") and identity=<completing worker> (contract §3.9).
  // Expected: details carries "ACTIVITY_ID_NOT_STARTED", identity 'worker'. Actual: details null, identity ''.
  it('the immediate ActivityTaskCanceled of an unstarted activity carries ACTIVITY_ID_NOT_STARTED and the identity', () => {
    const h = EngineHarness.start();
    const sid = withActivity(h);
    h.signal('cancel it');
    h.startWorkflowTask();
    h.completeWorkflowTask([cmd.requestCancelActivity(sid)], { identity: 'worker' });
    const canceled = h.lastEvents[2]!.activityTaskCanceledEventAttributes!;
    const data = canceled.details?.payloads?.[0]?.data;
    expect(data ? Buffer.from(data).toString() : '').toContain('ACTIVITY_ID_NOT_STARTED');
    expect(canceled.identity).toBe('worker');
  });

  // Regression (fixed): machines/activity.ts requestCancelActivity accepts a second
  // RequestCancelActivityTask for an activity whose cancellation was already requested and writes a
  // second ActivityTaskCancelRequested. Temporal rejects it (MutableStateImpl.AddActivityTaskCancelRequestedEvent:
  // "Check for duplicate cancellation" -> caller error -> WorkflowTaskFailed{BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES}).
  // Expected: the completion fails with BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES. Actual: a duplicate CancelRequested event.
  it('a duplicate RequestCancelActivityTask is rejected (as Temporal does)', () => {
    const h = EngineHarness.start();
    const sid = withActivity(h);
    h.startActivity(sid);
    h.signal('cancel it');
    h.startWorkflowTask();
    h.completeWorkflowTask([cmd.requestCancelActivity(sid)]);
    h.signal('again');
    h.startWorkflowTask();
    const out = h.completeWorkflowTask([cmd.requestCancelActivity(sid)]);
    expect(out.error).toBeInstanceOf(InvalidArgumentError);
    expect(h.lastEvents[0]!.workflowTaskFailedEventAttributes?.cause).toBe(Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES);
    expectValid(h);
  });

  // Regression (fixed): machines/activity.ts + api/commands.ts (COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK) reject a
  // RequestCancelActivityTask for an activity whose completion is buffered (it closed while this
  // workflow task was running, so the worker could not know). Temporal accepts it
  // (MutableStateImpl.AddActivityTaskCancelRequestedEvent: "It is possible both started and completed
  // events are buffered for this activity" -> hBuilder.HasActivityFinishEvent): it writes
  // ActivityTaskCancelRequested and then flushes the buffered Started/Completed.
  // Expected: WorkflowTaskCompleted, ActivityTaskCancelRequested, ActivityTaskStarted, ActivityTaskCompleted, WorkflowTaskScheduled.
  // Actual:   the completion is rejected (InvalidArgument "invalid activity: no pending activity ...") and
  //           WorkflowTaskFailed{BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES} is written — a spurious task failure.
  it('RequestCancelActivityTask for an activity whose completion is buffered is accepted (as Temporal does)', () => {
    const h = EngineHarness.start();
    const sid = withActivity(h);
    h.startActivity(sid);
    h.signal('cancel it');
    h.startWorkflowTask();
    h.completeActivity(sid); // buffered: the worker's history does not show it yet
    const out = h.completeWorkflowTask([cmd.requestCancelActivity(sid)]);
    expect(out.error).toBeNull();
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskCompleted', 'ActivityTaskCancelRequested', 'ActivityTaskStarted', 'ActivityTaskCompleted', 'WorkflowTaskScheduled']);
    expectValid(h);
  });
});

describe('termination and run timeout (§3.9)', () => {
  it('terminate with a started task: WorkflowTaskFailed{FORCE_CLOSE_COMMAND}, then WorkflowExecutionTerminated', () => {
    const h = EngineHarness.start({ runTimeoutMs: 3_600_000 });
    const sid = withActivity(h);
    h.signal('s');
    h.startWorkflowTask();
    h.terminate('stop', 'admin');
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskFailed', 'WorkflowExecutionTerminated']);
    expect(h.lastEvents[0]!.workflowTaskFailedEventAttributes).toMatchObject({
      cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND,
      scheduledEventId: 7,
      startedEventId: 8,
    });
    expect(h.lastEvents[1]!.workflowExecutionTerminatedEventAttributes).toMatchObject({ reason: 'stop', identity: 'admin' });
    expect(h.state.status).toBe(WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED);
    expect(h.state.activities).toEqual({});
    expect(h.activity(sid)).toBeUndefined();
    expect(h.timers.size).toBe(0);
    expect(() => h.completeWorkflowTask([])).toThrow(NotFoundError);
    expect(() => h.terminate()).toThrow(NotFoundError);
    expectValid(h);
  });

  it('terminate with only a scheduled task writes just WorkflowExecutionTerminated', () => {
    const h = EngineHarness.start();
    h.terminate();
    expect(names(h.lastEvents)).toEqual(['WorkflowExecutionTerminated']);
    expectValid(h);
  });

  it('terminate during a transient started attempt writes no WorkflowTaskFailed', () => {
    const h = EngineHarness.start();
    h.startWorkflowTask();
    h.failWorkflowTask();
    h.startWorkflowTask();
    h.terminate();
    expect(names(h.lastEvents)).toEqual(['WorkflowExecutionTerminated']);
    expectValid(h);
  });

  // Regression (fixed): machines/workflow.ts terminateWorkflow -> closeWorkflow drops the buffered events
  // (state.buffered = []). Temporal's TerminateWorkflow calls failWorkflowTask (service/history/workflow/util.go),
  // which writes WorkflowTaskFailed{FORCE_CLOSE_COMMAND} and then mutableState.FlushBufferedEvents()
  // before WorkflowExecutionTerminated, so a signal (or activity result) received during the task is kept.
  // Expected: WorkflowTaskFailed, WorkflowExecutionSignaled, WorkflowExecutionTerminated.
  // Actual:   WorkflowTaskFailed, WorkflowExecutionTerminated (the signal is lost from the history).
  it('terminate with a started task keeps the events buffered during it (as Temporal does)', () => {
    const h = EngineHarness.start();
    h.startWorkflowTask();
    h.signal('during');
    h.terminate();
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskFailed', 'WorkflowExecutionSignaled', 'WorkflowExecutionTerminated']);
    expectValid(h);
  });

  it('run timeout with no task started writes WorkflowExecutionTimedOut{TIMEOUT} and clears every timer row', () => {
    const h = EngineHarness.start({ runTimeoutMs: 60_000 });
    h.startWorkflowTask();
    h.completeWorkflowTask([cmd.startTimer('t', 3_600_000), cmd.scheduleActivity('a', { startToCloseMs: 10_000 })]);
    expect(h.fireRunTimeout()).toBe(true);
    expect(names(h.lastEvents)).toEqual(['WorkflowExecutionTimedOut']);
    expect(h.lastEvents[0]!.workflowExecutionTimedOutEventAttributes!.retryState).toBe(RetryState.RETRY_STATE_TIMEOUT);
    expect(h.state.status).toBe(WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT);
    expect(h.timers.size).toBe(0);
    expectValid(h);
  });

  // Regression (fixed): ops/timers.ts handleTimer ('workflowRunTimeout' / 'workflowExecutionTimeout') calls closeWorkflow
  // directly. Temporal's TimeoutWorkflow (service/history/workflow/util.go) first fails a started workflow
  // task with FORCE_CLOSE_COMMAND (flushing buffered events), exactly like TerminateWorkflow.
  // Expected: WorkflowTaskFailed{FORCE_CLOSE_COMMAND}, WorkflowExecutionSignaled, WorkflowExecutionTimedOut.
  // Actual:   WorkflowExecutionTimedOut right after WorkflowTaskStarted; the buffered signal is dropped.
  it('run timeout with a started task fails the task first and keeps buffered events (as Temporal does)', () => {
    const h = EngineHarness.start({ runTimeoutMs: 60_000 });
    h.startWorkflowTask();
    h.signal('during');
    h.fireRunTimeout();
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskFailed', 'WorkflowExecutionSignaled', 'WorkflowExecutionTimedOut']);
    expect(h.lastEvents[0]!.workflowTaskFailedEventAttributes?.cause).toBe(Cause.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND);
    expectValid(h);
  });

  it('a workflow cancel request is idempotent and schedules a task', () => {
    const h = EngineHarness.start();
    h.startWorkflowTask();
    h.completeWorkflowTask([]);
    h.requestCancelWorkflow('please');
    h.requestCancelWorkflow('again');
    expect(names(h.eventsAfter(4))).toEqual(['WorkflowExecutionCancelRequested', 'WorkflowTaskScheduled']);
    h.startWorkflowTask();
    h.completeWorkflowTask([cmd.cancelWorkflow()]);
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskCompleted', 'WorkflowExecutionCanceled']);
    h.requestCancelWorkflow('after close'); // no-op
    expect(h.lastEvents).toEqual([]);
    expectValid(h);
  });
});

describe('commands', () => {
  it('a close command must be the last command', () => {
    const h = EngineHarness.start();
    h.startWorkflowTask();
    const out = h.completeWorkflowTask([cmd.completeWorkflow(), cmd.startTimer('t', 1000)]);
    expect(out.error).toBeInstanceOf(InvalidArgumentError);
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskFailed']);
    expect(h.lastEvents[0]!.workflowTaskFailedEventAttributes!.cause).toBe(Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_COMPLETE_WORKFLOW_EXECUTION_ATTRIBUTES);
    expect(h.running).toBe(true);
    expectValid(h);
  });

  it('command events echo the commands in order, each pointing at the WorkflowTaskCompleted', () => {
    const h = EngineHarness.start();
    h.startWorkflowTask();
    h.completeWorkflowTask([cmd.recordMarker('m1'), cmd.startTimer('t1', 1000), cmd.scheduleActivity('a1'), cmd.recordMarker('m2'), cmd.startTimer('t2', 2000)]);
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskCompleted', 'MarkerRecorded', 'TimerStarted', 'ActivityTaskScheduled', 'MarkerRecorded', 'TimerStarted']);
    expect(h.lastEvents[1]!.markerRecordedEventAttributes).toMatchObject({ markerName: 'm1', workflowTaskCompletedEventId: 4 });
    expect(h.lastEvents[4]!.markerRecordedEventAttributes).toMatchObject({ markerName: 'm2', workflowTaskCompletedEventId: 4 });
    expect(h.lastEvents[5]!.timerStartedEventAttributes).toMatchObject({ timerId: 't2', workflowTaskCompletedEventId: 4 });
    expectValid(h);
  });

  it('duplicate timer and activity ids fail the task', () => {
    const h = EngineHarness.start();
    h.startWorkflowTask();
    const out = h.completeWorkflowTask([cmd.startTimer('t', 1000), cmd.startTimer('t', 1000)]);
    expect(h.lastEvents[0]!.workflowTaskFailedEventAttributes!.cause).toBe(Cause.WORKFLOW_TASK_FAILED_CAUSE_START_TIMER_DUPLICATE_ID);
    expect(out.error).toBeInstanceOf(InvalidArgumentError);
    expect(h.state.timers).toEqual({});
    h.signal('s');
    h.startWorkflowTask();
    h.completeWorkflowTask([cmd.scheduleActivity('a'), cmd.scheduleActivity('a')]);
    expect(h.lastEvents[0]!.workflowTaskFailedEventAttributes!.cause).toBe(Cause.WORKFLOW_TASK_FAILED_CAUSE_SCHEDULE_ACTIVITY_DUPLICATE_ID);
    expectValid(h);
  });
});

describe('history validator', () => {
  const base = (): HistoryEvent[] => {
    const h = EngineHarness.start();
    const sid = withActivity(h);
    h.startActivity(sid);
    h.completeActivity(sid);
    h.startWorkflowTask();
    return structuredClone(h.history);
  };

  it('accepts a valid history', () => {
    expect(validateHistory(base())).toEqual([]);
  });

  it('rejects gaps, a wrong first event, mismatched attributes and events after a close', () => {
    const gap = base();
    gap[2]!.eventId = 9;
    expect(validateHistory(gap).join('\n')).toMatch(/contiguous/);
    expect(validateHistory(base().slice(1)).join('\n')).toMatch(/first event must be WorkflowExecutionStarted/);
    const wrongAttrs = base();
    wrongAttrs[1]!.eventType = EventType.EVENT_TYPE_TIMER_STARTED;
    expect(validateHistory(wrongAttrs).join('\n')).toMatch(/timerStartedEventAttributes is not set/);
    const afterClose = base();
    afterClose.push({ eventId: afterClose.length + 1, eventTime: { seconds: 1 }, eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED, workflowExecutionTerminatedEventAttributes: {} });
    afterClose.push({ eventId: afterClose.length + 1, eventTime: { seconds: 1 }, eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, workflowExecutionSignaledEventAttributes: {} });
    expect(validateHistory(afterClose).join('\n')).toMatch(/follows the workflow close event/);
  });

  it('rejects an event between WorkflowTaskStarted and its close, and wrong references', () => {
    const h = base();
    h.push({ eventId: h.length + 1, eventTime: { seconds: 1 }, eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, workflowExecutionSignaledEventAttributes: {} });
    expect(validateHistory(h).join('\n')).toMatch(/follows WorkflowTaskStarted/);
    const wrongStarted = base();
    wrongStarted[6]!.activityTaskCompletedEventAttributes!.startedEventId = 0;
    expect(validateHistory(wrongStarted).join('\n')).toMatch(/started_event_id 0, expected 6/);
    const wrongWft = base();
    wrongWft[8]!.workflowTaskStartedEventAttributes!.scheduledEventId = 2;
    expect(validateHistory(wrongWft).join('\n')).toMatch(/not the pending workflow task/);
  });

  it('accepts decoded protobuf messages with Long ids and enum names', () => {
    const events = base().map((e) => ({ ...e, eventId: { low: Number(e.eventId), high: 0 }, eventType: EventType[Number(e.eventType)] }));
    expect(validateHistory(events as unknown as HistoryEvent[])).toEqual([]);
  });
});
