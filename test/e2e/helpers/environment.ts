/**
 * What every end-to-end test file sets up in `beforeAll` and tears down in `afterAll`: its own server,
 * a client and a worker connection, one workflow bundle, and a recorder of the workflows it started.
 */
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll } from 'vitest';
import type { WorkflowBundle } from '@temporalio/worker';
import * as activities from '../activities.js';
import { startKairos, type KairosServer, type StartKairosOptions } from './server.js';
import {
  bundleWorkflows,
  connect,
  HistoryRecorder,
  uniqueTaskQueue,
  withWorker,
  type Connections,
  type TestWorkerOptions,
} from './sdk.js';

export interface E2EEnvironment {
  server: KairosServer;
  sdk: Connections;
  client: Client;
  workflowBundle: WorkflowBundle;
  recorder: HistoryRecorder;
  /** Runs `fn` while a worker (with the suite's activities) polls a task queue no other test uses. */
  withTaskQueue<R>(
    label: string,
    fn: (taskQueue: string) => Promise<R>,
    workerOptions?: Partial<TestWorkerOptions>,
  ): Promise<R>;
  /** Closes the connections and stops the server (deleting its temporary database). */
  close(): Promise<void>;
}

export async function startEnvironment(options: StartKairosOptions = {}): Promise<E2EEnvironment> {
  // Bundling and server start-up are both slow: do them side by side, and clean up either if the
  // other fails.
  const [started, bundled] = await Promise.allSettled([startKairos(options), bundleWorkflows()]);
  if (started.status === 'rejected' || bundled.status === 'rejected') {
    if (started.status === 'fulfilled') await started.value.stop();
    throw started.status === 'rejected' ? started.reason : (bundled as PromiseRejectedResult).reason;
  }
  const server = started.value;
  const workflowBundle = bundled.value;
  let sdk: Connections;
  try {
    sdk = await connect(server.address);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return {
    server,
    sdk,
    client: sdk.client,
    workflowBundle,
    recorder: new HistoryRecorder(),
    async withTaskQueue(label, fn, workerOptions = {}) {
      const taskQueue = uniqueTaskQueue(label);
      return await withWorker(
        { connection: sdk.nativeConnection, taskQueue, workflowBundle, activities, ...workerOptions },
        () => fn(taskQueue),
      );
    },
    async close() {
      await sdk.close();
      await server.stop();
    },
  };
}

/**
 * For suites that speak the protocol themselves (no worker, no workflow bundle): a server and its
 * connections, started before the file's tests and stopped after them. Tests read `suite.conns`.
 */
export function protocolSuite(options: StartKairosOptions = {}): { readonly conns: Connections } {
  const suite: { conns: Connections } = { conns: undefined as unknown as Connections };
  let server: KairosServer | undefined;
  beforeAll(async () => {
    server = await startKairos(options);
    suite.conns = await connect(server.address);
  });
  afterAll(async () => {
    await suite.conns?.close();
    await server?.stop();
  });
  return suite;
}
