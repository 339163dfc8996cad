// Durations as Temporal users write them: milliseconds as a number, or text such as '10s', '1 hour'.
export type Duration = number | string;

const UNIT_MS: Record<string, number> = {
  ms: 1, msec: 1, msecs: 1, millisecond: 1, milliseconds: 1,
  s: 1000, sec: 1000, secs: 1000, second: 1000, seconds: 1000,
  m: 60_000, min: 60_000, mins: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hr: 3_600_000, hrs: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000,
  w: 604_800_000, week: 604_800_000, weeks: 604_800_000,
};

/** Milliseconds of a Duration; throws a TypeError naming the bad text. */
export function msFromDuration(duration: Duration): number {
  if (typeof duration === 'number') {
    if (!Number.isFinite(duration) || duration < 0) throw new TypeError(`invalid duration: ${duration}`);
    return duration;
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(duration);
  const unit = (match?.[2] ?? '').toLowerCase();
  const factor = unit === '' ? 1 : UNIT_MS[unit];
  if (match === null || factor === undefined) throw new TypeError(`invalid duration: '${duration}'`);
  return Math.round(Number(match[1]) * factor);
}

export function msOptionalFromDuration(duration: Duration | undefined): number | undefined {
  return duration === undefined ? undefined : msFromDuration(duration);
}
