// WorkflowService RPCs for schedules: validate, resolve the namespace, call the scheduler, and answer
// in Temporal's shapes (docs/schedules.md).
import { msToTimestamp, timestampToMs, type Loose } from '@kairos/common';
import type { temporal } from '@temporalio/proto';
import { InvalidArgumentError } from '../errors.js';
import type { NamespaceRegistry } from '../namespace/registry.js';
import type { SearchAttributeRegistry } from '../visibility/search-attribute-registry.js';
import { Scheduler, withDefaults, type ScheduleKey } from '../schedules/scheduler.js';
import type { ScheduleRecord } from '../schedules/schedule-record.js';
import type { CompiledSpec } from '../schedules/spec.js';
import type { ServiceHandlers } from './grpc-server.js';
import { decodeListToken, encodeListToken } from './list-token.js';
import { checkDuration, checkMemo, checkPayloads, checkRetryPolicy, checkStartSearchAttributes, requireId, requireString } from './validation.js';
import { LIMITS } from '../limits.js';
import { SearchAttributesCodec, type SearchAttributes } from '../proto-types.js';
import type { ExecutionSummary } from '../persistence/store.js';
import type { SearchAttributeValues } from '../persistence/visibility.js';
import { compileQuery } from '../visibility/query/compile.js';
import { matches } from '../visibility/query/evaluate.js';
import { tokenize } from '../visibility/query/tokenizer.js';
import { indexSearchAttributes, type NamespaceSearchAttributes } from '../visibility/search-attribute-values.js';

type WS = typeof temporal.api.workflowservice.v1;
type Schedule = temporal.api.schedule.v1.ISchedule;
void (null as unknown as WS);

const DEFAULT_PAGE_SIZE = 1000;
/** What Temporal appends to a scheduled workflow's id ("-2009-11-10T23:00:00Z"), counted in the id limit. */
const APPENDED_TIMESTAMP_LENGTH = '-2009-11-10T23:00:00Z'.length;

export function scheduleHandlers(scheduler: Scheduler, namespaces: NamespaceRegistry, searchAttributes: SearchAttributeRegistry): ServiceHandlers {
  const ns = (name: string | null | undefined) => namespaces.get(requireString(name, 'Namespace'));
  const keyOf = (namespaceId: string, scheduleId: string | null | undefined): ScheduleKey => ({ namespaceId, scheduleId: requireId(scheduleId, 'ScheduleId') });

  /** Validates a schedule as a create or update carries it; throws INVALID_ARGUMENT. */
  const checkSchedule = (schedule: Schedule | null | undefined, namespaceId: string): void => {
    if (!schedule) throw new InvalidArgumentError('Schedule is not set on request.');
    const start = schedule.action?.startWorkflow;
    if (!start) throw new InvalidArgumentError('Schedule action is not set on request.');
    const workflowId = requireId(start.workflowId, 'WorkflowId');
    if (workflowId.length + APPENDED_TIMESTAMP_LENGTH > LIMITS.maxIdLength) throw new InvalidArgumentError('WorkflowId length exceeds limit.');
    requireId(start.workflowType?.name, 'WorkflowType');
    requireId(start.taskQueue?.name, 'TaskQueue');
    checkDuration(start.workflowExecutionTimeout, 'WorkflowExecutionTimeout');
    checkDuration(start.workflowRunTimeout, 'WorkflowRunTimeout');
    checkDuration(start.workflowTaskTimeout, 'WorkflowTaskTimeout');
    checkPayloads(start.input, 'Input');
    checkMemo(start.memo);
    checkRetryPolicy(start.retryPolicy);
    checkStartSearchAttributes(start, searchAttributes.custom(namespaceId));
    checkDuration(schedule.policies?.catchupWindow, 'CatchupWindow');
    if (schedule.state?.limitedActions && Number(schedule.state.remainingActions ?? 0) < 0) throw new InvalidArgumentError('RemainingActions must not be negative.');
    // Throws INVALID_ARGUMENT for a spec that cannot be compiled.
    withDefaults(schedule as Loose<Schedule>);
  };

  const checkScheduleAttributes = (attributes: temporal.api.common.v1.ISearchAttributes | null | undefined, namespaceId: string) => {
    const holder = { searchAttributes: attributes ?? null };
    checkStartSearchAttributes(holder, searchAttributes.custom(namespaceId));
    return holder.searchAttributes;
  };

  return {
    async CreateSchedule(request) {
      const req = request as temporal.api.workflowservice.v1.ICreateScheduleRequest;
      const namespace = ns(req.namespace);
      const key = keyOf(namespace.id, req.scheduleId);
      checkSchedule(req.schedule, namespace.id);
      checkMemo(req.memo);
      const attributes = checkScheduleAttributes(req.searchAttributes, namespace.id);
      if (req.initialPatch) checkPatch(req.initialPatch);
      const token = await scheduler.create({
        ...key,
        namespaceName: namespace.name,
        schedule: req.schedule!,
        initialPatch: req.initialPatch ?? null,
        memo: req.memo ?? null,
        searchAttributes: attributes,
      });
      return { conflictToken: encodeConflictToken(token) };
    },

    async DescribeSchedule(request) {
      const req = request as temporal.api.workflowservice.v1.IDescribeScheduleRequest;
      const namespace = ns(req.namespace);
      const key = keyOf(namespace.id, req.scheduleId);
      const { record, compiled } = await scheduler.describe(key);
      return {
        schedule: record.schedule,
        info: scheduleInfo(scheduler, record, compiled),
        memo: record.memo,
        searchAttributes: record.searchAttributes,
        conflictToken: encodeConflictToken(record.conflictToken),
      } satisfies Loose<temporal.api.workflowservice.v1.IDescribeScheduleResponse>;
    },

    async UpdateSchedule(request) {
      const req = request as temporal.api.workflowservice.v1.IUpdateScheduleRequest;
      const namespace = ns(req.namespace);
      const key = keyOf(namespace.id, req.scheduleId);
      checkSchedule(req.schedule, namespace.id);
      const attributes = req.searchAttributes ? checkScheduleAttributes(req.searchAttributes, namespace.id) : null;
      await scheduler.update(key, req.schedule!, decodeConflictToken(req.conflictToken), attributes);
      return {};
    },

    async PatchSchedule(request) {
      const req = request as temporal.api.workflowservice.v1.IPatchScheduleRequest;
      const namespace = ns(req.namespace);
      const key = keyOf(namespace.id, req.scheduleId);
      if (!req.patch) throw new InvalidArgumentError('Patch is not set on request.');
      checkPatch(req.patch);
      await scheduler.patch(key, req.patch);
      return {};
    },

    async DeleteSchedule(request) {
      const req = request as temporal.api.workflowservice.v1.IDeleteScheduleRequest;
      const namespace = ns(req.namespace);
      await scheduler.delete(keyOf(namespace.id, req.scheduleId));
      return {};
    },

    async ListScheduleMatchingTimes(request) {
      const req = request as temporal.api.workflowservice.v1.IListScheduleMatchingTimesRequest;
      const namespace = ns(req.namespace);
      const key = keyOf(namespace.id, req.scheduleId);
      const startMs = timestampToMs(req.startTime);
      const endMs = timestampToMs(req.endTime);
      if (startMs === undefined || endMs === undefined) throw new InvalidArgumentError('StartTime and EndTime are required.');
      const times = await scheduler.matchingTimes(key, startMs, endMs);
      return { startTime: times.map(msToTimestamp) };
    },

    async ListSchedules(request) {
      const req = request as temporal.api.workflowservice.v1.IListSchedulesRequest;
      const namespace = ns(req.namespace);
      const pageSize = req.maximumPageSize && req.maximumPageSize > 0 ? Math.min(req.maximumPageSize, DEFAULT_PAGE_SIZE) : DEFAULT_PAGE_SIZE;
      const filter = scheduleQueryFilter(req.query ?? '', searchAttributes.custom(namespace.id));
      const entries: Array<Loose<temporal.api.schedule.v1.IScheduleListEntry>> = [];
      let after = decodeListToken(req.nextPageToken);
      // Filtered pages are filled from as many store pages as it takes.
      for (;;) {
        const page = await scheduler.list(namespace.id, after, pageSize);
        for (const { scheduleId, record, compiled } of page) {
          after = scheduleId;
          if (!filter(scheduleId, record)) continue;
          entries.push({ scheduleId, memo: record.memo, searchAttributes: record.searchAttributes, info: listInfo(scheduler, record, compiled) });
          if (entries.length === pageSize) break;
        }
        if (entries.length === pageSize || page.length < pageSize) {
          const more = entries.length === pageSize || page.length === pageSize;
          return { schedules: entries, nextPageToken: more && after !== null ? encodeListToken(after) : null };
        }
      }
    },

    async CountSchedules(request) {
      const req = request as temporal.api.workflowservice.v1.ICountSchedulesRequest;
      const namespace = ns(req.namespace);
      const filter = scheduleQueryFilter(req.query ?? '', searchAttributes.custom(namespace.id));
      let count = 0;
      let after: string | null = null;
      for (;;) {
        const page = await scheduler.list(namespace.id, after, DEFAULT_PAGE_SIZE);
        for (const { scheduleId, record } of page) {
          after = scheduleId;
          if (filter(scheduleId, record)) count++;
        }
        if (page.length < DEFAULT_PAGE_SIZE) return { count, groups: [] };
      }
    },
  };
}

function checkPatch(patch: Loose<temporal.api.schedule.v1.ISchedulePatch>): void {
  for (const backfill of patch.backfillRequest ?? []) {
    const start = timestampToMs(backfill.startTime);
    const end = timestampToMs(backfill.endTime);
    if (start === undefined || end === undefined) throw new InvalidArgumentError('Backfill request needs a start time and an end time.');
    if (start > end) throw new InvalidArgumentError('Backfill start time must not be after its end time.');
  }
}

function scheduleInfo(scheduler: Scheduler, record: ScheduleRecord, compiled: CompiledSpec | null): Loose<temporal.api.schedule.v1.IScheduleInfo> {
  return {
    actionCount: record.actionCount,
    missedCatchupWindow: record.missedCatchupWindow,
    overlapSkipped: record.overlapSkipped,
    bufferDropped: record.bufferDropped,
    bufferSize: record.buffered.length,
    runningWorkflows: record.running.map((r) => ({ workflowId: r.workflowId, runId: r.runId })),
    recentActions: record.recentActions.map(actionResult),
    futureActionTimes: scheduler.futureActionTimes(record, compiled, Scheduler.DESCRIBE_FUTURE_ACTIONS).map(msToTimestamp),
    createTime: msToTimestamp(record.createTimeMs),
    updateTime: record.updateTimeMs ? msToTimestamp(record.updateTimeMs) : null,
    invalidScheduleError: record.invalidScheduleError,
  };
}

function listInfo(scheduler: Scheduler, record: ScheduleRecord, compiled: CompiledSpec | null): Loose<temporal.api.schedule.v1.IScheduleListInfo> {
  const limits = Scheduler.LIST_LIMITS;
  const spec = record.schedule.spec ?? {};
  return {
    spec: {
      ...spec,
      timezoneData: null,
      structuredCalendar: spec.structuredCalendar?.slice(0, limits.specFields) ?? [],
      interval: spec.interval?.slice(0, limits.specFields) ?? [],
      excludeStructuredCalendar: spec.excludeStructuredCalendar?.slice(0, limits.specFields) ?? [],
    },
    workflowType: record.schedule.action?.startWorkflow?.workflowType ?? null,
    notes: record.schedule.state?.notes ?? '',
    paused: record.schedule.state?.paused ?? false,
    recentActions: record.recentActions.slice(-limits.recentActions).map(actionResult),
    futureActionTimes: scheduler.futureActionTimes(record, compiled, limits.futureActions).map(msToTimestamp),
  };
}

function actionResult(a: ScheduleRecord['recentActions'][number]): Loose<temporal.api.schedule.v1.IScheduleActionResult> {
  return {
    scheduleTime: msToTimestamp(a.scheduleTimeMs),
    actualTime: msToTimestamp(a.actualTimeMs),
    startWorkflowResult: { workflowId: a.workflowId, runId: a.runId },
    startWorkflowStatus: a.status,
  };
}

/** The conflict token on the wire: the counter as 8 bytes, big-endian. */
function encodeConflictToken(token: number): Uint8Array {
  const bytes = Buffer.alloc(8);
  bytes.writeBigInt64BE(BigInt(token));
  return bytes;
}

function decodeConflictToken(bytes: Uint8Array | null | undefined): number {
  if (!bytes || bytes.length === 0) return 0;
  if (bytes.length !== 8) throw new InvalidArgumentError('invalid conflict token');
  return Number(Buffer.from(bytes).readBigInt64BE());
}


/**
 * The list filter of schedules: Temporal's list-filter language over ScheduleId (Temporal rewrites it to
 * the scheduler workflow's id), TemporalSchedulePaused and the schedule's custom search attributes.
 */
export function scheduleQueryFilter(query: string, custom: NamespaceSearchAttributes): (scheduleId: string, record: ScheduleRecord) => boolean {
  if (query.trim() === '') return () => true;
  // ScheduleId names the only column a schedule has: the scheduler's workflow id.
  let text = query;
  for (const token of tokenize(query).reverse()) {
    if ((token.kind === 'identifier' || token.kind === 'quotedIdentifier') && token.text === 'ScheduleId') {
      // Same length: error positions still point into the query as written.
      text = `${text.slice(0, token.start)}${token.source.replace('ScheduleId', 'WorkflowId')}${text.slice(token.start + token.source.length)}`;
    }
  }
  const { filter } = compileQuery(text, custom, 'list');
  return (scheduleId, record) => {
    const values = { ...(record.searchAttributes ? indexSearchAttributes(SearchAttributesCodec.encode(record.searchAttributes as SearchAttributes).finish()) : null), TemporalSchedulePaused: record.schedule.state?.paused ?? false };
    return matches(filter, { key: { namespaceId: '', workflowId: scheduleId, runId: '' }, summary: scheduleSummary(values) });
  };
}

/** A schedule as a visibility row: only the workflow id and the search attributes mean anything. */
function scheduleSummary(values: SearchAttributeValues): ExecutionSummary {
  return {
    workflowType: '',
    taskQueue: '',
    status: 1,
    startTimeMs: 0,
    executionTimeMs: 0,
    closeTimeMs: null,
    historyLength: 0,
    historySizeBytes: 0,
    stateTransitionCount: 0,
    executionDurationMs: null,
    parentWorkflowId: null,
    parentRunId: null,
    rootWorkflowId: null,
    rootRunId: null,
    memo: null,
    searchAttributes: null,
    searchAttributeValues: values,
  };
}
