// Typed search attributes, shaped like the official SDK's: keys made with `defineSearchAttributeKey`
// carry their indexed type, `TypedSearchAttributes` holds typed values (DATETIME as Date, KEYWORD_LIST
// as string[], the rest as one value). On the wire each attribute is one payload whose `type`
// metadata names the type (`Keyword`, `KeywordList`, ...).
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

/** The payload of a typed value, with its `type` metadata (null: the removal payload). */
export function encodeTypedSearchAttribute(converter: PayloadConverter, pair: SearchAttributeUpdatePair): Payload {
  const value = pair.value instanceof Date ? pair.value.toISOString() : pair.value;
  const payload = converter.toPayload(value ?? null);
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
  const single = Array.isArray(decoded) && type !== 'KEYWORD_LIST' ? (decoded as unknown[])[0] : decoded;
  if (single === undefined || single === null) return undefined;
  const value = type === 'DATETIME' ? new Date(String(single)) : type === 'KEYWORD_LIST' && !Array.isArray(single) ? [single] : single;
  return { key: { name, type }, value: value as never };
}
