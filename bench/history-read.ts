/**
 * history-read: how fast the server hands out a long history, what a worker that lost a run from its
 * cache (or a UI, or `temporal workflow show`) asks for: GetWorkflowExecutionHistory, every page.
 *
 *   npm run bench -- history-read [--events 2000] [--seconds 10] [--concurrency 4] [--address host:port [--server-pid N]]
 *
 * One workflow (no worker) gets signals until its history holds --events events (each signal is one
 * event, ~150 bytes with its payload). Then --concurrency callers fetch the whole history over and over
 * for --seconds (the official client, pages of the server's default size). Reported: full-history
 * fetches/s, events/s, p50/p99 per fetch, and the server's CPU per fetch (own server only).
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { forEachConcurrently, positiveInteger, processCpuSeconds, startBenchServer } from './harness.js';
import { distribution, finish, printTable, type ScenarioResult } from './report.js';

const SCENARIO = 'history-read';
/** Temporal accepts 10,000 signals per execution. */
const MAX_EVENTS = 10_000;

export async function run(args: string[]): Promise<ScenarioResult> {
  const { values } = parseArgs({
    args,
    options: {
      events: { type: 'string' },
      seconds: { type: 'string' },
      concurrency: { type: 'string' },
      address: { type: 'string' },
      'server-pid': { type: 'string' },
    },
    strict: true,
  });
  const events = positiveInteger(values.events, 'events', 2_000);
  if (events > MAX_EVENTS) throw new Error(`--events is at most ${MAX_EVENTS}: an execution accepts 10,000 signals`);
  const seconds = positiveInteger(values.seconds, 'seconds', 10);
  const concurrency = positiveInteger(values.concurrency, 'concurrency', 4);
  const server = await startBenchServer(values.address);
  try {
    const connection = await Connection.connect({ address: server.address });
    try {
      const client = new Client({ connection });
      const workflowId = `bench-${SCENARIO}-${randomUUID().slice(0, 8)}`;
      const handle = await client.workflow.start('parkedWorkflow', { taskQueue: `${workflowId}-unpolled`, workflowId, args: [] });
      // Started + the first workflow task scheduled: two events before the signals.
      const payload = { n: 0, text: 'x'.repeat(64) };
      await forEachConcurrently(Math.max(0, events - 2), 20, async (i) => handle.signal('count', { ...payload, n: i }));
      const fetchAll = async (): Promise<number> => (await handle.fetchHistory()).events?.length ?? 0;
      const stored = await fetchAll();

      const pid = server.kairos?.pid ?? (values['server-pid'] === undefined ? undefined : positiveInteger(values['server-pid'], 'server-pid', 0));
      const cpuBefore = processCpuSeconds(pid);
      const samples: number[] = [];
      const startedAt = performance.now();
      const endAt = startedAt + seconds * 1000;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (performance.now() < endAt) {
            const t = performance.now();
            const n = await fetchAll();
            if (n !== stored) throw new Error(`a fetch returned ${n} events, ${stored} are stored`);
            samples.push(performance.now() - t);
          }
        }),
      );
      const wall = (performance.now() - startedAt) / 1000;
      const serverCpu = processCpuSeconds(pid) - cpuBefore;
      await handle.terminate('bench done');

      const ms = distribution(samples);
      const fetchesPerSecond = samples.length / wall;
      const serverCpuMsPerFetch = (serverCpu * 1000) / samples.length;
      printTable([
        ['scenario', SCENARIO],
        ['events in the history', stored],
        ['callers', concurrency],
        ['full-history fetches/s', fetchesPerSecond.toFixed(1)],
        ['events/s', Math.round(fetchesPerSecond * stored)],
        ['fetch p50 / p99 ms', `${ms.p50.toFixed(2)} / ${ms.p99.toFixed(2)}`],
        ['server CPU ms per fetch', Number.isNaN(serverCpuMsPerFetch) ? '– (--address without --server-pid)' : serverCpuMsPerFetch.toFixed(2)],
      ]);
      return finish(
        SCENARIO,
        args,
        { events, seconds, concurrency, server: values.address ?? 'kairos server start-dev (own process)', client: '@temporalio/client fetchHistory (all pages)' },
        { eventsStored: stored, fetches: samples.length, fetchesPerSecond, eventsPerSecond: fetchesPerSecond * stored, fetchMs: ms, serverCpuMsPerFetch },
        [{ label: 'full-history fetches/s', value: fetchesPerSecond, unit: '/s' }],
      );
    } finally {
      await connection.close();
    }
  } finally {
    await server.stop();
  }
}
