// Per-namespace request rate limits (Temporal's frontend.namespaceRPS, default 2,400/s per instance):
// a token bucket per namespace; a request over the limit gets RESOURCE_EXHAUSTED and changes nothing.
// Long polls are not counted (they are limited by their own concurrency).
import { ResourceExhaustedError } from '../errors.js';
import type { Clock } from '../clock.js';
import type { ServiceHandlers, UnaryHandler } from './grpc-server.js';

export const DEFAULT_NAMESPACE_RPS = 2400;

class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    nowMs: number,
  ) {
    this.tokens = burst;
    this.lastMs = nowMs;
  }

  take(nowMs: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.lastMs) / 1000) * this.ratePerSecond);
    this.lastMs = nowMs;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export class NamespaceRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly clock: Clock,
  ) {}

  check(namespace: string): void {
    if (!(this.ratePerSecond > 0)) return;
    const now = this.clock.now();
    let bucket = this.buckets.get(namespace);
    if (!bucket) this.buckets.set(namespace, (bucket = new TokenBucket(this.ratePerSecond, this.ratePerSecond, now)));
    if (!bucket.take(now)) throw new ResourceExhaustedError(`namespace rate limit exceeded for namespace ${namespace}`);
  }
}

/** Wraps every handler but the long polls with the namespace limiter. */
export function rateLimited(handlers: ServiceHandlers, limiter: NamespaceRateLimiter): ServiceHandlers {
  const wrapped: ServiceHandlers = {};
  for (const [name, handler] of Object.entries(handlers)) {
    if (!handler) continue;
    if (name.startsWith('Poll')) {
      wrapped[name] = handler;
      continue;
    }
    const limitedHandler: UnaryHandler = async (request, call) => {
      const ns = (request as { namespace?: string | null }).namespace;
      if (ns) limiter.check(ns);
      return handler(request, call);
    };
    wrapped[name] = limitedHandler;
  }
  return wrapped;
}
