// Validates and applies the commands of one workflow-task completion, in order. A command that is
// invalid raises CommandError; the caller then discards the whole completion and fails the task.
import { durationToMs, msToDuration } from '@kairos/common';
import {
  CommandType,
  EventType,
  FailureCodec,
  MemoCodec,
  SearchAttributesCodec,
  WorkflowExecutionStatus,
  WorkflowTaskFailedCause as Cause,
  type Command,
  type Memo,
  type Payload,
  type SearchAttributes,
} from '../../proto-types.js';
import type { Transition } from '../transition.js';
import { requestCancelActivity, scheduleActivity } from '../machines/activity.js';
import { normalizeActivityTimeouts } from '../machines/activity-options.js';
import { cancelTimer, startTimer } from '../machines/timer.js';
import { closeWorkflow } from '../machines/workflow.js';
import { completeWorkflow, continueAsNew, failWorkflow } from '../machines/new-run.js';
import { parseCronSchedule } from '../cron.js';
import { checkSearchAttributes, type NamespaceSearchAttributes } from '../../visibility/search-attribute-values.js';
import { applyExternalCommand } from './external-commands.js';
import { applyNexusCommand } from './nexus-commands.js';
import { applyProtocolMessageCommand, type ProtocolMessage } from './update-commands.js';
import { normalizeRetryPolicy, retryPolicyToProto, validateRetryPolicy } from '../retry.js';
import { exceedsBlobLimit, exceedsMemoLimit, LIMITS, payloadMapSize, payloadsMapSize, payloadsSize } from '../../limits.js';

export class CommandError extends Error {
  override name = 'CommandError';
  constructor(
    readonly failedCause: number,
    message: string,
    /** The run is terminated after the task fails (a payload over the size limits, as Temporal does). */
    readonly terminatesRun = false,
  ) {
    super(message);
  }
}

/**
 * Temporal's size checks on commands: a payload above the blob size limit fails the task and then
 * terminates the run, since every retry of the task would carry the same payload.
 */
export function sizeLimitCheck(size: number, cause: number, message: string): void {
  if (exceedsBlobLimit(size)) throw new CommandError(cause, message, true);
}

export function memoLimitCheck(memo: Memo | null | undefined, cause: number, message: string): void {
  if (memo && exceedsMemoLimit(MemoCodec.encode(memo).len)) throw new CommandError(cause, message, true);
}

const CLOSING = new Set<number>([
  CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
  CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
  CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION,
  CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
]);

export function hasClosingCommand(commands: readonly Command[]): boolean {
  return commands.some((c) => CLOSING.has(c.commandType ?? 0));
}

/** What every command of one completion shares. */
export interface CommandContext {
  readonly completedEventId: number;
  readonly identity: string;
  /** Protocol messages of the completion (updates), referenced by PROTOCOL_MESSAGE commands. */
  readonly messages: readonly ProtocolMessage[];
  /** Namespace lookups for commands that name a namespace (child workflows, external signals). */
  readonly namespaceByName?: (name: string) => { id: string; name: string } | undefined;
  readonly namespaceById?: (id: string) => { id: string; name: string } | undefined;
  /** Custom search attributes registered in the run's namespace (unset: not checked). */
  readonly searchAttributes?: NamespaceSearchAttributes;
  /** Nexus endpoints by name (unset: Nexus operations are refused as unknown endpoints). */
  readonly nexusEndpointByName?: (name: string) => { id: string } | undefined;
}

/**
 * Checks search attributes a command sets against the namespace's registry and returns them with
 * their types stamped (what list and describe show); throws CommandError naming the problem.
 */
export function checkedSearchAttributes(ctx: CommandContext, sa: SearchAttributes, cause: number): SearchAttributes {
  if (!ctx.searchAttributes) return sa;
  const result = checkSearchAttributes(ctx.searchAttributes, sa);
  if (!result.ok) throw new CommandError(cause, result.message);
  return result.searchAttributes;
}

export function applyCommands(t: Transition, commands: readonly Command[], ctx: CommandContext): void {
  commands.forEach((command, index) => {
    const type = command.commandType ?? 0;
    if (CLOSING.has(type) && index !== commands.length - 1) {
      throw new CommandError(closeCause(type), `invalid command sequence: ${CommandType[type] ?? type} must be the last command`);
    }
    // Protocol messages write their own events (an update's), which keep no command metadata.
    if (type !== CommandType.COMMAND_TYPE_PROTOCOL_MESSAGE) t.nextEventUserMetadata = command.userMetadata ?? null;
    applyCommand(t, command, ctx);
    t.nextEventUserMetadata = null;
  });
}

function closeCause(type: number): number {
  switch (type) {
    case CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION:
      return Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES;
    case CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION:
      return Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_WORKFLOW_EXECUTION_ATTRIBUTES;
    case CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION:
      return Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CONTINUE_AS_NEW_ATTRIBUTES;
    default:
      return Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_COMPLETE_WORKFLOW_EXECUTION_ATTRIBUTES;
  }
}

function applyCommand(t: Transition, command: Command, ctx: CommandContext): void {
  const state = t.state;
  const { completedEventId, identity } = ctx;
  switch (command.commandType) {
    case CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK:
      return scheduleActivityCommand(t, command, completedEventId);
    case CommandType.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK: {
      const id = Number(command.requestCancelActivityTaskCommandAttributes?.scheduledEventId ?? 0);
      const info = state.activities[id];
      const bad = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES;
      if (!info) {
        // The activity closed while this workflow task ran (its close event is buffered): the worker
        // could not know, so the request is recorded and the buffered close follows it.
        if (!state.buffered.some((b) => b.scheduledEventId === id && b.eventType !== EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)) {
          throw new CommandError(bad, `invalid activity: no pending activity with ScheduledEventId ${id}`);
        }
        t.addEvent(EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED, 'activityTaskCancelRequestedEventAttributes', { scheduledEventId: id, workflowTaskCompletedEventId: completedEventId });
        return;
      }
      if (info.cancelRequested) throw new CommandError(bad, `invalid activity: cancellation of ScheduledEventId ${id} was already requested`);
      requestCancelActivity(t, info, completedEventId, identity);
      return;
    }
    case CommandType.COMMAND_TYPE_START_TIMER: {
      const a = command.startTimerCommandAttributes;
      const timerId = a?.timerId ?? '';
      if (!timerId) throw new CommandError(Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES, 'TimerId is not set on StartTimerCommand.');
      if (durationToMs(a?.startToFireTimeout) <= 0) throw new CommandError(Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES, 'A valid StartToFireTimeout is not set on StartTimerCommand.');
      if (state.timers[timerId]) throw new CommandError(Cause.WORKFLOW_TASK_FAILED_CAUSE_START_TIMER_DUPLICATE_ID, `invalid timer: TimerId ${timerId} is already in use`);
      startTimer(t, { timerId, startToFireTimeout: a?.startToFireTimeout ?? null, workflowTaskCompletedEventId: completedEventId });
      return;
    }
    case CommandType.COMMAND_TYPE_CANCEL_TIMER: {
      const timerId = command.cancelTimerCommandAttributes?.timerId ?? '';
      if (!cancelTimer(t, timerId, completedEventId, identity)) {
        throw new CommandError(Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_TIMER_ATTRIBUTES, `invalid timer: no pending timer with TimerId ${timerId}`);
      }
      return;
    }
    case CommandType.COMMAND_TYPE_RECORD_MARKER: {
      const a = command.recordMarkerCommandAttributes;
      if (!a?.markerName) throw new CommandError(Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_RECORD_MARKER_ATTRIBUTES, 'MarkerName is not set on RecordMarkerCommand.');
      sizeLimitCheck(payloadsMapSize(a.details), Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_RECORD_MARKER_ATTRIBUTES, 'RecordMarkerCommandAttributes.Details exceeds size limit.');
      t.addEvent(EventType.EVENT_TYPE_MARKER_RECORDED, 'markerRecordedEventAttributes', {
        markerName: a.markerName,
        details: a.details ?? {},
        workflowTaskCompletedEventId: completedEventId,
        header: a.header ?? null,
        failure: a.failure ?? null,
      });
      return;
    }
    case CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION: {
      const result = command.completeWorkflowExecutionCommandAttributes?.result ?? null;
      // Temporal reports this one with the schedule-activity cause.
      sizeLimitCheck(payloadsSize(result), Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES, 'CompleteWorkflowExecutionCommandAttributes.Result exceeds size limit.');
      completeWorkflow(t, result, completedEventId);
      return;
    }
    case CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION: {
      const failure = command.failWorkflowExecutionCommandAttributes?.failure ?? null;
      const size = failure ? FailureCodec.encode(failure).len : 0;
      sizeLimitCheck(size, Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES, 'FailWorkflowExecutionCommandAttributes.Failure exceeds size limit.');
      failWorkflow(t, failure, completedEventId);
      return;
    }
    case CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION: {
      const a = command.continueAsNewWorkflowExecutionCommandAttributes;
      const bad = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CONTINUE_AS_NEW_ATTRIBUTES;
      if (!a) throw new CommandError(bad, 'ContinueAsNewWorkflowExecutionCommandAttributes is not set on command.');
      if (a.cronSchedule) cronCheck(a.cronSchedule, bad);
      sizeLimitCheck(payloadsSize(a.input), bad, 'ContinueAsNewWorkflowExecutionCommandAttributes. Input exceeds size limit.');
      memoLimitCheck(a.memo, bad, 'ContinueAsNewWorkflowExecutionCommandAttributes. Memo exceeds size limit.');
      const policyProblem = validateRetryPolicy(a.retryPolicy, 'RetryPolicy');
      if (policyProblem) throw new CommandError(bad, policyProblem);
      continueAsNew(t, a.searchAttributes ? { ...a, searchAttributes: checkedSearchAttributes(ctx, a.searchAttributes, bad) } : a, completedEventId);
      return;
    }
    case CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION:
      closeWorkflow(t, WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED, 'workflowExecutionCanceledEventAttributes', {
        details: command.cancelWorkflowExecutionCommandAttributes?.details ?? null,
        workflowTaskCompletedEventId: completedEventId,
      });
      return;
    case CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: {
      const sa = command.upsertWorkflowSearchAttributesCommandAttributes?.searchAttributes;
      if (!sa?.indexedFields || Object.keys(sa.indexedFields).length === 0) {
        throw new CommandError(Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES, 'SearchAttributes is not set on UpsertWorkflowSearchAttributesCommand.');
      }
      sizeLimitCheck(payloadMapSize(sa.indexedFields), Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES, 'UpsertWorkflowSearchAttributesCommandAttributes exceeds size limit.');
      const typed = checkedSearchAttributes(ctx, sa, Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES);
      t.addEvent(EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, 'upsertWorkflowSearchAttributesEventAttributes', {
        searchAttributes: typed,
        workflowTaskCompletedEventId: completedEventId,
      });
      state.searchAttributes = mergeSearchAttributes(state.searchAttributes, typed);
      return;
    }
    case CommandType.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES: {
      const memo = command.modifyWorkflowPropertiesCommandAttributes?.upsertedMemo;
      if (!memo?.fields || Object.keys(memo.fields).length === 0) {
        throw new CommandError(Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_MODIFY_WORKFLOW_PROPERTIES_ATTRIBUTES, 'UpsertedMemo is not set on ModifyWorkflowPropertiesCommand.');
      }
      const bad = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_MODIFY_WORKFLOW_PROPERTIES_ATTRIBUTES;
      sizeLimitCheck(payloadMapSize(memo.fields), bad, 'ModifyWorkflowPropertiesCommandAttributes exceeds size limit.');
      const merged = mergeMemo(state.memo, memo);
      if (exceedsMemoLimit(merged.length)) throw new CommandError(bad, 'ModifyWorkflowPropertiesCommandAttributes. Memo exceeds size limit.', true);
      t.addEvent(EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED, 'workflowPropertiesModifiedEventAttributes', {
        upsertedMemo: memo,
        workflowTaskCompletedEventId: completedEventId,
      });
      state.memo = merged;
      return;
    }
    case CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION:
    case CommandType.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION:
    case CommandType.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION:
      applyExternalCommand(t, command, ctx);
      return;
    case CommandType.COMMAND_TYPE_PROTOCOL_MESSAGE:
      applyProtocolMessageCommand(t, command, ctx);
      return;
    case CommandType.COMMAND_TYPE_SCHEDULE_NEXUS_OPERATION:
    case CommandType.COMMAND_TYPE_REQUEST_CANCEL_NEXUS_OPERATION:
      applyNexusCommand(t, command, ctx);
      return;
    default:
      throw new CommandError(
        Cause.WORKFLOW_TASK_FAILED_CAUSE_FEATURE_DISABLED,
        `command ${CommandType[command.commandType ?? 0] ?? command.commandType} is not supported by this server yet`,
      );
  }
}

export function cronCheck(expr: string, cause: number): void {
  try {
    parseCronSchedule(expr);
  } catch (err) {
    throw new CommandError(cause, (err as Error).message);
  }
}

function scheduleActivityCommand(t: Transition, command: Command, completedEventId: number): void {
  const state = t.state;
  const a = command.scheduleActivityTaskCommandAttributes;
  const bad = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES;
  if (!a) throw new CommandError(bad, 'ScheduleActivityTaskCommandAttributes is not set on command.');
  const activityId = a.activityId ?? '';
  if (!activityId) throw new CommandError(bad, 'ActivityId is not set on ScheduleActivityTaskCommand.');
  if (activityId.length > LIMITS.maxIdLength) throw new CommandError(bad, 'ActivityId exceeds length limit.');
  if (!a.activityType?.name) throw new CommandError(bad, 'ActivityType is not set on ScheduleActivityTaskCommand.');
  if (Object.values(state.activities).some((x) => x.activityId === activityId)) {
    throw new CommandError(Cause.WORKFLOW_TASK_FAILED_CAUSE_SCHEDULE_ACTIVITY_DUPLICATE_ID, `invalid activity: ActivityId ${activityId} is already in use`);
  }
  sizeLimitCheck(payloadsSize(a.input), bad, 'ScheduleActivityTaskCommandAttributes.Input exceeds size limit.');
  if (Object.keys(state.activities).length >= LIMITS.maxPendingActivities) {
    throw new CommandError(Cause.WORKFLOW_TASK_FAILED_CAUSE_PENDING_ACTIVITIES_LIMIT_EXCEEDED, `the number of pending activities ${LIMITS.maxPendingActivities} has reached the limit`);
  }
  const policyProblem = validateRetryPolicy(a.retryPolicy, 'RetryPolicy');
  if (policyProblem) throw new CommandError(bad, policyProblem);
  const timeouts = normalizeActivityTimeouts(a, state.runTimeoutMs);
  if (typeof timeouts === 'string') throw new CommandError(bad, timeouts);
  const { scheduleToCloseMs: s2c, scheduleToStartMs: s2s, startToCloseMs: stc, heartbeatMs: hb } = timeouts;
  scheduleActivity(
    t,
    {
      activityId,
      activityType: a.activityType,
      taskQueue: { name: a.taskQueue?.name || state.taskQueue, kind: 1 },
      header: a.header ?? null,
      input: a.input ?? null,
      scheduleToCloseTimeout: msToDuration(s2c),
      scheduleToStartTimeout: msToDuration(s2s),
      startToCloseTimeout: msToDuration(stc),
      heartbeatTimeout: msToDuration(hb),
      workflowTaskCompletedEventId: completedEventId,
      retryPolicy: retryPolicyToProto(normalizeRetryPolicy(a.retryPolicy)),
      useWorkflowBuildId: a.useWorkflowBuildId ?? false,
      priority: a.priority ?? null,
    },
    timeouts,
  );
}

/** Applies an upsert to encoded search attributes: an empty or JSON-null payload removes the key. */
export function mergeSearchAttributes(current: Uint8Array | null, upsert: SearchAttributes): Uint8Array {
  const existing = current ? SearchAttributesCodec.decode(current) : { indexedFields: {} };
  const fields: Record<string, Payload> = { ...(existing.indexedFields ?? {}) };
  for (const [k, v] of Object.entries(upsert.indexedFields ?? {})) {
    // An empty payload (null data) removes the attribute, as in Temporal.
    if (!v?.data || v.data.length === 0 || isJsonNull(v.data)) delete fields[k];
    else fields[k] = v;
  }
  return SearchAttributesCodec.encode({ indexedFields: fields }).finish();
}

/** Applies an upserted memo, as mergeSearchAttributes does. */
export function mergeMemo(current: Uint8Array | null, upsert: Memo): Uint8Array {
  const existing = current ? MemoCodec.decode(current) : { fields: {} };
  const fields: Record<string, Payload> = { ...(existing.fields ?? {}) };
  for (const [k, v] of Object.entries(upsert.fields ?? {})) {
    if (!v?.data || v.data.length === 0 || isJsonNull(v.data)) delete fields[k];
    else fields[k] = v;
  }
  return MemoCodec.encode({ fields }).finish();
}

function isJsonNull(data: Uint8Array): boolean {
  return data.length === 4 && Buffer.from(data).toString() === 'null';
}
