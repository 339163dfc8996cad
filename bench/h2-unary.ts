/**
 * Unary gRPC calls over one bare `node:http2` session: the transport of the protocol-level bench workers
 * (bench/raw-calls.ts) by default. A call is one HTTP/2 stream: request headers with `grpc-timeout`, one
 * length-prefixed message, then the answer's message and its status, read from the trailers (or from
 * the headers of a trailers-only answer). No interceptors, no load balancing, no retries, no
 * compression: what a load generator needs and no more, so that it leaves the shared cores to the
 * server. grpc-js's client spends about twice the CPU per call on this machine (docs/performance.md,
 * "The load generator's own gRPC client").
 */
import { AsyncResource } from 'node:async_hooks';
import http2 from 'node:http2';

const { NGHTTP2_CANCEL } = http2.constants;

/** gRPC status codes this client produces itself (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
export const GrpcCode = { CANCELLED: 1, UNKNOWN: 2, DEADLINE_EXCEEDED: 4, INTERNAL: 13, UNAVAILABLE: 14 } as const;

/** A call that ended with a non-OK gRPC status; `code` and `details` as the server (or this client) set them. */
export class GrpcCallError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
    path: string,
  ) {
    super(`${path}: gRPC status ${code}: ${details}`);
    this.name = 'GrpcCallError';
  }
}

/**
 * Makes `AsyncResource.prototype.bind` of this thread cheap: for the load generator's threads only.
 *
 * node:http2's client wraps every `request()` in an AsyncResource and binds its connect callback with
 * it. Node 20's `bind` gives each bound function an `asyncResource` accessor whose getter and setter
 * are two fresh `util.deprecate` wrappers (DEP0172). That was about a tenth of the raw worker thread's
 * CPU, a quarter counting the rest of `request()` (docs/performance.md, "The load generator's HTTP/2
 * requests"). The replacement runs the function in the resource's async scope as Node's does,
 * without the deprecated accessor. Every call of the raw workers (grpc-js's too) goes through it.
 */
export function installLeanAsyncResourceBind(): void {
  if (AsyncResource.prototype.bind === leanBind) return;
  AsyncResource.prototype.bind = leanBind;
}

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

const leanBind = function (this: AsyncResource, fn: AnyFunction, thisArg?: unknown): AnyFunction {
  if (typeof fn !== 'function') throw new TypeError('AsyncResource.bind: fn must be a function');
  return boundIn(this, fn, thisArg);
} as typeof AsyncResource.prototype.bind;

function boundIn(resource: AsyncResource, fn: AnyFunction, thisArg: unknown): AnyFunction {
  const bound = function (this: unknown, ...args: unknown[]): unknown {
    return resource.runInAsyncScope(fn, thisArg === undefined ? this : thisArg, ...args);
  };
  Object.defineProperty(bound, 'length', { configurable: true, enumerable: false, value: fn.length, writable: false });
  return bound;
}

/** The 5-byte gRPC message prefix (flag 0: not compressed, then the length) followed by the message. */
export function frameMessage(message: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(5 + message.byteLength);
  framed[0] = 0;
  framed.writeUInt32BE(message.byteLength, 1);
  framed.set(message, 5);
  return framed;
}

/** The one message of a unary answer's body, or an error message when the body is not exactly one. */
export function unframeMessage(body: Buffer): Buffer | string {
  if (body.length < 5) return `answer body of ${body.length} bytes holds no message`;
  if (body[0] !== 0) return 'answer message is compressed; this client asks for none';
  const length = body.readUInt32BE(1);
  if (body.length !== 5 + length) return `answer body of ${body.length} bytes for a message of ${length}`;
  return body.subarray(5);
}

export class H2UnaryChannel {
  private session: http2.ClientHttp2Session | undefined;

  /** `address` is `host:port`; the session opens on the first call and again after it closes. */
  constructor(private readonly address: string) {}

  /** Sends `request` (an encoded message) to `path` and resolves with the answer's encoded message. */
  unary(path: string, request: Uint8Array, deadlineMs: number, signal?: AbortSignal): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(new GrpcCallError(GrpcCode.CANCELLED, 'cancelled before it was sent', path));
        return;
      }
      let stream: http2.ClientHttp2Stream;
      try {
        stream = this.open().request({
          ':method': 'POST',
          ':path': path,
          'content-type': 'application/grpc',
          te: 'trailers',
          'grpc-timeout': `${Math.max(1, Math.ceil(deadlineMs))}m`,
        });
      } catch (error) {
        reject(new GrpcCallError(GrpcCode.UNAVAILABLE, String(error), path));
        return;
      }
      const chunks: Buffer[] = [];
      let received = 0;
      let status: number | undefined;
      let details = '';
      let failure: GrpcCallError | undefined;
      const fail = (code: number, message: string): void => {
        failure ??= new GrpcCallError(code, message, path);
        if (!stream.closed) stream.close(NGHTTP2_CANCEL);
      };
      const timer = setTimeout(() => fail(GrpcCode.DEADLINE_EXCEEDED, `no answer within ${deadlineMs} ms`), deadlineMs);
      const onAbort = (): void => fail(GrpcCode.CANCELLED, 'cancelled');
      signal?.addEventListener('abort', onAbort, { once: true });
      const readStatus = (headers: http2.IncomingHttpHeaders): void => {
        const code = headers['grpc-status'];
        if (code === undefined) return;
        status = Number(code);
        const message = headers['grpc-message'];
        details = typeof message === 'string' ? decodeURIComponent(message) : '';
      };
      stream.on('response', (headers) => {
        const httpStatus = headers[':status'];
        if (httpStatus !== 200) fail(GrpcCode.UNKNOWN, `HTTP status ${String(httpStatus)}`);
        else readStatus(headers);
      });
      stream.on('trailers', readStatus);
      stream.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
      });
      stream.on('error', (error) => fail(GrpcCode.UNAVAILABLE, error.message));
      // 'close' comes after the body, the trailers and any error: the one place the call settles.
      stream.on('close', () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (failure) return reject(failure);
        if (status === undefined) return reject(new GrpcCallError(GrpcCode.INTERNAL, `stream closed (code ${stream.rstCode}) without a gRPC status`, path));
        if (status !== 0) return reject(new GrpcCallError(status, details, path));
        const message = unframeMessage(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received));
        if (typeof message === 'string') reject(new GrpcCallError(GrpcCode.INTERNAL, message, path));
        else resolve(message);
      });
      stream.end(frameMessage(request));
    });
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }

  private open(): http2.ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const session = http2.connect(`http://${this.address}`);
    // A session error also fails each open stream (their 'error'); the next call opens a new session.
    session.on('error', () => undefined);
    const forget = (): void => {
      if (this.session === session) this.session = undefined;
    };
    session.on('close', forget);
    session.on('goaway', forget);
    this.session = session;
    return session;
  }
}
