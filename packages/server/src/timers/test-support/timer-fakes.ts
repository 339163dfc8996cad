// Fakes for the timer queue's tests: a clock moved by hand and a store that holds only timer rows.
import type { Clock, ScheduleKind } from '../../clock.js';
import type { Store, TimerTaskKey, TimerTaskRow } from '../../persistence/store.js';
import { compareTimerKeys } from '../timer-heap.js';

interface Scheduled {
  readonly atMs: number;
  readonly seq: number;
  readonly fn: () => void | Promise<void>;
  readonly kind: ScheduleKind;
}

/** Time moves only when a test moves it; callbacks run in (time, scheduling) order and are awaited. */
export class ManualClock implements Clock {
  private entries: Scheduled[] = [];
  private seq = 0;

  /**
   * `awaitCallbacks` false: a callback's promise is not waited for before the next callback runs, as
   * with the system clock (true waits, as a time-skipping clock holds time).
   */
  constructor(
    private nowMs = 0,
    private readonly awaitCallbacks = true,
  ) {}

  now(): number {
    return this.nowMs;
  }

  schedule(atMs: number, fn: () => void | Promise<void>, kind: ScheduleKind = 'wait'): () => void {
    const entry = { atMs, seq: this.seq++, fn, kind };
    this.entries.push(entry);
    return () => {
      this.entries = this.entries.filter((e) => e !== entry);
    };
  }

  /** The earliest `timer` callback (what a time-skipping clock would jump to). */
  nextTimerAt(): number | undefined {
    return this.sorted().find((e) => e.kind === 'timer')?.atMs;
  }

  /** Moves time to `targetMs`, running every callback due on the way at its own time. */
  async advanceTo(targetMs: number): Promise<void> {
    for (;;) {
      await drain();
      const next = this.sorted()[0];
      if (!next || next.atMs > targetMs) break;
      this.entries = this.entries.filter((e) => e !== next);
      this.nowMs = Math.max(this.nowMs, next.atMs);
      if (this.awaitCallbacks) await next.fn();
      else void next.fn();
    }
    this.nowMs = Math.max(this.nowMs, targetMs);
    await drain();
  }

  private sorted(): Scheduled[] {
    return [...this.entries].sort((a, b) => a.atMs - b.atMs || a.seq - b.seq);
  }
}

/** Lets pending promise callbacks run. */
export async function drain(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * The timer rows of a store, listed as the real ones list them (persistence/store.ts). `hold()` makes
 * the next reads wait after taking their snapshot, until `release()`: what a slow database does.
 */
export class MemoryTimerStore {
  readonly rows = new Map<string, { row: TimerTaskRow; shard: number }>();
  readonly reads: Array<{ untilMs: number; limit: number; shardIds?: readonly number[]; after?: TimerTaskKey; returned: number }> = [];
  private gate: Promise<void> | null = null;
  private open: (() => void) | null = null;

  insert(row: TimerTaskRow, shard = 0): void {
    this.rows.set(row.taskId, { row, shard });
  }

  delete(taskId: string): void {
    this.rows.delete(taskId);
  }

  hold(): void {
    this.gate = new Promise<void>((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open?.();
    this.gate = null;
  }

  async listTimerTasks(untilMs: number, limit: number, shardIds?: readonly number[], after?: TimerTaskKey): Promise<TimerTaskRow[]> {
    const snapshot = [...this.rows.values()]
      .filter(({ row, shard }) => row.fireAtMs <= untilMs && (!shardIds || shardIds.includes(shard)) && (!after || compareTimerKeys(row, after) > 0))
      .map(({ row }) => row)
      .sort(compareTimerKeys)
      .slice(0, limit);
    this.reads.push({ untilMs, limit, ...(shardIds ? { shardIds } : {}), ...(after ? { after } : {}), returned: snapshot.length });
    if (this.gate) await this.gate;
    return snapshot;
  }

  asStore(): Store {
    return this as unknown as Store;
  }
}

export function timerRow(taskId: string, fireAtMs: number, workflowId = 'wf'): TimerTaskRow {
  return { taskId, fireAtMs, key: { namespaceId: 'ns', workflowId, runId: 'run' }, data: new Uint8Array() };
}
