// The rebuilder must leave a run's state as the transitions that wrote its history did: drive a run
// through the harness and compare, at a workflow-task boundary, the state rebuilt from the history
// with the live one (minus what history cannot hold: timer task ids, request ids, times of now).
import { describe, expect, it } from 'vitest';
import { cmd, EngineHarness, payloads } from './test-support/harness.js';
import { RebuildError, rebuildState } from './state-rebuilder.js';
import type { MutableState } from './mutable-state.js';
import { EventType, type HistoryEvent } from '../proto-types.js';

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

  it('rebuilds the Nexus operations a run had open, and the completion callbacks its start carried', () => {
    const at = (seconds: number) => ({ seconds, nanos: 0 });
    const wft = (id: number): HistoryEvent[] => [
      { eventId: id, eventTime: at(id), eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, workflowTaskScheduledEventAttributes: { startToCloseTimeout: { seconds: 10 } } },
      { eventId: id + 1, eventTime: at(id), eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, workflowTaskStartedEventAttributes: { scheduledEventId: id } },
      { eventId: id + 2, eventTime: at(id), eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, workflowTaskCompletedEventAttributes: { scheduledEventId: id, startedEventId: id + 1 } },
    ];
    const scheduled = (id: number, operation: string): HistoryEvent => ({
      eventId: id,
      eventTime: at(id),
      eventType: EventType.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED,
      nexusOperationScheduledEventAttributes: { endpoint: 'ep', endpointId: 'ep-id', service: 'svc', operation, requestId: `req-${id}`, scheduleToCloseTimeout: { seconds: 60 }, startToCloseTimeout: { seconds: 30 } },
    });
    const history: HistoryEvent[] = [
      {
        eventId: 1,
        eventTime: at(1),
        eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        workflowExecutionStartedEventAttributes: {
          workflowId: 'wf',
          workflowType: { name: 'caller' },
          taskQueue: { name: 'tq' },
          completionCallbacks: [{ nexus: { url: 'temporal://system', header: { 'temporal-callback-token': 't' } } }],
        },
      },
      ...wft(2),
      scheduled(5, 'started'),
      scheduled(6, 'waiting'),
      scheduled(7, 'done'),
      { eventId: 8, eventTime: at(8), eventType: EventType.EVENT_TYPE_NEXUS_OPERATION_STARTED, nexusOperationStartedEventAttributes: { scheduledEventId: 5, operationToken: 'tok', requestId: 'req-5' } },
      { eventId: 9, eventTime: at(9), eventType: EventType.EVENT_TYPE_NEXUS_OPERATION_COMPLETED, nexusOperationCompletedEventAttributes: { scheduledEventId: 7, requestId: 'req-7' } },
      ...wft(10),
      { eventId: 13, eventTime: at(13), eventType: EventType.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUESTED, nexusOperationCancelRequestedEventAttributes: { scheduledEventId: 5, workflowTaskCompletedEventId: 12 } },
      { eventId: 14, eventTime: at(14), eventType: EventType.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUESTED, nexusOperationCancelRequestedEventAttributes: { scheduledEventId: 6, workflowTaskCompletedEventId: 12 } },
      { eventId: 15, eventTime: at(15), eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, workflowTaskScheduledEventAttributes: {} },
    ];
    const rebuilt = rebuildState('ns-id', history, { runId: 'run-2', nowMs: 100_000, requestId: 'reset-1' });
    const ops = rebuilt.nexusOperations ?? {};
    expect(Object.keys(ops)).toEqual(['5', '6']);
    expect(ops[5]).toMatchObject({ phase: 'started', operationToken: 'tok', startedTimeMs: 8_000, requestId: 'req-5', cancelPhase: 'scheduled', cancelRequestedEventId: 13, scheduleToCloseMs: 60_000, startToCloseMs: 30_000 });
    expect(ops[6]).toMatchObject({ phase: 'scheduled', operation: 'waiting', scheduledTimeMs: 6_000, cancelPhase: 'pending', cancelRequestedEventId: 14 });
    expect(rebuilt.callbacks).toHaveLength(1);
    expect(rebuilt.callbacks?.[0]).toMatchObject({ phase: 'standby', registeredMs: 100_000 });
    expect(rebuilt.workflowTask?.scheduledEventId).toBe(15);
  });
});
