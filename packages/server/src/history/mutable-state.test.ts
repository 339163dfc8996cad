import { createHash } from 'node:crypto';
import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { decodeMutableState, encodeMutableState, newRunState, type MutableState } from './mutable-state.js';
import { STATE_DICTIONARY_V1 } from './state-dictionary.js';

function parkedRun(): MutableState {
  const runId = '6b62087a-5359-4b5a-95cf-9682f93768dc';
  const state = newRunState({
    namespaceId: '73d5ec82-1796-419e-b267-98cc79da4017',
    workflowId: 'bench-idle-abcdef12-0',
    runId,
    firstExecutionRunId: runId,
    workflowType: 'parkedWorkflow',
    taskQueue: 'bench-idle-abcdef12',
    startTimeMs: 1_795_252_320_471,
    executionTimeMs: 1_795_252_320_471,
    workflowTaskTimeoutMs: 10_000,
    runTimeoutMs: 0,
    executionTimeoutMs: 0,
    startRequestId: '11ef815e-58db-4766-9195-8afb1ecaf0a0',
    requestIds: ['11ef815e-58db-4766-9195-8afb1ecaf0a0'],
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
    startInput: new Uint8Array([1, 2, 3]),
    startHeader: new Uint8Array(),
  });
  state.nextEventId = 5;
  state.lastCompletedWftStartedEventId = 3;
  state.stickyTaskQueue = '4414@vm-0f65f6745a474cfcbb2fa5496b5f8ac7';
  state.stickyScheduleToStartMs = 10_000;
  return state;
}

describe('stored run state', () => {
  it('round-trips through format 1 and is a fraction of the bare serialization', () => {
    const state = parkedRun();
    const bytes = encodeMutableState(state);
    expect(bytes[0]).toBe(1);
    expect(decodeMutableState(bytes)).toEqual(state);
    expect(bytes.length).toBeLessThan(serialize(state).length / 3);
  });

  it('reads states stored before format 1 (bare v8 serialization), filling fields they lack', () => {
    const legacy: Partial<MutableState> = { ...parkedRun(), signalRequestIds: ['a', 'b'] };
    delete legacy.updates;
    delete legacy.signalCount;
    const state = decodeMutableState(serialize(legacy));
    expect(state.updates).toEqual({});
    expect(state.signalCount).toBe(2);
    expect(state.workflowId).toBe('bench-idle-abcdef12-0');
  });

  it('refuses an unknown format instead of guessing', () => {
    expect(() => decodeMutableState(new Uint8Array([7, 0, 0]))).toThrow(/unknown format 7/);
  });

  it('keeps the dictionary of format 1 byte for byte (states on disk depend on it)', () => {
    expect(createHash('sha256').update(STATE_DICTIONARY_V1).digest('hex')).toBe(
      'a3cb5f9a91796e83386d2c3fe5b7a8fb343cd2247704ddaf6cd9930a0f3e7a2e',
    );
  });
});
