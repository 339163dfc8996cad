// Cron schedules of cron workflows, in Temporal's syntax (robfig/cron: five fields, `@daily`-style
// nicknames, `@every <duration>`, a `CRON_TZ=<zone>` prefix) plus an optional leading **seconds**
// field (six fields), which Temporal does not have. Times are UTC unless CRON_TZ says otherwise.
// Field parsing is croner's; `@every` and CRON_TZ are handled here.
import { Cron } from 'croner';

export interface CronSchedule {
  /** The first fire time strictly after `afterMs`. */
  next(afterMs: number): number;
}

/** Parses `expr`; throws an Error whose message says what is wrong. */
export function parseCronSchedule(expr: string): CronSchedule {
  let text = expr.trim();
  let timezone = 'UTC';
  const tz = /^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$/.exec(text);
  if (tz) {
    timezone = tz[1]!;
    text = tz[2]!.trim();
  }
  const every = /^@every\s+(\S+)$/.exec(text);
  if (every) {
    const intervalMs = parseGoDuration(every[1]!);
    if (intervalMs < 1000) throw new Error(`invalid cron schedule "${expr}": @every needs an interval of at least 1s`);
    // robfig's constant-delay schedule, aligned to whole multiples of the interval since the epoch
    // so that every run of a chain agrees on the same grid.
    return { next: (afterMs) => (Math.floor(afterMs / intervalMs) + 1) * intervalMs };
  }
  let cron: Cron;
  try {
    cron = new Cron(text, { paused: true, timezone });
  } catch (err) {
    throw new Error(`invalid cron schedule "${expr}": ${(err as Error).message}`);
  }
  return {
    next(afterMs) {
      const next = cron.nextRun(new Date(afterMs));
      if (!next) throw new Error(`cron schedule "${expr}" has no future fire time`);
      return next.getTime();
    },
  };
}

/**
 * Delay from `closeMs` until the chain's next run, as Temporal computes it: the first fire time after
 * the run's start that is not before its close.
 */
export function cronBackoffMs(schedule: CronSchedule, startMs: number, closeMs: number): number {
  let next = schedule.next(startMs);
  while (next < closeMs) next = schedule.next(next);
  return next - closeMs;
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration format ("1h30m", "10s", "1.5h"). */
export function parseGoDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (matched !== text.length || text.length === 0) throw new Error(`invalid duration "${text}"`);
  return total;
}
