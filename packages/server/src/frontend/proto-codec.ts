// The frontend's view of the protobufjs reflection root of @temporalio/proto: looking up services and
// types, encoding answers, and checking that request strings are valid UTF-8 on the wire bytes.
import { isUtf8 } from 'node:buffer';
import { protoRootObject } from '@kairos/common';
import { encodedEventsOf, historyFieldBytes, messageFieldBytes } from '../encoded-history.js';

// Typed by the few members used here; the generated .d.ts declares the namespaces, not the root.
export interface ReflectedField {
  readonly name: string;
  readonly id: number;
  readonly type: string;
  readonly map?: boolean;
  readonly keyType?: string;
  readonly repeated?: boolean;
  readonly resolvedType: object | null;
  resolve(): unknown;
}

export interface ReflectedType {
  readonly fullName: string;
  readonly fieldsArray: readonly ReflectedField[];
  decode(bytes: Uint8Array): object;
  encode(message: object): { finish(): Uint8Array };
  fromObject(value: object): object;
}

export interface ReflectedMethod {
  readonly name: string;
  readonly resolvedRequestType: ReflectedType | null;
  readonly resolvedResponseType: ReflectedType | null;
  resolve(): unknown;
}

export interface ReflectedService {
  readonly methodsArray: readonly ReflectedMethod[];
}

interface ReflectionRoot {
  lookupType(name: string): ReflectedType;
  lookupService(name: string): ReflectedService;
}

function reflectionRoot(root: unknown): ReflectionRoot {
  if (typeof root === 'object' && root !== null && 'lookupType' in root && 'lookupService' in root) {
    if (typeof root.lookupType === 'function' && typeof root.lookupService === 'function') {
      return root as ReflectionRoot;
    }
  }
  throw new Error('@temporalio/proto did not export a protobufjs root');
}

const root = reflectionRoot(protoRootObject);

export function lookupService(name: string): ReflectedService {
  return root.lookupService(name);
}

export function lookupType(name: string): ReflectedType {
  return root.lookupType(name);
}

/** Encodes a message instance or a plain object (nested plain objects, enum names, int64 as numbers). */
export function encodeMessage(type: ReflectedType, value: object): Buffer {
  const plan = splicePlan(type);
  if (plan.length > 0) {
    // Histories of stored event bytes (and answers nesting one) are written as they are.
    let rest: Record<string, unknown> | undefined;
    const spliced: Buffer[] = [];
    for (const field of plan) {
      const v: unknown = (value as Record<string, unknown>)[field.name];
      if (typeof v !== 'object' || v === null) continue;
      let bytes: Buffer | undefined;
      if (field.type === 'history') {
        const events = encodedEventsOf(v);
        if (events !== undefined) bytes = historyFieldBytes(field.id, events);
      } else if (encodedEventsOf((v as { history?: unknown }).history) !== undefined) {
        bytes = messageFieldBytes(field.id, encodeMessage(field.type, v));
      }
      if (bytes === undefined) continue;
      rest ??= { ...value };
      delete rest[field.name];
      spliced.push(bytes);
    }
    if (rest !== undefined) return Buffer.concat([encodePlain(type, rest), ...spliced]);
  }
  return encodePlain(type, value);
}

function encodePlain(type: ReflectedType, value: object): Buffer {
  const bytes = type.encode(type.fromObject(value)).finish();
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const HISTORY_TYPE = '.temporal.api.history.v1.History';

/** A field an answer may carry stored history bytes in: a History, or a message with a `history` History. */
interface SplicedField {
  readonly name: string;
  readonly id: number;
  readonly type: 'history' | ReflectedType;
}

const splicePlans = new Map<ReflectedType, readonly SplicedField[]>();

function splicePlan(type: ReflectedType): readonly SplicedField[] {
  let plan = splicePlans.get(type);
  if (plan !== undefined) return plan;
  const found: SplicedField[] = [];
  for (const field of type.fieldsArray) {
    const fieldType = singularMessageType(field);
    if (fieldType === null) continue;
    if (fieldType.fullName === HISTORY_TYPE) found.push({ name: field.name, id: field.id, type: 'history' });
    else if (fieldType.fieldsArray.some((f) => f.name === 'history' && singularMessageType(f)?.fullName === HISTORY_TYPE)) {
      found.push({ name: field.name, id: field.id, type: fieldType });
    }
  }
  plan = found;
  splicePlans.set(type, plan);
  return plan;
}

function singularMessageType(field: ReflectedField): ReflectedType | null {
  if (field.map === true || field.repeated === true) return null;
  field.resolve();
  const resolved = field.resolvedType;
  return resolved !== null && 'fieldsArray' in resolved ? (resolved as ReflectedType) : null;
}

// ---- UTF-8 validation on the wire bytes ------------------------------------------------------------
//
// protobufjs decodes invalid UTF-8 into U+FFFD without complaint, so a request would silently change
// its ids and names. Before decoding, the raw bytes are walked with a per-type plan that lists only
// the fields that can lead to a string: string fields are checked in place with the native isUtf8,
// message fields (and map entries, which are small messages: key = 1, value = 2) are descended into,
// and everything else (bytes such as payload data, numbers) is skipped by its length unread. A type
// from which no string is reachable has no plan, and its bytes are not walked at all.

export type FieldPlan =
  | { readonly kind: 'string'; readonly name: string }
  | { readonly kind: 'message'; readonly name: string; readonly plan: StringPlan };

export interface StringPlan {
  readonly fields: Map<number, FieldPlan>;
}

const plans = new Map<ReflectedType, StringPlan | null>();

function messageTypeOf(field: ReflectedField): ReflectedType | null {
  field.resolve();
  const resolved = field.resolvedType;
  return resolved !== null && 'fieldsArray' in resolved ? (resolved as ReflectedType) : null;
}

/** The plan for `type`, or null when no string is reachable from it. Built on first use, then cached. */
export function stringFieldPlan(type: ReflectedType): StringPlan | null {
  const cached = plans.get(type);
  if (cached !== undefined) return cached;

  // Types reference each other in cycles (Failure.cause), so collect every type reachable from `type`
  // that has no plan yet, settle "reaches a string" as a fixed point, and only then build the plans.
  const pending: ReflectedType[] = [type];
  const seen = new Set<ReflectedType>(pending);
  for (const current of pending) {
    for (const field of current.fieldsArray) {
      const child = messageTypeOf(field);
      if (child !== null && !seen.has(child) && !plans.has(child)) {
        seen.add(child);
        pending.push(child);
      }
    }
  }
  const reaching = new Set<ReflectedType>();
  const reachesString = (field: ReflectedField): boolean => {
    if (field.type === 'string' || field.keyType === 'string') return true;
    const child = messageTypeOf(field);
    return child !== null && (reaching.has(child) || (plans.get(child) ?? null) !== null);
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (const t of pending) {
      if (!reaching.has(t) && t.fieldsArray.some(reachesString)) {
        reaching.add(t);
        changed = true;
      }
    }
  }

  for (const t of pending) plans.set(t, reaching.has(t) ? { fields: new Map() } : null);
  for (const t of reaching) {
    const fields = plans.get(t)?.fields;
    if (fields === undefined) continue;
    for (const field of t.fieldsArray) {
      const fieldPlan = planField(field);
      if (fieldPlan !== null) fields.set(field.id, fieldPlan);
    }
  }
  return plans.get(type) ?? null;
}

function planField(field: ReflectedField): FieldPlan | null {
  const isMap = field.map === true;
  const valueName = isMap ? 'value' : field.name;
  let value: FieldPlan | null = null;
  if (field.type === 'string') {
    value = { kind: 'string', name: valueName };
  } else {
    const child = messageTypeOf(field);
    const childPlan = child === null ? null : (plans.get(child) ?? null);
    if (childPlan !== null) value = { kind: 'message', name: valueName, plan: childPlan };
  }
  if (!isMap) return value;
  const entry: StringPlan = { fields: new Map() };
  if (field.keyType === 'string') entry.fields.set(1, { kind: 'string', name: 'key' });
  if (value !== null) entry.fields.set(2, value);
  return entry.fields.size === 0 ? null : { kind: 'message', name: field.name, plan: entry };
}

/** Throws an Error naming the field (e.g. `workflowType.name`) at the first invalid string. */
export function checkUtf8(bytes: Uint8Array, plan: StringPlan): void {
  cursor = 0;
  try {
    checkMessage(bytes, bytes.length, plan);
  } catch (err) {
    if (err instanceof InvalidUtf8) throw new Error(`invalid UTF-8 in string field ${err.path.join('.')}`);
    throw err;
  }
}

/** Unwinds through the nested messages, each level adding its field name, so that the happy path
 * never builds a path string. */
class InvalidUtf8 extends Error {
  readonly path: string[];
  constructor(field: string) {
    super('invalid UTF-8');
    this.path = [field];
  }
}

// Position of the walk in progress. The walk is synchronous, and each level resets it to the end of
// the field it just checked, so one module-level cursor is enough and no reader object is allocated.
let cursor = 0;

function varint(bytes: Uint8Array): number {
  let result = 0;
  for (let scale = 1; scale < 2 ** 70; scale *= 128) {
    const byte = bytes[cursor++];
    if (byte === undefined) break;
    result += (byte & 0x7f) * scale;
    if (byte < 0x80) return result;
  }
  throw new Error('malformed request: bad varint');
}

function advance(count: number, end: number): void {
  if (cursor + count > end) throw new Error('malformed request: a field runs past the end of its message');
  cursor += count;
}

function checkMessage(bytes: Uint8Array, end: number, plan: StringPlan): void {
  while (cursor < end) {
    const tag = varint(bytes);
    const wireType = tag % 8;
    if (wireType === 0) varint(bytes);
    else if (wireType === 1) advance(8, end);
    else if (wireType === 5) advance(4, end);
    else if (wireType === 2) {
      const length = varint(bytes);
      const start = cursor;
      advance(length, end);
      const stop = cursor;
      const field = plan.fields.get(Math.floor(tag / 8));
      if (field === undefined) continue;
      if (field.kind === 'string') {
        if (!isValidUtf8(bytes, start, stop)) throw new InvalidUtf8(field.name);
        continue;
      }
      cursor = start;
      try {
        checkMessage(bytes, stop, field.plan);
      } catch (err) {
        if (err instanceof InvalidUtf8) err.path.unshift(field.name);
        throw err;
      }
      cursor = stop;
    } else throw new Error(`malformed request: unsupported wire type ${wireType}`);
  }
}

// Ids and names are short and ASCII; scanning them here is cheaper than a view plus a native call.
function isValidUtf8(bytes: Uint8Array, start: number, stop: number): boolean {
  if (stop - start <= 64) {
    let i = start;
    while (i < stop && (bytes[i] ?? 0x80) < 0x80) i++;
    if (i === stop) return true;
  }
  return isUtf8(bytes.subarray(start, stop));
}
