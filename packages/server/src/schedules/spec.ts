// A schedule's spec (temporal.api.schedule.v1.ScheduleSpec): validation, canonical form and the
// search for its next time, as Temporal's frontend and scheduler do them (temporalio/temporal
// service/worker/scheduler/{spec,calendar}.go, frontend canonicalizeScheduleSpec + CleanSpec).
// Canonical form: calendar strings and cron strings become structured calendars (`@every` crons
// intervals), a CRON_TZ= prefix becomes timezone_name, and every range has its end and step filled.
// All times are whole seconds, as in Temporal; jitter is hashed exactly as Temporal hashes it, so a
// schedule fires at the same jittered times on both servers for the same seed.
import type { google, temporal } from '@temporalio/proto';
import { durationToMs, timestampToMs, toNumber, type LongLike, type Loose } from '@kairos/common';
import { InvalidArgumentError } from '../errors.js';
import { CalendarMatcher, loadZone, MAX_YEAR, MIN_YEAR, SpecError, type Range, type Structured } from './calendar-matcher.js';
import { farmFingerprint32 } from './farmhash.js';

export type ISpec = Loose<temporal.api.schedule.v1.IScheduleSpec>;
type Calendar = Loose<temporal.api.schedule.v1.ICalendarSpec>;
type Interval = Loose<temporal.api.schedule.v1.IIntervalSpec>;
type Duration = Loose<google.protobuf.IDuration>;

export interface SpecTime { readonly nominalMs: number; readonly actualMs: number }
export interface CompiledSpec {
  /** The first nominal time strictly after `afterMs` that the spec matches (union of calendars and intervals, minus exclusions, within start_time..end_time), with its jittered actual time; null when there is none. */
  next(afterMs: number): SpecTime | null;
}
export interface CompileOptions {
  /**
   * How many candidate times one `next()` may look at (all but the last excluded) before it gives
   * up and answers null, as Temporal's scheduler does (dynamic config scheduler.specMaxIterations,
   * default two weeks of seconds).
   */
  readonly maxIterations?: number;
}

const MAX_COMMENT = 200;
const DEFAULT_MAX_ITERATIONS = 2 * 7 * 24 * 60 * 60;
const NS_PER_S = 1_000_000_000n;
const INT64_MAX = (1n << 63n) - 1n;
const TWO_63 = 1n << 63n;


/** Validates a spec as Temporal's frontend/scheduler does and returns its canonical form, as Temporal's DescribeSchedule returns it. */
export function canonicalizeSpec(spec: ISpec): ISpec {
  try {
    return canonicalize(spec);
  } catch (err) {
    if (err instanceof SpecError) throw new InvalidArgumentError(`Invalid schedule spec: ${err.message}`);
    throw err;
  }
}

function canonicalize(spec: ISpec): ISpec {
  for (const iv of spec.interval ?? []) {
    if (iv?.interval) checkProtoDuration(iv.interval, 'interval');
    if (iv?.phase) checkProtoDuration(iv.phase, 'phase');
  }
  const structured = [...(spec.structuredCalendar ?? [])];
  const excludes = [...(spec.excludeStructuredCalendar ?? [])];
  const intervals = [...(spec.interval ?? [])];
  for (const cal of spec.calendar ?? []) structured.push(parseCalendar(cal));
  for (const cal of spec.excludeCalendar ?? []) excludes.push(parseCalendar(cal));
  // All cron strings must agree on the time zone, including on having none.
  let cronTz: string | undefined;
  for (const cron of spec.cronString ?? []) {
    const parsed = parseCronString(cron);
    if (cronTz !== undefined && parsed.tz !== cronTz) throw new SpecError('conflicting timezone names');
    cronTz = parsed.tz;
    if (parsed.calendar) structured.push(parsed.calendar);
    if (parsed.interval) intervals.push(parsed.interval);
  }
  let timezoneName = spec.timezoneName ?? '';
  const hasTzData = (spec.timezoneData?.length ?? 0) > 0;
  if (cronTz) {
    if ((timezoneName !== '' && timezoneName !== cronTz) || hasTzData) throw new SpecError('conflicting timezone names');
    timezoneName = cronTz;
  }
  for (const cal of structured) validateStructured(cal);
  for (const iv of intervals) validateInterval(iv);
  if (hasTzData) throw new SpecError('timezone_data is not supported by this server; use timezone_name');
  loadZone(timezoneName);

  const out: ISpec = { ...spec };
  delete out.calendar;
  delete out.excludeCalendar;
  delete out.cronString;
  setList(out, 'structuredCalendar', structured.map(cleanCalendar));
  setList(out, 'excludeStructuredCalendar', excludes.map(cleanCalendar));
  setList(out, 'interval', intervals);
  if (timezoneName !== '') out.timezoneName = timezoneName;
  return out;
}

function setList<K extends 'structuredCalendar' | 'excludeStructuredCalendar' | 'interval'>(out: ISpec, key: K, list: NonNullable<ISpec[K]>): void {
  if (list.length > 0) out[key] = list;
  else delete out[key];
}

const CALENDAR_FIELDS = ['second', 'minute', 'hour', 'dayOfMonth', 'month', 'year', 'dayOfWeek'] as const;

/** Temporal's CleanSpec, applied by DescribeSchedule: `end` below `start` becomes `start`, `step` 0 becomes 1. */
function cleanCalendar(cal: Structured): Structured {
  const out: Structured = {};
  for (const field of CALENDAR_FIELDS) {
    out[field] = (cal[field] ?? []).map((r) => {
      const start = r?.start ?? 0;
      return { start, end: Math.max(r?.end ?? 0, start), step: r?.step || 1 };
    });
  }
  if (cal.comment) out.comment = cal.comment;
  return out;
}

function validateStructured(cal: Structured): void {
  const errs: string[] = [];
  const check = (ranges: Array<Range | null> | null | undefined, field: string, min: number, max: number) => {
    for (const r of ranges ?? []) {
      if (!r) {
        errs.push('range is nil');
        continue;
      }
      const start = r.start ?? 0;
      const end = r.end ?? 0;
      if (start < min || start > max) errs.push(`${field} Start is not in range [${min}-${max}]`);
      if (end !== 0 && (end < start || end > max)) errs.push(`${field} End is before Start or not in range [${min}-${max}]`);
      if ((r.step ?? 0) < 0) errs.push(`${field} has invalid Step`);
    }
  };
  check(cal.second, 'Second', 0, 59);
  check(cal.minute, 'Minute', 0, 59);
  check(cal.hour, 'Hour', 0, 23);
  check(cal.dayOfMonth, 'DayOfMonth', 1, 31);
  check(cal.month, 'Month', 1, 12);
  check(cal.year, 'Year', MIN_YEAR, MAX_YEAR);
  check(cal.dayOfWeek, 'DayOfWeek', 0, 6);
  if ((cal.comment ?? '').length > MAX_COMMENT) errs.push('comment is too long');
  if (errs.length > 0) throw new SpecError(`invalid calendar spec: ${errs.join(', ')}`);
}

function validateInterval(iv: Interval | null): void {
  if (!iv) throw new SpecError('interval is nil');
  const interval = goDuration(iv.interval);
  const phase = goDuration(iv.phase);
  if (interval < NS_PER_S) throw new SpecError('interval is too small');
  if (phase < 0n) throw new SpecError('phase is negative');
  if (phase >= interval) throw new SpecError('phase cannot be greater than Interval');
}

/** google.protobuf.Duration.CheckValid, as the frontend applies it to intervals and phases. */
function checkProtoDuration(d: Duration, what: string): void {
  const seconds = toNumber(d.seconds as LongLike);
  const nanos = d.nanos ?? 0;
  const text = `seconds:${seconds} nanos:${nanos}`;
  let problem: string | undefined;
  if (seconds < -315576000000) problem = `duration (${text}) exceeds -10000 years`;
  else if (seconds > 315576000000) problem = `duration (${text}) exceeds +10000 years`;
  else if (nanos <= -1e9 || nanos >= 1e9) problem = `duration (${text}) has out-of-range nanos`;
  else if ((seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) problem = `duration (${text}) has seconds and nanos with different signs`;
  if (problem) throw new SpecError(`${what} is not a valid duration: proto: ${problem}`);
}

/** A proto Duration as Go's time.Duration (nanoseconds, saturating at ±292 years); nil is 0. */
function goDuration(d: Duration | null | undefined): bigint {
  if (!d) return 0n;
  const ns = BigInt(Math.trunc(toNumber(d.seconds as LongLike))) * NS_PER_S + BigInt(d.nanos ?? 0);
  return ns > INT64_MAX ? INT64_MAX : ns < -INT64_MAX - 1n ? -INT64_MAX - 1n : ns;
}

function nsToDuration(ns: bigint): { seconds: number; nanos: number } {
  return { seconds: Number(ns / NS_PER_S), nanos: Number(ns % NS_PER_S) };
}

// ---- calendar and cron strings -------------------------------------------------------------

const Mode = { Int: 0, Year: 1, Month: 2, Dow: 3 } as const;
type Mode = (typeof Mode)[keyof typeof Mode];
const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

/** A CalendarSpec's strings as a structured calendar; absent fields take Temporal's defaults. */
function parseCalendar(cal: Calendar): Structured {
  const errs: string[] = [];
  const field = (text: string | null | undefined, name: string, def: string, min: number, max: number, mode: Mode): Range[] => {
    try {
      return makeRange(text ?? '', name, def, min, max, mode);
    } catch (err) {
      if (!(err instanceof SpecError)) throw err;
      errs.push(err.message);
      return [];
    }
  };
  const out: Structured = {
    second: field(cal.second, 'Second', '0', 0, 59, Mode.Int),
    minute: field(cal.minute, 'Minute', '0', 0, 59, Mode.Int),
    hour: field(cal.hour, 'Hour', '0', 0, 23, Mode.Int),
    dayOfWeek: field(cal.dayOfWeek, 'DayOfWeek', '*', 0, 7, Mode.Dow),
    dayOfMonth: field(cal.dayOfMonth, 'DayOfMonth', '*', 1, 31, Mode.Int),
    month: field(cal.month, 'Month', '*', 1, 12, Mode.Month),
    year: field(cal.year, 'Year', '*', MIN_YEAR, MAX_YEAR, Mode.Year),
    comment: cal.comment ?? '',
  };
  if (errs.length > 0) throw new SpecError(errs.join(', '));
  return out;
}

/**
 * One field's text ("*", "x", "x-z", "x-z/y", "x/y", comma lists, month and weekday names) as
 * ranges. A weekday 7 is Sunday: it is folded into 0, which may need an extra range (3-7 is 0,3-6).
 */
function makeRange(text: string, field: string, def: string, min: number, max: number, mode: Mode): Range[] {
  let s = text.trim();
  if (s === '') s = def;
  if (s === '*' && mode === Mode.Year) return []; // every year is the empty list
  const ranges: Range[] = [];
  for (let part of s.split(',')) {
    let step = 1;
    let hasStep = false;
    const slash = part.split('/');
    if (slash.length > 2) throw new SpecError(`${field} has too many slashes`);
    if (slash.length === 2) {
      if (slash[1] === '') throw new SpecError(`${field} missing step value`);
      part = slash[0]!;
      step = atoi(slash[1]!);
      if (step < 1) throw new SpecError(`${field} has invalid Step`);
      hasStep = true;
    }
    let start = min;
    let end = max;
    if (part !== '*') {
      const dash = part.split('-');
      if (dash.length > 2) throw new SpecError(`${field} has too many dashes`);
      if (dash.length === 2) {
        const first = parseValue(dash[0]!, min, max, mode);
        if (first === undefined) throw new SpecError(`${field} Start is not in range [${min}-${max}]`);
        const last = parseValue(dash[1]!, first, max, mode);
        if (last === undefined) throw new SpecError(`${field} End is before Start or not in range [${min}-${max}]`);
        [start, end] = [first, last];
      } else {
        const value = parseValue(part, min, max, mode);
        if (value === undefined) throw new SpecError(`${field} is not in range [${min}-${max}]`);
        start = value;
        if (!hasStep) end = value; // "x/y" runs from x to the maximum
      }
    }
    if (mode === Mode.Dow && end === 7) {
      if ((7 - start) % step === 0 && (step > 1 || start > 1)) {
        ranges.push({ start: 0 });
        if (start === 7) continue;
      }
      end = 6;
    }
    ranges.push({ start, end: start === end ? 0 : end, step: step === 1 ? 0 : step });
  }
  return ranges;
}

/** One value: decimal, or a month name prefix (3+ letters) or weekday name prefix (2+ letters). */
function parseValue(s: string, min: number, max: number, mode: Mode): number | undefined {
  const names = mode === Mode.Month ? MONTHS : mode === Mode.Dow ? DAYS : undefined;
  if (names && s.length >= (mode === Mode.Month ? 3 : 2)) {
    const index = names.findIndex((name) => name.startsWith(s.toLowerCase()));
    if (index >= 0) {
      const value = mode === Mode.Month ? index + 1 : index;
      return value < min || value > max ? undefined : value;
    }
  }
  let value: number;
  try {
    value = atoi(s);
  } catch {
    return undefined;
  }
  return value < min || value > max ? undefined : value;
}

/** Go's strconv.Atoi. */
function atoi(s: string): number {
  if (!/^[+-]?[0-9]+$/.test(s)) throw new SpecError(`strconv.Atoi: parsing "${s}": invalid syntax`);
  const n = BigInt(s);
  if (n > INT64_MAX || n < -INT64_MAX - 1n) throw new SpecError(`strconv.Atoi: parsing "${s}": value out of range`);
  return Number(n);
}

const NICKNAMES = new Map([
  ['@yearly', '0 0 1 1 *'], ['@annually', '0 0 1 1 *'], ['@monthly', '0 0 1 * *'], ['@weekly', '0 0 * * 0'],
  ['@daily', '0 0 * * *'], ['@midnight', '0 0 * * *'], ['@hourly', '0 * * * *'],
]);

/**
 * A cron string: `[CRON_TZ=zone] fields [# comment]` with 5 fields (minute hour day-of-month month
 * day-of-week), 6 (then year) or 7 (second first, then those six); `@hourly`-style nicknames;
 * `@every <duration>[/<phase>]`, which is an interval (and keeps no time zone, as in Temporal).
 */
function parseCronString(cron: string): { calendar?: Structured; interval?: Interval; tz: string } {
  let c = cron.trim();
  let tz = '';
  if (c.startsWith('TZ=') || c.startsWith('CRON_TZ=')) {
    const space = c.indexOf(' ');
    if (space < 0) throw new SpecError('CronString has time zone but missing fields');
    tz = c.slice(c.indexOf('=') + 1, space);
    c = c.slice(space + 1);
  }
  const hash = c.indexOf('#');
  const comment = hash < 0 ? '' : c.slice(hash + 1).trim();
  c = (hash < 0 ? c : c.slice(0, hash)).trim();
  if (c.startsWith('@every')) {
    const space = c.indexOf(' ');
    if (space < 0) throw new SpecError('CronString does not have interval after @every');
    const [every, phase = ''] = splitOnce(c.slice(space + 1), '/');
    const interval: Interval = { interval: nsToDuration(parseDuration(every)) };
    if (phase !== '') interval.phase = nsToDuration(parseDuration(phase));
    return { interval, tz: '' };
  }
  const f = (NICKNAMES.get(c) ?? c).split(/\s+/).filter((t) => t !== '');
  let cal: Calendar;
  if (f.length === 5) cal = { minute: f[0], hour: f[1], dayOfMonth: f[2], month: f[3], dayOfWeek: f[4] };
  else if (f.length === 6) cal = { minute: f[0], hour: f[1], dayOfMonth: f[2], month: f[3], dayOfWeek: f[4], year: f[5] };
  else if (f.length === 7) cal = { second: f[0], minute: f[1], hour: f[2], dayOfMonth: f[3], month: f[4], dayOfWeek: f[5], year: f[6] };
  else throw new SpecError('CronString does not have 5-7 fields');
  return { calendar: parseCalendar({ ...cal, comment }), tz };
}

function splitOnce(s: string, sep: string): [string, string?] {
  const i = s.indexOf(sep);
  return i < 0 ? [s] : [s.slice(0, i), s.slice(i + 1)];
}

const UNIT_NS = new Map([
  ['ns', 1n], ['us', 1000n], ['µs', 1000n], ['μs', 1000n], ['ms', 1_000_000n], ['s', NS_PER_S], ['m', 60n * NS_PER_S], ['h', 3600n * NS_PER_S],
]);

/** Temporal's timestamp.ParseDuration: Go's time.ParseDuration plus `d` for 24 hours. In nanoseconds. */
export function parseDuration(text: string): bigint {
  const orig = text.replace(/(\d+(\.\d*)?|(\.\d+))d/g, (v) => `${(24 * Number.parseFloat(v.slice(0, -1))).toFixed(6)}h`);
  const invalid = () => new SpecError(`time: invalid duration ${JSON.stringify(orig)}`);
  let s = orig;
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') throw invalid();
  let total = 0n;
  while (s !== '') {
    const [number, whole = '', frac] = /^([0-9]*)(?:\.([0-9]*))?/.exec(s)!;
    if (whole === '' && !frac) throw invalid(); // no digits, as in ".s"
    s = s.slice(number.length);
    const unit = /^[^0-9.]*/.exec(s)![0];
    if (unit === '') throw new SpecError(`time: missing unit in duration ${JSON.stringify(orig)}`);
    s = s.slice(unit.length);
    const scale = UNIT_NS.get(unit);
    if (scale === undefined) throw new SpecError(`time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(orig)}`);
    let v = BigInt(whole || '0');
    if (v > TWO_63 || v > TWO_63 / scale) throw invalid();
    v *= scale;
    // Go keeps the fraction's digits while they fit in 63 bits and scales them through float64.
    let f = 0n;
    let fscale = 1;
    for (const digit of frac ?? '') {
      const next = f * 10n + BigInt(digit);
      if (f > INT64_MAX / 10n || next > TWO_63) break;
      [f, fscale] = [next, fscale * 10];
    }
    if (f > 0n) v += BigInt(Math.trunc(Number(f) * (Number(scale) / fscale)));
    if (v > TWO_63) throw invalid();
    total += v;
    if (total > TWO_63) throw invalid();
  }
  if (!neg && total > INT64_MAX) throw invalid();
  return neg ? -total : total;
}

// ---- the whole spec ------------------------------------------------------------------------

/** Compiles a spec (canonicalizing it first, which is idempotent); `jitterSeed` makes the jitter deterministic per schedule. */
export function compileSpec(spec: ISpec, jitterSeed: string, options: CompileOptions = {}): CompiledSpec {
  const canonical = canonicalizeSpec(spec);
  const zone = loadZone(canonical.timezoneName ?? '');
  const calendars = (canonical.structuredCalendar ?? []).map((c) => new CalendarMatcher(c, zone));
  const excludes = (canonical.excludeStructuredCalendar ?? []).map((c) => new CalendarMatcher(c, zone));
  const intervals = (canonical.interval ?? []).map((iv) => ({
    every: Math.max(Number(goDuration(iv.interval) / NS_PER_S), 1),
    phase: Math.max(Number(goDuration(iv.phase) / NS_PER_S), 0),
  }));
  const startMs = timestampToMs(canonical.startTime) ?? 0;
  const endMs = timestampToMs(canonical.endTime);
  const jitterMs = Math.trunc(durationToMs(canonical.jitter));
  const maxIterations = options.maxIterations ?? DEFAULT_MAX_ITERATIONS;
  const seed = new TextEncoder().encode(jitterSeed);

  /** The earliest time any calendar or interval matches after `after`, ignoring exclusions and bounds. */
  const rawNext = (after: number): number | null => {
    let best = Number.POSITIVE_INFINITY;
    for (const cal of calendars) best = Math.min(best, cal.next(after) ?? best);
    for (const iv of intervals) best = Math.min(best, (Math.trunc((after - iv.phase) / iv.every) + 1) * iv.every + iv.phase);
    return best === Number.POSITIVE_INFINITY ? null : best;
  };
  const pastEnd = (sec: number) => (endMs !== undefined && sec * 1000 > endMs) || new Date(sec * 1000).getUTCFullYear() > MAX_YEAR;

  return {
    next(afterMs) {
      // Starting before start_time: jump to just before it, so its first second can still match.
      let after = Math.floor(Math.max(afterMs, startMs - 1000) / 1000);
      let nominal: number;
      for (let i = 0; ; i++) {
        if (i >= maxIterations) return null;
        const candidate = rawNext(after);
        if (candidate === null || pastEnd(candidate)) return null;
        nominal = after = candidate;
        if (!excludes.some((ex) => ex.matches(candidate))) break;
      }
      // Jitter never pushes a time past the next nominal time (exclusions and bounds aside).
      let maxJitter = jitterMs;
      const following = rawNext(nominal);
      if (following !== null) maxJitter = Math.min(maxJitter, (following - nominal) * 1000);
      return { nominalMs: nominal * 1000, actualMs: nominal * 1000 + jitterFor(seed, nominal, maxJitter) };
    },
  };
}

/**
 * Temporal's jitter: farmhash Fingerprint32 of the nominal time's Go binary encoding (UTC) followed
 * by the seed, scaled into [0, maxJitterMs) milliseconds.
 */
function jitterFor(seed: Uint8Array, nominalSec: number, maxJitterMs: number): number {
  const ms = BigInt(Math.min(Math.max(maxJitterMs, 0), 0xffffffff));
  const bytes = new Uint8Array(15 + seed.length);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, 1); // time.Time binary format version 1
  view.setBigInt64(1, BigInt(nominalSec) + 62135596800n); // seconds since January 1, year 1
  view.setInt32(9, 0); // nanoseconds
  view.setInt16(13, -1); // zone offset in minutes; -1 is UTC
  bytes.set(seed, 15);
  return Number((BigInt(farmFingerprint32(bytes)) * ms) >> 32n);
}
