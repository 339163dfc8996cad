/**
 * Worker heartbeats and the worker listing (docs/workers.md): the server advertises the namespace
 * capability `workerHeartbeats`, so the official worker sends RecordWorkerHeartbeat (here every second)
 * and its last heartbeat with ShutdownWorker; ListWorkers, CountWorkers and DescribeWorker show them,
 * filtered by Temporal's worker query language. With frontend.WorkerHeartbeatsEnabled off, nothing is
 * advertised or kept.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import Long from 'long';
import { DefaultLogger, makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnvironment, type E2EEnvironment } from './helpers/environment.js';
import { findFreePort, startKairos, type KairosServer } from './helpers/server.js';

// Before anything else creates the process's Runtime: heartbeats every second instead of every minute.
Runtime.install({
  logger: new DefaultLogger('WARN'),
  telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
  workerHeartbeatInterval: '1s',
});

const NAMESPACE = 'default';
const RUNNING = 1;
const SHUTTING_DOWN = 2;
const SHUTDOWN = 3;

type ListWorkersResponse = temporal.api.workflowservice.v1.IListWorkersResponse;

async function listWorkers(connection: Connection, query: string, extra: Partial<temporal.api.workflowservice.v1.IListWorkersRequest> = {}): Promise<ListWorkersResponse> {
  return connection.workflowService.listWorkers({ namespace: NAMESPACE, query, ...extra });
}

/** Polls ListWorkers until `done` holds for its answer. */
async function waitForWorkers(connection: Connection, query: string, done: (r: ListWorkersResponse) => boolean): Promise<ListWorkersResponse> {
  let last: ListWorkersResponse = {};
  for (let i = 0; i < 150; i++) {
    last = await listWorkers(connection, query);
    if (done(last)) return last;
    await delay(100);
  }
  throw new Error(`ListWorkers(${query}) never got there: ${JSON.stringify(last.workers)}`);
}

function heartbeat(key: string, taskQueue: string, overrides: Partial<temporal.api.worker.v1.IWorkerHeartbeat> = {}): temporal.api.worker.v1.IWorkerHeartbeat {
  return {
    workerInstanceKey: key,
    workerIdentity: `identity-${key}`,
    taskQueue,
    sdkName: 'raw',
    sdkVersion: '0.0.1',
    status: RUNNING,
    hostInfo: { hostName: 'host-a', processId: '42' },
    startTime: { seconds: Long.fromNumber(1_700_000_000) },
    heartbeatTime: { seconds: Long.fromNumber(Math.floor(Date.now() / 1000)) },
    ...overrides,
  };
}

async function errorOf(call: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await call;
  } catch (err) {
    const e = err as { code: number; details: string };
    return { code: e.code, details: e.details };
  }
  throw new Error('the call succeeded');
}

describe('worker heartbeats (the default: on)', () => {
  let env: E2EEnvironment;
  let connection: Connection;
  let httpPort: number;

  beforeAll(async () => {
    httpPort = await findFreePort();
    env = await startEnvironment({ extraArgs: ['--http-port', String(httpPort)] });
    // Without the client's retries, so that errors show as the server answers them.
    connection = await Connection.connect({ address: env.server.address, interceptors: [] });
  });

  afterAll(async () => {
    await connection?.close();
    await env?.close();
  });

  it('lists the official worker from its heartbeats, and keeps its last one (ShuttingDown) after it stops', async () => {
    const described = await connection.workflowService.describeNamespace({ namespace: NAMESPACE });
    expect(described.namespaceInfo?.capabilities?.workerHeartbeats).toBe(true);

    let taskQueue = '';
    let running: ListWorkersResponse = {};
    await env.withTaskQueue('heartbeats', async (queue) => {
      taskQueue = queue;
      running = await waitForWorkers(connection, `TaskQueue = '${queue}'`, (r) => (r.workers?.length ?? 0) === 1);
    });
    const [info] = running.workers!;
    const [full] = running.workersInfo!;
    expect(info).toMatchObject({ taskQueue, sdkName: 'temporal-typescript', sdkVersion: '1.24.0', status: RUNNING });
    expect(info!.workerInstanceKey).toMatch(/^[0-9a-f-]{36}$/);
    expect(info!.hostName).toBeTruthy();
    expect(info!.startTime?.seconds).toBeTruthy();
    // The full heartbeat, as the worker sent it.
    const sent = full!.workerHeartbeat!;
    expect(sent.workerInstanceKey).toBe(info!.workerInstanceKey);
    expect(sent.workflowTaskSlotsInfo).toBeTruthy();
    expect(sent.activityPollerInfo).toBeTruthy();
    expect(sent.heartbeatTime?.seconds).toBeTruthy();
    const key = info!.workerInstanceKey!;

    // ShutdownWorker carried the worker's last heartbeat: still listed, shutting down.
    const stopped = await waitForWorkers(connection, `WorkerInstanceKey = "${key}"`, (r) => r.workers?.[0]?.status === SHUTTING_DOWN);
    expect(stopped.workers![0]!.startTime).toEqual(info!.startTime);
    const describedWorker = await connection.workflowService.describeWorker({ namespace: NAMESPACE, workerInstanceKey: key });
    expect(describedWorker.workerInfo?.workerHeartbeat).toEqual(stopped.workersInfo![0]!.workerHeartbeat);
    expect((await listWorkers(connection, `TaskQueue = '${taskQueue}' AND Status = 'Running'`)).workers).toEqual([]);
    expect((await listWorkers(connection, `TaskQueue = '${taskQueue}' AND WorkerStatus = 'ShuttingDown'`)).workers).toHaveLength(1);
  });

  it('filters, counts and pages as Temporal does', async () => {
    const queue = `q-${randomUUID()}`;
    const keys = ['a', 'b', 'c'].map((k) => `${k}-${randomUUID()}`);
    const now = Math.floor(Date.now() / 1000);
    await connection.workflowService.recordWorkerHeartbeat({
      namespace: NAMESPACE,
      identity: 'test',
      workerHeartbeat: [
        heartbeat(keys[0]!, queue, { deploymentVersion: { deploymentName: 'orders', buildId: 'v1' } }),
        heartbeat(keys[1]!, queue, { deploymentVersion: { deploymentName: 'orders', buildId: 'v2' }, hostInfo: { hostName: 'host-b' } }),
        heartbeat(keys[2]!, queue, { status: SHUTTING_DOWN, sdkName: 'other', startTime: { seconds: Long.fromNumber(now) } }),
        heartbeat(`sys-${randomUUID()}`, `temporal-sys-${queue}`),
      ],
    });
    const keysOf = (r: ListWorkersResponse) => (r.workers ?? []).map((w) => w.workerInstanceKey);
    const inQueue = `TaskQueue = '${queue}'`;
    expect(keysOf(await listWorkers(connection, inQueue))).toEqual(keys);
    expect(keysOf(await listWorkers(connection, `${inQueue} AND DeploymentName = 'orders' AND BuildId != 'v1'`))).toEqual([keys[1]]);
    expect(keysOf(await listWorkers(connection, `${inQueue} AND (HostName = 'host-b' OR SdkName STARTS_WITH 'oth')`))).toEqual([keys[1], keys[2]]);
    expect(keysOf(await listWorkers(connection, `${inQueue} AND StartTime > '2024-01-01T00:00:00Z'`))).toEqual([keys[2]]);
    expect(keysOf(await listWorkers(connection, `${inQueue} AND status = 'ShuttingDown'`))).toEqual([keys[2]]);
    // What a worker cannot be judged by makes it not match; only a query that does not parse fails.
    expect(keysOf(await listWorkers(connection, `${inQueue} AND Bogus = 'x'`))).toEqual([]);
    expect(keysOf(await listWorkers(connection, `${inQueue} AND (Status = 'RUNNING' OR SdkName = 'other')`))).toEqual([keys[2]]);
    expect(await errorOf(listWorkers(connection, `TaskQueue = `))).toMatchObject({ code: 3, details: expect.stringMatching(/^malformed query: /) });
    expect(await errorOf(listWorkers(connection, `TaskQueue = 'x' LIMIT 3`))).toEqual({ code: 3, details: "operation is not supported: 'limit' clause" });

    // The server's own workers only when asked for.
    const system = `TaskQueue STARTS_WITH 'temporal-sys-${queue}'`;
    expect(keysOf(await listWorkers(connection, system))).toEqual([]);
    expect(keysOf(await listWorkers(connection, system, { includeSystemWorkers: true }))).toHaveLength(1);
    const count = await connection.workflowService.countWorkers({ namespace: NAMESPACE, query: inQueue });
    expect(Number(count.count)).toBe(3);

    // Pages in key order, resumed after the last key of the page before.
    const first = await listWorkers(connection, inQueue, { pageSize: 2 });
    expect(keysOf(first)).toEqual(keys.slice(0, 2));
    expect(Buffer.from(first.nextPageToken!).toString()).toBe(JSON.stringify({ l: keys[1] }));
    const second = await listWorkers(connection, inQueue, { pageSize: 2, nextPageToken: first.nextPageToken });
    expect(keysOf(second)).toEqual([keys[2]]);
    expect(second.nextPageToken?.length ?? 0).toBe(0);
    expect(await errorOf(listWorkers(connection, inQueue, { nextPageToken: Buffer.from('nope') }))).toEqual({ code: 3, details: 'invalid next_page_token' });

    // A heartbeat replaces the last whole; SHUTDOWN removes the worker.
    await connection.workflowService.recordWorkerHeartbeat({ namespace: NAMESPACE, workerHeartbeat: [heartbeat(keys[0]!, queue, { sdkVersion: '0.0.2' })] });
    const replaced = await connection.workflowService.describeWorker({ namespace: NAMESPACE, workerInstanceKey: keys[0] });
    expect(replaced.workerInfo?.workerHeartbeat).toMatchObject({ sdkVersion: '0.0.2' });
    expect(replaced.workerInfo?.workerHeartbeat?.deploymentVersion ?? null).toBeNull();
    await connection.workflowService.recordWorkerHeartbeat({ namespace: NAMESPACE, workerHeartbeat: [heartbeat(keys[0]!, queue, { status: SHUTDOWN })] });
    expect(keysOf(await listWorkers(connection, inQueue))).toEqual(keys.slice(1));
    expect(await errorOf(connection.workflowService.describeWorker({ namespace: NAMESPACE, workerInstanceKey: keys[0] }))).toEqual({ code: 5, details: `Worker ${keys[0]} not found` });
  });

  it('answers unknown namespaces and the worker commands calls as Temporal does', async () => {
    const unknown = await errorOf(connection.workflowService.recordWorkerHeartbeat({ namespace: 'no-such-namespace', workerHeartbeat: [heartbeat('k', 'q')] }));
    expect(unknown).toEqual({ code: 5, details: 'Namespace no-such-namespace is not found.' });
    expect(await errorOf(connection.workflowService.fetchWorkerConfig({ namespace: NAMESPACE }))).toEqual({ code: 12, details: 'FetchWorkerConfig command is not enabled.' });
  });

  it('serves the listing on the HTTP API', async () => {
    const queue = `http-${randomUUID()}`;
    await connection.workflowService.recordWorkerHeartbeat({ namespace: NAMESPACE, workerHeartbeat: [heartbeat('http-worker', queue)] });
    const response = await fetch(`http://127.0.0.1:${httpPort}/api/v1/namespaces/${NAMESPACE}/workers?query=${encodeURIComponent(`TaskQueue="${queue}"`)}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { workers: { workerInstanceKey: string; status: string }[] };
    expect(body.workers).toEqual([expect.objectContaining({ workerInstanceKey: 'http-worker', status: 'WORKER_STATUS_RUNNING' })]);
  });
});

describe('with frontend.workerHeartbeatsEnabled off (keys in any case, as Temporal reads them)', () => {
  let server: KairosServer;
  let connection: Connection;

  beforeAll(async () => {
    server = await startKairos({ extraArgs: ['--dynamic-config-value', 'frontend.workerHeartbeatsEnabled=false'] });
    connection = await Connection.connect({ address: server.address, interceptors: [] });
  });

  afterAll(async () => {
    await connection?.close();
    await server?.stop();
  });

  it('advertises no capability and accepts heartbeats without keeping them', async () => {
    const described = await connection.workflowService.describeNamespace({ namespace: NAMESPACE });
    expect(described.namespaceInfo?.capabilities?.workerHeartbeats).toBe(false);
    await connection.workflowService.recordWorkerHeartbeat({ namespace: NAMESPACE, workerHeartbeat: [heartbeat('off', 'q')] });
    expect((await listWorkers(connection, '')).workers).toEqual([]);
  });
});
