// The rules a schedule's record follows, as Temporal's scheduler workflow applies them
// (service/worker/scheduler/workflow.go): defaults, the catchup window, overlap resolution, spending
// remaining actions, buffering and recording starts, request ids and the attributes a started run
// gets. Pure functions of the record; scheduler.ts does the I/O.
import { createHash } from 'node:crypto';
import { api, durationToMs, msToDuration, type Loose } from '@kairos/common';
import type { temporal } from '@temporalio/proto';
import { GrpcCode, NotFoundError, ServiceError } from '../errors.js';
import { EventType } from '../proto-types.js';
import { canonicalizeSpec } from './spec.js';
import type { BufferedStart, RecentAction, ScheduleRecord } from './schedule-record.js';

type Schedule = Loose<temporal.api.schedule.v1.ISchedule>;
type SearchAttributes = Loose<temporal.api.common.v1.ISearchAttributes>;
type Payload = Loose<temporal.api.common.v1.IPayload>;

const OverlapPolicy = api.enums.v1.ScheduleOverlapPolicy;
const Status = api.enums.v1.WorkflowExecutionStatus;

const DEFAULT_CATCHUP_WINDOW_MS = 365 * 24 * 3_600_000;
const MIN_CATCHUP_WINDOW_MS = 10_000;
const RECENT_ACTION_COUNT = 10;
export const MAX_BUFFER_SIZE = 1000;

export interface ScheduleKey {
  readonly namespaceId: string;
  readonly scheduleId: string;
}

export function keyText(key: ScheduleKey): string {
  return JSON.stringify([key.namespaceId, key.scheduleId]);
}

export function parseKeyText(text: string): ScheduleKey {
  const [namespaceId, scheduleId] = JSON.parse(text) as [string, string];
  return { namespaceId, scheduleId };
}

export function scheduleNotFound(scheduleId: string): NotFoundError {
  return new NotFoundError(`schedule not found: ${scheduleId}`);
}

export function alreadyRegistered(scheduleId: string): ServiceError {
  // Temporal answers with WorkflowExecutionAlreadyStarted (ALREADY_EXISTS), which SDKs turn into "schedule already running".
  const details = {
    typeName: 'temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure',
    value: api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure.encode({ startRequestId: '', runId: '' }).finish(),
  };
  return new ServiceError(GrpcCode.ALREADY_EXISTS, `schedule with this ID is already registered: ${scheduleId}`, details);
}

/** The schedule with Temporal's defaults filled in, so that describe shows them; the spec canonical. */
export function withDefaults(schedule: Schedule): Schedule {
  const out: Schedule = { ...schedule };
  out.spec = canonicalizeSpec(schedule.spec ?? {});
  out.action = schedule.action ?? {};
  const policies = { ...(schedule.policies ?? {}) };
  if (!policies.overlapPolicy) policies.overlapPolicy = OverlapPolicy.SCHEDULE_OVERLAP_POLICY_SKIP;
  policies.catchupWindow = msToDuration(catchupWindowOf(policies.catchupWindow));
  out.policies = policies;
  out.state = schedule.state ?? {};
  return out;
}

export function catchupWindowOf(duration: Loose<temporal.api.schedule.v1.ISchedulePolicies>['catchupWindow']): number {
  if (!duration) return DEFAULT_CATCHUP_WINDOW_MS;
  return Math.max(durationToMs(duration), MIN_CATCHUP_WINDOW_MS);
}

export function catchupWindow(record: ScheduleRecord): number {
  return catchupWindowOf(record.schedule.policies?.catchupWindow);
}

export function resolveOverlap(record: ScheduleRecord, policy: number): number {
  return policy || record.schedule.policies?.overlapPolicy || OverlapPolicy.SCHEDULE_OVERLAP_POLICY_SKIP;
}

/** Whether a start may be taken now; `spend` uses up one of the limited actions. */
export function canTakeScheduledAction(record: ScheduleRecord, manual: boolean, spend = false): boolean {
  if (manual) return true;
  const state = record.schedule.state;
  if (state?.paused) return false;
  if (!state?.limitedActions) return true;
  const remaining = Number(state.remainingActions ?? 0);
  if (remaining <= 0) return false;
  if (spend) {
    state.remainingActions = remaining - 1;
    record.conflictToken++;
  }
  return true;
}

export function addStart(record: ScheduleRecord, start: BufferedStart): void {
  if (record.buffered.length >= MAX_BUFFER_SIZE) {
    record.bufferDropped++;
    return;
  }
  record.buffered.push(start);
  // A start is to be decided: the running list must be current.
  record.needRefresh = true;
}

export function recordAction(record: ScheduleRecord, action: RecentAction, nonOverlapping: boolean): void {
  record.actionCount++;
  record.recentActions = [...record.recentActions, action].slice(-RECENT_ACTION_COUNT);
  // Allow-all runs are not tracked: they never hold up another start.
  if (nonOverlapping) record.running.push({ workflowId: action.workflowId, runId: action.runId });
}

/** Errors a retry would meet again: dropped, as Temporal drops them. */
export function isUserError(err: unknown): boolean {
  return err instanceof ServiceError && (err.code === GrpcCode.ALREADY_EXISTS || err.code === GrpcCode.INVALID_ARGUMENT || err.code === GrpcCode.NOT_FOUND || err.code === GrpcCode.FAILED_PRECONDITION);
}

/** A stable request id per schedule and start: a start repeated after a crash finds its run. */
export function requestIdFor(key: ScheduleKey, start: BufferedStart): string {
  const hex = createHash('sha256').update(`${key.namespaceId}\n${key.scheduleId}\n${start.nominalMs}\n${start.actualMs}\n${start.manual}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function jsonPayload(value: unknown, type: string): Payload {
  return {
    metadata: { encoding: Buffer.from('json/plain'), type: Buffer.from(type) },
    data: Buffer.from(JSON.stringify(value)),
  };
}

export function scheduledSearchAttributes(attributes: SearchAttributes | null | undefined, nominalMs: number, scheduleId: string): SearchAttributes {
  return {
    indexedFields: {
      ...(attributes?.indexedFields ?? {}),
      TemporalScheduledStartTime: jsonPayload(new Date(nominalMs).toISOString().replace(/\.\d{3}Z$/, 'Z'), 'Datetime'),
      TemporalScheduledById: jsonPayload(scheduleId, 'Keyword'),
    },
  };
}

export function closeStatus(event: temporal.api.history.v1.IHistoryEvent): number {
  switch (event.eventType) {
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
      return Status.WORKFLOW_EXECUTION_STATUS_COMPLETED;
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
      return Status.WORKFLOW_EXECUTION_STATUS_FAILED;
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
      return Status.WORKFLOW_EXECUTION_STATUS_CANCELED;
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
      return Status.WORKFLOW_EXECUTION_STATUS_TERMINATED;
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
      return Status.WORKFLOW_EXECUTION_STATUS_TIMED_OUT;
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
      return Status.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW;
    default:
      return Status.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED;
  }
}

