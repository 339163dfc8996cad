// Search attribute and memo upserts: an UpsertWorkflowSearchAttributes / ModifyWorkflowProperties
// command, and workflowInfo() changed at once (on replay too, since the code runs again).
import { encodeTypedSearchAttribute, type Payload, type SearchAttributes, type SearchAttributeUpdatePair } from '@kairos/sdk-common';
import { getActivator } from './runtime.js';

export type { SearchAttributes } from '@kairos/sdk-common';

/**
 * Adds or replaces search attributes of this run: `{ Name: [values] }` (an empty list removes one) or
 * the typed form `[{ key, value }]` with keys from `defineSearchAttributeKey` (a null value removes
 * one). Both forms update `workflowInfo().searchAttributes` and `typedSearchAttributes`; an untyped
 * update reaches the typed view only for attributes whose type it already knows.
 */
export function upsertSearchAttributes(update: SearchAttributes | readonly SearchAttributeUpdatePair[]): void {
  const activator = getActivator();
  const info = activator.requireInfo();
  const fields: Record<string, Payload> = {};
  if (Array.isArray(update)) {
    const pairs = update as readonly SearchAttributeUpdatePair[];
    for (const pair of pairs) {
      const { key, value } = pair;
      const values = value === null || value === undefined ? [] : Array.isArray(value) ? (value as unknown[]) : [value];
      fields[key.name] = encodeTypedSearchAttribute(activator.converter, pair);
      setOrRemove(info.searchAttributes, key.name, values);
    }
    info.typedSearchAttributes = info.typedSearchAttributes.updateCopy(pairs);
  } else {
    for (const [name, values] of Object.entries(update as SearchAttributes)) {
      const list = values === undefined ? [] : [...values];
      fields[name] = activator.converter.toPayload(list);
      setOrRemove(info.searchAttributes, name, list);
      const known = info.typedSearchAttributes.getAll().find((pair) => pair.key.name === name);
      if (known !== undefined) {
        const value = list.length === 0 ? null : known.key.type === 'KEYWORD_LIST' ? list : known.key.type === 'DATETIME' ? new Date(String(list[0])) : list[0];
        info.typedSearchAttributes = info.typedSearchAttributes.updateCopy([{ key: known.key, value: value as never }]);
      }
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
