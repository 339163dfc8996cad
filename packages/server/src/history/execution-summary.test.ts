import { describe, expect, it } from 'vitest';
import { WorkflowExecutionStatus as Status } from '../proto-types.js';
import { summarizeRun } from './execution-summary.js';
import { newRunState, type MutableState } from './mutable-state.js';
import { runFields } from './test-support/builders.js';

function run(): MutableState {
  return newRunState(runFields({ memo: new Uint8Array([1, 2]) }));
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
