// Small conversions shared by the commands: protobuf int64/timestamps/durations to numbers and text,
// duration flags ("10s", "1h30m", "5d") to milliseconds, enum names to the words the CLI prints.
import { InvalidArgumentError } from 'commander';

/** A protobufjs int64 as decoded (Long) or as a plain number/string. */
export type LongValue = number | string | { low: number; high: number; toNumber?: () => number } | null | undefined;

export function longToNumber(value: LongValue): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return Number(value);
  if (typeof value.toNumber === 'function') return value.toNumber();
  return value.high * 4294967296 + (value.low >>> 0);
}

export interface TimestampLike {
  seconds?: LongValue;
  nanos?: number | null;
}

export function timestampMs(ts: TimestampLike | null | undefined): number | undefined {
  if (!ts) return undefined;
  return longToNumber(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}

export function durationMs(d: TimestampLike | null | undefined): number {
  if (!d) return 0;
  return longToNumber(d.seconds) * 1000 + Math.floor((d.nanos ?? 0) / 1e6);
}

export function msToProtoDuration(ms: number): { seconds: number; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

export function isoTime(ts: TimestampLike | null | undefined): string | undefined {
  const ms = timestampMs(ts);
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/** "2026-01-02T03:04:05.678Z (5m ago)". */
export function timeWithAge(ts: TimestampLike | null | undefined, now = Date.now()): string | undefined {
  const ms = timestampMs(ts);
  if (ms === undefined) return undefined;
  const age = now - ms;
  return `${new Date(ms).toISOString()} (${age >= 0 ? `${formatDuration(age)} ago` : `in ${formatDuration(-age)}`})`;
}

/** Milliseconds as the largest two units: "850ms", "12.3s", "4m 5s", "2h 3m", "3d 4h". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1).replace(/\.?0+$/, '')}s`;
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  const parts: string[] = [];
  let rest = Math.floor(ms);
  for (const [unit, size] of units) {
    if (parts.length === 0 && rest < size) continue;
    const count = Math.floor(rest / size);
    rest -= count * size;
    parts.push(count === 0 ? '' : `${count}${unit}`);
    if (parts.length === 2) break;
  }
  return parts.filter((part) => part !== '').join(' ');
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "500ms", "10s", "1h30m", "5d" (and a bare number of seconds) for commander. */
export function parseDurationFlag(value: string): number {
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  for (let match = part.exec(text); match !== null; match = part.exec(text)) {
    total += Number(match[1]) * (DURATION_UNITS[match[2] ?? 's'] ?? 0);
    consumed = part.lastIndex;
  }
  if (consumed === 0 || consumed !== text.length) {
    throw new InvalidArgumentError('Expected a duration such as 500ms, 10s, 5m, 1h30m or 3d.');
  }
  return total;
}

export function parsePositiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw new InvalidArgumentError('Expected a positive whole number.');
  return Number(value);
}

export function parseInteger(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError('Expected a whole number.');
  return Number(value);
}

/** "WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW" with prefix "WORKFLOW_EXECUTION_STATUS_" -> "ContinuedAsNew". */
export function pascalEnumName(name: string | undefined, prefix: string): string {
  if (name === undefined) return '';
  return name
    .replace(prefix, '')
    .toLowerCase()
    .split('_')
    .map((word) => (word === '' ? '' : word[0]?.toUpperCase() + word.slice(1)))
    .join('');
}

/** "UpdateAccepted" -> "UPDATE_ACCEPTED" (how Temporal spells the same name in enums). */
export function constantCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** Cuts `text` to `max` characters with an ellipsis. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}
