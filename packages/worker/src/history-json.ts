// Histories from JSON: the file format of Temporal's tools (`kairos workflow show -o json`, the
// temporal CLI, the Web UI's download), which is the proto3 JSON mapping of History. protobufjs's
// `fromObject` reads most of it (enum names, int64 strings, base64 bytes) but not timestamps and
// durations as strings, nor the short enum names some tools write ("WorkflowExecutionStarted"); this
// walk over the reflected types fixes those first.
import type { temporal } from '@temporalio/proto';
import { temporal as proto } from '@kairos/common';

interface ReflectedEnum {
  readonly values: Readonly<Record<string, number>>;
}

interface ReflectedField {
  readonly name: string;
  readonly repeated: boolean;
  readonly map: boolean;
  readonly resolvedType: ReflectedType | ReflectedEnum | null;
}

interface ReflectedType {
  readonly fullName: string;
  readonly fieldsArray: readonly ReflectedField[];
  resolveAll(): unknown;
}

function isEnum(resolved: ReflectedType | ReflectedEnum): resolved is ReflectedEnum {
  return 'values' in resolved && !('fieldsArray' in resolved);
}

/** "2024-01-01T00:00:00.123456789Z" → {seconds, nanos}. */
function parseTimestamp(text: string): { seconds: number; nanos: number } {
  const match = /^(.*?)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  const ms = Date.parse(match === null ? text : `${match[1]}${match[3]}`);
  if (Number.isNaN(ms)) throw new TypeError(`invalid timestamp in history JSON: '${text}'`);
  const fraction = match?.[2] ?? '';
  return { seconds: Math.floor(ms / 1000), nanos: fraction === '' ? 0 : Number(fraction.padEnd(9, '0')) };
}

/** "1.5s" → {seconds, nanos}. */
function parseDuration(text: string): { seconds: number; nanos: number } {
  const match = /^(-?\d+)(?:\.(\d{1,9}))?s$/.exec(text);
  if (match === null) throw new TypeError(`invalid duration in history JSON: '${text}'`);
  return { seconds: Number(match[1]), nanos: Number((match[2] ?? '').padEnd(9, '0')) };
}

/** Full enum name for a short one: 'WorkflowExecutionStarted' → 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED'. */
function enumValue(type: ReflectedEnum, value: unknown): unknown {
  if (typeof value !== 'string' || value in type.values) return value;
  const names = Object.keys(type.values);
  const prefix = names.find((name) => name.endsWith('_UNSPECIFIED'))?.replace(/UNSPECIFIED$/, '') ?? '';
  const long = prefix + value.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
  return long in type.values ? long : value;
}

function convertValue(field: ReflectedField, value: unknown): unknown {
  const resolved = field.resolvedType;
  if (resolved === null || value === null || value === undefined) return value;
  if (isEnum(resolved)) return enumValue(resolved, value);
  if (resolved.fullName === '.google.protobuf.Timestamp' && typeof value === 'string') return parseTimestamp(value);
  if (resolved.fullName === '.google.protobuf.Duration' && typeof value === 'string') return parseDuration(value);
  return convertMessage(resolved, value);
}

function convertMessage(type: ReflectedType, json: unknown): unknown {
  if (typeof json !== 'object' || json === null) return json;
  type.resolveAll();
  const source = json as Record<string, unknown>;
  const result: Record<string, unknown> = { ...source };
  for (const field of type.fieldsArray) {
    const value = source[field.name];
    if (value === undefined) continue;
    if (field.map && typeof value === 'object' && value !== null) {
      result[field.name] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, convertValue(field, v)]));
    } else if (field.repeated && Array.isArray(value)) {
      result[field.name] = value.map((v: unknown) => convertValue(field, v));
    } else {
      result[field.name] = convertValue(field, value);
    }
  }
  return result;
}

/** Reads a history from its JSON text or parsed JSON (proto3 JSON mapping of temporal.api.history.v1.History). */
export function historyFromJSON(json: string | object): temporal.api.history.v1.History {
  const parsed: unknown = typeof json === 'string' ? JSON.parse(json) : json;
  const History = proto.api.history.v1.History;
  const prepared = convertMessage(History as unknown as ReflectedType, parsed) as Record<string, unknown>;
  return History.fromObject(prepared);
}
