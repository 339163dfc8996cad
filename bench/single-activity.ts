/**
 * single-activity: N workflows of one no-op activity each, at most C in flight, on a Kairos server
 * started for the run (SQLite file in a temp directory) with the official Temporal worker and client.
 *
 *   npm run bench -- single-activity --workflows 500 --concurrency 50 [--address host:port]
 *
 * `--address` skips starting a server and measures the one given (e.g. a Temporal dev server).
 * Latency is per workflow, from the start call to the moment its result reached the client.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import {
  bundleWorkflowCode,
  DefaultLogger,
  makeTelemetryFilterString,
  NativeConnection,
  Runtime,
  Worker,
} from '@temporalio/worker';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startKairos, type KairosServer } from '../test/e2e/helpers/server.js';
import * as activities from './activities.js';
import { machine, percentile, printTable, writeResult } from './report.js';
import { singleActivityWorkflow } from './workflows.js';

const SCENARIO = 'single-activity';
const WORKFLOWS_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), 'workflows.ts');

function positiveInteger(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new Error(`--${flag} must be a positive integer, got ${value}`);
  return parsed;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      workflows: { type: 'string' },
      concurrency: { type: 'string' },
      address: { type: 'string' },
    },
    strict: true,
  });
  const workflows = positiveInteger(values.workflows, 'workflows', 200);
  const concurrency = Math.min(positiveInteger(values.concurrency, 'concurrency', 50), workflows);

  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
  });

  let server: KairosServer | undefined;
  const address = values.address ?? (server = await startKairos()).address;
  const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
  const connection = await Connection.connect({ address });
  const nativeConnection = await NativeConnection.connect({ address });
  const client = new Client({ connection });
  const taskQueue = `bench-${SCENARIO}-${randomUUID().slice(0, 8)}`;
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowBundle: { code: bundle.code },
    activities,
  });

  const latencies: number[] = [];
  let failures = 0;
  let wallMs = 0;
  try {
    wallMs = await worker.runUntil(async () => {
      let next = 0;
      const startedAt = performance.now();
      const lane = async (): Promise<void> => {
        while (next < workflows) {
          const index = next++;
          const t0 = performance.now();
          try {
            await client.workflow.execute(singleActivityWorkflow, {
              taskQueue,
              workflowId: `${taskQueue}-${index}`,
            });
            latencies.push(performance.now() - t0);
          } catch (error) {
            failures++;
            if (failures <= 3) process.stderr.write(`workflow ${index} failed: ${String(error)}\n`);
          }
        }
      };
      await Promise.all(Array.from({ length: concurrency }, lane));
      return performance.now() - startedAt;
    });
  } finally {
    await connection.close();
    await nativeConnection.close();
    await server?.stop();
  }

  latencies.sort((a, b) => a - b);
  const figures = {
    completed: latencies.length,
    failed: failures,
    wallSeconds: wallMs / 1000,
    workflowsPerSecond: latencies.length / (wallMs / 1000),
    latencyMs: {
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      max: latencies.at(-1) ?? Number.NaN,
    },
  };
  printTable([
    ['scenario', SCENARIO],
    ['server', values.address ?? 'kairos (started for this run, SQLite file)'],
    ['workflows', workflows],
    ['concurrency', concurrency],
    ['completed', figures.completed],
    ['failed', figures.failed],
    ['wall s', figures.wallSeconds],
    ['workflows/s', figures.workflowsPerSecond],
    ['p50 latency ms', figures.latencyMs.p50],
    ['p95 latency ms', figures.latencyMs.p95],
    ['p99 latency ms', figures.latencyMs.p99],
  ]);
  const file = writeResult(SCENARIO, {
    scenario: SCENARIO,
    date: new Date().toISOString(),
    command: `npm run bench -- ${[SCENARIO, ...args].join(' ')}`,
    machine: machine(),
    settings: {
      workflows,
      concurrency,
      server: values.address ?? 'kairos start-dev (SQLite file in a temp directory)',
      worker: 'official @temporalio/worker 1.24.0, default options',
    },
    figures,
  });
  process.stdout.write(`\nresults written to ${path.relative(process.cwd(), file)}\n`);
  if (failures > 0) process.exitCode = 1;
}
