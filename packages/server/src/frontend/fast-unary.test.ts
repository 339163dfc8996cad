import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcCode } from '../errors.js';
import { installFastUnary, type UnaryExchange } from './fast-unary.js';

const MAX = 1024;

/** What a call to the test server answered: HTTP status, gRPC status and message, and the body's message. */
interface Answer {
  readonly httpStatus: number | undefined;
  readonly grpcStatus: string | undefined;
  readonly grpcMessage: string | undefined;
  readonly body: Buffer;
}

function frame(message: Buffer, compressed = false): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt8(compressed ? 1 : 0, 0);
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

describe('installFastUnary', () => {
  const exchanges: UnaryExchange[] = [];
  const cancelReasons: string[] = [];
  // Stands in for grpc-js: createHttp2Server makes the server and puts its own 'stream' listener on it.
  const fakeGrpcServer = {
    createHttp2Server(): http2.Http2Server {
      const server = http2.createServer();
      server.on('stream', (stream) => stream.respond({ ':status': 404 }, { endStream: true }));
      return server;
    },
  };
  const routes = new Map([
    [
      '/x.Echo/Echo',
      (call: UnaryExchange) => {
        exchanges.push(call);
        call.answer(null, Buffer.from(`echo:${call.message.toString()}`));
      },
    ],
    [
      '/x.Echo/Wait',
      (call: UnaryExchange) => {
        call.onCancel((reason) => cancelReasons.push(reason.message));
      },
    ],
  ]);
  let server: http2.Http2Server;
  let session: http2.ClientHttp2Session;

  beforeAll(async () => {
    expect(installFastUnary(fakeGrpcServer, routes, MAX)).toBe(true);
    server = fakeGrpcServer.createHttp2Server();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });

  afterAll(async () => {
    session.close();
    await new Promise((resolve) => server.close(resolve));
  });

  function call(path: string, body: Buffer, headers: http2.OutgoingHttpHeaders = {}, onStream?: (s: http2.ClientHttp2Stream) => void): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
      let response: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      stream.on('response', (h) => (response = h));
      stream.on('trailers', (h) => (trailers = h));
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', reject);
      stream.on('close', () => {
        const status = trailers['grpc-status'] ?? response['grpc-status'];
        const message = trailers['grpc-message'] ?? response['grpc-message'];
        const all = Buffer.concat(chunks);
        resolve({
          httpStatus: response[':status'] === undefined ? undefined : Number(response[':status']),
          grpcStatus: status === undefined ? undefined : String(status),
          grpcMessage: message === undefined ? undefined : decodeURI(String(message)),
          body: all.length >= 5 ? all.subarray(5) : all,
        });
      });
      onStream?.(stream);
      stream.end(body);
    });
  }

  it('answers a routed unary call with grpc-js headers, one framed message and status OK', async () => {
    const answer = await call('/x.Echo/Echo', frame(Buffer.from('hi')), { 'temporal-namespace': 'default', 'grpc-timeout': '5S', 'x-bin': 'AAE=' });
    expect(answer).toEqual({ httpStatus: 200, grpcStatus: '0', grpcMessage: 'OK', body: Buffer.from('echo:hi') });
    const seen = exchanges.at(-1)!;
    expect(seen.metadata.get('temporal-namespace')).toBe('default');
    // Transport headers, pseudo-headers and binary metadata are not metadata.
    expect([...seen.metadata.keys()].filter((k) => k.startsWith(':') || k.startsWith('grpc-') || k === 'te' || k.endsWith('-bin'))).toEqual([]);
    expect(seen.deadlineMs).toBeGreaterThan(Date.now());
    expect(seen.peer).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('leaves other paths, and non-gRPC requests, to the listener that was there', async () => {
    expect((await call('/x.Other/Method', frame(Buffer.from('hi')))).httpStatus).toBe(404);
    expect((await call('/x.Echo/Echo', Buffer.from('hi'), { 'content-type': 'text/plain' })).httpStatus).toBe(404);
  });

  it('inflates a gzip-compressed message', async () => {
    const answer = await call('/x.Echo/Echo', frame(gzipSync(Buffer.from('zipped')), true), { 'grpc-encoding': 'gzip' });
    expect(answer.body.toString()).toBe('echo:zipped');
  });

  it('refuses what grpc-js refuses, in its words', async () => {
    const noMessage = await call('/x.Echo/Echo', Buffer.alloc(0));
    expect([noMessage.grpcStatus, noMessage.grpcMessage]).toEqual([String(GrpcCode.UNIMPLEMENTED), 'Received no request message for server streaming method /x.Echo/Echo']);
    const two = await call('/x.Echo/Echo', Buffer.concat([frame(Buffer.from('a')), frame(Buffer.from('b'))]));
    expect([two.grpcStatus, two.grpcMessage]).toEqual([String(GrpcCode.UNIMPLEMENTED), 'Received a second request message for server streaming method /x.Echo/Echo']);
    const big = await call('/x.Echo/Echo', frame(Buffer.alloc(MAX + 1)));
    expect([big.grpcStatus, big.grpcMessage]).toEqual([String(GrpcCode.RESOURCE_EXHAUSTED), `Received message larger than max (${MAX + 1} vs ${MAX})`]);
    const brotli = await call('/x.Echo/Echo', frame(Buffer.from('x'), true), { 'grpc-encoding': 'br' });
    expect([brotli.grpcStatus, brotli.grpcMessage]).toEqual([String(GrpcCode.UNIMPLEMENTED), 'Received message compressed with unsupported encoding "br"']);
    const timeout = await call('/x.Echo/Echo', frame(Buffer.from('x')), { 'grpc-timeout': 'soon' });
    expect([timeout.grpcStatus, timeout.grpcMessage]).toEqual([String(GrpcCode.INTERNAL), 'Invalid grpc-timeout value "soon"']);
  });

  it('answers DEADLINE_EXCEEDED when the deadline passes first, and tells the handler why', async () => {
    const answer = await call('/x.Echo/Wait', frame(Buffer.from('x')), { 'grpc-timeout': '100m' });
    expect([answer.grpcStatus, answer.grpcMessage]).toEqual([String(GrpcCode.DEADLINE_EXCEEDED), 'Deadline exceeded']);
    expect(cancelReasons.at(-1)).toBe('call deadline exceeded');
  });

  it('tells the handler when the client cancels', async () => {
    await call('/x.Echo/Wait', frame(Buffer.from('x')), {}, (stream) => setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), 50));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(cancelReasons.at(-1)).toBe('call cancelled by the client');
  });
});
