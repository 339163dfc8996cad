import { describe, expect, it } from 'vitest';
import { WorkflowExecutionStatus as Status } from '../proto-types.js';
import { summarizeRun } from './execution-summary.js';
import { newRunState, type MutableState } from './mutable-state.js';

function run(): MutableState {
  return newRunState({
    namespaceId: 'ns',
    workflowId: 'wf',
    runId: 'run-1',
    firstExecutionRunId: 'run-1',
    workflowType: 'Greet',
    taskQueue: 'q',
    startTimeMs: 1_000,
    executionTimeMs: 1_000,
    workflowTaskTimeoutMs: 10_000,
    runTimeoutMs: 0,
    executionTimeoutMs: 0,
    startRequestId: 'r',
    requestIds: ['r'],
    signalRequestIds: [],
    signalCount: 0,
    memo: new Uint8Array([1, 2]),
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

describe('summarizeRun', () => {
  it('is unchanged when only the counters moved, comparing memo and attributes by their bytes', () => {
    const state = run();
    const first = summarizeRun(state, undefined);
    expect(first.listingUnchanged).toBe(false);
    state.nextEventId += 3;
    state.historySizeBytes += 120;
    state.stateTransitionCount++;
    state.memo = new Uint8Array([1, 2]);
    const next = summarizeRun(state, first.summary);
    expect(next.listingUnchanged).toBe(true);
    expect(next.summary).toMatchObject({ historyLength: state.nextEventId - 1, historySizeBytes: 120, stateTransitionCount: 1 });
  });

  it.each<[string, (state: MutableState) => void]>([
    ['status and close time', (s) => ((s.status = Status.WORKFLOW_EXECUTION_STATUS_COMPLETED), (s.closeTimeMs = 5_000))],
    ['memo', (s) => (s.memo = new Uint8Array([1, 3]))],
    ['memo removed', (s) => (s.memo = null)],
    ['search attributes', (s) => (s.searchAttributes = new Uint8Array())],
    ['execution time', (s) => (s.executionTimeMs = 2_000)],
  ])('is changed when the %s changed', (_, change) => {
    const state = run();
    const first = summarizeRun(state, undefined);
    change(state);
    expect(summarizeRun(state, first.summary).listingUnchanged).toBe(false);
  });
});
