// The hot path of the gRPC front door: unary calls read from and answered on the node:http2 stream
// directly, inside the HTTP/2 server grpc-js created. Everything else about the connection stays
// grpc-js's: TLS and mutual TLS, sessions, keepalive pings, graceful and forced shutdown, and every
// path this file is not given (the health Watch stream, the cluster's peer service).
//
// Why: per call, grpc-js's server-side call machinery (interceptor chain, metadata objects, readable
// and writable wrappers, promise-based decompression) cost more CPU than node:http2 itself and kept
// the call's objects alive long enough to be promoted to V8's old generation, whose mark-compacts
// (30-45 ms pauses) made the tail of the latency. Design and figures: docs/adr/0008-fast-unary-path.md.
//
// The wire behaviour is grpc-js's, message for message: the same response headers, trailers-only
// errors, status texts for oversized, compressed and missing messages, and a DEADLINE_EXCEEDED answer
// when the caller's grpc-timeout passes first.
import type http2 from 'node:http2';
import type net from 'node:net';
import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';
import { GrpcCode } from '../errors.js';
import { inflateFailure, inflateSmall, SYNC_INFLATE_MAX_BYTES } from './grpc-inflate.js';

/** A status to answer with; `detailsBin` is the encoded google.rpc.Status of `grpc-status-details-bin`. */
export interface StatusAnswer {
  readonly code: number;
  readonly details: string;
  readonly detailsBin?: Buffer;
}

/** One unary call as a handler wrapper sees it, whichever path carried it. */
export interface UnaryExchange {
  /** The request message, after the gRPC framing and any compression were removed. */
  readonly message: Buffer;
  /** The caller's deadline, epoch ms on the wall clock; undefined when it set none. */
  readonly deadlineMs: number | undefined;
  /** Text (non `-bin`) request headers, keys lower-cased. */
  readonly metadata: ReadonlyMap<string, string>;
  readonly peer: string;
  /** Whether the call ended (cancelled, deadline passed, connection lost) before the answer. */
  readonly cancelled: boolean;
  /** Answers once: `null` and the encoded response, or a status. */
  answer(status: StatusAnswer | null, response?: Buffer): void;
  /** Registers what to do when the call ends before it is answered (once; not after the answer). */
  onCancel(listener: (reason: Error) => void): void;
}

/** Serves one call of a path. */
export type UnaryServe = (exchange: UnaryExchange) => void;

const FRAME_HEADER_BYTES = 5;
const NO_BYTES = Buffer.alloc(0);
/** Response headers as grpc-js sends them. */
const RESPONSE_HEADERS = {
  ':status': 200,
  'content-type': 'application/grpc+proto',
  'grpc-accept-encoding': 'identity,deflate,gzip',
  'grpc-encoding': 'identity',
} as const;
/** Request headers that are transport, not metadata (grpc-js removes the same). */
export const NOT_METADATA = new Set(['grpc-timeout', 'grpc-encoding', 'grpc-accept-encoding', 'accept-encoding', 'te', 'content-type', 'user-agent']);
const TIMEOUT_UNITS_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000001 };
/** How early a caller may give up on its deadline and still have it called a deadline (timer rounding, a busy loop). */
const DEADLINE_SLACK_MS = 50;
const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

type StreamListener = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]) => void;
type CreateHttp2Server = (credentials: unknown) => http2.Http2Server;

/**
 * Routes the streams of `routes`' paths (gRPC content type only) to them, on every HTTP/2 server
 * `server` creates from now on; other streams go to grpc-js as before. False when this grpc-js has no
 * `createHttp2Server` to wrap: every call then takes grpc-js's own path, which serves them the same.
 */
export function installFastUnary(server: object, routes: ReadonlyMap<string, UnaryServe>, maxReceiveBytes: number): boolean {
  const target = server as { createHttp2Server?: CreateHttp2Server };
  const create = target.createHttp2Server;
  if (typeof create !== 'function') return false;
  target.createHttp2Server = function createHttp2Server(this: unknown, credentials: unknown) {
    const http2Server = create.call(this, credentials);
    // Answers go out as soon as they are written. With Nagle's algorithm on, a small answer written
    // while the connection's previous segment is unacknowledged waits for the peer's delayed ACK
    // (40 ms on Linux): a long poll answered because of a call on another connection waited so.
    // A TLS server emits 'connection' with the TCP socket too, before its handshake.
    http2Server.prependListener('connection', (socket: net.Socket) => socket.setNoDelay(true));
    const grpcListeners = http2Server.listeners('stream') as StreamListener[];
    http2Server.removeAllListeners('stream');
    http2Server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
      const serve = routes.get(headers[':path'] ?? '');
      const contentType = headers['content-type'];
      if (serve !== undefined && typeof contentType === 'string' && contentType.startsWith('application/grpc')) {
        receive(stream, headers, serve, maxReceiveBytes);
        return;
      }
      for (const listener of grpcListeners) listener.call(http2Server, stream, headers, flags, rawHeaders);
    });
    return http2Server;
  };
  return true;
}

function receive(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, serve: UnaryServe, maxReceiveBytes: number): void {
  // Errors are followed by 'close', which is where a call learns it ended.
  stream.on('error', () => undefined);
  const call = new FastCall(stream, headers);
  const chunks: Buffer[] = [];
  let bytes = 0;
  let declared = -1;
  stream.on('data', (chunk: Buffer) => {
    if (call.answered) return; // read on, so that the stream ends
    chunks.push(chunk);
    bytes += chunk.length;
    if (declared < 0 && bytes >= FRAME_HEADER_BYTES) {
      declared = (chunks.length === 1 ? chunk : Buffer.concat(chunks, bytes)).readUInt32BE(1);
      if (declared > maxReceiveBytes) {
        chunks.length = 0;
        call.answer({ code: GrpcCode.RESOURCE_EXHAUSTED, details: `Received message larger than max (${declared} vs ${maxReceiveBytes})` });
      }
    }
  });
  stream.once('end', () => {
    if (call.answered) return;
    const framed = unframe(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes), call);
    if (framed === undefined) return;
    const encoding = headers['grpc-encoding'];
    if (framed.compressed && encoding !== undefined && encoding !== 'identity') {
      decompress(framed.message, String(encoding), maxReceiveBytes).then(
        (message) => call.serve(serve, message),
        (status: StatusAnswer) => call.answer(status),
      );
    } else {
      call.serve(serve, framed.message);
    }
  });
}

/** The one message of a unary request, or undefined once the call was answered with an error. */
export function unframe(body: Buffer, call: { readonly path: string; answer(status: StatusAnswer): void }): { compressed: boolean; message: Buffer } | undefined {
  const path = call.path;
  // A stream that ends inside a message: grpc-js never delivers it, and answers as for no message.
  if (body.length < FRAME_HEADER_BYTES || body.length < FRAME_HEADER_BYTES + body.readUInt32BE(1)) {
    call.answer({ code: GrpcCode.UNIMPLEMENTED, details: `Received no request message for server streaming method ${path}` });
    return undefined;
  }
  const end = FRAME_HEADER_BYTES + body.readUInt32BE(1);
  if (body.length > end) {
    call.answer({ code: GrpcCode.UNIMPLEMENTED, details: `Received a second request message for server streaming method ${path}` });
    return undefined;
  }
  return { compressed: body[0] === 1, message: body.subarray(FRAME_HEADER_BYTES) };
}

export async function decompress(message: Buffer, encoding: string, maxBytes: number): Promise<Buffer> {
  if (encoding !== 'gzip' && encoding !== 'deflate') {
    throw { code: GrpcCode.UNIMPLEMENTED, details: `Received message compressed with unsupported encoding "${encoding}"` } satisfies StatusAnswer;
  }
  if (message.length <= SYNC_INFLATE_MAX_BYTES) return inflateSmall(message, encoding, maxBytes);
  try {
    return await (encoding === 'gzip' ? gunzipAsync : inflateAsync)(message, { maxOutputLength: maxBytes });
  } catch (error) {
    throw inflateFailure(error, maxBytes) satisfies StatusAnswer;
  }
}

/**
 * What a unary call is on either transport: the deadline, the cancel listener, the answer given once.
 * A transport supplies the headers as metadata and the bytes of an answer (`send`), and calls
 * `aborted` when its stream ends before the answer.
 */
export abstract class UnaryCall implements UnaryExchange {
  message: Buffer = NO_BYTES;
  readonly deadlineMs: number | undefined;
  abstract readonly path: string;
  abstract readonly peer: string;
  answered = false;
  /** The call ended before it was answered. */
  cancelled = false;
  private cancelListener: ((reason: Error) => void) | undefined;
  private readonly deadlineTimer: NodeJS.Timeout | undefined;
  private metadataMap: Map<string, string> | undefined;

  protected constructor(timeout: string | string[] | undefined) {
    const deadline = startDeadline(timeout, this);
    this.deadlineMs = deadline?.deadlineMs;
    this.deadlineTimer = deadline?.timer;
  }

  get metadata(): ReadonlyMap<string, string> {
    this.metadataMap ??= this.readMetadata();
    return this.metadataMap;
  }

  onCancel(listener: (reason: Error) => void): void {
    this.cancelListener = listener;
  }

  serve(serve: UnaryServe, message: Buffer): void {
    if (this.answered) return;
    this.message = message;
    serve(this);
  }

  answer(status: StatusAnswer | null, response?: Buffer): void {
    if (this.answered) return;
    this.finish();
    // The deadline timer's answer: the handler still running learns why its call ended.
    if (status?.code === GrpcCode.DEADLINE_EXCEEDED && this.cancelListener !== undefined) {
      this.cancelled = true;
      this.cancel(new Error('call deadline exceeded'));
    }
    this.send(status, response ?? NO_BYTES);
  }

  /** Text request headers without the transport's own (`NOT_METADATA`), keys lower-cased. */
  protected abstract readMetadata(): Map<string, string>;
  /** Writes the answer: `null` and the encoded response, or a status (trailers-only). */
  protected abstract send(status: StatusAnswer | null, response: Buffer): void;

  /** The transport's stream ended before the answer: the caller cancelled, its deadline passed, or it left. */
  protected aborted(): void {
    if (this.answered) return;
    this.cancelled = true;
    this.finish();
    this.cancel(cancelReason(this.deadlineMs));
  }

  private finish(): void {
    this.answered = true;
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
  }

  private cancel(reason: Error): void {
    const listener = this.cancelListener;
    this.cancelListener = undefined;
    listener?.(reason);
  }
}

class FastCall extends UnaryCall {
  readonly path: string;
  readonly peer: string;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    private readonly headers: http2.IncomingHttpHeaders,
  ) {
    super(headers['grpc-timeout']);
    this.path = headers[':path'] ?? '';
    const socket = stream.session?.socket;
    this.peer = !socket?.remoteAddress ? 'unknown' : socket.remotePort ? `${socket.remoteAddress}:${socket.remotePort}` : socket.remoteAddress;
    stream.once('close', () => this.aborted());
  }

  protected readMetadata(): Map<string, string> {
    const map = new Map<string, string>();
    for (const [key, value] of Object.entries(this.headers)) {
      if (key.startsWith(':') || key.endsWith('-bin') || NOT_METADATA.has(key) || value === undefined) continue;
      map.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    return map;
  }

  protected send(status: StatusAnswer | null, response: Buffer): void {
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    try {
      if (status === null) {
        stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
        stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'OK' }));
        const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + response.length);
        frame[0] = 0;
        frame.writeUInt32BE(response.length, 1);
        frame.set(response, FRAME_HEADER_BYTES);
        stream.end(frame);
      } else {
        // Trailers-only: the status in the one HEADERS frame.
        stream.respond(
          {
            ':status': 200,
            'content-type': 'application/grpc+proto',
            'grpc-status': String(status.code), 'grpc-message': encodeURI(status.details),
            ...(status.detailsBin === undefined ? {} : { 'grpc-status-details-bin': status.detailsBin.toString('base64') }),
          },
          { endStream: true },
        );
      }
    } catch {
      // The stream closed between the check and the write: the caller has gone.
    }
  }
}

/**
 * Reads a `grpc-timeout` header: the deadline it sets and a timer that answers DEADLINE_EXCEEDED when
 * it passes; an unreadable value is answered INTERNAL on the next tick, as grpc-js does.
 */
export function startDeadline(timeout: string | string[] | undefined, call: { answer(status: StatusAnswer): void }): { deadlineMs: number | undefined; timer: NodeJS.Timeout | undefined } | undefined {
  if (timeout === undefined) return undefined;
  const match = typeof timeout === 'string' ? /(\d{1,8})\s*([HMSmun])/.exec(timeout) : null;
  if (match === null) {
    process.nextTick(() => call.answer({ code: GrpcCode.INTERNAL, details: `Invalid grpc-timeout value "${String(timeout)}"` }));
    return { deadlineMs: undefined, timer: undefined };
  }
  const ms = Math.trunc(Number(match[1]) * TIMEOUT_UNITS_MS[match[2]!]!);
  const timer = setTimeout(() => call.answer({ code: GrpcCode.DEADLINE_EXCEEDED, details: 'Deadline exceeded' }), ms);
  return { deadlineMs: Date.now() + ms, timer };
}

/** Why a call that ended before its answer ended: its deadline (or close enough to it), or the caller. */
export function cancelReason(deadlineMs: number | undefined): Error {
  const deadline = deadlineMs !== undefined && Date.now() >= deadlineMs - DEADLINE_SLACK_MS;
  return new Error(deadline ? 'call deadline exceeded' : 'call cancelled by the client');
}
