/**
 * Eager workflow start at the protocol level: StartWorkflowExecution with request_eager_execution answers
 * with the first workflow task, started for the caller; a retried request gets the same task; a start
 * delay denies it; a task the caller drops is retried through the task queue after its timeout.
 */
import { randomUUID } from 'node:crypto';
import Long from 'long';
import type { temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { protocolSuite } from './helpers/environment.js';
import { enums, uniqueTaskQueue, uniqueWorkflowId } from './helpers/sdk.js';

const suite = protocolSuite();

type StartRequest = temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest;
const service = () => suite.conns.client.workflowService;

function eagerStart(overrides: Partial<StartRequest> = {}): StartRequest {
  return {
    namespace: 'default',
    workflowId: uniqueWorkflowId('eager'),
    workflowType: { name: 'eagerWorkflow' },
    taskQueue: { name: uniqueTaskQueue('eager') },
    identity: 'eager-worker',
    requestId: randomUUID(),
    requestEagerExecution: true,
    ...overrides,
  };
}

describe('eager workflow start (request_eager_execution)', () => {
  it('answers with the first workflow task started for the caller, which completes it', async () => {
    const request = eagerStart();
    const response = await service().startWorkflowExecution(request);
    const task = response.eagerWorkflowTask;
    expect(task).toBeTruthy();
    expect(task!.workflowExecution).toMatchObject({ workflowId: request.workflowId, runId: response.runId });
    expect(task!.workflowType?.name).toBe('eagerWorkflow');
    expect(Number(task!.startedEventId)).toBe(3);
    expect(task!.attempt).toBe(1);
    const events = task!.history?.events ?? [];
    expect(events.map((e) => e.eventType)).toEqual([
      enums.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
      enums.EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
      enums.EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    ]);
    expect(events[2]!.workflowTaskStartedEventAttributes).toMatchObject({ identity: 'eager-worker', requestId: request.requestId });

    await service().respondWorkflowTaskCompleted({
      namespace: 'default',
      taskToken: task!.taskToken,
      identity: 'eager-worker',
      commands: [{ commandType: enums.CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION, completeWorkflowExecutionCommandAttributes: {} }],
    });
    const described = await service().describeWorkflowExecution({ namespace: 'default', execution: { workflowId: request.workflowId, runId: response.runId } });
    expect(described.workflowExecutionInfo?.status).toBe(enums.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED);
  });

  it('a retried start (same request id) gets the same task again while it is the first one', async () => {
    const request = eagerStart();
    const first = await service().startWorkflowExecution(request);
    const again = await service().startWorkflowExecution(request);
    expect(again.runId).toBe(first.runId);
    expect(Buffer.from(again.eagerWorkflowTask!.taskToken!)).toEqual(Buffer.from(first.eagerWorkflowTask!.taskToken!));
  });

  it('is denied with a start delay: no task in the response, the run waits for its backoff', async () => {
    const request = eagerStart({ workflowStartDelay: { seconds: Long.fromNumber(60) } });
    const response = await service().startWorkflowExecution(request);
    expect(response.eagerWorkflowTask).toBeFalsy();
    const history = await service().getWorkflowExecutionHistory({ namespace: 'default', execution: { workflowId: request.workflowId, runId: response.runId } });
    expect(history.history?.events?.map((e) => e.eventType)).toEqual([enums.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED]);
  });

  it('a task the caller drops times out and is retried through the task queue', async () => {
    const request = eagerStart({ workflowTaskTimeout: { seconds: Long.fromNumber(1) } });
    const response = await service().startWorkflowExecution(request);
    expect(response.eagerWorkflowTask).toBeTruthy();
    const polled = await service().pollWorkflowTaskQueue({ namespace: 'default', taskQueue: request.taskQueue, identity: 'poller' });
    expect(polled.workflowExecution?.runId).toBe(response.runId);
    expect(polled.attempt).toBe(2);
    const types = polled.history?.events?.map((e) => e.eventType);
    expect(types?.slice(0, 4)).toEqual([
      enums.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
      enums.EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
      enums.EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
      enums.EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
    ]);
  });
});
