// `schedule describe` and `schedule list`. Text output uses the temporal CLI's field names (ScheduleId,
// Spec, OverlapPolicy, Paused, NextRunTime, ...) followed by the action, the recent actions and the
// upcoming run times; `-o json` is the server's response in proto JSON with payloads decoded, as for
// the workflow commands. Spec entries are printed as the flag values that would recreate them
// (`interval 1h/15m`, `cron 30 12 * * Fri`, `calendar {"hour":"3"}`).
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import type { CommandContext, Proto } from '../context.js';
import { isoTime, longToNumber, pascalEnumName, timeWithAge, durationMs, type LongValue, type TimestampLike } from '../format.js';
import { decodePayload, payloadsText, type PayloadLike } from '../payloads.js';
import { messageToJson, reflected } from '../proto-json.js';
import { colorStatus, statusName } from './workflow-describe.js';
import { CALENDAR_FIELDS, protoTimestamp } from './schedule-request.js';
import { scheduleCall, scheduleSubject } from './schedule-call.js';

type ScheduleSpec = temporal.api.schedule.v1.IScheduleSpec;
type StructuredCalendarSpec = temporal.api.schedule.v1.IStructuredCalendarSpec;
type CalendarSpec = temporal.api.schedule.v1.ICalendarSpec;
type ScheduleActionResult = temporal.api.schedule.v1.IScheduleActionResult;
type ScheduleListEntry = temporal.api.schedule.v1.IScheduleListEntry;
type Range = temporal.api.schedule.v1.IRange;
type MatchingTimesRequest = temporal.api.workflowservice.v1.IListScheduleMatchingTimesRequest;

const LIST_PAGE_SIZE = 100;

/** Milliseconds in the flag syntax (`1h30m`, `45s`, `1d2h`), so that a printed spec can be pasted back. */
export function durationFlagText(ms: number): string {
  if (ms === 0) return '0s';
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ];
  let rest = Math.round(ms);
  let text = '';
  for (const [unit, size] of units) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0) text += `${count}${unit}`;
  }
  return text;
}

const protoDurationText = (d: TimestampLike | null | undefined): string | undefined => (d ? durationFlagText(durationMs(d)) : undefined);

/** Ranges as a calendar field string: `1-5`, `0-59/15`, `2,4`. */
function rangesText(ranges: readonly Range[] | null | undefined): string | undefined {
  if (!ranges || ranges.length === 0) return undefined;
  return ranges
    .map((range) => {
      const start = range.start ?? 0;
      const end = range.end ?? 0;
      const step = range.step ?? 0;
      return `${start}${end > start ? `-${end}` : ''}${step > 1 ? `/${step}` : ''}`;
    })
    .join(',');
}

/**
 * The ranges a server fills in for a field left out of a calendar ("every day", "every month"): left out
 * again when printing, which is also what `--calendar` reads them as.
 */
const FULL_RANGES: Partial<Record<string, string>> = { dayOfMonth: '1-31', month: '1-12', dayOfWeek: '0-6' };

/** A calendar (either form) as the JSON `--calendar` takes, non-empty fields only. */
function calendarText(calendar: StructuredCalendarSpec | CalendarSpec, structured: boolean): string {
  const json: Record<string, string> = {};
  for (const field of CALENDAR_FIELDS) {
    const value = structured && field !== 'comment' ? rangesText((calendar as StructuredCalendarSpec)[field]) : (calendar as Record<string, unknown>)[field];
    if (typeof value === 'string' && value !== '' && !(structured && FULL_RANGES[field] === value)) json[field] = value;
  }
  return JSON.stringify(json);
}

/** One line per spec entry, in the flag syntax. */
export function specLines(spec: Loose<ScheduleSpec> | null | undefined): string[] {
  if (!spec) return [];
  const lines: string[] = [];
  for (const interval of spec.interval ?? []) {
    const phase = durationMs(interval.phase);
    lines.push(`interval ${durationFlagText(durationMs(interval.interval))}${phase > 0 ? `/${durationFlagText(phase)}` : ''}`);
  }
  for (const cron of spec.cronString ?? []) lines.push(`cron ${cron}`);
  for (const calendar of spec.calendar ?? []) lines.push(`calendar ${calendarText(calendar, false)}`);
  for (const calendar of spec.structuredCalendar ?? []) lines.push(`calendar ${calendarText(calendar, true)}`);
  return lines;
}

function skipLines(spec: ScheduleSpec | null | undefined): string[] {
  return [
    ...(spec?.excludeCalendar ?? []).map((calendar) => `calendar ${calendarText(calendar, false)}`),
    ...(spec?.excludeStructuredCalendar ?? []).map((calendar) => `calendar ${calendarText(calendar, true)}`),
  ];
}

function fieldsJson(fields: Record<string, PayloadLike> | null | undefined): string | undefined {
  const entries = Object.entries(fields ?? {});
  if (entries.length === 0) return undefined;
  return JSON.stringify(Object.fromEntries(entries.map(([key, payload]) => [key, decodePayload(payload)])));
}

function overlapName(proto: Proto, policy: number | null | undefined): string {
  const name = proto.temporal.api.enums.v1.ScheduleOverlapPolicy[policy ?? 0];
  // Unspecified means the default, Skip.
  return policy ? pascalEnumName(name, 'SCHEDULE_OVERLAP_POLICY_') : 'Skip';
}

const lastScheduleTime = (actions: readonly ScheduleActionResult[] | null | undefined) => actions?.at(-1)?.scheduleTime ?? undefined;

export async function describeSchedule(ctx: CommandContext, options: { scheduleId: string }): Promise<void> {
  const { workflowService } = await ctx.connect();
  const proto = await ctx.proto();
  const response = await scheduleCall(ctx, options.scheduleId, 'DescribeSchedule', () =>
    workflowService.describeSchedule({ namespace: ctx.flags.namespace, scheduleId: options.scheduleId }),
  );
  if (!ctx.out.isText) {
    ctx.out.json(messageToJson(reflected(proto.temporal.api.workflowservice.v1.DescribeScheduleResponse), response) ?? {});
    return;
  }
  const { out } = ctx;
  const schedule = response.schedule ?? {};
  const spec = schedule.spec;
  const info = response.info ?? {};
  const state = schedule.state ?? {};
  const policies = schedule.policies ?? {};
  const limited = state.limitedActions === true;
  out.heading('Schedule:');
  out.keyValues([
    ['ScheduleId', options.scheduleId],
    ['Namespace', ctx.flags.namespace],
    ['Spec', specLines(spec).join('\n') || '(none: runs only when triggered or backfilled)'],
    ['SkipSpec', skipLines(spec).join('\n')],
    ['StartAt', isoTime(spec?.startTime)],
    ['EndAt', isoTime(spec?.endTime)],
    ['Jitter', durationMs(spec?.jitter) > 0 ? protoDurationText(spec?.jitter) : undefined],
    ['TimeZoneName', spec?.timezoneName ?? undefined],
    ['OverlapPolicy', overlapName(proto, policies.overlapPolicy)],
    ['CatchupWindow', protoDurationText(policies.catchupWindow)],
    ['PauseOnFailure', String(policies.pauseOnFailure === true)],
    ['Paused', state.paused ? out.style.yellow('true') : 'false'],
    ['Notes', state.notes ?? undefined],
    ['RemainingActions', limited ? String(longToNumber(state.remainingActions as LongValue)) : undefined],
    ['NextRunTime', timeWithAge(info.futureActionTimes?.[0])],
    ['LastRunTime', timeWithAge(lastScheduleTime(info.recentActions))],
    ['RunningWorkflows', (info.runningWorkflows ?? []).map((execution) => execution.workflowId ?? '').join('\n')],
    ['CreatedAt', timeWithAge(info.createTime)],
    ['LastUpdateAt', timeWithAge(info.updateTime)],
    [
      'ActionCounts',
      `Total ${longToNumber(info.actionCount as LongValue)}, MissedCatchupWindow ${longToNumber(info.missedCatchupWindow as LongValue)}, ` +
        `SkippedOverlap ${longToNumber(info.overlapSkipped as LongValue)}`,
    ],
    ['BufferSize', longToNumber(info.bufferSize as LongValue) > 0 ? String(longToNumber(info.bufferSize as LongValue)) : undefined],
    ['InvalidScheduleError', info.invalidScheduleError ? out.style.red(info.invalidScheduleError) : undefined],
    ['Memo', fieldsJson(response.memo?.fields as Record<string, PayloadLike> | undefined)],
    ['SearchAttributes', fieldsJson(response.searchAttributes?.indexedFields as Record<string, PayloadLike> | undefined)],
  ]);

  const start = schedule.action?.startWorkflow;
  out.line();
  out.heading('Action: start workflow');
  if (start) {
    out.keyValues([
      ['WorkflowId', start.workflowId ?? ''],
      ['Type', start.workflowType?.name ?? ''],
      ['TaskQueue', start.taskQueue?.name ?? ''],
      ['Args', start.input?.payloads?.length ? payloadsText(start.input) : undefined],
      ['ExecutionTimeout', protoDurationText(start.workflowExecutionTimeout)],
      ['RunTimeout', protoDurationText(start.workflowRunTimeout)],
      ['TaskTimeout', protoDurationText(start.workflowTaskTimeout)],
      ['Memo', fieldsJson(start.memo?.fields as Record<string, PayloadLike> | undefined)],
      ['SearchAttributes', fieldsJson(start.searchAttributes?.indexedFields as Record<string, PayloadLike> | undefined)],
      ['Headers', fieldsJson(start.header?.fields as Record<string, PayloadLike> | undefined)],
      ['Summary', start.userMetadata?.summary ? String(decodePayload(start.userMetadata.summary as PayloadLike)) : undefined],
      ['Details', start.userMetadata?.details ? String(decodePayload(start.userMetadata.details as PayloadLike)) : undefined],
      ['PriorityKey', start.priority?.priorityKey ? String(start.priority.priorityKey) : undefined],
    ]);
  }

  const recent = info.recentActions ?? [];
  out.line();
  out.heading(`Recent Actions: ${recent.length}`);
  if (recent.length > 0) {
    out.table(
      [{ header: 'ScheduleTime' }, { header: 'ActualTime' }, { header: 'WorkflowId' }, { header: 'RunId' }, { header: 'Status' }],
      recent.map((action) => [
        isoTime(action.scheduleTime) ?? '',
        isoTime(action.actualTime) ?? '',
        action.startWorkflowResult?.workflowId ?? '',
        action.startWorkflowResult?.runId ?? '',
        action.startWorkflowStatus ? colorStatus(out.style, statusName(proto, action.startWorkflowStatus)) : '',
      ]),
    );
  }
  const upcoming = info.futureActionTimes ?? [];
  out.line();
  out.heading(`Upcoming Runs: ${upcoming.length}`);
  for (const time of upcoming) out.line(`  ${timeWithAge(time) ?? ''}`);
}

export interface ListOptions {
  query?: string;
  long?: boolean;
  reallyLong?: boolean;
}

async function listEntries(ctx: CommandContext, query: string | undefined): Promise<ScheduleListEntry[]> {
  const { workflowService } = await ctx.connect();
  const entries: ScheduleListEntry[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await ctx.call(`namespace "${ctx.flags.namespace}"`, 'ListSchedules', () =>
      workflowService.listSchedules({ namespace: ctx.flags.namespace, maximumPageSize: LIST_PAGE_SIZE, nextPageToken, query: query ?? '' }),
    );
    entries.push(...(page.schedules ?? []));
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken !== undefined);
  return entries;
}

export async function listSchedules(ctx: CommandContext, options: ListOptions): Promise<void> {
  const entries = await listEntries(ctx, options.query);
  const proto = await ctx.proto();
  const { out } = ctx;
  if (!out.isText) {
    out.jsonList(entries.map((entry) => messageToJson(reflected(proto.temporal.api.schedule.v1.ScheduleListEntry), entry)));
    return;
  }
  if (entries.length === 0) {
    out.note(`No schedules${options.query ? ` match ${JSON.stringify(options.query)}` : ''} in namespace "${ctx.flags.namespace}".`);
    return;
  }
  const paused = (entry: ScheduleListEntry) => (entry.info?.paused ? out.style.yellow('true') : 'false');
  if (options.reallyLong) {
    // Everything a list entry holds, one block per schedule (too wide for a table).
    entries.forEach((entry, index) => {
      if (index > 0) out.line();
      const spec = entry.info?.spec;
      out.keyValues(
        [
          ['ScheduleId', entry.scheduleId ?? ''],
          ['WorkflowType', entry.info?.workflowType?.name ?? ''],
          ['Spec', specLines(spec).join('\n')],
          ['SkipSpec', skipLines(spec).join('\n')],
          ['StartAt', isoTime(spec?.startTime)],
          ['EndAt', isoTime(spec?.endTime)],
          ['Jitter', protoDurationText(spec?.jitter) ?? '0s'],
          ['TimeZoneName', spec?.timezoneName ?? undefined],
          ['Notes', entry.info?.notes ?? undefined],
          ['Paused', paused(entry)],
          ['NextRunTime', isoTime(entry.info?.futureActionTimes?.[0])],
          ['LastRunTime', isoTime(lastScheduleTime(entry.info?.recentActions))],
          ['Memo', fieldsJson(entry.memo?.fields as Record<string, PayloadLike> | undefined) ?? '{}'],
          ['SearchAttributes', fieldsJson(entry.searchAttributes?.indexedFields as Record<string, PayloadLike> | undefined) ?? '{}'],
        ],
        0,
      );
    });
    return;
  }
  const columns = [{ header: 'ScheduleId' }, { header: 'WorkflowType' }, { header: 'Paused' }, { header: 'NextRunTime' }, { header: 'LastRunTime' }];
  if (options.long) columns.push({ header: 'Spec' }, { header: 'Notes' });
  out.table(
    columns,
    entries.map((entry) => {
      const row = [
        entry.scheduleId ?? '',
        entry.info?.workflowType?.name ?? '',
        paused(entry),
        isoTime(entry.info?.futureActionTimes?.[0]) ?? '',
        isoTime(lastScheduleTime(entry.info?.recentActions)) ?? '',
      ];
      if (options.long) row.push(specLines(entry.info?.spec).join('; '), entry.info?.notes ?? '');
      return row;
    }),
  );
}

/** `schedule list-matching-times`: the times the spec matches in a range, without running anything. */
export async function listMatchingTimes(ctx: CommandContext, options: { scheduleId: string; startTime: number; endTime: number }): Promise<void> {
  const { workflowService } = await ctx.connect();
  const proto = await ctx.proto();
  const request: Loose<MatchingTimesRequest> = {
    namespace: ctx.flags.namespace,
    scheduleId: options.scheduleId,
    startTime: protoTimestamp(options.startTime),
    endTime: protoTimestamp(options.endTime),
  };
  const response = await scheduleCall(ctx, options.scheduleId, 'ListScheduleMatchingTimes', () =>
    workflowService.listScheduleMatchingTimes(request as MatchingTimesRequest),
  );
  if (!ctx.out.isText) {
    ctx.out.json(messageToJson(reflected(proto.temporal.api.workflowservice.v1.ListScheduleMatchingTimesResponse), response) ?? {});
    return;
  }
  const times = response.startTime ?? [];
  if (times.length === 0) {
    ctx.out.note(`${scheduleSubject(options.scheduleId)} matches no time between ${new Date(options.startTime).toISOString()} and ${new Date(options.endTime).toISOString()}.`);
    return;
  }
  ctx.out.table([{ header: 'Time' }], times.map((time) => [isoTime(time) ?? '']));
}
