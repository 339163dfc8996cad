// Typed search attributes, shaped like the official SDK's: keys made with `defineSearchAttributeKey`
// carry their indexed type, `TypedSearchAttributes` holds typed values (DATETIME as Date, KEYWORD_LIST
// as string[], the rest as one value). On the wire each attribute is one payload whose `type`
// metadata names the type (`Keyword`, `KeywordList`, ...).
import { JsonPayloadConverter } from './composite-converter.js';
import { decodeUtf8, encodeUtf8, type Payload, type PayloadConverter } from './payload.js';

export const SearchAttributeType = {
  TEXT: 'TEXT',
  KEYWORD: 'KEYWORD',
  INT: 'INT',
  DOUBLE: 'DOUBLE',
  BOOL: 'BOOL',
  DATETIME: 'DATETIME',
  KEYWORD_LIST: 'KEYWORD_LIST',
} as const;
export type SearchAttributeType = (typeof SearchAttributeType)[keyof typeof SearchAttributeType];

interface IndexedValueTypeMapping {
  TEXT: string;
  KEYWORD: string;
  INT: number;
  DOUBLE: number;
  BOOL: boolean;
  DATETIME: Date;
  KEYWORD_LIST: string[];
}

export interface SearchAttributeKey<T extends SearchAttributeType = SearchAttributeType> {
  readonly name: string;
  readonly type: T;
}

export function defineSearchAttributeKey<T extends SearchAttributeType>(name: string, type: T): SearchAttributeKey<T> {
  return { name, type };
}

export interface SearchAttributePair<T extends SearchAttributeType = SearchAttributeType> {
  readonly key: SearchAttributeKey<T>;
  readonly value: IndexedValueTypeMapping[T];
}

/** One typed update; `value` null removes the attribute. */
export interface SearchAttributeUpdatePair<T extends SearchAttributeType = SearchAttributeType> {
  readonly key: SearchAttributeKey<T>;
  readonly value: IndexedValueTypeMapping[T] | null;
}

const METADATA_TYPES: Readonly<Record<SearchAttributeType, string>> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

function isSearchAttributeType(type: string): type is SearchAttributeType {
  return Object.prototype.hasOwnProperty.call(METADATA_TYPES, type);
}

/** A key's type as a SearchAttributeType; keys written with the metadata name (`Keyword`) are accepted too. */
function normalisedKey(key: SearchAttributeKey): SearchAttributeKey {
  if (isSearchAttributeType(key.type)) return key;
  const type = TypedSearchAttributes.toSearchAttributeType(key.type);
  return type === undefined ? key : { name: key.name, type };
}

/** Values as the application sees them: a copy, so callers cannot change what is stored. */
function copyValue(value: unknown): unknown {
  if (Array.isArray(value)) return [...(value as unknown[])];
  if (value instanceof Date) return new Date(value.getTime());
  return value;
}

/** Search attributes with their types; immutable: `updateCopy` returns a changed copy. */
export class TypedSearchAttributes {
  readonly #pairs = new Map<string, SearchAttributePair>();

  constructor(initial: readonly SearchAttributePair[] = []) {
    for (const pair of initial) this.#pairs.set(pair.key.name, { key: pair.key, value: copyValue(pair.value) as never });
  }

  get<T extends SearchAttributeType>(key: SearchAttributeKey<T>): IndexedValueTypeMapping[T] | undefined {
    const pair = this.#pairs.get(key.name);
    return pair === undefined || pair.key.type !== key.type ? undefined : (copyValue(pair.value) as IndexedValueTypeMapping[T]);
  }

  getAll(): SearchAttributePair[] {
    return [...this.#pairs.values()].map((pair) => ({ key: pair.key, value: copyValue(pair.value) as never }));
  }

  copy(): TypedSearchAttributes {
    return new TypedSearchAttributes(this.getAll());
  }

  updateCopy(updates: readonly SearchAttributeUpdatePair[]): TypedSearchAttributes {
    const next = this.copy();
    for (const { key, value } of updates) {
      if (value === null || value === undefined) next.#pairs.delete(key.name);
      else next.#pairs.set(key.name, { key: normalisedKey(key), value: copyValue(value) as never });
    }
    return next;
  }

  toJSON(): SearchAttributePair[] {
    return this.getAll();
  }

  static toMetadataType(type: SearchAttributeType): string {
    return METADATA_TYPES[type];
  }

  static toSearchAttributeType(metadataType: string): SearchAttributeType | undefined {
    const entry = Object.entries(METADATA_TYPES).find(([, name]) => name === metadataType);
    return entry === undefined ? undefined : (entry[0] as SearchAttributeType);
  }
}

/** The payload of a typed value, with its `type` metadata (null: the removal payload, without a type, as the server wants it). */
export function encodeTypedSearchAttribute(converter: PayloadConverter, pair: SearchAttributeUpdatePair): Payload {
  const value = pair.value instanceof Date ? pair.value.toISOString() : pair.value;
  const payload = converter.toPayload(value ?? null);
  if (value === null || value === undefined) return payload;
  const { type } = normalisedKey(pair.key);
  if (!isSearchAttributeType(type)) return payload;
  return { ...payload, metadata: { ...payload.metadata, type: encodeUtf8(METADATA_TYPES[type]) } };
}

/** A stored attribute's payload as a typed pair, when its `type` metadata says which type it has. */
export function decodeTypedSearchAttribute(converter: PayloadConverter, name: string, payload: Payload): SearchAttributePair | undefined {
  const rawType = payload.metadata?.['type'];
  if (rawType === undefined || rawType === null) return undefined;
  const type = TypedSearchAttributes.toSearchAttributeType(decodeUtf8(rawType));
  if (type === undefined) return undefined;
  const decoded = converter.fromPayload(payload);
  // Untyped writers send every value as a list; only KEYWORD_LIST keeps it.
  if (Array.isArray(decoded) && type !== 'KEYWORD_LIST' && decoded.length > 1) return undefined;
  const single = Array.isArray(decoded) && type !== 'KEYWORD_LIST' ? (decoded as unknown[])[0] : decoded;
  if (single === undefined || single === null) return undefined;
  const value = type === 'DATETIME' ? new Date(String(single)) : type === 'KEYWORD_LIST' && !Array.isArray(single) ? [single] : single;
  return { key: { name, type }, value: value as never };
}

/** The untyped (legacy) form: each attribute a list of values. */
export type SearchAttributes = Record<string, readonly unknown[] | undefined>;

// Search attribute payloads are JSON whatever the data converter is: the server reads them to index
// them, so neither a custom payload converter nor a codec may touch them.
const json = new JsonPayloadConverter();

function jsonPayload(value: unknown): Payload {
  const payload = json.toPayload(value);
  if (payload === undefined) throw new TypeError(`search attribute value ${String(value)} cannot be sent as JSON`);
  return payload;
}

const searchAttributeJson: PayloadConverter = {
  toPayload: jsonPayload,
  fromPayload: <T>(payload: Payload): T => json.fromPayload<T>(payload),
};

/**
 * A start's (or child's, or continue-as-new's) `searchAttributes.indexedFields` from both option forms:
 * untyped lists as JSON arrays without a type, typed pairs as JSON values with `type` metadata. When
 * both name an attribute the typed one wins, as in the official SDK.
 */
export function encodeUnifiedSearchAttributes(
  searchAttributes: SearchAttributes | undefined,
  typedSearchAttributes: TypedSearchAttributes | readonly SearchAttributePair[] | undefined,
): Record<string, Payload> {
  const fields: Record<string, Payload> = {};
  for (const [name, values] of Object.entries(searchAttributes ?? {})) {
    if (values === undefined) continue;
    if (!Array.isArray(values)) throw new TypeError(`search attribute ${name}: the untyped form takes a list of values`);
    fields[name] = jsonPayload(values);
  }
  const pairs = typedSearchAttributes === undefined ? [] : Array.isArray(typedSearchAttributes) ? typedSearchAttributes : (typedSearchAttributes as TypedSearchAttributes).getAll();
  for (const pair of pairs as readonly SearchAttributePair[]) {
    fields[pair.key.name] = encodeTypedSearchAttribute(searchAttributeJson, pair);
  }
  return fields;
}

/** Stored attributes in the untyped form: every value a list, `Datetime` ones as Dates; empty lists left out. */
export function decodeSearchAttributes(indexedFields: Readonly<Record<string, Payload>> | null | undefined): Record<string, unknown[]> {
  const result: Record<string, unknown[]> = {};
  for (const [name, payload] of Object.entries(indexedFields ?? {})) {
    const decoded = searchAttributeJson.fromPayload(payload);
    let values = Array.isArray(decoded) ? (decoded as unknown[]) : [decoded];
    const rawType = payload.metadata?.['type'];
    if (rawType !== undefined && rawType !== null && decodeUtf8(rawType) === 'Datetime') values = values.map((v) => new Date(String(v)));
    if (values.length > 0 && !(values.length === 1 && values[0] === null)) result[name] = values;
  }
  return result;
}

/** Stored attributes in the typed form: only those whose payload names its type. */
export function decodeTypedSearchAttributes(indexedFields: Readonly<Record<string, Payload>> | null | undefined): TypedSearchAttributes {
  return new TypedSearchAttributes(
    Object.entries(indexedFields ?? {})
      .map(([name, payload]) => decodeTypedSearchAttribute(searchAttributeJson, name, payload))
      .filter((pair): pair is SearchAttributePair => pair !== undefined),
  );
}
