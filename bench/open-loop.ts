/**
 * The open loop of the load generators (bench/single-activity.ts with the official worker,
 * bench/raw-worker.ts): one arrival every 1/rate s whatever the completions do.
 *
 * Each arrival's latency runs from its *scheduled* time, so a server that falls behind is charged for
 * the queueing it causes (no coordinated omission); arrivals due while the event loop was busy are sent
 * at once, with their due time. The first `warmupSeconds` of arrivals run at the same rate and are not
 * measured: a fresh load generator (a new thread, new connections, code V8 has not optimized yet) is
 * slow for its first half second or so, which would otherwise show as the server's tail.
 */
export interface OpenLoopOptions {
  readonly rate: number;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  /** Runs arrival number `arrival` (0, 1, ...); resolves when its workflow completed. */
  readonly arrive: (arrival: number) => Promise<unknown>;
  /** Called once, when the first measured arrival is due: the measured window starts. */
  readonly onMeasured: () => void;
  /** Receives the latency (ms from the due time) of each measured arrival that completed. */
  readonly latencies: number[];
  readonly onFailed: (arrival: number, error: unknown) => void;
}

/** Resolves once every arrival, warm-up ones included, has completed or failed. */
export async function openLoop(options: OpenLoopOptions): Promise<void> {
  const { rate, arrive, latencies, onFailed } = options;
  const warmup = Math.round(rate * options.warmupSeconds);
  const total = warmup + Math.max(1, Math.round(rate * options.durationSeconds));
  const inFlight: Promise<void>[] = [];
  const startedAt = performance.now();
  const dueAt = (arrival: number): number => startedAt + (arrival * 1000) / rate;
  for (let arrival = 0; arrival < total; ) {
    const now = performance.now();
    while (arrival < total && dueAt(arrival) <= now) {
      if (arrival === warmup) options.onMeasured();
      const due = dueAt(arrival);
      const measured = arrival >= warmup;
      const index = arrival;
      inFlight.push(
        arrive(index).then(
          () => {
            if (measured) latencies.push(performance.now() - due);
          },
          (error: unknown) => onFailed(index, error),
        ),
      );
      arrival++;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, dueAt(arrival) - performance.now())));
  }
  await Promise.all(inFlight);
}
