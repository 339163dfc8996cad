import { describe, expect, it } from 'vitest';
import { RecentEvents } from './recent-events.js';

const ev = (id: number, size = 4): Uint8Array => new Uint8Array(size).fill(id);
const ids = (events: Uint8Array[] | undefined): number[] | undefined => events?.map((e) => e[0]!);

describe('recent events', () => {
  it('serves a run written from its first event on, for any range it covers', () => {
    const recent = new RecentEvents();
    recent.append('a', 1, [ev(1), ev(2), ev(3)]);
    recent.append('a', 4, [ev(4)]);
    expect(ids(recent.read('a', 1, 5, 100))).toEqual([1, 2, 3, 4]);
    expect(ids(recent.read('a', 2, 4, 100))).toEqual([2, 3]);
    expect(ids(recent.read('a', 1, 5, 2))).toEqual([1, 2]);
    expect(ids(recent.read('a', 4, 5, 1))).toEqual([4]);
    expect(ids(recent.read('a', 5, 5, 10))).toEqual([]);
    // Beyond what it holds, or a run it never saw start: the store answers.
    expect(recent.read('a', 1, 6, 100)).toBeUndefined();
    expect(recent.read('b', 1, 2, 100)).toBeUndefined();
    expect(recent.read('a', 0, 2, 100)).toBeUndefined();
  });

  it('never starts a list in the middle of a run, and drops one that a commit does not continue', () => {
    const recent = new RecentEvents();
    recent.append('mid', 5, [ev(5)]);
    expect(recent.read('mid', 5, 6, 10)).toBeUndefined();
    recent.append('a', 1, [ev(1), ev(2)]);
    recent.append('a', 4, [ev(4)]);
    expect(recent.read('a', 1, 2, 10)).toBeUndefined();
    expect(recent.stats()).toEqual({ bytes: 0, runs: 0 });
  });

  it('keeps at most maxRunBytes per run and maxBytes in all, dropping the least recently written', () => {
    // Counted: each event's bytes plus 96, each run 256 (the objects around them).
    const run = (events: number) => 256 + events * (4 + 96);
    const recent = new RecentEvents({ maxBytes: run(3) + run(2), maxRunBytes: run(3) });
    recent.append('long', 1, [ev(1), ev(2), ev(3)]);
    recent.append('long', 4, [ev(4)]);
    expect(recent.read('long', 1, 2, 10)).toBeUndefined();
    expect(recent.stats()).toEqual({ bytes: 0, runs: 0 });
    recent.append('a', 1, [ev(1), ev(2)]);
    recent.append('b', 1, [ev(1), ev(2)]);
    recent.append('a', 3, [ev(3)]);
    expect(recent.stats()).toEqual({ bytes: run(3) + run(2), runs: 2 });
    // c pushes out b, the least recently written.
    recent.append('c', 1, [ev(1)]);
    expect(recent.read('b', 1, 2, 10)).toBeUndefined();
    expect(ids(recent.read('a', 1, 4, 10))).toEqual([1, 2, 3]);
    expect(recent.stats()).toEqual({ bytes: run(3) + run(1), runs: 2 });
    // A first commit bigger than a run may hold leaves nothing behind.
    recent.append('huge', 1, [ev(1, 1_000)]);
    expect(recent.stats()).toEqual({ bytes: run(3) + run(1), runs: 2 });
  });

  it('keeps at most maxRuns runs', () => {
    const recent = new RecentEvents({ maxRuns: 2 });
    for (const k of ['a', 'b', 'c']) recent.append(k, 1, [ev(1)]);
    expect(recent.read('a', 1, 2, 10)).toBeUndefined();
    expect(recent.stats().runs).toBe(2);
  });

  it('drops runs by key and by predicate', () => {
    const recent = new RecentEvents();
    for (const k of ['x1', 'x2', 'y1']) recent.append(k, 1, [ev(1)]);
    recent.drop('x1');
    recent.dropWhere((k) => k.startsWith('x'));
    expect(recent.stats()).toEqual({ bytes: 256 + 4 + 96, runs: 1 });
    expect(ids(recent.read('y1', 1, 2, 10))).toEqual([1]);
  });
});

describe('recent events memory', () => {
  it('holds copies in buffers of their own, not slices of a shared pool that would keep the slab alive', () => {
    const recent = new RecentEvents();
    const pooled = Buffer.from([1, 2, 3]);
    expect(pooled.buffer.byteLength).toBeGreaterThan(3);
    recent.append('a', 1, [pooled, Buffer.from([4])]);
    pooled[0] = 9;
    const [first, second] = recent.read('a', 1, 3, 10)!;
    expect([...first!]).toEqual([1, 2, 3]);
    expect([...second!]).toEqual([4]);
    // The two events of one commit share one exact-size buffer.
    expect(first!.buffer).toBe(second!.buffer);
    expect(first!.buffer.byteLength).toBe(4);
  });
});
