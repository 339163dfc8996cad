import { describe, expect, it } from 'vitest';
import { SearchAttributesCodec, type Payload, type SearchAttributes } from '../proto-types.js';
import { parseRfc3339Ms } from './datetime.js';
import { checkSearchAttributes, indexSearchAttributes, withTypeMetadata } from './search-attribute-values.js';

const CUSTOM = new Map([
  ['Color', 'Keyword'],
  ['Tags', 'KeywordList'],
  ['Amount', 'Double'],
  ['Count', 'Int'],
  ['Vip', 'Bool'],
  ['Due', 'Datetime'],
  ['Notes', 'Text'],
] as const);

const text = (bytes: Uint8Array | null | undefined): string | undefined => (bytes ? Buffer.from(bytes).toString() : undefined);

function json(value: unknown, type?: string): Payload {
  const metadata: Record<string, Uint8Array> = { encoding: Buffer.from('json/plain') };
  if (type !== undefined) metadata['type'] = Buffer.from(type);
  return { metadata, data: Buffer.from(JSON.stringify(value)) };
}

const attributes = (fields: Record<string, Payload>): SearchAttributes => ({ indexedFields: fields });

function problem(fields: Record<string, Payload>): string {
  const result = checkSearchAttributes(CUSTOM, attributes(fields));
  if (result.ok) throw new Error('expected the attributes to be refused');
  return result.message;
}

describe('checkSearchAttributes', () => {
  it('accepts values of the registered types and stamps each payload with its type', () => {
    const all = checkSearchAttributes(
      CUSTOM,
      attributes({
        Color: json('red'),
        Tags: json(['a', 'b']),
        Amount: json(1.5, 'Double'),
        Vip: json(true),
        Due: json('2024-05-06T07:08:09.123Z'),
        Notes: json('free text'),
        BuildIds: json(['v1']),
      }),
    );
    expect(all.ok).toBe(true);
    // One-element lists stand for their element, one string for a one-element KeywordList; a wrong
    // type in the metadata is replaced by the registered one.
    const ok = checkSearchAttributes(CUSTOM, attributes({ Color: json('red'), Tags: json('solo'), Count: json([3]), Amount: json(2, 'Int') }));
    if (!ok.ok) throw new Error(ok.message);
    const fields = ok.searchAttributes.indexedFields ?? {};
    expect(Object.fromEntries(Object.entries(fields).map(([name, payload]) => [name, text(payload.metadata?.['type'])]))).toEqual({
      Color: 'Keyword',
      Tags: 'KeywordList',
      Count: 'Int',
      Amount: 'Double',
    });
    expect(text(fields['Color']?.data)).toBe('"red"');
    expect(text(fields['Color']?.metadata?.['encoding'])).toBe('json/plain');
  });

  it('lets a null value through untouched: it removes the attribute on upsert', () => {
    const result = checkSearchAttributes(CUSTOM, attributes({ Color: json(null), Tags: { metadata: { encoding: Buffer.from('binary/null') } } }));
    expect(result.ok && Object.keys(result.searchAttributes.indexedFields ?? {})).toEqual(['Color', 'Tags']);
    expect(result.ok && result.searchAttributes.indexedFields?.['Color']?.metadata?.['type']).toBeUndefined();
  });

  it('names the attribute it refuses, as Temporal words it', () => {
    expect(problem({ Colour: json('red') })).toBe('search attribute Colour is not defined');
    expect(problem({ Colour: json(null) })).toBe('search attribute Colour is not defined');
    expect(problem({ WorkflowId: json('x') })).toBe("WorkflowId attribute can't be set in SearchAttributes");
    expect(problem({ TemporalWorkerDeployment: json('x') })).toBe("TemporalWorkerDeployment attribute can't be set in SearchAttributes");
    expect(problem({ Count: json(1.5) })).toBe('invalid value for search attribute Count of type Int: 1.5');
    expect(problem({ Count: json([1, 2]) })).toBe('invalid value for search attribute Count of type Int: [1,2]');
    expect(problem({ Vip: json('yes') })).toBe('invalid value for search attribute Vip of type Bool: "yes"');
    expect(problem({ Due: json('tomorrow') })).toBe('invalid value for search attribute Due of type Datetime: "tomorrow"');
    expect(problem({ Tags: json([1]) })).toBe('invalid value for search attribute Tags of type KeywordList: [1]');
    expect(problem({ Color: { metadata: { encoding: Buffer.from('binary/plain') }, data: Buffer.from('x') } })).toContain(
      'invalid value for search attribute Color of type Keyword: value of 1 bytes with encoding binary/plain',
    );
    expect(problem({ Color: json('x'.repeat(3_000)) })).toBe('search attribute Color value size 3002 exceeds size limit 2048');
  });
});

describe('indexSearchAttributes', () => {
  it('decodes typed payloads to the values filters compare', () => {
    const encoded = SearchAttributesCodec.encode(
      attributes({
        Color: json('red', 'Keyword'),
        Tags: json('solo', 'KeywordList'),
        Count: json([3], 'Int'),
        Vip: json(false, 'Bool'),
        Due: json('2024-05-06T07:08:09.123456Z', 'Datetime'),
        Legacy: json(['x', 'y']),
        Gone: json(null, 'Keyword'),
        Broken: json('not a number', 'Int'),
      }),
    ).finish();
    expect(indexSearchAttributes(encoded)).toEqual({
      Color: 'red',
      Tags: ['solo'],
      Count: 3,
      Vip: false,
      Due: Date.UTC(2024, 4, 6, 7, 8, 9, 123) + 0.456,
      Legacy: ['x', 'y'],
    });
    expect(indexSearchAttributes(null)).toBeNull();
    expect(indexSearchAttributes(SearchAttributesCodec.encode(attributes({})).finish())).toBeNull();
  });
});

describe('withTypeMetadata', () => {
  it('adds the registered type where a payload has none, and leaves the rest alone', () => {
    const out = withTypeMetadata(CUSTOM, attributes({ Color: json('red'), Count: json(1, 'Double'), Unknown: json('x'), BuildIds: json(['b']) }));
    const types = Object.fromEntries(Object.entries(out.indexedFields ?? {}).map(([name, p]) => [name, text(p.metadata?.['type'])]));
    expect(types).toEqual({ Color: 'Keyword', Count: 'Double', Unknown: undefined, BuildIds: 'KeywordList' });
    expect(withTypeMetadata(CUSTOM, null)).toEqual({ indexedFields: {} });
  });
});

describe('parseRfc3339Ms', () => {
  it("reads what Go's RFC3339Nano reads, to fractional epoch milliseconds", () => {
    expect(parseRfc3339Ms('2024-01-02T03:04:05Z')).toBe(Date.UTC(2024, 0, 2, 3, 4, 5));
    expect(parseRfc3339Ms('2024-01-02t03:04:05.5-02:30')).toBe(Date.UTC(2024, 0, 2, 5, 34, 5, 500));
    expect(parseRfc3339Ms('2024-01-02T03:04:05.000000001Z')).toBe(Date.UTC(2024, 0, 2, 3, 4, 5) + 0.000001);
    expect(parseRfc3339Ms('0001-01-01T00:00:00Z')).toBe(-62_135_596_800_000);
    for (const bad of ['2024-01-02', '2024-01-02T03:04:05', '2024-02-30T00:00:00Z', '2024-01-02T24:00:00Z', '2024-01-02T03:04:05+24:00', 'x']) {
      expect(parseRfc3339Ms(bad), bad).toBeNull();
    }
  });
});
