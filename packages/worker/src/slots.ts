// A counting semaphore: the worker's concurrency slots. `acquire` waits for a free slot (or rejects
// when the signal aborts); the returned function gives the slot back exactly once.
export class Slots {
  private free: number;
  private readonly waiters: Array<() => void> = [];

  constructor(readonly capacity: number) {
    this.free = capacity;
  }

  get used(): number {
    return this.capacity - this.free;
  }

  async acquire(signal: AbortSignal): Promise<() => void> {
    if (this.free === 0) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          const index = this.waiters.indexOf(wake);
          if (index >= 0) this.waiters.splice(index, 1);
          reject(signal.reason);
        };
        const wake = (): void => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        if (signal.aborted) {
          onAbort();
          return;
        }
        signal.addEventListener('abort', onAbort, { once: true });
        this.waiters.push(wake);
      });
    } else {
      this.free--;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next !== undefined) next(); // hand the slot over directly
      else this.free++;
    };
  }
}
