// Search attribute payloads, the one kind of payload the server reads. A value is a JSON payload
// (`json/plain`) whose `metadata.type` names its IndexedValueType.
// - On the way in (start, upsert) every name must be defined for the namespace and every value must
//   decode as the registered type (Temporal's validator); the payload is then stamped with the
//   registered type, so that what is stored is self-describing.
// - For the store, the values are decoded once per transition to typed values (indexSearchAttributes).
// - On the way out (describe, list) a payload without a type gets the registered one: the TS client's
//   typed decoder silently skips values without it.

import { SearchAttributesCodec, type Payload, type SearchAttributes } from '../proto-types.js';
import type { SearchAttributeTypeName, SearchAttributeValue, SearchAttributeValues } from '../persistence/visibility.js';
import { parseRfc3339Ms } from './datetime.js';
import { ContentMemo } from '../content-memo.js';
import { isSearchAttributeTypeName, PREDEFINED_SEARCH_ATTRIBUTES, SYSTEM_SEARCH_ATTRIBUTES, USER_SETTABLE_PREDEFINED } from './search-attributes.js';

/** The custom attributes of one namespace (a snapshot: the registry replaces, never mutates, it). */
export type NamespaceSearchAttributes = ReadonlyMap<string, SearchAttributeTypeName>;

/** Temporal's defaults (dynamic config limit.numberOfSearchAttributes / searchAttributesSize*). */
export const SEARCH_ATTRIBUTE_LIMITS = { maxKeys: 100, maxValueBytes: 2 * 1024, maxTotalBytes: 40 * 1024 } as const;

const JSON_ENCODING = 'json/plain';
const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

export type SearchAttributesCheck =
  | { readonly ok: true; readonly searchAttributes: SearchAttributes }
  | { readonly ok: false; readonly message: string };

/** The type a run's attribute has in a namespace: custom, else predefined; undefined when undefined. */
export function attributeType(custom: NamespaceSearchAttributes, name: string): SearchAttributeTypeName | undefined {
  return custom.get(name) ?? PREDEFINED_SEARCH_ATTRIBUTES.get(name);
}

/**
 * Validates search attributes a client or workflow sets (start, upsert, continue-as-new, child start)
 * and returns them with `metadata.type` set to each registered type. A null or empty value (which
 * removes the attribute on upsert) passes unchanged.
 */
export function checkSearchAttributes(custom: NamespaceSearchAttributes, searchAttributes: SearchAttributes): SearchAttributesCheck {
  const fields = Object.entries(searchAttributes.indexedFields ?? {});
  const { maxKeys, maxValueBytes, maxTotalBytes } = SEARCH_ATTRIBUTE_LIMITS;
  if (fields.length > maxKeys) return fail(`number of search attributes ${fields.length} exceeds limit ${maxKeys}`);
  const stamped: Record<string, Payload> = {};
  for (const [name, payload] of fields) {
    if (SYSTEM_SEARCH_ATTRIBUTES.has(name) || (PREDEFINED_SEARCH_ATTRIBUTES.has(name) && !USER_SETTABLE_PREDEFINED.has(name))) {
      return fail(`${name} attribute can't be set in SearchAttributes`);
    }
    const type = attributeType(custom, name);
    if (type === undefined) return fail(`search attribute ${name} is not defined`);
    const size = payload.data?.length ?? 0;
    if (size > maxValueBytes) return fail(`search attribute ${name} value size ${size} exceeds size limit ${maxValueBytes}`);
    const decoded = decodeJson(payload);
    if (decoded === undefined || (decoded !== null && toIndexValue(type, decoded) === undefined)) {
      return fail(`invalid value for search attribute ${name} of type ${type}: ${describeValue(payload, decoded)}`);
    }
    stamped[name] = decoded === null ? payload : withType(payload, type);
  }
  const result = { indexedFields: stamped };
  const total = SearchAttributesCodec.encode(result).len;
  if (total > maxTotalBytes) return fail(`total size of search attributes ${total} exceeds size limit ${maxTotalBytes}`);
  return { ok: true, searchAttributes: result };
}

/** The typed values of a run's encoded SearchAttributes, for the store to filter on; null when none. */
export function indexSearchAttributes(encoded: Uint8Array | null): SearchAttributeValues | null {
  if (encoded === null) return null;
  const remembered = indexed.get(encoded);
  if (remembered !== undefined) return remembered;
  const values = indexFresh(encoded);
  indexed.set(encoded, values);
  return values;
}

/** Indexed values by encoded content: runs of one workflow type and worker build repeat theirs. Shared, so frozen. */
const indexed = new ContentMemo<SearchAttributeValues | null>(256, 4096);

function indexFresh(encoded: Uint8Array): SearchAttributeValues | null {
  const values: Record<string, SearchAttributeValue> = {};
  for (const [name, payload] of Object.entries(SearchAttributesCodec.decode(encoded).indexedFields ?? {})) {
    const decoded = decodeJson(payload);
    if (decoded === undefined || decoded === null) continue;
    const typeText = metadataText(payload, 'type');
    const value = typeText !== undefined && isSearchAttributeTypeName(typeText) ? toIndexValue(typeText, decoded) : inferIndexValue(decoded);
    if (value !== undefined) values[name] = value;
  }
  return Object.keys(values).length === 0 ? null : Object.freeze(values);
}

/** `searchAttributes` with `metadata.type` added where it is missing and the type is known. */
export function withTypeMetadata(custom: NamespaceSearchAttributes, searchAttributes: SearchAttributes | null | undefined): SearchAttributes {
  const fields: Record<string, Payload> = {};
  for (const [name, payload] of Object.entries(searchAttributes?.indexedFields ?? {})) {
    const type = attributeType(custom, name);
    fields[name] = type !== undefined && metadataText(payload, 'type') === undefined ? withType(payload, type) : payload;
  }
  return { indexedFields: fields };
}

/**
 * The indexed form of a decoded JSON value for `type`, or undefined when it is not one (Temporal's
 * DecodeValue: a one-element list stands for its element, except for KeywordList, where one string
 * stands for a one-element list).
 */
export function toIndexValue(type: SearchAttributeTypeName, value: unknown): SearchAttributeValue | undefined {
  if (type === 'KeywordList') {
    if (typeof value === 'string') return [value];
    return Array.isArray(value) && value.every((item): item is string => typeof item === 'string') ? value : undefined;
  }
  let scalar = value;
  if (Array.isArray(value)) {
    if (value.length !== 1) return undefined;
    scalar = value[0];
  }
  switch (type) {
    case 'Keyword':
    case 'Text':
      return typeof scalar === 'string' ? scalar : undefined;
    case 'Int':
      return typeof scalar === 'number' && Number.isInteger(scalar) ? scalar : undefined;
    case 'Double':
      return typeof scalar === 'number' ? scalar : undefined;
    case 'Bool':
      return typeof scalar === 'boolean' ? scalar : undefined;
    case 'Datetime':
      return typeof scalar === 'string' ? (parseRfc3339Ms(scalar) ?? undefined) : undefined;
  }
}

/** Runs written before payloads carried types: index what the JSON says. */
function inferIndexValue(value: unknown): SearchAttributeValue | undefined {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value) && value.every((item): item is string => typeof item === 'string')) return value;
  if (Array.isArray(value) && value.length === 1) return inferIndexValue(value[0]);
  return undefined;
}

/** The JSON value of a payload; null for a null/empty payload (a removal); undefined when not JSON. */
function decodeJson(payload: Payload): unknown {
  const data = payload.data;
  const encoding = metadataText(payload, 'encoding');
  if (encoding === 'binary/null' || data === null || data === undefined || data.length === 0) return null;
  if (encoding !== undefined && encoding !== JSON_ENCODING) return undefined;
  try {
    const value: unknown = JSON.parse(utf8.decode(data));
    return Array.isArray(value) && value.length === 0 ? null : value;
  } catch {
    return undefined;
  }
}

function metadataText(payload: Payload, key: string): string | undefined {
  const bytes = payload.metadata?.[key];
  if (bytes === undefined || bytes === null) return undefined;
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function withType(payload: Payload, type: SearchAttributeTypeName): Payload {
  return { ...payload, metadata: { ...(payload.metadata ?? {}), type: encoder.encode(type) } };
}

function describeValue(payload: Payload, decoded: unknown): string {
  if (decoded !== undefined) return JSON.stringify(decoded);
  return `value of ${payload.data?.length ?? 0} bytes with encoding ${metadataText(payload, 'encoding') ?? 'none'}`;
}

function fail(message: string): SearchAttributesCheck {
  return { ok: false, message };
}
