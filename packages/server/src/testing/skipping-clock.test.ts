import { afterEach, describe, expect, it } from 'vitest';
import { GrpcCode, ServiceError } from '../errors.js';
import { TimeSkippingClock } from './skipping-clock.js';

const DAY = 24 * 3600_000;
const START = Date.UTC(2030, 0, 1);

/** A wall clock that stands still unless moved, so only jumps change virtual time. */
function frozenWall(): { now(): number; move(ms: number): void } {
  let now = START;
  return { now: () => now, move: (ms) => (now += ms) };
}

/** Lets the clock's pump (setImmediate) run a few rounds. */
async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

const clocks: TimeSkippingClock[] = [];
function newClock(initialLocks = 1): { clock: TimeSkippingClock; wall: ReturnType<typeof frozenWall> } {
  const wall = frozenWall();
  const clock = new TimeSkippingClock({ wall, initialLocks });
  clocks.push(clock);
  return { clock, wall };
}

afterEach(() => {
  for (const c of clocks.splice(0)) c.close();
});

describe('TimeSkippingClock', () => {
  it('starts at wall time and flows with it while locked', async () => {
    const { clock, wall } = newClock();
    let fired = false;
    clock.schedule(START + DAY, () => void (fired = true), 'timer');
    await settle();
    expect(clock.now()).toBe(START);
    expect(fired).toBe(false);
    wall.move(1000);
    expect(clock.now()).toBe(START + 1000);
  });

  it('jumps to the next timer when unlocked, and fires it', async () => {
    const { clock } = newClock();
    const fired: number[] = [];
    clock.schedule(START + 2 * DAY, () => void fired.push(clock.now()), 'timer');
    clock.schedule(START + DAY, () => void fired.push(clock.now()), 'timer');
    clock.unlock();
    await settle();
    expect(fired).toEqual([START + DAY, START + 2 * DAY]);
    expect(clock.now()).toBe(START + 2 * DAY);
  });

  it('never jumps to a wait, but fires waits that time passes', async () => {
    const { clock } = newClock(0);
    const fired: string[] = [];
    clock.schedule(START + 60_000, () => void fired.push('poll deadline'), 'wait');
    await settle();
    expect(fired).toEqual([]);
    expect(clock.now()).toBe(START);
    clock.schedule(START + DAY, () => void fired.push('timer'), 'timer');
    await settle();
    expect(fired).toEqual(['poll deadline', 'timer']);
  });

  it('holds time while a run has outstanding work', async () => {
    const { clock } = newClock(0);
    let fired = false;
    clock.setOutstandingWork('run-1', true);
    clock.schedule(START + DAY, () => void (fired = true), 'timer');
    await settle();
    expect(fired).toBe(false);
    clock.setOutstandingWork('run-1', false);
    await settle();
    expect(fired).toBe(true);
    expect(clock.now()).toBe(START + DAY);
  });

  it('holds time until a callback that returns a promise settles', async () => {
    const { clock } = newClock(0);
    const order: string[] = [];
    let finish!: () => void;
    clock.schedule(START + DAY, () => new Promise<void>((resolve) => (finish = resolve)).then(() => void order.push('first done')), 'timer');
    clock.schedule(START + 2 * DAY, () => void order.push('second'), 'timer');
    await settle();
    expect(clock.now()).toBe(START + DAY);
    expect(order).toEqual([]);
    finish();
    await settle();
    expect(order).toEqual(['first done', 'second']);
  });

  it('unlockWithSleep advances by the duration and locks again', async () => {
    const { clock } = newClock();
    let later = false;
    clock.schedule(START + 10 * DAY, () => void (later = true), 'timer');
    await clock.unlockWithSleep(3 * DAY);
    expect(clock.now()).toBe(START + 3 * DAY);
    expect(clock.lockCount).toBe(1);
    await settle();
    expect(later).toBe(false);
  });

  it('an unlock from inside outstanding work lets time skip (env.sleep in an activity)', async () => {
    const { clock } = newClock(0);
    clock.setOutstandingWork('run-1', true);
    await clock.unlockWithSleep(DAY);
    expect(clock.now()).toBe(START + DAY);
    expect(clock.lockCount).toBe(1);
  });

  it('sleepUntil waits without unlocking; a cancelled sleep leaves nothing behind', async () => {
    const { clock, wall } = newClock();
    const controller = new AbortController();
    const sleeping = clock.sleepUntil(START + DAY, controller.signal);
    controller.abort(new Error('gone'));
    await expect(sleeping).rejects.toThrow('gone');
    const woke = clock.sleepUntil(START + 50);
    wall.move(50);
    // The wall timer was armed for 50 ms of (frozen) wall time: nudge the pump through a jump instead.
    clock.lock();
    clock.unlock();
    await woke;
    expect(clock.now()).toBe(START + 50);
  });

  it('rejects an unlock nothing matches', () => {
    const { clock } = newClock(0);
    expect(() => clock.unlock()).toThrow(ServiceError);
    try {
      clock.unlock();
    } catch (err) {
      expect((err as ServiceError).code).toBe(GrpcCode.FAILED_PRECONDITION);
    }
  });

  it('fires due callbacks in real time too (system wall clock)', async () => {
    const clock = new TimeSkippingClock({ initialLocks: 1 });
    clocks.push(clock);
    const start = clock.now();
    await new Promise<void>((resolve) => clock.schedule(start + 20, resolve, 'wait'));
    expect(clock.now()).toBeGreaterThanOrEqual(start + 20);
  });
});
