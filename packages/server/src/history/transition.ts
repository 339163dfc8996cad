// A transition under construction: the events, timers and dispatches one atomic step of an execution
// implies. The pure handlers in history/api/ and history/machines/ append to it; the engine commits it
// in one transaction and only then hands dispatches to matching and timers to the timer queue.
import { HistoryEventCodec, type HistoryEvent } from '../proto-types.js';
import { msToTimestamp } from '@kairos/common';
import type { MutableState } from './mutable-state.js';
import { newTimerTaskId, type TimerTask } from '../timers/timer-task.js';

export interface TimerToAdd {
  readonly taskId: string;
  readonly fireAtMs: number;
  readonly task: TimerTask;
  /** Kept by the timer queue only, never stored (timers/timer-task.ts `isMemoryOnlyTimerId`). */
  readonly memoryOnly?: boolean;
}

/** `priorityKey`: 1 (first) .. 5 (last), 0 = the default (3). */
export type Dispatch =
  | { readonly kind: 'workflowTask'; readonly taskQueue: string; readonly scheduledEventId: number; readonly attempt: number; readonly priorityKey: number }
  | { readonly kind: 'activityTask'; readonly taskQueue: string; readonly scheduledEventId: number; readonly attempt: number; readonly priorityKey: number };

/** Event fields beside the attributes some events carry: links (Nexus), worker_may_ignore. */
export type EventExtras = Pick<HistoryEvent, 'links' | 'workerMayIgnore'>;

/** Attribute field name of a HistoryEvent (e.g. 'activityTaskScheduledEventAttributes'). */
export type EventAttributesKey = Extract<keyof HistoryEvent, `${string}EventAttributes`>;

export class Transition {
  readonly events: HistoryEvent[] = [];
  /** Events are not changed once added: each is encoded once, when added. */
  private readonly encodings = new Map<HistoryEvent, Uint8Array>();
  readonly timersToAdd: TimerToAdd[] = [];
  readonly timerIdsToDelete: string[] = [];
  readonly dispatches: Dispatch[] = [];
  /** Signal request ids applied for the first time in this transition (stored beside the run). */
  readonly signalRequestIds: string[] = [];
  /** Set when the run closed in this transition (queries and waiters are told). */
  closed = false;
  /** A run this transition starts in the same commit (continue-as-new, workflow retry). */
  newRun: Transition | null = null;

  constructor(
    readonly state: MutableState,
    readonly nowMs: number,
  ) {}

  /**
   * The user metadata (summary, details) of the next event added, then cleared: the start request's for
   * WorkflowExecutionStarted, a command's for the event the command writes first, as Temporal copies it.
   */
  nextEventUserMetadata: HistoryEvent['userMetadata'] = null;

  /** Appends an event with the next event id and returns it. */
  addEvent<K extends EventAttributesKey>(eventType: number, key: K, attributes: NonNullable<HistoryEvent[K]>, timeMs = this.nowMs, extra?: EventExtras): HistoryEvent {
    const event: HistoryEvent = {
      eventId: this.state.nextEventId,
      eventTime: msToTimestamp(timeMs),
      eventType,
      [key]: attributes,
      ...extra,
    };
    if (this.nextEventUserMetadata) {
      event.userMetadata = this.nextEventUserMetadata;
      this.nextEventUserMetadata = null;
    }
    this.state.nextEventId++;
    this.pushEncoded(event);
    return event;
  }

  /** Appends a numbered event with its encoding, which counts toward the history's size and is what the commit stores. */
  private pushEncoded(event: HistoryEvent): void {
    const bytes = HistoryEventCodec.encode(event).finish();
    this.state.historySizeBytes += bytes.length;
    this.encodings.set(event, bytes);
    this.events.push(event);
  }

  /** The bytes to store for one of `events`: encoded once when added (events pushed as they are, now). */
  encodedEvent(event: HistoryEvent): Uint8Array {
    return this.encodings.get(event) ?? HistoryEventCodec.encode(event).finish();
  }

  /** Builds an event without an id (to be buffered while a workflow task is started). */
  makeUnnumberedEvent<K extends EventAttributesKey>(eventType: number, key: K, attributes: NonNullable<HistoryEvent[K]>, timeMs = this.nowMs, extra?: EventExtras): HistoryEvent {
    return { eventTime: msToTimestamp(timeMs), eventType, [key]: attributes, ...extra };
  }

  /** Appends an already-built event (from the buffer), giving it the next id. */
  appendBuilt(event: HistoryEvent): HistoryEvent {
    const numbered: HistoryEvent = { eventId: this.state.nextEventId, ...event };
    this.state.nextEventId++;
    this.pushEncoded(numbered);
    return numbered;
  }

  /** `memoryOnly`: a timer whose loss on restart changes nothing, never written to the store. */
  addTimer(fireAtMs: number, task: TimerTask, memoryOnly = false): string {
    const taskId = newTimerTaskId(this.nowMs, memoryOnly);
    this.timersToAdd.push(memoryOnly ? { taskId, fireAtMs, task, memoryOnly } : { taskId, fireAtMs, task });
    return taskId;
  }

  deleteTimer(taskId: string): void {
    if (!taskId) return;
    const pending = this.timersToAdd.findIndex((t) => t.taskId === taskId);
    if (pending >= 0) this.timersToAdd.splice(pending, 1);
    else this.timerIdsToDelete.push(taskId);
  }

  dispatch(d: Dispatch): void {
    this.dispatches.push(d);
  }

  /** True when the transition changes anything durable. */
  get isEmpty(): boolean {
    return this.events.length === 0 && this.timersToAdd.length === 0 && this.timerIdsToDelete.length === 0 && !this.stateChanged;
  }

  /** Handlers that change state without events (activity retries, heartbeats) mark it here. */
  stateChanged = false;

  /** A command handler needs a new workflow task after this completion (e.g. an unstarted activity was canceled). */
  forceNewWorkflowTask = false;
}
