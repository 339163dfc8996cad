// Search attribute and memo upserts: an UpsertWorkflowSearchAttributes / ModifyWorkflowProperties
// command, and workflowInfo() changed at once (on replay too, since the code runs again).
import type { Payload } from '@kairos/sdk-common';
import { getActivator } from './runtime.js';

/** A typed search attribute key (the shape of the official SDK's `defineSearchAttributeKey`). */
export interface SearchAttributeKey {
  readonly name: string;
  readonly type: string;
}

/** One typed update; `value` null (or undefined) removes the attribute. */
export interface SearchAttributeUpdatePair {
  readonly key: SearchAttributeKey;
  readonly value: unknown;
}

export type SearchAttributes = Record<string, readonly unknown[] | undefined>;

/** The official SDK's key types (`KEYWORD_LIST`) as payload metadata names them (`KeywordList`). */
const METADATA_TYPES: Readonly<Record<string, string>> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

function typedPayload(payload: Payload, type: string): Payload {
  const metadataType = METADATA_TYPES[type] ?? type;
  return { ...payload, metadata: { ...payload.metadata, type: new TextEncoder().encode(metadataType) } };
}

/**
 * Adds or replaces search attributes of this run: `{ Name: [values] }` (an empty list removes one) or
 * the typed form `[{ key, value }]`.
 */
export function upsertSearchAttributes(update: SearchAttributes | readonly SearchAttributeUpdatePair[]): void {
  const activator = getActivator();
  const info = activator.requireInfo();
  const fields: Record<string, Payload> = {};
  if (Array.isArray(update)) {
    for (const { key, value } of update as readonly SearchAttributeUpdatePair[]) {
      const values = value === null || value === undefined ? [] : Array.isArray(value) ? (value as unknown[]) : [value];
      fields[key.name] = typedPayload(activator.converter.toPayload(value ?? null), key.type);
      setOrRemove(info.searchAttributes, key.name, values);
    }
  } else {
    for (const [name, values] of Object.entries(update as SearchAttributes)) {
      const list = values === undefined ? [] : [...values];
      fields[name] = activator.converter.toPayload(list);
      setOrRemove(info.searchAttributes, name, list);
    }
  }
  activator.pushCommand({ kind: 'upsertSearchAttributes', searchAttributes: fields });
}

function setOrRemove(target: Record<string, unknown[]>, name: string, values: unknown[]): void {
  if (values.length === 0) delete target[name];
  else target[name] = values;
}

/** Adds or replaces memo fields of this run; a null (or undefined) value removes the field. */
export function upsertMemo(memo: Record<string, unknown>): void {
  const activator = getActivator();
  const info = activator.requireInfo();
  const fields: Record<string, Payload> = {};
  const current = { ...(info.memo ?? {}) };
  for (const [key, value] of Object.entries(memo)) {
    fields[key] = activator.converter.toPayload(value ?? null);
    if (value === null || value === undefined) delete current[key];
    else current[key] = value;
  }
  info.memo = current;
  activator.pushCommand({ kind: 'modifyWorkflowProperties', memo: fields });
}
