// The durable timer queue. Timer rows live in the store (written in the same transaction as the
// transition that set them); this class keeps the ones due soon in a min-heap, arms one clock callback
// for the earliest, and hands due rows to the engine, which re-validates each against mutable state and
// deletes the row in the transition that handles it. A row whose handling fails is retried with a short
// backoff; nothing is lost on restart because `start` loads the rows again.
//
// Only a window of the rows is in memory, so memory does not grow with pending timers:
//
//   covered      every stored row (of the shards held) at or before this key, in (fire time, task id)
//                order, is in the heap (or being handled, or deleted); no row after it is. A row a
//                transition adds goes to the heap when it falls at or before `covered`; a later one is
//                only noted (`nextBeyondMs`): it is in the store, where a load will find it.
//   load         reads the rows after `covered` up to now + windowMs, at most maxRows (less what the
//                heap holds): `covered` moves to now + windowMs, or, when the limit cut the slice, to
//                the last row read (a keyset, so a cut inside a run of equal fire times neither skips
//                nor repeats a row). Uncut, one more read finds the first row beyond (`nextBeyondMs`).
//   refill       a load, armed as a `timer` clock callback (a time-skipping clock jumps to it, so rows
//                beyond the window are found however far away): at nextBeyondMs - windowMs / 2 when
//                the slice was whole (nothing to read before then; a row added beyond `covered` brings
//                it forward), halfway to `covered` when the limit cut it. With no room (the heap and
//                the rows in flight fill maxRows) it waits for the due rows to be handled.
//   take-over    `start(shardIds)` of a cluster node reads the new shards' rows at or before `covered`
//                (the same window as the others); more than maxRows of them shrink `covered`.
//   shrink       when transitions add more than maxRows (+ a quarter) rows inside the window, `covered`
//                moves back to the maxRows-th row and the later rows leave memory (they are stored).
//
// Reads run one at a time. While one runs, rows added after `covered` wait in `pendingAdds` until
// `covered` has moved (the read's snapshot may or may not include them), and ids removed meanwhile are
// kept out of what it returns. A retried row is kept whatever its new time (its stored fire time is
// inside the window, so no load would read it again).
//
// Memory-only rows (`hold`: timers whose loss on restart costs nothing, timer-task.ts
// `isMemoryOnlyTimerId`) are not in the store, so they wait in a heap of their own, outside the window:
// they neither take its room nor leave memory when it shrinks.
//
// Firing. Due rows leave the heap into three ready queues by priority, and at most `maxInFlight` are
// handled at once, taken from the queues by weighted round robin: high (user timers, retries, backoffs,
// transfer tasks) 10, low (timeouts) 9, last (retention deletes and sticky schedule-to-start timeouts)
// 1. The classes and weights are Temporal's task priorities and defaults
// (service/history/queues/priority_assigner.go, service/history/configs/task.go), with one change:
// Temporal ranks the sticky schedule-to-start timeout with the other timeouts. Here it goes last, because
// firing it late costs nothing but a wait on a live worker's queue (a worker that is gone is noticed
// without it, matching.ts), while each one is a transition: a worker too slow for its sticky queue
// makes one for every task it does not take, as many as the user timers that woke those tasks, and at
// equal weights they would halve the rate at which those timers fire. The work is conserving: a class
// with nothing due leaves its turns to the others. Temporal's timer processor likewise handles tasks
// with a bounded pool (history.timerProcessorSchedulerWorkerCount, 512). The bound keeps the engine's
// commit queue short when more timers are due than the server can handle at once: a worker's poll or
// completion then waits behind at most that many fires, not behind every row that fell due.
import type { Store, TimerTaskKey, TimerTaskRow } from '../persistence/store.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { TimerSink } from '../history/engine.js';
import { compareTimerKeys, TimerHeap } from './timer-heap.js';
import { Fifo } from '../fifo.js';

export type TimerHandler = (row: TimerTaskRow) => Promise<void>;

export interface TimerQueueOptions {
  /** How far ahead of now rows are kept in memory. */
  readonly windowMs?: number;
  /** At most this many rows are loaded into memory (the window shrinks when more are due sooner). */
  readonly maxRows?: number;
  /** Backoff before a row whose handling failed, or a load that failed, is tried again. */
  readonly retryDelayMs?: number;
  /** At most this many due rows are handled at once. */
  readonly maxInFlight?: number;
}

export const DEFAULT_TIMER_WINDOW_MS = 60_000;
export const DEFAULT_TIMER_MAX_ROWS = 10_000;
export const DEFAULT_TIMER_MAX_IN_FLIGHT = 512;

/** Priority classes of due rows (indexes into the ready queues). */
const enum Priority {
  High = 0,
  Low = 1,
  Preemptable = 2,
}

/** One round of the weighted round robin (10 high, 9 low, 1 preemptable/last), interleaved. */
const ROUND: readonly Priority[] = (() => {
  const weights = [10, 9, 1];
  const round: Priority[] = [];
  for (let i = 0; i < Math.max(...weights); i++) {
    for (const [p, w] of weights.entries()) if (i < w) round.push(p as Priority);
  }
  return round;
})();

const LOW_PRIORITY_KINDS = new Set(['workflowTaskTimeout', 'activityTimeout', 'workflowRunTimeout', 'workflowExecutionTimeout']);
const LAST_KINDS = new Set(['deleteExecution', 'stickyScheduleToStartTimeout']);
const KIND_PATTERN = /"kind":"(\w+)"/;

/** The priority of a row, from the kind at the start of its encoded task (timer-task.ts). */
function priorityOf(row: TimerTaskRow): Priority {
  const head = Buffer.from(row.data.buffer, row.data.byteOffset, Math.min(row.data.length, 48)).toString('latin1');
  const kind = KIND_PATTERN.exec(head)?.[1] ?? '';
  if (LAST_KINDS.has(kind)) return Priority.Preemptable;
  return LOW_PRIORITY_KINDS.has(kind) ? Priority.Low : Priority.High;
}

interface ReadyRow {
  readonly row: TimerTaskRow;
  readonly memoryOnly: boolean;
  /** Resolves the fireDue call that made the row ready. */
  readonly done: () => void;
}

export class TimerQueue implements TimerSink {
  private readonly options: Readonly<Required<TimerQueueOptions>>;
  private readonly heap = new TimerHeap();
  /** Ids in the heap (a row loaded twice, by a shard take-over and by its own commit, fires once). */
  private readonly queued = new Set<string>();
  /** Ids in the heap whose rows were deleted (lazy deletion: skipped when they reach the top). */
  private readonly removed = new Set<string>();
  /** Ids in the heap that are retries (their time in memory is not their stored one). */
  private readonly retries = new Set<string>();
  /**
   * Memory-only rows (`hold`), in a heap of their own: they are not in the store, so the window (its
   * room, its shrinking) is not about them, and they stay until they fire or are removed.
   */
  private readonly held = new TimerHeap();
  private readonly heldIds = new Set<string>();
  /** Ids in `held` whose timers were deleted (lazy deletion, as `removed`). */
  private readonly removedHeld = new Set<string>();
  /** Due rows waiting for a handler slot, by priority. */
  private readonly ready = [new Fifo<ReadyRow>(), new Fifo<ReadyRow>(), new Fifo<ReadyRow>()];
  private roundAt = 0;
  /** Rows being handled (at most maxInFlight). */
  private handling = 0;
  /** Cluster mode: only rows of shards this node holds are kept (checked on every add and retry). */
  accepts: ((row: TimerTaskRow) => boolean) | null = null;
  /** Cluster mode: the shards loaded; null on a single node (all rows). */
  private shards: Set<number> | null = null;

  private covered: TimerTaskKey | null = null;
  private cut = false;
  private nextBeyondMs = Infinity;
  private loadedAtMs = 0;
  private loads: Promise<void> = Promise.resolve();
  private reading = false;
  private pendingAdds: TimerTaskRow[] = [];
  private readonly removedWhileReading = new Set<string>();
  private waitingForRoom = false;
  private loadBackoffUntilMs = 0;
  private cancelRefill: (() => void) | null = null;
  private refillAtMs = Infinity;

  private cancelArm: (() => void) | null = null;
  private armedAt = Infinity;
  private stopped = false;
  /** Stored rows taken from the heap and not yet handled (ready or being handled): they count against maxRows. */
  private inFlight = 0;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly handler: TimerHandler,
    options: TimerQueueOptions = {},
  ) {
    const maxRows = Math.max(1, Math.floor(options.maxRows ?? DEFAULT_TIMER_MAX_ROWS));
    this.options = {
      windowMs: Math.max(1, options.windowMs ?? DEFAULT_TIMER_WINDOW_MS),
      maxRows,
      retryDelayMs: options.retryDelayMs ?? 1000,
      maxInFlight: Math.max(1, Math.floor(options.maxInFlight ?? DEFAULT_TIMER_MAX_IN_FLIGHT)),
    };
  }

  /**
   * Loads the stored rows of the window (of `shardIds` only, when given) and arms the clock. The first
   * call sets the window; a later one (a cluster node taking shards over) loads those shards' rows in it.
   */
  async start(shardIds?: readonly number[]): Promise<void> {
    // Held from now on (a refill that runs first reads them too); a `dropWhere` meanwhile takes them out.
    const added = shardIds?.filter((id) => !this.shards?.has(id)) ?? [];
    if (shardIds) {
      this.shards ??= new Set();
      for (const id of added) this.shards.add(id);
    }
    try {
      await this.serially(async () => {
        const stillHeld = shardIds?.filter((id) => this.shards?.has(id));
        if (stillHeld?.length === 0) return;
        if (this.covered === null) await this.loadWindow();
        else await this.loadShards(stillHeld);
      });
    } catch (err) {
      for (const id of added) this.shards?.delete(id);
      throw err;
    }
  }

  /** Forgets the rows `belongs` selects (their shards, `shardIds`, moved to another node, which loads them). */
  dropWhere(belongs: (row: TimerTaskRow) => boolean, shardIds: Iterable<number> = []): void {
    for (const id of shardIds) this.shards?.delete(id);
    this.pendingAdds = this.pendingAdds.filter((r) => !belongs(r));
    for (const row of this.heap.retain((r) => !belongs(r))) this.forget(row.taskId);
    for (const row of this.held.retain((r) => !belongs(r))) this.forget(row.taskId);
    for (const queue of this.ready) {
      queue.removeWhere((r) => {
        if (!belongs(r.row)) return false;
        this.finish(r);
        return true;
      });
    }
  }

  stop(): void {
    this.stopped = true;
    this.cancelArm?.();
    this.cancelArm = null;
    this.cancelRefill?.();
    this.cancelRefill = null;
  }

  /** Rows in memory (including deleted ones not yet dropped). */
  get size(): number {
    return this.heap.size + this.held.size;
  }

  /** The window: every stored row at or before this key is in memory (null before `start`). */
  get windowEnd(): TimerTaskKey | null {
    return this.covered;
  }

  add(rows: readonly TimerTaskRow[]): void {
    for (const row of rows) this.offer(row);
    this.afterChange();
  }

  /** Keeps rows that are not in the store (memory-only timers) until they fire or are removed. */
  hold(rows: readonly TimerTaskRow[]): void {
    for (const row of rows) this.pushHeld(row);
    this.arm();
  }

  remove(taskIds: readonly string[]): void {
    for (const id of taskIds) {
      if (this.heldIds.has(id)) this.removedHeld.add(id);
      else if (this.queued.has(id)) this.removed.add(id);
      if (this.reading) this.removedWhileReading.add(id);
    }
    // Compact when tombstones dominate.
    if (this.removed.size > 1024 && this.removed.size * 2 > this.heap.size) {
      for (const row of this.heap.retain((r) => !this.removed.has(r.taskId))) this.forget(row.taskId);
    }
    if (this.removedHeld.size > 1024 && this.removedHeld.size * 2 > this.held.size) {
      for (const row of this.held.retain((r) => !this.removedHeld.has(r.taskId))) this.forget(row.taskId);
    }
  }

  private offer(row: TimerTaskRow): void {
    if (this.accepts && !this.accepts(row)) return;
    if (this.covered && compareTimerKeys(row, this.covered) <= 0) this.push(row);
    else if (this.reading) this.pendingAdds.push(row);
    else if (this.covered) this.nextBeyondMs = Math.min(this.nextBeyondMs, row.fireAtMs);
    // Before the first load nothing is kept: that load reads the row from the store.
  }

  private push(row: TimerTaskRow): void {
    if (this.queued.has(row.taskId) || (this.accepts && !this.accepts(row))) return;
    this.queued.add(row.taskId);
    this.heap.push(row);
  }

  private pushHeld(row: TimerTaskRow): void {
    if (this.queued.has(row.taskId) || (this.accepts && !this.accepts(row))) return;
    this.queued.add(row.taskId);
    this.heldIds.add(row.taskId);
    this.held.push(row);
  }

  private forget(taskId: string): void {
    this.queued.delete(taskId);
    this.removed.delete(taskId);
    this.retries.delete(taskId);
    this.heldIds.delete(taskId);
    this.removedHeld.delete(taskId);
  }

  // ---- loading ------------------------------------------------------------------------------------

  private serially(op: () => Promise<void>): Promise<void> {
    const run = this.loads.then(() => (this.stopped ? undefined : op()));
    this.loads = run.catch(() => undefined);
    return run;
  }

  /**
   * One store read. While it runs, adds after `covered` wait in `pendingAdds` and removed ids are noted:
   * `settle` (called at once after it, when the read's caller has moved `covered`) sorts them out.
   */
  private async read(untilMs: number, limit: number, shardIds: readonly number[] | undefined, after?: TimerTaskKey): Promise<{ rows: TimerTaskRow[]; full: boolean }> {
    if (shardIds?.length === 0) return { rows: [], full: false };
    this.reading = true;
    try {
      const rows = await this.store.listTimerTasks(untilMs, limit, shardIds, after);
      return { rows, full: rows.length >= limit };
    } catch (err) {
      this.reading = false;
      this.settle([]);
      throw err;
    } finally {
      this.reading = false;
    }
  }

  private shardList(): readonly number[] | undefined {
    return this.shards ? [...this.shards] : undefined;
  }

  /** Moves the window on: reads the rows after `covered` up to now + windowMs (a refill, or the first load). */
  private async loadWindow(): Promise<void> {
    const now = this.clock.now();
    const room = this.options.maxRows - (this.heap.size - this.removed.size) - this.inFlight;
    if (room <= 0) {
      this.waitingForRoom = true;
      return;
    }
    this.waitingForRoom = false;
    const untilMs = now + this.options.windowMs;
    const shardIds = this.shardList();
    const { rows, full } = await this.read(untilMs, room, shardIds, this.covered ?? undefined);
    const last = rows.at(-1);
    // A key just after every row due at untilMs: fire times are whole milliseconds and no id is empty.
    this.covered = full && last ? { fireAtMs: last.fireAtMs, taskId: last.taskId } : { fireAtMs: untilMs + 1, taskId: '' };
    this.cut = full;
    this.loadedAtMs = now;
    this.nextBeyondMs = full && last ? last.fireAtMs : Infinity;
    this.settle(rows);
    if (!full) await this.findNextBeyond(shardIds);
    this.afterChange();
  }

  /** Reads the rows of newly held shards inside the current window. */
  private async loadShards(shardIds: readonly number[] | undefined): Promise<void> {
    const covered = this.covered!;
    const limit = this.options.maxRows;
    const { rows, full } = await this.read(covered.fireAtMs, limit, shardIds);
    const inside = rows.filter((r) => compareTimerKeys(r, covered) <= 0);
    const last = inside.at(-1);
    // More rows of these shards are due inside the window than memory holds: shrink it to the last read.
    if (full && last && inside.length === rows.length) this.shrinkTo(last);
    this.settle(inside);
    if (!this.cut) await this.findNextBeyond(shardIds);
    this.afterChange();
  }

  /** Pushes what a read returned, then offers again the adds held back while it ran (less deleted ids). */
  private settle(rows: readonly TimerTaskRow[]): void {
    const deleted = this.removedWhileReading;
    for (const row of rows) if (!deleted.has(row.taskId)) this.push(row);
    const pending = this.pendingAdds;
    this.pendingAdds = [];
    for (const row of pending) if (!deleted.has(row.taskId)) this.offer(row);
    deleted.clear();
  }

  private async findNextBeyond(shardIds: readonly number[] | undefined): Promise<void> {
    const covered = this.covered!;
    const { rows } = await this.read(Number.MAX_SAFE_INTEGER, 1, shardIds, covered);
    if (rows[0] && this.covered === covered) this.nextBeyondMs = Math.min(this.nextBeyondMs, rows[0].fireAtMs);
    this.settle([]);
  }

  /** Moves `covered` back to `last`: rows after it leave memory (they are stored; a load reads them again). */
  private shrinkTo(last: TimerTaskKey): void {
    const covered = { fireAtMs: last.fireAtMs, taskId: last.taskId };
    this.covered = covered;
    this.cut = true;
    this.loadedAtMs = this.clock.now();
    this.nextBeyondMs = Math.min(this.nextBeyondMs, covered.fireAtMs);
    const beyond = (r: TimerTaskRow): boolean => !this.retries.has(r.taskId) && compareTimerKeys(r, covered) > 0;
    for (const row of this.heap.retain((r) => !beyond(r))) this.forget(row.taskId);
  }

  /** Keeps the heap near maxRows when transitions add many rows inside the window. */
  private enforceLimit(): void {
    const { maxRows } = this.options;
    if (this.reading || this.heap.size <= maxRows + (maxRows >> 2)) return;
    const live = this.heap.values().filter((r) => !this.retries.has(r.taskId) && !this.removed.has(r.taskId));
    if (live.length <= maxRows) return;
    live.sort(compareTimerKeys);
    this.shrinkTo(live[maxRows - 1]!);
  }

  private afterChange(): void {
    this.enforceLimit();
    this.arm();
    this.scheduleRefill();
  }

  private scheduleRefill(): void {
    if (this.stopped || this.covered === null || this.waitingForRoom) return;
    const { windowMs } = this.options;
    const planned = this.cut ? this.loadedAtMs + Math.max(0, this.covered.fireAtMs - this.loadedAtMs) / 2 : this.nextBeyondMs - windowMs / 2;
    const at = Math.max(planned, this.loadBackoffUntilMs);
    if (at === this.refillAtMs && this.cancelRefill) return;
    this.cancelRefill?.();
    this.cancelRefill = null;
    this.refillAtMs = at;
    if (at === Infinity) return;
    // A `timer`: a time-skipping clock jumps to it like to a row, and holds time until the load is done.
    this.cancelRefill = this.clock.schedule(
      at,
      () => {
        this.cancelRefill = null;
        this.refillAtMs = Infinity;
        return this.refill();
      },
      'timer',
    );
  }

  private async refill(): Promise<void> {
    try {
      await this.serially(() => this.loadWindow());
      this.loadBackoffUntilMs = 0;
    } catch (err) {
      if (this.stopped) return;
      this.logger.warn('loading timer tasks failed; retrying', { error: String(err) });
      this.loadBackoffUntilMs = this.clock.now() + this.options.retryDelayMs;
      this.scheduleRefill();
    }
  }

  // ---- firing -------------------------------------------------------------------------------------

  private arm(): void {
    if (this.stopped) return;
    while (this.heap.size > 0 && this.removed.has(this.heap.peek()!.taskId)) this.forget(this.heap.pop()!.taskId);
    while (this.held.size > 0 && this.removedHeld.has(this.held.peek()!.taskId)) this.forget(this.held.pop()!.taskId);
    const stored = this.heap.peek();
    const held = this.held.peek();
    const next = stored && held ? (held.fireAtMs < stored.fireAtMs ? held : stored) : (stored ?? held);
    if (!next) return;
    if (next.fireAtMs >= this.armedAt && this.cancelArm) return;
    this.cancelArm?.();
    this.armedAt = next.fireAtMs;
    // Returning fireDue's promise lets a time-skipping clock hold time until the due rows are handled.
    this.cancelArm = this.clock.schedule(
      next.fireAtMs,
      () => {
        this.cancelArm = null;
        this.armedAt = Infinity;
        return this.fireDue();
      },
      'timer',
    );
  }

  private async fireDue(): Promise<void> {
    if (this.stopped) return;
    const now = this.clock.now();
    const handled: Array<Promise<void>> = [];
    for (const [heap, removed, memoryOnly] of [[this.heap, this.removed, false], [this.held, this.removedHeld, true]] as const) {
      while (heap.size > 0 && heap.peek()!.fireAtMs <= now) {
        const row = heap.pop()!;
        const deleted = removed.has(row.taskId);
        this.forget(row.taskId);
        if (deleted) continue;
        if (!memoryOnly) this.inFlight++;
        handled.push(new Promise<void>((done) => this.ready[priorityOf(row)]!.push({ row, memoryOnly, done })));
      }
    }
    this.pump();
    // The rows due next fire on time while these are handled: under load a handler's commit can wait
    // behind much other work, and waiting for it would make every later row as late.
    this.arm();
    try {
      await Promise.all(handled);
    } finally {
      // Rows were handled: a refill that found no room may run now.
      this.waitingForRoom = false;
      this.arm();
      this.scheduleRefill();
    }
  }

  /** Starts handlers for ready rows while fewer than maxInFlight run, by weighted round robin. */
  private pump(): void {
    while (this.handling < this.options.maxInFlight) {
      const next = this.takeReady();
      if (!next) return;
      this.handling++;
      void this.handle(next).finally(() => {
        this.handling--;
        this.finish(next);
        this.pump();
      });
    }
  }

  private takeReady(): ReadyRow | undefined {
    for (let i = 0; i < ROUND.length; i++) {
      const taken = this.ready[ROUND[this.roundAt]!]!.shift();
      this.roundAt = (this.roundAt + 1) % ROUND.length;
      if (taken) return taken;
    }
    return undefined;
  }

  /** A ready row left the queue (handled, or dropped with its shard). */
  private finish(r: ReadyRow): void {
    if (!r.memoryOnly) this.inFlight--;
    r.done();
  }

  /** Never throws: a failed row is pushed back for a retry after retryDelayMs. */
  private async handle({ row, memoryOnly }: ReadyRow): Promise<void> {
    if (this.stopped) return;
    try {
      await this.handler(row);
    } catch (err) {
      this.logger.warn('timer task failed; retrying', { taskId: row.taskId, error: String(err) });
      if (this.stopped) return;
      const retry = { ...row, fireAtMs: this.clock.now() + this.options.retryDelayMs };
      if (memoryOnly) {
        this.pushHeld(retry);
      } else {
        this.push(retry);
        if (this.queued.has(row.taskId)) this.retries.add(row.taskId);
      }
    }
  }
}
