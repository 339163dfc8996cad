import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../clock.js';
import { createLogger } from '../logger.js';
import type { TimerTaskRow } from '../persistence/store.js';
import { TimeSkippingClock } from '../testing/skipping-clock.js';
import { drain, ManualClock, MemoryTimerStore, timerRow } from './test-support/timer-fakes.js';
import { TimerQueue, type TimerQueueOptions } from './timer-queue.js';

const S = 1000;
const logger = createLogger({ level: 'never', format: 'text' });
const queues: TimerQueue[] = [];

afterEach(() => {
  for (const q of queues.splice(0)) q.stop();
});

/** A queue over a memory store whose handler records when each row fired and deletes it, as the engine does. */
function setup(options: TimerQueueOptions = {}): ReturnType<typeof setupWith<ManualClock>> {
  return setupWith(options, new ManualClock());
}

function setupWith<C extends Clock>(options: TimerQueueOptions, clock: C) {
  const store = new MemoryTimerStore();
  const fired: Array<{ taskId: string; atMs: number }> = [];
  const failures = new Set<string>();
  let handling = 0;
  let inMemoryPeak = 0;
  const queue: TimerQueue = new TimerQueue(
    store.asStore(),
    clock,
    logger,
    async (row) => {
      handling++;
      inMemoryPeak = Math.max(inMemoryPeak, queue.size + handling);
      try {
        await Promise.resolve();
        if (failures.delete(row.taskId)) throw new Error('database unavailable');
        fired.push({ taskId: row.taskId, atMs: clock.now() });
        store.delete(row.taskId);
      } finally {
        handling--;
      }
    },
    { windowMs: 60 * S, maxRows: 1000, retryDelayMs: S, ...options },
  );
  queues.push(queue);
  /** What a transition's commit does: its rows are stored, then offered to the queue. */
  const commit = (...rows: TimerTaskRow[]): void => {
    for (const row of rows) store.insert(row);
    queue.add(rows);
  };
  const deleteRows = (...ids: string[]): void => {
    for (const id of ids) store.delete(id);
    queue.remove(ids);
  };
  const late = (): number[] => fired.map((f) => f.atMs - (Number(f.taskId.split('@')[1]) || 0));
  return { clock, store, queue, fired, failures, commit, deleteRows, late, peak: () => inMemoryPeak };
}

/** Rows named `<id>@<fire time>`, so lateness can be read from what fired. */
function row(id: string, fireAtMs: number, workflowId?: string): TimerTaskRow {
  return timerRow(`${id}@${fireAtMs}`, fireAtMs, workflowId);
}

describe('TimerQueue window', () => {
  it('loads only the rows due within the window, and the next slice before the window runs out', async () => {
    const t = setup();
    for (const r of [row('a', 10 * S), row('b', 50 * S), row('c', 70 * S), row('d', 200 * S), row('e', 3600 * S)]) t.store.insert(r);
    await t.queue.start();
    expect(t.queue.size).toBe(2);
    expect(t.queue.windowEnd).toEqual({ fireAtMs: 60 * S + 1, taskId: '' });
    // The first row beyond (70 s) is loaded half a window ahead of it.
    expect(t.clock.nextTimerAt()).toBe(10 * S);
    await t.clock.advanceTo(39 * S);
    expect(t.queue.size).toBe(1);
    await t.clock.advanceTo(40 * S);
    expect(t.queue.size).toBe(2);
    await t.clock.advanceTo(4000 * S);
    expect(t.fired.map((f) => f.taskId)).toEqual(['a@10000', 'b@50000', 'c@70000', 'd@200000', 'e@3600000']);
    expect(t.late()).toEqual([0, 0, 0, 0, 0]);
    // One slice per refill and one look beyond each: nothing read twice, no read between far rows.
    expect(t.store.reads.map((r) => r.returned)).toEqual([2, 1, 1, 1, 1, 1, 1, 0]);
  });

  it('keeps at most maxRows, cutting a run of equal fire times by (fire time, task id) without skipping or repeating', async () => {
    const t = setup({ maxRows: 4 });
    for (const id of ['e', 'b', 'd', 'c']) t.store.insert(timerRow(id, 20 * S));
    t.store.insert(timerRow('a', 10 * S));
    t.store.insert(timerRow('f', 30 * S));
    await t.queue.start();
    expect(t.queue.size).toBe(4);
    expect(t.queue.windowEnd).toEqual({ fireAtMs: 20 * S, taskId: 'd' });
    // Rows committed now at the edge: at or before (20 s, d) stay in memory, after it they are only stored.
    t.commit(timerRow('cc', 20 * S), timerRow('dd', 20 * S));
    expect(t.queue.size).toBe(5);
    await t.clock.advanceTo(100 * S);
    expect(t.fired.map((f) => f.taskId)).toEqual(['a', 'b', 'c', 'cc', 'd', 'dd', 'e', 'f']);
    expect(t.fired.map((f) => f.atMs)).toEqual([10, 20, 20, 20, 20, 20, 20, 30].map((s) => s * S));
    const afters = t.store.reads.flatMap((r) => (r.after ? [r.after] : []));
    expect(afters).toContainEqual({ fireAtMs: 20 * S, taskId: 'd' });
  });

  it('does not keep rows added beyond the window, and fires them on time after a refill', async () => {
    const t = setup();
    await t.queue.start();
    t.commit(row('soon', 30 * S), row('later', 90 * S), row('much-later', 500 * S));
    expect(t.queue.size).toBe(1);
    await t.clock.advanceTo(59 * S);
    expect(t.queue.size).toBe(0);
    await t.clock.advanceTo(60 * S); // half a window before 'later'
    expect(t.queue.size).toBe(1);
    await t.clock.advanceTo(1000 * S);
    expect(t.fired.map((f) => f.taskId)).toEqual(['soon@30000', 'later@90000', 'much-later@500000']);
    expect(t.late()).toEqual([0, 0, 0]);
  });

  it('shrinks the window when transitions add more than maxRows due inside it, and reads the rest again', async () => {
    const t = setup({ maxRows: 4 });
    await t.queue.start();
    t.commit(...Array.from({ length: 10 }, (_, i) => row(`r${i}`, (i + 1) * S)));
    expect(t.queue.size).toBe(4);
    expect(t.queue.windowEnd).toEqual({ fireAtMs: 4 * S, taskId: 'r3@4000' });
    await t.clock.advanceTo(20 * S);
    expect(t.fired.map((f) => f.taskId)).toEqual(Array.from({ length: 10 }, (_, i) => `r${i}@${(i + 1) * S}`));
    expect(t.late()).toEqual(Array(10).fill(0));
  });

  it('never holds more than maxRows (in memory and in flight) while a backlog of due rows drains', async () => {
    const t = setup({ maxRows: 10 });
    for (let i = 0; i < 45; i++) t.store.insert(timerRow(`old-${String(i).padStart(2, '0')}`, -1000 + i));
    await t.queue.start();
    await t.clock.advanceTo(5 * S);
    expect(t.fired).toHaveLength(45);
    expect(new Set(t.fired.map((f) => f.taskId)).size).toBe(45);
    expect(t.peak()).toBeLessThanOrEqual(10);
  });
});

describe('TimerQueue removal and retries', () => {
  it('does not fire rows deleted inside the window, nor load rows deleted beyond it', async () => {
    const t = setup();
    for (const r of [row('in', 10 * S), row('in-kept', 20 * S), row('beyond', 100 * S), row('beyond-kept', 110 * S)]) t.store.insert(r);
    await t.queue.start();
    t.deleteRows('in@10000', 'beyond@100000');
    await t.clock.advanceTo(200 * S);
    expect(t.fired.map((f) => f.taskId)).toEqual(['in-kept@20000', 'beyond-kept@110000']);
  });

  it('retries a row whose handling failed after the backoff, also when the window shrank meanwhile', async () => {
    const t = setup({ maxRows: 2 });
    t.store.insert(row('flaky', 10 * S));
    await t.queue.start();
    t.failures.add('flaky@10000');
    await t.clock.advanceTo(10 * S);
    expect(t.fired).toEqual([]);
    // The retry (due at 11 s) is not a stored position: rows filling the window do not push it out.
    t.commit(row('x', 10.5 * S), row('y', 10.6 * S), row('z', 10.7 * S));
    await t.clock.advanceTo(30 * S);
    expect(t.fired).toEqual([
      { taskId: 'x@10500', atMs: 10.5 * S },
      { taskId: 'y@10600', atMs: 10.6 * S },
      { taskId: 'z@10700', atMs: 10.7 * S },
      { taskId: 'flaky@10000', atMs: 11 * S },
    ]);
  });

  it('keeps what a transition adds or deletes while a refill read is under way', async () => {
    const t = setup();
    t.store.insert(row('deleted-during-read', 80 * S));
    t.store.insert(row('far', 400 * S));
    await t.queue.start();
    t.store.hold();
    const refill = t.clock.advanceTo(50 * S); // the refill for 80 s runs at 50 s; its read waits
    await drain();
    expect(t.store.reads.at(-1)?.untilMs).toBe(110 * S);
    // Committed after the read's snapshot, inside its slice: stored, and kept once the window moved.
    t.commit(row('added-during-read', 100 * S));
    t.deleteRows('deleted-during-read@80000');
    t.store.release();
    await refill;
    expect(t.queue.size).toBe(1);
    await t.clock.advanceTo(500 * S);
    expect(t.fired.map((f) => f.taskId)).toEqual(['added-during-read@100000', 'far@400000']);
    expect(t.late()).toEqual([0, 0]);
  });

  it('tries a failed load again after the backoff', async () => {
    const t = setup();
    t.store.insert(row('a', 100 * S));
    await t.queue.start();
    const list = t.store.listTimerTasks.bind(t.store);
    let failing = 1;
    t.store.listTimerTasks = (...args) => (failing-- > 0 ? Promise.reject(new Error('connection reset')) : list(...args));
    await t.clock.advanceTo(200 * S);
    expect(t.fired).toEqual([{ taskId: 'a@100000', atMs: 100 * S }]);
  });
});

describe('TimerQueue firing', () => {
  it('fires a row on time while rows due before it are still being handled', async () => {
    const clock = new ManualClock(0, false);
    const store = new MemoryTimerStore();
    const firedAt = new Map<string, number>();
    let release = (): void => undefined;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const queue = new TimerQueue(store.asStore(), clock, logger, async (r) => {
      firedAt.set(r.taskId, clock.now());
      // The first row's commit waits behind other work.
      if (r.taskId.startsWith('slow')) await slow;
      store.delete(r.taskId);
    });
    queues.push(queue);
    for (const r of [row('slow', 10 * S), row('next', 11 * S), row('last', 12 * S)]) store.insert(r);
    await queue.start();
    await clock.advanceTo(12 * S);
    expect([...firedAt]).toEqual([['slow@10000', 10 * S], ['next@11000', 11 * S], ['last@12000', 12 * S]]);
    expect(queue.size).toBe(0);
    // Once the slow one is done nothing fires twice.
    release();
    await clock.advanceTo(100 * S);
    expect(firedAt.size).toBe(3);
  });
});

describe('TimerQueue firing: bound and priorities', () => {
  /** A row whose encoded task has `kind`, as the engine stores it. */
  function kindRow(id: string, fireAtMs: number, kind: string): TimerTaskRow {
    return { ...row(id, fireAtMs), data: new TextEncoder().encode(JSON.stringify({ kind, scheduledEventId: 5, attempt: 1 })) };
  }

  /** A queue whose handler waits until released, to see what is handled at once and in what order. */
  function gated(options: TimerQueueOptions) {
    const clock = new ManualClock(0, false);
    const store = new MemoryTimerStore();
    const started: string[] = [];
    const waiting: Array<() => void> = [];
    let running = 0;
    let peak = 0;
    const queue = new TimerQueue(
      store.asStore(),
      clock,
      logger,
      async (r) => {
        started.push(r.taskId.split('@')[0]!);
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((resolve) => waiting.push(resolve));
        running--;
        store.delete(r.taskId);
      },
      options,
    );
    queues.push(queue);
    /** Lets every handler running now finish, and waits for the ones that start after them. */
    const releaseAll = async (): Promise<void> => {
      for (const release of waiting.splice(0)) release();
      await drain();
    };
    return { clock, store, queue, started, releaseAll, peak: () => peak, running: () => running };
  }

  it('handles at most maxInFlight due rows at once, and all of them in the end', async () => {
    const g = gated({ maxInFlight: 3 });
    for (let i = 0; i < 10; i++) g.store.insert(kindRow(`u${i}`, 5 * S, 'userTimer'));
    await g.queue.start();
    await g.clock.advanceTo(5 * S);
    expect(g.running()).toBe(3);
    while (g.started.length < 10 || g.running() > 0) await g.releaseAll();
    expect(g.peak()).toBe(3);
    expect(g.started).toEqual(Array.from({ length: 10 }, (_, i) => `u${i}`));
    expect(g.store.rows.size).toBe(0);
  });

  it('takes due rows by weighted round robin: user timers 10, timeouts 9, retention deletes and sticky schedule-to-start timeouts 1', async () => {
    const g = gated({ maxInFlight: 1 });
    for (let i = 0; i < 10; i++) g.store.insert(kindRow(`d${String(i).padStart(2, '0')}`, 5 * S, 'deleteExecution'));
    for (let i = 10; i < 20; i++) g.store.insert(kindRow(`d${String(i).padStart(2, '0')}`, 5 * S, 'stickyScheduleToStartTimeout'));
    for (let i = 0; i < 20; i++) g.store.insert(kindRow(`l${String(i).padStart(2, '0')}`, 5 * S, i % 2 ? 'activityTimeout' : 'workflowTaskTimeout'));
    for (let i = 0; i < 20; i++) g.store.insert(kindRow(`h${String(i).padStart(2, '0')}`, 5 * S, 'userTimer'));
    await g.queue.start();
    await g.clock.advanceTo(5 * S);
    while (g.started.length < 60 || g.running() > 0) await g.releaseAll();
    const firstRound = g.started.slice(0, 20).map((id) => id[0]).join('');
    expect(firstRound.split('').sort().join('')).toBe('d' + 'h'.repeat(10) + 'l'.repeat(9));
    // Within a class, due order.
    expect(g.started.filter((id) => id.startsWith('l'))).toEqual(Array.from({ length: 20 }, (_, i) => `l${String(i).padStart(2, '0')}`));
    // Rows of one class alone are not held back by the weights of the others.
    expect(g.started.slice(-10).every((id) => id.startsWith('d'))).toBe(true);
  });

  it('keeps memory-only rows out of the store, beyond the window and through a shrink, and drops them when removed', async () => {
    const t = setup({ windowMs: 10 * S, maxRows: 4 });
    await t.queue.start();
    const far = row('m~far', 100 * S);
    const gone = row('m~gone', 5 * S);
    t.queue.hold([far, gone]);
    // More stored rows inside the window than maxRows: the window shrinks, memory-only rows stay.
    t.commit(...Array.from({ length: 6 }, (_, i) => row(`s${i}`, (2 + i) * S)));
    t.queue.remove(['m~gone@5000']);
    expect(t.store.rows.size).toBe(6);
    await t.clock.advanceTo(200 * S);
    expect(t.fired.map((f) => f.taskId)).toEqual(['s0@2000', 's1@3000', 's2@4000', 's3@5000', 's4@6000', 's5@7000', 'm~far@100000']);
    expect(t.late()).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });

  it('does not count memory-only rows against the window: stored rows due meanwhile are still loaded and fire on time', async () => {
    const t = setup({ windowMs: 10 * S, maxRows: 4 });
    for (let i = 0; i < 4; i++) t.store.insert(row(`s${i}`, (100 + i) * S));
    await t.queue.start();
    t.queue.hold(Array.from({ length: 10 }, (_, i) => row(`m~${i}`, 150 * S)));
    await t.clock.advanceTo(200 * S);
    expect(t.fired.slice(0, 4).map((f) => f.taskId)).toEqual(['s0@100000', 's1@101000', 's2@102000', 's3@103000']);
    expect(t.fired).toHaveLength(14);
    expect(t.late()).toEqual(Array(14).fill(0));
  });
});

describe('TimerQueue shards (cluster mode)', () => {
  it('loads shards taken over later within the current window, and refills only the shards held', async () => {
    const t = setup();
    const shardOf = (r: TimerTaskRow): number => Number(r.key.workflowId.slice(5));
    const held = new Set<number>();
    t.queue.accepts = (r) => held.has(shardOf(r));
    const put = (id: string, at: number, shard: number): void => t.store.insert(row(id, at, `shard${shard}`), shard);
    put('s1-in', 10 * S, 1);
    put('s1-beyond', 100 * S, 1);
    put('s2-in', 40 * S, 2);
    put('s2-edge', 61 * S, 2);
    put('s2-beyond', 150 * S, 2);
    held.add(1);
    await t.queue.start([1]);
    expect(t.queue.size).toBe(1);
    await t.clock.advanceTo(20 * S);
    held.add(2);
    await t.queue.start([2]);
    // Shard 2's rows inside the window set at 0 s (up to 60 s) only; the rest comes with refills.
    expect(t.queue.size).toBe(1);
    expect(t.store.reads.at(-2)).toMatchObject({ untilMs: 60 * S + 1, shardIds: [2] });
    await t.clock.advanceTo(90 * S);
    expect(t.fired.map((f) => f.taskId)).toEqual(['s1-in@10000', 's2-in@40000', 's2-edge@61000']);
    // Shard 1 moves away: its rows leave memory and refills no longer read them.
    held.delete(1);
    t.queue.dropWhere((r) => shardOf(r) === 1, [1]);
    const readsBefore = t.store.reads.length;
    await t.clock.advanceTo(300 * S);
    expect(t.fired.map((f) => f.taskId)).toEqual(['s1-in@10000', 's2-in@40000', 's2-edge@61000', 's2-beyond@150000']);
    expect(t.store.reads.slice(readsBefore).map((r) => r.shardIds)).toEqual([[2], [2]]);
    expect(t.late()).toEqual([0, 0, 0, 0]);
  });

  it('shrinks the window when a shard taken over has more rows in it than memory holds', async () => {
    const t = setup({ maxRows: 4 });
    t.queue.accepts = () => true;
    for (let i = 0; i < 3; i++) t.store.insert(row(`a${i}`, (10 + i) * S, 'shard1'), 1);
    for (let i = 0; i < 5; i++) t.store.insert(row(`b${i}`, (5 + i) * S, 'shard2'), 2);
    await t.queue.start([1]);
    await t.queue.start([2]);
    expect(t.queue.size).toBe(4);
    expect(t.queue.windowEnd).toEqual({ fireAtMs: 8 * S, taskId: 'b3@8000' });
    await t.clock.advanceTo(60 * S);
    expect(t.fired.map((f) => f.taskId)).toEqual(['b0@5000', 'b1@6000', 'b2@7000', 'b3@8000', 'b4@9000', 'a0@10000', 'a1@11000', 'a2@12000']);
    expect(t.late()).toEqual(Array(8).fill(0));
  });
});

describe('TimerQueue with a time-skipping clock', () => {
  it('finds a row far beyond the window: the clock jumps to the refill, then to the row', async () => {
    const start = Date.UTC(2030, 0, 1);
    const clock = new TimeSkippingClock({ wall: { now: () => start }, initialLocks: 0 });
    try {
      const t = setupWith({}, clock);
      t.store.insert(row('month', start + 30 * 24 * 3600 * S));
      await t.queue.start();
      const deadline = Date.now() + 5000;
      while (t.fired.length === 0 && Date.now() < deadline) await drain();
      expect(t.late()).toEqual([0]);
      expect(t.store.reads.length).toBeLessThanOrEqual(4);
    } finally {
      clock.close();
    }
  });
});
