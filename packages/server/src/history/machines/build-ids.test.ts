// The BuildIds search attribute kept on workflow task completion: the sentinel, the builds in order
// of first appearance, other attributes untouched, no rewrite when nothing changes, and the size cap.
import { describe, expect, it } from 'vitest';
import { SearchAttributesCodec, type Payload } from '../../proto-types.js';
import type { MutableState } from '../mutable-state.js';
import { BUILD_IDS, recordBuildId, withoutWorkerAttributes } from './build-ids.js';

const text = (bytes: Uint8Array | null | undefined): string => new TextDecoder().decode(bytes ?? new Uint8Array());

function fields(state: Pick<MutableState, 'searchAttributes'>): Record<string, Payload> {
  return state.searchAttributes ? (SearchAttributesCodec.decode(state.searchAttributes).indexedFields ?? {}) : {};
}

function buildIds(state: Pick<MutableState, 'searchAttributes'>): unknown {
  return JSON.parse(text(fields(state)[BUILD_IDS]?.data));
}

function run(searchAttributes: Uint8Array | null = null): MutableState {
  return { searchAttributes } as MutableState;
}

describe('recordBuildId', () => {
  it('writes the unversioned sentinel and the build, typed as a keyword list', () => {
    const state = run();
    recordBuildId(state, { buildId: 'b1', useVersioning: false });
    expect(buildIds(state)).toEqual(['unversioned', 'unversioned:b1']);
    const metadata = fields(state)[BUILD_IDS]?.metadata ?? {};
    expect(text(metadata['type'])).toBe('KeywordList');
    expect(text(metadata['encoding'])).toBe('json/plain');
  });

  it('leaves the encoded attributes as they are when the build was already seen', () => {
    const state = run();
    recordBuildId(state, { buildId: 'b1', useVersioning: false });
    const before = state.searchAttributes;
    recordBuildId(state, { buildId: 'b1', useVersioning: false });
    expect(state.searchAttributes).toBe(before);
  });

  it('appends a new build after the ones seen, and keeps other attributes', () => {
    const custom: Payload = { metadata: { type: new TextEncoder().encode('Keyword') }, data: new TextEncoder().encode('"x"') };
    const state = run(SearchAttributesCodec.encode({ indexedFields: { CustomKeywordField: custom } }).finish());
    recordBuildId(state, { buildId: 'b1', useVersioning: false });
    recordBuildId(state, { buildId: 'b2', useVersioning: false });
    expect(buildIds(state)).toEqual(['unversioned', 'unversioned:b1', 'unversioned:b2']);
    expect(text(fields(state)['CustomKeywordField']?.data)).toBe('"x"');
  });

  it('records only the sentinel for a worker without a build id, and no sentinel for a versioned one', () => {
    const plain = run();
    recordBuildId(plain, null);
    expect(buildIds(plain)).toEqual(['unversioned']);
    const versioned = run();
    recordBuildId(versioned, { buildId: 'v7', useVersioning: true });
    expect(buildIds(versioned)).toEqual(['versioned:v7']);
  });

  it('drops the oldest builds, never the sentinel, to stay within 2 KB', () => {
    const state = run();
    for (let i = 0; i < 40; i++) recordBuildId(state, { buildId: `build-${i}-${'x'.repeat(60)}`, useVersioning: false });
    const list = buildIds(state) as string[];
    expect(list[0]).toBe('unversioned');
    expect(list.at(-1)).toBe(`unversioned:build-39-${'x'.repeat(60)}`);
    expect(list).not.toContain(`unversioned:build-0-${'x'.repeat(60)}`);
    expect(JSON.stringify(list).length).toBeLessThanOrEqual(2048);
  });
});

describe('BinaryChecksums', () => {
  it('lists each reported checksum once, in order, the last 20', () => {
    const state = run();
    recordBuildId(state, null, '@temporalio/worker@1.24.0+abc');
    recordBuildId(state, null, '@temporalio/worker@1.24.0+abc');
    expect(JSON.parse(text(fields(state)['BinaryChecksums']?.data))).toEqual(['@temporalio/worker@1.24.0+abc']);
    expect(buildIds(state)).toEqual(['unversioned']);
    for (let i = 0; i < 25; i++) recordBuildId(state, null, `c${i}`);
    const list = JSON.parse(text(fields(state)['BinaryChecksums']?.data)) as string[];
    expect(list).toHaveLength(20);
    expect(list[19]).toBe('c24');
  });
});

describe('withoutWorkerAttributes', () => {
  it('leaves out what describes the old run workers', () => {
    const p: Payload = { data: new Uint8Array([1]) };
    expect(Object.keys(withoutWorkerAttributes({ BuildIds: p, BinaryChecksums: p, Color: p }))).toEqual(['Color']);
    expect(withoutWorkerAttributes(null)).toEqual({});
  });
});
