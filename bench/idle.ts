/**
 * idle: N workflows (default 100,000) parked waiting for a signal. Server in its own process, official
 * worker and client in this one.
 *
 *   npm run bench -- idle [--workflows 100000] [--concurrency 100] [--settle 3]
 *
 * 1. Reads the server's RSS (/proc/<pid>/status) and the database size (SQLite file + WAL) before.
 * 2. Starts N workflows that each set a signal handler and wait; once the worker reported every one
 *    parked (a sink call) and `--settle` seconds passed, reads RSS and database size again:
 *    bytes per parked workflow = growth of file + WAL / N (the WAL is counted because it holds
 *    committed pages not yet checkpointed into the file).
 * 3. Signals them all (C in flight) and measures the drain: signals acknowledged/s, and the time until
 *    every workflow ran on past its wait (sink call), then RSS once more.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { connectBench, databaseSize, forEachConcurrently, MB, positiveInteger, positiveNumber, processMemory, startBenchServer, waitFor } from './harness.js';
import { finish, printTable, type ScenarioResult } from './report.js';
import { parkedWorkflow, wakeSignal } from './workflows.js';

const SCENARIO = 'idle';

export async function run(args: string[]): Promise<ScenarioResult> {
  const { values } = parseArgs({
    args,
    options: { workflows: { type: 'string' }, concurrency: { type: 'string' }, settle: { type: 'string' } },
    strict: true,
  });
  const workflows = positiveInteger(values.workflows, 'workflows', 100_000);
  const concurrency = positiveInteger(values.concurrency, 'concurrency', 100);
  const settleSeconds = positiveNumber(values.settle, 'settle', 3);

  let parked = 0;
  let resumed = 0;
  const figures = {
    rssBeforeMB: Number.NaN,
    rssParkedMB: Number.NaN,
    rssAfterDrainMB: Number.NaN,
    peakRssMB: Number.NaN,
    databaseBefore: databaseSize(undefined),
    databaseParked: databaseSize(undefined),
    /** Growth of file + WAL per parked workflow. */
    databaseBytesPerWorkflow: Number.NaN,
    /** Growth of the file alone (what is left once the WAL is checkpointed, roughly). */
    databaseFileBytesPerWorkflow: Number.NaN,
    startSeconds: Number.NaN,
    startsPerSecond: Number.NaN,
    signalSeconds: Number.NaN,
    signalsPerSecond: Number.NaN,
    drainSeconds: Number.NaN,
    drainedPerSecond: Number.NaN,
    startFailures: 0,
    signalFailures: 0,
  };
  const server = await startBenchServer();
  const pid = (): number | undefined => server.kairos?.pid;
  const dbFilename = server.kairos?.dbFilename;
  try {
    const bench = await connectBench(server.address, `bench-${SCENARIO}-${randomUUID().slice(0, 8)}`, {
      parked: () => void parked++,
      resumed: () => void resumed++,
    });
    const id = (index: number): string => `${bench.taskQueue}-${index}`;
    try {
      figures.rssBeforeMB = processMemory(pid()).rssBytes / MB;
      figures.databaseBefore = databaseSize(dbFilename);
      await bench.worker.runUntil(async () => {
        const { client, taskQueue } = bench;
        let t0 = performance.now();
        figures.startFailures = await forEachConcurrently(workflows, concurrency, async (index) => {
          await client.workflow.start(parkedWorkflow, { taskQueue, workflowId: id(index) });
        });
        figures.startSeconds = (performance.now() - t0) / 1000;
        figures.startsPerSecond = workflows / figures.startSeconds;
        const expected = workflows - figures.startFailures;
        // Generous deadlines that grow with N: a slow machine must not fail a large run half-way.
        await waitFor(() => parked >= expected, 600_000 + workflows * 20, 'every workflow to park', 100);
        await new Promise((resolve) => setTimeout(resolve, settleSeconds * 1000));
        figures.rssParkedMB = processMemory(pid()).rssBytes / MB;
        figures.databaseParked = databaseSize(dbFilename);
        figures.databaseBytesPerWorkflow = (figures.databaseParked.totalBytes - figures.databaseBefore.totalBytes) / expected;
        figures.databaseFileBytesPerWorkflow = (figures.databaseParked.fileBytes - figures.databaseBefore.fileBytes) / expected;

        t0 = performance.now();
        figures.signalFailures = await forEachConcurrently(workflows, concurrency, async (index) => {
          await client.workflow.getHandle(id(index)).signal(wakeSignal);
        });
        figures.signalSeconds = (performance.now() - t0) / 1000;
        figures.signalsPerSecond = (workflows - figures.signalFailures) / figures.signalSeconds;
        await waitFor(() => resumed >= expected - figures.signalFailures, 600_000 + workflows * 20, 'every signalled workflow to resume', 100);
        figures.drainSeconds = (performance.now() - t0) / 1000;
        figures.drainedPerSecond = resumed / figures.drainSeconds;
        figures.rssAfterDrainMB = processMemory(pid()).rssBytes / MB;
        figures.peakRssMB = processMemory(pid()).peakRssBytes / MB;
      });
    } finally {
      await bench.close();
    }
  } finally {
    await server.stop();
  }

  printTable([
    ['scenario', SCENARIO],
    ['parked workflows', workflows - figures.startFailures],
    ['starts/s', figures.startsPerSecond],
    ['server RSS before / parked / after drain MB', `${figures.rssBeforeMB.toFixed(1)} / ${figures.rssParkedMB.toFixed(1)} / ${figures.rssAfterDrainMB.toFixed(1)}`],
    ['server peak RSS MB', figures.peakRssMB],
    ['database file + WAL before / parked MB', `${(figures.databaseBefore.totalBytes / MB).toFixed(1)} / ${(figures.databaseParked.totalBytes / MB).toFixed(1)}`],
    ['  of which WAL when parked MB', figures.databaseParked.walBytes / MB],
    ['database bytes per parked workflow (file + WAL)', Math.round(figures.databaseBytesPerWorkflow)],
    ['  file alone', Math.round(figures.databaseFileBytesPerWorkflow)],
    ['signals acknowledged/s', figures.signalsPerSecond],
    ['drain s (signal all → all resumed)', figures.drainSeconds],
    ['drained workflows/s', figures.drainedPerSecond],
  ]);
  const result = finish(
    SCENARIO,
    args,
    { workflows, concurrency, settleSeconds, server: 'kairos start-dev (SQLite file in a temp directory, own process)', worker: 'official @temporalio/worker 1.24.0, default options' },
    figures,
    [
      { label: 'server RSS MB with all parked', value: figures.rssParkedMB, unit: 'MB' },
      { label: 'database bytes per parked workflow', value: figures.databaseBytesPerWorkflow, unit: 'B' },
      { label: 'drained workflows/s (signal → resumed)', value: figures.drainedPerSecond, unit: '/s', ceiling: 'sqliteCommitsPerSecond' },
    ],
  );
  if (figures.startFailures + figures.signalFailures > 0) process.exitCode = 1;
  return result;
}
