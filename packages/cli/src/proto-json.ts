// Protobuf messages to readable JSON, for `-o json`. The walk follows the reflected message types of
// @temporalio/proto, so enums come out as names, timestamps as RFC 3339 and durations as "1.5s" (the
// proto3 JSON mapping), and payloads as the JSON value they carry ("shorthand payloads", as the
// temporal CLI prints them). `exact` mode is the plain proto3 JSON mapping instead (payload bytes in
// base64, int64 as strings): the format of Temporal's history files, which the SDK replayers load
// with `historyFromJSON` (it tells a JSON history from a decoded one by its string event ids).
import { decodePayload, type PayloadLike } from './payloads.js';
import { durationMs, isoTime, longToNumber, type LongValue, type TimestampLike } from './format.js';

/** The parts of protobufjs reflection this walk uses (kept structural so nothing heavy is imported). */
export interface ReflectedType {
  readonly fullName: string;
  readonly fieldsArray: readonly ReflectedField[];
  resolveAll(): unknown;
}

interface ReflectedEnum {
  readonly valuesById: Readonly<Record<number, string>>;
}

interface ReflectedField {
  readonly name: string;
  readonly type: string;
  readonly repeated: boolean;
  readonly map: boolean;
  readonly resolvedType: ReflectedType | ReflectedEnum | null;
}

const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

function isEnum(resolved: ReflectedType | ReflectedEnum): resolved is ReflectedEnum {
  return 'valuesById' in resolved;
}

function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined || value === '' || value === 0 || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (value instanceof Uint8Array) return value.length === 0;
  if (typeof value === 'object' && 'low' in value && 'high' in value) return longToNumber(value as LongValue) === 0;
  return false;
}

export interface JsonOptions {
  /** Plain proto3 JSON (payloads as base64 bytes, int64 as strings) rather than the readable form. */
  readonly exact?: boolean;
}

function scalar(field: ReflectedField, value: unknown, options: JsonOptions): unknown {
  if (field.resolvedType !== null && isEnum(field.resolvedType)) {
    return field.resolvedType.valuesById[value as number] ?? value;
  }
  if (field.resolvedType !== null) return messageToJson(field.resolvedType, value, options);
  if (LONG_TYPES.has(field.type)) {
    const n = longToNumber(value as LongValue);
    return options.exact || !Number.isSafeInteger(n) ? String(value) : n;
  }
  if (field.type === 'bytes' && value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return value;
}

/** A timestamp with its full nanosecond precision, as proto3 JSON writes it. */
function rfc3339Nanos(ts: TimestampLike): string {
  const seconds = longToNumber(ts.seconds);
  const nanos = ts.nanos ?? 0;
  const whole = new Date(seconds * 1000).toISOString().replace('.000Z', '');
  return nanos === 0 ? `${whole}Z` : `${whole}.${String(nanos).padStart(9, '0')}Z`;
}

/** Converts a decoded message (or a plain object of the same shape) of `type` to JSON. */
export function messageToJson(type: ReflectedType, message: unknown, options: JsonOptions = {}): unknown {
  if (message === null || message === undefined) return undefined;
  switch (type.fullName) {
    case '.google.protobuf.Timestamp':
      return options.exact ? rfc3339Nanos(message as TimestampLike) : isoTime(message as TimestampLike);
    case '.google.protobuf.Duration':
      return `${durationMs(message as TimestampLike) / 1000}s`;
    case '.temporal.api.common.v1.Payload':
      if (options.exact) break;
      return decodePayload(message as PayloadLike);
    case '.temporal.api.common.v1.Payloads':
      if (options.exact) break;
      return ((message as { payloads?: PayloadLike[] | null }).payloads ?? []).map(decodePayload);
    default:
      break;
  }
  type.resolveAll();
  const source = message as Record<string, unknown>;
  const result: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const value = source[field.name];
    if (isEmpty(value)) continue;
    if (field.map) {
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length === 0) continue;
      result[field.name] = Object.fromEntries(entries.map(([key, item]) => [key, scalar(field, item, options)]));
    } else if (field.repeated) {
      result[field.name] = (value as unknown[]).map((item) => scalar(field, item, options));
    } else {
      result[field.name] = scalar(field, value, options);
    }
  }
  return result;
}

/** The reflection object behind a generated message class of @temporalio/proto (typed as a class). */
export function reflected(messageClass: unknown): ReflectedType {
  return messageClass as ReflectedType;
}
