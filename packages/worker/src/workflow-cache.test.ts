import { describe, expect, it } from 'vitest';
import { WorkflowCache, type CachedRun } from './workflow-cache.js';

/** A cached run with a stand-in sandbox: only disposal matters to the cache. */
function fakeRun(runId: string): CachedRun {
  let disposed = false;
  const sandbox = {
    dispose: () => {
      disposed = true;
    },
    get isDisposed() {
      return disposed;
    },
  };
  return { runId, sandbox, replayer: {} } as unknown as CachedRun;
}

describe('the workflow cache', () => {
  it('evicts and disposes the least recently used run beyond its capacity', () => {
    const cache = new WorkflowCache(2);
    const [a, b, c] = [fakeRun('a'), fakeRun('b'), fakeRun('c')];
    cache.put(a);
    cache.put(b);
    // Taking a run and putting it back makes it the most recently used.
    expect(cache.take('a')).toBe(a);
    expect(cache.size).toBe(1);
    cache.put(a);
    cache.put(c);
    expect(cache.peek('b')).toBeUndefined();
    expect(b.sandbox.isDisposed).toBe(true);
    expect(a.sandbox.isDisposed).toBe(false);
    expect(cache.stats()).toMatchObject({ cachedRuns: 2, evictions: 1 });
  });

  it('replaces a stale copy of a run, and disposes everything on clear', () => {
    const cache = new WorkflowCache(3);
    const old = fakeRun('a');
    const fresh = fakeRun('a');
    cache.put(old);
    cache.put(fresh);
    expect(old.sandbox.isDisposed).toBe(true);
    expect(cache.peek('a')).toBe(fresh);
    cache.clear();
    expect(fresh.sandbox.isDisposed).toBe(true);
    expect(cache.size).toBe(0);
  });
});
