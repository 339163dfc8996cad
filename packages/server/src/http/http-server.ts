// The HTTP front door on the UI port: Temporal's HTTP API (`/api/v1/...`, proto3 JSON) answered by the
// very handlers the gRPC server runs, plus the built Web UI as static files. Like the gRPC frontend it
// holds no business state: it decodes, calls a handler, and encodes the answer or the error.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GrpcCode, ServiceError } from '../errors.js';
import type { Logger } from '../logger.js';
import { OPERATOR_SERVICE, WORKFLOW_SERVICE, type CallContext, type ServiceHandlers } from '../frontend/grpc-server.js';
import { jsonToMessage, JsonShapeError, messageToJson, type JsonOptions } from './proto-json.js';
import { buildRoutes, matchRoute, pathKnown, type RouteMatch } from './routes.js';
import { serveStatic } from './static-files.js';

export interface HttpFrontendOptions {
  readonly workflowService: ServiceHandlers;
  readonly operatorService: ServiceHandlers;
  readonly logger: Logger;
  /** Serve the Web UI from this directory (undefined: the API only, as on `--http-port`). */
  readonly uiDirectory: string | undefined;
  readonly serveUi: boolean;
}

export interface HttpFrontend {
  /** `host:port` it listens on. */
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/** The longest an HTTP call may run; history long polls answer before it (as with a gRPC deadline). */
const CALL_DEADLINE_MS = 60_000;
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const API_PREFIX = '/api/v1/';

// grpc-gateway's mapping of gRPC status codes to HTTP statuses, which Temporal's HTTP API uses.
const HTTP_STATUS: Readonly<Record<number, number>> = {
  [GrpcCode.CANCELLED]: 499,
  [GrpcCode.UNKNOWN]: 500,
  [GrpcCode.INVALID_ARGUMENT]: 400,
  [GrpcCode.DEADLINE_EXCEEDED]: 504,
  [GrpcCode.NOT_FOUND]: 404,
  [GrpcCode.ALREADY_EXISTS]: 409,
  [GrpcCode.PERMISSION_DENIED]: 403,
  [GrpcCode.RESOURCE_EXHAUSTED]: 429,
  [GrpcCode.FAILED_PRECONDITION]: 400,
  [GrpcCode.ABORTED]: 409,
  [GrpcCode.OUT_OF_RANGE]: 400,
  [GrpcCode.UNIMPLEMENTED]: 501,
  [GrpcCode.INTERNAL]: 500,
  [GrpcCode.UNAVAILABLE]: 503,
};

export async function startHttpFrontend(options: HttpFrontendOptions, host: string, port: number): Promise<HttpFrontend> {
  const services: Record<string, ServiceHandlers> = {
    [WORKFLOW_SERVICE]: options.workflowService,
    [OPERATOR_SERVICE]: options.operatorService,
  };
  const routes = buildRoutes(Object.keys(services));
  const log = options.logger.child({ component: 'http' });
  const open = new Set<AbortController>();

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const done = url.pathname.startsWith(API_PREFIX)
      ? handleApi(req, res, url)
      : options.serveUi
        ? serveStatic(options.uiDirectory, req, res, url.pathname)
        : Promise.resolve(void sendError(res, 404, GrpcCode.NOT_FOUND, `no such path: ${url.pathname}`));
    done.catch((err: unknown) => {
      log.error('http request failed', { path: url.pathname, error: err instanceof Error ? err.message : String(err) });
      if (!res.headersSent) sendError(res, 500, GrpcCode.INTERNAL, 'internal error');
      else res.destroy();
    });
  });

  async function handleApi(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const match = matchRoute(routes, req.method ?? 'GET', url.pathname);
    if (match === undefined) {
      if (pathKnown(routes, url.pathname)) return sendError(res, 405, GrpcCode.UNIMPLEMENTED, `${req.method ?? ''} is not allowed on ${url.pathname}`);
      return sendError(res, 404, GrpcCode.NOT_FOUND, `no API method at ${url.pathname}`);
    }
    const handler = services[match.route.service]?.[match.route.method];
    if (handler === undefined) return sendError(res, 501, GrpcCode.UNIMPLEMENTED, `${match.route.method} is not implemented`);
    const inOptions = jsonOptions(req.headers['content-type']);
    const outOptions = jsonOptions(req.headers['accept']);
    const startedAt = performance.now();
    const controller = new AbortController();
    // The client went away before the answer: let long polls and waits stop early.
    const onClose = (): void => {
      if (!res.writableFinished) controller.abort(new Error('call cancelled by the client'));
    };
    res.once('close', onClose);
    open.add(controller);
    let code: number = GrpcCode.OK;
    try {
      const request = jsonToMessage(match.route.requestType, await requestJson(req, url, match), inOptions);
      const call: CallContext = {
        deadlineMs: Date.now() + CALL_DEADLINE_MS,
        signal: controller.signal,
        metadata: textHeaders(req),
        peer: `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? 0}`,
      };
      const result = await handler(request, call);
      const message = match.route.responseType.fromObject(result);
      sendJson(res, 200, messageToJson(match.route.responseType, message, outOptions), wantsPretty(req));
    } catch (err) {
      code = errorCode(err);
      if (code === GrpcCode.INTERNAL || code === GrpcCode.UNKNOWN) {
        log.error('internal error in handler', { method: match.route.method, error: err instanceof Error ? err.message : String(err), stack: err instanceof Error ? err.stack : undefined });
      }
      sendError(res, HTTP_STATUS[code] ?? 500, code, err instanceof Error ? err.message : String(err));
    } finally {
      res.off('close', onClose);
      open.delete(controller);
      log.debug('http', { method: match.route.method, code, ms: Math.round((performance.now() - startedAt) * 10) / 10 });
    }
  }

  const boundPort = await new Promise<number>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new Error(err.code === 'EADDRINUSE' ? `port ${port} on ${host} is already in use (pass --ui-port or --headless)` : `cannot listen on ${host}:${port}: ${err.message}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    address: `${shownHost}:${boundPort}`,
    port: boundPort,
    async close() {
      for (const controller of open) controller.abort(new Error('server shutting down'));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function jsonOptions(mediaType: string | undefined): JsonOptions {
  return { payloadShorthand: !(mediaType ?? '').includes('no-payload-shorthand') };
}

function wantsPretty(req: IncomingMessage): boolean {
  return (req.headers['accept'] ?? '').includes('+pretty');
}

function errorCode(err: unknown): number {
  if (err instanceof ServiceError) return err.code;
  if (err instanceof JsonShapeError || err instanceof SyntaxError) return GrpcCode.INVALID_ARGUMENT;
  // protobufjs fromObject reports a wrong type (e.g. an object for a string) as a TypeError.
  if (err instanceof TypeError && /expected|invalid/i.test(err.message)) return GrpcCode.INVALID_ARGUMENT;
  return GrpcCode.INTERNAL;
}

/** The request as JSON: the body (for `body: "*"` routes) or the query string, then the path variables. */
async function requestJson(req: IncomingMessage, url: URL, match: RouteMatch): Promise<Record<string, unknown>> {
  let json: Record<string, unknown> = {};
  if (match.route.body === '*') {
    const text = await readBody(req);
    if (text.trim() !== '') {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new JsonShapeError('request body: expected a JSON object');
      json = parsed as Record<string, unknown>;
    }
  } else {
    for (const [key, value] of url.searchParams) setPath(json, key.split('.'), value, true);
  }
  for (const [path, value] of match.params) setPath(json, [...path], value, false);
  return json;
}

function setPath(target: Record<string, unknown>, path: string[], value: string, collect: boolean): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next === 'object' && next !== null && !Array.isArray(next)) node = next as Record<string, unknown>;
    else node = node[key] = {};
  }
  const last = path[path.length - 1] ?? '';
  const existing = node[last];
  // A repeated query parameter (`?status=a&status=b`) becomes a list.
  if (collect && existing !== undefined) node[last] = Array.isArray(existing) ? [...(existing as unknown[]), value] : [existing, value];
  else node[last] = value;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new ServiceError(GrpcCode.RESOURCE_EXHAUSTED, `request body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(buffer);
  }
  const bytes = Buffer.concat(chunks);
  // Like the gRPC frontend, refuse invalid UTF-8 rather than let it turn silently into U+FFFD.
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  try {
    return text.decode(bytes);
  } catch {
    throw new JsonShapeError('request body is not valid UTF-8');
  }
}

function textHeaders(req: IncomingMessage): ReadonlyMap<string, string> {
  const map = new Map<string, string>();
  for (const [key, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') map.set(key, value);
  }
  return map;
}

function sendJson(res: ServerResponse, status: number, body: unknown, pretty: boolean): void {
  const text = pretty ? JSON.stringify(body, null, 2) : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(text);
}

/** The error body grpc-gateway writes: a google.rpc.Status in JSON. */
function sendError(res: ServerResponse, status: number, code: number, message: string): void {
  if (res.headersSent || res.destroyed) return;
  sendJson(res, status, { code, message, details: [] }, false);
}
