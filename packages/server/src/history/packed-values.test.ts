import { describe, expect, it } from 'vitest';
import { decodePacked, encodePacked, UnpackableValueError, type PackedValue } from './packed-values.js';

const roundTrip = (value: PackedValue): PackedValue => decodePacked(encodePacked(9, value), 1);

describe('packed values', () => {
  it('round-trips every kind of value it has a tag for', () => {
    const value: PackedValue = [
      undefined, null, true, false,
      0, 1, -1, 127, 128, -129, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 1_795_252_320_471, Number.MAX_SAFE_INTEGER,
      0.5, -1e-300, Number.NaN, Number.POSITIVE_INFINITY, -0,
      '', 'ascii id-1', 'naïve', '日本語', '😀 emoji', 'x'.repeat(300),
      new Uint8Array([]), new Uint8Array([0, 255, 7]),
      [], [[1, ['deep', [new Uint8Array([1])]]]],
    ];
    const back = roundTrip(value) as PackedValue[];
    expect(back).toEqual(value);
    expect(Object.is(back[20], -0)).toBe(true);
    expect(back.length).toBe((value as PackedValue[]).length);
  });

  it('writes the format byte first and returns a buffer of its own, not a slice of a shared pool', () => {
    const bytes = encodePacked(3, ['a']);
    expect(bytes[0]).toBe(3);
    expect(bytes.byteOffset).toBe(0);
    expect(bytes.buffer.byteLength).toBe(bytes.length);
  });

  it('grows past its scratch buffer for a large value', () => {
    const big = new Uint8Array(100_000).map((_, i) => i % 251);
    const text = 'é'.repeat(50_000);
    const [first, middle, last] = roundTrip([big, text, big]) as [Uint8Array, string, Uint8Array];
    // Compared as buffers: an element-by-element toEqual of 100,000 numbers takes seconds.
    expect(Buffer.compare(first, big)).toBe(0);
    expect(middle === text).toBe(true);
    expect(Buffer.compare(last, big)).toBe(0);
    // ... and what follows is encoded from the start again.
    expect(roundTrip(['small'])).toEqual(['small']);
  });

  it('copies bytes out, so a decoded field does not hold the encoded state', () => {
    const bytes = encodePacked(1, [new Uint8Array([1, 2, 3])]);
    const [field] = decodePacked(bytes, 1) as [Uint8Array];
    bytes.fill(0);
    expect([...field]).toEqual([1, 2, 3]);
    expect(field.buffer.byteLength).toBe(3);
  });

  it('refuses values it has no tag for', () => {
    expect(() => encodePacked(1, [{ a: 1 }] as unknown as PackedValue)).toThrow(UnpackableValueError);
    expect(() => encodePacked(1, [10n] as unknown as PackedValue)).toThrow(UnpackableValueError);
    // The failed encode leaves nothing behind for the next one.
    expect(roundTrip(['after'])).toEqual(['after']);
  });

  it('refuses truncated or trailing bytes and unknown tags', () => {
    const bytes = encodePacked(1, ['abcdef', [1, 2]]);
    for (let end = 1; end < bytes.length; end++) expect(() => decodePacked(bytes.subarray(0, end), 1)).toThrow(RangeError);
    expect(() => decodePacked(Buffer.concat([bytes, Buffer.from([0])]), 1)).toThrow(/bytes after the value/);
    expect(() => decodePacked(Buffer.from([1, 42]), 1)).toThrow(/unknown tag 42/);
    expect(() => decodePacked(Buffer.from([1, 4, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), 1)).toThrow(/varint too long/);
  });

  it('reads a plain Uint8Array as well as a Buffer', () => {
    const bytes = encodePacked(1, ['x', 5]);
    expect(decodePacked(new Uint8Array(bytes), 1)).toEqual(['x', 5]);
  });
});
