import http2 from 'node:http2';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { deflateSync, gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { api, google, grpcHealth } from '@kairos/common';
import { GrpcCode, InvalidArgumentError, ServiceError } from '../errors.js';
import { createLogger, type Logger } from '../logger.js';
import { systemClock } from '../clock.js';
import { createGrpcServer, type CallContext, type GrpcTransport, type UnaryHandler } from './grpc-server.js';
import { SYNC_INFLATE_MAX_BYTES } from './grpc-inflate.js';

const WS = '/temporal.api.workflowservice.v1.WorkflowService';
const TRANSPORTS: GrpcTransport[] = ['node', 'lean'];

/** How many connections the lean transport serves now (FrontendGrpcServer's registry). */
function leanConnectionCount(server: grpc.Server): number {
  return (server as unknown as { leanConnections: { size: number } }).leanConnections.size;
}
const ws = api.workflowservice.v1;

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function listen(server: grpc.Server): Promise<string> {
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return `127.0.0.1:${port}`;
}

async function shutdown(server: grpc.Server): Promise<void> {
  await new Promise<void>((resolve, reject) => server.tryShutdown((err) => (err ? reject(err) : resolve())));
}

type Outcome = { ok: true; bytes: Buffer } | { ok: false; error: grpc.ServiceError };

function unary(
  client: grpc.Client,
  path: string,
  request: Uint8Array,
  options: { metadata?: grpc.Metadata; deadline?: Date; onCall?: (call: grpc.ClientUnaryCall) => void } = {},
): Promise<Outcome> {
  return new Promise((resolve) => {
    const call = client.makeUnaryRequest(
      path,
      (b: Uint8Array) => Buffer.from(b),
      (b: Buffer) => b,
      request,
      options.metadata ?? new grpc.Metadata(),
      options.deadline === undefined ? {} : { deadline: options.deadline },
      (error, bytes) => resolve(error ? { ok: false, error } : { ok: true, bytes: bytes ?? Buffer.alloc(0) }),
    );
    options.onCall?.(call);
  });
}

function expectError(outcome: Outcome): grpc.ServiceError {
  if (outcome.ok) throw new Error('expected the call to fail');
  return outcome.error;
}

function expectBytes(outcome: Outcome): Buffer {
  if (!outcome.ok) throw new Error(`expected success, got ${outcome.error.code}: ${outcome.error.details}`);
  return outcome.bytes;
}

/** Encodes a request, then swaps `marker` (ASCII in the encoding) for `replacement` of equal length. */
function encodeWithBytes(bytes: Uint8Array, marker: string, replacement: number[]): Buffer {
  const buf = Buffer.from(bytes);
  const at = buf.indexOf(marker);
  expect(at).toBeGreaterThanOrEqual(0);
  Buffer.from(replacement).copy(buf, at);
  return buf;
}

describe.each(TRANSPORTS)('createGrpcServer over %s', (transport) => {
  const lines: string[] = [];
  const logger: Logger = createLogger({ level: 'debug', format: 'json', sink: (line) => lines.push(line) });
  const seen: { request?: unknown; context?: CallContext } = {};
  const cancelled = { entered: deferred<void>(), aborted: deferred<unknown>() };
  const expired = deferred<unknown>();
  const handlers: Partial<Record<string, UnaryHandler>> = {
    GetSystemInfo: (request, context) => {
      seen.request = request;
      seen.context = context;
      return Promise.resolve({ serverVersion: '0.1.0-kairos', capabilities: { sdkMetadata: true } });
    },
    GetWorkflowExecutionHistory: () =>
      Promise.resolve({
        history: {
          events: [
            {
              eventId: 2 ** 40 + 3,
              eventTime: { seconds: 1_700_000_000, nanos: 5 },
              eventType: 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED',
              workflowExecutionStartedEventAttributes: {
                workflowType: { name: 'greet' },
                input: { payloads: [{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"hi"') }] },
              },
            },
          ],
        },
      }),
    DescribeNamespace: () => {
      const value = api.errordetails.v1.NamespaceNotFoundFailure.encode({ namespace: 'nope' }).finish();
      throw new ServiceError(GrpcCode.NOT_FOUND, 'Namespace nope is not found.', {
        typeName: 'temporal.api.errordetails.v1.NamespaceNotFoundFailure',
        value,
      });
    },
    ListNamespaces: () => Promise.reject(new Error('the database went away')),
    StartWorkflowExecution: (request) => {
      const req = request as ReturnType<typeof ws.StartWorkflowExecutionRequest.decode>;
      return Promise.resolve({ runId: `${req.workflowId}|${req.workflowType?.name ?? ''}` });
    },
    PollWorkflowTaskQueue: async (_request, context) => {
      cancelled.entered.resolve();
      await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }));
      cancelled.aborted.resolve(context.signal.reason);
      return {};
    },
    RespondQueryTaskCompleted: () => Promise.reject(new InvalidArgumentError('UnhandledCommand')),
    RespondWorkflowTaskCompleted: () => Promise.resolve({}),
    PollNexusTaskQueue: async (_request, context) => {
      await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }));
      expired.resolve(context.signal.reason);
      return {};
    },
  };
  const server = createGrpcServer({ workflowService: handlers, operatorService: {} }, logger, systemClock, transport);
  let address = '';
  let client: grpc.Client;

  beforeAll(async () => {
    address = await listen(server);
    client = new grpc.Client(address, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client.close();
    await shutdown(server);
  });

  it("turns Nagle's algorithm off on each connection it accepts", async () => {
    // With it on, an answer written while the connection's last segment is unacknowledged waits for
    // the client's delayed ACK (40 ms on Linux): a long poll answered because of another connection's
    // call waited so, about 45 ms per workflow task.
    const setNoDelay = vi.spyOn(net.Socket.prototype, 'setNoDelay');
    const fresh = new grpc.Client(address, grpc.credentials.createInsecure());
    try {
      expectBytes(await unary(fresh, `${WS}/GetSystemInfo`, new Uint8Array()));
      const port = Number(address.split(':')[1]);
      const accepted = setNoDelay.mock.contexts.filter((socket, i) => (socket as net.Socket).localPort === port && setNoDelay.mock.calls[i]![0] === true);
      expect(accepted.length).toBeGreaterThanOrEqual(1);
    } finally {
      fresh.close();
      setNoDelay.mockRestore();
    }
  });

  it('decodes the request, passes call context, and encodes a plain-object answer', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('client-name', 'temporal-typescript');
    const deadline = new Date(Date.now() + 5_000);
    const bytes = expectBytes(await unary(client, `${WS}/GetSystemInfo`, new Uint8Array(), { metadata, deadline }));
    const answer = ws.GetSystemInfoResponse.decode(bytes);
    expect(answer.serverVersion).toBe('0.1.0-kairos');
    expect(answer.capabilities?.sdkMetadata).toBe(true);
    // A decoded protobufjs message instance, not a plain object.
    expect((seen.request as { $type?: { fullName?: string } }).$type?.fullName).toBe(
      '.temporal.api.workflowservice.v1.GetSystemInfoRequest',
    );
    expect(seen.context?.metadata.get('client-name')).toBe('temporal-typescript');
    expect(Math.abs((seen.context?.deadlineMs ?? 0) - deadline.getTime())).toBeLessThan(1_000);
    expect(seen.context?.peer).toMatch(/127\.0\.0\.1/);
    expect(seen.context?.signal.aborted).toBe(false);
  });

  it('serves a connection whose first call is unary with the transport under test', () => {
    // The test before this one made the client's first call; its connection stays open.
    expect(leanConnectionCount(server)).toBe(transport === 'lean' ? 1 : 0);
  });

  it('answers a message larger than the flow-control windows', async () => {
    // 3 MB of events: many DATA frames, each waiting for the client's WINDOW_UPDATE.
    const big = { ...handlers };
    const payload = randomBytes(3 << 20);
    big.GetWorkflowExecutionHistory = () => Promise.resolve({ history: { events: [{ eventId: 1, workflowExecutionStartedEventAttributes: { input: { payloads: [{ data: payload }] } } }] } });
    const bigServer = createGrpcServer({ workflowService: big, operatorService: {} }, logger, systemClock, transport);
    const bigClient = new grpc.Client(await listen(bigServer), grpc.credentials.createInsecure());
    try {
      const calls = [0, 1, 2].map(() => unary(bigClient, `${WS}/GetWorkflowExecutionHistory`, new Uint8Array()));
      for (const call of calls) {
        const event = ws.GetWorkflowExecutionHistoryResponse.decode(expectBytes(await call)).history?.events?.[0];
        expect(Buffer.from(event?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data ?? []).equals(payload)).toBe(true);
      }
    } finally {
      bigClient.close();
      await shutdown(bigServer);
    }
  });

  it('reads a request larger than the receive windows', async () => {
    const workflowId = 'w'.repeat(3 << 20);
    const start = ws.StartWorkflowExecutionRequest.encode({ workflowId, workflowType: { name: 'big' } }).finish();
    const answer = ws.StartWorkflowExecutionResponse.decode(expectBytes(await unary(client, `${WS}/StartWorkflowExecution`, start)));
    expect(answer.runId).toBe(`${workflowId}|big`);
  });

  it('encodes nested plain objects, enum names and int64 numbers', async () => {
    const request = ws.GetWorkflowExecutionHistoryRequest.encode({ namespace: 'default' }).finish();
    const bytes = expectBytes(await unary(client, `${WS}/GetWorkflowExecutionHistory`, request));
    const event = ws.GetWorkflowExecutionHistoryResponse.decode(bytes).history?.events?.[0];
    expect(String(event?.eventId)).toBe(String(2 ** 40 + 3));
    expect(Number(event?.eventTime?.seconds)).toBe(1_700_000_000);
    expect(event?.eventTime?.nanos).toBe(5);
    expect(event?.eventType).toBe(api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
    const attributes = event?.workflowExecutionStartedEventAttributes;
    expect(attributes?.workflowType?.name).toBe('greet');
    const payload = attributes?.input?.payloads?.[0];
    expect(Buffer.from(payload?.metadata?.['encoding'] ?? []).toString()).toBe('json/plain');
    expect(Buffer.from(payload?.data ?? []).toString()).toBe('"hi"');
  });

  it('answers UNIMPLEMENTED in grpc-js wording for methods without a handler', async () => {
    const error = expectError(await unary(client, `${WS}/ShutdownWorker`, new Uint8Array()));
    expect(error.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(error.details).toBe(`The server does not implement the method ${WS}/ShutdownWorker`);
    const operatorPath = '/temporal.api.operatorservice.v1.OperatorService/ListSearchAttributes';
    expect(expectError(await unary(client, operatorPath, new Uint8Array())).code).toBe(grpc.status.UNIMPLEMENTED);
  });

  it('maps a ServiceError to its code, message and a google.rpc.Status details trailer', async () => {
    const error = expectError(await unary(client, `${WS}/DescribeNamespace`, new Uint8Array()));
    expect(error.code).toBe(grpc.status.NOT_FOUND);
    expect(error.details).toBe('Namespace nope is not found.');
    const [trailer] = error.metadata.get('grpc-status-details-bin');
    expect(Buffer.isBuffer(trailer)).toBe(true);
    const status = google.rpc.Status.decode(trailer as Buffer);
    expect(status.code).toBe(grpc.status.NOT_FOUND);
    expect(status.message).toBe('Namespace nope is not found.');
    const detail = status.details[0];
    expect(detail?.type_url).toBe('type.googleapis.com/temporal.api.errordetails.v1.NamespaceNotFoundFailure');
    expect(api.errordetails.v1.NamespaceNotFoundFailure.decode(detail?.value ?? new Uint8Array()).namespace).toBe(
      'nope',
    );
    const plain = expectError(await unary(client, `${WS}/RespondQueryTaskCompleted`, new Uint8Array()));
    expect(plain.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(plain.details).toBe('UnhandledCommand');
    expect(plain.metadata.get('grpc-status-details-bin')).toEqual([]);
  });

  it('turns any other error into INTERNAL with its message, logged with its stack', async () => {
    const error = expectError(await unary(client, `${WS}/ListNamespaces`, new Uint8Array()));
    expect(error.code).toBe(grpc.status.INTERNAL);
    expect(error.details).toBe('the database went away');
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['level'] === 'error');
    expect(logged?.['error']).toBe('the database went away');
    expect(String(logged?.['stack'])).toContain('grpc-server.test.ts');
  });

  it('rejects invalid UTF-8 with INVALID_ARGUMENT naming the field, without calling the handler', async () => {
    const start = ws.StartWorkflowExecutionRequest.encode({ workflowId: 'wf-1', workflowType: { name: 'WWWW' } }).finish();
    const bad = expectError(
      await unary(client, `${WS}/StartWorkflowExecution`, encodeWithBytes(start, 'WWWW', [0x61, 0xff, 0xfe, 0x62])),
    );
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.details).toContain('workflowType.name');

    // A map key inside a repeated message (search attributes of a schedule action are too deep; memo
    // is a map of payloads whose keys are strings).
    const memo = ws.StartWorkflowExecutionRequest.encode({
      workflowId: 'wf-2',
      memo: { fields: { YYYY: { data: Buffer.from([0xff, 0xfe]) } } },
    }).finish();
    const badKey = expectError(
      await unary(client, `${WS}/StartWorkflowExecution`, encodeWithBytes(memo, 'YYYY', [0xc3, 0x28, 0x41, 0x41])),
    );
    expect(badKey.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badKey.details).toContain('memo.fields.key');

    // Deep inside a repeated oneof member and a recursive type (Failure.cause).
    const completion = ws.RespondWorkflowTaskCompletedRequest.encode({
      commands: [
        { scheduleActivityTaskCommandAttributes: { activityId: 'a1', activityType: { name: 'greet' } } },
        { failWorkflowExecutionCommandAttributes: { failure: { message: 'outer', cause: { message: 'ZZZZ' } } } },
      ],
    }).finish();
    const badDeep = expectError(
      await unary(client, `${WS}/RespondWorkflowTaskCompleted`, encodeWithBytes(completion, 'ZZZZ', [0xed, 0xa0, 0x80, 0x41])),
    );
    expect(badDeep.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badDeep.details).toContain('commands.failWorkflowExecutionCommandAttributes.failure.cause.message');
    expect(expectBytes(await unary(client, `${WS}/RespondWorkflowTaskCompleted`, completion))).toHaveLength(0);

    // Invalid bytes in a bytes field are payload data, not text, and pass; multi-byte text passes intact.
    const good = ws.StartWorkflowExecutionRequest.encode({
      workflowId: 'wf-😀-日本',
      workflowType: { name: 'grüßen' },
      memo: { fields: { k: { data: Buffer.from([0xff, 0xfe]) } } },
    }).finish();
    const answer = ws.StartWorkflowExecutionResponse.decode(
      expectBytes(await unary(client, `${WS}/StartWorkflowExecution`, good)),
    );
    expect(answer.runId).toBe('wf-😀-日本|grüßen');
  });

  it('rejects a malformed message with INVALID_ARGUMENT', async () => {
    const error = expectError(await unary(client, `${WS}/StartWorkflowExecution`, Buffer.from([0x0a, 0x10, 0x41])));
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('accepts gzip-compressed requests from a grpc-js client', async () => {
    const gzipClient = new grpc.Client(address, grpc.credentials.createInsecure(), {
      'grpc.default_compression_algorithm': grpc.compressionAlgorithms.gzip,
    });
    try {
      const request = ws.StartWorkflowExecutionRequest.encode({ workflowId: 'z'.repeat(4096) }).finish();
      const answer = ws.StartWorkflowExecutionResponse.decode(
        expectBytes(await unary(gzipClient, `${WS}/StartWorkflowExecution`, request)),
      );
      expect(answer.runId).toBe(`${'z'.repeat(4096)}|`);
    } finally {
      gzipClient.close();
    }
  });

  /** Sends one hand-built frame compressed with `encoding`, as sdk-core does: the status and the run id answered. */
  async function sendCompressed(message: Buffer, encoding: string): Promise<{ status: unknown; runId: string | null }> {
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt8(1, 0); // compressed flag
    frame.writeUInt32BE(message.length, 1);
    message.copy(frame, 5);
    const session = http2.connect(`http://${address}`);
    try {
      const stream = session.request({
        ':method': 'POST',
        ':path': `${WS}/StartWorkflowExecution`,
        'content-type': 'application/grpc',
        te: 'trailers',
        'grpc-encoding': encoding,
      });
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => stream.on('trailers', resolve));
      // An error without a message comes as trailers-only: the status is in the response headers.
      stream.on('response', (headers) => {
        if (headers['grpc-status'] !== undefined) stream.emit('trailers', headers);
      });
      stream.end(frame);
      const status = (await within(trailers, 5_000, 'trailers'))['grpc-status'];
      const body = Buffer.concat(chunks);
      if (body.length > 0) expect(body.readUInt8(0)).toBe(0);
      return { status, runId: body.length > 5 ? ws.StartWorkflowExecutionResponse.decode(body.subarray(5)).runId : null };
    } finally {
      session.close();
    }
  }

  it('decompresses a hand-built gzip frame (as sdk-core sends it)', async () => {
    const message = gzipSync(ws.StartWorkflowExecutionRequest.encode({ workflowId: 'gz' }).finish());
    expect(await sendCompressed(message, 'gzip')).toEqual({ status: '0', runId: 'gz|' });
  });

  it('answers compressed requests large enough for the streaming path, and refuses a corrupt one', async () => {
    // Random input does not compress: well over the synchronous limit once gzipped.
    const big = ws.StartWorkflowExecutionRequest.encode({ workflowId: 'big', requestId: randomBytes(SYNC_INFLATE_MAX_BYTES).toString('hex') }).finish();
    const bigGzip = gzipSync(big);
    expect(bigGzip.length).toBeGreaterThan(SYNC_INFLATE_MAX_BYTES);
    expect(await sendCompressed(bigGzip, 'gzip')).toEqual({ status: '0', runId: 'big|' });
    const small = ws.StartWorkflowExecutionRequest.encode({ workflowId: 'deflated' }).finish();
    expect(await sendCompressed(deflateSync(small), 'deflate')).toEqual({ status: '0', runId: 'deflated|' });
    const corrupt = Buffer.from(gzipSync(small));
    corrupt.fill(0x55, 10);
    expect(await sendCompressed(corrupt, 'gzip')).toEqual({ status: String(grpc.status.INTERNAL), runId: null });
  });

  it('aborts the handler signal when the client cancels', async () => {
    let clientCall: grpc.ClientUnaryCall | undefined;
    const outcome = unary(client, `${WS}/PollWorkflowTaskQueue`, new Uint8Array(), {
      onCall: (call) => (clientCall = call),
    });
    await within(cancelled.entered.promise, 5_000, 'the handler to start');
    clientCall?.cancel();
    expect(String(await within(cancelled.aborted.promise, 5_000, 'the abort'))).toContain('cancelled');
    expect(expectError(await outcome).code).toBe(grpc.status.CANCELLED);
  });

  it('aborts the handler signal when the deadline passes', async () => {
    const deadline = new Date(Date.now() + 1000);
    const outcome = await unary(client, `${WS}/PollNexusTaskQueue`, new Uint8Array(), { deadline });
    expect(expectError(outcome).code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(String(await within(expired.promise, 5_000, 'the abort'))).toContain('deadline exceeded');
  });

  it('logs each call at debug level with method, code and duration', () => {
    const calls = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'rpc');
    const info = calls.find((l) => l['method'] === 'GetSystemInfo');
    expect(info).toMatchObject({ level: 'debug', code: 'OK' });
    expect(typeof info?.['ms']).toBe('number');
    expect(calls.find((l) => l['method'] === 'ShutdownWorker')?.['code']).toBe('UNIMPLEMENTED');
  });

  it('answers Health Check for the server, the workflow and the operator service', async () => {
    const health = grpcHealth.health.v1;
    const check = async (service: string): Promise<Outcome> =>
      unary(client, '/grpc.health.v1.Health/Check', health.HealthCheckRequest.encode({ service }).finish());
    for (const service of ['', 'temporal.api.workflowservice.v1.WorkflowService', 'temporal.api.operatorservice.v1.OperatorService']) {
      const answer = health.HealthCheckResponse.decode(expectBytes(await check(service)));
      expect(answer.status).toBe(health.HealthCheckResponse.ServingStatus.SERVING);
    }
    expect(expectError(await check('no.such.Service')).code).toBe(grpc.status.NOT_FOUND);
  });

  it('refuses handlers for methods the service does not have', () => {
    expect(() => createGrpcServer({ workflowService: { StartWorkflow: handlers.GetSystemInfo }, operatorService: {} }, logger)).toThrow(
      /unknown method .*StartWorkflow/,
    );
  });
});

/** A server whose PollActivityTaskQueue waits until its call is aborted, then answers task token "none". */
function serverWithWaitingPoll(transport: GrpcTransport): { server: grpc.Server; entered: Deferred<void> } {
  const entered = deferred<void>();
  const server = createGrpcServer(
    {
      workflowService: {
        PollActivityTaskQueue: async (_request, context) => {
          entered.resolve();
          await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }));
          return { taskToken: Buffer.from('none') };
        },
      },
      operatorService: {},
    },
    createLogger({ level: 'never', format: 'text' }),
    systemClock,
    transport,
  );
  return { server, entered };
}

describe.each(TRANSPORTS)('shutdown over %s', (transport) => {
  it('aborts a waiting poll made as the first call of a connection, so tryShutdown completes', async () => {
    const { server, entered } = serverWithWaitingPoll(transport);
    const client = new grpc.Client(await listen(server), grpc.credentials.createInsecure());
    try {
      const poll = unary(client, `${WS}/PollActivityTaskQueue`, new Uint8Array());
      await within(entered.promise, 5_000, 'the poll to start');
      expect(leanConnectionCount(server)).toBe(transport === 'lean' ? 1 : 0);
      await within(shutdown(server), 5_000, 'tryShutdown');
      expect(Buffer.from(ws.PollActivityTaskQueueResponse.decode(expectBytes(await poll)).taskToken).toString()).toBe('none');
      // The GOAWAY closed the connection once its one call was answered.
      for (let deadline = Date.now() + 5_000; leanConnectionCount(server) > 0 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(leanConnectionCount(server)).toBe(0);
    } finally {
      client.close();
      server.forceShutdown();
    }
  });

  it('ends Health Watch streams and aborts waiting handlers so tryShutdown completes', async () => {
    const { server, entered } = serverWithWaitingPoll(transport);
    const address = await listen(server);
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    try {
      const health = grpcHealth.health.v1;
      const watch = client.makeServerStreamRequest(
        '/grpc.health.v1.Health/Watch',
        (b: Uint8Array) => Buffer.from(b),
        (b: Buffer) => health.HealthCheckResponse.decode(b),
        health.HealthCheckRequest.encode({ service: '' }).finish(),
      );
      const first = new Promise((resolve) => watch.once('data', resolve));
      const ended = new Promise<grpc.StatusObject>((resolve) => watch.on('status', resolve));
      watch.on('error', () => undefined);
      expect(await within(first, 5_000, 'the first Watch message')).toMatchObject({
        status: health.HealthCheckResponse.ServingStatus.SERVING,
      });
      const poll = unary(client, `${WS}/PollActivityTaskQueue`, new Uint8Array());
      await within(entered.promise, 5_000, 'the poll to start');
      await within(shutdown(server), 5_000, 'tryShutdown');
      expect((await within(ended, 5_000, 'the Watch stream to end')).code).toBe(grpc.status.OK);
      expect(Buffer.from(ws.PollActivityTaskQueueResponse.decode(expectBytes(await poll)).taskToken).toString()).toBe('none');
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});
