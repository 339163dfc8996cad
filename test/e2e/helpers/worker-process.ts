/**
 * A worker in its own process, so a test can SIGKILL it like a crashed machine.
 *
 * Run as `node --import tsx worker-process.ts '<json config>'` (see `spawnWorkerProcess`). It prints
 * `WORKER_READY` once the worker is created and then polls until it is killed.
 */
import { readFileSync } from 'node:fs';
import { DefaultLogger, makeTelemetryFilterString, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { Duration } from '@temporalio/common';
import * as activities from '../activities.js';

export interface WorkerProcessConfig {
  address: string;
  taskQueue: string;
  /** A file holding the workflow bundle's code (bundling again in the child would be slow). */
  bundleFile: string;
  /** Passed through to the worker; short values let another worker take over sooner. */
  stickyQueueScheduleToStartTimeout?: Duration;
}

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerProcessConfig;

Runtime.install({
  logger: new DefaultLogger('WARN'),
  telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
});

const connection = await NativeConnection.connect({ address: config.address });
const worker = await Worker.create({
  connection,
  taskQueue: config.taskQueue,
  workflowBundle: { code: readFileSync(config.bundleFile, 'utf8') },
  activities,
  stickyQueueScheduleToStartTimeout: config.stickyQueueScheduleToStartTimeout ?? '10s',
});
process.stdout.write('WORKER_READY\n');
await worker.run();
await connection.close();
