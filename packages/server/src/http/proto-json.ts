// Proto3 JSON for the HTTP API, walking the protobufjs reflection types of @temporalio/proto.
//
// protobufjs's own toObject/fromObject get most of proto3 JSON right (enum names, int64 as strings,
// bytes as base64) but not the well-known types: a Timestamp must be an RFC 3339 string and a
// Duration "1.5s", which is what Temporal's HTTP API, its CLI and the SDK replayers (historyFromJSON)
// read and write. Payloads follow Temporal's HTTP API: by default a `json/plain` payload is written as
// its JSON value ("shorthand"); with `+no-payload-shorthand` in the media type it is the plain message
// (`{metadata: {encoding: base64}, data: base64}`), the form SDK replayers accept.

/** The members of a protobufjs reflected field, type and enum that the walk uses. */
interface JsonField {
  readonly name: string;
  readonly type: string;
  readonly repeated: boolean;
  readonly map: boolean;
  readonly partOf: object | null;
  readonly resolvedType: JsonType | JsonEnum | null;
  resolve(): unknown;
}

export interface JsonType {
  readonly fullName: string;
  readonly fieldsArray: readonly JsonField[];
  fromObject(value: object): object;
}

interface JsonEnum {
  readonly valuesById: Readonly<Record<number, string>>;
}

export interface JsonOptions {
  /** Write/read `json/plain` payloads as bare JSON values (Temporal's default for its HTTP API). */
  readonly payloadShorthand: boolean;
}

const TIMESTAMP = '.google.protobuf.Timestamp';
const DURATION = '.google.protobuf.Duration';
const PAYLOAD = '.temporal.api.common.v1.Payload';
const PAYLOADS = '.temporal.api.common.v1.Payloads';
const INT64 = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const WRAPPERS = new Set(
  ['Double', 'Float', 'Int64', 'UInt64', 'Int32', 'UInt32', 'Bool', 'String', 'Bytes'].map((n) => `.google.protobuf.${n}Value`),
);

const JSON_PLAIN = 'json/plain';

function isEnum(t: JsonType | JsonEnum | null): t is JsonEnum {
  return t !== null && 'valuesById' in t;
}

function messageTypeOf(field: JsonField): JsonType | null {
  field.resolve();
  const t = field.resolvedType;
  return t !== null && !isEnum(t) ? t : null;
}

function fieldsOf(type: JsonType): readonly JsonField[] {
  return type.fieldsArray;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

// ---- message -> JSON --------------------------------------------------------------------------------

/** What the walk needs to know of a field, worked out once per type (a history page has thousands of
 * messages of the same few types). */
interface FieldPlan {
  readonly field: JsonField;
  readonly messageType: JsonType | null;
  readonly enumType: JsonEnum | null;
  readonly int64: boolean;
}

const fieldPlans = new Map<JsonType, ReadonlyMap<string, FieldPlan>>();

function plansOf(type: JsonType): ReadonlyMap<string, FieldPlan> {
  let plans = fieldPlans.get(type);
  if (plans === undefined) {
    plans = new Map(
      fieldsOf(type).map((field) => {
        const messageType = messageTypeOf(field);
        const enumType = isEnum(field.resolvedType) ? field.resolvedType : null;
        return [field.name, { field, messageType, enumType, int64: INT64.has(field.type) }];
      }),
    );
    fieldPlans.set(type, plans);
  }
  return plans;
}

/** Proto3 JSON of `message` (a decoded message or a plain object that `type.fromObject` accepts). */
export function messageToJson(type: JsonType, message: object, options: JsonOptions): Record<string, unknown> {
  const source = message as Record<string, unknown>;
  const plans = plansOf(type);
  const out: Record<string, unknown> = {};
  // Own keys only: a decoded message keeps unset scalars on its prototype and sets just what the
  // wire carried, so a HistoryEvent is walked over its few set fields, not its 60-odd attributes.
  for (const name of Object.keys(source)) {
    const plan = plans.get(name);
    let value = source[name];
    if (plan === undefined || value === undefined || value === null) continue;
    const { field } = plan;
    // fromObject keeps a plain array given for a bytes field (handlers answer `[]` for "no token").
    if (field.type === 'bytes' && !field.repeated && Array.isArray(value)) value = Uint8Array.from(value as number[]);
    if (field.map) {
      if (!isRecord(value)) continue;
      const entries = Object.entries(value);
      if (entries.length === 0) continue;
      out[name] = Object.fromEntries(entries.map(([k, v]) => [k, valueToJson(plan, v, options)]));
    } else if (field.repeated) {
      if (!Array.isArray(value) || value.length === 0) continue;
      out[name] = value.map((v: unknown) => valueToJson(plan, v, options));
    } else {
      // Proto3 JSON leaves out scalars at their default, except the chosen member of a oneof.
      if (field.partOf === null && isDefaultScalar(plan, value)) continue;
      out[name] = valueToJson(plan, value, options);
    }
  }
  return out;
}

function isDefaultScalar(plan: FieldPlan, value: unknown): boolean {
  if (value === 0 || value === '' || value === false) return true;
  if (value instanceof Uint8Array) return value.length === 0;
  if (plan.int64 && isLong(value)) return value.low === 0 && value.high === 0;
  return false;
}

interface LongLike {
  toString(): string;
  readonly low: number;
  readonly high: number;
}

function isLong(value: unknown): value is LongLike {
  return typeof value === 'object' && value !== null && 'low' in value && 'high' in value;
}

function valueToJson(plan: FieldPlan, value: unknown, options: JsonOptions): unknown {
  if (plan.messageType !== null) return isRecord(value) ? wellKnownToJson(plan.messageType, value, options) : null;
  if (plan.enumType !== null) return typeof value === 'number' ? (plan.enumType.valuesById[value] ?? value) : value;
  if (plan.int64) return String(isLong(value) ? value.toString() : value);
  const type = plan.field.type;
  if (type === 'bytes') return value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') : value;
  if ((type === 'double' || type === 'float') && typeof value === 'number' && !Number.isFinite(value)) {
    return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
  }
  return value;
}

function wellKnownToJson(type: JsonType, value: Record<string, unknown>, options: JsonOptions): unknown {
  switch (type.fullName) {
    case TIMESTAMP:
      return timestampToJson(value);
    case DURATION:
      return durationToJson(value);
    case PAYLOAD:
      return options.payloadShorthand ? (payloadShorthand(value) ?? messageToJson(type, value, options)) : messageToJson(type, value, options);
    case PAYLOADS: {
      if (!options.payloadShorthand) return messageToJson(type, value, options);
      const list = Array.isArray(value['payloads']) ? (value['payloads'] as unknown[]) : [];
      const values = list.map((p) => (isRecord(p) ? payloadShorthand(p) : undefined));
      // All or nothing: a mix of bare values and messages could not be read back unambiguously.
      if (values.every((v) => v !== undefined)) return values;
      return messageToJson(type, value, options);
    }
    default:
      if (WRAPPERS.has(type.fullName)) {
        const inner = messageToJson(type, value, options)['value'];
        return inner ?? null;
      }
      return messageToJson(type, value, options);
  }
}

function num(value: unknown): number {
  if (isLong(value)) return Number(value.toString());
  return typeof value === 'number' ? value : Number(value ?? 0);
}

function timestampToJson(value: Record<string, unknown>): string {
  const ms = num(value['seconds']) * 1000;
  const nanos = num(value['nanos']);
  const iso = new Date(ms).toISOString().slice(0, 19); // whole seconds; the fraction is written below
  if (nanos === 0) return `${iso}Z`;
  const fraction = String(nanos).padStart(9, '0').replace(/0+$/, '');
  return `${iso}.${fraction}Z`;
}

function durationToJson(value: Record<string, unknown>): string {
  const seconds = num(value['seconds']);
  const nanos = num(value['nanos']);
  const negative = seconds < 0 || nanos < 0;
  const fraction = nanos === 0 ? '' : `.${String(Math.abs(nanos)).padStart(9, '0').replace(/0+$/, '')}`;
  return `${negative ? '-' : ''}${Math.abs(seconds)}${fraction}s`;
}

function bytesOf(value: unknown): Uint8Array | undefined {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return Buffer.from(value, 'base64');
  return undefined;
}

/** The bare JSON value of a `json/plain` payload with no other metadata, or undefined. */
function payloadShorthand(payload: Record<string, unknown>): unknown {
  const metadata = isRecord(payload['metadata']) ? payload['metadata'] : {};
  const keys = Object.keys(metadata);
  const encoding = bytesOf(metadata['encoding']);
  if (keys.length !== 1 || encoding === undefined || Buffer.from(encoding).toString('utf8') !== JSON_PLAIN) return undefined;
  const data = bytesOf(payload['data']) ?? new Uint8Array();
  try {
    return JSON.parse(Buffer.from(data).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

// ---- JSON -> message --------------------------------------------------------------------------------

/** Thrown for JSON that cannot become the message: answered with INVALID_ARGUMENT. */
export class JsonShapeError extends Error {
  override name = 'JsonShapeError';
}

const snakeToCamel = (name: string): string => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * Turns proto3 JSON into the plain object protobufjs's `fromObject` accepts (it already reads enum
 * names, int64 strings and base64 bytes), converting what it does not: well-known types, payload
 * shorthand, snake_case keys, and strings from a URL query for numbers and booleans.
 */
export function jsonToMessage(type: JsonType, json: unknown, options: JsonOptions): object {
  return type.fromObject(jsonToPlain(type, json, options, ''));
}

function jsonToPlain(type: JsonType, json: unknown, options: JsonOptions, path: string): Record<string, unknown> {
  if (!isRecord(json)) throw new JsonShapeError(`${path || 'request body'}: expected a JSON object`);
  const byName = new Map(fieldsOf(type).map((f) => [f.name, f]));
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    const field = byName.get(snakeToCamel(key));
    // Unknown fields are ignored, as protojson does with DiscardUnknown (grpc-gateway's default).
    if (field === undefined || value === null || value === undefined) continue;
    const at = path ? `${path}.${field.name}` : field.name;
    if (field.map) {
      if (!isRecord(value)) throw new JsonShapeError(`${at}: expected a JSON object`);
      out[field.name] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, valueFromJson(field, v, options, `${at}.${k}`)]));
    } else if (field.repeated) {
      const list = Array.isArray(value) ? value : [value];
      out[field.name] = list.map((v: unknown, i) => valueFromJson(field, v, options, `${at}[${i}]`));
    } else {
      out[field.name] = valueFromJson(field, value, options, at);
    }
  }
  return out;
}

function valueFromJson(field: JsonField, value: unknown, options: JsonOptions, path: string): unknown {
  const messageType = messageTypeOf(field);
  if (messageType !== null) return wellKnownFromJson(messageType, value, options, path);
  if (field.type === 'bool' && typeof value === 'string') {
    if (value !== 'true' && value !== 'false') throw new JsonShapeError(`${path}: expected true or false`);
    return value === 'true';
  }
  if (!isEnum(field.resolvedType) && !INT64.has(field.type) && /^(u|s|)int32$|^s?fixed32$|^double$|^float$/.test(field.type) && typeof value === 'string') {
    const n = Number(value);
    if (value.trim() === '' || (Number.isNaN(n) && value !== 'NaN')) throw new JsonShapeError(`${path}: expected a number`);
    return n;
  }
  if (field.type === 'bytes' && typeof value === 'string') {
    // URL-safe base64 (from a query string) is accepted as well as the standard alphabet.
    return value.replace(/-/g, '+').replace(/_/g, '/');
  }
  return value;
}

function wellKnownFromJson(type: JsonType, value: unknown, options: JsonOptions, path: string): unknown {
  switch (type.fullName) {
    case TIMESTAMP:
      return timestampFromJson(value, path);
    case DURATION:
      return durationFromJson(value, path);
    case PAYLOAD:
      return options.payloadShorthand ? shorthandPayload(value) : jsonToPlain(type, value, options, path);
    case PAYLOADS:
      if (options.payloadShorthand) {
        const list = Array.isArray(value) ? value : [value];
        return { payloads: list.map(shorthandPayload) };
      }
      return jsonToPlain(type, value, options, path);
    default:
      if (WRAPPERS.has(type.fullName)) return jsonToPlain(type, { value }, options, path);
      return jsonToPlain(type, value, options, path);
  }
}

function shorthandPayload(value: unknown): Record<string, unknown> {
  return {
    metadata: { encoding: Buffer.from(JSON_PLAIN).toString('base64') },
    data: Buffer.from(JSON.stringify(value) ?? 'null').toString('base64'),
  };
}

function timestampFromJson(value: unknown, path: string): Record<string, unknown> {
  if (isRecord(value)) return value;
  const match = typeof value === 'string' ? /^(.*?)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(value) : null;
  const ms = match ? Date.parse(`${match[1]}${match[3]}`) : Number.NaN;
  if (!match || Number.isNaN(ms)) throw new JsonShapeError(`${path}: expected an RFC 3339 timestamp`);
  return { seconds: String(Math.floor(ms / 1000)), nanos: Number((match[2] ?? '').padEnd(9, '0')) };
}

function durationFromJson(value: unknown, path: string): Record<string, unknown> {
  if (isRecord(value)) return value;
  const match = typeof value === 'string' ? /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(value) : null;
  if (!match) throw new JsonShapeError(`${path}: expected a duration such as "1.5s"`);
  const sign = match[1] === '-' ? -1 : 1;
  const nanos = Number((match[3] ?? '').padEnd(9, '0'));
  return { seconds: String(sign * Number(match[2])), nanos: sign * nanos };
}
