// Eager workflow start (StartWorkflowExecution with request_eager_execution): the first workflow task
// is scheduled and started in the start's own transition, for the caller, and never goes to matching.
import { describe, expect, it } from 'vitest';
import { EventType, TimeoutType, type HistoryEvent } from '../proto-types.js';
import { EngineHarness } from './test-support/harness.js';
import { eventTypeName, validateHistory } from './test-support/history-validator.js';

const names = (events: readonly HistoryEvent[]): string[] => events.map((e) => eventTypeName(Number(e.eventType)));
const EAGER_TOKEN = { scheduledEventId: 2, attempt: 1, startedEventId: 3 };

describe('eager workflow start', () => {
  it('writes Started, Scheduled and Started in one transition, started for the caller, without a dispatch', () => {
    const h = EngineHarness.start({ eager: true, workflowTaskTimeoutMs: 4000 });
    expect(names(h.history)).toEqual(['WorkflowExecutionStarted', 'WorkflowTaskScheduled', 'WorkflowTaskStarted']);
    expect(h.history[2]!.workflowTaskStartedEventAttributes).toMatchObject({ scheduledEventId: 2, identity: 'client', requestId: 'start-request' });
    expect(h.workflowTask).toMatchObject({ scheduledEventId: 2, startedEventId: 3, attempt: 1, transient: false });
    expect(h.dispatches).toEqual([]);
    const timeouts = h.timerRows((t) => t.kind === 'workflowTaskTimeout');
    expect(timeouts.map((r) => r.fireAtMs - h.nowMs)).toEqual([4000]);
    expect(validateHistory(h.history)).toEqual([]);
  });

  it('the caller completes the task with the token of events 2 and 3', () => {
    const h = EngineHarness.start({ eager: true });
    const out = h.completeWorkflowTask([], { token: EAGER_TOKEN });
    expect(out.error).toBeNull();
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskCompleted']);
    expect(validateHistory(h.history)).toEqual([]);
  });

  it('a task the caller never completes times out and is retried through the task queue', () => {
    const h = EngineHarness.start({ eager: true, workflowTaskTimeoutMs: 2000 });
    expect(h.timeOutWorkflowTask()).toBe(true);
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskTimedOut']);
    expect(h.lastEvents[0]!.workflowTaskTimedOutEventAttributes).toMatchObject({ scheduledEventId: 2, startedEventId: 3, timeoutType: TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE });
    expect(h.dispatches).toEqual([{ kind: 'workflowTask', taskQueue: 'tq', scheduledEventId: 5, attempt: 2, priorityKey: 0 }]);
    expect(h.startWorkflowTask()).toMatchObject({ attempt: 2 });
    expect(validateHistory(h.history)).toEqual([]);
  });

  it('is denied when the first task waits for a start delay: nothing started, the backoff timer armed', () => {
    const h = EngineHarness.start({ eager: true, startDelayMs: 5000 });
    expect(names(h.history)).toEqual(['WorkflowExecutionStarted']);
    expect(h.workflowTask).toBeNull();
    expect(h.timerRows((t) => t.kind === 'workflowBackoff')).toHaveLength(1);
    expect(h.history[0]!.eventType).toBe(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
  });
});
