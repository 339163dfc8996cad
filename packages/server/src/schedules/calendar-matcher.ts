// One structured calendar of a schedule spec, compiled (spec.ts): which seconds it matches, and the
// field-by-field search for the next one, in an IANA time zone with Go's time.Date rules for wall-clock
// times a DST change skips or repeats (temporalio/temporal service/worker/scheduler/calendar.go).
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';

export type Structured = Loose<temporal.api.schedule.v1.IStructuredCalendarSpec>;
export type Range = Loose<temporal.api.schedule.v1.IRange>;

export const MIN_YEAR = 2000;
export const MAX_YEAR = 2100;

/** A message in Temporal's words; canonicalizeSpec prefixes it as Temporal's frontend does. */
export class SpecError extends Error {}

// ---- time zones ----------------------------------------------------------------------------

interface Civil { y: number; mo: number; d: number; h: number; mi: number; s: number; dow: number }

/** An IANA zone through Intl, with Go's time.Date semantics for wall-clock times DST skips or repeats. */
export class Zone {
  private readonly format: ((ms: number) => string) | undefined;
  /** Offsets by quarter hour of UTC: a zone's offset is constant within one unless NaN is stored. */
  private readonly quarters = new Map<number, number>();

  constructor(name: string) {
    if (name === 'UTC') return;
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone: name, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    }).format;
  }

  /** Seconds east of UTC at the instant `sec`. */
  offset(sec: number): number {
    if (!this.format) return 0;
    // Intl is slow; a quarter hour whose two ends have the same offset has no transition inside
    // (no zone changes its offset twice within 15 minutes).
    const quarter = Math.floor(sec / 900);
    let known = this.quarters.get(quarter);
    if (known === undefined) {
      const first = this.read(quarter * 900);
      known = first === this.read(quarter * 900 + 899) ? first : Number.NaN;
      if (this.quarters.size >= 50_000) this.quarters.clear();
      this.quarters.set(quarter, known);
    }
    return Number.isNaN(known) ? this.read(sec) : known;
  }

  private read(sec: number): number {
    const m = /(\d+)\/(\d+)\/(\d+),? (\d+):(\d+):(\d+)/.exec(this.format!(sec * 1000))!;
    return Date.UTC(+m[3]!, +m[1]! - 1, +m[2]!, +m[4]!, +m[5]!, +m[6]!) / 1000 - sec;
  }

  civil(sec: number): Civil {
    const t = new Date((sec + this.offset(sec)) * 1000);
    return { y: t.getUTCFullYear(), mo: t.getUTCMonth() + 1, d: t.getUTCDate(), h: t.getUTCHours(), mi: t.getUTCMinutes(), s: t.getUTCSeconds(), dow: t.getUTCDay() };
  }

  /**
   * Go's time.Date: fields out of range carry over; the zone offset is the one in effect at the wall
   * time read as UTC, re-read once at the result if that lands in another zone period. So a time
   * that DST skips moves by the size of the gap (backwards west of Greenwich, forwards east of it),
   * and a repeated time is its first occurrence west of Greenwich and its second east of it.
   */
  date(y: number, mo: number, d: number, h: number, mi: number, s: number): number {
    const wall = Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
    return wall - this.offset(wall - this.offset(wall));
  }
}

/** Zones by name, shared by all compiled specs (a few hundred names at most, validated first). */
const zones = new Map<string, Zone>();

export function loadZone(name: string): Zone {
  if (name === '' || name === 'UTC') name = 'UTC';
  else if (name === 'Local') name = new Intl.DateTimeFormat().resolvedOptions().timeZone;
  else if (!zones.has(name)) {
    if (name.includes('..') || name.startsWith('/') || name.startsWith('\\')) throw new SpecError('time: invalid location name');
    let resolved: string;
    try {
      resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
    } catch {
      throw new SpecError(`unknown time zone ${name}`);
    }
    // Go reads zone files by exact name; Intl would also take "america/new_york".
    if (resolved !== name && resolved.toLowerCase() === name.toLowerCase()) throw new SpecError(`unknown time zone ${name}`);
  }
  let zone = zones.get(name);
  if (!zone) zones.set(name, (zone = new Zone(name)));
  return zone;
}

// ---- calendar search -----------------------------------------------------------------------

function daysInMonth(mo: number, y: number): number {
  return new Date(Date.UTC(y, mo, 0)).getUTCDate();
}

/** The values a field's ranges match, restricted to [lo, hi] (an unvalidated exclusion may hold any). */
function fieldValues(ranges: Array<Range | null> | null | undefined, lo: number, hi: number): boolean[] {
  const match = new Array<boolean>(hi + 1).fill(false);
  for (const r of ranges ?? []) {
    const step = Math.max(r?.step ?? 0, 1); // Temporal loops forever on a negative step; we take it as 1
    let v = r?.start ?? 0;
    const end = Math.min(Math.max(r?.end ?? 0, v), hi);
    if (v < lo) v += Math.ceil((lo - v) / step) * step;
    for (; v <= end; v += step) match[v] = true;
  }
  return match;
}

/** One structured calendar, compiled: a predicate per field and the field-wise search for the next time. */
export class CalendarMatcher {
  private readonly second: boolean[];
  private readonly minute: boolean[];
  private readonly hour: boolean[];
  private readonly dom: boolean[];
  private readonly month: boolean[];
  private readonly dow: boolean[];
  private readonly years: boolean[] | undefined;

  constructor(cal: Structured, private readonly zone: Zone) {
    this.second = fieldValues(cal.second, 0, 63);
    this.minute = fieldValues(cal.minute, 0, 63);
    this.hour = fieldValues(cal.hour, 0, 63);
    this.dom = fieldValues(cal.dayOfMonth, 0, 63);
    this.month = fieldValues(cal.month, 0, 63);
    this.dow = fieldValues(cal.dayOfWeek, 0, 63);
    this.years = (cal.year ?? []).length === 0 ? undefined : fieldValues(cal.year, 0, MAX_YEAR + 100);
  }

  private year(y: number): boolean {
    return this.years === undefined || this.years[y] === true;
  }

  matches(sec: number): boolean {
    const c = this.zone.civil(sec);
    return this.year(c.y) && !!this.month[c.mo] && !!this.dom[c.d] && !!this.dow[c.dow] && !!this.hour[c.h] && !!this.minute[c.mi] && !!this.second[c.s];
  }

  /**
   * The first matching second after `after`, or null up to the year 2100. Fields are searched from
   * the outside in (year, month, day, hour, minute, second): a field that does not match moves to
   * its next value and resets the inner ones; a carry out of a field goes back to the top. Wall
   * times are then resolved in the zone. DST: an hour whose next hour starts two hours later is
   * repeated (`dstOffset` walks its second copy), and a wall time the zone skips is dropped.
   */
  next(after: number): number | null {
    const zone = this.zone;
    let { y, mo, d, h, mi, s } = zone.civil(after);
    let dstOffset = zone.civil(after - 3600).h === h ? 3600 : 0; // in the second copy of a repeated hour
    s++;
    outer: for (;;) {
      if (s >= 60) [mi, s] = [mi + 1, 0];
      if (mi >= 60) {
        const prev = zone.date(y, mo, d, h, 0, 0);
        [h, mi] = [h + 1, 0];
        if (dstOffset === 0 && zone.date(y, mo, d, h, 0, 0) - prev > 3600) [h, dstOffset] = [h - 1, 3600];
        else dstOffset = 0;
      }
      if (h >= 24) [d, h] = [d + 1, 0];
      if (d > daysInMonth(mo, y)) [mo, d] = [mo + 1, 1];
      if (mo > 12) [y, mo] = [y + 1, 1];
      if (y > MAX_YEAR) return null;
      if (!this.year(y)) {
        [y, mo, d, h, mi, s, dstOffset] = [y + 1, 1, 1, 0, 0, 0, 0];
        continue;
      }
      while (!this.month[mo]) {
        [mo, d, h, mi, s, dstOffset] = [mo + 1, 1, 0, 0, 0, 0];
        if (mo > 12) continue outer;
      }
      while (!this.dom[d] || !this.dow[zone.civil(zone.date(y, mo, d, h, mi, s)).dow]) {
        [d, h, mi, s, dstOffset] = [d + 1, 0, 0, 0, 0];
        if (d > daysInMonth(mo, y)) continue outer;
      }
      while (!this.hour[h]) {
        [h, mi, s, dstOffset] = [h + 1, 0, 0, 0];
        if (h >= 24) continue outer;
      }
      while (!this.minute[mi]) {
        [mi, s] = [mi + 1, 0];
        if (mi >= 60) continue outer;
      }
      while (!this.second[s]) {
        s++;
        if (s >= 60) continue outer;
      }
      const t = zone.date(y, mo, d, h, mi, s);
      if (zone.civil(t).h !== h) {
        // skipped by a DST change
        [h, mi, s] = [h + 1, 0, 0];
        continue;
      }
      return t + dstOffset;
    }
  }
}
