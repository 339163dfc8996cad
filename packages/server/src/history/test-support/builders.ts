// Builders of payloads, failures, commands and update messages for the engine tests (see harness.ts).
import { api, msToDuration } from '@kairos/common';
import { CommandType, type Command, type Failure, type Payload, type Payloads, type ProtocolMessage, type RetryPolicy, type UpdateRequest } from '../../proto-types.js';
import type { NewRunFields } from '../mutable-state.js';

/** The fields of a new run (for `newRunState`): a plain first run, with `overrides`. */
export function runFields(overrides: Partial<NewRunFields> = {}): NewRunFields {
  const runId = overrides.runId ?? 'run-1';
  return {
    namespaceId: 'ns',
    workflowId: 'wf',
    runId,
    firstExecutionRunId: runId,
    workflowType: 'Greet',
    taskQueue: 'q',
    startTimeMs: 1_000,
    executionTimeMs: 1_000,
    workflowTaskTimeoutMs: 10_000,
    runTimeoutMs: 0,
    executionTimeoutMs: 0,
    startRequestId: 'request-1',
    requestIds: ['request-1'],
    signalRequestIds: [],
    signalCount: 0,
    memo: null,
    searchAttributes: null,
    attempt: 1,
    retryPolicy: null,
    executionExpirationMs: 0,
    priorityKey: 0,
    cronSchedule: '',
    parent: null,
    startInput: new Uint8Array(),
    startHeader: new Uint8Array(),
    ...overrides,
  };
}

export function payload(value: unknown): Payload {
  return { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(value)) };
}

export function payloads(...values: unknown[]): Payloads {
  return { payloads: values.map(payload) };
}

export function applicationFailure(message: string, opts: { type?: string; nonRetryable?: boolean; nextRetryDelayMs?: number } = {}): Failure {
  return {
    message,
    source: 'TypeScriptSDK',
    applicationFailureInfo: {
      type: opts.type ?? 'Error',
      nonRetryable: opts.nonRetryable ?? false,
      ...(opts.nextRetryDelayMs !== undefined ? { nextRetryDelay: msToDuration(opts.nextRetryDelayMs) } : {}),
    },
  };
}

export interface ScheduleActivityOptions {
  activityType?: string;
  taskQueue?: string;
  scheduleToCloseMs?: number;
  scheduleToStartMs?: number;
  startToCloseMs?: number;
  heartbeatMs?: number;
  retryPolicy?: RetryPolicy;
  input?: Payloads;
}

/** Command builders (what a worker's completion carries). */
export const cmd = {
  scheduleActivity(activityId: string, o: ScheduleActivityOptions = { startToCloseMs: 10_000 }): Command {
    return {
      commandType: CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
      scheduleActivityTaskCommandAttributes: {
        activityId,
        activityType: { name: o.activityType ?? 'greet' },
        taskQueue: { name: o.taskQueue ?? 'tq' },
        input: o.input ?? payloads('world'),
        ...(o.scheduleToCloseMs !== undefined ? { scheduleToCloseTimeout: msToDuration(o.scheduleToCloseMs) } : {}),
        ...(o.scheduleToStartMs !== undefined ? { scheduleToStartTimeout: msToDuration(o.scheduleToStartMs) } : {}),
        ...(o.startToCloseMs !== undefined ? { startToCloseTimeout: msToDuration(o.startToCloseMs) } : {}),
        ...(o.heartbeatMs !== undefined ? { heartbeatTimeout: msToDuration(o.heartbeatMs) } : {}),
        ...(o.retryPolicy ? { retryPolicy: o.retryPolicy } : {}),
      },
    };
  },
  requestCancelActivity(scheduledEventId: number): Command {
    return { commandType: CommandType.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK, requestCancelActivityTaskCommandAttributes: { scheduledEventId } };
  },
  startTimer(timerId: string, ms: number): Command {
    return { commandType: CommandType.COMMAND_TYPE_START_TIMER, startTimerCommandAttributes: { timerId, startToFireTimeout: msToDuration(ms) } };
  },
  cancelTimer(timerId: string): Command {
    return { commandType: CommandType.COMMAND_TYPE_CANCEL_TIMER, cancelTimerCommandAttributes: { timerId } };
  },
  recordMarker(markerName: string): Command {
    return { commandType: CommandType.COMMAND_TYPE_RECORD_MARKER, recordMarkerCommandAttributes: { markerName, details: { data: payloads(markerName) } } };
  },
  completeWorkflow(result: Payloads | null = payloads('result')): Command {
    return { commandType: CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION, completeWorkflowExecutionCommandAttributes: { result } };
  },
  failWorkflow(message = 'workflow failed'): Command {
    return { commandType: CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION, failWorkflowExecutionCommandAttributes: { failure: applicationFailure(message) } };
  },
  cancelWorkflow(): Command {
    return { commandType: CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION, cancelWorkflowExecutionCommandAttributes: { details: null } };
  },
  protocolMessage(messageId: string): Command {
    return { commandType: CommandType.COMMAND_TYPE_PROTOCOL_MESSAGE, protocolMessageCommandAttributes: { messageId } };
  },
};

/** An update request as a client sends it. */
export function updateRequest(updateId: string, name = 'add', ...args: unknown[]): UpdateRequest {
  return { meta: { updateId, identity: 'client' }, input: { name, args: payloads(...args) } };
}

function anyOf(typeName: 'Acceptance' | 'Rejection' | 'Response', value: Uint8Array): ProtocolMessage['body'] {
  return { type_url: `type.googleapis.com/temporal.api.update.v1.${typeName}`, value };
}

/** Worker replies to an update request message, shaped as sdk-core builds them (update_state_machine.rs). */
export const updateReply = {
  accept(request: ProtocolMessage): ProtocolMessage {
    const body = api.update.v1.Acceptance.encode(
      api.update.v1.Acceptance.fromObject({
        acceptedRequestMessageId: request.id ?? '',
        acceptedRequestSequencingEventId: Number(request.eventId ?? 0),
        acceptedRequest: api.update.v1.Request.decode(request.body?.value ?? new Uint8Array()),
      }),
    ).finish();
    return { id: `${request.id ?? ''}/accept`, protocolInstanceId: request.protocolInstanceId ?? '', body: anyOf('Acceptance', body) };
  },
  reject(request: ProtocolMessage, message = 'rejected by validator'): ProtocolMessage {
    const body = api.update.v1.Rejection.encode(
      api.update.v1.Rejection.fromObject({
        rejectedRequestMessageId: request.id ?? '',
        rejectedRequestSequencingEventId: Number(request.eventId ?? 0),
        rejectedRequest: api.update.v1.Request.decode(request.body?.value ?? new Uint8Array()),
        failure: applicationFailure(message),
      }),
    ).finish();
    return { id: `${request.id ?? ''}/reject`, protocolInstanceId: request.protocolInstanceId ?? '', body: anyOf('Rejection', body) };
  },
  complete(request: ProtocolMessage, result: unknown): ProtocolMessage {
    const updateId = request.protocolInstanceId ?? '';
    const body = api.update.v1.Response.encode(api.update.v1.Response.fromObject({ meta: { updateId, identity: 'worker' }, outcome: { success: payloads(result) } })).finish();
    return { id: `${request.id ?? ''}/complete`, protocolInstanceId: updateId, body: anyOf('Response', body) };
  },
};
