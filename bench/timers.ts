/**
 * timers: N workflows (default 100,000) each sleeping until a random moment 1–60 s after a common
 * epoch, then a burst of B (default 10,000) timers all due at the same instant. Server in its own
 * process (its RSS is read from /proc), official worker and client in this one.
 *
 *   npm run bench -- timers [--workflows 100000] [--burst 10000] [--min 1] [--max 60] [--window S]
 *                           [--burst-window B/200] [--concurrency 100] [--sample 2000] [--seed 1]
 *                           [--worker official|raw] [--address host:port]
 *
 * --worker raw: a protocol-level worker (bench/raw-timers-worker.ts, its own thread) starts the workflows
 * eagerly, answers each first workflow task with StartTimer and the one after TimerFired with
 * CompleteWorkflowExecution, so the figures are the server's rather than those of a worker replaying
 * 100,000 workflows on the same cores. --address measures a running server (no RSS reading then).
 *
 * Every workflow sleeps *until an absolute time* (epoch + its random 1–60 s), the epoch being `--window`
 * seconds after the first start (default: N/200 s, at least 5): starting 100,000 workflows takes a
 * while, and the figure asked for is lateness and RSS with all of them pending at once. If starting
 * took longer than the window the report says so ("pending when measured" < N): raise --window.
 *
 * Lateness, from a sample of histories (server clock): fired = TimerFired time − due time (due =
 * TimerStarted time + start_to_fire_timeout: the fire was handled and written), resumed = the next
 * WorkflowTaskCompleted − due (the worker ran the workflow on and the server recorded it). Also, for
 * every workflow, the worker's view: when the resumed workflow's sink call ran − its due time.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { Client, Connection } from '@temporalio/client';
import { connectBench, forEachConcurrently, MB, onInterrupt, positiveInteger, processMemory, startBenchServer, waitFor, type BenchServer } from './harness.js';
import { readHistories, spreadSample, timerTimes } from './history.js';
import { distribution, finish, printGrid, printTable, type Distribution, type ScenarioResult } from './report.js';
import { rawTransportOption, type RawTransport } from './raw-calls.js';
import type { RawTimersInput, RawTimersMessage, RawTimersRequest } from './raw-timers-worker.js';
import { sleepUntilWorkflow } from './workflows.js';

const SCENARIO = 'timers';
const WORKERS = {
  official: 'official @temporalio/worker 1.24.0, default options',
  raw: 'protocol-level worker thread (bench/raw-timers-worker.ts), eager starts, 16 workflow task pollers',
} as const;
const RAW_POLLERS = 16;

interface Phase {
  readonly workflows: number;
  readonly startSeconds: number;
  readonly pendingWhenMeasured: number;
  /** Workflows that had set their timer per second, from the first start to the RSS reading. */
  readonly parkedPerSecond: number;
  /** Server RSS within a second of the last timer set: still holding the garbage of the start burst. */
  readonly rssJustParkedMB: number;
  /** Server RSS just before the first timer is due: all pending, the server idle since the last was set. */
  readonly rssAllPendingMB: number;
  readonly firedLatenessMs: Distribution;
  readonly resumedLatenessMs: Distribution;
  readonly resumedWorkerViewMs: Distribution;
  /** From the due instant (the latest due time) to the last workflow resumed. */
  readonly drainSeconds: number;
}

/** A small seeded generator (mulberry32), so that two runs sleep the same amounts. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function run(args: string[]): Promise<ScenarioResult> {
  const { values } = parseArgs({
    args,
    options: {
      workflows: { type: 'string' },
      burst: { type: 'string' },
      min: { type: 'string' },
      max: { type: 'string' },
      window: { type: 'string' },
      'burst-window': { type: 'string' },
      concurrency: { type: 'string' },
      sample: { type: 'string' },
      seed: { type: 'string' },
      address: { type: 'string' },
      worker: { type: 'string' },
      'raw-transport': { type: 'string' },
    },
    strict: true,
  });
  const workflows = positiveInteger(values.workflows, 'workflows', 100_000);
  const burst = values.burst === '0' ? 0 : positiveInteger(values.burst, 'burst', 10_000);
  const minSeconds = positiveInteger(values.min, 'min', 1);
  const maxSeconds = Math.max(minSeconds, positiveInteger(values.max, 'max', 60));
  const windowSeconds = positiveInteger(values.window, 'window', Math.max(5, Math.ceil(workflows / 200)));
  const burstWindowSeconds = positiveInteger(values['burst-window'], 'burst-window', Math.max(5, Math.ceil(burst / 200)));
  const concurrency = positiveInteger(values.concurrency, 'concurrency', 100);
  const sample = positiveInteger(values.sample, 'sample', 2_000);
  const next = random(positiveInteger(values.seed, 'seed', 1));
  const worker = values.worker ?? 'official';
  if (worker !== 'official' && worker !== 'raw') throw new Error(`--worker must be official or raw, got ${worker}`);
  const transport = rawTransportOption(values['raw-transport'], worker);

  const dueAt = new Map<string, number>();
  const workerViewMs: number[] = [];
  let parked = 0;
  let resumed = 0;
  let lastResumedAt = 0;
  const handlers = {
    parked: () => void parked++,
    resumed: (workflowId: string, atMs = Date.now()) => {
      resumed++;
      lastResumedAt = Math.max(lastResumedAt, atMs);
      workerViewMs.push(atMs - (dueAt.get(workflowId) ?? Number.NaN));
    },
  };

  const phases: Record<string, Phase> = {};
  let baselineRssMB = Number.NaN;
  let peakRssMB = Number.NaN;
  const server = await startBenchServer(values.address);
  try {
    const taskQueue = `bench-${SCENARIO}-${randomUUID().slice(0, 8)}`;
    const load = worker === 'raw' ? await rawLoad(server.address, taskQueue, transport, handlers) : await officialLoad(server.address, taskQueue, handlers);
    try {
      baselineRssMB = processMemory(server.kairos?.pid).rssBytes / MB;
      const runPhase = async (name: string, count: number, window: number, pick: () => number): Promise<void> => {
        parked = 0;
        resumed = 0;
        workerViewMs.length = 0;
        const epoch = Date.now() + window * 1000;
        const ids = Array.from({ length: count }, (_, i) => `${taskQueue}-${name}-${i}`);
        for (const id of ids) dueAt.set(id, epoch + pick());
        const phase = await timerPhase(load, server, ids, dueAt, concurrency, sample, {
          parked: () => parked,
          resumed: () => resumed,
          lastResumedAt: () => lastResumedAt,
          workerViewMs: () => workerViewMs,
        });
        phases[name] = phase;
      };
      await load.run(async () => {
        await runPhase('spread', workflows, windowSeconds, () => (minSeconds + next() * (maxSeconds - minSeconds)) * 1000);
        if (burst > 0) await runPhase('burst', burst, burstWindowSeconds, () => 0);
      });
      peakRssMB = processMemory(server.kairos?.pid).peakRssBytes / MB;
    } finally {
      await load.close();
    }
  } finally {
    await server.stop();
  }

  const spread = phases['spread'];
  const burstPhase = phases['burst'];
  printTable([
    ['scenario', SCENARIO],
    ['timers (spread over)', `${workflows} (${minSeconds}–${maxSeconds} s after a ${windowSeconds} s start window)`],
    ['burst', burst],
    ['worker', `${WORKERS[worker]}${worker === 'raw' ? `, calls over ${transport}` : ''}`],
    ['server RSS at start MB', baselineRssMB],
    ['server peak RSS MB', peakRssMB],
  ]);
  process.stdout.write('\n');
  printGrid(
    ['phase', 'timers', 'start s', 'pending', 'RSS MB parked', 'RSS MB at due', 'fired p50', 'fired p99', 'resumed p50', 'resumed p99', 'worker p99*', 'drain s'],
    Object.entries(phases).map(([name, p]) => [
      name, p.workflows, p.startSeconds, p.pendingWhenMeasured, p.rssJustParkedMB, p.rssAllPendingMB,
      p.firedLatenessMs.p50, p.firedLatenessMs.p99, p.resumedLatenessMs.p50, p.resumedLatenessMs.p99, p.resumedWorkerViewMs.p99, p.drainSeconds,
    ]),
  );
  for (const [name, p] of Object.entries(phases)) {
    if (p.pendingWhenMeasured >= p.workflows) continue;
    // The window was shorter than starting took: RSS was read with fewer timers pending than asked.
    const needed = Math.ceil((1.3 * p.workflows) / p.parkedPerSecond);
    process.stdout.write(`WARNING ${name}: only ${p.pendingWhenMeasured} of ${p.workflows} timers were set before the first was due (${p.parkedPerSecond.toFixed(0)}/s); for all pending at once rerun with --${name === 'burst' ? 'burst-window' : 'window'} ${needed}\n`);
  }
  process.stdout.write('(lateness in ms after the due time; fired/resumed: server event times, sample of histories; *worker: every workflow, sink call time vs the requested wake-up time, so it includes the delay of the first workflow task)\n');
  return finish(
    SCENARIO,
    args,
    { workflows, burst, minSeconds, maxSeconds, windowSeconds, burstWindowSeconds, startConcurrency: concurrency, historySample: sample, server: values.address ?? 'kairos start-dev (SQLite file in a temp directory, own process)', worker: WORKERS[worker], ...(worker === 'raw' ? { transport } : {}) },
    { baselineRssMB, peakRssMB, phases },
    [
      { label: 'timer fired p99 lateness ms (spread)', value: spread?.firedLatenessMs.p99 ?? Number.NaN, unit: 'ms' },
      { label: 'server RSS MB, all timers pending', value: spread?.rssAllPendingMB ?? Number.NaN, unit: 'MB' },
      { label: `burst of ${burst}: fired p99 lateness ms`, value: burstPhase?.firedLatenessMs.p99 ?? Number.NaN, unit: 'ms' },
    ],
  );
}

interface Progress {
  parked(): number;
  resumed(): number;
  lastResumedAt(): number;
  workerViewMs(): number[];
}

interface Handlers {
  /** A workflow set its timer. */
  parked(): void;
  /** A workflow ran on after its timer fired, seen by the worker at `atMs` (now when not given). */
  resumed(workflowId: string, atMs?: number): void;
}

/** What drives a phase: a worker on `taskQueue`, the starts, and a client to read histories with. */
interface TimerLoad {
  readonly client: Client;
  /** Starts the workflows (each sleeping until its due time); resolves to how many failed to start. */
  startAll(ids: readonly string[], dues: readonly number[], concurrency: number): Promise<number>;
  /** Runs `fn` with the worker running. */
  run(fn: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

async function officialLoad(address: string, taskQueue: string, handlers: Handlers): Promise<TimerLoad> {
  const bench = await connectBench(address, taskQueue, { parked: () => handlers.parked(), resumed: (workflowId) => handlers.resumed(workflowId) });
  return {
    client: bench.client,
    startAll: (ids, dues, concurrency) =>
      forEachConcurrently(ids.length, concurrency, async (index) => {
        await bench.client.workflow.start(sleepUntilWorkflow, { taskQueue, workflowId: ids[index]!, args: [dues[index]!] });
      }),
    run: (fn) => bench.worker.runUntil(fn),
    close: () => bench.close(),
  };
}

async function rawLoad(address: string, taskQueue: string, transport: RawTransport, handlers: Handlers): Promise<TimerLoad> {
  const connection = await Connection.connect({ address });
  const thread = new Worker(new URL('./raw-timers-worker-thread.mjs', import.meta.url), { workerData: { address, taskQueue, pollers: RAW_POLLERS, transport } satisfies RawTimersInput });
  const unregister = onInterrupt(async () => void (await thread.terminate()));
  let parkedSoFar = 0;
  let onStarted: ((failed: number) => void) | undefined;
  let onStopped: (() => void) | undefined;
  // A thread that dies (an error, or exiting before it was told to stop) fails what waits on it.
  let died: Error | undefined;
  let onDied: ((error: Error) => void) | undefined;
  const die = (error: Error): void => {
    died ??= error;
    onDied?.(died);
  };
  thread.once('error', die);
  thread.once('exit', (code) => die(new Error(`the raw timers worker exited (code ${code})`)));
  thread.on('message', (message: RawTimersMessage) => {
    if (message.kind === 'progress') {
      for (; parkedSoFar < message.parked; parkedSoFar++) handlers.parked();
      for (const [workflowId, atMs] of message.resumed) handlers.resumed(workflowId, atMs);
    } else if (message.kind === 'started') onStarted?.(message.failed);
    else {
      if (message.workerErrors > 0) process.stderr.write(`raw timers worker: ${message.workerErrors} failed calls\n`);
      onStopped?.();
    }
  });
  const send = (request: RawTimersRequest): void => thread.postMessage(request);
  return {
    client: new Client({ connection }),
    startAll: (ids, dues, concurrency) =>
      new Promise((resolve, reject) => {
        if (died) return reject(died);
        onStarted = resolve;
        onDied = reject;
        send({ kind: 'start', ids, dueAtMs: dues, concurrency });
      }),
    run: (fn) => fn(),
    async close() {
      // Stopping a thread that already died has nothing to wait for.
      if (!died) {
        await new Promise<void>((resolve) => {
          onStopped = resolve;
          onDied = () => resolve();
          send({ kind: 'stop' });
        });
      }
      unregister();
      await thread.terminate();
      await connection.close();
    },
  };
}

/** Starts the workflows, reads RSS once all are parked, waits for all to resume, reads histories. */
async function timerPhase(
  load: TimerLoad,
  server: BenchServer,
  ids: readonly string[],
  dueAt: ReadonlyMap<string, number>,
  concurrency: number,
  sample: number,
  progress: Progress,
): Promise<Phase> {
  const dues = ids.map((id) => dueAt.get(id)!);
  // No Math.min(...dues): 100,000 arguments can overflow the stack.
  const firstDue = dues.reduce((a, b) => Math.min(a, b), Infinity);
  const lastDue = dues.reduce((a, b) => Math.max(a, b), -Infinity);
  const startedAt = performance.now();
  const failed = await load.startAll(ids, dues, concurrency);
  const startSeconds = (performance.now() - startedAt) / 1000;
  if (failed > 0) throw new Error(`${failed} workflows failed to start`);
  // All timers set (or the first one due, if starting was too slow): the moment to read RSS.
  await waitFor(() => progress.parked() >= ids.length || Date.now() >= firstDue - 100, lastDue - Date.now() + 60_000, 'workflows to set their timers');
  await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, Math.max(0, firstDue - Date.now() - 100))));
  const pendingWhenMeasured = Math.min(progress.parked(), ids.length) - progress.resumed();
  const parkedPerSecond = Math.min(progress.parked(), ids.length) / ((performance.now() - startedAt) / 1000);
  const rssJustParkedMB = processMemory(server.kairos?.pid).rssBytes / MB;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, firstDue - Date.now() - 200)));
  const rssAllPendingMB = processMemory(server.kairos?.pid).rssBytes / MB;
  await waitFor(() => progress.resumed() >= ids.length, Math.max(0, lastDue - Date.now()) + 300_000 + ids.length * 20, 'all timers to fire and their workflows to resume', 100);
  const drainSeconds = (progress.lastResumedAt() - lastDue) / 1000;

  const fired: number[] = [];
  const resumed: number[] = [];
  await readHistories(load.client, spreadSample(ids, sample), (events) => {
    const times = timerTimes(events);
    if (times === undefined) return;
    fired.push(times.firedMs - times.dueMs);
    resumed.push(times.resumedMs - times.dueMs);
  });
  return {
    workflows: ids.length,
    startSeconds,
    pendingWhenMeasured,
    parkedPerSecond,
    rssJustParkedMB,
    rssAllPendingMB,
    firedLatenessMs: distribution(fired),
    resumedLatenessMs: distribution(resumed),
    resumedWorkerViewMs: distribution([...progress.workerViewMs()]),
    drainSeconds,
  };
}
