import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { newRunState, type MutableState } from './mutable-state.js';
import { decodePacked, encodePacked, type PackedValue } from './packed-values.js';
import { decodeMutableState, encodeMutableState } from './state-codec.js';
import { runFields } from './test-support/builders.js';

function parkedRun(): MutableState {
  const runId = '6b62087a-5359-4b5a-95cf-9682f93768dc';
  const state = newRunState(
    runFields({
      namespaceId: '73d5ec82-1796-419e-b267-98cc79da4017',
      workflowId: 'bench-idle-abcdef12-0',
      runId,
      workflowType: 'parkedWorkflow',
      taskQueue: 'bench-idle-abcdef12',
      startTimeMs: 1_795_252_320_471,
      executionTimeMs: 1_795_252_320_471,
      startRequestId: '11ef815e-58db-4766-9195-8afb1ecaf0a0',
      requestIds: ['11ef815e-58db-4766-9195-8afb1ecaf0a0'],
      startInput: new Uint8Array([1, 2, 3]),
    }),
  );
  state.nextEventId = 5;
  state.lastCompletedWftStartedEventId = 3;
  state.stickyTaskQueue = '4414@vm-0f65f6745a474cfcbb2fa5496b5f8ac7';
  state.stickyScheduleToStartMs = 10_000;
  return state;
}

const keyOf = (state: MutableState) => ({ namespaceId: state.namespaceId, workflowId: state.workflowId, runId: state.runId });
/** What the row's listing columns hold: the memo and search attributes the stored state leaves out. */
const listedOf = (state: MutableState) => ({ memo: state.memo, searchAttributes: state.searchAttributes });

/** A run with something in every record and map the state has. */
function busyRun(): MutableState {
  const state = parkedRun();
  state.workflowTask = {
    scheduledEventId: 9, startedEventId: 10, attempt: 2, transient: true, scheduledTimeMs: 5, startedTimeMs: 6, startToCloseMs: 10_000,
    taskQueue: 'q', identity: 'w', requestId: 'r', timeoutTaskId: 't1', sticky: true, scheduleToStartTaskId: '',
  };
  state.activities = {
    5: {
      scheduledEventId: 5, activityId: '1', activityType: 'charge', taskQueue: 'q', scheduledAttributes: new Uint8Array([9, 9]),
      scheduledTimeMs: 1, phase: 'started', attempt: 3, awaitingRetry: false, currentAttemptScheduledTimeMs: 2, startedTimeMs: 3,
      startedIdentity: 'w', startedRequestId: 'r', scheduleToCloseMs: 0, scheduleToStartMs: 0, startToCloseMs: 1_000,
      heartbeatMs: 100, heartbeatDetails: new Uint8Array([1]), lastHeartbeatMs: 4, lastFailure: null, cancelRequested: false,
      cancelRequestedEventId: 0, timerTaskIds: ['a', 'b'], heartbeatTimerTaskId: 'b',
    },
  };
  state.timers = { t: { timerId: 't', startedEventId: 7, fireAtMs: 99, taskId: 'x' } };
  state.buffered = [{ event: new Uint8Array([3]), eventType: 12, scheduledEventId: 0, timerId: '' }];
  state.children = {
    11: {
      initiatedEventId: 11, namespaceId: 'n', namespace: 'default', workflowId: 'c', workflowType: 'C', runId: '', startedEventId: 0,
      started: false, parentClosePolicy: 1, initiatedAttributes: new Uint8Array([4]),
    },
  };
  state.externalRequests = { 12: { initiatedEventId: 12, kind: 'signal', initiatedAttributes: new Uint8Array([5]) } };
  state.parent = { namespaceId: 'n', namespace: 'default', workflowId: 'p', runId: 'pr', initiatedEventId: 3 };
  state.updates = {
    u1: { updateId: 'u1', phase: 'admitted', seq: 1, admittedTimeMs: 8, request: new Uint8Array([6]), sentInWft: 0, acceptedEventId: 0, completedEventId: 0, outcome: null },
  };
  state.memo = new Uint8Array([7]);
  state.searchAttributes = new Uint8Array([10, 1, 8]);
  state.priorityKey = 3;
  state.firstExecutionRunId = 'first-run-of-the-chain';
  state.startRequestId = 'start-request';
  state.requestIds = ['signal-with-start', 'start-request'];
  return state;
}

describe('stored run state', () => {
  it('round-trips every record and map, packed by position (no field names stored)', () => {
    for (const state of [parkedRun(), busyRun()]) {
      const bytes = encodeMutableState(state);
      expect(bytes[0]).toBe(3);
      expect(decodeMutableState(bytes, keyOf(state), listedOf(state))).toEqual(state);
      expect(Buffer.from(bytes).includes('workflowTaskTimeoutMs')).toBe(false);
      // The row's key holds the ids; the first run id and start request id are stored only when they differ.
      expect(Buffer.from(bytes).includes(state.runId)).toBe(false);
      expect(Buffer.from(bytes).includes(state.firstExecutionRunId)).toBe(state.firstExecutionRunId !== state.runId);
      expect(Buffer.from(bytes).includes('bench-idle-abcdef12-0')).toBe(false);
    }
    expect(encodeMutableState(parkedRun()).length).toBeLessThan(serialize(parkedRun()).length / 2);
  });

  it('leaves the memo and search attributes to the row, and reads states that still hold them', () => {
    const state = busyRun();
    state.memo = new TextEncoder().encode('memo-held-by-the-row');
    state.searchAttributes = new TextEncoder().encode('BuildIds-held-by-the-row');
    const bytes = encodeMutableState(state);
    expect(Buffer.from(bytes).includes('held-by-the-row')).toBe(false);
    expect(decodeMutableState(bytes, keyOf(state), listedOf(state))).toEqual(state);
    // Without them from the row, the state has none (the row's columns are the only copy).
    expect(decodeMutableState(bytes, keyOf(state), { memo: null, searchAttributes: null })).toEqual({ ...state, memo: null, searchAttributes: null });
    // A state written before the row held them keeps its own, whatever the row says.
    const packed = decodePacked(bytes, 1) as PackedValue[];
    const memoAt = packed.indexOf(true, 20);
    packed[memoAt] = new Uint8Array(state.memo);
    packed[memoAt + 1] = new Uint8Array(state.searchAttributes);
    expect(decodeMutableState(encodePacked(3, packed), keyOf(state), { memo: null, searchAttributes: null })).toEqual(state);
  });

  it('decodes a state packed before its last fields existed, with their defaults', () => {
    const packed = decodePacked(encodeMutableState(parkedRun()), 1) as unknown[];
    // The state as packed when the list ended at `updates`: no stickiness, no priority key.
    const older = packed.slice(0, 39) as PackedValue[];
    for (const bytes of [encodePacked(3, older), Buffer.concat([Buffer.from([2]), serialize(older)])]) {
      const state = decodeMutableState(bytes, keyOf(parkedRun()), listedOf(parkedRun()));
      expect(state).toEqual({ ...parkedRun(), stickyTaskQueue: '', stickyScheduleToStartMs: 0, priorityKey: undefined });
      expect(state.priorityKey).toBeUndefined();
    }
  });

  it('reads states stored in the v8 form of the packed state (format 2)', () => {
    for (const state of [parkedRun(), busyRun()]) {
      const packed = decodePacked(encodeMutableState(state), 1);
      const format2 = Buffer.concat([Buffer.from([2]), serialize(packed)]);
      expect(decodeMutableState(format2, keyOf(state), listedOf(state))).toEqual(state);
    }
  });

  it('keeps the v8 form for a state holding a value the compact form has no tag for', () => {
    const state = busyRun();
    (state as unknown as { startInput: unknown }).startInput = { unexpected: 'object' };
    const bytes = encodeMutableState(state);
    expect(bytes[0]).toBe(2);
    expect(decodeMutableState(bytes, keyOf(state), listedOf(state))).toEqual(state);
  });

  it('reads states stored as the bare v8 serialization of the object, filling fields they lack', () => {
    const legacy: Partial<MutableState> = { ...parkedRun(), signalRequestIds: ['a', 'b'] };
    delete legacy.updates;
    delete legacy.signalCount;
    const state = decodeMutableState(serialize(legacy), keyOf(parkedRun()), listedOf(parkedRun()));
    expect(state.updates).toEqual({});
    expect(state.signalCount).toBe(2);
    expect(state.workflowId).toBe('bench-idle-abcdef12-0');
  });

  it('refuses an unknown format instead of guessing', () => {
    expect(() => decodeMutableState(new Uint8Array([7, 0, 0]), keyOf(parkedRun()), listedOf(parkedRun()))).toThrow(/unknown format 7/);
  });
});

describe('stored standalone activity state', () => {
  it('round-trips the standalone record with its run', () => {
    const state = parkedRun();
    state.standalone = {
      outcome: new Uint8Array([10, 2, 8, 1]), userMetadata: null, startDelayMs: 1500, canceledReason: 'why', cancelIdentity: 'me',
      cancelRequestId: 'c1', terminateRequestId: '', lastAttemptCompleteMs: 42, currentRetryIntervalMs: 1000, totalHeartbeats: 3,
      lastWorkerIdentity: 'worker@host',
    };
    expect(decodeMutableState(encodeMutableState(state), keyOf(state), listedOf(state))).toEqual(state);
    const workflow = parkedRun();
    expect(decodeMutableState(encodeMutableState(workflow), keyOf(workflow), listedOf(workflow)).standalone).toBeUndefined();
  });
});

describe('stored versioning state', () => {
  it('round-trips a run’s Worker Deployment versioning, and leaves it unset on a run that never met it', () => {
    const state = parkedRun();
    state.versioning = {
      behavior: 1, deploymentName: 'orders', buildId: '2.0', workerDeploymentName: 'orders', overrideKind: 1,
      overrideDeploymentName: 'orders', overrideBuildId: '1.0', useRamping: false,
    };
    expect(decodeMutableState(encodeMutableState(state), keyOf(state), listedOf(state))).toEqual(state);
    const plain = parkedRun();
    expect(decodeMutableState(encodeMutableState(plain), keyOf(plain), listedOf(plain)).versioning).toBeUndefined();
  });
});

describe('stored Nexus state', () => {
  it('round-trips a run’s open Nexus operations and its completion callbacks, and leaves both unset on a run without them', () => {
    const state = parkedRun();
    state.nexusOperations = {
      5: {
        scheduledEventId: 5, endpoint: 'payments', endpointId: 'e-1', service: 'svc', operation: 'charge', requestId: 'r-1', scheduledTimeMs: 10,
        scheduleToCloseMs: 60_000, scheduleToStartMs: 0, startToCloseMs: 5_000, phase: 'started', attempt: 2, operationToken: 'tok',
        startedTimeMs: 20, lastAttemptCompleteMs: 20, lastAttemptFailure: new Uint8Array([1, 2]), nextAttemptMs: 0, timerTaskIds: ['a', 'b'],
        invocationTaskId: '', cancelPhase: 'backingOff', cancelRequestedEventId: 9, cancelRequestedTimeMs: 30, cancelAttempt: 1,
        cancelLastAttemptCompleteMs: 31, cancelLastFailure: null, cancelNextAttemptMs: 1_031, cancelTaskId: '',
      },
    };
    state.callbacks = [
      { callback: new Uint8Array([7]), registeredMs: 1, requestId: 'start', phase: 'standby', attempt: 0, lastAttemptCompleteMs: 0, lastAttemptFailure: null, nextAttemptMs: 0 },
    ];
    expect(decodeMutableState(encodeMutableState(state), keyOf(state), listedOf(state))).toEqual(state);
    const plain = decodeMutableState(encodeMutableState(parkedRun()), keyOf(state), listedOf(state));
    expect(plain.nexusOperations).toBeUndefined();
    expect(plain.callbacks).toBeUndefined();
  });
});
