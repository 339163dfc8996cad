// Workflow commands (runtime data) to Temporal API commands, and the rules that match a command
// against the history event it must have produced on an earlier run.
import type { temporal } from '@temporalio/proto';
import { api } from '@kairos/common';
import {
  msToProtoDuration,
  type CompiledRetryPolicy,
  type Payload,
  type WorkflowCommand,
} from '@kairos/sdk-common';

import { PATCH_MARKER_NAME, patchMarkerDetails, patchMarkerOf } from './patches.js';
import { LOCAL_ACTIVITY_MARKER_NAME, localActivityMarkerDetails, localActivityMarkerOf } from './local-activity-markers.js';

type ProtoCommand = temporal.api.command.v1.ICommand;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const CommandType = api.enums.v1.CommandType;
const EventType = api.enums.v1.EventType;

/** Copies a payload made in the sandbox into host-realm buffers for protobufjs. */
export function hostPayload(payload: Payload): Payload {
  const metadata: Record<string, Uint8Array> = {};
  for (const [key, value] of Object.entries(payload.metadata ?? {})) metadata[key] = Buffer.from(value);
  return { metadata, data: payload.data === undefined || payload.data === null ? null : Buffer.from(payload.data) };
}

function payloads(list: readonly Payload[]): { payloads: Payload[] } {
  return { payloads: list.map(hostPayload) };
}

/** A command's `header`; none at all when empty, so that commands without headers stay as they were. */
function header(headers: Readonly<Record<string, Payload>>): { fields: Record<string, Payload> } | undefined {
  const entries = Object.entries(headers);
  if (entries.length === 0) return undefined;
  return { fields: Object.fromEntries(entries.map(([key, value]) => [key, hostPayload(value)])) };
}

function payloadMap(fields: Readonly<Record<string, Payload>>): Record<string, Payload> {
  return Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, hostPayload(value)]));
}

function duration(ms: number | undefined): { seconds: number; nanos: number } | undefined {
  return ms === undefined ? undefined : msToProtoDuration(ms);
}

function retryPolicy(policy: CompiledRetryPolicy | undefined): temporal.api.common.v1.IRetryPolicy | undefined {
  if (policy === undefined) return undefined;
  const result: Record<string, unknown> = {
    backoffCoefficient: policy.backoffCoefficient,
    maximumAttempts: policy.maximumAttempts,
    nonRetryableErrorTypes: policy.nonRetryableErrorTypes,
    initialInterval: duration(policy.initialIntervalMs),
    maximumInterval: duration(policy.maximumIntervalMs),
  };
  return result as temporal.api.common.v1.IRetryPolicy;
}

export interface CommandContext {
  /** The workflow's task queue: the default for activities, children and continue-as-new. */
  taskQueue: string;
  namespace: string;
  /** Scheduled event id of an activity, by its seq (needed to cancel it). */
  activityScheduledEventId(seq: number): number;
}

/** Commands that map to exactly one API command (update answers are messages: see updates.ts). */
export type PlainCommand = Exclude<WorkflowCommand, { kind: 'acceptUpdate' | 'rejectUpdate' | 'completeUpdate' }>;

export function toProtoCommand(command: PlainCommand, ctx: CommandContext): ProtoCommand {
  switch (command.kind) {
    case 'scheduleActivity': {
      const o = command.options;
      return {
        commandType: CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
        scheduleActivityTaskCommandAttributes: {
          activityId: String(command.seq),
          activityType: { name: command.activityType },
          taskQueue: { name: o.taskQueue ?? ctx.taskQueue, kind: api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
          input: payloads(command.args),
          header: header(command.headers),
          scheduleToCloseTimeout: duration(o.scheduleToCloseTimeoutMs),
          scheduleToStartTimeout: duration(o.scheduleToStartTimeoutMs),
          startToCloseTimeout: duration(o.startToCloseTimeoutMs),
          heartbeatTimeout: duration(o.heartbeatTimeoutMs),
          retryPolicy: retryPolicy(o.retry),
        },
      } as ProtoCommand;
    }
    case 'requestCancelActivity':
      return {
        commandType: CommandType.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK,
        requestCancelActivityTaskCommandAttributes: { scheduledEventId: ctx.activityScheduledEventId(command.seq) },
        // protobufjs encodes a number where the generated types say Long.
      } as unknown as ProtoCommand;
    case 'startTimer':
      return {
        commandType: CommandType.COMMAND_TYPE_START_TIMER,
        startTimerCommandAttributes: { timerId: String(command.seq), startToFireTimeout: duration(command.durationMs) },
      } as ProtoCommand;
    case 'cancelTimer':
      return {
        commandType: CommandType.COMMAND_TYPE_CANCEL_TIMER,
        cancelTimerCommandAttributes: { timerId: String(command.seq) },
      };
    case 'completeWorkflow':
      return {
        commandType: CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
        completeWorkflowExecutionCommandAttributes: { result: payloads([command.result]) },
      } as ProtoCommand;
    case 'failWorkflow':
      return {
        commandType: CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
        failWorkflowExecutionCommandAttributes: { failure: command.failure },
      } as ProtoCommand;
    case 'cancelWorkflow':
      return {
        commandType: CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION,
        cancelWorkflowExecutionCommandAttributes: {},
      };
    case 'continueAsNew': {
      const o = command.options;
      return {
        commandType: CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
        continueAsNewWorkflowExecutionCommandAttributes: {
          workflowType: { name: o.workflowType },
          taskQueue: { name: o.taskQueue ?? ctx.taskQueue, kind: api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
          input: payloads(command.args),
          header: header(command.headers),
          workflowRunTimeout: duration(o.runTimeoutMs),
          workflowTaskTimeout: duration(o.taskTimeoutMs),
          memo: o.memo === undefined ? undefined : { fields: payloadMap(o.memo) },
          searchAttributes: o.searchAttributes === undefined ? undefined : { indexedFields: payloadMap(o.searchAttributes) },
        },
      } as ProtoCommand;
    }
    case 'startChild': {
      const o = command.options;
      const enums = api.enums.v1;
      return {
        commandType: CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION,
        startChildWorkflowExecutionCommandAttributes: {
          namespace: ctx.namespace,
          workflowId: command.workflowId,
          workflowType: { name: command.workflowType },
          taskQueue: { name: o.taskQueue ?? ctx.taskQueue, kind: enums.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
          input: payloads(command.args),
          header: header(command.headers),
          workflowExecutionTimeout: duration(o.executionTimeoutMs),
          workflowRunTimeout: duration(o.runTimeoutMs),
          workflowTaskTimeout: duration(o.taskTimeoutMs),
          parentClosePolicy: o.parentClosePolicy === undefined ? undefined : enums.ParentClosePolicy[`PARENT_CLOSE_POLICY_${o.parentClosePolicy}`],
          workflowIdReusePolicy:
            o.workflowIdReusePolicy === undefined
              ? undefined
              : enums.WorkflowIdReusePolicy[`WORKFLOW_ID_REUSE_POLICY_${o.workflowIdReusePolicy}` as keyof typeof enums.WorkflowIdReusePolicy],
          retryPolicy: retryPolicy(o.retry),
          cronSchedule: o.cronSchedule,
          memo: o.memo === undefined ? undefined : { fields: payloadMap(o.memo) },
          searchAttributes: o.searchAttributes === undefined ? undefined : { indexedFields: payloadMap(o.searchAttributes) },
        },
      } as ProtoCommand;
    }
    case 'requestCancelExternal':
      return {
        commandType: CommandType.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION,
        requestCancelExternalWorkflowExecutionCommandAttributes: {
          namespace: ctx.namespace,
          workflowId: command.workflowId,
          runId: command.runId,
          childWorkflowOnly: command.childWorkflowOnly,
        },
      };
    case 'scheduleLocalActivity':
      throw new Error(`local activity ${command.seq} reached the server commands: local activities are run by the worker`);
    case 'localActivityMarker':
      return {
        commandType: CommandType.COMMAND_TYPE_RECORD_MARKER,
        recordMarkerCommandAttributes: {
          markerName: LOCAL_ACTIVITY_MARKER_NAME,
          details: Object.fromEntries(
            Object.entries(localActivityMarkerDetails(command.marker)).map(([k, v]) => [k, payloads(v.payloads)]),
          ),
          failure: command.marker.failure,
        },
      } as ProtoCommand;
    case 'upsertSearchAttributes':
      return {
        commandType: CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        upsertWorkflowSearchAttributesCommandAttributes: { searchAttributes: { indexedFields: payloadMap(command.searchAttributes) } },
      } as ProtoCommand;
    case 'modifyWorkflowProperties':
      return {
        commandType: CommandType.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES,
        modifyWorkflowPropertiesCommandAttributes: { upsertedMemo: { fields: payloadMap(command.memo) } },
      } as ProtoCommand;
    case 'setPatchMarker':
      return {
        commandType: CommandType.COMMAND_TYPE_RECORD_MARKER,
        recordMarkerCommandAttributes: {
          markerName: PATCH_MARKER_NAME,
          details: Object.fromEntries(
            Object.entries(patchMarkerDetails(command.patchId, command.deprecated)).map(([k, v]) => [k, payloads(v.payloads)]),
          ),
        },
      } as ProtoCommand;
    case 'signalExternal':
      return {
        commandType: CommandType.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION,
        signalExternalWorkflowExecutionCommandAttributes: {
          namespace: ctx.namespace,
          execution: { workflowId: command.workflowId, runId: command.runId },
          signalName: command.signalName,
          input: payloads(command.args),
          header: header(command.headers),
          childWorkflowOnly: command.childWorkflowOnly,
        },
      } as ProtoCommand;
  }
}

/** `StartTimer {timerId: '1'}`: how error messages name a command. */
export function describeCommand(command: WorkflowCommand): string {
  switch (command.kind) {
    case 'scheduleActivity':
      return `ScheduleActivityTask {activityId: '${command.seq}', activityType: '${command.activityType}'}`;
    case 'requestCancelActivity':
      return `RequestCancelActivityTask {activityId: '${command.seq}'}`;
    case 'startTimer':
      return `StartTimer {timerId: '${command.seq}'}`;
    case 'cancelTimer':
      return `CancelTimer {timerId: '${command.seq}'}`;
    case 'completeWorkflow':
      return 'CompleteWorkflowExecution';
    case 'failWorkflow':
      return 'FailWorkflowExecution';
    case 'cancelWorkflow':
      return 'CancelWorkflowExecution';
    case 'continueAsNew':
      return `ContinueAsNewWorkflowExecution {workflowType: '${command.options.workflowType}'}`;
    case 'startChild':
      return `StartChildWorkflowExecution {workflowId: '${command.workflowId}', workflowType: '${command.workflowType}'}`;
    case 'requestCancelExternal':
      return `RequestCancelExternalWorkflowExecution {workflowId: '${command.workflowId}'}`;
    case 'signalExternal':
      return `SignalExternalWorkflowExecution {workflowId: '${command.workflowId}', signalName: '${command.signalName}'}`;
    case 'setPatchMarker':
      return `RecordMarker {markerName: '${PATCH_MARKER_NAME}', patchId: '${command.patchId}'}`;
    case 'scheduleLocalActivity':
      return `ScheduleLocalActivity {activityId: '${command.seq}', activityType: '${command.activityType}'}`;
    case 'localActivityMarker':
      return `RecordMarker {markerName: '${LOCAL_ACTIVITY_MARKER_NAME}', activityId: '${command.marker.seq}', activityType: '${command.marker.activityType}'}`;
    case 'upsertSearchAttributes':
      return `UpsertWorkflowSearchAttributes {${Object.keys(command.searchAttributes).join(', ')}}`;
    case 'modifyWorkflowProperties':
      return `ModifyWorkflowProperties {memo: ${Object.keys(command.memo).join(', ')}}`;
    case 'acceptUpdate':
      return `ProtocolMessage {Acceptance of update '${command.protocolInstanceId}'}`;
    case 'rejectUpdate':
      return `ProtocolMessage {Rejection of update '${command.protocolInstanceId}'}`;
    case 'completeUpdate':
      return `ProtocolMessage {Response of update '${command.protocolInstanceId}'}`;
  }
}

export function eventTypeName(event: HistoryEvent): string {
  const name = EventType[event.eventType ?? 0] ?? `EventType(${String(event.eventType)})`;
  return name
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_m, _sep: string, c: string) => c.toUpperCase());
}

/** `5 ActivityTaskScheduled {activityId: '1', activityType: 'greet'}`: how error messages name an event. */
export function describeEvent(event: HistoryEvent): string {
  const head = `${String(event.eventId)} ${eventTypeName(event)}`;
  const a = event.activityTaskScheduledEventAttributes;
  if (a) return `${head} {activityId: '${a.activityId}', activityType: '${a.activityType?.name ?? ''}'}`;
  const t = event.timerStartedEventAttributes ?? event.timerCanceledEventAttributes;
  if (t) return `${head} {timerId: '${t.timerId}'}`;
  const localActivity = localActivityMarkerOf(event);
  if (localActivity) return `${head} {markerName: '${LOCAL_ACTIVITY_MARKER_NAME}', activityId: '${localActivity.activityId}', activityType: '${localActivity.activityType}'}`;
  const patch = patchMarkerOf(event);
  if (patch) return `${head} {markerName: '${PATCH_MARKER_NAME}', patchId: '${patch.patchId}'${patch.deprecated ? ', deprecated' : ''}}`;
  const m = event.markerRecordedEventAttributes;
  if (m) return `${head} {markerName: '${m.markerName}'}`;
  const c = event.startChildWorkflowExecutionInitiatedEventAttributes;
  if (c) return `${head} {workflowId: '${c.workflowId}', workflowType: '${c.workflowType?.name ?? ''}'}`;
  const r = event.requestCancelExternalWorkflowExecutionInitiatedEventAttributes;
  if (r) return `${head} {workflowId: '${r.workflowExecution?.workflowId ?? ''}'}`;
  const x = event.signalExternalWorkflowExecutionInitiatedEventAttributes;
  if (x) return `${head} {workflowId: '${x.workflowExecution?.workflowId ?? ''}', signalName: '${x.signalName ?? ''}'}`;
  const ua = event.workflowExecutionUpdateAcceptedEventAttributes;
  if (ua) return `${head} {updateId: '${ua.protocolInstanceId ?? ''}', name: '${ua.acceptedRequest?.input?.name ?? ''}'}`;
  const uc = event.workflowExecutionUpdateCompletedEventAttributes;
  if (uc) return `${head} {updateId: '${uc.meta?.updateId ?? ''}'}`;
  return head;
}

/**
 * Whether `command` is the one that produced `event`. Kind and identity are compared (activity id
 * and type, timer id), as sdk-core does; arguments and options may change between deployments.
 */
export function commandMatchesEvent(command: WorkflowCommand, event: HistoryEvent, scheduledEventIdOf: (seq: number) => number): boolean {
  switch (command.kind) {
    case 'scheduleActivity': {
      const a = event.activityTaskScheduledEventAttributes;
      return !!a && a.activityId === String(command.seq) && a.activityType?.name === command.activityType;
    }
    case 'requestCancelActivity': {
      const a = event.activityTaskCancelRequestedEventAttributes;
      return !!a && Number(a.scheduledEventId) === scheduledEventIdOf(command.seq);
    }
    case 'startTimer':
      return event.timerStartedEventAttributes?.timerId === String(command.seq);
    case 'cancelTimer':
      return event.timerCanceledEventAttributes?.timerId === String(command.seq);
    case 'completeWorkflow':
      return !!event.workflowExecutionCompletedEventAttributes;
    case 'failWorkflow':
      return !!event.workflowExecutionFailedEventAttributes;
    case 'cancelWorkflow':
      return !!event.workflowExecutionCanceledEventAttributes;
    case 'continueAsNew':
      return !!event.workflowExecutionContinuedAsNewEventAttributes;
    case 'startChild': {
      const a = event.startChildWorkflowExecutionInitiatedEventAttributes;
      return !!a && a.workflowId === command.workflowId && a.workflowType?.name === command.workflowType;
    }
    case 'requestCancelExternal': {
      const a = event.requestCancelExternalWorkflowExecutionInitiatedEventAttributes;
      return !!a && a.workflowExecution?.workflowId === command.workflowId;
    }
    case 'signalExternal': {
      const a = event.signalExternalWorkflowExecutionInitiatedEventAttributes;
      return !!a && a.workflowExecution?.workflowId === command.workflowId && a.signalName === command.signalName;
    }
    case 'setPatchMarker':
      return patchMarkerOf(event)?.patchId === command.patchId;
    case 'scheduleLocalActivity':
      return false;
    case 'localActivityMarker':
      return localActivityMarkerOf(event)?.seq === command.marker.seq;
    case 'upsertSearchAttributes':
      return !!event.upsertWorkflowSearchAttributesEventAttributes;
    case 'modifyWorkflowProperties':
      return !!event.workflowPropertiesModifiedEventAttributes;
    case 'acceptUpdate':
      return event.workflowExecutionUpdateAcceptedEventAttributes?.protocolInstanceId === command.protocolInstanceId;
    case 'completeUpdate':
      return event.workflowExecutionUpdateCompletedEventAttributes?.meta?.updateId === command.protocolInstanceId;
    case 'rejectUpdate':
      // A rejection writes no event.
      return false;
  }
}

/** Event types that a command produces; every other event is an input to the workflow. */
export const COMMAND_EVENT_TYPES: ReadonlySet<number> = new Set([
  EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
  EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
  EventType.EVENT_TYPE_TIMER_STARTED,
  EventType.EVENT_TYPE_TIMER_CANCELED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
  EventType.EVENT_TYPE_MARKER_RECORDED,
  EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
  EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
  EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
  EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
  EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
  EventType.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED,
]);
