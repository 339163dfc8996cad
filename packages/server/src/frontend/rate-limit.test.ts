import { describe, expect, it } from 'vitest';
import { NamespaceRateLimiter, rateLimited } from './rate-limit.js';
import { ResourceExhaustedError } from '../errors.js';
import type { Clock } from '../clock.js';
import type { CallContext } from './grpc-server.js';

function fakeClock(): Clock & { advance(ms: number): void } {
  let now = 1_000_000;
  return { now: () => now, schedule: () => () => undefined, advance: (ms) => void (now += ms) };
}

const call = {} as CallContext;

describe('namespace rate limits', () => {
  it('allows a burst of the rate, then refuses with RESOURCE_EXHAUSTED until tokens refill', async () => {
    const clock = fakeClock();
    let served = 0;
    const handlers = rateLimited({ StartWorkflowExecution: async () => ({ n: ++served }) }, new NamespaceRateLimiter(5, clock));
    const start = handlers['StartWorkflowExecution']!;
    for (let i = 0; i < 5; i++) await start({ namespace: 'a' }, call);
    await expect(start({ namespace: 'a' }, call)).rejects.toBeInstanceOf(ResourceExhaustedError);
    expect(served).toBe(5);
    // Another namespace has its own bucket.
    await expect(start({ namespace: 'b' }, call)).resolves.toEqual({ n: 6 });
    clock.advance(200);
    await expect(start({ namespace: 'a' }, call)).resolves.toEqual({ n: 7 });
  });

  it('does not count long polls', async () => {
    const clock = fakeClock();
    const handlers = rateLimited({ PollWorkflowTaskQueue: async () => ({}) }, new NamespaceRateLimiter(1, clock));
    for (let i = 0; i < 10; i++) await handlers['PollWorkflowTaskQueue']!({ namespace: 'a' }, call);
  });
});
