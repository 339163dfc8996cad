// The proto3 JSON shapes of Temporal's schedule messages (temporal.api.schedule.v1) that the UI reads;
// as in ../types.ts, every field is optional because proto3 JSON leaves default values out.
import type { Execution, Payload, Payloads } from '../types';

/** A set of integers; `end` below `start` means `start` alone, a missing `step` means 1. */
export interface Range {
  start?: number;
  end?: number;
  step?: number;
}

export interface StructuredCalendarSpec {
  second?: Range[];
  minute?: Range[];
  hour?: Range[];
  dayOfMonth?: Range[];
  month?: Range[];
  year?: Range[];
  dayOfWeek?: Range[];
  comment?: string;
}

/** The string form (`"*\/5"`, `"mon-fri"`): the server compiles it into a StructuredCalendarSpec. */
export interface CalendarSpec {
  second?: string;
  minute?: string;
  hour?: string;
  dayOfMonth?: string;
  month?: string;
  year?: string;
  dayOfWeek?: string;
  comment?: string;
}

export interface IntervalSpec {
  interval?: string;
  phase?: string;
}

export interface ScheduleSpec {
  structuredCalendar?: StructuredCalendarSpec[];
  cronString?: string[];
  calendar?: CalendarSpec[];
  interval?: IntervalSpec[];
  excludeCalendar?: CalendarSpec[];
  excludeStructuredCalendar?: StructuredCalendarSpec[];
  startTime?: string;
  endTime?: string;
  jitter?: string;
  timezoneName?: string;
}

export type OverlapPolicy =
  | 'SCHEDULE_OVERLAP_POLICY_UNSPECIFIED'
  | 'SCHEDULE_OVERLAP_POLICY_SKIP'
  | 'SCHEDULE_OVERLAP_POLICY_BUFFER_ONE'
  | 'SCHEDULE_OVERLAP_POLICY_BUFFER_ALL'
  | 'SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER'
  | 'SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER'
  | 'SCHEDULE_OVERLAP_POLICY_ALLOW_ALL';

export interface SchedulePolicies {
  overlapPolicy?: OverlapPolicy;
  catchupWindow?: string;
  pauseOnFailure?: boolean;
  keepOriginalWorkflowId?: boolean;
}

export interface NewWorkflowExecutionInfo {
  workflowId?: string;
  workflowType?: { name?: string };
  taskQueue?: { name?: string };
  input?: Payloads;
  workflowExecutionTimeout?: string;
  workflowRunTimeout?: string;
  workflowTaskTimeout?: string;
  memo?: { fields?: Record<string, Payload> };
  searchAttributes?: { indexedFields?: Record<string, Payload> };
}

export interface ScheduleState {
  notes?: string;
  paused?: boolean;
  limitedActions?: boolean;
  remainingActions?: string;
}

export interface Schedule {
  spec?: ScheduleSpec;
  action?: { startWorkflow?: NewWorkflowExecutionInfo };
  policies?: SchedulePolicies;
  state?: ScheduleState;
}

export interface ScheduleActionResult {
  scheduleTime?: string;
  actualTime?: string;
  startWorkflowResult?: Execution;
  startWorkflowStatus?: string;
}

export interface ScheduleInfo {
  actionCount?: string;
  missedCatchupWindow?: string;
  overlapSkipped?: string;
  bufferDropped?: string;
  bufferSize?: string;
  runningWorkflows?: Execution[];
  recentActions?: ScheduleActionResult[];
  futureActionTimes?: string[];
  createTime?: string;
  updateTime?: string;
  invalidScheduleError?: string;
}

export interface DescribeScheduleResponse {
  schedule?: Schedule;
  info?: ScheduleInfo;
  memo?: { fields?: Record<string, Payload> };
  searchAttributes?: { indexedFields?: Record<string, Payload> };
  conflictToken?: string;
}

export interface ScheduleListEntry {
  scheduleId?: string;
  memo?: { fields?: Record<string, Payload> };
  searchAttributes?: { indexedFields?: Record<string, Payload> };
  info?: {
    spec?: ScheduleSpec;
    workflowType?: { name?: string };
    notes?: string;
    paused?: boolean;
    recentActions?: ScheduleActionResult[];
    futureActionTimes?: string[];
  };
}

export interface ListSchedulesResponse {
  schedules?: ScheduleListEntry[];
  nextPageToken?: string;
}

export interface SchedulePatch {
  triggerImmediately?: { overlapPolicy?: OverlapPolicy; scheduledTime?: string };
  backfillRequest?: Array<{ startTime: string; endTime: string; overlapPolicy?: OverlapPolicy }>;
  pause?: string;
  unpause?: string;
}
