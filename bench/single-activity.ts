/**
 * single-activity: workflows of one no-op activity each, on a Kairos server started for the run (SQLite
 * file in a temp directory, own process) with the official Temporal worker and client, or with a
 * protocol-level worker and client (--worker raw).
 *
 *   npm run bench -- single-activity --workflows 500 --concurrency 50     closed loop, C in flight
 *   npm run bench -- single-activity --sweep 1,10,50,100 --workflows 300  closed loop, one row per C
 *   npm run bench -- single-activity --rate 50 --duration 20              open loop, fixed arrival rate
 *   npm run bench -- single-activity --sweep 50 --rate half               closed loop, then open loop at half its best rate
 *   ... [--warmup 2]                                                       open loop: seconds of unmeasured arrivals first
 *   ... [--address host:port]                                              measure a running server
 *   ... --worker raw [--pollers 10] [--raw-transport lean|http2|grpc-js]     protocol-level worker and client
 *   ... --eager-start                                                      eager workflow start (see below)
 *
 * --worker raw drives the workflows with bench/raw-worker.ts instead of the official worker and client:
 * bare WorkflowService calls from a worker thread, no workflow code, so the worker and the load cost
 * little. Its figure beside the official one says how much of the limit is the server's. Its calls go
 * over one TCP connection framed with the server's own HTTP/2 code (bench/h2-lean.ts), a node:http2 session
 * with --raw-transport http2 (bench/h2-unary.ts), or a grpc-js channel with --raw-transport grpc-js.
 *
 * --eager-start starts each workflow with request_eager_execution: the server answers the start with the
 * first workflow task, started, and the worker runs it without a poll. The official client then runs on
 * the worker's NativeConnection (requestEagerStart needs it); the raw worker answers the task itself.
 *
 * Closed-loop latency runs from the start call to the result reaching the client. Open-loop latency
 * runs from the *scheduled* arrival time, so a server that falls behind is charged for the queueing
 * it causes (no coordinated omission); arrivals are never held back by slow completions. An open round
 * first runs `--warmup` seconds of arrivals at its rate unmeasured (bench/open-loop.ts). `--rate half`
 * runs the closed rounds first and then an open round at half the best of their rates: the load of the
 * issue's "p99 at half the maximum rate" target, measured against the maximum of the same run.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { connectBench, integerList, nonNegativeNumber, onInterrupt, positiveInteger, positiveNumber, startBenchServer } from './harness.js';
import { openLoop } from './open-loop.js';
import { RAW_TRANSPORT_NAMES, rawTransportOption } from './raw-calls.js';
import type { RawRoundSpec, RawWorkerInput, RawWorkerMessage } from './raw-worker.js';
import { distribution, finish, printGrid, type Distribution, type Headline, type ScenarioResult } from './report.js';
import { singleActivityWorkflow } from './workflows.js';

const SCENARIO = 'single-activity';

interface Round {
  readonly mode: 'closed' | 'open';
  /** Closed loop: workflows in flight; open loop: arrivals per second. */
  readonly load: number;
  readonly completed: number;
  readonly failed: number;
  readonly wallSeconds: number;
  readonly workflowsPerSecond: number;
  readonly latencyMs: Distribution;
  /** `--worker raw` only: the worker's failed calls (polls, task completions) during the round. */
  readonly workerErrors?: number;
  /** `--worker raw` only: share of the round the raw worker's thread was busy (event-loop utilization). */
  readonly rawThreadBusy?: number;
}

const WORKERS = {
  official: 'official @temporalio/worker 1.24.0, default options, in the load generator process',
  raw: 'raw protocol worker (bench/raw-worker.ts), non-sticky, eager activities',
} as const;

export async function run(args: string[]): Promise<ScenarioResult> {
  const { values } = parseArgs({
    args,
    options: {
      workflows: { type: 'string' },
      concurrency: { type: 'string' },
      sweep: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      address: { type: 'string' },
      worker: { type: 'string' },
      pollers: { type: 'string' },
      'eager-start': { type: 'boolean' },
      'raw-transport': { type: 'string' },
    },
    strict: true,
  });
  const workflows = positiveInteger(values.workflows, 'workflows', 200);
  const halfRate = values.rate === 'half';
  const openOnly = values.rate !== undefined && !halfRate;
  const fixedRate = openOnly ? positiveNumber(values.rate, 'rate', 1) : Number.NaN;
  const durationSeconds = positiveNumber(values.duration, 'duration', 20);
  const warmupSeconds = values.warmup === undefined ? 2 : nonNegativeNumber(values.warmup, 'warmup');
  const sweep = values.sweep !== undefined ? integerList(values.sweep, 'sweep') : [positiveInteger(values.concurrency, 'concurrency', 50)];
  /** Half the best closed-loop rate so far, whole arrivals per second. */
  const halfOfBest = (closed: readonly Round[]): number => Math.max(1, Math.round(Math.max(...closed.map((r) => r.workflowsPerSecond)) / 2));
  const worker = values.worker ?? 'official';
  if (worker !== 'official' && worker !== 'raw') throw new Error(`--worker is official or raw, not ${worker}`);
  const pollers = positiveInteger(values.pollers, 'pollers', 10);
  if (values.pollers !== undefined && worker !== 'raw') throw new Error('--pollers is for --worker raw (the official worker keeps its default options)');

  const transport = rawTransportOption(values['raw-transport'], worker);
  const eagerStart = values['eager-start'] === true;

  const server = await startBenchServer(values.address);
  const rounds: Round[] = [];
  try {
    if (worker === 'raw') {
      const taskQueue = `bench-${SCENARIO}-raw-${randomUUID().slice(0, 8)}`;
      const raw = (specs: RawRoundSpec[]): Promise<Round[]> => rawRounds({ address: server.address, taskQueue, pollers, eagerStart, transport, rounds: specs });
      if (!openOnly) rounds.push(...(await raw(sweep.map((concurrency) => ({ mode: 'closed', workflows, concurrency: Math.min(concurrency, workflows) })))));
      if (openOnly || halfRate) rounds.push(...(await raw([{ mode: 'open', rate: openOnly ? fixedRate : halfOfBest(rounds), warmupSeconds, durationSeconds }])));
    } else {
      const bench = await connectBench(server.address, `bench-${SCENARIO}-${randomUUID().slice(0, 8)}`);
      try {
        const client = eagerStart ? bench.nativeClient : bench.client;
        const runOne: RunOne = (workflowId) =>
          client.workflow.execute(singleActivityWorkflow, { taskQueue: bench.taskQueue, workflowId, ...(eagerStart ? { requestEagerStart: true } : {}) });
        await bench.worker.runUntil(async () => {
          // One unmeasured workflow first: the worker's first task pays for creating its isolate.
          await runOne(`${bench.taskQueue}-warmup`);
          if (!openOnly) for (const concurrency of sweep) rounds.push(await closedRound(runOne, bench.taskQueue, workflows, Math.min(concurrency, workflows)));
          if (openOnly || halfRate) rounds.push(await openRound(runOne, bench.taskQueue, openOnly ? fixedRate : halfOfBest(rounds), warmupSeconds, durationSeconds));
        });
      } finally {
        await bench.close();
      }
    }
  } finally {
    await server.stop();
  }

  const starts = eagerStart ? 'eager workflow start (request_eager_execution)' : 'plain starts (first workflow task through a poll)';
  process.stdout.write(`scenario ${SCENARIO}, server ${values.address ?? 'kairos start-dev (SQLite file, own process)'}\nworker ${WORKERS[worker]}${worker === 'raw' ? `, calls over ${transport}` : ''}\nstarts ${starts}\n\n`);
  const rawColumns = worker === 'raw' ? ['worker errors', 'raw thread busy %'] : [];
  printGrid(
    ['load', 'completed', 'failed', ...rawColumns, 'wall s', 'workflows/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
    rounds.map((r) => [
      r.mode === 'open' ? `${r.load}/s` : `C=${r.load}`,
      r.completed,
      r.failed,
      ...(worker === 'raw' ? [r.workerErrors ?? 0, Math.round((r.rawThreadBusy ?? Number.NaN) * 100)] : []),
      r.wallSeconds,
      r.workflowsPerSecond,
      r.latencyMs.p50,
      r.latencyMs.p95,
      r.latencyMs.p99,
      r.latencyMs.max,
    ]),
  );
  const best = rounds.reduce((a, b) => (b.workflowsPerSecond > a.workflowsPerSecond ? b : a));
  const first = rounds[0];
  const open = rounds.find((r) => r.mode === 'open');
  const loadLabel = (r: Round | undefined): string => (r === undefined ? '?' : r.mode === 'open' ? `rate ${r.load}` : `C=${r.load}`);
  const headlines: Headline[] = [
    { label: `workflows/s (${best.mode} loop, ${loadLabel(best)})`, value: best.workflowsPerSecond, unit: '/s', ceiling: 'sqliteCommitsPerSecond' },
    { label: `p50 ms at ${loadLabel(first)}`, value: first?.latencyMs.p50 ?? Number.NaN, unit: 'ms' },
    { label: `p99 ms at ${loadLabel(first)}`, value: first?.latencyMs.p99 ?? Number.NaN, unit: 'ms' },
    ...(halfRate && open ? [{ label: `p99 ms at ${loadLabel(open)} (half the best closed-loop rate)`, value: open.latencyMs.p99, unit: 'ms' }] : []),
  ];
  const settings = {
    mode: openOnly ? 'open loop (fixed arrival rate)' : halfRate ? 'closed loop, then open loop at half its best rate' : 'closed loop (fixed concurrency)',
    ...(openOnly ? {} : { workflowsPerRound: workflows, concurrency: sweep }),
    ...(openOnly || halfRate ? { rate: openOnly ? fixedRate : 'half the best closed-loop rate', warmupSeconds, durationSeconds } : {}),
    server: values.address ?? 'kairos start-dev (SQLite file in a temp directory, own process)',
    worker: WORKERS[worker],
    starts,
    ...(worker === 'raw' ? { pollers: `${pollers} workflow-task + ${pollers} activity-task long polls; 40 workflow-task and 100 activity-task slots, as the SDK's worker`, client: 'raw WorkflowService calls from the same worker thread', transport: RAW_TRANSPORT_NAMES[transport] } : {}),
  };
  const result = finish(SCENARIO, args, settings, { rounds }, headlines);
  if (rounds.some((r) => r.failed > 0 || (r.workerErrors ?? 0) > 0)) process.exitCode = 1;
  return result;
}

/** Starts the workflow `workflowId` and resolves with its result. */
type RunOne = (workflowId: string) => Promise<unknown>;

async function closedRound(runOne: RunOne, taskQueue: string, workflows: number, concurrency: number): Promise<Round> {
  const latencies: number[] = [];
  let failed = 0;
  let next = 0;
  const prefix = `${taskQueue}-c${concurrency}`;
  const startedAt = performance.now();
  const lane = async (): Promise<void> => {
    while (next < workflows) {
      const index = next++;
      const t0 = performance.now();
      try {
        await runOne(`${prefix}-${index}`);
        latencies.push(performance.now() - t0);
      } catch (error) {
        if (++failed <= 3) process.stderr.write(`workflow ${index} failed: ${String(error)}\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const wallSeconds = (performance.now() - startedAt) / 1000;
  return { mode: 'closed', load: concurrency, completed: latencies.length, failed, wallSeconds, workflowsPerSecond: latencies.length / wallSeconds, latencyMs: distribution(latencies) };
}

/** An open loop (bench/open-loop.ts) of the official client and worker. */
async function openRound(runOne: RunOne, taskQueue: string, rate: number, warmupSeconds: number, durationSeconds: number): Promise<Round> {
  const latencies: number[] = [];
  let failed = 0;
  let startedAt = performance.now();
  const workflowId = (arrival: number): string => `${taskQueue}-r${rate}-${arrival}`;
  await openLoop({
    rate,
    warmupSeconds,
    durationSeconds,
    arrive: (arrival) => runOne(workflowId(arrival)),
    onMeasured: () => void (startedAt = performance.now()),
    latencies,
    onFailed: (arrival, error) => {
      if (++failed <= 3) process.stderr.write(`workflow ${workflowId(arrival)} failed: ${String(error)}\n`);
    },
  });
  const wallSeconds = (performance.now() - startedAt) / 1000;
  return { mode: 'open', load: rate, completed: latencies.length, failed, wallSeconds, workflowsPerSecond: latencies.length / wallSeconds, latencyMs: distribution(latencies) };
}

/**
 * Runs the rounds in bench/raw-worker.ts's thread (worker and load generator both) and turns its
 * reports into rounds. The thread's start-up and warm-up workflow are outside every round's time.
 */
function rawRounds(input: RawWorkerInput): Promise<Round[]> {
  const rounds: Round[] = [];
  const thread = new Worker(new URL('./raw-worker-thread.mjs', import.meta.url), { workerData: input });
  const unregister = onInterrupt(async () => void (await thread.terminate()));
  return new Promise<Round[]>((resolve, reject) => {
    thread.on('message', (message: RawWorkerMessage) => {
      if (message.kind === 'done') {
        resolve(rounds);
        return;
      }
      const spec = input.rounds[rounds.length];
      const completed = message.latenciesMs.length;
      rounds.push({
        mode: spec?.mode ?? 'closed',
        load: spec === undefined ? Number.NaN : spec.mode === 'closed' ? spec.concurrency : spec.rate,
        completed,
        failed: message.failed,
        wallSeconds: message.wallSeconds,
        workflowsPerSecond: completed / message.wallSeconds,
        latencyMs: distribution(message.latenciesMs),
        workerErrors: message.workerErrors,
        rawThreadBusy: message.threadBusy,
      });
    });
    thread.once('error', reject);
    thread.once('exit', (code) => reject(new Error(`the raw worker exited (code ${code}) before reporting every round`)));
  }).finally(() => {
    unregister();
    void thread.terminate();
  });
}
