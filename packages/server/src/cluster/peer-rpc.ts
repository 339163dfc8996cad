// Node-to-node calls inside a cluster: one unary gRPC method on each node's own gRPC port,
// `/kairos.cluster.v1.Peer/Call`, carrying `{ op, args }` and answering with a value, both in V8's
// serialization (structured clone: plain objects, strings, numbers, Uint8Arrays). Peers are trusted
// parts of one deployment; the payloads are internal and versioned with the code (a rolling upgrade
// runs mixed versions only briefly, and an unknown op answers UNIMPLEMENTED).
//
// A ServiceError thrown by an op reaches the caller as the same class with the same code, message and
// details (carried in the `kairos-error-bin` trailer), so callers handle a forwarded failure exactly as
// a local one. A peer that cannot be reached is UNAVAILABLE.
//
// The service shares the public port, so every call must carry the cluster secret (a random value the
// first node stored in the database): a call without it is refused before its payload is decoded.
import { timingSafeEqual } from 'node:crypto';
import v8 from 'node:v8';
import * as grpc from '@grpc/grpc-js';
import * as errors from '../errors.js';
import { GrpcCode, ServiceError, type GrpcCodeValue } from '../errors.js';
import type { Logger } from '../logger.js';

const PATH = '/kairos.cluster.v1.Peer/Call';
const ERROR_TRAILER = 'kairos-error-bin';
/** Every peer call carries the cluster's secret (kept in its database): only nodes of the cluster know it. */
const SECRET_HEADER = 'kairos-cluster-secret';
/** Internal calls that carry no deadline of their own get this one. */
const DEFAULT_DEADLINE_MS = 30_000;

export interface PeerCall {
  readonly op: string;
  readonly args: unknown;
}

export interface PeerCallContext {
  readonly deadlineMs: number | undefined;
  /** Aborted when the calling node cancels (its client went away) or the deadline passes. */
  readonly signal: AbortSignal;
}

export type PeerOp = (args: never, call: PeerCallContext) => Promise<unknown>;

const serialize = (value: unknown): Buffer => v8.serialize(value);
const deserialize = (bytes: Buffer): unknown => v8.deserialize(bytes) as unknown;

interface ErrorPayload {
  readonly name: string;
  readonly code: GrpcCodeValue;
  readonly message: string;
  readonly details?: errors.ErrorDetail;
}

/**
 * Registers the peer service on `server` (before it binds), answering with `ops` the calls that carry
 * the cluster secret (`secret()`: known once the node has joined; null before, when every call is refused).
 */
export function addPeerService(server: grpc.Server, ops: Readonly<Record<string, PeerOp>>, secret: () => string | null, logger: Logger): void {
  const raw = (bytes: Buffer): Buffer => bytes;
  const definition: grpc.ServiceDefinition = {
    Call: { path: PATH, requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: serialize, responseDeserialize: deserialize },
  };
  const call: grpc.handleUnaryCall<Buffer, unknown> = (unary, callback) => {
    const expected = secret();
    const given = unary.metadata.get(SECRET_HEADER)[0];
    if (expected === null || typeof given !== 'string' || !sameSecret(given, expected)) {
      callback({ code: grpc.status.PERMISSION_DENIED, details: 'not a node of this cluster' });
      return;
    }
    const { op, args } = deserialize(unary.request) as PeerCall;
    const run = ops[op];
    if (run === undefined) {
      callback({ code: grpc.status.UNIMPLEMENTED, details: `unknown cluster op ${op}` });
      return;
    }
    const controller = new AbortController();
    unary.on('cancelled', () => controller.abort(new Error('the calling node cancelled')));
    const deadline = unary.getDeadline();
    const deadlineMs = deadline instanceof Date ? deadline.getTime() : Number.isFinite(deadline) ? Number(deadline) : undefined;
    run(args as never, { deadlineMs, signal: controller.signal }).then(
      (value) => callback(null, value ?? null),
      (err: unknown) => {
        const payload = errorPayload(err);
        if (payload.code === GrpcCode.INTERNAL) logger.warn('cluster op failed', { op, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
        const metadata = new grpc.Metadata();
        metadata.set(ERROR_TRAILER, serialize(payload));
        callback({ code: payload.code, details: payload.message, metadata });
      },
    );
  };
  server.addService(definition, { Call: call });
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function errorPayload(err: unknown): ErrorPayload {
  if (err instanceof ServiceError) return { name: err.name, code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
  return { name: 'Error', code: GrpcCode.INTERNAL, message: err instanceof Error ? err.message : String(err) };
}

/** The ServiceError subclasses by name, to rebuild a peer's error as the class it threw. */
const ERROR_CLASSES = new Map<string, { prototype: ServiceError }>(
  Object.values(errors).flatMap((value) => (typeof value === 'function' && value.prototype instanceof ServiceError ? [[value.name, value as unknown as { prototype: ServiceError }]] : [])),
);

function rebuild(payload: ErrorPayload): ServiceError {
  const cls = ERROR_CLASSES.get(payload.name);
  if (cls === undefined) return new ServiceError(payload.code, payload.message, payload.details);
  const err = Object.create(cls.prototype) as ServiceError;
  Object.defineProperties(err, {
    message: { value: payload.message, writable: true, configurable: true },
    code: { value: payload.code, writable: true, configurable: true },
    details: { value: payload.details, writable: true, configurable: true },
    stack: { value: `${payload.name}: ${payload.message}\n    (thrown on another cluster node)`, writable: true, configurable: true },
  });
  return err;
}

/** Calls peers by address, one channel per address. */
export class PeerClients {
  private readonly clients = new Map<string, grpc.Client>();
  /** The cluster secret, set when the node joins. */
  secret = '';

  constructor(private readonly credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure()) {}

  call<R>(address: string, op: string, args: unknown, options: { deadlineMs?: number | undefined; signal?: AbortSignal | undefined } = {}): Promise<R> {
    const client = this.client(address);
    const deadline = options.deadlineMs ?? Date.now() + DEFAULT_DEADLINE_MS;
    return new Promise<R>((resolve, reject) => {
      const request: PeerCall = { op, args };
      const metadata = new grpc.Metadata();
      metadata.set(SECRET_HEADER, this.secret);
      const unary = client.makeUnaryRequest<PeerCall, unknown>(PATH, serialize, deserialize, request, metadata, { deadline }, (err, value) => {
        options.signal?.removeEventListener('abort', cancel);
        if (!err) return resolve(value as R);
        const trailer = err.metadata?.get(ERROR_TRAILER)[0];
        if (Buffer.isBuffer(trailer)) return reject(rebuild(deserialize(trailer) as ErrorPayload));
        if (err.code === grpc.status.DEADLINE_EXCEEDED) return reject(new errors.DeadlineExceededError(`cluster node ${address} did not answer in time`));
        if (err.code === grpc.status.PERMISSION_DENIED) return reject(new ServiceError(GrpcCode.PERMISSION_DENIED, `cluster node ${address} refused this node: ${err.details}`));
        reject(new ServiceError(GrpcCode.UNAVAILABLE, `cluster node ${address} cannot be reached (${err.details || err.message}); retry`));
      });
      const cancel = (): void => unary.cancel();
      options.signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  /** Closes the channels of addresses no longer in the cluster (and all, when none are given). */
  prune(liveAddresses: ReadonlySet<string> = new Set()): void {
    for (const [address, client] of this.clients) {
      if (liveAddresses.has(address)) continue;
      client.close();
      this.clients.delete(address);
    }
  }

  private client(address: string): grpc.Client {
    let client = this.clients.get(address);
    if (!client) this.clients.set(address, (client = new grpc.Client(address, this.credentials, { 'grpc.max_receive_message_length': 128 * 1024 * 1024 })));
    return client;
  }
}
