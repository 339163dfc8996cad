/**
 * Prints the deflate dictionary of state format 1 (src/history/state-dictionary.ts) as base64.
 *
 *   npx tsx packages/server/scripts/state-dictionary.ts
 *
 * The dictionary is a few v8-serialized sample states: field names, the tags around them and the
 * shapes of the nested records, which every stored state repeats. It is a constant of the format: a
 * state written with it can only be read with the very same bytes, so a changed dictionary is a new
 * format number, never an edit of format 1's constant. This script records how the constant was made.
 */
import { serialize } from 'node:v8';
import { newRunState, type ActivityInfo, type MutableState, type UserTimerInfo, type WorkflowTaskInfo } from '../src/history/mutable-state.js';

const NS = '00000000-0000-4000-8000-000000000000';
const RUN = '11111111-1111-4111-8111-111111111111';
const REQ = '22222222-2222-4222-8222-222222222222';
const NOW = 1_790_000_000_000;

function started(): MutableState {
  return newRunState({
    namespaceId: NS,
    workflowId: 'order-12345',
    runId: RUN,
    firstExecutionRunId: RUN,
    workflowType: 'orderWorkflow',
    taskQueue: 'orders',
    startTimeMs: NOW,
    executionTimeMs: NOW,
    workflowTaskTimeoutMs: 10_000,
    runTimeoutMs: 0,
    executionTimeoutMs: 0,
    startRequestId: REQ,
    requestIds: [REQ],
    signalRequestIds: [],
    signalCount: 0,
    memo: null,
    searchAttributes: null,
    attempt: 1,
    retryPolicy: null,
    executionExpirationMs: 0,
    priorityKey: 0,
    cronSchedule: '',
    parent: null,
    startInput: new Uint8Array(),
    startHeader: new Uint8Array(),
  });
}

function workflowTask(startedEventId: number): WorkflowTaskInfo {
  return {
    scheduledEventId: 2,
    startedEventId,
    attempt: 1,
    transient: false,
    scheduledTimeMs: NOW,
    startedTimeMs: startedEventId > 0 ? NOW : 0,
    startToCloseMs: 10_000,
    taskQueue: 'orders',
    identity: startedEventId > 0 ? '4242@worker-host' : '',
    requestId: startedEventId > 0 ? REQ : '',
    timeoutTaskId: '',
  };
}

function activity(): ActivityInfo {
  return {
    scheduledEventId: 5,
    activityId: '1',
    activityType: 'chargeCard',
    taskQueue: 'orders',
    scheduledAttributes: new Uint8Array(),
    scheduledTimeMs: NOW,
    phase: 'started',
    attempt: 1,
    awaitingRetry: false,
    currentAttemptScheduledTimeMs: NOW,
    startedTimeMs: NOW,
    startedIdentity: '4242@worker-host',
    startedRequestId: REQ,
    scheduleToCloseMs: 0,
    scheduleToStartMs: 0,
    startToCloseMs: 60_000,
    heartbeatMs: 0,
    heartbeatDetails: null,
    lastHeartbeatMs: 0,
    lastFailure: null,
    cancelRequested: false,
    cancelRequestedEventId: 0,
    timerTaskIds: [],
    heartbeatTimerTaskId: '',
    priorityKey: 0,
  };
}

function timer(): UserTimerInfo {
  return { timerId: '1', startedEventId: 5, fireAtMs: NOW + 60_000, taskId: '' };
}

const justStarted = started();
justStarted.nextEventId = 3;
justStarted.workflowTask = workflowTask(0);

const withActivity = started();
withActivity.nextEventId = 7;
withActivity.lastCompletedWftStartedEventId = 3;
withActivity.activities = { 5: activity() };
withActivity.stickyTaskQueue = '4242@worker-host-sticky';
withActivity.stickyScheduleToStartMs = 10_000;

const withTimer = started();
withTimer.nextEventId = 6;
withTimer.lastCompletedWftStartedEventId = 3;
withTimer.timers = { '1': timer() };

const closed = started();
closed.status = 2;
closed.closeTimeMs = NOW;
closed.nextEventId = 12;

const parked = started();
parked.nextEventId = 5;
parked.lastCompletedWftStartedEventId = 3;
parked.stickyTaskQueue = '4242@worker-host-sticky';
parked.stickyScheduleToStartMs = 10_000;

// Deflate finds nearer matches cheaper: the most common shapes go last.
const samples = [closed, justStarted, withTimer, withActivity, parked].map((s) => serialize(s));
process.stdout.write(Buffer.concat(samples).toString('base64') + '\n');
