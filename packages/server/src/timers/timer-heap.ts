// A binary min-heap of timer rows in fire order: (fire time, task id), the order the store lists them in.
import type { TimerTaskKey, TimerTaskRow } from '../persistence/store.js';

/** Compares two rows' places in fire order. Task ids compare by code unit (they are ASCII, as the stores compare them). */
export function compareTimerKeys(a: TimerTaskKey, b: TimerTaskKey): number {
  if (a.fireAtMs !== b.fireAtMs) return a.fireAtMs < b.fireAtMs ? -1 : 1;
  return a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0;
}

export class TimerHeap {
  private rows: TimerTaskRow[] = [];

  get size(): number {
    return this.rows.length;
  }

  peek(): TimerTaskRow | undefined {
    return this.rows[0];
  }

  values(): readonly TimerTaskRow[] {
    return this.rows;
  }

  push(row: TimerTaskRow): void {
    this.rows.push(row);
    this.siftUp(this.rows.length - 1);
  }

  pop(): TimerTaskRow | undefined {
    const top = this.rows[0];
    const last = this.rows.pop();
    if (this.rows.length > 0 && last) {
      this.rows[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  /** Keeps the rows `keep` selects and returns the others. */
  retain(keep: (row: TimerTaskRow) => boolean): TimerTaskRow[] {
    const kept: TimerTaskRow[] = [];
    const dropped: TimerTaskRow[] = [];
    for (const row of this.rows) (keep(row) ? kept : dropped).push(row);
    if (dropped.length === 0) return dropped;
    this.rows = kept;
    for (let i = (kept.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
    return dropped;
  }

  private less(i: number, j: number): boolean {
    return compareTimerKeys(this.rows[i]!, this.rows[j]!) < 0;
  }

  private swap(i: number, j: number): void {
    const h = this.rows;
    [h[i], h[j]] = [h[j]!, h[i]!];
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) return;
      this.swap(i, p);
      i = p;
    }
  }

  private siftDown(i: number): void {
    const n = this.rows.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(l, m)) m = l;
      if (r < n && this.less(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
