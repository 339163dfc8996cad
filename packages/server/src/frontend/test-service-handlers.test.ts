import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, google, timestampToMs } from '@kairos/common';
import { startServer, type RunningServer, type StartServerOptions } from '../server.js';

const TS = '/temporal.api.testservice.v1.TestService';
const ts = api.testservice.v1;
const DAY = 24 * 3600_000;

function call(client: grpc.Client, method: string, request: Uint8Array, deadline?: Date): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      `${TS}/${method}`,
      (b: Uint8Array) => Buffer.from(b),
      (b: Buffer) => b,
      request,
      new grpc.Metadata(),
      deadline === undefined ? {} : { deadline },
      (error, bytes) => (error ? reject(error) : resolve(bytes ?? Buffer.alloc(0))),
    );
  });
}

const empty = new Uint8Array();
const sleepRequest = (ms: number): Uint8Array => ts.SleepRequest.encode(ts.SleepRequest.fromObject({ duration: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 } })).finish();

async function currentTime(client: grpc.Client): Promise<number> {
  const response = ts.GetCurrentTimeResponse.decode(await call(client, 'GetCurrentTime', google.protobuf.Empty.encode({}).finish()));
  return timestampToMs(response.time)!;
}


/** A headless server on a free port with its database in `dir`. */
function serverOptions(dir: string, timeSkipping: boolean): StartServerOptions {
  return {
    ip: '127.0.0.1',
    port: 0,
    dbFilename: path.join(dir, 'kairos.db'),
    namespaces: ['default'],
    logLevel: 'error',
    logFormat: 'json',
    dynamicConfig: new Map(),
    searchAttributes: new Map(),
    headless: true,
    uiPort: undefined,
    httpPort: undefined,
    metricsPort: undefined,
    timeSkipping,
  };
}

describe('TestService (a server started with timeSkipping)', () => {
  let dir: string;
  let server: RunningServer;
  let client: grpc.Client;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'kairos-test-service-'));
    server = await startServer(serverOptions(dir, true));
    client = new grpc.Client(server.grpcAddress, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports virtual time, starting at wall time', async () => {
    const now = await currentTime(client);
    expect(Math.abs(now - Date.now())).toBeLessThan(5000);
  });

  it('UnlockTimeSkippingWithSleep jumps ahead and locks again', async () => {
    const before = await currentTime(client);
    const wallStart = Date.now();
    await call(client, 'UnlockTimeSkippingWithSleep', sleepRequest(10 * DAY));
    expect(Date.now() - wallStart).toBeLessThan(2000);
    const after = await currentTime(client);
    expect(after - before).toBeGreaterThanOrEqual(10 * DAY);
    // Locked again: a plain Sleep now waits on the wall clock.
    const sleepStart = Date.now();
    await call(client, 'Sleep', sleepRequest(50));
    expect(Date.now() - sleepStart).toBeGreaterThanOrEqual(40);
  });

  it('SleepUntil returns once time is there; an unlock skips to it', async () => {
    const target = (await currentTime(client)) + 3 * DAY;
    const sleeping = call(client, 'SleepUntil', ts.SleepUntilRequest.encode(ts.SleepUntilRequest.fromObject({ timestamp: { seconds: Math.floor(target / 1000) } })).finish());
    await call(client, 'UnlockTimeSkipping', empty);
    await sleeping;
    await call(client, 'LockTimeSkipping', empty);
    expect(await currentTime(client)).toBeGreaterThanOrEqual(Math.floor(target / 1000) * 1000);
  });

  it('rejects an unlock without a lock with FAILED_PRECONDITION', async () => {
    await call(client, 'UnlockTimeSkipping', empty);
    const error = (await call(client, 'UnlockTimeSkipping', empty).catch((err: unknown) => err)) as grpc.ServiceError;
    expect(error.code).toBe(grpc.status.FAILED_PRECONDITION);
    await call(client, 'LockTimeSkipping', empty);
  });

  it('gives long polls their deadline in virtual time (they wait instead of returning at once)', async () => {
    // Virtual time is days ahead of the wall clock now; a poll with a 300 ms deadline must still wait.
    const wf = api.workflowservice.v1;
    const request = wf.PollActivityTaskQueueRequest.encode({ namespace: 'default', taskQueue: { name: 'nobody' }, identity: 't' }).finish();
    const started = Date.now();
    await new Promise<void>((resolve) => {
      client.makeUnaryRequest(
        '/temporal.api.workflowservice.v1.WorkflowService/PollActivityTaskQueue',
        (b: Uint8Array) => Buffer.from(b),
        (b: Buffer) => b,
        request,
        new grpc.Metadata(),
        { deadline: new Date(Date.now() + 1500) },
        () => resolve(),
      );
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it('is not served without timeSkipping', async () => {
    const plainDir = mkdtempSync(path.join(os.tmpdir(), 'kairos-test-service-'));
    const plain = await startServer(serverOptions(plainDir, false));
    const plainClient = new grpc.Client(plain.grpcAddress, grpc.credentials.createInsecure());
    try {
      const error = (await call(plainClient, 'LockTimeSkipping', empty).catch((err: unknown) => err)) as grpc.ServiceError;
      expect(error.code).toBe(grpc.status.UNIMPLEMENTED);
    } finally {
      plainClient.close();
      await plain.close();
      rmSync(plainDir, { recursive: true, force: true });
    }
  });
});
