import { afterEach, describe, expect, it } from 'vitest';
import { AlreadyExistsError, InvalidArgumentError } from '../errors.js';
import { SqliteStore } from '../persistence/sqlite/sqlite-store.js';
import { decodePageToken, encodePageToken } from './page-token.js';
import { SearchAttributeRegistry } from './search-attribute-registry.js';

const stores: SqliteStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

function open(): SqliteStore {
  const store = SqliteStore.open({ filename: ':memory:' });
  stores.push(store);
  return store;
}

const error = async (promise: Promise<unknown>): Promise<unknown> => promise.then(() => undefined, (reason: unknown) => reason);

describe('SearchAttributeRegistry', () => {
  it('adds per namespace, idempotently for the same type, and writes through to the store', async () => {
    const store = open();
    const registry = await SearchAttributeRegistry.load(store, ['ns-1', 'ns-2']);
    await registry.add('ns-1', new Map([['Color', 'Keyword'], ['Amount', 'Double']]));
    await registry.add('ns-1', new Map([['Color', 'Keyword']]));
    await registry.add('ns-2', new Map([['Color', 'Int']]));
    expect([...registry.custom('ns-1')]).toEqual([['Color', 'Keyword'], ['Amount', 'Double']]);
    expect([...registry.custom('ns-2')]).toEqual([['Color', 'Int']]);
    expect([...registry.custom('ns-3')]).toEqual([]);
    const reloaded = await SearchAttributeRegistry.load(store, ['ns-1', 'ns-2']);
    expect(new Map(reloaded.custom('ns-1'))).toEqual(new Map(registry.custom('ns-1')));
  });

  it('refuses reserved and unusable names, other types, and empty requests, changing nothing', async () => {
    const store = open();
    const registry = await SearchAttributeRegistry.load(store, ['ns']);
    await registry.add('ns', new Map([['Color', 'Keyword']]));
    const snapshot = registry.custom('ns');
    for (const [name, message] of [
      ['WorkflowId', 'Search attribute WorkflowId is reserved by system.'],
      ['TemporalAnything', 'Search attribute TemporalAnything is reserved by system.'],
      ['BuildIds', 'Search attribute BuildIds is reserved by system.'],
      ['Bad`Name', 'contains a character that is not allowed'],
      ['', 'Search attribute name is empty.'],
    ] as const) {
      const refused = await error(registry.add('ns', new Map([['Fine', 'Int'], [name, 'Keyword']])));
      expect(refused).toBeInstanceOf(InvalidArgumentError);
      expect((refused as Error).message).toContain(message);
    }
    const conflict = await error(registry.add('ns', new Map([['Other', 'Int'], ['Color', 'Int']])));
    expect(conflict).toBeInstanceOf(AlreadyExistsError);
    expect((conflict as Error).message).toBe('Search attribute Color already exists (as Keyword).');
    await expect(registry.add('ns', new Map())).rejects.toThrow('SearchAttributes are not set on request.');
    expect(registry.custom('ns')).toBe(snapshot);
    expect(await store.listSearchAttributes('ns')).toEqual([{ name: 'Color', type: 'Keyword' }]);
  });

  it('removes custom attributes, ignores unknown names, refuses system ones', async () => {
    const registry = await SearchAttributeRegistry.load(open(), ['ns']);
    await registry.add('ns', new Map([['Color', 'Keyword'], ['Amount', 'Double']]));
    const before = registry.custom('ns');
    await registry.remove('ns', ['Color', 'NeverAdded']);
    expect([...registry.custom('ns')]).toEqual([['Amount', 'Double']]);
    expect([...before]).toHaveLength(2);
    await expect(registry.remove('ns', ['ExecutionStatus'])).rejects.toThrow('Unable to remove non-custom search attributes: ExecutionStatus.');
  });

  it('lists system, predefined and every namespace custom attribute for GetSearchAttributes', async () => {
    const registry = await SearchAttributeRegistry.load(open(), []);
    await registry.add('b', new Map([['Shared', 'Int'], ['OnlyB', 'Bool']]));
    await registry.add('a', new Map([['Shared', 'Keyword']]));
    const all = registry.all();
    expect(all.get('WorkflowId')).toBe('Keyword');
    expect(all.get('TemporalChangeVersion')).toBe('KeywordList');
    expect(all.get('Shared')).toBe('Keyword');
    expect(all.get('OnlyB')).toBe('Bool');
  });
});

describe('page tokens', () => {
  it('round-trip a cursor and refuse what this server did not make', () => {
    for (const cursor of [{ closeTimeMs: null, startTimeMs: 5, runId: 'r' }, { closeTimeMs: 10, startTimeMs: 5, runId: '' }]) {
      expect(decodePageToken(encodePageToken(cursor))).toEqual(cursor);
    }
    expect(decodePageToken(null)).toBeNull();
    expect(decodePageToken(new Uint8Array())).toBeNull();
    for (const bad of ['x', '{}', '{"closeTime":"1","startTime":1,"runId":"r"}', 'null', '{"closeTime":null,"startTime":1}']) {
      expect(() => decodePageToken(Buffer.from(bad))).toThrow('Invalid NextPageToken.');
    }
  });
});
