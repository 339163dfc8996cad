import { describe, expect, it } from 'vitest';
import type { Clock } from '../clock.js';
import { TaskQueue } from './task-queue.js';

/** A clock that only moves when told, running scheduled callbacks as their time comes. */
function manualClock(): Clock & { advance(ms: number): void } {
  let now = 1_000_000;
  let timers: Array<{ atMs: number; fn: () => void }> = [];
  return {
    now: () => now,
    schedule(atMs, fn) {
      const timer = { atMs, fn };
      timers.push(timer);
      return () => {
        timers = timers.filter((t) => t !== timer);
      };
    },
    advance(ms) {
      const until = now + ms;
      for (;;) {
        const due = timers.filter((t) => t.atMs <= until).sort((a, b) => a.atMs - b.atMs)[0];
        if (!due) break;
        timers = timers.filter((t) => t !== due);
        now = Math.max(now, due.atMs);
        due.fn();
      }
      now = until;
    },
  };
}

const never = new AbortController().signal;

describe('task queue', () => {
  it('hands out the highest priority first (1 before 3 before 5), FIFO within a priority', async () => {
    const q = new TaskQueue<string>(manualClock());
    q.add('low-1', 5);
    q.add('default-1');
    q.add('high-1', 1);
    q.add('default-2', 3);
    q.add('high-2', 1);
    q.add('unknown-key', 9); // out of range: the default level
    const order: Array<string | null> = [];
    for (let i = 0; i < 6; i++) order.push(await q.poll(1000, never));
    expect(order).toEqual(['high-1', 'high-2', 'default-1', 'default-2', 'unknown-key', 'low-1']);
    expect(q.backlog).toBe(0);
  });

  it('keeps tasks in the backlog until a poll arrives (flow control), then matches at once', async () => {
    const q = new TaskQueue<string>(manualClock());
    q.add('a');
    q.add('b');
    expect(q.backlog).toBe(2);
    expect(await q.poll(1000, never)).toBe('a');
    expect(await q.poll(1000, never)).toBe('b');
    const waiting = q.poll(1000, never);
    expect(q.pollerCount).toBe(1);
    q.add('c');
    expect(await waiting).toBe('c');
    expect(q.backlog).toBe(0);
  });

  it('lets out at most the rate limit per second after a burst of the rate', async () => {
    const clock = manualClock();
    const q = new TaskQueue<number>(clock);
    q.setRateLimit(2);
    for (let i = 0; i < 6; i++) q.add(i);
    const handed: Array<{ task: number | null; atMs: number }> = [];
    const start = clock.now();
    const polls = Array.from({ length: 6 }, () => q.poll(60_000, never).then((task) => handed.push({ task, atMs: clock.now() - start })));
    await Promise.resolve();
    expect(handed.map((h) => h.task)).toEqual([0, 1]); // the burst
    for (let i = 0; i < 40; i++) {
      clock.advance(50);
      await Promise.resolve();
    }
    await Promise.all(polls);
    expect(handed.map((h) => h.task)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(handed.map((h) => h.atMs)).toEqual([0, 0, 500, 1000, 1500, 2000]);
  });

  it('removing the limit releases the waiting tasks at once', async () => {
    const clock = manualClock();
    const q = new TaskQueue<number>(clock);
    q.setRateLimit(1);
    for (let i = 0; i < 3; i++) q.add(i);
    const results = Promise.all([q.poll(60_000, never), q.poll(60_000, never), q.poll(60_000, never)]);
    q.setRateLimit(null);
    expect(await results).toEqual([0, 1, 2]);
  });

  it('answers an empty poll when its time is up or it is aborted', async () => {
    const clock = manualClock();
    const q = new TaskQueue<number>(clock);
    const timedOut = q.poll(100, never);
    clock.advance(100);
    expect(await timedOut).toBeNull();
    const abort = new AbortController();
    const aborted = q.poll(60_000, abort.signal);
    abort.abort();
    expect(await aborted).toBeNull();
    q.add(7);
    expect(q.backlog).toBe(1);
  });

  it('reserves the first waiting poll for a task started elsewhere; while reserved it neither expires nor aborts', async () => {
    const clock = manualClock();
    const q = new TaskQueue<number, string>(clock);
    const abort = new AbortController();
    const first = q.poll(100, abort.signal, 'worker-a');
    const second = q.poll(60_000, never, 'worker-b');
    const reservation = q.reserve()!;
    expect(reservation.identity).toBe('worker-a');
    clock.advance(100);
    abort.abort();
    q.add(1); // goes to the next waiting poll, not the reserved one
    expect(await second).toBe(1);
    reservation.deliver('started for a');
    expect(await first).toBe('started for a');
  });

  it('reserves nothing while a task waits ahead or a rate limit applies, and a released poll answers empty', async () => {
    const clock = manualClock();
    const q = new TaskQueue<number, string>(clock);
    expect(q.reserve()).toBeNull(); // nobody polls
    q.setRateLimit(1);
    const limited = q.poll(60_000, never);
    q.add(1);
    expect(await limited).toBe(1);
    const waiting = q.poll(60_000, never);
    expect(q.reserve()).toBeNull(); // the limiter decides who gets what
    q.setRateLimit(null);
    q.add(2);
    expect(await waiting).toBe(2);
    const released = q.poll(60_000, never);
    q.reserve()!.release();
    expect(await released).toBeNull();
    expect(q.pollerCount).toBe(0);
  });
});
