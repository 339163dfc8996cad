// The Nexus commands of a workflow-task completion: ScheduleNexusOperation and
// RequestCancelNexusOperation, checked as Temporal checks them (the order of the checks, their causes
// and messages), then applied (machines/nexus-operation.ts).
import { randomUUID } from 'node:crypto';
import { durationToMs, msToDuration } from '@kairos/common';
import { CommandType, EventType, WorkflowTaskFailedCause as Cause, type Command } from '../../proto-types.js';
import type { Transition } from '../transition.js';
import { CommandError, sizeLimitCheck, type CommandContext } from './commands.js';
import { MAX_PENDING_NEXUS_OPERATIONS, requestCancelNexusOperation, scheduleNexusOperation } from '../machines/nexus-operation.js';
import { api } from '@kairos/common';

const MAX_NAME_LENGTH = 1000;
const MAX_HEADER_SIZE = 8192;
/** Header keys a workflow may not set (Temporal's component.nexusoperations.disallowedHeaders). */
const DISALLOWED_HEADERS = new Set([
  'request-timeout', 'xdc-redirection-api', 'xdc-redirection-source-cell', 'xdc-redirection', 'caller-name', 'caller-type',
  'call-initiation', 'temporal-principal-type', 'temporal-principal-name',
]);
const CLOSING_EVENTS = new Set<number>([
  EventType.EVENT_TYPE_NEXUS_OPERATION_COMPLETED,
  EventType.EVENT_TYPE_NEXUS_OPERATION_FAILED,
  EventType.EVENT_TYPE_NEXUS_OPERATION_CANCELED,
  EventType.EVENT_TYPE_NEXUS_OPERATION_TIMED_OUT,
]);

export function applyNexusCommand(t: Transition, command: Command, ctx: CommandContext): void {
  if (command.commandType === CommandType.COMMAND_TYPE_SCHEDULE_NEXUS_OPERATION) scheduleCommand(t, command, ctx);
  else cancelCommand(t, command, ctx);
}

function scheduleCommand(t: Transition, command: Command, ctx: CommandContext): void {
  const bad = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_NEXUS_OPERATION_ATTRIBUTES;
  const a = command.scheduleNexusOperationCommandAttributes;
  if (!a) throw new CommandError(bad, 'empty ScheduleNexusOperationCommandAttributes');
  const endpointName = a.endpoint ?? '';
  const endpoint = ctx.nexusEndpointByName?.(endpointName);
  if (!endpoint) throw new CommandError(bad, `endpoint "${endpointName}" not found`);
  const service = a.service ?? '';
  const operation = a.operation ?? '';
  if (service.length > MAX_NAME_LENGTH) throw new CommandError(bad, `ScheduleNexusOperationCommandAttributes.Service exceeds length limit of ${MAX_NAME_LENGTH}`);
  if (operation.length > MAX_NAME_LENGTH) throw new CommandError(bad, `ScheduleNexusOperationCommandAttributes.Operation exceeds length limit of ${MAX_NAME_LENGTH}`);
  for (const [field, value] of [['ScheduleToCloseTimeout', a.scheduleToCloseTimeout], ['ScheduleToStartTimeout', a.scheduleToStartTimeout], ['StartToCloseTimeout', a.startToCloseTimeout]] as const) {
    const seconds = Number(value?.seconds ?? 0);
    const nanos = value?.nanos ?? 0;
    if (seconds < 0 || nanos < 0) throw new CommandError(bad, `ScheduleNexusOperationCommandAttributes.${field} is invalid: negative duration`);
  }
  const inputSize = a.input ? api.common.v1.Payload.encode(a.input as never).len : 0;
  sizeLimitCheck(inputSize, bad, 'ScheduleNexusOperationCommandAttributes.Input exceeds size limit');
  const header: Record<string, string> = {};
  let headerSize = 0;
  for (const [k, v] of Object.entries(a.nexusHeader ?? {})) {
    const lower = k.toLowerCase();
    if (DISALLOWED_HEADERS.has(lower)) throw new CommandError(bad, `ScheduleNexusOperationCommandAttributes.NexusHeader contains a disallowed header key: "${k}"`);
    header[lower] = v;
    headerSize += lower.length + v.length;
  }
  if (headerSize > MAX_HEADER_SIZE) throw new CommandError(bad, 'ScheduleNexusOperationCommandAttributes.NexusHeader exceeds size limit');
  if (Object.keys(t.state.nexusOperations ?? {}).length >= MAX_PENDING_NEXUS_OPERATIONS) {
    throw new CommandError(
      Cause.WORKFLOW_TASK_FAILED_CAUSE_PENDING_NEXUS_OPERATIONS_LIMIT_EXCEEDED,
      `workflow has reached the pending nexus operation limit of ${MAX_PENDING_NEXUS_OPERATIONS} for this namespace`,
    );
  }
  // Timeouts as Temporal settles them: schedule-to-close within the run timeout, the others within it.
  let scheduleToCloseMs = durationToMs(a.scheduleToCloseTimeout);
  const runTimeoutMs = t.state.runTimeoutMs;
  if (runTimeoutMs > 0 && (scheduleToCloseMs === 0 || scheduleToCloseMs > runTimeoutMs)) scheduleToCloseMs = runTimeoutMs;
  let scheduleToStartMs = durationToMs(a.scheduleToStartTimeout);
  let startToCloseMs = durationToMs(a.startToCloseTimeout);
  if (scheduleToCloseMs > 0) {
    if (scheduleToStartMs > scheduleToCloseMs) scheduleToStartMs = scheduleToCloseMs;
    if (startToCloseMs > scheduleToCloseMs) startToCloseMs = scheduleToCloseMs;
  }
  scheduleNexusOperation(
    t,
    {
      endpoint: endpointName,
      service,
      operation,
      input: a.input ?? null,
      scheduleToCloseTimeout: msToDuration(scheduleToCloseMs),
      nexusHeader: header,
      workflowTaskCompletedEventId: ctx.completedEventId,
      requestId: randomUUID(),
      endpointId: endpoint.id,
      scheduleToStartTimeout: msToDuration(scheduleToStartMs),
      startToCloseTimeout: msToDuration(startToCloseMs),
    },
    { scheduleToCloseMs, scheduleToStartMs, startToCloseMs },
  );
}

function cancelCommand(t: Transition, command: Command, ctx: CommandContext): void {
  const bad = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_NEXUS_OPERATION_ATTRIBUTES;
  const a = command.requestCancelNexusOperationCommandAttributes;
  if (!a) throw new CommandError(bad, 'empty CancelNexusOperationCommandAttributes');
  const id = Number(a.scheduledEventId ?? 0);
  const info = t.state.nexusOperations?.[id];
  if (!info) {
    // Closed while this task ran (its closing event is buffered): recorded, and the close follows it.
    if (!t.state.buffered.some((b) => b.scheduledEventId === id && CLOSING_EVENTS.has(b.eventType))) {
      throw new CommandError(bad, `requested cancelation for a non-existing or already completed operation with scheduled event ID of ${id}`);
    }
    t.addEvent(EventType.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUESTED, 'nexusOperationCancelRequestedEventAttributes', { scheduledEventId: id, workflowTaskCompletedEventId: ctx.completedEventId });
    return;
  }
  if (info.cancelRequestedEventId > 0) throw new CommandError(bad, `cancelation was already requested for an operation with scheduled event ID ${id}`);
  requestCancelNexusOperation(t, info, ctx.completedEventId);
}
