// The protocol between the worker (Node) and the workflow runtime inside the sandbox. Everything
// here is plain data: the worker turns history events into activation jobs, the runtime runs the
// workflow code and answers with commands, and the worker matches those against history (replay) or
// sends them to the server. Sequence numbers (`seq`) are per command kind, starting at 1, as in the
// official SDK, so that activity and timer ids agree between the two SDKs.
import type { CompiledRetryPolicy } from './retry-policy.js';
import type { Payload } from './payload.js';
import type { ProtoFailure } from './proto-shapes.js';
import type { Headers } from './interceptors.js';
import type { UpdateInfo } from './messages.js';
import type { TypedSearchAttributes } from './search-attributes.js';

export interface WorkflowInfo {
  readonly workflowId: string;
  readonly runId: string;
  readonly workflowType: string;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly attempt: number;
  readonly firstExecutionRunId: string;
  readonly continuedFromExecutionRunId: string | undefined;
  readonly startTime: Date;
  readonly runStartTime: Date;
  readonly executionTimeoutMs: number | undefined;
  readonly runTimeoutMs: number | undefined;
  readonly taskTimeoutMs: number;
  readonly cronSchedule: string | undefined;
  /** Events in history when the current activation started. */
  historyLength: number;
  /** True while the workflow code re-runs over events it already produced. */
  unsafe: { isReplaying: boolean };
  readonly lastResult?: unknown;
  /** The memo: from the start, changed by `upsertMemo`. */
  memo?: Record<string, unknown>;
  /** Search attributes (each a list of values): from the start, changed by `upsertSearchAttributes`. */
  searchAttributes: Record<string, unknown[]>;
  /** The search attributes with their types (those whose payloads say their type), kept up to date by upserts. */
  typedSearchAttributes: TypedSearchAttributes;
  /** The update whose handler is running, read where this is read (same as `currentUpdateInfo()`). */
  readonly currentUpdateInfo?: UpdateInfo | undefined;
  /** The parent workflow, for a child workflow. */
  readonly parent?: { readonly workflowId: string; readonly runId: string; readonly namespace: string } | undefined;
  /** The first run of the tree of children this workflow belongs to; unset for a workflow without a parent. */
  readonly root?: { readonly workflowId: string; readonly runId: string } | undefined;
}

/** What the worker learns from WorkflowExecutionStarted, in data form (times as epoch ms). */
export interface StartInfo {
  workflowId: string;
  runId: string;
  workflowType: string;
  namespace: string;
  taskQueue: string;
  attempt: number;
  firstExecutionRunId: string;
  continuedFromExecutionRunId: string | undefined;
  startTimeMs: number;
  runStartTimeMs: number;
  executionTimeoutMs: number | undefined;
  runTimeoutMs: number | undefined;
  taskTimeoutMs: number;
  cronSchedule: string | undefined;
  lastResult: Payload | undefined;
  memo: Record<string, Payload>;
  searchAttributes: Record<string, Payload>;
  parent: { workflowId: string; runId: string; namespace: string } | undefined;
  root: { workflowId: string; runId: string } | undefined;
}

export type ActivityResolution =
  | { status: 'completed'; result: Payload | undefined }
  | { status: 'failed'; failure: ProtoFailure }
  | { status: 'cancelled'; failure: ProtoFailure };

/**
 * A local activity's resolution: as an activity's, or (sdk-core's DoBackoff) "retry after a durable
 * timer": the workflow sleeps `backoffMs` and schedules the activity again as attempt `attempt`.
 */
export type LocalActivityResolution =
  | ActivityResolution
  | { status: 'backoff'; attempt: number; backoffMs: number; originalScheduleTimeMs: number | undefined };

export type ChildWorkflowResolution = ActivityResolution;

export type ChildStartResolution =
  | { status: 'started'; runId: string }
  | { status: 'failed'; cause: 'alreadyStarted' | 'namespaceNotFound' | 'unknown'; workflowId: string; workflowType: string };

export type ActivationJob =
  | { kind: 'initialize'; args: Payload[]; headers: Headers; info: StartInfo; randomnessSeed: string }
  | { kind: 'signal'; signalName: string; args: Payload[]; headers: Headers }
  | { kind: 'cancelWorkflow'; reason: string }
  | { kind: 'resolveActivity'; seq: number; resolution: ActivityResolution }
  | { kind: 'resolveLocalActivity'; seq: number; resolution: LocalActivityResolution }
  | { kind: 'fireTimer'; seq: number }
  | { kind: 'resolveChildStart'; seq: number; resolution: ChildStartResolution }
  | { kind: 'resolveChild'; seq: number; resolution: ChildWorkflowResolution }
  | { kind: 'resolveRequestCancelExternal'; seq: number; failure: ProtoFailure | undefined }
  | { kind: 'resolveSignalExternal'; seq: number; failure: ProtoFailure | undefined }
  /** History holds a marker of this patch in the workflow task being replayed. */
  | { kind: 'notifyHasPatch'; patchId: string }
  /**
   * An update request: from the live task's protocol messages (`runValidator` true), or, on replay,
   * from the WorkflowExecutionUpdateAccepted event of the task that accepted it (false).
   */
  | { kind: 'doUpdate'; updateId: string; protocolInstanceId: string; name: string; args: Payload[]; headers: Headers; runValidator: boolean };

export interface Activation {
  /** Workflow time: the event time of the WorkflowTaskStarted event of this activation. */
  timestampMs: number;
  isReplaying: boolean;
  historyLength: number;
  jobs: ActivationJob[];
}

export interface ActivityCommandOptions {
  taskQueue: string | undefined;
  scheduleToCloseTimeoutMs: number | undefined;
  scheduleToStartTimeoutMs: number | undefined;
  startToCloseTimeoutMs: number | undefined;
  heartbeatTimeoutMs: number | undefined;
  retry: CompiledRetryPolicy | undefined;
}

export interface LocalActivityCommandOptions {
  scheduleToCloseTimeoutMs: number | undefined;
  scheduleToStartTimeoutMs: number | undefined;
  startToCloseTimeoutMs: number | undefined;
  retry: CompiledRetryPolicy | undefined;
  /** Backoffs longer than this become a durable timer in the workflow (sdk-core's default: 1 minute). */
  localRetryThresholdMs: number | undefined;
}

/** What a `core_local_activity` marker records (sdk-core's LocalActivityMarkerData, plus the outcome). */
export interface LocalActivityMarker {
  seq: number;
  attempt: number;
  activityId: string;
  activityType: string;
  completeTimeMs: number | undefined;
  backoffMs: number | undefined;
  originalScheduleTimeMs: number | undefined;
  result: Payload | undefined;
  failure: ProtoFailure | undefined;
}

export interface ContinueAsNewCommandOptions {
  workflowType: string;
  taskQueue: string | undefined;
  runTimeoutMs: number | undefined;
  taskTimeoutMs: number | undefined;
  /** Absent: the new run keeps this run's memo (the server copies it). */
  memo?: Record<string, Payload> | undefined;
  /** Absent: the new run keeps this run's search attributes. */
  searchAttributes?: Record<string, Payload> | undefined;
}

export type ParentClosePolicy = 'TERMINATE' | 'ABANDON' | 'REQUEST_CANCEL';

export interface ChildWorkflowCommandOptions {
  taskQueue: string | undefined;
  executionTimeoutMs: number | undefined;
  runTimeoutMs: number | undefined;
  taskTimeoutMs: number | undefined;
  parentClosePolicy: ParentClosePolicy | undefined;
  workflowIdReusePolicy: string | undefined;
  retry: CompiledRetryPolicy | undefined;
  cronSchedule: string | undefined;
  memo: Record<string, Payload> | undefined;
  searchAttributes?: Record<string, Payload> | undefined;
}

export type WorkflowCommand =
  | { kind: 'scheduleActivity'; seq: number; activityType: string; args: Payload[]; headers: Headers; options: ActivityCommandOptions }
  | { kind: 'requestCancelActivity'; seq: number }
  /** Run by the worker during the workflow task; never sent to the server. */
  | {
      kind: 'scheduleLocalActivity';
      seq: number;
      activityType: string;
      args: Payload[];
      attempt: number;
      originalScheduleTimeMs: number | undefined;
      options: LocalActivityCommandOptions;
      /** From the workflow's outbound interceptors; the worker's activity interceptors read them. */
      headers?: Headers;
    }
  /** Made by the worker once a local activity resolved: a `core_local_activity` marker. */
  | { kind: 'localActivityMarker'; marker: LocalActivityMarker }
  | { kind: 'upsertSearchAttributes'; searchAttributes: Record<string, Payload> }
  /** Memo upsert: a null payload removes the key. */
  | { kind: 'modifyWorkflowProperties'; memo: Record<string, Payload> }
  | { kind: 'startTimer'; seq: number; durationMs: number }
  | { kind: 'cancelTimer'; seq: number }
  | { kind: 'completeWorkflow'; result: Payload }
  | { kind: 'failWorkflow'; failure: ProtoFailure }
  | { kind: 'cancelWorkflow' }
  | { kind: 'continueAsNew'; args: Payload[]; headers: Headers; options: ContinueAsNewCommandOptions }
  | {
      kind: 'startChild';
      seq: number;
      workflowType: string;
      workflowId: string;
      args: Payload[];
      headers: Headers;
      options: ChildWorkflowCommandOptions;
    }
  | { kind: 'requestCancelExternal'; seq: number; workflowId: string; runId: string | undefined; childWorkflowOnly: boolean }
  | { kind: 'setPatchMarker'; patchId: string; deprecated: boolean }
  | {
      kind: 'signalExternal';
      seq: number;
      workflowId: string;
      runId: string | undefined;
      signalName: string;
      args: Payload[];
      headers: Headers;
      childWorkflowOnly: boolean;
    }
  /** The validator passed: the update is accepted (a PROTOCOL_MESSAGE command + Acceptance). */
  | { kind: 'acceptUpdate'; protocolInstanceId: string }
  /** The validator threw, or no handler exists: a Rejection message, no command, no event. */
  | { kind: 'rejectUpdate'; protocolInstanceId: string; failure: ProtoFailure }
  /** The handler returned or threw a TemporalFailure: a PROTOCOL_MESSAGE command + Response. */
  | { kind: 'completeUpdate'; protocolInstanceId: string; outcome: { result: Payload } | { failure: ProtoFailure } };

export interface QueryRequest {
  queryId: string;
  queryType: string;
  args: Payload[];
  headers: Headers;
}

export type QueryAnswer = { queryId: string; result: Payload } | { queryId: string; failure: ProtoFailure };

export interface ActivationCompletion {
  commands: WorkflowCommand[];
  /** Set when workflow code failed the task (not the workflow): the worker fails the workflow task. */
  taskFailure?: ProtoFailure;
}
