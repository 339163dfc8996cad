// History limits: the continue-as-new hint on WorkflowTaskStarted and the hard limits that terminate.
import { describe, expect, it } from 'vitest';
import { EngineHarness } from './test-support/harness.js';
import { Transition } from './transition.js';
import { cloneMutableState } from './mutable-state.js';
import { enforceHistoryLimits } from './machines/workflow.js';
import { EventType, WorkflowExecutionStatus } from '../proto-types.js';
import { LIMITS } from '../limits.js';

describe('history limits', () => {
  it('suggests continue-as-new on WorkflowTaskStarted once the history passes 4,096 events', () => {
    const h = EngineHarness.start();
    h.startWorkflowTask();
    h.completeWorkflowTask([]);
    const first = h.history.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)!;
    expect(first.workflowTaskStartedEventAttributes?.suggestContinueAsNew ?? false).toBe(false);
    while (h.state.nextEventId <= LIMITS.historyCountSuggestContinueAsNew) h.signal('fill');
    h.startWorkflowTask();
    const last = [...h.history].reverse().find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)!;
    expect(last.workflowTaskStartedEventAttributes?.suggestContinueAsNew).toBe(true);
    expect(last.workflowTaskStartedEventAttributes?.suggestContinueAsNewReasons).toEqual([2 /* TOO_MANY_HISTORY_EVENTS */]);
  });

  it('terminates a run whose history passes the hard event-count limit, and leaves others alone', () => {
    const h = EngineHarness.start();
    const below = new Transition(cloneMutableState(h.state), h.nowMs);
    expect(enforceHistoryLimits(below)).toBe(false);

    const state = cloneMutableState(h.state);
    state.nextEventId = LIMITS.historyCountLimitError + 2;
    const over = new Transition(state, h.nowMs);
    expect(enforceHistoryLimits(over)).toBe(true);
    expect(over.state.status).toBe(WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED);
    const terminated = over.events.at(-1)!;
    expect(terminated.eventType).toBe(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED);
    expect(terminated.workflowExecutionTerminatedEventAttributes?.reason).toBe('Workflow history count exceeds limit.');
  });

  it('terminates a run whose history passes the size limit', () => {
    const h = EngineHarness.start();
    h.startWorkflowTask();
    const state = cloneMutableState(h.state);
    state.historySizeBytes = LIMITS.historySizeLimitError + 1;
    const t = new Transition(state, h.nowMs);
    expect(enforceHistoryLimits(t)).toBe(true);
    // The started workflow task is failed first, as for any terminate.
    expect(t.events.map((e) => e.eventType)).toEqual([EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED]);
  });
});
