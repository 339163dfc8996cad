// Mutable state: everything about one run that is derived from its history and needed to decide the
// next transition. It is plain data (numbers, strings, Uint8Array of encoded protos) so that it can be
// cloned, serialized and compared cheaply. Encoded proto fields are kept opaque end to end.

/** WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING (kept here so this file needs no proto code). */
const WORKFLOW_EXECUTION_STATUS_RUNNING = 1;

export interface WorkflowTaskInfo {
  /** Id of WorkflowTaskScheduled; for a transient task, the id it will get when written. */
  scheduledEventId: number;
  /** Id of WorkflowTaskStarted, 0 while not started. */
  startedEventId: number;
  attempt: number;
  /** Attempts > 1 are transient: their Scheduled/Started events are written only on completion. */
  transient: boolean;
  scheduledTimeMs: number;
  startedTimeMs: number;
  startToCloseMs: number;
  taskQueue: string;
  identity: string;
  requestId: string;
  /** Timer task id of the start-to-close timeout while started. */
  timeoutTaskId: string;
  /**
   * Set on the task a completion asked for with force_create_new_workflow_task (a workflow-task
   * heartbeat): it carries only update requests never delivered before.
   */
  heartbeat?: boolean;
  /** A task created for updates only: discarded without events if the worker only rejects them. */
  speculative?: boolean;
  /** Set while the task waits on the sticky queue of the worker that ran the previous task. */
  sticky?: boolean;
  /** Timer task id of the sticky schedule-to-start timeout while `sticky`, '' otherwise. */
  scheduleToStartTaskId?: string;
}

export type ActivityPhase = 'scheduled' | 'started';

export interface ActivityInfo {
  scheduledEventId: number;
  activityId: string;
  activityType: string;
  taskQueue: string;
  /** Encoded ActivityTaskScheduledEventAttributes (input, header, timeouts, retry policy). */
  scheduledAttributes: Uint8Array;
  scheduledTimeMs: number;
  phase: ActivityPhase;
  attempt: number;
  /** True while waiting for the retry backoff to elapse (not dispatchable). */
  awaitingRetry: boolean;
  currentAttemptScheduledTimeMs: number;
  startedTimeMs: number;
  startedIdentity: string;
  startedRequestId: string;
  scheduleToCloseMs: number;
  scheduleToStartMs: number;
  startToCloseMs: number;
  heartbeatMs: number;
  /** Encoded Payloads of the last heartbeat (carried into the next attempt), or null. */
  heartbeatDetails: Uint8Array | null;
  lastHeartbeatMs: number;
  /** Encoded Failure of the previous attempt, or null. */
  lastFailure: Uint8Array | null;
  cancelRequested: boolean;
  cancelRequestedEventId: number;
  /** Timer task ids that belong to this activity (deleted when it closes). */
  timerTaskIds: string[];
  /** The outstanding heartbeat-timeout timer task, '' if none. */
  heartbeatTimerTaskId: string;
  /** Priority key from the schedule command (0 = the workflow's). */
  priorityKey?: number;
  /**
   * Paused by an operator (PauseActivity): no new attempt is dispatched until it is unpaused; a running
   * attempt is told so in its heartbeat responses. Absent (not paused) in states stored before pausing existed.
   */
  paused?: boolean;
  /** When, by whom, why and with which request id the activity was paused ('' / 0 when not paused). */
  pausedAtMs?: number;
  pausedBy?: string;
  pauseReason?: string;
  pauseRequestId?: string;
  /** ResetActivity on a running attempt: its heartbeats report the reset; its failure retries from attempt 1. */
  resetRequested?: boolean;
  /** The reset asked for the heartbeat details to be dropped before the next attempt. */
  resetHeartbeats?: boolean;
  /**
   * When the last failed attempt ended (absent before a retry): where UpdateActivityOptions counts a
   * waiting retry's new backoff from. While a retry waits, currentAttemptScheduledTimeMs is when it is due.
   */
  lastAttemptCompleteMs?: number;
}

export interface UserTimerInfo {
  timerId: string;
  startedEventId: number;
  fireAtMs: number;
  taskId: string;
}

/** An event received while a workflow task was started: written (and numbered) when it completes. */
export interface BufferedEvent {
  /** Encoded HistoryEvent without id. */
  event: Uint8Array;
  eventType: number;
  /** For activity Started/closing events: the scheduled event id, used to wire ids at flush. */
  scheduledEventId: number;
  /** For TimerFired: the timer id (a CancelTimer in the same completion removes it). */
  timerId: string;
}

/** A child workflow this run started (keyed by its StartChildWorkflowExecutionInitiated id). */
export interface ChildInfo {
  initiatedEventId: number;
  namespaceId: string;
  namespace: string;
  workflowId: string;
  workflowType: string;
  /** Run id of the child's first run; '' until ChildWorkflowExecutionStarted. */
  runId: string;
  /** Id of ChildWorkflowExecutionStarted; 0 until written (it may still be buffered). */
  startedEventId: number;
  started: boolean;
  /** ParentClosePolicy. */
  parentClosePolicy: number;
  /** Encoded StartChildWorkflowExecutionInitiatedEventAttributes. */
  initiatedAttributes: Uint8Array;
}

/** A signal or cancel request this run sent to another execution, until it is acknowledged. */
export interface ExternalRequestInfo {
  initiatedEventId: number;
  kind: 'signal' | 'cancel';
  /** Encoded initiated-event attributes (SignalExternal... or RequestCancelExternal...). */
  initiatedAttributes: Uint8Array;
}

/** The parent of a child run (set on every run of the child's chain). */
export interface ParentInfo {
  namespaceId: string;
  namespace: string;
  workflowId: string;
  runId: string;
  initiatedEventId: number;
  /**
   * The first run of the tree this child belongs to: the parent's own root, or the parent when it has
   * none (Temporal's RootWorkflowExecution). Absent in states stored before it was kept; read as the parent.
   */
  rootWorkflowId?: string;
  rootRunId?: string;
}

/**
 * A workflow update (machines/update.ts). 'admitted': received, its request waits here to be delivered
 * (durably, so a restart delivers it again); 'accepted': WorkflowExecutionUpdateAccepted is written
 * (it holds the request from then on); 'completed': WorkflowExecutionUpdateCompleted is written;
 * 'rejected': the workflow (or the server) rejected it — no event, kept only so callers can read the
 * rejection, and only the most recent ones.
 */
export type UpdatePhase = 'admitted' | 'accepted' | 'completed' | 'rejected';

export interface UpdateInfo {
  updateId: string;
  phase: UpdatePhase;
  /** Admission order: requests are delivered in it. */
  seq: number;
  admittedTimeMs: number;
  /** Encoded temporal.api.update.v1.Request while admitted, else null. */
  request: Uint8Array | null;
  /** Started event id of the workflow task that last carried the request; 0 = never delivered. */
  sentInWft: number;
  acceptedEventId: number;
  completedEventId: number;
  /**
   * Encoded temporal.api.update.v1.Outcome once completed or rejected. A large outcome is not copied
   * here (null): it is read from the WorkflowExecutionUpdateCompleted event.
   */
  outcome: Uint8Array | null;
}

export interface MutableState {
  namespaceId: string;
  workflowId: string;
  runId: string;
  firstExecutionRunId: string;
  workflowType: string;
  taskQueue: string;
  /** WorkflowExecutionStatus. */
  status: number;
  startTimeMs: number;
  executionTimeMs: number;
  closeTimeMs: number;
  workflowTaskTimeoutMs: number;
  runTimeoutMs: number;
  executionTimeoutMs: number;
  startRequestId: string;
  /** Request ids already applied to this run (start, signal-with-start, cancel): de-duplication. */
  requestIds: string[];
  /**
   * Request ids of the signals applied before they moved to rows of their own (the store's
   * signal_requests, written per transition from Transition.signalRequestIds): only read, for
   * de-duplication. Runs written since keep this empty.
   */
  signalRequestIds: string[];
  /** Signals this run has taken (Temporal's SignalCount: the per-run limit counts them). */
  signalCount: number;
  nextEventId: number;
  historySizeBytes: number;
  /** Started event id of the last completed workflow task (previous_started_event_id), 0 if none. */
  lastCompletedWftStartedEventId: number;
  workflowTask: WorkflowTaskInfo | null;
  /** Activities keyed by scheduled event id. */
  activities: Record<number, ActivityInfo>;
  timers: Record<string, UserTimerInfo>;
  buffered: BufferedEvent[];
  cancelRequested: boolean;
  /** Encoded Memo / SearchAttributes (current values, after upserts). */
  memo: Uint8Array | null;
  searchAttributes: Uint8Array | null;
  /** Timer task ids of run/execution timeouts and the start backoff. */
  workflowTimerTaskIds: string[];
  stateTransitionCount: number;
  /** Attempt of this run within its retry chain (1 for a first run and after continue-as-new). */
  attempt: number;
  /** Encoded RetryPolicy of the workflow, or null (workflows are not retried by default). */
  retryPolicy: Uint8Array | null;
  /** Cron schedule of the chain ('' = not a cron workflow). */
  cronSchedule: string;
  children: Record<number, ChildInfo>;
  externalRequests: Record<number, ExternalRequestInfo>;
  parent: ParentInfo | null;
  /** Encoded Payloads / Header the run was started with (a retried run starts with the same). */
  startInput: Uint8Array | null;
  startHeader: Uint8Array | null;
  /** When the whole chain (runs, retries, continue-as-new) must end, epoch ms; 0 = never. */
  executionExpirationMs: number;
  /** Workflow updates of this run, keyed by update id (machines/update.ts). */
  updates: Record<string, UpdateInfo>;
  /**
   * The sticky queue of the worker that completed the last workflow task ('' = none): the next task goes
   * there, with only the events that worker has not seen (machines/sticky.ts).
   */
  stickyTaskQueue: string;
  /** How long a task may wait on the sticky queue before it moves to the normal queue; 0 = no limit. */
  stickyScheduleToStartMs: number;
  /** The workflow's Priority.priority_key (0 = default): its tasks' and, unless they set one, its activities'. */
  priorityKey?: number;
  /** The rest of the workflow's Priority (priority.ts), passed on to its activities and children. */
  fairnessKey?: string;
  fairnessWeight?: number;
  /**
   * Set on a run that a reset closed (or found closed): the reset run. A child of this run that closes
   * later reports to the reset run instead, which took over the children pending at the reset point.
   */
  resetRunId?: string;
  /**
   * Set on a standalone activity (StartActivityExecution; history/standalone-activity/): a run of its own
   * kind whose one activity, keyed 1 in `activities`, is all it does. It writes no events.
   */
  standalone?: StandaloneActivity | null;
  /** Worker Deployment versioning (history/versioning.ts); unset on a run that never met it. */
  versioning?: VersioningInfo | null;
  /** Nexus operations this run scheduled and that have not closed, keyed by scheduled event id (machines/nexus-operation.ts). */
  nexusOperations?: Record<number, NexusOperationInfo>;
  /**
   * Completion callbacks attached to this run (a Nexus operation's handler started it): delivered when
   * the run's chain closes (machines/callbacks.ts). Unset or empty when none.
   */
  callbacks?: CallbackInfo[];
  /**
   * Set on a standalone Nexus operation (StartNexusOperationExecution; history/standalone-nexus/): a run of
   * its own kind whose one operation, keyed 1 in `nexusOperations`, is all it does. It writes no events.
   */
  standaloneNexus?: StandaloneNexusOperation | null;
}

/** Where a Nexus operation's start stands: invoking, waiting to retry, or started (asynchronous). */
export type NexusOperationPhase = 'scheduled' | 'backingOff' | 'started';

/** Where a cancel request for a Nexus operation stands ('' none; 'pending': asked before the operation started). */
export type NexusCancelPhase = '' | 'pending' | 'scheduled' | 'backingOff' | 'succeeded' | 'failed';

/** A Nexus operation this run scheduled (Temporal's operation state machine), until it closes. */
export interface NexusOperationInfo {
  scheduledEventId: number;
  endpoint: string;
  endpointId: string;
  service: string;
  operation: string;
  requestId: string;
  scheduledTimeMs: number;
  scheduleToCloseMs: number;
  scheduleToStartMs: number;
  startToCloseMs: number;
  phase: NexusOperationPhase;
  /** Attempts made so far (failed ones, and the one that started it). */
  attempt: number;
  /** The handler's token once started asynchronously, else ''. */
  operationToken: string;
  startedTimeMs: number;
  lastAttemptCompleteMs: number;
  /** Encoded Failure of the last failed attempt, or null. */
  lastAttemptFailure: Uint8Array | null;
  nextAttemptMs: number;
  /** The timer rows of this operation (invocation, backoff, timeouts, cancel): deleted when it closes. */
  timerTaskIds: string[];
  /** The invocation row in flight ('' none): an outcome for another one is stale. */
  invocationTaskId: string;
  cancelPhase: NexusCancelPhase;
  cancelRequestedEventId: number;
  cancelRequestedTimeMs: number;
  cancelAttempt: number;
  cancelLastAttemptCompleteMs: number;
  cancelLastFailure: Uint8Array | null;
  cancelNextAttemptMs: number;
  /** The cancel invocation row in flight ('' none). */
  cancelTaskId: string;
}

/** A completion callback attached to a run (StartWorkflowExecution's completion_callbacks). */
export interface CallbackInfo {
  /** Encoded temporal.api.common.v1.Callback. */
  callback: Uint8Array;
  /** When it was registered, epoch ms. */
  registeredMs: number;
  /** The request id that attached it ('' the start's own). */
  requestId: string;
  /** 'standby' until the run closes; 'scheduled' while delivery is attempted; then 'succeeded' or 'failed'. */
  phase: 'standby' | 'scheduled' | 'backingOff' | 'succeeded' | 'failed';
  attempt: number;
  lastAttemptCompleteMs: number;
  /** Encoded Failure of the last failed delivery, or null. */
  lastAttemptFailure: Uint8Array | null;
  nextAttemptMs: number;
}

/** A run's Worker Deployment versioning (history/versioning.ts). */
export interface VersioningInfo {
  /** VersioningBehavior the last completed workflow task's worker reported (0 = unspecified). */
  behavior: number;
  /** That worker's version when it ran versioned and reported a behavior, else ''. */
  deploymentName: string;
  buildId: string;
  /** The deployment name the last completing worker sent (versioned or not). */
  workerDeploymentName: string;
  /** The versioning override: 0 none, 1 pinned (to the version below), 2 auto-upgrade. */
  overrideKind: number;
  overrideDeploymentName: string;
  overrideBuildId: string;
  /** Continue-as-new with USE_RAMPING_VERSION: tasks go to the ramping version until a task completes. */
  useRamping: boolean;
}

/** What a standalone activity keeps beside its ActivityInfo (which it keeps, for describe, once closed). */
export interface StandaloneActivity {
  /** Encoded temporal.api.activity.v1.ActivityExecutionOutcome once closed, else null. */
  outcome: Uint8Array | null;
  /** Encoded temporal.api.sdk.v1.UserMetadata of the start request, or null. */
  userMetadata: Uint8Array | null;
  /** The start's delay before the first attempt is dispatched, ms. */
  startDelayMs: number;
  /** The accepted cancel request ('' while none): its reason, requester and request id. */
  canceledReason: string;
  cancelIdentity: string;
  cancelRequestId: string;
  /** The accepted terminate request's id ('' while none). */
  terminateRequestId: string;
  /** When the last attempt failed or completed, epoch ms; 0 = none yet. */
  lastAttemptCompleteMs: number;
  /** The backoff before the attempt that waits for its retry, ms. */
  currentRetryIntervalMs: number;
  /** Heartbeats recorded over all attempts. */
  totalHeartbeats: number;
  /** The last worker to start the activity or to complete or fail it. */
  lastWorkerIdentity: string;
}

/** What a standalone Nexus operation keeps beside its NexusOperationInfo (which it keeps, for describe, once closed). */
export interface StandaloneNexusOperation {
  /** Encoded temporal.api.activity.v1.ActivityExecutionOutcome (result: one payload, or failure) once closed, else null. */
  outcome: Uint8Array | null;
  /** Encoded temporal.api.common.v1.Payload of the start's input, or null. */
  input: Uint8Array | null;
  /** The start's Nexus header (keys lower-cased), as JSON; '' when empty. */
  nexusHeader: string;
  /** Encoded temporal.api.sdk.v1.UserMetadata of the start request, or null. */
  userMetadata: Uint8Array | null;
  identity: string;
  /** Encoded temporal.api.common.v1.Link of each link the handler returned (its backing run). */
  links: Uint8Array[];
  /** The accepted cancel request ('' while none): its id, requester and reason. */
  cancelRequestId: string;
  cancelIdentity: string;
  cancelReason: string;
  /** The accepted terminate request's id ('' while none). */
  terminateRequestId: string;
}

/** What describes a new run; newRunState adds everything that starts empty. */
export type NewRunFields = Omit<
  MutableState,
  | 'status' | 'closeTimeMs' | 'nextEventId' | 'historySizeBytes' | 'lastCompletedWftStartedEventId' | 'workflowTask'
  | 'activities' | 'timers' | 'buffered' | 'cancelRequested' | 'workflowTimerTaskIds' | 'stateTransitionCount'
  | 'children' | 'externalRequests' | 'updates' | 'stickyTaskQueue' | 'stickyScheduleToStartMs'
>;

/** The state of a run before its first event: running, nothing pending, nothing written. */
export function newRunState(run: NewRunFields): MutableState {
  // The spread goes last: in Node 20's V8, properties written after a leading spread take a slow path
  // (tens of microseconds for an object this size; docs/performance.md).
  return {
    status: WORKFLOW_EXECUTION_STATUS_RUNNING,
    closeTimeMs: 0,
    nextEventId: 1,
    historySizeBytes: 0,
    lastCompletedWftStartedEventId: 0,
    workflowTask: null,
    activities: {},
    timers: {},
    buffered: [],
    cancelRequested: false,
    workflowTimerTaskIds: [],
    stateTransitionCount: 0,
    children: {},
    externalRequests: {},
    updates: {},
    stickyTaskQueue: '',
    stickyScheduleToStartMs: 0,
    ...run,
  };
}

export function cloneMutableState(state: MutableState): MutableState {
  return structuredClone(state);
}

/** The run at the top of this run's tree of children: its parent's root, or the run itself when it has no parent. */
export function rootExecutionOf(state: MutableState): { workflowId: string; runId: string } {
  const parent = state.parent;
  if (!parent) return { workflowId: state.workflowId, runId: state.runId };
  return { workflowId: parent.rootWorkflowId ?? parent.workflowId, runId: parent.rootRunId ?? parent.runId };
}

export function executionKeyOf(state: MutableState): { namespaceId: string; workflowId: string; runId: string } {
  return { namespaceId: state.namespaceId, workflowId: state.workflowId, runId: state.runId };
}
