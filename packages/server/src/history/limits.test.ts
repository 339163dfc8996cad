// History limits: the continue-as-new hint on WorkflowTaskStarted and the hard limits that terminate.
import { afterEach, describe, expect, it } from 'vitest';
import { EngineHarness } from './test-support/harness.js';
import { cmd, payloads } from './test-support/builders.js';
import { Transition } from './transition.js';
import { cloneMutableState } from './mutable-state.js';
import { enforceHistoryLimits } from './machines/workflow.js';
import { CommandType, EventType, WorkflowExecutionStatus, WorkflowTaskFailedCause } from '../proto-types.js';
import { truncateFailure } from './ops/activity-task.js';
import { configureSizeLimits, currentSizeLimits, DEFAULT_SIZE_LIMITS, LIMITS } from '../limits.js';

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

describe('payload size limits on commands', () => {
  afterEach(() => configureSizeLimits(new Map()));

  const started = (): EngineHarness => {
    const h = EngineHarness.start();
    h.startWorkflowTask();
    return h;
  };
  const typesAfter = (h: EngineHarness, fromEventId: number): number[] => h.eventsAfter(fromEventId).map((e) => e.eventType!);

  it('fails the task and terminates the run when an activity input passes the blob limit, as Temporal does', () => {
    configureSizeLimits(new Map<string, unknown>([['limit.blobSize.error', 10_240], ['limit.blobSize.warn', 2_048]]));
    const h = started();
    const before = h.state.nextEventId - 1;
    const out = h.completeWorkflowTask([cmd.scheduleActivity('big', { startToCloseMs: 10_000, input: payloads('x'.repeat(11_000)) })]);
    const message = 'BadScheduleActivityAttributes: ScheduleActivityTaskCommandAttributes.Input exceeds size limit.';
    expect(out.error?.message).toBe(message);
    expect(typesAfter(h, before)).toEqual([EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED]);
    const [failed, terminated] = h.eventsAfter(before);
    expect(failed!.workflowTaskFailedEventAttributes?.cause).toBe(WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES);
    expect(failed!.workflowTaskFailedEventAttributes?.failure?.message).toBe(message);
    expect(failed!.workflowTaskFailedEventAttributes?.failure?.serverFailureInfo).toBeTruthy();
    expect(terminated!.workflowExecutionTerminatedEventAttributes).toMatchObject({ reason: message, identity: 'history-service' });
    expect(h.state.status).toBe(WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED);
    expect(h.state.workflowTask).toBeNull();
  });

  it('refuses only what passes both the warn and the error limits', () => {
    // Above the error limit but not above the warn limit: Temporal lets it through.
    configureSizeLimits(new Map<string, unknown>([['limit.blobSize.error', 1_000], ['limit.blobSize.warn', 50_000]]));
    const h = started();
    expect(h.completeWorkflowTask([cmd.scheduleActivity('a', { startToCloseMs: 10_000, input: payloads('x'.repeat(5_000)) })]).error).toBeNull();
    expect(h.state.status).toBe(WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING);
  });

  it('checks a result, a failure and a marker against the limit', () => {
    configureSizeLimits(new Map<string, unknown>([['limit.blobSize.error', '4096'], ['limit.blobSize.warn', 1_024]]));
    const big = 'y'.repeat(5_000);
    const cases: [string, ReturnType<typeof cmd.completeWorkflow>, string][] = [
      ['result', cmd.completeWorkflow(payloads(big)), 'BadScheduleActivityAttributes: CompleteWorkflowExecutionCommandAttributes.Result exceeds size limit.'],
      ['failure', cmd.failWorkflow(big), 'BadFailWorkflowExecutionAttributes: FailWorkflowExecutionCommandAttributes.Failure exceeds size limit.'],
      ['marker', { commandType: CommandType.COMMAND_TYPE_RECORD_MARKER, recordMarkerCommandAttributes: { markerName: 'm', details: { data: payloads(big) } } }, 'BadRecordMarkerAttributes: RecordMarkerCommandAttributes.Details exceeds size limit.'],
    ];
    for (const [what, command, message] of cases) {
      const h = started();
      expect(h.completeWorkflowTask([command]).error?.message, what).toBe(message);
      expect(h.state.status, what).toBe(WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED);
    }
  });

  it('an invalid command that is not about size still only fails the task, in Temporal\'s wording', () => {
    const h = started();
    const out = h.completeWorkflowTask([cmd.cancelTimer('missing')]);
    expect(out.error?.message).toBe('BadCancelTimerAttributes: invalid timer: no pending timer with TimerId missing');
    expect(h.state.status).toBe(WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING);
  });

  it('reads the limits from dynamic config and refuses values that are not byte counts', () => {
    expect(configureSizeLimits(new Map())).toEqual(DEFAULT_SIZE_LIMITS);
    configureSizeLimits(new Map<string, unknown>([['limit.memoSize.error', 4096]]));
    expect(currentSizeLimits()).toMatchObject({ memoSizeLimitError: 4096, blobSizeLimitError: 2 * 1024 * 1024 });
    expect(() => configureSizeLimits(new Map<string, unknown>([['limit.blobSize.error', 'lots']]))).toThrow(/limit.blobSize.error must be a positive integer/);
    expect(() => configureSizeLimits(new Map<string, unknown>([['limit.blobSize.error', -1]]))).toThrow(/positive integer/);
  });
});

describe('truncateFailure', () => {
  it('keeps the type and flags, and cuts source, message and stack trace to the budget, earlier fields first', () => {
    const original = {
      message: 'm'.repeat(100),
      source: 'TypeScriptSDK',
      stackTrace: 's'.repeat(100),
      applicationFailureInfo: { type: 'BigError', nonRetryable: true, details: { payloads: [{ data: Buffer.alloc(50) }] } },
      cause: { message: 'inner', serverFailureInfo: { nonRetryable: true } },
    };
    const cut = truncateFailure(original, 60);
    expect(cut.applicationFailureInfo).toEqual({ type: 'BigError', nonRetryable: true });
    expect(cut.source).toBe('TypeScriptSDK');
    // 60 - 8 (info) - 12 (type + 4) - 17 (source + 4) leaves 23 bytes of message.
    expect(cut.message).toBe('m'.repeat(23));
    expect(cut.stackTrace).toBe('');
    expect(cut.cause).toBeUndefined();
    const roomy = truncateFailure(original, 10_000);
    expect(roomy.message).toBe(original.message);
    expect(roomy.cause).toEqual({ serverFailureInfo: { nonRetryable: true }, source: '', message: 'inner', stackTrace: '' });
  });

  it('never splits a UTF-8 character', () => {
    expect(truncateFailure({ message: 'ééé' }, 5).message).toBe('éé');
  });
});
