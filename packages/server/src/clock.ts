// Time is injected (DESIGN invariant 5): every component reads the clock it is given, so tests can
// skip time and a simulation can drive the engine deterministically.

/**
 * What a scheduled callback is for. `timer`: a durable timer task (user timers, timeouts, retries,
 * backoffs), the only thing a time-skipping clock may jump ahead to; `wait`: a long-poll deadline or
 * another wait, which fires when time reaches it but never makes time jump.
 */
export type ScheduleKind = 'timer' | 'wait';

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /**
   * Calls `fn` once `now()` reaches `atMs`; returns a cancel function. When `fn` returns a promise, a
   * time-skipping clock holds time until it settles (its effects are committed).
   */
  schedule(atMs: number, fn: () => void | Promise<void>, kind?: ScheduleKind): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  schedule(atMs, fn) {
    // setTimeout caps at 2^31-1 ms; re-arm for timers further away than ~24 days.
    const MAX = 2_147_483_647;
    let handle: NodeJS.Timeout;
    const arm = (): void => {
      const delay = atMs - Date.now();
      if (delay > MAX) handle = setTimeout(arm, MAX);
      else handle = setTimeout(() => void fn(), Math.max(0, delay));
    };
    arm();
    return () => clearTimeout(handle);
  },
};
