// The gRPC front door: a @grpc/grpc-js Server whose service definitions are built from the protobufjs
// reflection root of @temporalio/proto (the official generated API), so no protoc or proto-loader.
// Handlers see decoded protobufjs messages and answer with messages or plain objects; everything
// about the wire (UTF-8 checks, status codes, error-detail trailers, health) is settled here. Unary
// calls are read and answered on the HTTP/2 stream itself (fast-unary.ts, docs/adr/0008); grpc-js keeps
// the connections, TLS, shutdown and the streaming health Watch.
import * as grpc from '@grpc/grpc-js';
import { GrpcCode, ServiceError } from '../errors.js';
import { LeanConnections, installLeanTransport } from './h2/lean-transport.js';
import { cancelReason, installFastUnary, type StatusAnswer, type UnaryExchange, type UnaryServe } from './fast-unary.js';
import { installSyncInflate } from './grpc-inflate.js';
import type { Logger } from '../logger.js';
import { systemClock, type Clock } from '../clock.js';
import {
  checkUtf8,
  encodeMessage,
  lookupService,
  lookupType,
  stringFieldPlan,
  type ReflectedMethod,
  type ReflectedType,
} from './proto-codec.js';

export type UnaryHandler = (request: unknown, call: CallContext) => Promise<object>;
export type ServiceHandlers = Partial<Record<string, UnaryHandler>>;

export interface CallContext {
  /**
   * The caller's deadline in the server clock's time (epoch ms: the wall clock, unless a time-skipping
   * clock is ahead of it); undefined when the call has none.
   */
  readonly deadlineMs: number | undefined;
  /** Aborted when the client cancels or disconnects, the deadline passes, or the server shuts down. */
  readonly signal: AbortSignal;
  /** Text (non `-bin`) request headers, keys lower-cased. */
  readonly metadata: ReadonlyMap<string, string>;
  readonly peer: string;
}

export const WORKFLOW_SERVICE = 'temporal.api.workflowservice.v1.WorkflowService';
export const OPERATOR_SERVICE = 'temporal.api.operatorservice.v1.OperatorService';
export const TEST_SERVICE = 'temporal.api.testservice.v1.TestService';
export const HEALTH_SERVICE = 'grpc.health.v1.Health';

const MAX_RECEIVE_MESSAGE_BYTES = 128 * 1024 * 1024;

/** A decoded request, or why it could not be decoded (answered INVALID_ARGUMENT). */
type DecodedRequest = { readonly ok: true; readonly message: object } | { readonly ok: false; readonly error: string };

/**
 * A unary call's abort signal, made only when a handler asks for it: most calls (completions, starts)
 * never do, and an AbortController with its listeners is a measurable part of a short call's cost.
 */
class LazyAbort {
  private controller: AbortController | undefined;
  private reason: Error | undefined;

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.reason !== undefined) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: Error): void {
    if (this.controller !== undefined) this.controller.abort(reason);
    else this.reason ??= reason;
  }
}

/** Calls the server must wind up when it shuts down, or grpc-js's graceful shutdown would wait on them. */
interface OpenCalls {
  readonly unary: Set<LazyAbort>;
  readonly watches: Set<grpc.ServerWritableStream<Buffer, Buffer>>;
}

class FrontendGrpcServer extends grpc.Server {
  constructor(
    options: grpc.ServerOptions,
    private readonly openCalls: OpenCalls,
    readonly leanConnections: LeanConnections,
  ) {
    super(options);
  }

  override tryShutdown(callback: (error?: Error) => void): void {
    this.windUpOpenCalls();
    this.leanConnections.shutdown();
    super.tryShutdown(callback);
  }

  override forceShutdown(): void {
    this.windUpOpenCalls();
    this.leanConnections.destroy();
    super.forceShutdown();
  }

  // Long polls hold calls open for up to a minute; aborting their signals lets them answer at once.
  private windUpOpenCalls(): void {
    for (const controller of this.openCalls.unary) controller.abort(new Error('server shutting down'));
    for (const watch of this.openCalls.watches) watch.end();
    this.openCalls.watches.clear();
  }
}

/**
 * What carries the gRPC calls: `node` is node:http2 (with the unary fast path of fast-unary.ts), `lean`
 * the JavaScript HTTP/2 connection of h2/ for connections whose first call is a unary one.
 */
export type GrpcTransport = 'node' | 'lean';

export function createGrpcServer(
  services: { workflowService: ServiceHandlers; operatorService: ServiceHandlers; testService?: ServiceHandlers },
  logger: Logger,
  clock: Clock = systemClock,
  transport: GrpcTransport = 'node',
): grpc.Server {
  const openCalls: OpenCalls = { unary: new Set(), watches: new Set() };
  const leanConnections = new LeanConnections();
  const syncInflate = installSyncInflate();
  const server = new FrontendGrpcServer(
    {
      'grpc.max_receive_message_length': MAX_RECEIVE_MESSAGE_BYTES,
      // Ping idle clients so dead connections (and the long polls on them) are noticed. grpc-js
      // never rejects client pings, so sdk-core's 30 s keepalive pings are always accepted.
      'grpc.keepalive_time_ms': 60_000,
      'grpc.keepalive_timeout_ms': 20_000,
      // Nothing reads grpc-js's channelz counters (no channelz service is served); off, each call skips
      // their trackers and timestamps.
      'grpc.enable_channelz': 0,
    },
    openCalls,
    leanConnections,
  );
  const log = logger.child({ component: 'grpc' });
  // grpc-js prints its own errors to the console (e.g. a failed bind, which the caller reports
  // anyway); keep them in the structured log instead. The grpc-js logger is process-wide.
  grpc.setLogger({ error: (...args: unknown[]) => log.debug('grpc-js', { message: args.map(String).join(' ') }) });
  if (!syncInflate) log.warn('this grpc-js has no decompressMessage to replace: compressed requests take its slower streaming path');
  // Every unary call of these services is served on the HTTP/2 stream directly (fast-unary.ts); the
  // same handlers are registered with grpc-js too, which serves them if that path cannot be installed.
  const routes = new Map<string, UnaryServe>();
  addUnaryService(server, routes, WORKFLOW_SERVICE, services.workflowService, log, openCalls, clock);
  addUnaryService(server, routes, OPERATOR_SERVICE, services.operatorService, log, openCalls, clock);
  if (services.testService !== undefined) {
    addUnaryService(server, routes, TEST_SERVICE, services.testService, log, openCalls, clock);
  }
  const served = new Set(['', WORKFLOW_SERVICE, OPERATOR_SERVICE, ...(services.testService !== undefined ? [TEST_SERVICE] : [])]);
  addHealthService(server, routes, log, openCalls, clock, served);
  if (!installFastUnary(server, routes, MAX_RECEIVE_MESSAGE_BYTES)) log.warn('this grpc-js has no createHttp2Server to wrap: every call takes its slower path');
  else if (transport === 'lean') installLeanTransport(server, routes, MAX_RECEIVE_MESSAGE_BYTES, leanConnections);
  return server;
}

function addUnaryService(
  server: grpc.Server,
  routes: Map<string, UnaryServe>,
  serviceName: string,
  handlers: ServiceHandlers,
  logger: Logger,
  openCalls: OpenCalls,
  clock: Clock,
): void {
  const service = lookupService(serviceName);
  const known = new Set(service.methodsArray.map((m) => m.name));
  for (const name of Object.keys(handlers)) {
    if (!known.has(name)) throw new Error(`handler given for unknown method ${serviceName}/${name}`);
  }
  const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const method of service.methodsArray) {
    const path = `/${serviceName}/${method.name}`;
    const { request, response } = methodTypes(method);
    const serve = unaryServe(path, request, response, handlers[method.name], logger, openCalls, clock);
    routes.set(path, serve);
    definition[method.name] = methodDefinition(path, false);
    implementation[method.name] = grpcJsUnary(serve);
  }
  server.addService(definition, implementation);
}

function methodTypes(method: ReflectedMethod): { request: ReflectedType; response: ReflectedType } {
  method.resolve();
  const { resolvedRequestType: request, resolvedResponseType: response } = method;
  if (request === null || response === null) throw new Error(`unresolved types for method ${method.name}`);
  return { request, response };
}

/** Bytes in and out: requests are decoded, and responses encoded, by the handler wrapper, which can then report failures. */
function methodDefinition(path: string, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> {
  const passThrough = (bytes: Buffer): Buffer => bytes;
  return {
    path,
    requestStream: false,
    responseStream,
    requestDeserialize: passThrough,
    responseSerialize: passThrough,
    requestSerialize: () => {
      throw new Error('server-side definition: requests are never serialized here');
    },
    responseDeserialize: passThrough,
  };
}

function decodeRequest(type: ReflectedType, bytes: Buffer): DecodedRequest {
  try {
    // protobufjs replaces invalid UTF-8 silently, so string fields are checked on the raw bytes first.
    const plan = stringFieldPlan(type);
    if (plan !== null) checkUtf8(bytes, plan);
    return { ok: true, message: type.decode(bytes) };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/** A unary method's handler behind the wire: decoding, cancellation, the answer, the log line. */
function unaryServe(
  path: string,
  requestType: ReflectedType,
  responseType: ReflectedType,
  handler: UnaryHandler | undefined,
  logger: Logger,
  openCalls: OpenCalls,
  clock: Clock,
): UnaryServe {
  const method = path.slice(path.lastIndexOf('/') + 1);
  return (call) => {
    const startedAt = performance.now();
    const done = (status: StatusAnswer | null, response?: Buffer): void => {
      const cancelled = call.cancelled;
      call.answer(status, response);
      const code = status?.code ?? grpc.status.OK;
      logger.debug('rpc', {
        method,
        code: grpc.status[code],
        ms: Math.round((performance.now() - startedAt) * 10) / 10,
        ...(cancelled ? { cancelled: true } : {}),
      });
    };
    if (handler === undefined) {
      // The exact text grpc-js uses for unregistered methods: sdk-core matches on it (wire contract §1.1).
      done({ code: grpc.status.UNIMPLEMENTED, details: `The server does not implement the method ${path}` });
      return;
    }
    const decoded = decodeRequest(requestType, call.message);
    if (!decoded.ok) {
      done({ code: grpc.status.INVALID_ARGUMENT, details: decoded.error });
      return;
    }
    const controller = new LazyAbort();
    call.onCancel((reason) => controller.abort(reason));
    openCalls.unary.add(controller);
    const deadlineMs = call.deadlineMs;
    const context: CallContext = {
      // Handlers compare deadlines with the server clock, which may be ahead of the wall clock.
      deadlineMs: deadlineMs === undefined ? undefined : deadlineMs + (clock.now() - Date.now()),
      get signal() {
        return controller.signal;
      },
      // Built only when a handler reads it: most calls never do.
      get metadata() {
        return call.metadata;
      },
      peer: call.peer,
    };
    // Through a promise executor so that a handler that throws synchronously is answered too.
    new Promise<object>((resolve) => resolve(handler(decoded.message, context)))
      .then((result) => done(null, encodeMessage(responseType, result)))
      .catch((err: unknown) => done(errorToStatus(err, path, logger)))
      .finally(() => openCalls.unary.delete(controller));
  };
}

/** A UnaryServe as a grpc-js unary handler (the path when the fast one is not installed). */
function grpcJsUnary(serve: UnaryServe): grpc.handleUnaryCall<Buffer, Buffer> {
  return (call, callback) => {
    const deadlineMs = deadlineToMs(call.getDeadline());
    let cancelListener: ((reason: Error) => void) | undefined;
    let metadata: ReadonlyMap<string, string> | undefined;
    // grpc-js reports a passed deadline as a cancellation too; cancelReason says which it was.
    const onCancelled = (): void => {
      const listener = cancelListener;
      cancelListener = undefined;
      listener?.(cancelReason(deadlineMs));
    };
    call.once('cancelled', onCancelled);
    const exchange: UnaryExchange = {
      message: call.request,
      deadlineMs,
      get metadata() {
        return (metadata ??= textMetadata(call.metadata));
      },
      peer: call.getPeer(),
      get cancelled() {
        return call.cancelled;
      },
      onCancel(listener) {
        cancelListener = listener;
      },
      answer(status, response) {
        call.off('cancelled', onCancelled);
        cancelListener = undefined;
        if (status === null) {
          callback(null, response);
          return;
        }
        const trailers = new grpc.Metadata();
        if (status.detailsBin !== undefined) trailers.set('grpc-status-details-bin', status.detailsBin);
        callback({ code: status.code, details: status.details, metadata: trailers });
      },
    };
    serve(exchange);
  };
}

function errorToStatus(err: unknown, path: string, logger: Logger): StatusAnswer {
  if (err instanceof ServiceError) {
    if (err.code === GrpcCode.INTERNAL || err.code === GrpcCode.UNKNOWN) {
      logger.error('internal error in handler', { path, error: err.message, cause: err.cause, stack: err.stack });
    }
    if (err.details === undefined) return { code: err.code, details: err.message };
    return { code: err.code, details: err.message, detailsBin: encodeStatusDetails(err.code, err.message, err.details) };
  }
  const message = err instanceof Error ? err.message : String(err);
  logger.error('unexpected error in handler', {
    path,
    error: message,
    stack: err instanceof Error ? err.stack : undefined,
  });
  return { code: grpc.status.INTERNAL, details: message };
}

let rpcStatusType: ReflectedType | undefined;

/** google.rpc.Status with one Any, the shape Temporal's clients decode into typed errors. */
export function encodeStatusDetails(
  code: number,
  message: string,
  detail: { readonly typeName: string; readonly value: Uint8Array },
): Buffer {
  rpcStatusType ??= lookupType('google.rpc.Status');
  return encodeMessage(rpcStatusType, {
    code,
    message,
    details: [{ type_url: `type.googleapis.com/${detail.typeName}`, value: detail.value }],
  });
}

function deadlineToMs(deadline: grpc.Deadline): number | undefined {
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) ? ms : undefined;
}

function textMetadata(metadata: grpc.Metadata): ReadonlyMap<string, string> {
  const map = new Map<string, string>();
  for (const [key, value] of Object.entries(metadata.getMap())) {
    if (typeof value === 'string') map.set(key, value);
  }
  return map;
}

// grpc.health.v1.Health: the Go `temporal` CLI and load balancers check it before anything else.
function addHealthService(
  server: grpc.Server,
  routes: Map<string, UnaryServe>,
  logger: Logger,
  openCalls: OpenCalls,
  clock: Clock,
  served: ReadonlySet<string>,
): void {
  const service = lookupService(HEALTH_SERVICE);
  const checkMethod = service.methodsArray.find((m) => m.name === 'Check');
  const watchMethod = service.methodsArray.find((m) => m.name === 'Watch');
  if (checkMethod === undefined || watchMethod === undefined) throw new Error('grpc.health.v1.Health is incomplete');
  const { request, response } = methodTypes(checkMethod);
  const servingStatus = (message: unknown): 'SERVING' | 'SERVICE_UNKNOWN' => {
    const name = requestedService(message);
    return served.has(name) ? 'SERVING' : 'SERVICE_UNKNOWN';
  };
  const check: UnaryHandler = (message) => {
    const status = servingStatus(message);
    if (status !== 'SERVING') throw new ServiceError(GrpcCode.NOT_FOUND, 'unknown service');
    return Promise.resolve({ status });
  };
  const watch: grpc.handleServerStreamingCall<Buffer, Buffer> = (call) => {
    const decoded = decodeRequest(request, call.request);
    if (!decoded.ok) {
      call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: decoded.error });
      return;
    }
    // The status never changes while the process lives, so one message and then an open stream.
    call.write(encodeMessage(response, { status: servingStatus(decoded.message) }));
    openCalls.watches.add(call);
    call.once('cancelled', () => openCalls.watches.delete(call));
  };
  const checkPath = `/${HEALTH_SERVICE}/Check`;
  const serveCheck = unaryServe(checkPath, request, response, check, logger, openCalls, clock);
  routes.set(checkPath, serveCheck);
  server.addService(
    { Check: methodDefinition(checkPath, false), Watch: methodDefinition(`/${HEALTH_SERVICE}/Watch`, true) },
    { Check: grpcJsUnary(serveCheck), Watch: watch },
  );
}

function requestedService(message: unknown): string {
  if (typeof message !== 'object' || message === null || !('service' in message)) return '';
  return typeof message.service === 'string' ? message.service : '';
}
