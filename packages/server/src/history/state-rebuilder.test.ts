// The rebuilder must leave a run's state as the transitions that wrote its history did: drive a run
// through the harness and compare, at a workflow-task boundary, the state rebuilt from the history
// with the live one (minus what history cannot hold: timer task ids, request ids, times of now).
import { describe, expect, it } from 'vitest';
import { cmd, EngineHarness, payloads } from './test-support/harness.js';
import { RebuildError, rebuildState } from './state-rebuilder.js';
import type { MutableState } from './mutable-state.js';

function comparable(state: MutableState): Record<string, unknown> {
  return {
    workflowId: state.workflowId,
    workflowType: state.workflowType,
    taskQueue: state.taskQueue,
    status: state.status,
    nextEventId: state.nextEventId,
    historySizeBytes: state.historySizeBytes,
    lastCompletedWftStartedEventId: state.lastCompletedWftStartedEventId,
    workflowTask: state.workflowTask && { scheduledEventId: state.workflowTask.scheduledEventId, startedEventId: state.workflowTask.startedEventId },
    activities: Object.fromEntries(
      Object.entries(state.activities).map(([id, a]) => [id, { activityId: a.activityId, activityType: a.activityType, cancelRequested: a.cancelRequested, startToCloseMs: a.startToCloseMs, scheduleToCloseMs: a.scheduleToCloseMs }]),
    ),
    timers: Object.fromEntries(Object.entries(state.timers).map(([id, t]) => [id, { startedEventId: t.startedEventId, fireAtMs: t.fireAtMs }])),
    memo: state.memo,
    cancelRequested: state.cancelRequested,
    workflowTaskTimeoutMs: state.workflowTaskTimeoutMs,
    runTimeoutMs: state.runTimeoutMs,
  };
}

describe('state rebuilder', () => {
  it('rebuilds activities, timers, cancellations and workflow tasks as the engine left them', () => {
    const h = EngineHarness.start({ runTimeoutMs: 3_600_000 });
    h.startWorkflowTask();
    h.completeWorkflowTask([cmd.scheduleActivity('a1'), cmd.scheduleActivity('a2', { startToCloseMs: 5_000, scheduleToCloseMs: 60_000 }), cmd.startTimer('t1', 30_000), cmd.startTimer('t2', 60_000)]);
    const a1 = h.activityByActivityId('a1')!.scheduledEventId;
    const a2 = h.activityByActivityId('a2')!.scheduledEventId;
    h.advance(1_000);
    h.startActivity(a1);
    h.startActivity(a2);
    h.completeActivity(a1, payloads('one'));
    h.signal('go', payloads(1));
    h.startWorkflowTask();
    h.completeWorkflowTask([cmd.requestCancelActivity(a2), cmd.cancelTimer('t2'), cmd.recordMarker('m')]);
    h.advance(30_000);
    expect(h.fireUserTimer('t1')).toBe(true);
    h.requestCancelWorkflow();
    h.startWorkflowTask();

    const rebuilt = rebuildState('ns-id', h.history, { runId: 'run-2', nowMs: h.nowMs, requestId: 'reset-1' });
    expect(comparable(rebuilt)).toEqual(comparable(h.state));
    expect(rebuilt.runId).toBe('run-2');
    expect(rebuilt.firstExecutionRunId).toBe('run-1');
    expect(rebuilt.startRequestId).toBe('reset-1');
    expect(rebuilt.activities[a2]?.cancelRequested).toBe(true);
  });

  it('refuses a history that does not start the run or that closes it', () => {
    const h = EngineHarness.start();
    h.startWorkflowTask();
    h.completeWorkflowTask([cmd.completeWorkflow()]);
    expect(() => rebuildState('ns-id', h.history.slice(1), { runId: 'r', nowMs: 0, requestId: '' })).toThrow(RebuildError);
    expect(() => rebuildState('ns-id', h.history, { runId: 'r', nowMs: 0, requestId: '' })).toThrow(/the run had closed/);
  });
});
