import { api } from '@kairos/common';
import { describe, expect, it } from 'vitest';
import { decodeBatchInput, encodeBatchInput } from './batch-input.js';
import { batchState, deterministicRequestId, describedType, jsonPayload, targetQuery, validateStart } from './batch-rules.js';
import { decide, jobRps } from './batch-worker.js';
import { TokenBucket } from './batch-job.js';

const { EventType, CommandType, BatchOperationType, BatchOperationState, WorkflowExecutionStatus } = api.enums.v1;

describe('batch rules', () => {
  it('derives request ids as name-based UUIDs (version 5) of the job id and the parts', () => {
    // The same value as Python's uuid.uuid5(uuid.UUID(int=0), 'job-1:signal:wf:run:sig').
    expect(deterministicRequestId('job-1', 'signal', 'wf', 'run', 'sig')).toBe('53ec9503-9b69-54e8-b843-e13a1a6d72b4');
  });

  it('validates in Temporal\'s order', () => {
    const base = { namespace: 'default', jobId: 'j', reason: 'r', visibilityQuery: 'WorkflowType = "a"' };
    expect(() => validateStart({ ...base })).toThrow(/must provide required parameters/);
    expect(() => validateStart({ ...base, reason: '', terminationOperation: {} })).toThrow(/must provide required parameters/);
    expect(() => validateStart({ ...base, jobId: '', terminationOperation: {} })).toThrow('JobId is not set on request.');
    expect(() => validateStart({ ...base, targetExecutions: [{ type: 2, businessId: 'a' }], visibilityQuery: '', terminationOperation: {} })).toThrow(
      'target_executions[0] has type Activity, but operation *workflowservice.StartBatchOperationRequest_TerminationOperation requires Workflow',
    );
    expect(() => validateStart({ ...base, updateWorkflowOptionsOperation: {} })).toThrow('must provide UpdateOptions');
    expect(() => validateStart({ ...base, unpauseActivitiesOperation: {} })).toThrow('activity filter must be set');
    expect(() => validateStart({ ...base, updateActivityOptionsOperation: { matchAll: true } })).toThrow('Either activity type must be set, or restore original should be set to true');
    expect(() => validateStart({ ...base, resetOperation: { options: {} } })).toThrow('batch reset missing target');
    expect(() => validateStart({ ...base, visibilityQuery: 'WorkflowType = = 1', terminationOperation: {} })).toThrow(/^invalid visibility query: /);
    expect(validateStart({ ...base, terminationOperation: {} }).kind).toBe('terminate');
  });

  it('narrows most operations to running executions, but not delete and reset', () => {
    expect(targetQuery('terminate', 'A = 1')).toBe("(A = 1) AND (ExecutionStatus='Running' OR ExecutionStatus='Paused')");
    expect(targetQuery('delete', 'A = 1')).toBe('A = 1');
    expect(targetQuery('reset', 'A = 1')).toBe('A = 1');
  });

  it('reads a job\'s type and state back as Temporal reports them', () => {
    expect(describedType('terminate')).toBe(BatchOperationType.BATCH_OPERATION_TYPE_TERMINATE_WORKFLOW);
    expect(describedType('update_workflow_options')).toBe(BatchOperationType.BATCH_OPERATION_TYPE_UPDATE_WORKFLOW_EXECUTION_OPTIONS);
    expect(describedType('nonsense')).toBe(BatchOperationType.BATCH_OPERATION_TYPE_UNSPECIFIED);
    expect(batchState(WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING)).toBe(BatchOperationState.BATCH_OPERATION_STATE_RUNNING);
    expect(batchState(WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED)).toBe(BatchOperationState.BATCH_OPERATION_STATE_FAILED);
  });

  it('round-trips the job input through proto3 JSON', () => {
    const request = { namespace: 'default', jobId: 'j', reason: 'r', executions: [{ workflowId: 'w', runId: 'x' }], signalOperation: { signal: 's', input: { payloads: [jsonPayload(1)] } } };
    const decoded = decodeBatchInput(encodeBatchInput('ns-id', 'signal', request));
    expect(decoded.kind).toBe('signal');
    expect(decoded.namespaceId).toBe('ns-id');
    expect(decoded.request.executions?.[0]).toMatchObject({ workflowId: 'w', runId: 'x' });
    expect(Buffer.from(decoded.request.signalOperation!.input!.payloads![0]!.data!).toString()).toBe('1');
  });

  it('honours a lower rate a request asks for, never a higher one', () => {
    expect(jobRps(50, 0)).toBe(50);
    expect(jobRps(50, 5)).toBe(5);
    expect(jobRps(50, 500)).toBe(50);
  });

  it('paces calls at the bucket\'s rate after its burst', async () => {
    const bucket = new TokenBucket(20);
    const signal = new AbortController().signal;
    const started = performance.now();
    for (let i = 0; i < 25; i++) await bucket.take(signal);
    expect(performance.now() - started).toBeGreaterThanOrEqual(200);
  });
});

describe('the batch workflow', () => {
  const started = { eventId: 1, eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, workflowExecutionStartedEventAttributes: { input: { payloads: [jsonPayload('in')] } } };
  const task = [
    { eventId: 2, eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED },
    { eventId: 3, eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED },
  ];

  it('schedules the one activity with the workflow\'s input first', () => {
    const [command] = decide([started, ...task]);
    expect(command?.commandType).toBe(CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK);
    expect(command?.scheduleActivityTaskCommandAttributes).toMatchObject({ activityId: '5', activityType: { name: 'BatchActivityWithProtobuf' }, taskQueue: { name: 'temporal-sys-per-ns-tq' } });
    expect(command?.scheduleActivityTaskCommandAttributes?.input).toEqual(started.workflowExecutionStartedEventAttributes.input);
  });

  const scheduled = [
    started,
    ...task,
    { eventId: 4, eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED },
    { eventId: 5, eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, activityTaskScheduledEventAttributes: { activityId: '5' } },
  ];

  it('waits while the activity runs, then records the counts and completes', () => {
    expect(decide([...scheduled, { eventId: 6, eventType: EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED }])).toEqual([]);
    const result = { payloads: [jsonPayload({ SuccessCount: 3, ErrorCount: 1, TotalEstimate: 4, CurrentPage: 1, PageToken: null })] };
    const commands = decide([...scheduled, { eventId: 6, eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED }, { eventId: 7, eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, activityTaskCompletedEventAttributes: { result } }]);
    expect(commands.map((c) => c.commandType)).toEqual([CommandType.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES, CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION]);
    const stats = commands[0]!.modifyWorkflowPropertiesCommandAttributes!.upsertedMemo!.fields!['batch_operation_stats']!;
    expect(JSON.parse(Buffer.from(stats.data!).toString())).toEqual({ NumSuccess: 3, NumFailure: 1 });
  });

  it('fails when the activity failed for good', () => {
    const failure = { message: 'bad query', applicationFailureInfo: { type: 'InvalidArgument', nonRetryable: true } };
    const [command] = decide([...scheduled, { eventId: 6, eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED }, { eventId: 7, eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED, activityTaskFailedEventAttributes: { failure, startedEventId: 6 } }]);
    expect(command?.commandType).toBe(CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION);
    expect(command?.failWorkflowExecutionCommandAttributes?.failure).toMatchObject({ message: 'activity error', cause: failure });
  });
});
