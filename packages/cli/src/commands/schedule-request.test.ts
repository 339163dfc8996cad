// The schedule flags as the CLI reads them, and a spec printed back in the same syntax.
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { durationFlagText, specLines } from './schedule-describe.js';
import { parseCalendarFlag, parseIntervalFlag, parseTimestampFlag } from './schedule-request.js';

describe('schedule flags', () => {
  it('reads --interval with and without an offset', () => {
    expect(parseIntervalFlag('90m')).toEqual({ everyMs: 90 * 60_000, offsetMs: 0 });
    expect(parseIntervalFlag('10d/5h')).toEqual({ everyMs: 10 * 86_400_000, offsetMs: 5 * 3_600_000 });
    for (const bad of ['5x', '1h/2h/3h', '0s', '']) expect(() => parseIntervalFlag(bad), bad).toThrow(InvalidArgumentError);
  });

  it('reads --calendar JSON in camelCase or snake_case, numbers as strings, and names unknown fields', () => {
    expect(parseCalendarFlag('{"dayOfWeek":"Fri","hour":"3","minute":30}')).toEqual({ dayOfWeek: 'Fri', hour: '3', minute: '30' });
    expect(parseCalendarFlag('{"day_of_month":"1-5","comment":"first days"}')).toEqual({ dayOfMonth: '1-5', comment: 'first days' });
    expect(() => parseCalendarFlag('{"hours":"3"}')).toThrow('Unknown calendar field "hours"');
    expect(() => parseCalendarFlag('{"hour":["3"]}')).toThrow('must be a string');
    expect(() => parseCalendarFlag('[1]')).toThrow('Expected a JSON object');
    expect(() => parseCalendarFlag('{hour: 3}')).toThrow('Expected a calendar spec in JSON');
  });

  it('reads RFC 3339 times and refuses anything else', () => {
    expect(parseTimestampFlag('2022-02-02T00:00:00Z')).toBe(Date.UTC(2022, 1, 2));
    expect(parseTimestampFlag('2022-02-02T01:00:00+01:00')).toBe(Date.UTC(2022, 1, 2));
    expect(parseTimestampFlag('2022-02-02')).toBe(Date.UTC(2022, 1, 2));
    for (const bad of ['yesterday', '1643760000', '2022-13-45T00:00:00Z']) expect(() => parseTimestampFlag(bad), bad).toThrow(InvalidArgumentError);
  });
});

describe('spec text', () => {
  it('prints durations and spec entries as the flags that would recreate them', () => {
    expect([0, 1500, 90 * 60_000, 10 * 86_400_000 + 5 * 3_600_000].map(durationFlagText)).toEqual(['0s', '1s500ms', '1h30m', '10d5h']);
    const range = (start: number, end = start, step = 1) => ({ start, end, step });
    expect(
      specLines({
        interval: [{ interval: { seconds: 36_000 }, phase: { seconds: 900 } }, { interval: { seconds: 60 } }],
        cronString: ['30 12 * * Fri'],
        calendar: [{ hour: '3', dayOfWeek: 'Fri' }],
        structuredCalendar: [
          { second: [range(0)], minute: [range(0, 59, 15)], hour: [range(2), range(4)], dayOfMonth: [range(1, 31)], month: [range(1, 12)], dayOfWeek: [range(1, 5)], comment: 'weekdays' },
          { second: [range(0)], minute: [range(30)], hour: [range(12)], dayOfMonth: [range(1, 31)], month: [range(1, 12)], dayOfWeek: [range(0, 6)] },
        ],
      }),
    ).toEqual([
      'interval 10h/15m',
      'interval 1m',
      'cron 30 12 * * Fri',
      'calendar {"hour":"3","dayOfWeek":"Fri"}',
      'calendar {"second":"0","minute":"0-59/15","hour":"2,4","dayOfWeek":"1-5","comment":"weekdays"}',
      'calendar {"second":"0","minute":"30","hour":"12"}',
    ]);
  });
});
