// The workflow-update machine driven through the in-memory harness: delivery on workflow tasks,
// acceptance/completion events in command order, rejections without events, de-duplication,
// unprocessed updates, heartbeat tasks, re-delivery after a failed task, limits and closed runs.
import { describe, expect, it } from 'vitest';
import { FailedPreconditionError, NotFoundError, ResourceExhaustedError } from '../../errors.js';
import { UpdateOutcomeCodec, UpdateStage, WorkflowTaskFailedCause as Cause, type HistoryEvent, type ProtocolMessage } from '../../proto-types.js';
import { LIMITS } from '../../limits.js';
import { cmd, EngineHarness, updateReply, updateRequest } from '../test-support/harness.js';
import { eventTypeName, validateHistory } from '../test-support/history-validator.js';
import { findUpdate, KEPT_REJECTIONS, updateStatus } from './update.js';

const names = (events: readonly HistoryEvent[]): string[] => events.map((e) => eventTypeName(Number(e.eventType)));

function expectValid(h: EngineHarness): void {
  expect(validateHistory(h.history)).toEqual([]);
}

/** A run whose first workflow task completed without commands: it waits, no task pending. */
function idle(): EngineHarness {
  const h = EngineHarness.start();
  h.startWorkflowTask();
  expect(h.completeWorkflowTask([]).error).toBeNull();
  expect(h.workflowTask).toBeNull();
  return h;
}

function onlyMessage(h: EngineHarness): ProtocolMessage {
  const poll = h.lastPoll!;
  expect(poll.messages).toHaveLength(1);
  return poll.messages[0]!;
}

function stageOf(h: EngineHarness, updateId: string): number | string {
  const s = updateStatus(h.state, updateId);
  return s.kind === 'stage' ? s.stage : s.kind;
}

describe('delivery', () => {
  it('schedules a speculative workflow task for an update (no event yet) and carries the request as a message', () => {
    const h = idle();
    expect(h.admitUpdate(updateRequest('u1', 'add', 5))).toBe(true);
    expect(names(h.lastEvents)).toEqual([]);
    expect(h.workflowTask?.speculative).toBe(true);
    const poll = h.startWorkflowTask()!;
    // The worker sees the task's Scheduled/Started pair, which history does not hold yet.
    expect(names(poll.history.slice(-2))).toEqual(['WorkflowTaskScheduled', 'WorkflowTaskStarted']);
    expect(h.lastEvents).toEqual([]);
    const message = onlyMessage(h);
    expect(message.id).toBe('u1/request');
    expect(message.protocolInstanceId).toBe('u1');
    expect(Number(message.eventId)).toBe(poll.startedEventId - 1);
    expect(message.body?.type_url).toBe('type.googleapis.com/temporal.api.update.v1.Request');
    expect(stageOf(h, 'u1')).toBe(UpdateStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED);
  });

  it('attaches an update to the task already scheduled instead of scheduling another', () => {
    const h = EngineHarness.start();
    h.admitUpdate(updateRequest('u1'));
    expect(h.lastEvents).toEqual([]);
    h.startWorkflowTask();
    expect(onlyMessage(h).protocolInstanceId).toBe('u1');
  });

  it('delivers an update that arrives during a started task on the next task', () => {
    const h = idle();
    h.signal('wake');
    h.startWorkflowTask();
    h.admitUpdate(updateRequest('late'));
    expect(h.lastEvents).toEqual([]);
    expect(h.completeWorkflowTask([]).error).toBeNull();
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskCompleted', 'WorkflowTaskScheduled']);
    h.startWorkflowTask();
    expect(onlyMessage(h).protocolInstanceId).toBe('late');
    expectValid(h);
  });

  it('delivers the request again after the task that carried it failed', () => {
    const h = idle();
    h.admitUpdate(updateRequest('u1'));
    h.startWorkflowTask();
    h.failWorkflowTask();
    h.startWorkflowTask();
    expect(onlyMessage(h).protocolInstanceId).toBe('u1');
  });
});

describe('worker replies', () => {
  it('writes Accepted and Completed where the PROTOCOL_MESSAGE commands stand', () => {
    const h = idle();
    h.admitUpdate(updateRequest('u1', 'add', 5));
    h.startWorkflowTask();
    const request = onlyMessage(h);
    const accept = updateReply.accept(request);
    const complete = updateReply.complete(request, 15);
    const out = h.completeWorkflowTask([cmd.protocolMessage(accept.id!), cmd.startTimer('t1', 1000), cmd.protocolMessage(complete.id!)], { messages: [accept, complete] });
    expect(out.error).toBeNull();
    // Accepting makes the speculative task real: its Scheduled/Started events are written first.
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskScheduled', 'WorkflowTaskStarted', 'WorkflowTaskCompleted', 'WorkflowExecutionUpdateAccepted', 'TimerStarted', 'WorkflowExecutionUpdateCompleted']);
    const [, , , acceptedEvent, , completedEvent] = h.lastEvents;
    const accepted = acceptedEvent!.workflowExecutionUpdateAcceptedEventAttributes!;
    expect(accepted.protocolInstanceId).toBe('u1');
    expect(accepted.acceptedRequestMessageId).toBe('u1/request');
    expect(Number(accepted.acceptedRequestSequencingEventId)).toBe(Number(request.eventId));
    expect(accepted.acceptedRequest?.input?.name).toBe('add');
    const completed = completedEvent!.workflowExecutionUpdateCompletedEventAttributes!;
    expect(Number(completed.acceptedEventId)).toBe(Number(acceptedEvent!.eventId));
    expect(completed.meta?.updateId).toBe('u1');
    const status = updateStatus(h.state, 'u1');
    expect(status.kind === 'stage' && status.stage).toBe(UpdateStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED);
    expect(status.kind === 'stage' && Buffer.from(status.outcome?.success?.payloads?.[0]?.data ?? []).toString()).toBe('15');
    expect(findUpdate(h.state, 'u1')?.request).toBeNull();
    // No new task: nothing is left to deliver.
    expect(h.workflowTask).toBeNull();
    expectValid(h);
  });

  it('applies messages no command references after all commands, in order', () => {
    const h = idle();
    h.admitUpdate(updateRequest('u1'));
    h.startWorkflowTask();
    const request = onlyMessage(h);
    const out = h.completeWorkflowTask([cmd.startTimer('t1', 1000)], { messages: [updateReply.accept(request), updateReply.complete(request, 1)] });
    expect(out.error).toBeNull();
    expect(names(h.lastEvents)).toEqual(['WorkflowTaskScheduled', 'WorkflowTaskStarted', 'WorkflowTaskCompleted', 'TimerStarted', 'WorkflowExecutionUpdateAccepted', 'WorkflowExecutionUpdateCompleted']);
  });

  it('writes nothing for a rejection, keeps the rejection for its callers, and lets the id be used again', () => {
    const h = idle();
    h.admitUpdate(updateRequest('u1', 'add', -1));
    h.startWorkflowTask();
    const before = h.history.length;
    const out = h.completeWorkflowTask([], { messages: [updateReply.reject(onlyMessage(h), 'negative')] });
    expect(out.error).toBeNull();
    // The speculative task is discarded: no event at all, and the worker rolls back to the last completed task.
    expect(h.lastEvents).toEqual([]);
    expect(h.history).toHaveLength(before);
    expect(out.resetHistoryEventId).toBe(3);
    expect(h.workflowTask).toBeNull();
    const status = updateStatus(h.state, 'u1');
    expect(status.kind === 'stage' && status.outcome?.failure?.message).toBe('negative');
    // Temporal keeps nothing that would de-duplicate a rejected update: the id is admitted again.
    expect(h.admitUpdate(updateRequest('u1', 'add', 1))).toBe(true);
    expect(stageOf(h, 'u1')).toBe(UpdateStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED);
    expectValid(h);
  });

  it('remembers only the most recent rejections', () => {
    const h = idle();
    for (let i = 0; i < KEPT_REJECTIONS + 5; i++) {
      h.admitUpdate(updateRequest(`r${i}`));
      h.startWorkflowTask();
      h.completeWorkflowTask([], { messages: [updateReply.reject(onlyMessage(h))] });
    }
    expect(Object.keys(h.state.updates)).toHaveLength(KEPT_REJECTIONS);
    expect(findUpdate(h.state, 'r0')).toBeUndefined();
    expect(findUpdate(h.state, `r${KEPT_REJECTIONS + 4}`)?.phase).toBe('rejected');
  });

  it('rejects on the worker\'s behalf an update the completion did not answer', () => {
    const h = idle();
    h.admitUpdate(updateRequest('ignored'));
    h.startWorkflowTask();
    expect(h.completeWorkflowTask([]).error).toBeNull();
    const status = updateStatus(h.state, 'ignored');
    expect(status.kind === 'stage' && status.outcome?.failure?.applicationFailureInfo?.type).toBe('UnprocessedUpdate');
    expect(h.workflowTask).toBeNull();
  });

  it('does not require a heartbeat completion to answer, and does not deliver the request twice', () => {
    const h = idle();
    h.admitUpdate(updateRequest('u1'));
    h.startWorkflowTask();
    const request = onlyMessage(h);
    expect(h.completeWorkflowTask([], { forceCreateNewWorkflowTask: true }).error).toBeNull();
    expect(findUpdate(h.state, 'u1')?.phase).toBe('admitted');
    h.admitUpdate(updateRequest('u2'));
    h.startWorkflowTask();
    // The heartbeat task carries only the update the worker has not seen.
    expect(h.lastPoll!.messages.map((m) => m.protocolInstanceId)).toEqual(['u2']);
    const u2 = h.lastPoll!.messages[0]!;
    const out = h.completeWorkflowTask([cmd.protocolMessage('u1/request/accept'), cmd.protocolMessage('u2/request/accept')], {
      messages: [updateReply.accept(request), updateReply.accept(u2)],
    });
    expect(out.error).toBeNull();
    expect(stageOf(h, 'u1')).toBe(UpdateStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED);
    expect(stageOf(h, 'u2')).toBe(UpdateStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED);
    expectValid(h);
  });

  it('fails the task for a message that does not fit the update', () => {
    const h = idle();
    h.admitUpdate(updateRequest('u1'));
    h.startWorkflowTask();
    const request = onlyMessage(h);
    const out = h.completeWorkflowTask([cmd.protocolMessage('u1/request/complete')], { messages: [updateReply.complete(request, 1)] });
    expect(out.error?.message).toMatch(/not accepted/);
    expect(h.lastEvents.find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes?.cause).toBe(Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE);
    const missing = EngineHarness.start();
    missing.startWorkflowTask();
    expect(missing.completeWorkflowTask([cmd.protocolMessage('nope')]).error?.message).toMatch(/absent message ID nope/);
    // The failed task's update is delivered again.
    h.startWorkflowTask();
    expect(onlyMessage(h).protocolInstanceId).toBe('u1');
  });
});

describe('admission', () => {
  it('de-duplicates by update id while admitted, accepted and completed', () => {
    const h = idle();
    expect(h.admitUpdate(updateRequest('u1'))).toBe(true);
    expect(h.admitUpdate(updateRequest('u1'))).toBe(false);
    h.startWorkflowTask();
    const request = onlyMessage(h);
    h.completeWorkflowTask([cmd.protocolMessage('u1/request/accept')], { messages: [updateReply.accept(request)] });
    expect(h.admitUpdate(updateRequest('u1'))).toBe(false);
    expect(h.workflowTask).toBeNull();
  });

  it('enforces the in-flight and total limits', () => {
    const h = idle();
    for (let i = 0; i < LIMITS.maxInFlightUpdates; i++) h.admitUpdate(updateRequest(`u${i}`));
    expect(() => h.admitUpdate(updateRequest('one-too-many'))).toThrow(ResourceExhaustedError);
    const full = idle();
    for (let i = 0; i < LIMITS.maxTotalUpdates; i++) {
      full.state.updates[`done${i}`] = { updateId: `done${i}`, phase: 'completed', seq: i + 1, admittedTimeMs: 0, request: null, sentInWft: 0, acceptedEventId: 0, completedEventId: 0, outcome: null };
    }
    expect(() => full.admitUpdate(updateRequest('last'))).toThrow(FailedPreconditionError);
  });

  it('fails fast while the workflow task keeps failing', () => {
    const h = idle();
    h.signal('wake');
    for (let i = 0; i < 2; i++) {
      h.startWorkflowTask();
      h.failWorkflowTask();
    }
    expect(h.workflowTask?.attempt).toBe(3);
    expect(() => h.admitUpdate(updateRequest('u1'))).toThrow(/Workflow Task in failed state/);
  });

  it('checks the first execution run id', () => {
    const h = idle();
    expect(() => h.admitUpdate(updateRequest('u1'), { firstExecutionRunId: 'another-chain' })).toThrow(NotFoundError);
  });

  it('delivers the request at once to a workflow whose start is delayed, ending the delay', () => {
    const h = EngineHarness.start({ startDelayMs: 60_000 });
    expect(h.workflowTask).toBeNull();
    h.admitUpdate(updateRequest('early'));
    h.startWorkflowTask();
    const request = onlyMessage(h);
    expect(request.protocolInstanceId).toBe('early');
    h.completeWorkflowTask([cmd.protocolMessage('early/request/accept')], { messages: [updateReply.accept(request)] });
    expectValid(h);
    // The delay's timer finds the first task done and schedules nothing.
    h.runUntil(h.nowMs + 60_000);
    expect(h.workflowTask).toBeNull();
  });
});

describe('closed runs', () => {
  it('answers for its updates after the run closed', () => {
    const h = idle();
    h.admitUpdate(updateRequest('done'));
    h.startWorkflowTask();
    const request = onlyMessage(h);
    h.completeWorkflowTask([cmd.protocolMessage('done/request/accept'), cmd.protocolMessage('done/request/complete'), cmd.completeWorkflow()], {
      messages: [updateReply.accept(request), updateReply.complete(request, 'ok')],
    });
    expect(h.running).toBe(false);
    expectValid(h);
    expect(stageOf(h, 'done')).toBe(UpdateStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED);
    // The same id again: nothing to admit, the outcome stands.
    expect(h.admitUpdate(updateRequest('done'))).toBe(false);
    // A new id: the workflow is gone.
    expect(() => h.admitUpdate(updateRequest('new'))).toThrow(/workflow execution already completed/);
  });

  it('fails an accepted update and aborts an admitted one when the run closes', () => {
    const h = idle();
    h.admitUpdate(updateRequest('accepted'));
    h.startWorkflowTask();
    h.completeWorkflowTask([cmd.protocolMessage('accepted/request/accept')], { messages: [updateReply.accept(onlyMessage(h))] });
    h.signal('wake');
    h.startWorkflowTask();
    h.admitUpdate(updateRequest('admitted'));
    h.terminate();
    const accepted = updateStatus(h.state, 'accepted');
    expect(accepted.kind === 'stage' && accepted.outcome?.failure?.applicationFailureInfo?.type).toBe('AcceptedUpdateCompletedWorkflow');
    expect(updateStatus(h.state, 'admitted')).toEqual({ kind: 'aborted', closedStatus: h.state.status });
  });

  it('keeps a large outcome out of mutable state', () => {
    const h = idle();
    h.admitUpdate(updateRequest('big'));
    h.startWorkflowTask();
    const request = onlyMessage(h);
    h.completeWorkflowTask([cmd.protocolMessage('big/request/accept'), cmd.protocolMessage('big/request/complete')], {
      messages: [updateReply.accept(request), updateReply.complete(request, 'x'.repeat(50_000))],
    });
    const status = updateStatus(h.state, 'big');
    expect(status.kind === 'stage' && status.outcome).toBeNull();
    expect(status.kind === 'stage' && status.outcomeEventId).toBe(Number(h.lastEvents.at(-1)!.eventId));
    expect(UpdateOutcomeCodec.encode(h.lastEvents.at(-1)!.workflowExecutionUpdateCompletedEventAttributes!.outcome!).len).toBeGreaterThan(50_000);
  });
});
