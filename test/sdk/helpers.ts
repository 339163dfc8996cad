/**
 * What every SDK test file starts: a Kairos server in this process (port 0, a throwaway SQLite
 * database), a @kairos/client connection, and workers scoped to a callback.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection, type WorkflowHandle } from '@kairos/client';
import { startServer, type RunningServer } from '@kairos/server';
import { bundleWorkflowCode, Worker, type WorkerOptions, type WorkflowBundle } from '@kairos/worker';
import * as activities from './activities.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Workflows written against @kairos/workflow. */
export const KAIROS_WORKFLOWS = path.join(here, 'workflows/index.ts');
/** The official-SDK suite's workflows, shared by both SDKs (bundled for ours with an import alias). */
export const SHARED_WORKFLOWS = path.join(here, 'workflows/shared.ts');
export const OFFICIAL_TO_KAIROS = { '@temporalio/workflow': '@kairos/workflow' } as const;

export interface SdkEnvironment {
  readonly server: RunningServer;
  readonly connection: Connection;
  readonly client: Client;
  readonly bundle: WorkflowBundle;
  /** Runs `fn` while a Kairos worker (suite activities, suite workflows) polls a fresh task queue. */
  withWorker<R>(fn: (taskQueue: string, worker: Worker) => Promise<R>, options?: Partial<WorkerOptions>): Promise<R>;
  close(): Promise<void>;
}

export async function startSdkEnvironment(workflowsPath = KAIROS_WORKFLOWS, aliases?: Record<string, string>): Promise<SdkEnvironment> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kairos-sdk-'));
  const [server, bundle] = await Promise.all([
    startServer({
      ip: '127.0.0.1',
      port: 0,
      dbFilename: path.join(dir, 'kairos.db'),
      namespaces: ['default'],
      logLevel: 'warn',
      logFormat: 'json',
      dynamicConfig: new Map(),
      searchAttributes: new Map(),
      headless: true,
      uiPort: undefined,
      httpPort: undefined,
      metricsPort: undefined,
    }),
    bundleWorkflowCode({ workflowsPath, aliases }),
  ]);
  const connection = await Connection.connect({ address: server.grpcAddress });
  const client = new Client({ connection, namespace: 'default' });
  return {
    server,
    connection,
    client,
    bundle,
    async withWorker(fn, options = {}) {
      const taskQueue = uniqueName('sdk');
      const worker = await Worker.create({
        connection,
        taskQueue,
        workflowBundle: bundle,
        activities,
        shutdownGraceTime: '2s',
        ...options,
      });
      return await worker.runUntil(() => fn(taskQueue, worker));
    },
    async close() {
      connection.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Registers custom search attributes (name → IndexedValueType) in the default namespace. */
export async function addSearchAttributes(env: SdkEnvironment, searchAttributes: Record<string, number>): Promise<void> {
  await env.connection.operatorService.addSearchAttributes({ namespace: 'default', searchAttributes });
}

export function uniqueName(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/** Event type names of a history, without the EVENT_TYPE_ prefix. */
export async function eventTypes(handle: WorkflowHandle): Promise<string[]> {
  const { api } = await import('@kairos/common');
  const history = await handle.fetchHistory();
  return (history.events ?? []).map((e) => String(api.enums.v1.EventType[e.eventType ?? 0]).replace(/^EVENT_TYPE_/, ''));
}
