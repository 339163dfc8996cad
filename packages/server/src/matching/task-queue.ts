// One task queue: a FIFO of tasks and a FIFO of waiting long polls. A task added while a poll waits is
// handed to it at once (sync match); otherwise it waits in the backlog. Tasks here are references to
// mutable state (re-derivable after a restart), never the source of truth.

interface Waiter<E> {
  resolve(entry: E | null): void;
}

export class TaskQueue<E> {
  private entries: E[] = [];
  private head = 0;
  private readonly waiters: Array<Waiter<E>> = [];
  /** Last time any poller touched this queue (for DescribeTaskQueue / stickiness). */
  lastPollMs = 0;
  /** Poller identity -> last poll time (DescribeTaskQueue; entries older than 5 minutes are dropped). */
  readonly pollers = new Map<string, number>();

  get backlog(): number {
    return this.entries.length - this.head;
  }

  get pollerCount(): number {
    return this.waiters.length;
  }

  add(entry: E, front = false): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter.resolve(entry);
      return;
    }
    if (front) {
      this.compact();
      this.entries.unshift(entry);
    } else {
      this.entries.push(entry);
    }
  }

  /** Removes entries matching `predicate` (expired query tasks). */
  removeWhere(predicate: (e: E) => boolean): void {
    this.compact();
    this.entries = this.entries.filter((e) => !predicate(e));
  }

  private compact(): void {
    if (this.head > 0) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  private take(): E | undefined {
    if (this.head >= this.entries.length) return undefined;
    const e = this.entries[this.head]!;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.entries.length) this.compact();
    return e;
  }

  /** Resolves with a task, or null when `timeoutMs` passes or `signal` aborts. */
  poll(nowMs: number, timeoutMs: number, signal: AbortSignal, schedule: (atMs: number, fn: () => void) => () => void, identity = ''): Promise<E | null> {
    this.lastPollMs = nowMs;
    this.pollers.set(identity, nowMs);
    const ready = this.take();
    if (ready !== undefined) return Promise.resolve(ready);
    if (signal.aborted) return Promise.resolve(null);
    return new Promise((resolve) => {
      const waiter: Waiter<E> = {
        resolve: (entry) => {
          cancel();
          signal.removeEventListener('abort', onAbort);
          resolve(entry);
        },
      };
      const drop = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        waiter.resolve(null);
      };
      const onAbort = (): void => drop();
      const cancel = schedule(nowMs + timeoutMs, drop);
      signal.addEventListener('abort', onAbort);
      this.waiters.push(waiter);
    });
  }
}
