import type { google } from '@temporalio/proto';
import type { Loose } from './loose.js';

/** A protobufjs int64 value: a number, or a `Long` object with the 64-bit value split in two. */
export type LongLike = number | string | { low: number; high: number; toNumber?: () => number } | null | undefined;

/** Converts a protobufjs int64 to a JS number (all ids and seconds Kairos handles fit in 53 bits). */
export function toNumber(value: LongLike): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return Number(value);
  if (typeof value.toNumber === 'function') return value.toNumber();
  return value.high * 4294967296 + (value.low >>> 0);
}

/** Epoch milliseconds to a google.protobuf.Timestamp. */
export function msToTimestamp(ms: number): Loose<google.protobuf.ITimestamp> {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** google.protobuf.Timestamp to epoch milliseconds; undefined when unset. */
export function timestampToMs(ts: Loose<google.protobuf.ITimestamp> | null | undefined): number | undefined {
  if (!ts) return undefined;
  return toNumber(ts.seconds as LongLike) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}

/** Milliseconds to a google.protobuf.Duration. */
export function msToDuration(ms: number): Loose<google.protobuf.IDuration> {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/**
 * Milliseconds to a google.protobuf.Duration, or null for 0: an unset execution or run timeout stays
 * absent from events and descriptions, as Temporal leaves the request's nil field nil.
 */
export function msToOptionalDuration(ms: number): Loose<google.protobuf.IDuration> | null {
  return ms > 0 ? msToDuration(ms) : null;
}

/** google.protobuf.Duration to milliseconds; 0 when unset. */
export function durationToMs(d: Loose<google.protobuf.IDuration> | null | undefined): number {
  if (!d) return 0;
  return toNumber(d.seconds as LongLike) * 1000 + Math.floor((d.nanos ?? 0) / 1e6);
}
