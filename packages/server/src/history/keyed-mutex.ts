// Serializes async work per key (one transition at a time per execution).
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<R>(key: string, fn: () => Promise<R>): Promise<R> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Takes several locks in sorted order (no deadlock between two multi-key callers). */
  async runMany<R>(keys: readonly string[], fn: () => Promise<R>): Promise<R> {
    const sorted = [...new Set(keys)].sort();
    const step = (i: number): Promise<R> => (i === sorted.length ? fn() : this.run(sorted[i]!, () => step(i + 1)));
    return step(0);
  }
}
