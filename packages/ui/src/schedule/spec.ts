// A schedule's spec in words: "every 2 minutes", "at 12:00 on Mon–Wed, Fri", "every 15 minutes from
// 09:00 to 17:59 on Mon–Fri". Pure functions, tested in spec.test.ts.
//
// A structured calendar matches a time when each field matches one of its ranges (an empty year list
// matches every year). Each field is expanded into its sorted set of values, which makes the
// questions the wording asks simple: is it every value, one value, a regular step from the first?
// The finest field that repeats (seconds, then minutes, then hours) gives the "every ..." phrase,
// coarser fields narrow it ("from 09:00 to 17:59", "on Mon–Fri", "in Jan"). When the seconds and
// minutes are fixed and there are few hours, the times are listed instead ("at 09:00, 17:00").
// String calendars and 5-field cron strings (the forms a server compiles into structured calendars
// on input) are parsed into the same shape first; what cannot be parsed is shown as written.
import { durationMs } from '../format';
import type { CalendarSpec, IntervalSpec, OverlapPolicy, Range, ScheduleSpec, StructuredCalendarSpec } from './types';

export type Field = 'second' | 'minute' | 'hour' | 'dayOfMonth' | 'month' | 'dayOfWeek';

const BOUNDS: Readonly<Record<Field, readonly [number, number]>> = {
  second: [0, 59],
  minute: [0, 59],
  hour: [0, 23],
  dayOfMonth: [1, 31],
  month: [1, 12],
  dayOfWeek: [0, 6],
};

export const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
export const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/** Proto3 JSON leaves zeros out: a missing start is 0, an end below the start is the start, step 0 is 1. */
export function normaliseRange(r: Range): { start: number; end: number; step: number } {
  const start = r.start ?? 0;
  return { start, end: Math.max(r.end ?? 0, start), step: r.step !== undefined && r.step > 0 ? r.step : 1 };
}

function expand(ranges: readonly Range[] | undefined, field: Field): number[] {
  const [lo, hi] = BOUNDS[field];
  const values = new Set<number>();
  for (const r of ranges ?? []) {
    const { start, end, step } = normaliseRange(r);
    // Sunday may be written as 7, as in cron.
    for (let v = start; v <= end && v <= hi + 1; v += step) values.add(field === 'dayOfWeek' && v === 7 ? 0 : v);
  }
  return [...values].filter((v) => v >= lo && v <= hi).sort((a, b) => a - b);
}

const isAll = (values: readonly number[], field: Field) => values.length === BOUNDS[field][1] - BOUNDS[field][0] + 1;

/** n when the values are lo, lo+n, lo+2n, ... to the top of the field and n divides the field's size
 * (so "every n" holds across the wrap from the top back to lo). */
function evenStep(values: readonly number[], field: Field): number | undefined {
  const [lo, hi] = BOUNDS[field];
  const step = (values[1] ?? 0) - (values[0] ?? 0);
  if (values.length < 2 || values[0] !== lo || step <= 1 || (hi - lo + 1) % step !== 0) return undefined;
  return values.length === (hi - lo + 1) / step && values.every((v, i) => v === lo + i * step) ? step : undefined;
}

/** Consecutive runs of three or more as `a–b`, the rest listed: `Mon–Wed, Fri`. */
function listText(values: readonly number[], name: (v: number) => string): string {
  const parts: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === (values[j] ?? 0) + 1) j++;
    const first = values[i] ?? 0;
    const last = values[j] ?? 0;
    if (j - i >= 2) parts.push(`${name(first)}–${name(last)}`);
    else for (let k = i; k <= j; k++) parts.push(name(values[k] ?? 0));
    i = j + 1;
  }
  return parts.join(', ');
}

const pad = (n: number) => String(n).padStart(2, '0');
const clock = (h: number, m: number, s: number) => `${pad(h)}:${pad(m)}${s === 0 ? '' : `:${pad(s)}`}`;
const ordinal = (n: number) => `${n}${n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th')}`;

function timeOfDay(seconds: number[], minutes: number[], hours: number[]): string {
  const [s0, m0] = [seconds[0] ?? 0, minutes[0] ?? 0];
  const fixedMinute = seconds.length === 1 && minutes.length === 1;
  const hourStep = evenStep(hours, 'hour');
  if (fixedMinute && !isAll(hours, 'hour') && (hours.length <= 3 || (hours.length <= 6 && hourStep === undefined))) {
    return `at ${hours.map((h) => clock(h, m0, s0)).join(', ')}`;
  }
  const atSecond = seconds.length === 1 ? (s0 === 0 ? '' : ` at second ${s0}`) : ` at seconds ${listText(seconds, String)}`;
  let every: string;
  if (isAll(minutes, 'minute')) {
    const secondStep = evenStep(seconds, 'second');
    if (isAll(seconds, 'second')) every = 'every second';
    else if (secondStep !== undefined) every = `every ${secondStep} seconds`;
    else every = `every minute${atSecond}`;
  } else if (evenStep(minutes, 'minute') !== undefined && seconds.length === 1) {
    every = `every ${evenStep(minutes, 'minute')} minutes${atSecond}`;
  } else if (seconds.length === 1) {
    // Fixed minutes of some hours: "every hour at :30", "every 2 hours", "every hour from 09:00 to 17:59".
    const past = minutes.map((m) => `:${pad(m)}${s0 === 0 ? '' : `:${pad(s0)}`}`).join(', ');
    const onTheHour = minutes.length === 1 && m0 === 0 && s0 === 0;
    if (hourStep !== undefined) return onTheHour ? `every ${hourStep} hours` : `every ${hourStep} hours at ${past}`;
    return `${onTheHour ? 'every hour' : `every hour at ${past}`}${hourQualifier(hours)}`;
  } else {
    return `at seconds ${listText(seconds, String)} of minutes ${listText(minutes, String)} of hours ${listText(hours, String)}`;
  }
  return `${every}${hourQualifier(hours)}`;
}

function hourQualifier(hours: readonly number[]): string {
  if (isAll(hours, 'hour')) return '';
  const first = hours[0] ?? 0;
  const last = hours[hours.length - 1] ?? 0;
  if (last - first + 1 === hours.length) return ` from ${clock(first, 0, 0)} to ${clock(last, 59, 0)}`;
  const step = evenStep(hours, 'hour');
  return step !== undefined ? ` in every ${ordinal(step)} hour` : ` in hours ${listText(hours, pad)}`;
}

function dayQualifier(spec: StructuredCalendarSpec): string {
  const days = expand(spec.dayOfMonth, 'dayOfMonth');
  const months = expand(spec.month, 'month');
  const weekdays = expand(spec.dayOfWeek, 'dayOfWeek');
  const monthText = listText(months, (m) => MONTH_NAMES[m - 1] ?? String(m));
  const weekdayText = listText(weekdays, (d) => DAY_NAMES[d] ?? String(d));
  const parts: string[] = [];
  // Both a day of the month and a day of the week must match (unlike cron, where either may).
  if (!isAll(days, 'dayOfMonth')) {
    parts.push(`on the ${listText(days, ordinal)} of ${isAll(months, 'month') ? 'every month' : monthText}`);
    if (!isAll(weekdays, 'dayOfWeek')) parts.push(`if it is a ${weekdayText}`);
  } else {
    if (!isAll(weekdays, 'dayOfWeek')) parts.push(`on ${weekdayText}`);
    if (!isAll(months, 'month')) parts.push(`in ${monthText}`);
  }
  const years = (spec.year ?? []).map(normaliseRange);
  if (years.length > 0) {
    parts.push(`in ${years.map((r) => (r.start === r.end ? String(r.start) : `${r.start}–${r.end}${r.step > 1 ? ` every ${r.step} years` : ''}`)).join(', ')}`);
  }
  return parts.join(' ');
}

export function describeCalendar(spec: StructuredCalendarSpec): string {
  const seconds = expand(spec.second, 'second');
  const minutes = expand(spec.minute, 'minute');
  const hours = expand(spec.hour, 'hour');
  const fields: Field[] = ['second', 'minute', 'hour', 'dayOfMonth', 'month', 'dayOfWeek'];
  if (fields.some((f) => expand(spec[f], f).length === 0)) return 'never (a field matches no value)';
  const time = timeOfDay(seconds, minutes, hours);
  const days = dayQualifier(spec);
  return days === '' ? (time.startsWith('at ') ? `${time} every day` : time) : `${time} ${days}`;
}

/** One field of a structured calendar as written, `*` when it matches every value: `12`, `Mon–Fri`,
 * `0–59 /15`. Years: `*` when there is no range. */
export function rangesText(ranges: readonly Range[] | undefined, field: Field | 'year'): string {
  const list = ranges ?? [];
  if (field === 'year' ? list.length === 0 : isAll(expand(list, field), field)) return '*';
  const name = (v: number) => (field === 'dayOfWeek' ? (DAY_NAMES[v % 7] ?? String(v)) : field === 'month' ? (MONTH_NAMES[v - 1] ?? String(v)) : String(v));
  return list
    .map(normaliseRange)
    .map((r) => (r.start === r.end ? name(r.start) : `${name(r.start)}–${name(r.end)}${r.step > 1 ? ` /${r.step}` : ''}`))
    .join(', ');
}

/** "2 minutes", "1 hour 30 minutes", "365 days", "1.5 seconds". */
export function durationWords(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '';
  if (ms === 0) return '0 seconds';
  if (ms < 60_000 && ms % 1000 !== 0) return `${ms / 1000} seconds`;
  const units: Array<[number, string]> = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1000, 'second'],
  ];
  const parts: string[] = [];
  let rest = Math.round(ms);
  for (const [size, unit] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n} ${unit}${n === 1 ? '' : 's'}`);
    rest -= n * size;
  }
  return parts.join(' ') || `${ms} ms`;
}

export function describeInterval(spec: IntervalSpec): string {
  const every = durationMs(spec.interval);
  if (every === undefined || every <= 0) return 'an interval without a length';
  const words = durationWords(every);
  const text = words.startsWith('1 ') && !words.includes(' ', 2) ? `every ${words.slice(2)}` : `every ${words}`;
  const phase = durationMs(spec.phase);
  return phase === undefined || phase === 0 ? text : `${text}, offset by ${durationWords(phase)}`;
}

const DAY_WORDS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const MONTH_WORDS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** One field of a string calendar or cron string (`*`, `*\/5`, `1-5`, `mon-fri`, `1,15`) as ranges;
 * undefined when it is something else (`L`, `#`, ...). */
export function parseCalendarField(text: string, field: Field | 'year'): Range[] | undefined {
  const [lo, hi] = field === 'year' ? [1970, 2100] : BOUNDS[field];
  const value = (word: string): number | undefined => {
    const lower = word.toLowerCase();
    const names = field === 'dayOfWeek' ? DAY_WORDS : field === 'month' ? MONTH_WORDS : undefined;
    const named = names?.findIndex((n) => lower.startsWith(n)) ?? -1;
    if (named >= 0 && /^[a-z]+$/.test(lower)) return field === 'month' ? named + 1 : named;
    return /^\d+$/.test(word) ? Number(word) : undefined;
  };
  const ranges: Range[] = [];
  for (const item of text.trim().split(',')) {
    const match = /^(\*|[a-z0-9]+)(?:-([a-z0-9]+))?(?:\/(\d+))?$/i.exec(item.trim());
    if (match === null) return undefined;
    const [, from = '', to, step] = match;
    const start = from === '*' ? lo : value(from);
    const end = from === '*' ? hi : to !== undefined ? value(to) : step !== undefined ? hi : start;
    if (start === undefined || end === undefined) return undefined;
    ranges.push({ start, end, step: step === undefined ? 1 : Number(step) });
  }
  return ranges;
}

/** A string calendar with Temporal's defaults (second, minute, hour 0; the rest `*`). */
export function structuredFromCalendar(spec: CalendarSpec): StructuredCalendarSpec | undefined {
  const fields: Array<[Field | 'year', string | undefined, string]> = [
    ['second', spec.second, '0'],
    ['minute', spec.minute, '0'],
    ['hour', spec.hour, '0'],
    ['dayOfMonth', spec.dayOfMonth, '*'],
    ['month', spec.month, '*'],
    ['year', spec.year, '*'],
    ['dayOfWeek', spec.dayOfWeek, '*'],
  ];
  const out: StructuredCalendarSpec = { comment: spec.comment };
  for (const [field, text, fallback] of fields) {
    const expression = text === undefined || text === '' ? fallback : text;
    if (field === 'year' && expression === '*') continue;
    const ranges = parseCalendarField(expression, field);
    if (ranges === undefined) return undefined;
    out[field] = ranges;
  }
  return out;
}

const CRON_MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

export function describeCron(cron: string): string {
  const text = cron.replace(/^(CRON_TZ|TZ)=\S+\s+/, '').trim();
  const every = /^@every\s+(\d+)([smhd])$/.exec(text);
  if (every !== null) {
    const seconds = Number(every[1]) * ({ s: 1, m: 60, h: 3600, d: 86_400 }[every[2] as 's' | 'm' | 'h' | 'd'] ?? 1);
    return describeInterval({ interval: `${seconds}s` });
  }
  const fields = (CRON_MACROS[text] ?? text).split(/\s+/);
  if (fields.length === 5) {
    const [minute, hour, dayOfMonth, month, dayOfWeek] = fields;
    const structured = structuredFromCalendar({ minute, hour, dayOfMonth, month, dayOfWeek });
    if (structured !== undefined) return describeCalendar(structured);
  }
  return `cron "${cron}"`;
}

/** The whole spec in words; the time zone is left to the caller (it is shown beside the words). */
export function describeSpec(spec: ScheduleSpec | undefined): string {
  const parts: string[] = [];
  for (const c of spec?.structuredCalendar ?? []) parts.push(describeCalendar(c));
  for (const c of spec?.calendar ?? []) {
    const structured = structuredFromCalendar(c);
    parts.push(structured === undefined ? `calendar ${JSON.stringify(c)}` : describeCalendar(structured));
  }
  for (const cron of spec?.cronString ?? []) parts.push(describeCron(cron));
  for (const i of spec?.interval ?? []) parts.push(describeInterval(i));
  if (parts.length === 0) return 'no scheduled times (runs only when triggered or backfilled)';
  const excluded = [
    ...(spec?.excludeStructuredCalendar ?? []).map(describeCalendar),
    ...(spec?.excludeCalendar ?? []).map((c) => {
      const structured = structuredFromCalendar(c);
      return structured === undefined ? JSON.stringify(c) : describeCalendar(structured);
    }),
  ];
  return `${parts.join('; ')}${excluded.length > 0 ? `, except ${excluded.join('; ')}` : ''}`;
}

export const OVERLAP_POLICIES: ReadonlyArray<readonly [OverlapPolicy, string, string]> = [
  ['SCHEDULE_OVERLAP_POLICY_SKIP', 'Skip', 'a run due while the previous one is still running is skipped'],
  ['SCHEDULE_OVERLAP_POLICY_BUFFER_ONE', 'Buffer one', 'one run waits for the running one to close; more are skipped'],
  ['SCHEDULE_OVERLAP_POLICY_BUFFER_ALL', 'Buffer all', 'every due run waits its turn'],
  ['SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER', 'Cancel other', 'the running workflow is cancelled, then the new one starts'],
  ['SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER', 'Terminate other', 'the running workflow is terminated, then the new one starts'],
  ['SCHEDULE_OVERLAP_POLICY_ALLOW_ALL', 'Allow all', 'runs start regardless of those still running'],
];

/** The policy's name and what it does; unspecified is Skip, the server's default. */
export function overlapPolicyText(policy: OverlapPolicy | undefined): { name: string; meaning: string } {
  const found = OVERLAP_POLICIES.find(([p]) => p === policy);
  if (found !== undefined) return { name: found[1], meaning: found[2] };
  const skip = OVERLAP_POLICIES[0];
  return { name: `${skip?.[1] ?? 'Skip'} (default)`, meaning: skip?.[2] ?? '' };
}
