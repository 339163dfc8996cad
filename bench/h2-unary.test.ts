import { Server, ServerCredentials, status, type handleUnaryCall, type ServerUnaryCall } from '@grpc/grpc-js';
import { AsyncResource, executionAsyncId } from 'node:async_hooks';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeanH2Channel } from './h2-lean.js';
import { GrpcCallError, GrpcCode, H2UnaryChannel, installLeanAsyncResourceBind } from './h2-unary.js';

const identity = (bytes: Buffer): Buffer => bytes;
const method = (name: string) => ({
  path: `/kairos.test.Probe/${name}`,
  requestStream: false,
  responseStream: false,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
});

type Channel = H2UnaryChannel | LeanH2Channel;
const CHANNELS: ReadonlyArray<readonly [string, (address: string) => Channel]> = [
  ['H2UnaryChannel (node:http2)', (address) => new H2UnaryChannel(address)],
  ["LeanH2Channel (the server's HTTP/2 code)", (address) => new LeanH2Channel(address)],
];

describe.each(CHANNELS)('%s against a grpc-js server', (_name, open) => {
  const server = new Server();
  const cancelled: string[] = [];
  let channel: Channel;

  const echo: handleUnaryCall<Buffer, Buffer> = (call, callback) => callback(null, call.request);
  const refuse: handleUnaryCall<Buffer, Buffer> = (_call, callback) => callback({ code: status.NOT_FOUND, details: 'no such run: wf-1 (ünïcode, 100%)' });
  const hang: handleUnaryCall<Buffer, Buffer> = (call: ServerUnaryCall<Buffer, Buffer>) => {
    call.on('cancelled', () => cancelled.push(call.request.toString()));
  };

  beforeAll(async () => {
    // The raw workers' threads run with it (bench/raw-calls.ts), so the calls below do too.
    installLeanAsyncResourceBind();
    server.addService({ Echo: method('Echo'), Refuse: method('Refuse'), Hang: method('Hang') }, { Echo: echo, Refuse: refuse, Hang: hang });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    channel = open(`127.0.0.1:${port}`);
  });

  afterAll(() => {
    channel.close();
    server.forceShutdown();
  });

  it('sends a message and returns the answer, also past the HTTP/2 flow-control window', async () => {
    expect((await channel.unary('/kairos.test.Probe/Echo', Buffer.from('hello'), 5_000)).toString()).toBe('hello');
    const large = Buffer.alloc(300_000, 7);
    large[299_999] = 9;
    const answer = await channel.unary('/kairos.test.Probe/Echo', large, 5_000);
    expect(answer.equals(large)).toBe(true);
    // An empty message is a valid one (GetSystemInfo's request is zero bytes).
    expect((await channel.unary('/kairos.test.Probe/Echo', new Uint8Array(0), 5_000)).length).toBe(0);
  });

  it('many calls in flight on the one session', async () => {
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => channel.unary('/kairos.test.Probe/Echo', Buffer.from(`m${i}`), 5_000)));
    expect(answers.map(String)).toEqual(Array.from({ length: 200 }, (_, i) => `m${i}`));
  });

  it("rejects with the server's status code and its decoded message", async () => {
    const error = await channel.unary('/kairos.test.Probe/Refuse', Buffer.from('x'), 5_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GrpcCallError);
    expect(error).toMatchObject({ code: status.NOT_FOUND, details: 'no such run: wf-1 (ünïcode, 100%)' });
    const unknown = await channel.unary('/kairos.test.Probe/Missing', Buffer.from('x'), 5_000).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ code: status.UNIMPLEMENTED });
  });

  it('ends a call at its deadline and a cancelled one at once; the server sees both cancelled', async () => {
    const startedAt = Date.now();
    const late = await channel.unary('/kairos.test.Probe/Hang', Buffer.from('deadline'), 300).catch((e: unknown) => e);
    expect(late).toMatchObject({ code: GrpcCode.DEADLINE_EXCEEDED });
    expect(Date.now() - startedAt).toBeLessThan(3_000);

    const abort = new AbortController();
    const pending = channel.unary('/kairos.test.Probe/Hang', Buffer.from('abort'), 60_000, abort.signal).catch((e: unknown) => e);
    setTimeout(() => abort.abort(), 50);
    expect(await pending).toMatchObject({ code: GrpcCode.CANCELLED });
    await expect.poll(() => [...cancelled].sort(), { timeout: 5_000 }).toEqual(['abort', 'deadline']);
    cancelled.length = 0;

    const aborted = AbortSignal.abort();
    expect(await channel.unary('/kairos.test.Probe/Echo', Buffer.from('x'), 5_000, aborted).catch((e: unknown) => e)).toMatchObject({ code: GrpcCode.CANCELLED });
    // The session is still good afterwards.
    expect((await channel.unary('/kairos.test.Probe/Echo', Buffer.from('after'), 5_000)).toString()).toBe('after');
  });

  it('fails a call with UNAVAILABLE when nothing listens, and connects again later', async () => {
    const probe = createServer();
    const port = await new Promise<number>((resolve) => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port)));
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const nowhere = open(`127.0.0.1:${port}`);
    expect(await nowhere.unary('/kairos.test.Probe/Echo', Buffer.from('x'), 5_000).catch((e: unknown) => e)).toMatchObject({ code: GrpcCode.UNAVAILABLE });
    const late = new Server();
    late.addService({ Echo: method('Echo') }, { Echo: echo });
    await new Promise<void>((resolve, reject) => late.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())));
    try {
      expect((await nowhere.unary('/kairos.test.Probe/Echo', Buffer.from('again'), 5_000)).toString()).toBe('again');
    } finally {
      nowhere.close();
      late.forceShutdown();
    }
  });

  it('finishes the calls in flight when the server goes away, then fails new ones UNAVAILABLE', async () => {
    const leaving = new Server();
    const slow: handleUnaryCall<Buffer, Buffer> = (call, callback) => setTimeout(() => callback(null, call.request), 300);
    leaving.addService({ Echo: method('Echo'), Slow: method('Slow') }, { Echo: echo, Slow: slow });
    const port = await new Promise<number>((resolve, reject) =>
      leaving.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    const goingAway = open(`127.0.0.1:${port}`);
    try {
      expect((await goingAway.unary('/kairos.test.Probe/Echo', Buffer.from('first'), 5_000)).toString()).toBe('first');
      const inFlight = goingAway.unary('/kairos.test.Probe/Slow', Buffer.from('slow'), 5_000);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const shutDown = new Promise<void>((resolve) => leaving.tryShutdown(() => resolve()));
      expect((await inFlight).toString()).toBe('slow');
      await shutDown;
      expect(await goingAway.unary('/kairos.test.Probe/Echo', Buffer.from('late'), 5_000).catch((e: unknown) => e)).toMatchObject({ code: GrpcCode.UNAVAILABLE });
    } finally {
      goingAway.close();
      leaving.forceShutdown();
    }
  });

  it('binds as AsyncResource.bind does: in the resource\'s scope, with the caller\'s or the given this', () => {
    const resource = new AsyncResource('KairosBenchProbe');
    function probe(this: unknown, a: number, b: number): [unknown, number, number] {
      return [this, executionAsyncId(), a + b];
    }
    const receiver = { name: 'receiver' };
    const bound = resource.bind(probe);
    expect(bound.length).toBe(2);
    expect(bound.call(receiver, 1, 2)).toEqual([receiver, resource.asyncId(), 3]);
    const fixed = Reflect.apply(resource.bind, resource, [probe, 'fixed']) as typeof probe; // thisArg: untyped in @types/node
    expect(fixed.call(receiver, 2, 3)).toEqual(['fixed', resource.asyncId(), 5]);
    expect(() => resource.bind(42 as unknown as () => void)).toThrow(TypeError);
  });
});
