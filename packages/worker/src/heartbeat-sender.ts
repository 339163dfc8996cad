// Throttles an activity's heartbeats: the first goes out at once; later ones at most once per
// interval, and only the latest details of an interval are sent (earlier ones are superseded).
// Sends are chained so that the server sees them in order.
export class HeartbeatSender {
  private lastSentAt = Number.NEGATIVE_INFINITY;
  private pending: { details: unknown } | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly send: (details: unknown) => Promise<void>,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  record(details: unknown): void {
    this.pending = { details };
    if (this.timer !== undefined) return;
    const wait = Math.max(0, this.lastSentAt + this.intervalMs - this.now());
    this.timer = setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    this.timer = undefined;
    const pending = this.pending;
    if (pending === undefined) return;
    this.pending = undefined;
    this.lastSentAt = this.now();
    this.chain = this.chain.then(() => this.send(pending.details));
  }

  /** Drops a heartbeat not sent yet (the activity finished: its result or failure supersedes it). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }

  /** Resolves when every heartbeat handed to `send` has been sent. */
  async drain(): Promise<void> {
    await this.chain;
  }
}
