// What the UI derives from a history: each event's attributes and one-line summary, the groups of the
// compact view (an activity's Scheduled/Started/Completed as one row), the spans of the timeline and
// what a running workflow is waiting on. All of it is one pass over the events, so it stays cheap on
// a 50,000-event history.
import { eventName, parseTime, preview } from './format';
import { failureChain, payloadValues } from './payloads';
import { forDisplay } from './workflow/display';
import type { Failure, HistoryEvent, Payloads } from './types';

export type Category = 'workflow' | 'task' | 'activity' | 'timer' | 'signal' | 'child' | 'external' | 'marker' | 'update' | 'other';

export function attributesOf(event: HistoryEvent): Record<string, unknown> {
  for (const [key, value] of Object.entries(event)) {
    if (key.endsWith('EventAttributes') && typeof value === 'object' && value !== null) return value as Record<string, unknown>;
  }
  return {};
}

export function categoryOf(type: string | undefined): Category {
  const name = eventName(type);
  if (name.startsWith('WorkflowTask')) return 'task';
  if (name.startsWith('ActivityTask')) return 'activity';
  if (name.startsWith('Timer')) return 'timer';
  if (name.includes('ChildWorkflow')) return 'child';
  if (name.includes('External')) return 'external';
  if (name === 'WorkflowExecutionSignaled') return 'signal';
  if (name.startsWith('WorkflowExecutionUpdate')) return 'update';
  if (name === 'MarkerRecorded') return 'marker';
  if (name.startsWith('WorkflowExecution')) return 'workflow';
  return 'other';
}

const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
const nameOf = (v: unknown): string => (typeof v === 'object' && v !== null ? str((v as { name?: unknown }).name) : '');

/** A short description of an event for its row in the history table. */
export function eventSummary(event: HistoryEvent): string {
  const a = attributesOf(event);
  const parts: string[] = [];
  const type = nameOf(a['activityType']) || nameOf(a['workflowType']);
  if (type) parts.push(type);
  if (a['activityId']) parts.push(`id ${str(a['activityId'])}`);
  if (a['timerId']) parts.push(`timer ${str(a['timerId'])}`);
  if (a['startToFireTimeout']) parts.push(`fires in ${str(a['startToFireTimeout'])}`);
  if (a['signalName']) parts.push(str(a['signalName']));
  if (a['markerName']) parts.push(str(a['markerName']));
  if (a['workflowId'] && !a['workflowExecution']) parts.push(str(a['workflowId']));
  const execution = a['workflowExecution'] as { workflowId?: string } | undefined;
  if (execution?.workflowId && categoryOf(event.eventType) !== 'workflow') parts.push(execution.workflowId);
  for (const key of ['input', 'result', 'details']) {
    const payloads = a[key] as Payloads | undefined;
    if (payloads?.payloads?.length) parts.push(`${key} ${preview(payloadValues(payloads).length === 1 ? payloadValues(payloads)[0] : payloadValues(payloads), 80)}`);
  }
  if (a['upsertedMemo']) parts.push(`memo ${preview(forDisplay(a['upsertedMemo']), 80)}`);
  if (a['searchAttributes'] && categoryOf(event.eventType) === 'other') parts.push(`search attributes ${preview(forDisplay(a['searchAttributes']), 80)}`);
  const failure = a['failure'] as Failure | undefined;
  if (failure) parts.push(failureChain(failure).map((f) => f.message ?? '').filter(Boolean).join(': '));
  if (a['reason']) parts.push(str(a['reason']));
  if (a['identity'] && parts.length === 0) parts.push(str(a['identity']));
  return parts.join(' · ');
}

/** The event that opened the group an event belongs to (its Scheduled/Initiated/Started event). */
export function parentEventId(event: HistoryEvent): string | undefined {
  const a = attributesOf(event);
  const id = a['scheduledEventId'] ?? a['initiatedEventId'] ?? (categoryOf(event.eventType) === 'timer' ? a['startedEventId'] : undefined);
  return id === undefined ? undefined : str(id);
}

export interface EventGroup {
  readonly id: string;
  readonly category: Category;
  readonly label: string;
  readonly events: HistoryEvent[];
  /** Index of the first event in the history. */
  readonly firstIndex: number;
}

/** The compact view: one group per activity, timer, child, ... in order of their first event;
 * workflow tasks are left out (they are the machinery, not the story). */
export function groupEvents(events: readonly HistoryEvent[]): EventGroup[] {
  const groups: EventGroup[] = [];
  const byOpening = new Map<string, EventGroup>();
  events.forEach((event, index) => {
    const category = categoryOf(event.eventType);
    if (category === 'task') return;
    const parent = parentEventId(event);
    const existing = parent === undefined ? undefined : byOpening.get(parent);
    if (existing !== undefined) {
      existing.events.push(event);
      return;
    }
    const id = event.eventId ?? String(index + 1);
    const a = attributesOf(event);
    const timer = a['timerId'] !== undefined && category === 'timer' ? `Timer ${str(a['timerId'])}${a['startToFireTimeout'] ? ` (${str(a['startToFireTimeout'])})` : ''}` : '';
    const label = nameOf(a['activityType']) || timer || nameOf(a['workflowType']) || str(a['signalName']) || str(a['markerName']) || eventName(event.eventType);
    const group: EventGroup = { id, category, label, events: [event], firstIndex: index };
    groups.push(group);
    byOpening.set(id, group);
  });
  return groups;
}

export interface Span {
  readonly id: string;
  readonly category: Category;
  readonly label: string;
  readonly start: number;
  readonly end: number | undefined;
  /** The last event's name: `ActivityTaskCompleted`, `TimerFired`, ... */
  readonly state: string;
  readonly failed: boolean;
}

const FAILED = /Failed|TimedOut|Terminated|Canceled/;

/** Spans for the timeline: activities, timers and children, from their first to their last event. */
export function timelineSpans(groups: readonly EventGroup[]): Span[] {
  const spans: Span[] = [];
  for (const g of groups) {
    if (g.category !== 'activity' && g.category !== 'timer' && g.category !== 'child') continue;
    const first = g.events[0];
    const last = g.events[g.events.length - 1];
    const start = parseTime(first?.eventTime);
    if (start === undefined || last === undefined) continue;
    const state = eventName(last.eventType);
    const closed = g.events.length > 1 && !/Started$|CancelRequested$/.test(state);
    spans.push({ id: g.id, category: g.category, label: g.label, start, end: closed ? parseTime(last.eventTime) : undefined, state, failed: FAILED.test(state) });
  }
  return spans;
}

export interface OpenWork {
  readonly timers: Array<{ id: string; timerId: string; firesAt: number | undefined }>;
  readonly activities: Array<{ id: string; name: string }>;
  readonly children: Array<{ id: string; name: string; workflowId: string }>;
  readonly workflowTask: boolean;
  readonly closed: boolean;
}

/** What the run is blocked on, read from the open groups of its history. */
export function openWork(events: readonly HistoryEvent[], groups: readonly EventGroup[]): OpenWork {
  const timers: OpenWork['timers'] = [];
  const activities: OpenWork['activities'] = [];
  const children: OpenWork['children'] = [];
  for (const g of groups) {
    const last = eventName(g.events[g.events.length - 1]?.eventType);
    const first = g.events[0];
    if (first === undefined) continue;
    const a = attributesOf(first);
    if (g.category === 'timer' && last === 'TimerStarted') {
      const start = parseTime(first.eventTime);
      const ms = /^(\d+(?:\.\d+)?)s$/.exec(str(a['startToFireTimeout']))?.[1];
      timers.push({ id: g.id, timerId: str(a['timerId']), firesAt: start !== undefined && ms !== undefined ? start + Number(ms) * 1000 : undefined });
    }
    if (g.category === 'activity' && /Scheduled$|Started$|CancelRequested$/.test(last)) activities.push({ id: g.id, name: g.label });
    if (g.category === 'child' && /Initiated$|Started$/.test(last)) children.push({ id: g.id, name: g.label, workflowId: str(a['workflowId']) });
  }
  let workflowTask = false;
  const lastType = eventName(events[events.length - 1]?.eventType);
  if (lastType === 'WorkflowTaskScheduled' || lastType === 'WorkflowTaskStarted') workflowTask = true;
  const closed = events.some((e) => /^WorkflowExecution(Completed|Failed|TimedOut|Terminated|Canceled|ContinuedAsNew)$/.test(eventName(e.eventType)));
  return { timers, activities, children, workflowTask, closed };
}

/** Event ids a run can be reset to (the end of a completed workflow task), newest first. */
export function resetPoints(events: readonly HistoryEvent[]): string[] {
  const ids: string[] = [];
  for (const e of events) if (eventName(e.eventType) === 'WorkflowTaskCompleted' && e.eventId) ids.push(e.eventId);
  return ids.reverse();
}
