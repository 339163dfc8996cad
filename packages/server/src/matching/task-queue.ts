// One task queue: a backlog of tasks in five priority levels and a FIFO of waiting long polls.
//
// A task is handed to a poll, never pushed to a worker: a worker polls only when it has a free slot,
// so tasks wait here until some worker has capacity (flow control). Dispatch order is by priority key
// (1 = highest, 5 = lowest, unset = 3, as Temporal's Priority.priority_key), FIFO within a level. When
// the queue has a dispatch rate limit (the `max_tasks_per_second` pollers send), a task leaves only
// with a token from a token bucket; the queue wakes itself when the next token is due. Tasks here are
// references to mutable state (re-derivable after a restart), never the source of truth.
import type { Clock } from '../clock.js';
import { Fifo } from '../fifo.js';

export const DEFAULT_PRIORITY_KEY = 3;
const PRIORITY_LEVELS = 5;

interface Waiter<R> {
  readonly identity: string;
  /** Set while a transition about to start a task for this poll commits: its expiry and abort wait. */
  reserved: boolean;
  resolve(entry: R | null): void;
}

/**
 * A waiting poll taken out of its queue for a task that a transition starts for it in its own commit.
 * Exactly one of the two is called: `deliver` once that commit is durable, `release` when it failed.
 */
export interface PollReservation<D> {
  readonly identity: string;
  deliver(started: D): void;
  /** The poll answers empty (its worker polls again). */
  release(): void;
}

/** Token bucket: `ratePerSecond` tokens a second, at most `burst` saved up. */
class TokenBucket {
  private tokens: number;
  private updatedMs: number;

  constructor(
    readonly ratePerSecond: number,
    nowMs: number,
  ) {
    this.tokens = this.burst;
    this.updatedMs = nowMs;
  }

  /** A queue limited to r tasks a second lets at most max(1, r) out at once, as Temporal's matching. */
  get burst(): number {
    return Math.max(1, Math.ceil(this.ratePerSecond));
  }

  tryTake(nowMs: number): boolean {
    this.refill(nowMs);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  nextTokenAtMs(nowMs: number): number {
    this.refill(nowMs);
    return nowMs + Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond));
  }

  private refill(nowMs: number): void {
    this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.updatedMs) * this.ratePerSecond) / 1000);
    this.updatedMs = nowMs;
  }
}

/** `E`: what waits in the queue; `D`: what a reserved poll is handed instead (`reserve`). */
export class TaskQueue<E, D = never> {
  private readonly levels: Array<Fifo<E>> = Array.from({ length: PRIORITY_LEVELS }, () => new Fifo<E>());
  private readonly waiters: Array<Waiter<E | D>> = [];
  private limiter: TokenBucket | null = null;
  private cancelWake: (() => void) | null = null;
  /** Last time any poller touched this queue (for DescribeTaskQueue / stickiness). */
  lastPollMs = 0;
  /** Poller identity -> last poll time (DescribeTaskQueue; entries older than 5 minutes are dropped). */
  readonly pollers = new Map<string, number>();

  constructor(private readonly clock: Clock) {}

  get backlog(): number {
    let n = 0;
    for (const level of this.levels) n += level.size;
    return n;
  }

  get pollerCount(): number {
    return this.waiters.length;
  }

  /** The dispatch rate limit in tasks per second, or null when unlimited. */
  get ratePerSecond(): number | null {
    return this.limiter?.ratePerSecond ?? null;
  }

  /** Sets the dispatch rate limit (a poller's max_tasks_per_second); null or <= 0 removes it. */
  setRateLimit(ratePerSecond: number | null): void {
    if (ratePerSecond === null || !(ratePerSecond > 0)) {
      this.limiter = null;
    } else if (this.limiter?.ratePerSecond !== ratePerSecond) {
      this.limiter = new TokenBucket(ratePerSecond, this.clock.now());
    }
    this.pump();
  }

  /** Queues a task (`front`: ahead of its level, for query tasks) and hands it out if a poll waits. */
  add(entry: E, priorityKey = DEFAULT_PRIORITY_KEY, front = false): void {
    const level = this.levels[levelOf(priorityKey)]!;
    if (front) level.unshift(entry);
    else level.push(entry);
    this.pump();
  }

  /** Removes entries matching `predicate` (expired query tasks). */
  removeWhere(predicate: (e: E) => boolean): void {
    for (const level of this.levels) level.removeWhere(predicate);
  }

  /**
   * Takes the first entry matching `predicate`, in dispatch order, without waiting and outside the rate
   * limit (a poll on another node of the cluster asking for this node's tasks: it was admitted there).
   */
  takeNow(predicate: (e: E) => boolean): E | undefined {
    for (const level of this.levels) {
      const e = level.takeFirst(predicate);
      if (e !== undefined) return e;
    }
    return undefined;
  }

  /** How many entries match `predicate`. */
  count(predicate: (e: E) => boolean): number {
    let n = 0;
    for (const level of this.levels) n += level.count(predicate);
    return n;
  }

  /** Removes and returns every waiting entry (a sticky queue whose worker shut down). */
  drain(): E[] {
    return this.levels.flatMap((level) => level.drain());
  }

  /**
   * Takes the first waiting poll for a task that is not queued but started for it by the transition
   * that schedules it (sync match decided before the commit instead of after). Only when no task waits
   * ahead and no rate limit applies, so that the order of dispatch is the queue's own. A reserved poll
   * neither expires nor aborts until it is delivered or released.
   */
  reserve(): PollReservation<D> | null {
    if (this.waiters.length === 0 || this.limiter !== null || this.backlog > 0) return null;
    const waiter = this.waiters.shift()!;
    waiter.reserved = true;
    return { identity: waiter.identity, deliver: (started) => waiter.resolve(started), release: () => waiter.resolve(null) };
  }

  /** Resolves with a task (or what a reservation delivers), or null when `timeoutMs` passes or `signal` aborts. */
  poll(timeoutMs: number, signal: AbortSignal, identity = ''): Promise<E | D | null> {
    const nowMs = this.clock.now();
    this.lastPollMs = nowMs;
    this.pollers.set(identity, nowMs);
    if (signal.aborted) return Promise.resolve(null);
    return new Promise((resolve) => {
      const waiter: Waiter<E | D> = {
        identity,
        reserved: false,
        resolve: (entry) => {
          cancel();
          signal.removeEventListener('abort', onAbort);
          resolve(entry);
        },
      };
      const drop = (): void => {
        if (waiter.reserved) return;
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        waiter.resolve(null);
      };
      const onAbort = (): void => drop();
      const cancel = this.clock.schedule(nowMs + timeoutMs, drop);
      signal.addEventListener('abort', onAbort);
      this.waiters.push(waiter);
      this.pump();
    });
  }

  /** Hands tasks to waiting polls while both exist and the rate limit allows. */
  private pump(): void {
    while (this.waiters.length > 0) {
      const level = this.levels.find((l) => l.size > 0);
      if (!level) return;
      const nowMs = this.clock.now();
      if (this.limiter && !this.limiter.tryTake(nowMs)) {
        this.wakeAt(this.limiter.nextTokenAtMs(nowMs));
        return;
      }
      this.waiters.shift()!.resolve(level.shift()!);
    }
  }

  private wakeAt(atMs: number): void {
    if (this.cancelWake) return;
    this.cancelWake = this.clock.schedule(atMs, () => {
      this.cancelWake = null;
      this.pump();
    });
  }
}

function levelOf(priorityKey: number): number {
  const key = Number.isInteger(priorityKey) && priorityKey >= 1 && priorityKey <= PRIORITY_LEVELS ? priorityKey : DEFAULT_PRIORITY_KEY;
  return key - 1;
}
