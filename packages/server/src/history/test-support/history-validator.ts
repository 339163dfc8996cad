// A checker of the invariants a Temporal history must satisfy for sdk-core to replay it (see
// shared/reference/temporal-wire-contract.md §3 and sdk-core's history_info.rs / history_update.rs /
// workflow_machines.rs). Used by the unit and property tests of the history engine and reusable by the
// end-to-end suite on histories read back over gRPC: events may be plain objects or decoded protobuf
// messages, ids numbers or Longs, event types numbers or enum names.
//
// validateHistory returns a list of problems (empty when the history is valid); it never throws.
import { toNumber, type LongLike } from '@kairos/common';
import { EventType, RetryState, type HistoryEvent } from '../../proto-types.js';

type EventLike = HistoryEvent | Record<string, unknown>;
type Attrs = Record<string, unknown>;

/** 'EVENT_TYPE_WORKFLOW_TASK_STARTED' -> 'workflowTaskStartedEventAttributes'. */
function attributesKeyOf(enumName: string): string {
  return (
    enumName
      .replace(/^EVENT_TYPE_/, '')
      .toLowerCase()
      .replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()) + 'EventAttributes'
  );
}

const ATTRIBUTE_KEY = new Map<number, string>();
for (const [name, value] of Object.entries(EventType)) {
  if (typeof value === 'number' && value !== EventType.EVENT_TYPE_UNSPECIFIED) ATTRIBUTE_KEY.set(value, attributesKeyOf(name));
}
const ALL_ATTRIBUTE_KEYS = [...ATTRIBUTE_KEY.values()];

/** 'EVENT_TYPE_WORKFLOW_TASK_STARTED' -> 'WorkflowTaskStarted'; unknown numbers as 'EventType(<n>)'. */
export function eventTypeName(eventType: number): string {
  const name = (EventType as unknown as Record<number, string | undefined>)[eventType];
  if (!name) return `EventType(${eventType})`;
  return name
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_, _sep: string, c: string) => c.toUpperCase());
}

/** The numeric event type of an event whose eventType is a number or an enum name. */
export function eventTypeOf(event: EventLike): number {
  const raw = (event as Attrs)['eventType'];
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'string') {
    const v = (EventType as unknown as Record<string, number | undefined>)[raw];
    return typeof v === 'number' ? v : EventType.EVENT_TYPE_UNSPECIFIED;
  }
  return EventType.EVENT_TYPE_UNSPECIFIED;
}

/** The populated attributes of the event's own type, or null. */
export function attributesOf(event: EventLike): Attrs | null {
  const key = ATTRIBUTE_KEY.get(eventTypeOf(event));
  if (!key) return null;
  const value = (event as Attrs)[key];
  return value !== null && value !== undefined && typeof value === 'object' ? (value as Attrs) : null;
}

function num(value: unknown): number {
  return toNumber(value as LongLike);
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

const E = EventType;

/** What may directly follow a WorkflowTaskStarted (sdk-core history_info.rs). */
const AFTER_WFT_STARTED = new Set<number>([
  E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
  E.EVENT_TYPE_WORKFLOW_TASK_FAILED,
  E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
  E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
  E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
]);

export const WORKFLOW_CLOSE_EVENTS = new Set<number>([
  E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
  E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
  E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
  E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
  E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
  E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
]);

/**
 * Events produced by a command of a workflow-task completion. They carry
 * workflow_task_completed_event_id and are written right after WorkflowTaskCompleted, in command
 * order, before any buffered event is flushed.
 */
const COMMAND_EVENTS = new Set<number>([
  E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
  E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
  E.EVENT_TYPE_TIMER_STARTED,
  E.EVENT_TYPE_TIMER_CANCELED,
  E.EVENT_TYPE_MARKER_RECORDED,
  E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
  E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
  E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
  E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
  E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
  E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
  E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
  E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
  E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
  E.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED,
  E.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUESTED,
]);

/** Events that may sit among a completion's command events without being commands themselves. */
const COMMAND_BLOCK_COMPANIONS = new Set<number>([E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED]);

const ACTIVITY_CLOSE_EVENTS = new Set<number>([
  E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
  E.EVENT_TYPE_ACTIVITY_TASK_FAILED,
  E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
  E.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
]);

interface ActivityTrack {
  activityId: string;
  startedEventId: number;
  cancelRequestedEventId: number;
  closedEventId: number;
}

interface TimerTrack {
  timerId: string;
  closedEventId: number;
}

/**
 * Checks a whole history (or a prefix of one: a history in progress is valid if it could still be
 * continued validly). Returns human-readable problems, each prefixed with the offending event.
 */
export function validateHistory(events: readonly EventLike[]): string[] {
  const problems: string[] = [];
  if (events.length === 0) {
    problems.push('history is empty (the first event must be WorkflowExecutionStarted)');
    return problems;
  }

  // Pending workflow task: scheduled (and maybe started) but not closed.
  let wft: { scheduledEventId: number; startedEventId: number } | null = null;
  const activities = new Map<number, ActivityTrack>();
  const openActivityIds = new Map<string, number>();
  const timers = new Map<number, TimerTrack>();
  const openTimerIds = new Map<string, number>();
  const types = new Map<number, number>();
  let lastWftCompletedEventId = 0;
  let inCommandBlock = false;
  let closedBy = 0;
  let previousType = E.EVENT_TYPE_UNSPECIFIED;
  let previousId = 0;

  events.forEach((event, index) => {
    const id = num((event as Attrs)['eventId']);
    const type = eventTypeOf(event);
    const label = `event ${id} ${eventTypeName(type)}`;
    const problem = (message: string): void => {
      problems.push(`${label}: ${message}`);
    };

    // Ids and ordering.
    if (id !== index + 1) problem(`event id ${id} at position ${index + 1} (ids must start at 1 and be contiguous)`);
    types.set(id, type);
    if (index === 0 && type !== E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED) problem('the first event must be WorkflowExecutionStarted');
    if (index > 0 && type === E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED) problem('WorkflowExecutionStarted may only be the first event');
    if (closedBy > 0) problem(`follows the workflow close event ${closedBy}`);
    if (previousType === E.EVENT_TYPE_WORKFLOW_TASK_STARTED && !AFTER_WFT_STARTED.has(type)) {
      problem(`follows WorkflowTaskStarted ${previousId}, which must be followed by WorkflowTaskCompleted/Failed/TimedOut or WorkflowExecutionTerminated/TimedOut`);
    }

    // Type and attributes.
    if (type === E.EVENT_TYPE_UNSPECIFIED || !ATTRIBUTE_KEY.has(type)) problem(`unknown or unspecified event type ${String((event as Attrs)['eventType'])}`);
    const populated = ALL_ATTRIBUTE_KEYS.filter((k) => {
      const v = (event as Attrs)[k];
      return v !== null && v !== undefined;
    });
    const expectedKey = ATTRIBUTE_KEY.get(type);
    if (expectedKey && !populated.includes(expectedKey)) problem(`attributes field ${expectedKey} is not set`);
    const extra = populated.filter((k) => k !== expectedKey);
    if (extra.length > 0) problem(`other attributes fields are set: ${extra.join(', ')}`);
    if (!(event as Attrs)['eventTime']) problem('event_time is not set');
    const a: Attrs = attributesOf(event) ?? {};

    // Command events: right after their WorkflowTaskCompleted, before anything else.
    if (COMMAND_EVENTS.has(type)) {
      const completedId = num(a['workflowTaskCompletedEventId']);
      if (completedId !== lastWftCompletedEventId || lastWftCompletedEventId === 0) {
        problem(`workflow_task_completed_event_id is ${completedId}, expected the last WorkflowTaskCompleted ${lastWftCompletedEventId}`);
      } else if (!inCommandBlock) {
        problem(`command event separated from its WorkflowTaskCompleted ${completedId} by a non-command event`);
      }
    } else if (type === E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) {
      inCommandBlock = true;
    } else if (
      !COMMAND_BLOCK_COMPANIONS.has(type) &&
      // An unstarted activity canceled by a RequestCancelActivityTask command closes at once.
      !(type === E.EVENT_TYPE_ACTIVITY_TASK_CANCELED && previousType === E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED && num(a['startedEventId']) === 0)
    ) {
      inCommandBlock = false;
    }

    switch (type) {
      // ---- workflow tasks
      case E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
        if (wft) problem(`a workflow task (scheduled ${wft.scheduledEventId}) is already pending`);
        if (num(a['attempt']) < 1) problem(`attempt is ${num(a['attempt'])}, must be >= 1`);
        wft = { scheduledEventId: id, startedEventId: 0 };
        break;
      case E.EVENT_TYPE_WORKFLOW_TASK_STARTED: {
        const sid = num(a['scheduledEventId']);
        if (types.get(sid) !== E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED) problem(`scheduled_event_id ${sid} is not a WorkflowTaskScheduled`);
        else if (!wft || wft.scheduledEventId !== sid) problem(`scheduled_event_id ${sid} is not the pending workflow task (${wft ? wft.scheduledEventId : 'none'})`);
        else if (wft.startedEventId !== 0) problem(`workflow task ${sid} was already started by ${wft.startedEventId}`);
        else wft.startedEventId = id;
        break;
      }
      case E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
      case E.EVENT_TYPE_WORKFLOW_TASK_FAILED:
      case E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT: {
        const sid = num(a['scheduledEventId']);
        const stid = num(a['startedEventId']);
        if (!wft) problem('no workflow task is pending');
        else {
          if (sid !== wft.scheduledEventId) problem(`scheduled_event_id ${sid}, expected ${wft.scheduledEventId}`);
          if (stid !== wft.startedEventId) problem(`started_event_id ${stid}, expected ${wft.startedEventId}`);
          if (type !== E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT && wft.startedEventId === 0) problem('the workflow task was never started');
        }
        if (type === E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) lastWftCompletedEventId = id;
        wft = null;
        break;
      }

      // ---- activities
      case E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
        const activityId = str(a['activityId']);
        if (!activityId) problem('activity_id is empty');
        const open = openActivityIds.get(activityId);
        if (open !== undefined) problem(`activity_id ${activityId} is already used by the open activity ${open}`);
        activities.set(id, { activityId, startedEventId: 0, cancelRequestedEventId: 0, closedEventId: 0 });
        openActivityIds.set(activityId, id);
        break;
      }
      case E.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
        const act = findActivity(a, types, activities, problem);
        if (num(a['attempt']) < 1) problem(`attempt is ${num(a['attempt'])}, must be >= 1`);
        if (!act) break;
        if (act.closedEventId) problem(`activity already closed by ${act.closedEventId}`);
        else if (act.startedEventId) problem(`activity already started by ${act.startedEventId}`);
        else act.startedEventId = id;
        break;
      }
      case E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED: {
        const act = findActivity(a, types, activities, problem);
        if (!act) break;
        if (act.closedEventId) problem(`activity already closed by ${act.closedEventId}`);
        else if (act.cancelRequestedEventId) problem(`cancellation already requested by ${act.cancelRequestedEventId}`);
        else act.cancelRequestedEventId = id;
        break;
      }
      case E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
      case E.EVENT_TYPE_ACTIVITY_TASK_FAILED:
      case E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
      case E.EVENT_TYPE_ACTIVITY_TASK_CANCELED: {
        const act = findActivity(a, types, activities, problem);
        if (type === E.EVENT_TYPE_ACTIVITY_TASK_FAILED || type === E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT) {
          const rs = num(a['retryState']);
          if (rs === RetryState.RETRY_STATE_IN_PROGRESS || rs === RetryState.RETRY_STATE_UNSPECIFIED) problem(`retry_state ${RetryState[rs] ?? rs} in a close event`);
        }
        if (!act) break;
        if (act.closedEventId) {
          problem(`activity already closed by ${act.closedEventId}`);
          break;
        }
        const stid = num(a['startedEventId']);
        if (stid !== act.startedEventId) problem(`started_event_id ${stid}, expected ${act.startedEventId} (0 when never started)`);
        if (type === E.EVENT_TYPE_ACTIVITY_TASK_CANCELED) {
          const latest = num(a['latestCancelRequestedEventId']);
          if (latest !== 0 && latest !== act.cancelRequestedEventId) problem(`latest_cancel_requested_event_id ${latest}, expected ${act.cancelRequestedEventId}`);
        }
        act.closedEventId = id;
        if (openActivityIds.get(act.activityId) === num(a['scheduledEventId'])) openActivityIds.delete(act.activityId);
        break;
      }

      // ---- timers
      case E.EVENT_TYPE_TIMER_STARTED: {
        const timerId = str(a['timerId']);
        if (!timerId) problem('timer_id is empty');
        const open = openTimerIds.get(timerId);
        if (open !== undefined) problem(`timer_id ${timerId} is already used by the open timer ${open}`);
        timers.set(id, { timerId, closedEventId: 0 });
        openTimerIds.set(timerId, id);
        break;
      }
      case E.EVENT_TYPE_TIMER_FIRED:
      case E.EVENT_TYPE_TIMER_CANCELED: {
        const stid = num(a['startedEventId']);
        const timerId = str(a['timerId']);
        const timer = timers.get(stid);
        if (types.get(stid) !== E.EVENT_TYPE_TIMER_STARTED || !timer) {
          problem(`started_event_id ${stid} is not a TimerStarted`);
          break;
        }
        if (timer.timerId !== timerId) problem(`timer_id ${timerId} differs from TimerStarted ${stid}'s ${timer.timerId}`);
        if (timer.closedEventId) problem(`timer already closed by ${timer.closedEventId}`);
        else timer.closedEventId = id;
        if (openTimerIds.get(timer.timerId) === stid) openTimerIds.delete(timer.timerId);
        break;
      }
      default:
        break;
    }

    if (WORKFLOW_CLOSE_EVENTS.has(type)) closedBy = id;
    previousType = type;
    previousId = id;
  });

  return problems;
}

function findActivity(a: Attrs, types: Map<number, number>, activities: Map<number, ActivityTrack>, problem: (m: string) => void): ActivityTrack | null {
  const sid = num(a['scheduledEventId']);
  const act = activities.get(sid);
  if (types.get(sid) !== E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED || !act) {
    problem(`scheduled_event_id ${sid} is not an ActivityTaskScheduled`);
    return null;
  }
  return act;
}

/** True for the activity close event types (Completed/Failed/TimedOut/Canceled). */
export function isActivityCloseEvent(eventType: number): boolean {
  return ACTIVITY_CLOSE_EVENTS.has(eventType);
}
