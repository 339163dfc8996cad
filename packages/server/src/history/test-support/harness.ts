// A tiny in-memory driver of the pure history core, for unit and property tests. It plays the part of
// the I/O layer (history/ops/*.ts + engine.ts) without a store, matching or a clock: every operation
// runs the same pure functions the ops run, on a clone of the mutable state, and "commits" the
// resulting Transition by appending its events (round-tripped through the protobuf codec, as the store
// does), applying its timer rows to an in-memory timer table and recording its dispatches. A handler
// that throws or returns no transition leaves the state untouched, as engine.update does.
//
// Keep the operations in step with ops/workflow-task.ts, ops/activity-task.ts,
// ops/signal-cancel-terminate.ts, ops/timers.ts and ops/update.ts.
import { api, msToDuration } from '@kairos/common';
import { NotFoundError } from '../../errors.js';
import { checkPayloadSize } from '../../limits.js';
import { EventType, HistoryEventCodec, WorkflowTaskFailedCause, type Command, type Failure, type HistoryEvent, type Payloads, type ProtocolMessage, type UpdateRequest } from '../../proto-types.js';
import type { TimerTask } from '../../timers/timer-task.js';
import { cloneMutableState, type ActivityInfo, type MutableState, type WorkflowTaskInfo } from '../mutable-state.js';
import { Transition, type Dispatch } from '../transition.js';
import { createWorkflowRun, type NewRunParams } from '../api/start-workflow.js';
import { applyCompletion } from '../api/complete-workflow-task.js';
import { failWorkflowTask as failWft, startWorkflowTask as startWft, transientWorkflowTaskEvents, addExternalEvent } from '../machines/workflow-task.js';
import { cancelActivity as cancelAct, completeActivity as completeAct, failActivityAttempt, recordHeartbeat, startActivity as startAct } from '../machines/activity.js';
import { isRunning, terminateWorkflow } from '../machines/workflow.js';
import { applyTimerTask } from '../api/fire-timer.js';
import { applySignal } from '../ops/signal-cancel-terminate.js';
import { admitUpdate as admitUpd, markUpdatesDelivered, updateRequestMessages } from '../machines/update.js';
import { admissionCheck } from '../ops/update.js';
import { applicationFailure, payloads } from './builders.js';

const HistoryEventType = api.history.v1.HistoryEvent;

/** 2024-01-01T00:00:00Z: a round start time makes event times easy to read. */
export const START_MS = Date.UTC(2024, 0, 1);

export interface TimerRow {
  readonly taskId: string;
  readonly fireAtMs: number;
  readonly task: TimerTask;
}

export interface StartOptions {
  nowMs?: number;
  runId?: string;
  workflowId?: string;
  workflowType?: string;
  taskQueue?: string;
  workflowTaskTimeoutMs?: number;
  runTimeoutMs?: number;
  executionTimeoutMs?: number;
  startDelayMs?: number;
  input?: Payloads;
  signalWithStart?: { name: string; input?: Payloads };
  /** StartWorkflowExecution with request_eager_execution: the first task starts for the caller. */
  eager?: boolean;
}

/** What a workflow-task poll would return (the parts the tests look at). */
export interface WorkflowTaskPoll {
  readonly scheduledEventId: number;
  readonly startedEventId: number;
  readonly attempt: number;
  readonly previousStartedEventId: number;
  /** Persisted events plus the transient Scheduled/Started pair of a retried task. */
  readonly history: HistoryEvent[];
  /** Update requests the task carries. */
  readonly messages: ProtocolMessage[];
}

/** The workflow-task token fields (ops/workflow-task.ts checkStarted). */
export interface WorkflowTaskTokenFields {
  readonly scheduledEventId: number;
  readonly attempt: number;
  readonly startedEventId: number;
}

export interface CompleteOptions {
  identity?: string;
  forceCreateNewWorkflowTask?: boolean;
  /** Protocol messages (update acceptances, rejections, responses). */
  messages?: ProtocolMessage[];
  /** Defaults to the token of the last poll. */
  token?: WorkflowTaskTokenFields;
}

/** The outcome of RespondWorkflowTaskCompleted: error is the error the RPC would return (after committing). */
export interface CompletionOutcome {
  readonly error: Error | null;
  /** Set when a speculative task was discarded (RespondWorkflowTaskCompletedResponse.reset_history_event_id). */
  readonly resetHistoryEventId?: number;
}

export interface ActivityPoll {
  readonly scheduledEventId: number;
  readonly attempt: number;
  readonly activityId: string;
  readonly heartbeatDetails: Payloads | null;
  readonly scheduleToCloseMs: number;
  readonly startToCloseMs: number;
  readonly heartbeatMs: number;
}

const TASK_NOT_FOUND = 'Workflow task not found.';
const ACTIVITY_NOT_FOUND = 'Activity task not found.';
const WORKFLOW_COMPLETED = 'workflow execution already completed';

/** Round-trips an event through the wire codec, as the store does (plain object, int64 as numbers). */
export function persistedForm(event: HistoryEvent): HistoryEvent {
  return HistoryEventType.toObject(HistoryEventType.decode(HistoryEventCodec.encode(event).finish()), { longs: Number, defaults: false }) as HistoryEvent;
}

export class EngineHarness {
  state: MutableState;
  nowMs: number;
  /** Every committed event, in order, in persisted form. */
  readonly history: HistoryEvent[] = [];
  /** The durable timer table: rows added and not yet deleted. */
  readonly timers = new Map<string, TimerRow>();
  /** Every dispatch handed to matching, in order. */
  readonly dispatches: Dispatch[] = [];
  /** The signal request ids a store would keep beside the run. */
  private readonly signalRequestIds = new Set<string>();
  /** Events committed by the last operation (empty when it committed nothing). */
  lastEvents: HistoryEvent[] = [];
  lastPoll: WorkflowTaskPoll | null = null;

  private constructor(t: Transition) {
    this.state = t.state;
    this.nowMs = t.nowMs;
    this.commit(t);
  }

  /** Creates a run as StartWorkflowExecution does (createWorkflowRun). */
  static start(opts: StartOptions = {}): EngineHarness {
    const nowMs = opts.nowMs ?? START_MS;
    const request: NewRunParams['request'] = {
      namespace: 'default',
      workflowId: opts.workflowId ?? 'wf-1',
      workflowType: { name: opts.workflowType ?? 'Hello' },
      taskQueue: { name: opts.taskQueue ?? 'tq' },
      identity: 'client',
      requestId: 'start-request',
      ...(opts.input ? { input: opts.input } : {}),
      ...(opts.workflowTaskTimeoutMs !== undefined ? { workflowTaskTimeout: msToDuration(opts.workflowTaskTimeoutMs) } : {}),
      ...(opts.runTimeoutMs !== undefined ? { workflowRunTimeout: msToDuration(opts.runTimeoutMs) } : {}),
      ...(opts.executionTimeoutMs !== undefined ? { workflowExecutionTimeout: msToDuration(opts.executionTimeoutMs) } : {}),
      ...(opts.startDelayMs !== undefined ? { workflowStartDelay: msToDuration(opts.startDelayMs) } : {}),
    };
    const t = createWorkflowRun({
      namespaceId: 'ns-id',
      namespaceName: 'default',
      runId: opts.runId ?? 'run-1',
      request,
      nowMs,
      ...(opts.signalWithStart
        ? { signal: { name: opts.signalWithStart.name, input: opts.signalWithStart.input ?? null, header: null, identity: 'client', requestId: 'sws-request' } }
        : {}),
      ...(opts.eager ? { eagerStart: { identity: 'client', requestId: 'start-request' } } : {}),
    });
    return new EngineHarness(t);
  }

  // ---------------------------------------------------------------- plumbing

  private commit(t: Transition): void {
    t.state.stateTransitionCount++;
    this.lastEvents = t.events.map(persistedForm);
    this.history.push(...this.lastEvents);
    for (const id of t.timerIdsToDelete) this.timers.delete(id);
    for (const row of t.timersToAdd) this.timers.set(row.taskId, { taskId: row.taskId, fireAtMs: row.fireAtMs, task: row.task });
    this.dispatches.push(...t.dispatches);
    for (const id of t.signalRequestIds) this.signalRequestIds.add(id);
    this.state = t.state;
  }

  /** engine.update: runs `handler` on a clone of the state and commits the transition it returns. */
  update<R>(handler: (state: MutableState, nowMs: number) => { transition: Transition | null; value: R }): R {
    const clone = cloneMutableState(this.state);
    const result = handler(clone, this.nowMs);
    if (result.transition) this.commit(result.transition);
    else this.lastEvents = [];
    return result.value;
  }

  private requireRunning(state: MutableState): MutableState {
    if (!isRunning(state)) throw new NotFoundError(WORKFLOW_COMPLETED);
    return state;
  }

  advance(ms: number): this {
    this.nowMs += ms;
    return this;
  }

  // ---------------------------------------------------------------- views

  get running(): boolean {
    return isRunning(this.state);
  }

  get workflowTask(): WorkflowTaskInfo | null {
    return this.state.workflowTask;
  }

  activity(scheduledEventId: number): ActivityInfo | undefined {
    return this.state.activities[scheduledEventId];
  }

  /** The scheduled event id of the pending activity with this activity id. */
  activityByActivityId(activityId: string): ActivityInfo | undefined {
    return Object.values(this.state.activities).find((a) => a.activityId === activityId);
  }

  /** Events committed after `fromEventId` (exclusive). */
  eventsAfter(fromEventId: number): HistoryEvent[] {
    return this.history.filter((e) => Number(e.eventId) > fromEventId);
  }

  get lastEventId(): number {
    return this.history.length === 0 ? 0 : Number(this.history[this.history.length - 1]!.eventId);
  }

  /** Timer rows of one kind (optionally filtered). */
  timerRows(pred: (task: TimerTask) => boolean = () => true): TimerRow[] {
    // The store's fire order: (fire time, task id), task ids compared bytewise.
    return [...this.timers.values()].filter((r) => pred(r.task)).sort((a, b) => a.fireAtMs - b.fireAtMs || (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0));
  }

  // ---------------------------------------------------------------- workflow tasks (ops/workflow-task.ts)

  /** RecordWorkflowTaskStarted for the pending scheduled task; null when there is none (stale ref). */
  startWorkflowTask(identity = 'worker', requestId = `wft-request-${this.nowMs}`): WorkflowTaskPoll | null {
    const started = this.update<boolean>((state, nowMs) => {
      if (!isRunning(state)) return { transition: null, value: false };
      const wft = state.workflowTask;
      if (!wft || wft.startedEventId !== 0) return { transition: null, value: false };
      const t = new Transition(state, nowMs);
      markUpdatesDelivered(t.state, startWft(t, identity, requestId));
      return { transition: t, value: true };
    });
    if (!started) return null;
    // The poll response reads the committed history and appends the transient Scheduled/Started pair.
    const wft = this.state.workflowTask!;
    const result: WorkflowTaskPoll = {
      scheduledEventId: wft.scheduledEventId,
      startedEventId: wft.startedEventId,
      attempt: wft.attempt,
      previousStartedEventId: this.state.lastCompletedWftStartedEventId,
      history: [...this.history, ...transientWorkflowTaskEvents(this.state).map(persistedForm)],
      messages: updateRequestMessages(this.state, wft),
    };
    this.lastPoll = result;
    return result;
  }

  /** The history a poll of the currently started task would carry. */
  pollHistory(): HistoryEvent[] {
    return [...this.history, ...transientWorkflowTaskEvents(this.state).map(persistedForm)];
  }

  private tokenOrLast(token: WorkflowTaskTokenFields | undefined): WorkflowTaskTokenFields {
    const tk = token ?? this.lastPoll;
    if (!tk) throw new Error('harness: no workflow task was polled');
    return tk;
  }

  private checkStarted(state: MutableState, token: WorkflowTaskTokenFields): void {
    const wft = state.workflowTask;
    if (!wft || wft.scheduledEventId !== token.scheduledEventId || wft.attempt !== token.attempt || wft.startedEventId !== token.startedEventId) {
      throw new NotFoundError(TASK_NOT_FOUND);
    }
  }

  /** RespondWorkflowTaskCompleted. Throws NotFoundError (nothing committed) for a stale token or a closed run. */
  completeWorkflowTask(commands: Command[] = [], opts: CompleteOptions = {}): CompletionOutcome {
    const token = this.tokenOrLast(opts.token);
    const identity = opts.identity ?? 'worker';
    return this.update<CompletionOutcome>((loaded, nowMs) => {
      const state = this.requireRunning(loaded);
      this.checkStarted(state, token);
      const r = applyCompletion(state, nowMs, {
        identity,
        binaryChecksum: '',
        sdkMetadata: null,
        meteringMetadata: null,
        workerVersion: null,
        commands,
        messages: opts.messages ?? [],
        forceCreateNewWorkflowTask: opts.forceCreateNewWorkflowTask ?? false,
        stickyAttributes: null,
        discardSpeculativeWithEvents: true,
        lookups: {},
        returnNewWorkflowTask: false,
      });
      return { transition: r.transition, value: { error: r.error, ...(r.resetHistoryEventId !== undefined ? { resetHistoryEventId: r.resetHistoryEventId } : {}) } };
    });
  }

  /** RespondWorkflowTaskFailed. */
  failWorkflowTask(
    cause: number = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
    failure: Failure | null = { message: 'workflow code threw', source: 'TypeScriptSDK', applicationFailureInfo: { type: 'Error' } },
    opts: { token?: WorkflowTaskTokenFields; identity?: string } = {},
  ): void {
    const token = this.tokenOrLast(opts.token);
    this.update((loaded, nowMs) => {
      const state = this.requireRunning(loaded);
      this.checkStarted(state, token);
      const t = new Transition(state, nowMs);
      failWft(t, cause, failure, opts.identity ?? 'worker', '');
      return { transition: t, value: undefined };
    });
  }

  /** Fires the start-to-close timer row of the started workflow task; false if there is none. */
  timeOutWorkflowTask(): boolean {
    const wft = this.state.workflowTask;
    if (!wft || wft.startedEventId === 0) return false;
    const row = this.timerRows((task) => task.kind === 'workflowTaskTimeout' && task.scheduledEventId === wft.scheduledEventId && task.attempt === wft.attempt)[0];
    if (!row) return false;
    this.fireTimer(row.taskId);
    return true;
  }

  // ---------------------------------------------------------------- timers (ops/timers.ts)

  /** handleTimer: advances the clock to the row's time if needed, re-validates and applies it. */
  fireTimer(taskId: string): void {
    const row = this.timers.get(taskId);
    if (!row) throw new Error(`harness: no timer row ${taskId}`);
    if (row.fireAtMs > this.nowMs) this.nowMs = row.fireAtMs;
    const task = row.task;
    this.update((state, nowMs) => {
      const t = new Transition(state, nowMs);
      t.deleteTimer(row.taskId);
      if (!isRunning(state)) return { transition: t, value: undefined };
      applyTimerTask(t, task);
      return { transition: t, value: undefined };
    });
  }

  /** Fires, in time order, every row due at or before `targetMs`, then sets the clock to `targetMs`. */
  runUntil(targetMs: number): void {
    for (let guard = 0; guard < 10_000; guard++) {
      const next = this.timerRows().find((r) => r.fireAtMs <= targetMs);
      if (!next) break;
      this.fireTimer(next.taskId);
    }
    if (targetMs > this.nowMs) this.nowMs = targetMs;
  }

  /** Fires the row of user timer `timerId`; false if none. */
  fireUserTimer(timerId: string): boolean {
    const row = this.timerRows((task) => task.kind === 'userTimer' && task.timerId === timerId)[0];
    if (!row) return false;
    this.fireTimer(row.taskId);
    return true;
  }

  /** Fires the newest activity timeout row of this type for the activity; false if none. */
  fireActivityTimeout(scheduledEventId: number, timeoutType: number): boolean {
    const rows = this.timerRows((task) => task.kind === 'activityTimeout' && task.scheduledEventId === scheduledEventId && task.timeoutType === timeoutType);
    const row = rows[rows.length - 1];
    if (!row) return false;
    this.fireTimer(row.taskId);
    return true;
  }

  /** Fires the retry-backoff row of the activity; false if none. */
  fireActivityRetry(scheduledEventId: number): boolean {
    const row = this.timerRows((task) => task.kind === 'activityRetry' && task.scheduledEventId === scheduledEventId).pop();
    if (!row) return false;
    this.fireTimer(row.taskId);
    return true;
  }

  /** Fires the run-timeout row; false if none. */
  fireRunTimeout(): boolean {
    const row = this.timerRows((task) => task.kind === 'workflowRunTimeout')[0];
    if (!row) return false;
    this.fireTimer(row.taskId);
    return true;
  }

  // ---------------------------------------------------------------- activities (ops/activity-task.ts)

  /** RecordActivityTaskStarted for the current attempt; null when it is not dispatchable. */
  startActivity(scheduledEventId: number, identity = 'activity-worker', requestId = `act-request-${this.nowMs}`): ActivityPoll | null {
    return this.update<ActivityPoll | null>((state, nowMs) => {
      if (!isRunning(state)) return { transition: null, value: null };
      const info = state.activities[scheduledEventId];
      if (!info || info.phase !== 'scheduled' || info.awaitingRetry) return { transition: null, value: null };
      const t = new Transition(state, nowMs);
      startAct(t, info, identity, requestId);
      return {
        transition: t,
        value: {
          scheduledEventId,
          attempt: info.attempt,
          activityId: info.activityId,
          heartbeatDetails: info.heartbeatDetails ? (api.common.v1.Payloads.decode(info.heartbeatDetails) as Payloads) : null,
          scheduleToCloseMs: info.scheduleToCloseMs,
          startToCloseMs: info.startToCloseMs,
          heartbeatMs: info.heartbeatMs,
        },
      };
    });
  }

  private findStartedActivity(state: MutableState, scheduledEventId: number, attempt: number | undefined): ActivityInfo {
    const info = state.activities[scheduledEventId];
    if (!info || (attempt !== undefined && info.attempt !== attempt) || info.phase !== 'started') throw new NotFoundError(ACTIVITY_NOT_FOUND);
    return info;
  }

  /** RespondActivityTaskCompleted. */
  completeActivity(scheduledEventId: number, result: Payloads | null = payloads('done'), opts: { attempt?: number; identity?: string } = {}): void {
    this.update((loaded, nowMs) => {
      const state = this.requireRunning(loaded);
      const info = this.findStartedActivity(state, scheduledEventId, opts.attempt);
      const t = new Transition(state, nowMs);
      const identity = opts.identity ?? 'activity-worker';
      if (checkPayloadSize(result, 'Result')) {
        failActivityAttempt(t, info, { message: 'Complete result exceeds size limit.', serverFailureInfo: { nonRetryable: true } }, { identity });
      } else {
        completeAct(t, info, result, identity);
      }
      return { transition: t, value: undefined };
    });
  }

  /** RespondActivityTaskFailed. */
  failActivity(scheduledEventId: number, failure: Failure = applicationFailure('activity failed'), opts: { attempt?: number; identity?: string; lastHeartbeatDetails?: Payloads } = {}): void {
    this.update((loaded, nowMs) => {
      const state = this.requireRunning(loaded);
      const info = this.findStartedActivity(state, scheduledEventId, opts.attempt);
      const t = new Transition(state, nowMs);
      failActivityAttempt(t, info, failure, { identity: opts.identity ?? 'activity-worker', heartbeatDetails: opts.lastHeartbeatDetails ?? null });
      return { transition: t, value: undefined };
    });
  }

  /** RespondActivityTaskCanceled. */
  cancelActivity(scheduledEventId: number, details: Payloads | null = null, opts: { attempt?: number; identity?: string } = {}): void {
    this.update((loaded, nowMs) => {
      const state = this.requireRunning(loaded);
      const info = this.findStartedActivity(state, scheduledEventId, opts.attempt);
      const t = new Transition(state, nowMs);
      cancelAct(t, info, details, opts.identity ?? 'activity-worker');
      return { transition: t, value: undefined };
    });
  }

  /** RecordActivityTaskHeartbeat. */
  heartbeatActivity(scheduledEventId: number, details: Payloads | null = null, opts: { attempt?: number } = {}): { cancelRequested: boolean } {
    return this.update((loaded, nowMs) => {
      const state = this.requireRunning(loaded);
      const info = this.findStartedActivity(state, scheduledEventId, opts.attempt);
      const t = new Transition(state, nowMs);
      recordHeartbeat(t, info, details);
      return { transition: t, value: { cancelRequested: info.cancelRequested } };
    });
  }

  // ---------------------------------------------------------------- outside requests (ops/signal-cancel-terminate.ts)

  /** SignalWorkflowExecution; false when the request id was already applied. */
  signal(signalName = 'sig', input: Payloads | null = null, opts: { requestId?: string; identity?: string } = {}): boolean {
    return this.update((loaded, nowMs) => {
      const state = this.requireRunning(loaded);
      const t = new Transition(state, nowMs);
      const applied = applySignal(t, { signalName, input, header: null, identity: opts.identity ?? 'client', requestId: opts.requestId ?? '' }, this.signalRequestIds);
      return { transition: applied ? t : null, value: applied };
    });
  }

  /** RequestCancelWorkflowExecution (idempotent; a closed run is a no-op). */
  requestCancelWorkflow(reason = 'cancel please', opts: { requestId?: string; identity?: string } = {}): void {
    this.update((state, nowMs) => {
      if (!isRunning(state)) return { transition: null, value: undefined };
      if (state.cancelRequested || (opts.requestId && state.requestIds.includes(opts.requestId))) return { transition: null, value: undefined };
      const t = new Transition(state, nowMs);
      state.cancelRequested = true;
      if (opts.requestId) state.requestIds.push(opts.requestId);
      addExternalEvent(t, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED, 'workflowExecutionCancelRequestedEventAttributes', {
        cause: reason,
        identity: opts.identity ?? 'client',
      });
      return { transition: t, value: undefined };
    });
  }

  /** UpdateWorkflowExecution's admission (ops/update.ts): false when the update id is already known. */
  admitUpdate(request: UpdateRequest, opts: { firstExecutionRunId?: string } = {}): boolean {
    const key = { namespaceId: this.state.namespaceId, workflowId: this.state.workflowId, runId: this.state.runId };
    const call = { workflowId: key.workflowId, runId: '', firstExecutionRunId: opts.firstExecutionRunId ?? '', request, waitStage: 3 };
    return this.update((state, nowMs) => {
      if (admissionCheck(state, key, call) === 'exists') return { transition: null, value: false };
      const t = new Transition(state, nowMs);
      admitUpd(t, request);
      return { transition: t, value: true };
    });
  }

  /** TerminateWorkflowExecution. */
  terminate(reason = 'terminated by test', identity = 'client'): void {
    this.update((loaded, nowMs) => {
      const state = this.requireRunning(loaded);
      const t = new Transition(state, nowMs);
      terminateWorkflow(t, reason, null, identity);
      return { transition: t, value: undefined };
    });
  }
}

export { applicationFailure, cmd, payload, payloads, updateReply, updateRequest, type ScheduleActivityOptions } from './builders.js';
