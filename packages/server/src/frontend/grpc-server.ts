// The gRPC front door: a @grpc/grpc-js Server whose service definitions are built from the protobufjs
// reflection root of @temporalio/proto (the official generated API), so no protoc or proto-loader.
// Handlers see decoded protobufjs messages and answer with messages or plain objects; everything
// about the wire (UTF-8 checks, status codes, error-detail trailers, health) is settled here.
import * as grpc from '@grpc/grpc-js';
import { GrpcCode, ServiceError } from '../errors.js';
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

/** How early grpc-js may cancel a call for its deadline (see onCancelled). */
const DEADLINE_SLACK_MS = 50;

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

/** What the deserializer hands to a handler: grpc-js turns a throwing deserializer into INTERNAL, so
 * a bad request travels as a value and becomes INVALID_ARGUMENT in the handler wrapper. */
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
  readonly watches: Set<grpc.ServerWritableStream<DecodedRequest, Buffer>>;
}

class FrontendGrpcServer extends grpc.Server {
  constructor(
    options: grpc.ServerOptions,
    private readonly openCalls: OpenCalls,
  ) {
    super(options);
  }

  override tryShutdown(callback: (error?: Error) => void): void {
    this.windUpOpenCalls();
    super.tryShutdown(callback);
  }

  override forceShutdown(): void {
    this.windUpOpenCalls();
    super.forceShutdown();
  }

  // Long polls hold calls open for up to a minute; aborting their signals lets them answer at once.
  private windUpOpenCalls(): void {
    for (const controller of this.openCalls.unary) controller.abort(new Error('server shutting down'));
    for (const watch of this.openCalls.watches) watch.end();
    this.openCalls.watches.clear();
  }
}

export function createGrpcServer(
  services: { workflowService: ServiceHandlers; operatorService: ServiceHandlers; testService?: ServiceHandlers },
  logger: Logger,
  clock: Clock = systemClock,
): grpc.Server {
  const openCalls: OpenCalls = { unary: new Set(), watches: new Set() };
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
  );
  const log = logger.child({ component: 'grpc' });
  // grpc-js prints its own errors to the console (e.g. a failed bind, which the caller reports
  // anyway); keep them in the structured log instead. The grpc-js logger is process-wide.
  grpc.setLogger({ error: (...args: unknown[]) => log.debug('grpc-js', { message: args.map(String).join(' ') }) });
  if (!syncInflate) log.warn('this grpc-js has no decompressMessage to replace: compressed requests take its slower streaming path');
  addUnaryService(server, WORKFLOW_SERVICE, services.workflowService, log, openCalls, clock);
  addUnaryService(server, OPERATOR_SERVICE, services.operatorService, log, openCalls, clock);
  if (services.testService !== undefined) {
    addUnaryService(server, TEST_SERVICE, services.testService, log, openCalls, clock);
  }
  const served = new Set(['', WORKFLOW_SERVICE, OPERATOR_SERVICE, ...(services.testService !== undefined ? [TEST_SERVICE] : [])]);
  addHealthService(server, log, openCalls, clock, served);
  return server;
}

function addUnaryService(
  server: grpc.Server,
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
  const definition: Record<string, grpc.MethodDefinition<DecodedRequest, Buffer>> = {};
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const method of service.methodsArray) {
    const path = `/${serviceName}/${method.name}`;
    const { request, response } = methodTypes(method);
    definition[method.name] = methodDefinition(path, request, false);
    implementation[method.name] = unaryCall(path, response, handlers[method.name], logger, openCalls, clock);
  }
  server.addService(definition, implementation);
}

function methodTypes(method: ReflectedMethod): { request: ReflectedType; response: ReflectedType } {
  method.resolve();
  const { resolvedRequestType: request, resolvedResponseType: response } = method;
  if (request === null || response === null) throw new Error(`unresolved types for method ${method.name}`);
  return { request, response };
}

function methodDefinition(
  path: string,
  requestType: ReflectedType,
  responseStream: boolean,
): grpc.MethodDefinition<DecodedRequest, Buffer> {
  const passThrough = (bytes: Buffer): Buffer => bytes;
  return {
    path,
    requestStream: false,
    responseStream,
    requestDeserialize: (bytes) => decodeRequest(requestType, bytes),
    responseSerialize: passThrough, // responses are encoded by the wrapper, which can then report failures
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

function unaryCall(
  path: string,
  responseType: ReflectedType,
  handler: UnaryHandler | undefined,
  logger: Logger,
  openCalls: OpenCalls,
  clock: Clock,
): grpc.handleUnaryCall<DecodedRequest, Buffer> {
  const method = path.slice(path.lastIndexOf('/') + 1);
  return (call, callback) => {
    const startedAt = performance.now();
    const done = (status: StatusAnswer | null, response?: Buffer): void => {
      if (status === null) callback(null, response);
      else callback(status);
      const code = status?.code ?? grpc.status.OK;
      logger.debug('rpc', {
        method,
        code: grpc.status[code],
        ms: Math.round((performance.now() - startedAt) * 10) / 10,
        ...(call.cancelled ? { cancelled: true } : {}),
      });
    };
    if (handler === undefined) {
      // The exact text grpc-js uses for unregistered methods: sdk-core matches on it (wire contract §1.1).
      done({ code: grpc.status.UNIMPLEMENTED, details: `The server does not implement the method ${path}` });
      return;
    }
    const decoded = call.request;
    if (!decoded.ok) {
      done({ code: grpc.status.INVALID_ARGUMENT, details: decoded.error });
      return;
    }
    const controller = new LazyAbort();
    const deadlineMs = deadlineToMs(call.getDeadline());
    // grpc-js reports a passed deadline as a cancellation too; say which it was. Its deadline timer may
    // fire a few milliseconds before the clock reads the deadline (timer rounding, a busy event loop).
    const onCancelled = (): void =>
      controller.abort(
        new Error(deadlineMs !== undefined && Date.now() >= deadlineMs - DEADLINE_SLACK_MS ? 'call deadline exceeded' : 'call cancelled by the client'),
      );
    call.once('cancelled', onCancelled);
    openCalls.unary.add(controller);
    const context: CallContext = {
      // Handlers compare deadlines with the server clock, which may be ahead of the wall clock.
      deadlineMs: deadlineMs === undefined ? undefined : deadlineMs + (clock.now() - Date.now()),
      get signal() {
        return controller.signal;
      },
      metadata: textMetadata(call.metadata),
      peer: call.getPeer(),
    };
    // Through a promise executor so that a handler that throws synchronously is answered too.
    new Promise<object>((resolve) => resolve(handler(decoded.message, context)))
      .then((result) => done(null, encodeMessage(responseType, result)))
      .catch((err: unknown) => done(errorToStatus(err, path, logger)))
      .finally(() => {
        call.off('cancelled', onCancelled);
        openCalls.unary.delete(controller);
      });
  };
}

type StatusAnswer = { code: grpc.status; details: string; metadata?: grpc.Metadata };

function errorToStatus(err: unknown, path: string, logger: Logger): StatusAnswer {
  if (err instanceof ServiceError) {
    if (err.code === GrpcCode.INTERNAL || err.code === GrpcCode.UNKNOWN) {
      logger.error('internal error in handler', { path, error: err.message, cause: err.cause, stack: err.stack });
    }
    const answer: StatusAnswer = { code: err.code, details: err.message };
    if (err.details !== undefined) {
      answer.metadata = new grpc.Metadata();
      answer.metadata.set('grpc-status-details-bin', encodeStatusDetails(err.code, err.message, err.details));
    }
    return answer;
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
function addHealthService(server: grpc.Server, logger: Logger, openCalls: OpenCalls, clock: Clock, served: ReadonlySet<string>): void {
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
  const watch: grpc.handleServerStreamingCall<DecodedRequest, Buffer> = (call) => {
    if (!call.request.ok) {
      call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: call.request.error });
      return;
    }
    // The status never changes while the process lives, so one message and then an open stream.
    call.write(encodeMessage(response, { status: servingStatus(call.request.message) }));
    openCalls.watches.add(call);
    call.once('cancelled', () => openCalls.watches.delete(call));
  };
  server.addService(
    {
      Check: methodDefinition(`/${HEALTH_SERVICE}/Check`, request, false),
      Watch: methodDefinition(`/${HEALTH_SERVICE}/Watch`, request, true),
    },
    { Check: unaryCall(`/${HEALTH_SERVICE}/Check`, response, check, logger, openCalls, clock), Watch: watch },
  );
}

function requestedService(message: unknown): string {
  if (typeof message !== 'object' || message === null || !('service' in message)) return '';
  return typeof message.service === 'string' ? message.service : '';
}
