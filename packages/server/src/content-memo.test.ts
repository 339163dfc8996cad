// ContentMemo: equal content (not the same object) finds a value, the tag is part of the key, large
// inputs are never kept, and a full memo starts over.
import { describe, expect, it } from 'vitest';
import { ContentMemo } from './content-memo.js';

describe('ContentMemo', () => {
  it('finds a value by content and tag, and keeps nothing over its byte limit', () => {
    const memo = new ContentMemo<number>(10, 4);
    memo.set(new Uint8Array([1, 2, 3]), 7, 'a');
    expect(memo.get(new Uint8Array([1, 2, 3]), 'a')).toBe(7);
    expect(memo.get(new Uint8Array([1, 2, 3]), 'b')).toBeUndefined();
    expect(memo.get(new Uint8Array([9, 1, 2, 3]).subarray(1), 'a')).toBe(7);
    memo.set(new Uint8Array(5), 1);
    expect(memo.get(new Uint8Array(5))).toBeUndefined();
  });

  it('forgets everything when full', () => {
    const memo = new ContentMemo<number>(2, 16);
    memo.set(new Uint8Array([1]), 1);
    memo.set(new Uint8Array([2]), 2);
    memo.set(new Uint8Array([3]), 3);
    expect(memo.get(new Uint8Array([1]))).toBeUndefined();
    expect(memo.get(new Uint8Array([3]))).toBe(3);
  });
});
