// The workflow-task state machine.
//
//   (none) --schedule--> SCHEDULED --start--> STARTED --complete--> (none)
//                            ^                    |--fail/timeout--> SCHEDULED (attempt+1, transient)
//                            |____________________|
//
// Attempt 1 writes WorkflowTaskScheduled/Started when they happen. A retried task (attempt > 1) is
// *transient*: its Scheduled/Started events are only attached to the poll response and written when
// the attempt completes, so a workflow stuck in a failing task does not grow its history. New events
// arriving while a transient task is scheduled turn it back into a normal attempt-1 task.
//
// While a task is STARTED, events caused by the outside world (signals, activity completions, ...)
// are buffered and written after the task's completion and commands, because sdk-core requires the
// Started event to be followed directly by the task's close event.
import { api } from '@kairos/common';
import { EventType, HistoryEventCodec, TaskQueueKind, TimeoutType, type Failure, type HistoryEvent } from '../../proto-types.js';
import { msToDuration } from '@kairos/common';
import type { Transition, EventAttributesKey } from '../transition.js';
import { LIMITS } from '../../limits.js';
import type { BufferedEvent, MutableState, WorkflowTaskInfo } from '../mutable-state.js';
import { clearStickiness } from './sticky.js';
import { recordBuildId } from './build-ids.js';
import { completedEventVersioning, NO_DEPLOYMENT, recordCompletion, type CompletingWorker } from '../versioning.js';

const { HistoryEvent: HistoryEventType } = api.history.v1;
const SuggestReason = api.enums.v1.SuggestContinueAsNewReason;

export function hasStartedWorkflowTask(state: MutableState): boolean {
  return state.workflowTask !== null && state.workflowTask.startedEventId > 0;
}

/** Schedules a normal (attempt 1) workflow task unless one is already pending. */
export function ensureWorkflowTask(t: Transition): void {
  const state = t.state;
  const wft = state.workflowTask;
  if (wft === null) {
    scheduleWorkflowTask(t, 1);
    return;
  }
  if (wft.transient && wft.startedEventId === 0) {
    // New events make the transient (or speculative) attempt a normal one; its old dispatch becomes stale.
    t.deleteTimer(wft.scheduleToStartTaskId ?? '');
    state.workflowTask = null;
    scheduleWorkflowTask(t, 1);
  }
}

/**
 * Schedules a workflow task with the given attempt (transient when attempt > 1). A *speculative* task
 * (attempt 1, for updates only) writes no events either: if the worker only rejects the updates it
 * carried, it is discarded without a trace (discardSpeculativeWorkflowTask); any other outcome writes its
 * Scheduled/Started events then, as for a transient task.
 */
export function scheduleWorkflowTask(t: Transition, attempt: number, speculative = false): void {
  const info = newScheduledTask(t, attempt, speculative);
  t.dispatch({ kind: 'workflowTask', taskQueue: info.taskQueue, scheduledEventId: info.scheduledEventId, attempt, priorityKey: t.state.priorityKey ?? 0 });
}

/**
 * Eager workflow start: the new run's first task is scheduled and started in the start's own
 * transition, for the worker that sent the start (request_eager_execution). It never goes to matching;
 * if that worker does not complete it, its start-to-close timeout retries it through the task queue.
 */
export function startFirstWorkflowTaskEagerly(t: Transition, identity: string, requestId: string): WorkflowTaskInfo {
  newScheduledTask(t, 1, false);
  return startWorkflowTask(t, identity, requestId);
}

function newScheduledTask(t: Transition, attempt: number, speculative: boolean): WorkflowTaskInfo {
  const state = t.state;
  const transient = attempt > 1 || speculative;
  const info: WorkflowTaskInfo = {
    scheduledEventId: state.nextEventId,
    startedEventId: 0,
    attempt,
    transient,
    scheduledTimeMs: t.nowMs,
    startedTimeMs: 0,
    startToCloseMs: state.workflowTaskTimeoutMs,
    taskQueue: state.taskQueue,
    identity: '',
    requestId: '',
    timeoutTaskId: '',
  };
  // A worker that asked for stickiness gets the task on its own queue (a retried task never: failing
  // on the sticky queue clears stickiness first, see machines/sticky.ts).
  if (speculative) info.speculative = true;
  if (state.stickyTaskQueue && attempt === 1) {
    info.taskQueue = state.stickyTaskQueue;
    info.sticky = true;
  }
  if (!transient) {
    const ev = t.addEvent(EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, 'workflowTaskScheduledEventAttributes', scheduledAttributes(state, info));
    info.scheduledEventId = Number(ev.eventId);
  }
  state.workflowTask = info;
  if (info.sticky && state.stickyScheduleToStartMs > 0) {
    // Memory-only: after a restart the task goes to the normal queue anyway (recover-dispatches.ts).
    info.scheduleToStartTaskId = t.addTimer(
      t.nowMs + state.stickyScheduleToStartMs,
      { kind: 'stickyScheduleToStartTimeout', scheduledEventId: info.scheduledEventId, attempt },
      true,
    );
  }
  return info;
}

function scheduledAttributes(state: MutableState, wft: WorkflowTaskInfo): NonNullable<HistoryEvent['workflowTaskScheduledEventAttributes']> {
  return {
    taskQueue: wft.sticky
      ? { name: wft.taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_STICKY, normalName: state.taskQueue }
      : { name: wft.taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    startToCloseTimeout: msToDuration(state.workflowTaskTimeoutMs),
    attempt: wft.attempt,
  };
}

/** The Scheduled/Started events of a transient task, as attached to its poll response. */
export function transientWorkflowTaskEvents(state: MutableState): HistoryEvent[] {
  const wft = state.workflowTask;
  if (!wft || !wft.transient || wft.startedEventId === 0) return [];
  return [
    {
      eventId: wft.scheduledEventId,
      eventTime: msTs(wft.scheduledTimeMs),
      eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
      workflowTaskScheduledEventAttributes: scheduledAttributes(state, wft),
    },
    {
      eventId: wft.startedEventId,
      eventTime: msTs(wft.startedTimeMs),
      eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
      workflowTaskStartedEventAttributes: {
        scheduledEventId: wft.scheduledEventId,
        identity: wft.identity,
        requestId: wft.requestId,
        historySizeBytes: state.historySizeBytes,
        ...continueAsNewSuggestion(state),
      },
    },
  ];
}

function msTs(ms: number): { seconds: number; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1e6 };
}

/** Marks the scheduled task started (writing WorkflowTaskStarted unless transient) and arms its timeout. */
/** `targetVersionChanged`: the run is pinned and its task queue's new work goes to another version now. */
export function startWorkflowTask(t: Transition, identity: string, requestId: string, targetVersionChanged = false): WorkflowTaskInfo {
  const state = t.state;
  const wft = state.workflowTask;
  if (!wft || wft.startedEventId !== 0) throw new Error('no scheduled workflow task to start');
  wft.identity = identity;
  wft.requestId = requestId;
  wft.startedTimeMs = t.nowMs;
  if (wft.transient) {
    wft.startedEventId = wft.scheduledEventId + 1;
    t.stateChanged = true;
  } else {
    const ev = t.addEvent(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, 'workflowTaskStartedEventAttributes', {
      scheduledEventId: wft.scheduledEventId,
      identity,
      requestId,
      historySizeBytes: state.historySizeBytes,
      ...continueAsNewSuggestion(state),
      ...(targetVersionChanged ? { targetWorkerDeploymentVersionChanged: true } : {}),
    });
    wft.startedEventId = Number(ev.eventId);
  }
  if (wft.scheduleToStartTaskId) {
    t.deleteTimer(wft.scheduleToStartTaskId);
    wft.scheduleToStartTaskId = '';
  }
  wft.timeoutTaskId = t.addTimer(t.nowMs + wft.startToCloseMs, {
    kind: 'workflowTaskTimeout',
    scheduledEventId: wft.scheduledEventId,
    attempt: wft.attempt,
  });
  return wft;
}

/** Temporal's hint on WorkflowTaskStarted that the history is getting long (workflowInfo().continueAsNewSuggested). */
function continueAsNewSuggestion(state: MutableState): { suggestContinueAsNew: boolean; suggestContinueAsNewReasons: number[] } {
  const reasons: number[] = [];
  if (state.historySizeBytes >= LIMITS.historySizeSuggestContinueAsNew) reasons.push(SuggestReason.SUGGEST_CONTINUE_AS_NEW_REASON_HISTORY_SIZE_TOO_LARGE);
  if (state.nextEventId - 1 >= LIMITS.historyCountSuggestContinueAsNew) reasons.push(SuggestReason.SUGGEST_CONTINUE_AS_NEW_REASON_TOO_MANY_HISTORY_EVENTS);
  return { suggestContinueAsNew: reasons.length > 0, suggestContinueAsNewReasons: reasons };
}

/** Writes the transient Scheduled/Started pair (if any) so a completion or failure event can follow. */
function materializeTransient(t: Transition, wft: WorkflowTaskInfo): void {
  if (!wft.transient) return;
  const state = t.state;
  const scheduled = t.addEvent(EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, 'workflowTaskScheduledEventAttributes', scheduledAttributes(state, wft), wft.scheduledTimeMs);
  const started = t.addEvent(
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    'workflowTaskStartedEventAttributes',
    { scheduledEventId: Number(scheduled.eventId), identity: wft.identity, requestId: wft.requestId, historySizeBytes: state.historySizeBytes },
    wft.startedTimeMs,
  );
  wft.scheduledEventId = Number(scheduled.eventId);
  wft.startedEventId = Number(started.eventId);
  wft.transient = false;
  wft.speculative = false;
}

/**
 * Drops a started speculative task whose worker only rejected updates: no event is written and the
 * history is as if it never existed (the worker is told to roll back to the last completed task).
 */
export function discardSpeculativeWorkflowTask(t: Transition): void {
  const wft = t.state.workflowTask;
  if (!wft?.speculative || wft.startedEventId === 0) throw new Error('no started speculative workflow task to discard');
  t.deleteTimer(wft.timeoutTaskId);
  t.state.workflowTask = null;
  t.stateChanged = true;
}

export interface CompletionDetails {
  identity: string;
  binaryChecksum: string;
  sdkMetadata: NonNullable<HistoryEvent['workflowTaskCompletedEventAttributes']>['sdkMetadata'];
  meteringMetadata: NonNullable<HistoryEvent['workflowTaskCompletedEventAttributes']>['meteringMetadata'];
  workerVersion: NonNullable<HistoryEvent['workflowTaskCompletedEventAttributes']>['workerVersion'];
  /** The worker's deployment options (Worker Deployments), and the VersioningBehavior it reported. */
  worker?: CompletingWorker | null;
  versioningBehavior?: number;
}

/** Writes WorkflowTaskCompleted and clears the task; returns the completed event id. */
export function completeWorkflowTask(t: Transition, details: CompletionDetails): number {
  const state = t.state;
  const wft = state.workflowTask;
  if (!wft || wft.startedEventId === 0) throw new Error('no started workflow task to complete');
  materializeTransient(t, wft);
  const ev = t.addEvent(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 'workflowTaskCompletedEventAttributes', {
    scheduledEventId: wft.scheduledEventId,
    startedEventId: wft.startedEventId,
    identity: details.identity,
    binaryChecksum: details.binaryChecksum,
    sdkMetadata: details.sdkMetadata ?? null,
    meteringMetadata: details.meteringMetadata ?? null,
    workerVersion: details.workerVersion ?? null,
    ...(details.worker ? completedEventVersioning(details.versioningBehavior ?? 0, details.worker) : {}),
  });
  state.lastCompletedWftStartedEventId = wft.startedEventId;
  recordBuildId(state, details.workerVersion, details.binaryChecksum);
  // A run that never met versioning, completed by a worker outside any deployment, has nothing to record.
  const worker = details.worker;
  if (worker?.versioned || worker?.deploymentName || state.versioning) recordCompletion(state, details.versioningBehavior ?? 0, worker ?? NO_DEPLOYMENT);
  t.deleteTimer(wft.timeoutTaskId);
  state.workflowTask = null;
  return Number(ev.eventId);
}

/**
 * Fails the started task (RespondWorkflowTaskFailed, an invalid completion, or UnhandledCommand),
 * flushes buffered events and schedules the next attempt. `alwaysRecord` writes the failure even for a
 * transient attempt (UnhandledCommand must be visible because new events follow it).
 */
export function failWorkflowTask(
  t: Transition,
  cause: number,
  failure: Failure | null,
  identity: string,
  binaryChecksum: string,
  alwaysRecord = false,
): void {
  const state = t.state;
  const wft = state.workflowTask;
  if (!wft || wft.startedEventId === 0) throw new Error('no started workflow task to fail');
  // A failure must be visible in history, also of a task that was speculative.
  if (alwaysRecord || wft.speculative) materializeTransient(t, wft);
  if (!wft.transient) {
    t.addEvent(EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, 'workflowTaskFailedEventAttributes', {
      scheduledEventId: wft.scheduledEventId,
      startedEventId: wft.startedEventId,
      cause,
      failure: failure ?? null,
      identity,
      binaryChecksum,
    });
  }
  t.deleteTimer(wft.timeoutTaskId);
  // A task that fails on a sticky worker is first retried, as the same attempt, on the normal queue.
  rescheduleAfterAttempt(t, clearStickiness(state) ? wft.attempt : wft.attempt + 1);
}

/** The start-to-close timer fired for the started task. */
export function timeOutWorkflowTask(t: Transition): void {
  const state = t.state;
  const wft = state.workflowTask;
  if (!wft || wft.startedEventId === 0) throw new Error('no started workflow task to time out');
  if (wft.speculative) materializeTransient(t, wft);
  if (!wft.transient) {
    t.addEvent(EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, 'workflowTaskTimedOutEventAttributes', {
      scheduledEventId: wft.scheduledEventId,
      startedEventId: wft.startedEventId,
      timeoutType: TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE,
    });
  }
  // A task that fails on a sticky worker is first retried, as the same attempt, on the normal queue.
  rescheduleAfterAttempt(t, clearStickiness(state) ? wft.attempt : wft.attempt + 1);
}

function rescheduleAfterAttempt(t: Transition, nextAttempt: number): void {
  const state = t.state;
  state.workflowTask = null;
  const flushed = flushBufferedEvents(t);
  scheduleWorkflowTask(t, flushed > 0 ? 1 : nextAttempt);
}

/**
 * Records an event caused from outside the workflow task: buffered while a task is started, else
 * written now with a workflow task scheduled to deliver it.
 */
export function addExternalEvent<K extends EventAttributesKey>(
  t: Transition,
  eventType: number,
  key: K,
  attributes: NonNullable<HistoryEvent[K]>,
  meta: { scheduledEventId?: number; timerId?: string; timeMs?: number; links?: HistoryEvent['links']; workerMayIgnore?: boolean } = {},
): void {
  const extra = meta.links?.length || meta.workerMayIgnore ? { ...(meta.links?.length ? { links: meta.links } : {}), ...(meta.workerMayIgnore ? { workerMayIgnore: true } : {}) } : undefined;
  if (hasStartedWorkflowTask(t.state)) {
    const event = t.makeUnnumberedEvent(eventType, key, attributes, meta.timeMs, extra);
    t.state.buffered.push({
      event: HistoryEventCodec.encode(event).finish(),
      eventType,
      scheduledEventId: meta.scheduledEventId ?? 0,
      timerId: meta.timerId ?? '',
    });
    t.stateChanged = true;
    return;
  }
  t.addEvent(eventType, key, attributes, meta.timeMs, extra);
  ensureWorkflowTask(t);
}

const COMPLETION_TYPES = new Set<number>([
  EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
  EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
  EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
  EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
  EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
  EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
  EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
  EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
  EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
  EventType.EVENT_TYPE_NEXUS_OPERATION_COMPLETED,
  EventType.EVENT_TYPE_NEXUS_OPERATION_FAILED,
  EventType.EVENT_TYPE_NEXUS_OPERATION_CANCELED,
  EventType.EVENT_TYPE_NEXUS_OPERATION_TIMED_OUT,
]);

const CLOSE_KEYS_WITH_STARTED_ID = [
  'activityTaskCompletedEventAttributes',
  'activityTaskFailedEventAttributes',
  'activityTaskTimedOutEventAttributes',
  'activityTaskCanceledEventAttributes',
  'childWorkflowExecutionCompletedEventAttributes',
  'childWorkflowExecutionFailedEventAttributes',
  'childWorkflowExecutionCanceledEventAttributes',
  'childWorkflowExecutionTimedOutEventAttributes',
  'childWorkflowExecutionTerminatedEventAttributes',
] as const;

/**
 * Writes buffered events: others first in arrival order, then completions (so that an activity's
 * Started event always precedes its close), wiring each close event to its Started event's new id.
 * Returns how many events were written.
 */
export function flushBufferedEvents(t: Transition): number {
  const state = t.state;
  if (state.buffered.length === 0) return 0;
  const ordered: BufferedEvent[] = [
    ...state.buffered.filter((b) => !COMPLETION_TYPES.has(b.eventType)),
    ...state.buffered.filter((b) => COMPLETION_TYPES.has(b.eventType)),
  ];
  state.buffered = [];
  const startedIds = new Map<number, number>();
  for (const b of ordered) {
    const event = HistoryEventType.toObject(HistoryEventType.decode(b.event), { longs: Number, defaults: false }) as HistoryEvent;
    if (b.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED || b.eventType === EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED) {
      const written = t.appendBuilt(event);
      startedIds.set(b.scheduledEventId, Number(written.eventId));
      const child = state.children?.[b.scheduledEventId];
      if (child && b.eventType === EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED) child.startedEventId = Number(written.eventId);
      continue;
    }
    for (const key of CLOSE_KEYS_WITH_STARTED_ID) {
      const attrs = event[key];
      if (attrs && startedIds.has(b.scheduledEventId)) attrs.startedEventId = startedIds.get(b.scheduledEventId);
    }
    t.appendBuilt(event);
  }
  return ordered.length;
}

/** Removes a buffered TimerFired for `timerId`; returns its started event id, or 0 if none. */
export function removeBufferedTimerFired(state: MutableState, timerId: string): number {
  const index = state.buffered.findIndex((b) => b.eventType === EventType.EVENT_TYPE_TIMER_FIRED && b.timerId === timerId);
  if (index < 0) return 0;
  const [removed] = state.buffered.splice(index, 1);
  const event = HistoryEventType.decode(removed!.event);
  return Number(event.timerFiredEventAttributes?.startedEventId ?? 0);
}
