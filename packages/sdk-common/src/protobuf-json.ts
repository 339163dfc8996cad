// The proto3 canonical JSON mapping (https://protobuf.dev/programming-guides/json/) over protobufjs
// reflection objects, for the `json/protobuf` payload converter. sdk-common has no runtime
// dependency and runs in the workflow sandbox, so instead of importing protobufjs this module works
// on the shape of the user's own protobufjs `Root`/`Type` objects (any protobufjs 7 or 8 fits).
//
// Writing: fields at their default value are left out, unless they have explicit presence (a oneof
// member or a proto3 `optional`, which protobufjs puts in a synthetic oneof); 64-bit integers are
// strings, bytes are base64, enums are names; the well-known types (Timestamp, Duration, wrappers,
// Struct/Value/ListValue, FieldMask, Any) have their special forms. Reading accepts the JSON name
// and the proto field name, ignores unknown fields, and hands a plain object to `Type.fromObject`.
// The well-known types' own fields are addressed by field number, so both `keepCase` roots work.
import { PayloadConverterError, isUint8Array } from './payload.js';

/** The part of a protobufjs `Enum` this module reads. */
export interface ProtobufEnumShape {
  readonly values: Record<string, number>;
  readonly valuesById: Record<number, string>;
  readonly fullName: string;
}

/** The part of a protobufjs `Field` (or `MapField`) this module reads. */
export interface ProtobufFieldShape {
  readonly name: string;
  readonly id: number;
  readonly type: string;
  readonly repeated: boolean;
  readonly map: boolean;
  readonly keyType?: string;
  readonly partOf: unknown;
  readonly options?: Record<string, unknown> | undefined;
  readonly resolvedType: ProtobufTypeShape | ProtobufEnumShape | null;
}

/** The part of a protobufjs `Type` the protobuf payload converters use. */
export interface ProtobufTypeShape {
  readonly name: string;
  readonly fullName: string;
  readonly fieldsArray: readonly ProtobufFieldShape[];
  encode(message: unknown): { finish(): Uint8Array };
  decode(data: Uint8Array): unknown;
  fromObject(object: Record<string, unknown>): unknown;
  resolveAll?(): unknown;
  root?: unknown;
}

/** The part of a protobufjs `Root` the converters use. */
export interface ProtobufRootShape {
  lookupType(path: string): ProtobufTypeShape;
  resolveAll?(): unknown;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const INT_TYPES = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);
const FLOAT_TYPES = new Set(['double', 'float']);
/** Well-known types whose JSON is not an object of their fields (inside an Any, it goes under `value`). */
const SPECIAL_JSON = new Set(
  ['Timestamp', 'Duration', 'DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue', 'Struct', 'ListValue', 'Value', 'FieldMask', 'Any'].map(
    (name) => `.google.protobuf.${name}`,
  ),
);

function isEnum(type: unknown): type is ProtobufEnumShape {
  return typeof type === 'object' && type !== null && 'valuesById' in type;
}

function isType(type: unknown): type is ProtobufTypeShape {
  return typeof type === 'object' && type !== null && 'fieldsArray' in type;
}

/** The field's JSON name: `json_name` when set, else the proto name in lowerCamelCase. */
export function jsonNameOf(field: ProtobufFieldShape): string {
  const explicit = field.options?.['json_name'];
  if (typeof explicit === 'string') return explicit;
  let out = '';
  let upper = false;
  for (const ch of field.name) {
    if (ch === '_') upper = true;
    else {
      out += upper ? ch.toUpperCase() : ch;
      upper = false;
    }
  }
  return out;
}

function fieldById(type: ProtobufTypeShape, id: number): ProtobufFieldShape {
  const field = type.fieldsArray.find((f) => f.id === id);
  if (field === undefined) throw new PayloadConverterError(`${type.fullName} has no field number ${id}`);
  return field;
}

function get(message: unknown, field: ProtobufFieldShape): unknown {
  return (message as Record<string, unknown>)[field.name];
}

// ---- base64 (no atob/Buffer in the sandbox) ----

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function encodeBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const b0 = bytes[i] ?? 0;
    const b1 = bytes[i + 1];
    const b2 = bytes[i + 2];
    const n = (b0 << 16) | ((b1 ?? 0) << 8) | (b2 ?? 0);
    out += B64.charAt(n >> 18) + B64.charAt((n >> 12) & 63);
    out += b1 === undefined ? '=' : B64.charAt((n >> 6) & 63);
    out += b2 === undefined ? '=' : B64.charAt(n & 63);
  }
  return out;
}

/** Decodes standard or URL-safe base64, with or without padding. */
export function decodeBase64(text: string): Uint8Array {
  const clean = text.replace(/[\s=]/g, '').replace(/-/g, '+').replace(/_/g, '/');
  const out: number[] = [];
  let bits = 0;
  let buffer = 0;
  for (const ch of clean) {
    const v = B64.indexOf(ch);
    if (v < 0) throw new PayloadConverterError(`invalid base64 character '${ch}'`);
    buffer = (buffer << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((buffer >> bits) & 0xff);
    }
  }
  return Uint8Array.from(out);
}

// ---- writing ----

function isDefault(field: ProtobufFieldShape, value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (field.map) return Object.keys(value).length === 0;
  if (field.repeated) return Array.isArray(value) && value.length === 0;
  if (isType(field.resolvedType)) return false;
  if (isUint8Array(value) || ArrayBuffer.isView(value)) return (value as Uint8Array).length === 0;
  if (LONG_TYPES.has(field.type)) return String(value) === '0';
  return value === 0 || value === '' || value === false;
}

function hasOwn(message: unknown, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(message, key);
}

function floatToJson(value: number): Json {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  return value;
}

function scalarToJson(field: ProtobufFieldShape, value: unknown): Json {
  const resolved = field.resolvedType;
  if (isType(resolved)) return messageToJson(resolved, value);
  if (isEnum(resolved)) {
    if (resolved.fullName === '.google.protobuf.NullValue') return null;
    return typeof value === 'number' ? (resolved.valuesById[value] ?? value) : String(value);
  }
  if (LONG_TYPES.has(field.type)) return String(value);
  if (FLOAT_TYPES.has(field.type)) return floatToJson(Number(value));
  if (field.type === 'bytes') return encodeBase64(value as Uint8Array);
  return value as Json;
}

function fractionDigits(nanos: number): string {
  if (nanos === 0) return '';
  const text = String(nanos).padStart(9, '0');
  if (nanos % 1_000_000 === 0) return `.${text.slice(0, 3)}`;
  if (nanos % 1000 === 0) return `.${text.slice(0, 6)}`;
  return `.${text}`;
}

function wellKnownToJson(type: ProtobufTypeShape, message: unknown): { json: Json } | undefined {
  const wrapped = (id: number): unknown => get(message, fieldById(type, id));
  switch (type.fullName) {
    case '.google.protobuf.Timestamp': {
      const seconds = Number(String(wrapped(1) ?? 0));
      const nanos = Number(wrapped(2) ?? 0);
      const iso = new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, '');
      return { json: `${iso}${fractionDigits(nanos)}Z` };
    }
    case '.google.protobuf.Duration': {
      const seconds = String(wrapped(1) ?? 0);
      const nanos = Number(wrapped(2) ?? 0);
      const negative = seconds.startsWith('-') || nanos < 0;
      const whole = seconds.replace(/^-/, '');
      return { json: `${negative ? '-' : ''}${whole}${fractionDigits(Math.abs(nanos))}s` };
    }
    case '.google.protobuf.DoubleValue':
    case '.google.protobuf.FloatValue':
    case '.google.protobuf.Int64Value':
    case '.google.protobuf.UInt64Value':
    case '.google.protobuf.Int32Value':
    case '.google.protobuf.UInt32Value':
    case '.google.protobuf.BoolValue':
    case '.google.protobuf.StringValue':
    case '.google.protobuf.BytesValue': {
      const field = fieldById(type, 1);
      return { json: scalarToJson(field, get(message, field) ?? (field.type === 'bytes' ? new Uint8Array() : LONG_TYPES.has(field.type) ? 0 : field.type === 'string' ? '' : field.type === 'bool' ? false : 0)) };
    }
    case '.google.protobuf.Struct': {
      const field = fieldById(type, 1);
      const fields = (get(message, field) ?? {}) as Record<string, unknown>;
      const out: Record<string, Json> = {};
      for (const [key, value] of Object.entries(fields)) out[key] = scalarToJson(field, value);
      return { json: out };
    }
    case '.google.protobuf.ListValue': {
      const field = fieldById(type, 1);
      return { json: ((get(message, field) ?? []) as unknown[]).map((v) => scalarToJson(field, v)) };
    }
    case '.google.protobuf.Value': {
      for (const field of type.fieldsArray) {
        if (hasOwn(message, field.name) && get(message, field) !== null && get(message, field) !== undefined) return { json: scalarToJson(field, get(message, field)) };
      }
      return { json: null };
    }
    case '.google.protobuf.FieldMask': {
      const paths = (wrapped(1) ?? []) as string[];
      return { json: paths.map((p) => p.replace(/_([a-z])/g, (_m: string, c: string) => c.toUpperCase())).join(',') };
    }
    case '.google.protobuf.Any':
      return { json: anyToJson(type, message) };
    default:
      return undefined;
  }
}

function lookupIn(type: ProtobufTypeShape, typeUrl: string): ProtobufTypeShape {
  const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  const root = type.root as ProtobufRootShape | undefined;
  if (root === undefined || typeof root.lookupType !== 'function') throw new PayloadConverterError(`cannot resolve Any type ${typeUrl}: the type has no root`);
  return root.lookupType(name);
}

function anyToJson(type: ProtobufTypeShape, message: unknown): Json {
  const typeUrl = String(get(message, fieldById(type, 1)) ?? '');
  if (typeUrl === '') return {};
  const inner = lookupIn(type, typeUrl);
  const decoded = inner.decode(localBytes((get(message, fieldById(type, 2)) ?? new Uint8Array()) as Uint8Array));
  const json = messageToJson(inner, decoded);
  if (SPECIAL_JSON.has(inner.fullName)) return { '@type': typeUrl, value: json };
  return { '@type': typeUrl, ...(json as Record<string, Json>) };
}

/** A message (a protobufjs instance or a plain object keyed by field name) as proto3 JSON. */
export function messageToJson(type: ProtobufTypeShape, message: unknown): Json {
  type.resolveAll?.();
  const special = wellKnownToJson(type, message);
  if (special !== undefined) return special.json;
  const out: Record<string, Json> = {};
  for (const field of type.fieldsArray) {
    const value = get(message, field);
    const present = field.partOf ? hasOwn(message, field.name) && value !== null && value !== undefined : !isDefault(field, value);
    if (!present) continue;
    const key = jsonNameOf(field);
    if (field.map) {
      const map: Record<string, Json> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) map[k] = scalarToJson(field, v);
      out[key] = map;
    } else if (field.repeated) {
      out[key] = (value as unknown[]).map((v) => scalarToJson(field, v));
    } else {
      out[key] = scalarToJson(field, value);
    }
  }
  return out;
}

// ---- reading ----

function localBytes(data: Uint8Array): Uint8Array {
  // A view of this realm's Uint8Array: protobufjs readers check `instanceof Uint8Array`.
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function parseFraction(text: string | undefined): number {
  return text === undefined ? 0 : Number(text.padEnd(9, '0').slice(0, 9));
}

function scalarFromJson(field: ProtobufFieldShape, json: Json): unknown {
  const resolved = field.resolvedType;
  if (isType(resolved)) return objectFromJson(resolved, json);
  if (isEnum(resolved)) {
    if (resolved.fullName === '.google.protobuf.NullValue') return 0;
    if (typeof json === 'number') return json;
    return resolved.values[String(json)];
  }
  if (json === null) return undefined;
  if (LONG_TYPES.has(field.type)) return String(json);
  if (INT_TYPES.has(field.type) || FLOAT_TYPES.has(field.type)) return Number(json);
  if (field.type === 'bytes') return decodeBase64(String(json));
  return json;
}

function wellKnownFromJson(type: ProtobufTypeShape, json: Json): { object: Record<string, unknown> } | undefined {
  const name = (id: number): string => fieldById(type, id).name;
  switch (type.fullName) {
    case '.google.protobuf.Timestamp': {
      const match = /^(.*?)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(String(json));
      if (match === null) throw new PayloadConverterError(`invalid Timestamp: ${String(json)}`);
      const millis = Date.parse(`${match[1]}${match[3]}`);
      if (Number.isNaN(millis)) throw new PayloadConverterError(`invalid Timestamp: ${String(json)}`);
      return { object: { [name(1)]: String(Math.floor(millis / 1000)), [name(2)]: parseFraction(match[2]) } };
    }
    case '.google.protobuf.Duration': {
      const match = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(String(json));
      if (match === null) throw new PayloadConverterError(`invalid Duration: ${String(json)}`);
      const sign = match[1] === '-' ? -1 : 1;
      return { object: { [name(1)]: `${match[1] ?? ''}${match[2] ?? '0'}`, [name(2)]: sign * parseFraction(match[3]) } };
    }
    case '.google.protobuf.DoubleValue':
    case '.google.protobuf.FloatValue':
    case '.google.protobuf.Int64Value':
    case '.google.protobuf.UInt64Value':
    case '.google.protobuf.Int32Value':
    case '.google.protobuf.UInt32Value':
    case '.google.protobuf.BoolValue':
    case '.google.protobuf.StringValue':
    case '.google.protobuf.BytesValue':
      return { object: { [name(1)]: scalarFromJson(fieldById(type, 1), json) } };
    case '.google.protobuf.Struct': {
      const field = fieldById(type, 1);
      const fields: Record<string, unknown> = {};
      for (const [k, v] of Object.entries((json ?? {}) as Record<string, Json>)) fields[k] = scalarFromJson(field, v);
      return { object: { [field.name]: fields } };
    }
    case '.google.protobuf.ListValue': {
      const field = fieldById(type, 1);
      return { object: { [field.name]: ((json ?? []) as Json[]).map((v) => scalarFromJson(field, v)) } };
    }
    case '.google.protobuf.Value': {
      if (json === null) return { object: { [name(1)]: 0 } };
      if (typeof json === 'number') return { object: { [name(2)]: json } };
      if (typeof json === 'string') return { object: { [name(3)]: json } };
      if (typeof json === 'boolean') return { object: { [name(4)]: json } };
      if (Array.isArray(json)) return { object: { [name(6)]: scalarFromJson(fieldById(type, 6), json) } };
      return { object: { [name(5)]: scalarFromJson(fieldById(type, 5), json) } };
    }
    case '.google.protobuf.FieldMask': {
      const text = String(json ?? '');
      const paths = text === '' ? [] : text.split(',').map((p) => p.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
      return { object: { [name(1)]: paths } };
    }
    case '.google.protobuf.Any': {
      const record = (json ?? {}) as Record<string, Json>;
      const typeUrl = record['@type'];
      if (typeof typeUrl !== 'string') return { object: {} };
      const inner = lookupIn(type, typeUrl);
      const { '@type': _ignored, ...rest } = record;
      const innerObject = objectFromJson(inner, SPECIAL_JSON.has(inner.fullName) ? (record['value'] ?? null) : rest);
      const value = inner.encode(inner.fromObject(innerObject as Record<string, unknown>)).finish();
      return { object: { [name(1)]: typeUrl, [name(2)]: value } };
    }
    default:
      return undefined;
  }
}

function objectFromJson(type: ProtobufTypeShape, json: Json): Record<string, unknown> | undefined {
  type.resolveAll?.();
  if (json === null && type.fullName !== '.google.protobuf.Value') return undefined;
  const special = wellKnownFromJson(type, json);
  if (special !== undefined) return special.object;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new PayloadConverterError(`expected a JSON object for ${type.fullName}`);
  const object: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const raw = json[jsonNameOf(field)] ?? json[field.name];
    if (raw === undefined || (raw === null && !isType(field.resolvedType))) continue;
    if (field.map) {
      const map: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(raw as Record<string, Json>)) map[k] = scalarFromJson(field, v);
      object[field.name] = map;
    } else if (field.repeated) {
      object[field.name] = (raw as Json[]).map((v) => scalarFromJson(field, v));
    } else {
      const value = scalarFromJson(field, raw);
      if (value !== undefined) object[field.name] = value;
    }
  }
  return object;
}

/** Proto3 JSON into a message of `type` (unknown fields are ignored). */
export function messageFromJson(type: ProtobufTypeShape, json: Json): unknown {
  return type.fromObject(objectFromJson(type, json) ?? {});
}
