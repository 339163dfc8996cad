import { describe, expect, it } from 'vitest';
import { describeCalendar, describeCron, describeInterval, describeSpec, durationWords, overlapPolicyText, parseCalendarField, rangesText, structuredFromCalendar } from './spec';
import type { Range } from './types';

const one = (n: number): Range[] => [{ start: n, end: n, step: 1 }];
const all = (lo: number, hi: number): Range[] => [{ start: lo, end: hi, step: 1 }];
// What the TypeScript SDK sends for a calendar without a field: second, minute and hour 0, the rest all.
const calendar = (fields: Record<string, Range[]>) => ({
  second: [{}],
  minute: [{}],
  hour: [{}],
  dayOfMonth: all(1, 31),
  month: all(1, 12),
  dayOfWeek: all(0, 6),
  ...fields,
});

describe('describeInterval', () => {
  it('names the interval in words', () => {
    expect(describeInterval({ interval: '120s' })).toBe('every 2 minutes');
    expect(describeInterval({ interval: '3600s' })).toBe('every hour');
    expect(describeInterval({ interval: '5400s' })).toBe('every 1 hour 30 minutes');
    expect(describeInterval({ interval: '86400s', phase: '900s' })).toBe('every day, offset by 15 minutes');
    expect(describeInterval({ interval: '0.500s' })).toBe('every 0.5 seconds');
  });
});

describe('describeCalendar', () => {
  it('lists fixed times and the days of the week as ranges', () => {
    expect(describeCalendar(calendar({ hour: one(12), dayOfWeek: [...one(1), ...one(2), ...one(3), ...one(5)] }))).toBe('at 12:00 on Mon–Wed, Fri');
    expect(describeCalendar(calendar({}))).toBe('at 00:00 every day');
    expect(describeCalendar(calendar({ hour: [...one(9), ...one(17)], minute: one(30) }))).toBe('at 09:30, 17:30 every day');
    expect(describeCalendar(calendar({ hour: one(8), second: one(15), dayOfWeek: all(1, 5) }))).toBe('at 08:00:15 on Mon–Fri');
  });

  it('says "every" for regular steps and narrows them by hour', () => {
    expect(describeCalendar(calendar({ minute: all(0, 59), hour: all(0, 23) }))).toBe('every minute');
    expect(describeCalendar(calendar({ minute: [{ start: 0, end: 59, step: 15 }], hour: all(0, 23) }))).toBe('every 15 minutes');
    expect(describeCalendar(calendar({ minute: [{ start: 0, end: 59, step: 15 }], hour: all(9, 17), dayOfWeek: all(1, 5) }))).toBe(
      'every 15 minutes from 09:00 to 17:59 on Mon–Fri',
    );
    expect(describeCalendar(calendar({ hour: all(0, 23) }))).toBe('every hour');
    expect(describeCalendar(calendar({ hour: all(0, 23), minute: one(30) }))).toBe('every hour at :30');
    expect(describeCalendar(calendar({ hour: [{ start: 0, end: 23, step: 2 }] }))).toBe('every 2 hours');
    expect(describeCalendar(calendar({ second: [{ start: 0, end: 59, step: 10 }], minute: all(0, 59), hour: all(0, 23) }))).toBe('every 10 seconds');
  });

  it('names days of the month, months and years', () => {
    expect(describeCalendar(calendar({ dayOfMonth: one(1) }))).toBe('at 00:00 on the 1st of every month');
    expect(describeCalendar(calendar({ dayOfMonth: one(13), dayOfWeek: one(5) }))).toBe('at 00:00 on the 13th of every month if it is a Fri');
    expect(describeCalendar(calendar({ hour: one(6), month: [...one(1), ...one(7)], year: one(2027) }))).toBe('at 06:00 in Jan, Jul in 2027');
  });

  it('reads proto3 JSON with its zeros left out', () => {
    expect(describeCalendar({ second: [{}], minute: [{}], hour: [{ start: 12 }], dayOfMonth: [{ start: 1, end: 31 }], month: [{ start: 1, end: 12 }], dayOfWeek: [{ end: 6 }] })).toBe(
      'at 12:00 every day',
    );
  });
});

describe('rangesText', () => {
  it('writes a field as stored, * for every value', () => {
    expect(rangesText(all(0, 6), 'dayOfWeek')).toBe('*');
    expect(rangesText([...one(1), ...one(5)], 'dayOfWeek')).toBe('Mon, Fri');
    expect(rangesText([{ start: 0, end: 59, step: 15 }], 'minute')).toBe('0–59 /15');
    expect(rangesText([{ start: 6, end: 8 }], 'month')).toBe('Jun–Aug');
    expect(rangesText([{}], 'second')).toBe('0');
    expect(rangesText(undefined, 'year')).toBe('*');
  });
});

describe('string calendars and cron strings', () => {
  it('parses field expressions', () => {
    expect(parseCalendarField('*/15', 'minute')).toEqual([{ start: 0, end: 59, step: 15 }]);
    expect(parseCalendarField('mon-wed,fri', 'dayOfWeek')).toEqual([
      { start: 1, end: 3, step: 1 },
      { start: 5, end: 5, step: 1 },
    ]);
    expect(parseCalendarField('L', 'dayOfMonth')).toBeUndefined();
    expect(describeCalendar(structuredFromCalendar({ hour: '12', dayOfWeek: 'mon-wed,fri' }) ?? {})).toBe('at 12:00 on Mon–Wed, Fri');
  });

  it('describes cron strings, and shows the ones it cannot read as written', () => {
    expect(describeCron('*/5 * * * *')).toBe('every 5 minutes');
    expect(describeCron('0 12 * * 1-5')).toBe('at 12:00 on Mon–Fri');
    expect(describeCron('@daily')).toBe('at 00:00 every day');
    expect(describeCron('@every 90s')).toBe('every 1 minute 30 seconds');
    expect(describeCron('0 0 L * *')).toBe('cron "0 0 L * *"');
  });
});

describe('describeSpec', () => {
  it('joins every part and names exclusions', () => {
    expect(describeSpec({ interval: [{ interval: '120s' }], structuredCalendar: [calendar({ hour: one(12) })], excludeStructuredCalendar: [calendar({ hour: one(12), month: one(12), dayOfMonth: one(25) })] })).toBe(
      'at 12:00 every day; every 2 minutes, except at 12:00 on the 25th of Dec',
    );
    expect(describeSpec({})).toMatch(/^no scheduled times/);
  });

  it('words durations and overlap policies', () => {
    expect(durationWords(365 * 86_400_000)).toBe('365 days');
    expect(durationWords(60_000)).toBe('1 minute');
    expect(overlapPolicyText(undefined).name).toBe('Skip (default)');
    expect(overlapPolicyText('SCHEDULE_OVERLAP_POLICY_ALLOW_ALL').name).toBe('Allow all');
  });
});
