// Expected values come from Temporal's own tests (service/worker/scheduler/{spec,calendar}_test.go),
// including the exact jittered times, and from the official TypeScript SDK's schedule tests
// (packages/test/src/test-schedules.ts), decoded through the SDK's own helpers.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { temporal } from '@kairos/common';
import { decodeScheduleSpec, encodeScheduleSpec } from '@temporalio/client/lib/schedule-helpers.js';
import type { CalendarSpec, CalendarSpecDescription, ScheduleSpec } from '@temporalio/client';
import { InvalidArgumentError } from '../errors.js';
import { canonicalizeSpec, compileSpec, parseDuration, type ISpec } from './spec.js';
import { farmFingerprint32 } from './farmhash.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();
const hours = (n: number) => ({ seconds: n * 3600 });
const minutes = (n: number) => ({ seconds: n * 60 });

/** Like Temporal's checkSequenceFull: each search starts from the previous answer's actual time. */
function sequence(spec: ISpec, start: string, count: number, seed = ''): Array<string | null> {
  const compiled = compileSpec(spec, seed);
  const out: Array<string | null> = [];
  let t = at(start);
  for (let i = 0; i < count; i++) {
    const next = compiled.next(t);
    out.push(next && iso(next.actualMs));
    if (!next) break;
    t = next.actualMs;
  }
  return out;
}
const utc = (...times: string[]) => times.map((t) => iso(at(t)));

/** The canonical structured calendar with Temporal's defaults, overridden per field. */
function structured(fields: Record<string, Array<{ start: number; end?: number; step?: number }>> = {}, comment?: string) {
  const filled = (ranges: Array<{ start: number; end?: number; step?: number }>) =>
    ranges.map((r) => ({ start: r.start, end: Math.max(r.end ?? 0, r.start), step: r.step || 1 }));
  const base = { second: [{ start: 0 }], minute: [{ start: 0 }], hour: [{ start: 0 }], dayOfMonth: [{ start: 1, end: 31 }], month: [{ start: 1, end: 12 }], year: [], dayOfWeek: [{ start: 0, end: 6 }], ...fields };
  const out = Object.fromEntries(Object.entries(base).map(([k, v]) => [k, filled(v)]));
  return comment ? { ...out, comment } : out;
}

function invalid(spec: ISpec): string {
  try {
    canonicalizeSpec(spec);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return (err as Error).message;
  }
  throw new Error('expected the spec to be rejected');
}

describe('canonicalizeSpec', () => {
  it('leaves an empty spec empty and turns @every into an interval', () => {
    expect(canonicalizeSpec({})).toEqual({});
    expect(canonicalizeSpec({ cronString: ['@every 43h'] })).toEqual({ interval: [{ interval: { seconds: 43 * 3600, nanos: 0 } }] });
    expect(canonicalizeSpec({ cronString: ['@every 5d'] })).toEqual({ interval: [{ interval: { seconds: 5 * 86400, nanos: 0 } }] });
    expect(canonicalizeSpec({ cronString: ['@every 5h/45m'] })).toEqual({
      interval: [{ interval: { seconds: 5 * 3600, nanos: 0 }, phase: { seconds: 45 * 60, nanos: 0 } }],
    });
    expect(canonicalizeSpec({ cronString: ['@every 1.5s'] })).toEqual({ interval: [{ interval: { seconds: 1, nanos: 500_000_000 } }] });
  });

  it('fills calendar defaults: second/minute/hour 0, day of month/month/day of week every value, any year', () => {
    expect(canonicalizeSpec({ calendar: [{ hour: '5,7', minute: '23' }] })).toEqual({
      structuredCalendar: [structured({ minute: [{ start: 23 }], hour: [{ start: 5 }, { start: 7 }] })],
    });
    expect(canonicalizeSpec({ calendar: [{}] })).toEqual({ structuredCalendar: [structured()] });
  });

  it('reads cron strings of 5, 6 (year last) and 7 (seconds first) fields, names, comments and nicknames', () => {
    expect(canonicalizeSpec({ cronString: ['5,9 */2 * * *'] }).structuredCalendar).toEqual([
      structured({ minute: [{ start: 5 }, { start: 9 }], hour: [{ start: 0, end: 23, step: 2 }] }),
    ]);
    expect(canonicalizeSpec({ cronString: ['CRON_TZ=US/Pacific 55 55,57 5 2/2 * wed-thurs *  # explanation'] })).toEqual({
      structuredCalendar: [
        structured(
          { second: [{ start: 55 }], minute: [{ start: 55 }, { start: 57 }], hour: [{ start: 5 }], dayOfMonth: [{ start: 2, end: 31, step: 2 }], dayOfWeek: [{ start: 3, end: 4 }] },
          'explanation',
        ),
      ],
      timezoneName: 'US/Pacific',
    });
    expect(canonicalizeSpec({ cronString: ['@monthly'] }).structuredCalendar).toEqual([structured({ dayOfMonth: [{ start: 1 }] })]);
    expect(canonicalizeSpec({ cronString: ['@yearly'] }).structuredCalendar).toEqual([structured({ dayOfMonth: [{ start: 1 }], month: [{ start: 1 }] })]);
    expect(canonicalizeSpec({ cronString: ['0 12 * JAN-mar 0 2030-2032'] }).structuredCalendar).toEqual([
      structured({ hour: [{ start: 12 }], month: [{ start: 1, end: 3 }], dayOfWeek: [{ start: 0 }], year: [{ start: 2030, end: 2032 }] }),
    ]);
    expect(invalid({ cronString: ['0 1 2 3 4 1999'] })).toMatch(/Year is not in range/);
  });

  it('reads range syntax as Temporal does, folding weekday 7 into Sunday', () => {
    const field = (dayOfWeek: string) => canonicalizeSpec({ calendar: [{ dayOfWeek }] }).structuredCalendar![0]!.dayOfWeek;
    expect(field('mon-Friday')).toEqual([{ start: 1, end: 5, step: 1 }]);
    expect(field('7')).toEqual([{ start: 0, end: 0, step: 1 }]);
    expect(field('0-7')).toEqual([{ start: 0, end: 6, step: 1 }]);
    expect(field('3-7')).toEqual([{ start: 0, end: 0, step: 1 }, { start: 3, end: 6, step: 1 }]);
    expect(field('1-7/2')).toEqual([{ start: 0, end: 0, step: 1 }, { start: 1, end: 6, step: 2 }]);
    expect(field('3-7/3')).toEqual([{ start: 3, end: 6, step: 3 }]);
    const hour = (text: string) => canonicalizeSpec({ calendar: [{ hour: text }] }).structuredCalendar![0]!.hour;
    expect(hour('2-6/4,7-8')).toEqual([{ start: 2, end: 6, step: 4 }, { start: 7, end: 8, step: 1 }]);
    expect(hour('2/3')).toEqual([{ start: 2, end: 23, step: 3 }]);
    expect(canonicalizeSpec({ calendar: [{ month: 'Sept' }] }).structuredCalendar![0]!.month).toEqual([{ start: 9, end: 9, step: 1 }]);
    expect(canonicalizeSpec({ calendar: [{ year: '2020-2022,2024' }] }).structuredCalendar![0]!.year).toEqual([{ start: 2020, end: 2022, step: 1 }, { start: 2024, end: 2024, step: 1 }]);
  });

  it('takes the time zone of cron strings, which must agree with each other and with the spec', () => {
    const base = { jitter: minutes(5), startTime: { seconds: at('2022-03-23T00:00:00Z') / 1000 } };
    const london = structured({ minute: [{ start: 23 }], hour: [{ start: 5 }, { start: 7 }] });
    expect(canonicalizeSpec({ ...base, cronString: ['23 5,7 * * *'], timezoneName: 'Europe/London' })).toEqual({ ...base, structuredCalendar: [london], timezoneName: 'Europe/London' });
    expect(canonicalizeSpec({ cronString: ['CRON_TZ=Europe/London 23 5,7 * * *'], timezoneName: 'Europe/London' })).toEqual({ structuredCalendar: [london], timezoneName: 'Europe/London' });
    expect(canonicalizeSpec({ cronString: ['TZ=Europe/London 23 5,7 * * *'] }).timezoneName).toBe('Europe/London');
    const conflict = 'Invalid schedule spec: conflicting timezone names';
    expect(invalid({ cronString: ['CRON_TZ=America/New_York 23 5,7 * * *'], timezoneName: 'Europe/London' })).toBe(conflict);
    expect(invalid({ cronString: ['CRON_TZ=Europe/London 23 5,7 * * *', 'CRON_TZ=America/New_York 23 5,7 * * *'] })).toBe(conflict);
    expect(invalid({ cronString: ['CRON_TZ=Europe/London 23 5,7 * * *', '23 5,7 * * *'] })).toBe(conflict);
    expect(invalid({ cronString: ['23 5,7 * * *', 'CRON_TZ=Europe/London 23 5,7 * * *'] })).toBe(conflict);
  });

  it('fills end and step of structured ranges (DescribeSchedule) and keeps exclusions', () => {
    expect(canonicalizeSpec({
      structuredCalendar: [{ hour: [{ start: 4, end: 0, step: 2 }] }],
      excludeCalendar: [{ dayOfWeek: 'sat,sun' }],
    })).toEqual({
      structuredCalendar: [{ second: [], minute: [], hour: [{ start: 4, end: 4, step: 2 }], dayOfMonth: [], month: [], year: [], dayOfWeek: [] }],
      excludeStructuredCalendar: [structured({ dayOfWeek: [{ start: 6 }, { start: 0 }] })],
    });
  });

  it('is idempotent, so a stored canonical spec canonicalizes to itself', () => {
    const spec: ISpec = {
      cronString: ['CRON_TZ=Asia/Tokyo 0 9 * * MON-FRI # weekdays', 'CRON_TZ=Asia/Tokyo 0 0 1 * *'],
      interval: [{ interval: minutes(90), phase: minutes(5) }],
      calendar: [{ hour: '*/6', dayOfWeek: '3-7' }],
      excludeCalendar: [{ month: 'dec', dayOfMonth: '25' }],
      jitter: minutes(1),
    };
    const once = canonicalizeSpec(spec);
    expect(canonicalizeSpec(once)).toEqual(once);
    expect(once.timezoneName).toBe('Asia/Tokyo');
    // An @every cron has no time zone of its own, so it disagrees with one that has (as in Temporal).
    expect(invalid({ cronString: ['CRON_TZ=Asia/Tokyo 0 9 * * *', '@every 90m'] })).toBe('Invalid schedule spec: conflicting timezone names');
  });

  it('rejects bad ranges with Temporal\'s messages', () => {
    const bad: ISpec['structuredCalendar'] = [
      { second: [{ start: 100 }] }, { second: [{ start: -3 }] }, { second: [{ start: 30, end: 60 }] }, { second: [{ start: 30, end: 40, step: -3 }] },
      { minute: [{ start: 60 }] }, { hour: [{ start: 0, end: 24 }] }, { hour: [{ start: 24, end: 26 }] }, { hour: [{ start: 16, end: 12 }] },
      { dayOfMonth: [{ start: 0 }] }, { dayOfMonth: [{ end: 33 }] }, { month: [{ start: 0 }] }, { month: [{ end: 13 }] },
      { dayOfWeek: [{ start: 7 }] }, { dayOfWeek: [{ start: 6, end: 7 }] }, { year: [{ start: 1999 }] }, { year: [{ start: 2112 }] },
    ];
    for (const cal of bad!) expect(invalid({ structuredCalendar: [cal] })).toMatch(/^Invalid schedule spec: invalid calendar spec: /);
    expect(invalid({ structuredCalendar: [{ hour: [{ start: 16, end: 12 }], second: [{ start: 30, end: 40, step: -3 }] }] })).toBe(
      'Invalid schedule spec: invalid calendar spec: Second has invalid Step, Hour End is before Start or not in range [0-23]',
    );
    expect(invalid({ calendar: [{ hour: '18-13' }] })).toBe('Invalid schedule spec: Hour End is before Start or not in range [0-23]');
    expect(invalid({ calendar: [{ minute: '133' }] })).toBe('Invalid schedule spec: Minute is not in range [0-59]');
    expect(invalid({ calendar: [{ minute: '13,18,44,' }] })).toBe('Invalid schedule spec: Minute is not in range [0-59]');
    expect(invalid({ calendar: [{ minute: '2/3/5' }] })).toBe('Invalid schedule spec: Minute has too many slashes');
    expect(invalid({ calendar: [{ minute: '5/' }] })).toBe('Invalid schedule spec: Minute missing step value');
    expect(invalid({ calendar: [{ minute: '5/0' }] })).toBe('Invalid schedule spec: Minute has invalid Step');
    expect(invalid({ calendar: [{ dayOfWeek: '1-5-7' }] })).toBe('Invalid schedule spec: DayOfWeek has too many dashes');
    expect(invalid({ calendar: [{ dayOfWeek: 'Fri-Tues' }, { dayOfWeek: 'monday-' }] })).toMatch(/DayOfWeek End is before Start/);
    expect(invalid({ calendar: [{ hour: '25', minute: 'x' }] })).toBe('Invalid schedule spec: Minute is not in range [0-59], Hour is not in range [0-23]');
    expect(invalid({ calendar: [{ comment: 'x'.repeat(201) }] })).toBe('Invalid schedule spec: invalid calendar spec: comment is too long');
  });

  it('rejects bad cron strings, intervals and time zones', () => {
    expect(invalid({ cronString: ['* * * *'] })).toBe('Invalid schedule spec: CronString does not have 5-7 fields');
    expect(invalid({ cronString: ['* * * * * * * *'] })).toBe('Invalid schedule spec: CronString does not have 5-7 fields');
    expect(invalid({ cronString: ['CRON_TZ=UTC'] })).toBe('Invalid schedule spec: CronString has time zone but missing fields');
    expect(invalid({ cronString: ['@every'] })).toBe('Invalid schedule spec: CronString does not have interval after @every');
    expect(invalid({ cronString: ['@every 5x'] })).toBe('Invalid schedule spec: time: unknown unit "x" in duration "5x"');
    expect(invalid({ cronString: ['@every 5'] })).toBe('Invalid schedule spec: time: missing unit in duration "5"');
    expect(invalid({ cronString: ['@every 500ms'] })).toBe('Invalid schedule spec: interval is too small');
    expect(invalid({ interval: [{ interval: hours(-43) }] })).toBe('Invalid schedule spec: interval is too small');
    expect(invalid({ interval: [{}] })).toBe('Invalid schedule spec: interval is too small');
    expect(invalid({ interval: [{ interval: hours(3), phase: hours(4) }] })).toBe('Invalid schedule spec: phase cannot be greater than Interval');
    expect(invalid({ interval: [{ interval: hours(3), phase: hours(3) }] })).toBe('Invalid schedule spec: phase cannot be greater than Interval');
    expect(invalid({ interval: [{ interval: hours(3), phase: { seconds: -1 } }] })).toBe('Invalid schedule spec: phase is negative');
    expect(invalid({ interval: [{ interval: { seconds: 5, nanos: -1 } }] })).toBe(
      'Invalid schedule spec: interval is not a valid duration: proto: duration (seconds:5 nanos:-1) has seconds and nanos with different signs',
    );
    expect(invalid({ timezoneName: 'Mars/Olympus_Mons' })).toBe('Invalid schedule spec: unknown time zone Mars/Olympus_Mons');
    expect(invalid({ timezoneName: 'america/new_york' })).toBe('Invalid schedule spec: unknown time zone america/new_york');
    expect(invalid({ timezoneName: '../etc/passwd' })).toBe('Invalid schedule spec: time: invalid location name');
    expect(canonicalizeSpec({ timezoneName: 'America/New_York' })).toEqual({ timezoneName: 'America/New_York' });
  });

  it('parses durations as Go does, plus days', () => {
    expect(parseDuration('1h30m')).toBe(5400n * 1_000_000_000n);
    expect(parseDuration('1.5h')).toBe(5400n * 1_000_000_000n);
    expect(parseDuration('.5d')).toBe(12n * 3600n * 1_000_000_000n);
    expect(parseDuration('-1m')).toBe(-60n * 1_000_000_000n);
    expect(parseDuration('1µs1ns')).toBe(1001n);
    expect(parseDuration('0')).toBe(0n);
    expect(() => parseDuration('')).toThrow('time: invalid duration ""');
    expect(() => parseDuration('.s')).toThrow('time: invalid duration ".s"');
    expect(() => parseDuration('9999999999h')).toThrow('time: invalid duration');
  });
});

describe('described through the official client', () => {
  /** What the SDK's ScheduleHandle.describe() shows for a schedule the SDK created with `spec`. */
  function described(spec: ScheduleSpec) {
    const codec = temporal.api.schedule.v1.ScheduleSpec;
    const request = codec.decode(codec.encode(encodeScheduleSpec(spec)).finish());
    const response = codec.encode(canonicalizeSpec(request) as Parameters<typeof codec.encode>[0]).finish();
    return decodeScheduleSpec(codec.decode(response));
  }
  const defaults: CalendarSpecDescription = {
    second: [{ start: 0, end: 0, step: 1 }],
    minute: [{ start: 0, end: 0, step: 1 }],
    hour: [{ start: 0, end: 0, step: 1 }],
    dayOfMonth: [{ start: 1, end: 31, step: 1 }],
    month: [{ start: 'JANUARY', end: 'DECEMBER', step: 1 }],
    dayOfWeek: [{ start: 'SUNDAY', end: 'SATURDAY', step: 1 }],
    year: [],
    comment: '',
  };

  it('shows calendars, intervals and cron strings as test-schedules.ts expects', () => {
    expect(described({ calendars: [{ hour: { start: 2, end: 7, step: 1 } }] }).calendars).toEqual([{ ...defaults, hour: [{ start: 2, end: 7, step: 1 }] }]);
    expect(described({ intervals: [{ every: '1h', offset: '5m' }] }).intervals).toEqual([{ every: 3_600_000, offset: 300_000 }]);
    expect(described({ cronExpressions: ['0 12 * * MON-WED,FRI'] }).calendars).toEqual([
      {
        ...defaults,
        hour: [{ start: 12, end: 12, step: 1 }],
        dayOfWeek: [
          { start: 'MONDAY', end: 'WEDNESDAY', step: 1 },
          { start: 'FRIDAY', end: 'FRIDAY', step: 1 },
        ],
      },
    ]);
    const empty = described({});
    expect([empty.calendars, empty.intervals, empty.skip]).toEqual([[], [], []]);
  });

  it('round-trips structured calendars', () => {
    const checks: Array<{ input: CalendarSpec; expected: CalendarSpecDescription }> = [
      {
        input: { hour: 4, dayOfWeek: 'MONDAY', month: 'APRIL' },
        expected: { ...defaults, hour: [{ start: 4, end: 4, step: 1 }], dayOfWeek: [{ start: 'MONDAY', end: 'MONDAY', step: 1 }], month: [{ start: 'APRIL', end: 'APRIL', step: 1 }] },
      },
      {
        input: { second: '*', minute: '*', hour: '*', dayOfMonth: '*', month: '*', year: '*', dayOfWeek: '*' },
        expected: {
          ...defaults,
          second: [{ start: 0, end: 59, step: 1 }],
          minute: [{ start: 0, end: 59, step: 1 }],
          hour: [{ start: 0, end: 23, step: 1 }],
        },
      },
      {
        input: {
          hour: [4, 7, 9, { start: 15, end: 20, step: 2 }],
          dayOfWeek: ['FRIDAY', 'SATURDAY', { start: 'TUESDAY', end: 'FRIDAY', step: 1 }],
          month: ['DECEMBER', 'JANUARY', { start: 'APRIL', end: 'JULY', step: 3 }],
        },
        expected: {
          ...defaults,
          hour: [{ start: 4, end: 4, step: 1 }, { start: 7, end: 7, step: 1 }, { start: 9, end: 9, step: 1 }, { start: 15, end: 20, step: 2 }],
          dayOfWeek: [{ start: 'FRIDAY', end: 'FRIDAY', step: 1 }, { start: 'SATURDAY', end: 'SATURDAY', step: 1 }, { start: 'TUESDAY', end: 'FRIDAY', step: 1 }],
          month: [{ start: 'DECEMBER', end: 'DECEMBER', step: 1 }, { start: 'JANUARY', end: 'JANUARY', step: 1 }, { start: 'APRIL', end: 'JULY', step: 3 }],
        },
      },
      {
        input: { hour: [{ start: 2, end: 7 }, { start: 2, end: 7, step: 1 }, { start: 2, end: 7, step: 1 }, { start: 2, end: 7, step: 2 }, { start: 4, end: 0, step: 2 }] },
        expected: {
          ...defaults,
          hour: [{ start: 2, end: 7, step: 1 }, { start: 2, end: 7, step: 1 }, { start: 2, end: 7, step: 1 }, { start: 2, end: 7, step: 2 }, { start: 4, end: 4, step: 2 }],
        },
      },
      { input: { hour: 4 }, expected: { ...defaults, hour: [{ start: 4, end: 4, step: 1 }] } },
    ];
    expect(described({ calendars: checks.map((c) => c.input) }).calendars).toEqual(checks.map((c) => c.expected));
  });
});

describe('compileSpec', () => {
  it('runs intervals on a grid from the epoch, shifted by the phase', () => {
    const start = '2022-03-23T12:53:02.000000009Z';
    expect(sequence({ interval: [{ interval: minutes(90) }] }, start, 4)).toEqual(utc('2022-03-23T13:30:00Z', '2022-03-23T15:00:00Z', '2022-03-23T16:30:00Z', '2022-03-23T18:00:00Z'));
    expect(sequence({ interval: [{ interval: minutes(90), phase: { seconds: 5 * 60 + 44 } }] }, start, 4)).toEqual(
      utc('2022-03-23T13:35:44Z', '2022-03-23T15:05:44Z', '2022-03-23T16:35:44Z', '2022-03-23T18:05:44Z'),
    );
    const two = { interval: [{ interval: minutes(90), phase: { seconds: 5 * 60 + 44 } }, { interval: minutes(157), phase: { seconds: 22 * 60 + 11 } }] };
    expect(sequence(two, start, 7)).toEqual(
      utc('2022-03-23T13:35:44Z', '2022-03-23T15:05:44Z', '2022-03-23T15:26:11Z', '2022-03-23T16:35:44Z', '2022-03-23T18:03:11Z', '2022-03-23T18:05:44Z', '2022-03-23T19:35:44Z'),
    );
  });

  it('merges calendars, cron strings and intervals', () => {
    const day = (d: number) => [`2022-03-${d}T05:23:00Z`, `2022-03-${d}T07:23:00Z`, `2022-03-${d}T11:55:00Z`, `2022-03-${d}T13:55:00Z`];
    expect(sequence({ calendar: [{ hour: '5,7', minute: '23' }, { hour: '11,13', minute: '55' }] }, '2022-03-23T03:00:00Z', 8)).toEqual(utc(...day(23), ...day(24)));
    expect(sequence({ calendar: [{ hour: '5,7', minute: '23' }], cronString: ['55 11,13 * * *'] }, '2022-03-23T03:00:00Z', 8)).toEqual(utc(...day(23), ...day(24)));
    expect(sequence({ calendar: [{ hour: '11,13', minute: '55' }], interval: [{ interval: minutes(90), phase: minutes(7) }] }, '2022-03-23T10:00:00Z', 6)).toEqual(
      utc('2022-03-23T10:37:00Z', '2022-03-23T11:55:00Z', '2022-03-23T12:07:00Z', '2022-03-23T13:37:00Z', '2022-03-23T13:55:00Z', '2022-03-23T15:07:00Z'),
    );
  });

  it('requires both day of month and day of week to match (unlike classic cron)', () => {
    expect(sequence({ cronString: ['0 0 13 * FRI'] }, '2022-01-01T00:00:00Z', 3)).toEqual(utc('2022-05-13T00:00:00Z', '2023-01-13T00:00:00Z', '2023-10-13T00:00:00Z'));
  });

  it('takes 0, 7 and "sun" as Sunday', () => {
    for (const dayOfWeek of ['0', '7', 'sun', '*', '0-3', '5-7', '5-7/2', '6-7', '2-7/5', '0-7/7', '0/7']) {
      expect(compileSpec({ calendar: [{ dayOfWeek }] }, '').next(at('2022-03-05T23:00:00Z'))?.nominalMs, dayOfWeek).toBe(at('2022-03-06T00:00:00Z'));
    }
    for (const dayOfWeek of ['0', '7', 'sun', '5-7/2', '2-7/5', '0-7/7', '0/7']) {
      expect(compileSpec({ calendar: [{ dayOfWeek }] }, '').next(at('2022-03-06T00:00:00Z'))?.nominalMs, dayOfWeek).not.toBe(at('2022-03-07T00:00:00Z'));
    }
  });

  it('searches field by field in a time zone', () => {
    const spec = { calendar: [{ second: '55', minute: '55', hour: '5', dayOfWeek: 'wed-thurs', dayOfMonth: '2/2' }], timezoneName: 'US/Pacific' };
    const cases: Array<[string, string]> = [
      ['2022-03-02T05:55:33-08:00', '2022-03-02T05:55:55-08:00'],
      ['2022-03-02T05:33:33-08:00', '2022-03-02T05:55:55-08:00'],
      ['2022-03-02T03:33:33-08:00', '2022-03-02T05:55:55-08:00'],
      ['2022-03-01T01:11:11-08:00', '2022-03-02T05:55:55-08:00'],
      ['2022-03-02T05:55:55-08:00', '2022-03-10T05:55:55-08:00'],
      ['2022-03-10T05:55:55-08:00', '2022-03-16T05:55:55-07:00'], // across the change to daylight time
    ];
    const compiled = compileSpec(spec, '');
    for (const [from, expected] of cases) expect(iso(compiled.next(at(from))!.nominalMs), from).toBe(iso(at(expected)));
  });

  /** Temporal's checkSequence: also every start between two answers leads to the later one. */
  function checkDst(cron: string, start: string, expected: string[], everyStart = true) {
    const compiled = compileSpec({ cronString: [cron] }, '');
    let t = at(start);
    for (const e of expected) {
      const next = compiled.next(t)!.nominalMs;
      expect(iso(next)).toBe(iso(at(e)));
      for (let s = t; everyStart && s < next; s += 997_000) expect(compiled.next(s)!.nominalMs).toBe(next);
      t = next;
    }
  }

  it('skips wall times a spring-forward removes and repeats the hour a fall-back repeats', () => {
    checkDst('CRON_TZ=US/Pacific 33 33 2 * * * *', '2022-03-11T20:00:00-08:00', ['2022-03-12T02:33:33-08:00', '2022-03-14T02:33:33-07:00']);
    checkDst('CRON_TZ=US/Pacific 33 33,44 1 * * * *', '2021-11-07T00:15:15-07:00', [
      '2021-11-07T01:33:33-07:00', '2021-11-07T01:44:33-07:00', '2021-11-07T01:33:33-08:00', '2021-11-07T01:44:33-08:00', '2021-11-08T01:33:33-08:00',
    ]);
    // East of Greenwich Go's time.Date resolves a skipped wall time forwards (it still never fires)
    // and a repeated one to its second occurrence, so Temporal fires once, in the later copy.
    checkDst('CRON_TZ=Europe/Berlin 0 30 2 * * * *', '2022-03-26T00:00:00+01:00', ['2022-03-26T02:30:00+01:00', '2022-03-28T02:30:00+02:00']);
    checkDst('CRON_TZ=Europe/Berlin 0 30 2 * * * *', '2022-10-29T12:00:00+02:00', ['2022-10-30T02:30:00+01:00', '2022-10-31T02:30:00+01:00'], false);
    const london = compileSpec({ calendar: [{ second: '0', minute: '1', hour: '0', dayOfMonth: '2', month: 'Jan', dayOfWeek: 'Sun' }], timezoneName: 'Europe/London' }, '');
    expect(iso(london.next(at('2004-01-01T00:00:05Z'))!.nominalMs)).toBe('2005-01-02T00:01:00.000Z');
    expect(iso(london.next(at('2004-10-31T01:07:03Z'))!.nominalMs)).toBe('2005-01-02T00:01:00.000Z');
  });

  it('leaves out excluded times, and finds nothing when everything is excluded', () => {
    expect(sequence({ interval: [{ interval: minutes(90) }], excludeCalendar: [{ hour: '12-14', minute: '*', second: '*' }], jitter: { seconds: 1 } }, '2022-03-23T08:00:00Z', 4)).toEqual(
      utc('2022-03-23T09:00:00.235Z', '2022-03-23T10:30:00.139Z', '2022-03-23T15:00:00.089Z', '2022-03-23T16:30:00.687Z'),
    );
    expect(sequence({ interval: [{ interval: hours(7 * 24) }], excludeCalendar: [{ second: '*', minute: '*', hour: '*' }] }, '2022-03-23T12:53:02Z', 1)).toEqual([null]);
    const everySecond = { calendar: [{ second: '*', minute: '*', hour: '*' }] };
    expect(compileSpec({ ...everySecond, excludeCalendar: [{ second: '0-58', minute: '*', hour: '*' }] }, '').next(at('2022-03-23T12:00:00Z'))?.nominalMs).toBe(at('2022-03-23T12:00:59Z'));
    expect(compileSpec({ ...everySecond, excludeCalendar: [{ second: '*', minute: '*', hour: '*' }] }, '', { maxIterations: 10_000 }).next(at('2022-03-23T12:00:00Z'))).toBeNull();
  });

  it('keeps to start_time and end_time', () => {
    const jitter = { seconds: 1 };
    expect(sequence({ interval: [{ interval: minutes(90) }], startTime: { seconds: at('2022-03-23T12:00:00Z') / 1000 }, jitter }, '2022-03-23T08:00:00Z', 3)).toEqual(
      utc('2022-03-23T12:00:00.162Z', '2022-03-23T13:30:00.587Z', '2022-03-23T15:00:00.089Z'),
    );
    expect(sequence({ interval: [{ interval: hours(1) }], startTime: { seconds: at('2022-03-23T12:00:00Z') / 1000, nanos: 456_000_000 } }, '2022-03-23T12:00:00.123Z', 1)).toEqual(utc('2022-03-23T13:00:00Z'));
    expect(sequence({ interval: [{ interval: minutes(90) }], endTime: { seconds: at('2022-03-23T14:00:00Z') / 1000 }, jitter }, '2022-03-23T11:00:00Z', 3)).toEqual([
      ...utc('2022-03-23T12:00:00.162Z', '2022-03-23T13:30:00.587Z'),
      null,
    ]);
  });

  it('jitters exactly as Temporal does for a seed, never past the next nominal time', () => {
    expect(sequence({ interval: [{ interval: minutes(90) }], jitter: hours(24) }, '2022-03-23T11:00:00Z', 3)).toEqual(
      utc('2022-03-23T12:14:36.524Z', '2022-03-23T14:22:54.562Z', '2022-03-23T15:08:03.724Z'),
    );
    const once = { calendar: [{ hour: '13', minute: '55', dayOfMonth: '7', month: '4', year: '2022' }] };
    expect(sequence(once, '2022-03-23T11:00:00Z', 2)).toEqual([...utc('2022-04-07T13:55:00Z'), null]);
    expect(sequence({ ...once, jitter: hours(1) }, '2022-03-23T11:00:00Z', 1)).toEqual(utc('2022-04-07T13:57:26.927Z'));
    const daily = { interval: [{ interval: hours(24) }], jitter: hours(1) };
    expect(sequence(daily, '2022-03-23T11:00:00Z', 1)).toEqual(utc('2022-03-24T00:35:24.276Z'));
    expect(sequence(daily, '2022-03-23T11:00:00Z', 1, 'seed-1')).toEqual(utc('2022-03-24T00:06:12.519Z'));
    expect(sequence(daily, '2022-03-23T11:00:00Z', 1, 'seed-2')).toEqual(utc('2022-03-24T00:39:16.922Z'));
  });

  it('keeps jitter deterministic and within bounds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7200 }), fc.integer({ min: 0, max: 10_000_000 }), fc.string(), fc.integer({ min: 1_600_000_000, max: 1_900_000_000 }), (every, jitterMs, seed, after) => {
        const spec = { interval: [{ interval: { seconds: every } }], jitter: { seconds: Math.floor(jitterMs / 1000), nanos: (jitterMs % 1000) * 1e6 } };
        const a = compileSpec(spec, seed).next(after * 1000)!;
        expect(compileSpec(spec, seed).next(after * 1000)).toEqual(a);
        expect(a.actualMs - a.nominalMs).toBeGreaterThanOrEqual(0);
        expect(a.actualMs - a.nominalMs).toBeLessThan(Math.max(1, Math.min(jitterMs, every * 1000)));
      }),
      { numRuns: 200 },
    );
  });

  it('answers far-off and impossible calendars quickly', () => {
    const started = performance.now();
    const yearly = compileSpec({ cronString: ['CRON_TZ=America/New_York 0 9 29 2 *'] }, '');
    expect(iso(yearly.next(at('2022-03-01T00:00:00Z'))!.nominalMs)).toBe('2024-02-29T14:00:00.000Z');
    expect(iso(compileSpec({ calendar: [{ year: '2099', month: 'dec', dayOfMonth: '31', hour: '23', minute: '59', second: '59' }] }, '').next(0)!.nominalMs)).toBe('2099-12-31T23:59:59.000Z');
    expect(compileSpec({ cronString: ['CRON_TZ=Europe/Paris 0 0 30 2 *'] }, '').next(at('2022-01-01T00:00:00Z'))).toBeNull();
    expect(compileSpec({ calendar: [{ year: '2020' }] }, '').next(at('2022-01-01T00:00:00Z'))).toBeNull();
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('lands every start between two answers on the later answer (Temporal\'s calendar fuzz)', () => {
    // Zones west of Greenwich or without DST: east of it, Temporal's search is not self-consistent
    // inside a repeated hour (see above), and we keep its answers rather than this property.
    const zones = ['UTC', 'US/Pacific', 'America/Asuncion', 'America/Santiago', 'America/St_Johns', 'Cuba', 'Asia/Kolkata'];
    const field = (max: number) => fc.oneof(fc.constant('*'), fc.integer({ min: 0, max }).map(String), fc.tuple(fc.integer({ min: 0, max }), fc.integer({ min: 1, max: 9 })).map(([a, b]) => `${a}/${b}`));
    fc.assert(
      fc.property(field(59), field(59), field(23), fc.integer({ min: 1, max: 31 }), fc.constantFrom(...zones), fc.integer({ min: 946_684_800, max: 4_000_000_000 }), (second, minute, hour, dom, zone, start) => {
        const spec = { calendar: [{ second, minute, hour, dayOfMonth: dom > 28 ? '*' : `${dom}/7` }], timezoneName: zone };
        const compiled = compileSpec(spec, '');
        const next = compiled.next(start * 1000);
        if (!next) return;
        expect(next.nominalMs).toBeGreaterThan(start * 1000);
        const gap = next.nominalMs / 1000 - start;
        for (let i = 0; i < 5; i++) expect(compiled.next((start + Math.floor((gap * i) / 5)) * 1000)?.nominalMs).toBe(next.nominalMs);
        expect(compiled.next(next.nominalMs)!.nominalMs).toBeGreaterThan(next.nominalMs);
      }),
      { numRuns: 150 },
    );
  });
});

describe('farmFingerprint32', () => {
  it('matches farmhash', () => {
    const vectors: Array<[string, number]> = [
      ['', 0xdc56d17a], ['a', 0x3c973d4d], ['abcd', 0x98b51e95], ['abcde', 0xa3f366ac], ['0123456789#012', 0x71a36842],
      ['0123456789^0123456789', 0x536d1efd], ["Nepal premier won't resign.", 0x322984d9], ['Discard medicine more than two years old.', 0xe273108f],
      ['The fugacity of a constituent in a mixture of gases at a given temperature is proportional to its mole fraction.  Lewis-Randall Rule', 0x11c493bb],
    ];
    for (const [text, hash] of vectors) expect(farmFingerprint32(new TextEncoder().encode(text)), text).toBe(hash);
  });
});
