import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cronBackoffMs, parseCronSchedule, parseGoDuration } from './cron.js';

const at = (iso: string) => Date.parse(iso);

describe('cron schedules', () => {
  it('reads five-field expressions at minute granularity, in UTC', () => {
    const s = parseCronSchedule('*/15 * * * *');
    expect(new Date(s.next(at('2026-03-01T10:07:30Z'))).toISOString()).toBe('2026-03-01T10:15:00.000Z');
  });

  it('reads a leading seconds field', () => {
    const s = parseCronSchedule('*/10 * * * * *');
    expect(new Date(s.next(at('2026-03-01T10:07:31Z'))).toISOString()).toBe('2026-03-01T10:07:40.000Z');
  });

  it('honours CRON_TZ', () => {
    const s = parseCronSchedule('CRON_TZ=America/New_York 0 12 * * *');
    expect(new Date(s.next(at('2026-07-01T00:00:00Z'))).toISOString()).toBe('2026-07-01T16:00:00.000Z');
  });

  it('reads nicknames and @every', () => {
    expect(new Date(parseCronSchedule('@daily').next(at('2026-03-01T10:00:00Z'))).toISOString()).toBe('2026-03-02T00:00:00.000Z');
    expect(new Date(parseCronSchedule('@every 10s').next(at('2026-03-01T10:00:03Z'))).toISOString()).toBe('2026-03-01T10:00:10.000Z');
  });

  it('rejects malformed expressions with a message naming them', () => {
    expect(() => parseCronSchedule('bogus')).toThrow(/invalid cron schedule "bogus"/);
    expect(() => parseCronSchedule('@every 0s')).toThrow(/at least 1s/);
    expect(() => parseCronSchedule('61 * * * *')).toThrow(/invalid cron schedule/);
  });

  it('backs off to the first fire time after the start that is not before the close', () => {
    const s = parseCronSchedule('@every 10s');
    expect(cronBackoffMs(s, at('2026-03-01T10:00:01Z'), at('2026-03-01T10:00:05Z'))).toBe(5000);
    // A run that overran several slots waits for the next one only.
    expect(cronBackoffMs(s, at('2026-03-01T10:00:01Z'), at('2026-03-01T10:00:35Z'))).toBe(5000);
  });

  it('always returns a fire time strictly after the given time (property)', () => {
    const s = parseCronSchedule('*/7 * * * * *');
    fc.assert(
      fc.property(fc.integer({ min: at('2020-01-01T00:00:00Z'), max: at('2030-01-01T00:00:00Z') }), (t) => {
        const next = s.next(t);
        return next > t && next - t <= 60_000 && new Date(next).getUTCSeconds() % 7 === 0;
      }),
    );
  });
});

describe('Go durations', () => {
  it('parses compound durations', () => {
    expect(parseGoDuration('1h30m')).toBe(5_400_000);
    expect(parseGoDuration('1.5s')).toBe(1500);
    expect(() => parseGoDuration('10 seconds')).toThrow();
  });
});
