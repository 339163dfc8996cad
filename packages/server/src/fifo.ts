// A FIFO queue for large backlogs (matching's task levels, the timer queue's ready rows).
/** A FIFO with an advancing head (shift() on a large array is linear). */
export class Fifo<E> {
  private items: E[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(e: E): void {
    this.items.push(e);
  }

  unshift(e: E): void {
    this.compact();
    this.items.unshift(e);
  }

  shift(): E | undefined {
    if (this.head >= this.items.length) return undefined;
    const e = this.items[this.head]!;
    // Let go of it now, not at the next compaction: an entry often holds a waiting call's objects.
    (this.items as Array<E | undefined>)[this.head] = undefined;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) this.compact();
    return e;
  }

  removeWhere(predicate: (e: E) => boolean): void {
    this.compact();
    this.items = this.items.filter((e) => !predicate(e));
  }

  /** Removes and returns the first entry matching `predicate`. */
  takeFirst(predicate: (e: E) => boolean): E | undefined {
    for (let i = this.head; i < this.items.length; i++) {
      const e = this.items[i]!;
      if (!predicate(e)) continue;
      if (i === this.head) return this.shift();
      this.items.splice(i, 1);
      return e;
    }
    return undefined;
  }

  count(predicate: (e: E) => boolean): number {
    let n = 0;
    for (let i = this.head; i < this.items.length; i++) if (predicate(this.items[i]!)) n++;
    return n;
  }

  drain(): E[] {
    const taken = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return taken;
  }

  private compact(): void {
    if (this.head > 0) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
