// The flags of `schedule create` and `schedule update` and the Schedule message they describe, named
// and defaulted as the temporal CLI's "schedule-configuration", "schedule-create-only" and
// "shared-workflow-start" option sets. Flag values are checked when commander parses them (a bad
// --interval, --calendar or --start-time is a usage error, exit 2) so that building the request
// cannot fail half-way.
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import { addAliasedOption, addPayloadInput, aliasedValue, collect, parseChoice, parseKeyJsonPairs } from '../flags.js';
import { constantCase, msToProtoDuration, parseDurationFlag, parseInteger } from '../format.js';
import { inputPayloads, jsonPayload, type PayloadLike } from '../payloads.js';
import type { Proto } from '../context.js';

type Schedule = temporal.api.schedule.v1.ISchedule;
type CalendarSpec = temporal.api.schedule.v1.ICalendarSpec;
type Enums = Proto['temporal']['api']['enums']['v1'];

export const OVERLAP_POLICIES = ['Skip', 'BufferOne', 'BufferAll', 'CancelOther', 'TerminateOther', 'AllowAll'] as const;
export type OverlapPolicyName = (typeof OVERLAP_POLICIES)[number];

/** The string fields of a CalendarSpec, the keys `--calendar` accepts (proto3 JSON names). */
export const CALENDAR_FIELDS = ['second', 'minute', 'hour', 'dayOfMonth', 'month', 'year', 'dayOfWeek', 'comment'] as const;
type CalendarField = (typeof CALENDAR_FIELDS)[number];

export interface IntervalFlag {
  everyMs: number;
  offsetMs: number;
}

/** What commander hands the create/update actions (parsed values, per the parsers below). */
export interface ScheduleFlags {
  scheduleId: string;
  overlapPolicy: OverlapPolicyName;
  // Spec
  calendar?: CalendarSpec[];
  cron?: string[];
  interval?: IntervalFlag[];
  startTime?: number;
  endTime?: number;
  jitter?: number;
  timeZone?: string;
  // Policies and state
  catchupWindow?: number;
  pauseOnFailure?: boolean;
  paused?: boolean;
  notes?: string;
  remainingActions?: number;
  // Create only
  scheduleMemo?: string[];
  scheduleSearchAttribute?: string[];
  // The workflow the schedule starts
  workflowId?: string;
  type?: string;
  name?: string;
  taskQueue: string;
  input?: string[];
  inputFile?: string[];
  runTimeout?: number;
  executionTimeout?: number;
  taskTimeout: number;
  searchAttribute?: string[];
  memo?: string[];
  headers?: string[];
  staticSummary?: string;
  staticDetails?: string;
  priorityKey?: number;
}

/** `5m` or `5m/1m` (every 5 minutes, 1 minute past the boundary), as the temporal CLI reads --interval. */
export function parseIntervalFlag(value: string): IntervalFlag {
  const parts = value.split('/');
  if (parts.length > 2) throw new InvalidArgumentError('Expected <duration> or <duration>/<offset>, e.g. 90m or 1h/15m.');
  const everyMs = parseDurationFlag(parts[0] ?? '');
  const offsetMs = parts[1] === undefined ? 0 : parseDurationFlag(parts[1]);
  if (everyMs <= 0) throw new InvalidArgumentError('The interval must be longer than zero.');
  return { everyMs, offsetMs };
}

/**
 * A CalendarSpec in JSON: `{"dayOfWeek":"Fri","hour":"3","minute":"30"}`. Field names as in proto3
 * JSON (camelCase or the proto's snake_case); numbers are taken as the strings they spell.
 */
export function parseCalendarFlag(value: string): CalendarSpec {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new InvalidArgumentError(`Expected a calendar spec in JSON, e.g. '{"dayOfWeek":"Fri","hour":"3","minute":"30"}' (${(error as Error).message}).`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidArgumentError('Expected a JSON object, e.g. \'{"hour":"3","minute":"30"}\'.');
  }
  const spec: Partial<Record<CalendarField, string>> = {};
  for (const [key, field] of Object.entries(parsed)) {
    const name = CALENDAR_FIELDS.find((known) => known === key.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase()));
    if (name === undefined) throw new InvalidArgumentError(`Unknown calendar field "${key}"; the fields are ${CALENDAR_FIELDS.join(', ')}.`);
    if (typeof field !== 'string' && typeof field !== 'number') throw new InvalidArgumentError(`Calendar field "${key}" must be a string such as "1-5" or "*/2".`);
    spec[name] = String(field);
  }
  return spec;
}

/** An RFC 3339 time (`2026-05-01T00:00:00Z`, or a date alone for midnight UTC), as epoch ms. */
export function parseTimestampFlag(value: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.test(value.trim()) ? Date.parse(value.trim()) : NaN;
  if (Number.isNaN(ms)) throw new InvalidArgumentError('Expected an RFC 3339 time such as 2026-05-01T00:00:00Z.');
  return ms;
}

function parseTimeZone(value: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
  } catch {
    throw new InvalidArgumentError('Expected an IANA time zone name such as Europe/Paris or America/New_York.');
  }
  return value;
}

function parseNonNegative(value: string): number {
  const n = parseInteger(value);
  if (n < 0) throw new InvalidArgumentError('Expected zero or a positive whole number.');
  return n;
}

export function addScheduleIdOption(command: Command): Command {
  return command.requiredOption('-s, --schedule-id <id>', 'schedule id');
}

export function addOverlapPolicyOption(command: Command): Command {
  return command.option('--overlap-policy <policy>', `what to do when a run of the schedule is still open: ${OVERLAP_POLICIES.join(', ')}`, parseChoice(OVERLAP_POLICIES), 'Skip');
}

/** The spec, policy and state flags plus the workflow action flags; `create` also gets memo and search attributes. */
export function addScheduleOptions(command: Command, create: boolean): Command {
  addScheduleIdOption(command)
    .option('--calendar <json>', 'calendar spec in JSON, e.g. \'{"dayOfWeek":"Fri","hour":"17","minute":"5"}\'; repeatable', (value: string, previous: CalendarSpec[] | undefined) => [...(previous ?? []), parseCalendarFlag(value)])
    .option('--cron <expression>', 'cron expression, e.g. "30 12 * * Fri" or @daily, @every 10m; repeatable', collect)
    .option('--interval <every[/offset]>', 'interval, e.g. 90m, or 60m/15m to run 15 minutes past each hour; repeatable', (value: string, previous: IntervalFlag[] | undefined) => [...(previous ?? []), parseIntervalFlag(value)])
    .option('--start-time <time>', 'do not run before this time (RFC 3339)', parseTimestampFlag)
    .option('--end-time <time>', 'do not run after this time (RFC 3339)', parseTimestampFlag)
    .option('--jitter <duration>', 'start each run at a random time up to this much later', parseDurationFlag)
    .option('--time-zone <tz>', 'interpret calendar and cron specs in this IANA time zone (default UTC)', parseTimeZone)
    .option('--catchup-window <duration>', 'run actions missed while the server was down if at most this late (default 1 year)', parseDurationFlag)
    .option('--pause-on-failure', 'pause the schedule when a workflow it started fails')
    .option('--paused', create ? 'create the schedule paused' : 'leave the schedule paused after the update')
    .option('--notes <text>', 'notes, e.g. why the schedule is paused')
    .option('--remaining-actions <n>', 'stop after this many actions (default 0: unlimited)', parseNonNegative);
  addOverlapPolicyOption(command);
  if (create) {
    command
      .option('--schedule-memo <key=json>', 'memo of the schedule, value as JSON; repeatable', collect)
      .option('--schedule-search-attribute <key=json>', 'search attribute of the schedule, value as JSON; repeatable', collect);
  }
  // The workflow each action starts: `workflow start`'s flags, as in the temporal CLI.
  command.option('-w, --workflow-id <id>', 'workflow id of the started workflows (default: a random UUID); each run gets the action time appended');
  addAliasedOption(command, '--type <name>', '--name', 'workflow type name (required)');
  command
    .requiredOption('-t, --task-queue <name>', 'task queue of the workflows')
    .option('--run-timeout <duration>', 'fail a run that lasts longer than this (e.g. 30s, 5m)', parseDurationFlag)
    .option('--execution-timeout <duration>', 'fail a workflow execution (all runs) past this', parseDurationFlag)
    .addOption(new Option('--task-timeout <duration>', 'workflow task start-to-close timeout').argParser(parseDurationFlag).default(10_000, '10s'))
    .option('--search-attribute <key=json>', 'search attribute of the workflows, value as JSON; repeatable', collect)
    .option('--memo <key=json>', 'memo of the workflows, value as JSON; repeatable', collect)
    .option('--headers <key=json>', 'workflow header, value as JSON; repeatable', collect)
    .option('--static-summary <text>', 'one-line summary of the workflows, for UIs')
    .option('--static-details <text>', 'details of the workflows, for UIs')
    .option('--priority-key <n>', 'priority of the workflows\' tasks (1 is the highest; default 3)', parseNonNegative);
  return addPayloadInput(command);
}

export function overlapPolicyValue(enums: Enums, name: OverlapPolicyName): number {
  return enums.ScheduleOverlapPolicy[`SCHEDULE_OVERLAP_POLICY_${constantCase(name)}` as keyof typeof enums.ScheduleOverlapPolicy];
}

const durationOrUndefined = (ms: number | undefined) => (ms === undefined ? undefined : msToProtoDuration(ms));

/** Epoch ms as a google.protobuf.Timestamp (the same split as a Duration). */
export function protoTimestamp(ms: number): { seconds: number; nanos: number } {
  return msToProtoDuration(ms);
}

function payloadMap(pairs: Record<string, string>): Record<string, PayloadLike> | undefined {
  const entries = Object.entries(pairs);
  return entries.length === 0 ? undefined : Object.fromEntries(entries.map(([key, json]) => [key, jsonPayload(json)]));
}

/** `{ fields }` for a memo or header, `undefined` when the flag was not given. */
export function fieldsFromFlags(pairs: readonly string[] | undefined, flag: string): { fields: Record<string, PayloadLike> } | undefined {
  const fields = payloadMap(parseKeyJsonPairs(pairs, flag));
  return fields === undefined ? undefined : { fields };
}

export function searchAttributesFromFlags(pairs: readonly string[] | undefined, flag: string): { indexedFields: Record<string, PayloadLike> } | undefined {
  const indexedFields = payloadMap(parseKeyJsonPairs(pairs, flag));
  return indexedFields === undefined ? undefined : { indexedFields };
}

/**
 * The whole Schedule the flags describe. `update` sends it as a replacement, so anything not given
 * takes its default again (as with `temporal schedule update`).
 */
export function scheduleFromFlags(flags: ScheduleFlags, enums: Enums): Loose<Schedule> {
  const type = aliasedValue(flags as unknown as Record<string, unknown>, 'type', 'name', '--type <name>');
  const input = inputPayloads(flags.input, flags.inputFile);
  const summary = flags.staticSummary === undefined ? undefined : jsonPayload(JSON.stringify(flags.staticSummary));
  const details = flags.staticDetails === undefined ? undefined : jsonPayload(JSON.stringify(flags.staticDetails));
  const remaining = flags.remainingActions ?? 0;
  return {
    spec: {
      calendar: flags.calendar ?? [],
      cronString: flags.cron ?? [],
      interval: (flags.interval ?? []).map((interval) => ({
        interval: msToProtoDuration(interval.everyMs),
        phase: interval.offsetMs > 0 ? msToProtoDuration(interval.offsetMs) : undefined,
      })),
      startTime: flags.startTime === undefined ? undefined : protoTimestamp(flags.startTime),
      endTime: flags.endTime === undefined ? undefined : protoTimestamp(flags.endTime),
      jitter: durationOrUndefined(flags.jitter),
      timezoneName: flags.timeZone ?? '',
    },
    action: {
      startWorkflow: {
        workflowId: flags.workflowId ?? randomUUID(),
        workflowType: { name: type },
        taskQueue: { name: flags.taskQueue, kind: enums.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        input: input.length > 0 ? { payloads: input } : undefined,
        workflowExecutionTimeout: durationOrUndefined(flags.executionTimeout),
        workflowRunTimeout: durationOrUndefined(flags.runTimeout),
        workflowTaskTimeout: durationOrUndefined(flags.taskTimeout),
        memo: fieldsFromFlags(flags.memo, '--memo'),
        searchAttributes: searchAttributesFromFlags(flags.searchAttribute, '--search-attribute'),
        header: fieldsFromFlags(flags.headers, '--headers'),
        userMetadata: summary || details ? { summary, details } : undefined,
        priority: flags.priorityKey === undefined ? undefined : { priorityKey: flags.priorityKey },
      },
    },
    policies: {
      overlapPolicy: overlapPolicyValue(enums, flags.overlapPolicy),
      // Unset rather than zero: the server's default (a year) applies, as with the temporal CLI.
      catchupWindow: flags.catchupWindow ? msToProtoDuration(flags.catchupWindow) : undefined,
      pauseOnFailure: flags.pauseOnFailure === true,
    },
    state: {
      notes: flags.notes ?? '',
      paused: flags.paused === true,
      limitedActions: remaining > 0,
      remainingActions: remaining,
    },
  };
}
