// The encoded history events of recently written runs, kept so that the reads which follow a commit (a
// workflow task's history, a client's wait for the result) do not go back to the store for events this
// node has just written.
//
// A run's list holds its events from the first on, with no gap: it starts when the run's first event is
// committed here and grows by what each later commit appends. A commit that does not continue the list
// exactly (this node missed a write) drops it. Committed events never change, so a list is right for
// every range it covers even when other writers have since appended more. The lists are bounded: one run
// keeps at most `maxRunBytes`, all of them together `maxBytes`, the least recently written going first.

interface RunEvents {
  readonly events: Uint8Array[];
  bytes: number;
}

export interface RecentEventsOptions {
  /** All lists together (default 16 MiB). */
  readonly maxBytes?: number;
  /** One run's list; a longer history is read from the store (default 256 KiB). */
  readonly maxRunBytes?: number;
}

export class RecentEvents {
  private readonly runs = new Map<string, RunEvents>();
  private bytes = 0;
  private readonly maxBytes: number;
  private readonly maxRunBytes: number;

  constructor(options: RecentEventsOptions = {}) {
    this.maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
    this.maxRunBytes = options.maxRunBytes ?? 256 * 1024;
  }

  /** Records `events` (encoded, in order) as committed for run `k`, from event `firstEventId` on. */
  append(k: string, firstEventId: number, events: readonly Uint8Array[]): void {
    if (events.length === 0) return;
    const run = this.runs.get(k);
    if (run) this.runs.delete(k);
    const continues = run ? run.events.length + 1 === firstEventId : firstEventId === 1;
    if (!continues) {
      if (run) this.bytes -= run.bytes;
      return;
    }
    const list = run ?? { events: [], bytes: 0 };
    let added = 0;
    for (const e of events) added += e.length;
    if (list.bytes + added > this.maxRunBytes) {
      this.bytes -= list.bytes;
      return;
    }
    // One buffer of its own per commit, the events views into it: an encoded event is often a slice of
    // Buffer's shared 8 KiB pool, and keeping that slice would keep the whole slab alive (at 100,000
    // runs, hundreds of MB held for a few MB of events).
    const chunk = Buffer.allocUnsafeSlow(added);
    let at = 0;
    for (const e of events) {
      chunk.set(e, at);
      list.events.push(chunk.subarray(at, at + e.length));
      at += e.length;
    }
    list.bytes += added;
    this.bytes += added;
    // Most recently written last: the first entries are the ones to drop.
    this.runs.set(k, list);
    while (this.bytes > this.maxBytes) {
      const oldest = this.runs.keys().next().value;
      if (oldest === undefined) break;
      this.drop(oldest);
    }
  }

  /** Events [first, next) of run `k`, at most `limit` of them, when the list covers them all; else undefined. */
  read(k: string, firstEventId: number, nextEventId: number, limit: number): Uint8Array[] | undefined {
    const run = this.runs.get(k);
    if (!run || firstEventId < 1) return undefined;
    const end = Math.min(nextEventId, firstEventId + limit);
    if (end - 1 > run.events.length) return undefined;
    return run.events.slice(firstEventId - 1, Math.max(firstEventId - 1, end - 1));
  }

  drop(k: string): void {
    const run = this.runs.get(k);
    if (!run) return;
    this.runs.delete(k);
    this.bytes -= run.bytes;
  }

  /** Drops the lists of every run `belongs` selects. */
  dropWhere(belongs: (k: string) => boolean): void {
    for (const k of [...this.runs.keys()]) if (belongs(k)) this.drop(k);
  }

  /** Bytes held, runs held: for tests and diagnostics. */
  stats(): { bytes: number; runs: number } {
    return { bytes: this.bytes, runs: this.runs.size };
  }
}
