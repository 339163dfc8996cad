import { describe, expect, it } from 'vitest';
import { decodeUtf8, defaultPayloadConverter, encodeUtf8 } from './payload.js';
import { msFromDuration } from './duration.js';

describe('default payload converter', () => {
  it('round-trips JSON, binary and null values with Temporal encodings', () => {
    const cases: unknown[] = ['text', 42, { nested: [1, 'two', null] }, true, [], 'ünïcödé 🎉'];
    for (const value of cases) {
      const payload = defaultPayloadConverter.toPayload(value);
      expect(decodeUtf8(payload.metadata?.['encoding'] ?? new Uint8Array())).toBe('json/plain');
      expect(defaultPayloadConverter.fromPayload(payload)).toEqual(value);
    }
    const bytes = Uint8Array.from([0, 1, 255]);
    const binary = defaultPayloadConverter.toPayload(bytes);
    expect(decodeUtf8(binary.metadata?.['encoding'] ?? new Uint8Array())).toBe('binary/plain');
    expect(defaultPayloadConverter.fromPayload(binary)).toEqual(bytes);
    const empty = defaultPayloadConverter.toPayload(undefined);
    expect(decodeUtf8(empty.metadata?.['encoding'] ?? new Uint8Array())).toBe('binary/null');
    expect(defaultPayloadConverter.fromPayload(empty)).toBeUndefined();
  });

  it('encodes UTF-8 exactly like TextEncoder', () => {
    for (const text of ['', 'ascii', 'é', '€', '𝄞 clef', 'mixed ☃ text 🎉']) {
      expect(encodeUtf8(text)).toEqual(new TextEncoder().encode(text));
      expect(decodeUtf8(new TextEncoder().encode(text))).toBe(text);
    }
  });

  it('rejects values JSON cannot carry, naming the type', () => {
    expect(() => defaultPayloadConverter.toPayload(() => 1)).toThrow(/function/);
  });
});

describe('durations', () => {
  it('reads numbers as milliseconds and text with units', () => {
    expect(msFromDuration(250)).toBe(250);
    expect(msFromDuration('10s')).toBe(10_000);
    expect(msFromDuration('1 hour')).toBe(3_600_000);
    expect(msFromDuration('100ms')).toBe(100);
    expect(msFromDuration('1.5m')).toBe(90_000);
    expect(() => msFromDuration('soon')).toThrow(/invalid duration: 'soon'/);
  });
});
