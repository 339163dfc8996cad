// The encoded history events of recently written runs, kept so that the reads which follow a commit (a
// workflow task's history, a client's wait for the result) do not go back to the store for events this
// node has just written.
//
// A run's list holds its events from the first on, with no gap: it starts when the run's first event is
// committed here and grows by what each later commit appends. A commit that does not continue the list
// exactly (this node missed a write) drops it. Committed events never change, so a list is right for
// every range it covers even when other writers have since appended more. The lists are bounded: one run
// keeps at most `maxRunBytes`, all of them together `maxBytes` over at most `maxRuns` runs, the least
// recently written going first. What counts against the bytes includes an estimate of each event's and
// each run's own objects, so that many small lists cannot hold much more memory than the budget says.

interface RunEvents {
  readonly events: Uint8Array[];
  bytes: number;
}

/** Counted per event beside its bytes: the view onto them and its slot in the list. */
const EVENT_OVERHEAD = 96;
/** Counted per run: its entry, key and list, and the buffer of each commit. */
const RUN_OVERHEAD = 256;

export interface RecentEventsOptions {
  /** All lists together (default 16 MiB). */
  readonly maxBytes?: number;
  /** Runs with a list (default 4,096: the runs in flight, not every parked one). */
  readonly maxRuns?: number;
  /** One run's list; a longer history is read from the store (default 256 KiB). */
  readonly maxRunBytes?: number;
}

export class RecentEvents {
  private readonly runs = new Map<string, RunEvents>();
  private bytes = 0;
  private readonly maxBytes: number;
  private readonly maxRunBytes: number;
  private readonly maxRuns: number;

  constructor(options: RecentEventsOptions = {}) {
    this.maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
    this.maxRunBytes = options.maxRunBytes ?? 256 * 1024;
    this.maxRuns = options.maxRuns ?? 4_096;
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
    const list = run ?? { events: [], bytes: RUN_OVERHEAD };
    let size = 0;
    for (const e of events) size += e.length;
    const added = size + events.length * EVENT_OVERHEAD;
    if (list.bytes + added > this.maxRunBytes) {
      if (run) this.bytes -= run.bytes;
      return;
    }
    // One buffer of its own per commit, the events views into it: an encoded event is often a slice of
    // Buffer's shared 8 KiB pool, and keeping that slice would keep the whole slab alive (at 100,000
    // runs, hundreds of MB held for a few MB of events).
    const chunk = Buffer.allocUnsafeSlow(size);
    let at = 0;
    for (const e of events) {
      chunk.set(e, at);
      list.events.push(chunk.subarray(at, at + e.length));
      at += e.length;
    }
    if (!run) this.bytes += RUN_OVERHEAD;
    list.bytes += added;
    this.bytes += added;
    // Most recently written last: the first entries are the ones to drop.
    this.runs.set(k, list);
    while (this.bytes > this.maxBytes || this.runs.size > this.maxRuns) {
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
