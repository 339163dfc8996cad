/**
 * sdk-worker: the official Temporal worker and the Kairos SDK's worker side by side, on one Kairos
 * server, with the same workflow code (bench/sdk/workflows.ts), each worker in a process of its own:
 *
 * - single-activity throughput and latency (closed loop, official client in this process);
 * - worker RSS per cached workflow: P workflows parked on a signal, RSS of the worker process before
 *   and after, then the drain (signal them all, wait for all results);
 * - a long workflow: S 1 ms timers one after another (a workflow task per step on a growing history);
 * - replay speed: a history of one workflow with T timers (about 2T + 4 events), written by the
 *   official worker, replayed in this process by each SDK's replayer; events per second.
 *
 * The Kairos worker runs twice: with its workflow cache (sticky execution, the default) and without
 * (`maxCachedWorkflows: 0`: every task replays the run from its first event).
 *
 *   npm run bench -- sdk-worker --workflows 300 --concurrency 20 --parked 500 --steps 200 --timers 5000
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { forEachConcurrently, installRuntime, MB, positiveInteger, processMemory, startBenchServer } from './harness.js';
import { distribution, finish, printGrid, type Distribution, type Headline, type ScenarioResult } from './report.js';
import { startWorker, stopWorker, type WorkerKind } from './sdk/worker-control.js';
import { manyTimersWorkflow, parkedWorkflow, sequentialTimersWorkflow, singleActivityWorkflow, wakeSignal } from './sdk/workflows.js';

const SCENARIO = 'sdk-worker';
const WORKFLOWS_PATH = fileURLToPath(new URL('./sdk/workflows.ts', import.meta.url));
type Kind = WorkerKind;
type Sdk = 'official' | 'kairos';

interface WorkerRound {
  readonly worker: Kind;
  readonly completed: number;
  readonly failed: number;
  readonly workflowsPerSecond: number;
  readonly latencyMs: Distribution;
  readonly rssIdleMb: number;
  readonly rssParkedMb: number;
  readonly kbPerParkedWorkflow: number;
  readonly drainSeconds: number;
  readonly stepsSeconds: number;
}

interface ReplayRound {
  readonly sdk: Sdk;
  readonly events: number;
  readonly bestMs: number;
  readonly eventsPerSecond: number;
}

export async function run(args: string[]): Promise<ScenarioResult> {
  const { values } = parseArgs({
    args,
    options: { workflows: { type: 'string' }, concurrency: { type: 'string' }, parked: { type: 'string' }, steps: { type: 'string' }, timers: { type: 'string' }, replays: { type: 'string' } },
    strict: true,
  });
  const workflows = positiveInteger(values.workflows, 'workflows', 300);
  const concurrency = positiveInteger(values.concurrency, 'concurrency', 20);
  const parked = positiveInteger(values.parked, 'parked', 500);
  const steps = positiveInteger(values.steps, 'steps', 200);
  const timers = positiveInteger(values.timers, 'timers', 5000);
  const replays = positiveInteger(values.replays, 'replays', 3);

  const server = await startBenchServer();
  const rounds: WorkerRound[] = [];
  let history: temporal.api.history.v1.IHistory | null = null;
  const connection = await Connection.connect({ address: server.address });
  try {
    const client = new Client({ connection });
    for (const kind of ['official', 'kairos', 'kairos-nocache'] as const) {
      const taskQueue = `bench-${SCENARIO}-${kind}-${randomUUID().slice(0, 8)}`;
      const child = await startWorker(kind, server.address, taskQueue);
      try {
        rounds.push(await measureWorker(client, kind, taskQueue, child, { workflows, concurrency, parked, steps }));
        if (kind === 'official') history = await longHistory(client, taskQueue, timers);
      } finally {
        await stopWorker(child);
      }
    }
  } finally {
    await connection.close();
    await server.stop();
  }
  const replay = history ? await measureReplays(history, replays) : [];

  process.stdout.write(`scenario ${SCENARIO}: the official worker and the Kairos worker on one Kairos server (start-dev, SQLite), each in its own process\n\n`);
  printGrid(
    ['worker', 'completed', 'failed', 'workflows/s', 'p50 ms', 'p99 ms', 'RSS idle MB', `RSS ${parked} parked MB`, 'KB per parked workflow', 'drain s', `${steps} steps s`],
    rounds.map((r) => [r.worker, r.completed, r.failed, r.workflowsPerSecond, r.latencyMs.p50, r.latencyMs.p99, r.rssIdleMb, r.rssParkedMb, r.kbPerParkedWorkflow, r.drainSeconds, r.stepsSeconds]),
  );
  process.stdout.write('\n');
  printGrid(['replayer', 'history events', 'best of runs ms', 'events/s'], replay.map((r) => [r.sdk, r.events, r.bestMs, r.eventsPerSecond]));
  const byKind = (kind: Kind): WorkerRound | undefined => rounds.find((r) => r.worker === kind);
  const ratio = (a: number | undefined, b: number | undefined): number => (a !== undefined && b !== undefined && b > 0 ? a / b : Number.NaN);
  const headlines: Headline[] = [
    { label: 'Kairos worker / official worker, workflows/s', value: ratio(byKind('kairos')?.workflowsPerSecond, byKind('official')?.workflowsPerSecond), unit: '×' },
    { label: `Kairos worker, ${steps} sequential steps, cache on / off`, value: ratio(byKind('kairos')?.stepsSeconds, byKind('kairos-nocache')?.stepsSeconds), unit: '×' },
    { label: 'Kairos worker KB per parked workflow', value: byKind('kairos')?.kbPerParkedWorkflow ?? Number.NaN, unit: 'KB' },
    { label: 'official worker KB per parked workflow', value: byKind('official')?.kbPerParkedWorkflow ?? Number.NaN, unit: 'KB' },
    { label: 'Kairos replay events/s', value: replay.find((r) => r.sdk === 'kairos')?.eventsPerSecond ?? Number.NaN, unit: '/s' },
    { label: 'official replay events/s', value: replay.find((r) => r.sdk === 'official')?.eventsPerSecond ?? Number.NaN, unit: '/s' },
  ];
  const settings = { workflows, concurrency, parked, steps, timers, replays, server: 'kairos start-dev (SQLite file in a temp directory, own process)', workers: 'default options, one process each' };
  const result = finish(SCENARIO, args, settings, { rounds, replay }, headlines);
  if (rounds.some((r) => r.failed > 0)) process.exitCode = 1;
  return result;
}

async function measureWorker(
  client: Client,
  kind: Kind,
  taskQueue: string,
  child: ChildProcess,
  { workflows, concurrency, parked, steps }: { workflows: number; concurrency: number; parked: number; steps: number },
): Promise<WorkerRound> {
  // One unmeasured workflow first: the first task pays for loading the bundle.
  await client.workflow.execute(singleActivityWorkflow, { taskQueue, workflowId: `${taskQueue}-warmup` });
  const latencies: number[] = [];
  const startedAt = performance.now();
  const failed = await forEachConcurrently(workflows, concurrency, async (index) => {
    const t0 = performance.now();
    await client.workflow.execute(singleActivityWorkflow, { taskQueue, workflowId: `${taskQueue}-a${index}` });
    latencies.push(performance.now() - t0);
  });
  const wallSeconds = (performance.now() - startedAt) / 1000;

  const idle = processMemory(child.pid).rssBytes;
  const handles = await Promise.all(Array.from({ length: parked }, (_, i) => client.workflow.start(parkedWorkflow, { taskQueue, workflowId: `${taskQueue}-p${i}` })));
  // Parked = its first workflow task completed (the worker holds the run, if it caches).
  await forEachConcurrently(handles.length, 20, async (i) => {
    for (;;) {
      const { historyLength } = await handles[i]!.describe();
      if (historyLength >= 4) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
  const parkedRss = processMemory(child.pid).rssBytes;
  const drainStart = performance.now();
  await forEachConcurrently(handles.length, 50, async (i) => {
    await handles[i]!.signal(wakeSignal);
  });
  await forEachConcurrently(handles.length, 50, async (i) => {
    await handles[i]!.result();
  });
  const drainSeconds = (performance.now() - drainStart) / 1000;
  const stepsStart = performance.now();
  await client.workflow.execute(sequentialTimersWorkflow, { taskQueue, workflowId: `${taskQueue}-steps`, args: [steps] });
  const stepsSeconds = (performance.now() - stepsStart) / 1000;
  return {
    worker: kind,
    completed: latencies.length,
    failed,
    workflowsPerSecond: latencies.length / wallSeconds,
    latencyMs: distribution(latencies),
    rssIdleMb: idle / MB,
    rssParkedMb: parkedRss / MB,
    kbPerParkedWorkflow: (parkedRss - idle) / 1024 / parked,
    drainSeconds,
    stepsSeconds,
  };
}

async function longHistory(client: Client, taskQueue: string, timers: number): Promise<temporal.api.history.v1.IHistory> {
  const handle = await client.workflow.start(manyTimersWorkflow, { taskQueue, workflowId: `${taskQueue}-timers`, args: [timers] });
  await handle.result();
  return await handle.fetchHistory();
}

async function measureReplays(history: temporal.api.history.v1.IHistory, runs: number): Promise<ReplayRound[]> {
  const events = history.events?.length ?? 0;
  installRuntime();
  const official = await import('@temporalio/worker');
  const kairos = await import('@kairos/worker');
  const officialBundle = await official.bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new official.DefaultLogger('WARN') });
  const kairosBundle = await kairos.bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, aliases: { '@temporalio/workflow': '@kairos/workflow' } });
  const replayers: Record<Sdk, () => Promise<void>> = {
    official: () => official.Worker.runReplayHistory({ workflowBundle: officialBundle }, history as never),
    kairos: () => kairos.Worker.runReplayHistory({ workflowBundle: kairosBundle }, history),
  };
  const out: ReplayRound[] = [];
  for (const sdk of ['official', 'kairos'] as const) {
    await replayers[sdk](); // warm-up
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await replayers[sdk]();
      best = Math.min(best, performance.now() - t0);
    }
    out.push({ sdk, events, bestMs: best, eventsPerSecond: (events / best) * 1000 });
  }
  return out;
}

