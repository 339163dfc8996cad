// A clock whose time can jump ahead, for tests (the time-skipping test server; docs/sdk.md "Testing").
//
// Virtual time is wall time plus an offset, so it always flows at least as fast as the wall clock.
// It *jumps* (the offset grows) to the next scheduled `timer` when nothing holds it:
//
//   lock count = external locks (LockTimeSkipping / UnlockTimeSkipping, the environment's own lock)
//              + runs with outstanding work (a workflow task or an activity scheduled or started)
//              + timer callbacks still running (their effects not yet committed)
//
// While the count is above zero time only flows; when it drops to zero (or below: an activity that
// calls `env.sleep` unlocks on behalf of the test while its own work is outstanding, as with Temporal's
// Java test server) and a timer is scheduled, time jumps to that timer and it fires. Waits (`wait`:
// long-poll deadlines) fire when time reaches them but are never jumped to: otherwise every poll
// deadline would become a step of virtual time.
//
// Jumps are decided in a pump that runs on its own macrotask (setImmediate) after any change, so the
// synchronous consequences of a commit (dispatches, new timers) are all in place before it looks.
import type { Clock, ScheduleKind } from '../clock.js';
import { GrpcCode, ServiceError } from '../errors.js';

/** Where wall time comes from (tests replace it). */
export interface WallClock {
  now(): number;
}

export interface TimeSkippingClockOptions {
  /** Locks held from the start: 1 (the default) for an environment whose client unlocks while it waits. */
  readonly initialLocks?: number;
  readonly wall?: WallClock;
}

interface Entry {
  readonly atMs: number;
  readonly seq: number;
  readonly fn: () => void | Promise<void>;
  readonly kind: ScheduleKind;
}

/** setTimeout caps its delay at 2^31-1 ms. */
const MAX_DELAY_MS = 2_147_483_647;

export class TimeSkippingClock implements Clock {
  private readonly wall: WallClock;
  private offsetMs = 0;
  private externalLocks: number;
  private readonly busyRuns = new Set<string>();
  private runningCallbacks = 0;
  /** Ordered by (atMs, seq). Tests schedule few entries at once, so a sorted array does. */
  private entries: Entry[] = [];
  private seq = 0;
  private pumpQueued = false;
  private wallTimer: NodeJS.Timeout | null = null;
  private wallTimerAtMs = Infinity;
  private closed = false;

  constructor(options: TimeSkippingClockOptions = {}) {
    this.wall = options.wall ?? { now: () => Date.now() };
    this.externalLocks = options.initialLocks ?? 1;
  }

  now(): number {
    return this.wall.now() + this.offsetMs;
  }

  schedule(atMs: number, fn: () => void | Promise<void>, kind: ScheduleKind = 'wait'): () => void {
    const entry: Entry = { atMs, seq: this.seq++, fn, kind };
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.entries[mid]!.atMs <= atMs) lo = mid + 1;
      else hi = mid;
    }
    this.entries.splice(lo, 0, entry);
    this.requestPump();
    return () => {
      const i = this.entries.indexOf(entry);
      if (i >= 0) this.entries.splice(i, 1);
    };
  }

  /** How many locks hold time now (see the file comment); time may jump when it is 0 or less. */
  get lockCount(): number {
    return this.externalLocks + this.busyRuns.size + this.runningCallbacks;
  }

  lock(): void {
    this.externalLocks++;
  }

  /** Gives back one lock; fails when nothing holds time (an unlock without its lock). */
  unlock(): void {
    if (this.lockCount <= 0) throw new ServiceError(GrpcCode.FAILED_PRECONDITION, 'time skipping is not locked: unlock without a matching lock');
    this.externalLocks--;
    this.requestPump();
  }

  /** Records whether a run has work in progress (a workflow task or an activity outstanding). */
  setOutstandingWork(runKey: string, outstanding: boolean): void {
    if (outstanding) this.busyRuns.add(runKey);
    else if (this.busyRuns.delete(runKey)) this.requestPump();
  }

  /** Resolves once time reaches `atMs` (a `timer`: time may jump to it). Rejects when `signal` aborts. */
  sleepUntil(atMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const onAbort = (): void => {
        cancel();
        reject(abortReason(signal));
      };
      const cancel = this.schedule(
        atMs,
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        'timer',
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Unlocks, waits until time has advanced by `durationMs` (jumping if nothing else holds it) and locks
   * again, at the moment the wait ends: UnlockTimeSkippingWithSleep, what `env.sleep` calls.
   */
  async unlockWithSleep(durationMs: number, signal?: AbortSignal): Promise<void> {
    this.unlock();
    const until = this.sleepUntil(this.now() + Math.max(0, durationMs), signal);
    try {
      await until;
    } finally {
      // Locked again whether the wait ended or was abandoned: the caller's lock balance is unchanged.
      this.externalLocks++;
    }
  }

  /** Stops the wall-clock timer; scheduled callbacks never fire after this. */
  close(): void {
    this.closed = true;
    if (this.wallTimer) clearTimeout(this.wallTimer);
    this.wallTimer = null;
    this.entries = [];
  }

  private requestPump(): void {
    if (this.pumpQueued || this.closed) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  /** Fires what is due; jumps to the next timer when nothing holds time; arms a wall timer for the rest. */
  private pump(): void {
    if (this.closed) return;
    let now = this.now();
    if (!this.hasDue(now) && this.lockCount <= 0) {
      const target = this.entries.find((e) => e.kind === 'timer');
      if (target && target.atMs > now) {
        this.offsetMs += target.atMs - now;
        now = this.now();
      }
    }
    const due: Entry[] = [];
    while (this.entries.length > 0 && this.entries[0]!.atMs <= now) due.push(this.entries.shift()!);
    for (const entry of due) this.run(entry);
    // Callbacks may have scheduled more, or released their hold: look again on the next turn.
    if (due.length > 0) this.requestPump();
    this.armWallTimer();
  }

  private hasDue(now: number): boolean {
    return this.entries.length > 0 && this.entries[0]!.atMs <= now;
  }

  private run(entry: Entry): void {
    this.runningCallbacks++;
    let result: void | Promise<void>;
    try {
      result = entry.fn();
    } catch {
      result = undefined;
    }
    if (result instanceof Promise) {
      result
        .catch(() => undefined)
        .finally(() => {
          this.runningCallbacks--;
          this.requestPump();
        });
    } else {
      this.runningCallbacks--;
    }
  }

  private armWallTimer(): void {
    const next = this.entries[0];
    const atWallMs = next ? next.atMs - this.offsetMs : Infinity;
    if (atWallMs === this.wallTimerAtMs && this.wallTimer) return;
    if (this.wallTimer) clearTimeout(this.wallTimer);
    this.wallTimer = null;
    this.wallTimerAtMs = atWallMs;
    if (!next) return;
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, atWallMs - this.wall.now()));
    this.wallTimer = setTimeout(() => {
      this.wallTimer = null;
      this.wallTimerAtMs = Infinity;
      this.pump();
    }, delay);
    // Never keeps the process alive on its own: servers and tests hold their own handles.
    this.wallTimer.unref();
  }
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error('sleep cancelled');
}
