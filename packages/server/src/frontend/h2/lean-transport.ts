// Puts the lean HTTP/2 connection (connection.ts) in front of the HTTP/2 servers grpc-js creates.
//
// Each accepted socket (after TLS, when there is TLS) is read until its first request's headers. When
// that request is a unary call of `routes`, the whole connection is served by H2Connection and
// lean-unary.ts; otherwise (a health Watch, the cluster's peer service, HTTP/1, anything unreadable)
// the bytes read so far are put back and the socket is handed to grpc-js's node:http2 session, as if
// nothing had looked at it. A connection that makes no call for SNIFF_TIMEOUT_MS is handed over too. Design and measurements: docs/adr/0009-lean-http2.md.
import type net from 'node:net';
import tls from 'node:tls';
import type { UnaryServe } from '../fast-unary.js';
import { H2Connection } from './connection.js';
import { CLIENT_PREFACE, FRAME_HEADER_BYTES, FrameFlag, FrameType, settingsFrame } from './frames.js';
import { HpackDecoder } from './hpack.js';
import { leanUnaryHandler } from './lean-unary.js';

const SNIFF_MAX_BYTES = 64 << 10;
const SNIFF_TIMEOUT_MS = 30_000;

type SocketListener = (socket: net.Socket) => void;
type CreateHttp2Server = (credentials: unknown) => net.Server;

/** The lean connections open now, so that the server's shutdown can close them. */
export class LeanConnections {
  private readonly open = new Set<H2Connection>();

  add(connection: H2Connection): void {
    this.open.add(connection);
    connection.socket.once('close', () => this.open.delete(connection));
  }

  /** GOAWAY to each: no new calls; each closes when its calls are answered. */
  shutdown(): void {
    for (const connection of this.open) connection.shutdown();
  }

  destroy(): void {
    for (const connection of this.open) connection.destroy();
    this.open.clear();
  }

  get size(): number {
    return this.open.size;
  }
}

/**
 * Serves connections whose first call is one of `routes` with the lean transport, on every HTTP/2
 * server `server` creates from now on. False when this grpc-js has no `createHttp2Server` to wrap.
 */
export function installLeanTransport(server: object, routes: ReadonlyMap<string, UnaryServe>, maxReceiveBytes: number, connections: LeanConnections): boolean {
  const target = server as { createHttp2Server?: CreateHttp2Server };
  const create = target.createHttp2Server;
  if (typeof create !== 'function') return false;
  target.createHttp2Server = function createHttp2Server(this: unknown, credentials: unknown) {
    const http2Server = create.call(this, credentials);
    // A TLS server's http2 session starts on 'secureConnection'; a plain one's on 'connection'.
    const event = http2Server instanceof tls.Server ? 'secureConnection' : 'connection';
    const grpcListeners = http2Server.listeners(event) as SocketListener[];
    http2Server.removeAllListeners(event);
    const handOver = (socket: net.Socket): void => {
      for (const listener of grpcListeners) listener.call(http2Server, socket);
    };
    http2Server.on(event, (socket: net.Socket) => {
      socket.setNoDelay(true); // see installFastUnary: this replaces the 'connection' listener that does it
      if (socket instanceof tls.TLSSocket && socket.alpnProtocol !== 'h2') {
        handOver(socket);
        return;
      }
      sniff(socket, routes, handOver, (taken, bytes) => {
        const peer = peerOf(taken);
        const connection = new H2Connection(taken, leanUnaryHandler(routes, maxReceiveBytes, () => peer));
        connections.add(connection);
        connection.receive(bytes);
      });
    });
    return http2Server;
  };
  return true;
}

function peerOf(socket: net.Socket): string {
  if (!socket.remoteAddress) return 'unknown';
  return socket.remotePort ? `${socket.remoteAddress}:${socket.remotePort}` : socket.remoteAddress;
}

/**
 * Reads until the first request's path is known and the client has acknowledged our (empty) SETTINGS,
 * then calls `lean` or `handOver` with everything read. gRPC clients wait for the server's SETTINGS
 * before their first request, so an empty SETTINGS frame goes out at once: it changes nothing the
 * node:http2 session would announce, and its ACK is taken out of what that session is handed.
 */
function sniff(socket: net.Socket, routes: ReadonlyMap<string, UnaryServe>, handOver: SocketListener, lean: (socket: net.Socket, bytes: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let bytes = 0;
  let settled = false;
  const settle = (start: ConnectionStart | undefined): void => {
    settled = true;
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('close', onClose);
    const read = Buffer.concat(chunks, bytes);
    if (typeof start?.path === 'string' && routes.has(start.path)) {
      lean(socket, read);
      return;
    }
    socket.pause();
    const rest = start === undefined || start.ackAt < 0 ? read : Buffer.concat([read.subarray(0, start.ackAt), read.subarray(start.ackAt + FRAME_HEADER_BYTES)]);
    if (rest.length > 0) socket.unshift(rest);
    handOver(socket);
  };
  const onData = (chunk: Buffer): void => {
    chunks.push(chunk);
    bytes += chunk.length;
    const start = readConnectionStart(chunks.length === 1 ? chunk : Buffer.concat(chunks, bytes));
    // A lean connection never needs the ACK; one handed over must not pass it on.
    if (start.path === null || (start.path !== undefined && (start.ackAt >= 0 || routes.has(start.path)))) settle(start);
    else if (bytes >= SNIFF_MAX_BYTES) settle(undefined);
  };
  const onClose = (): void => {
    settled = true;
    clearTimeout(timer);
  };
  // A connection with no call for this long is handed to node:http2 (its ACK, if any, taken out).
  const timer = setTimeout(() => {
    if (!settled) settle(readConnectionStart(Buffer.concat(chunks, bytes)));
  }, SNIFF_TIMEOUT_MS);
  socket.on('data', onData);
  socket.once('close', onClose);
  socket.write(EMPTY_SETTINGS);
}

const EMPTY_SETTINGS = settingsFrame([]);

interface ConnectionStart {
  /**
   * The `:path` of the first request: undefined while more bytes are needed, null when the bytes are
   * not an HTTP/2 connection start this transport can read.
   */
  readonly path: string | null | undefined;
  /** Where the client's first SETTINGS ACK frame starts in the bytes; -1 before it came. */
  readonly ackAt: number;
}

/** What a client sent so far says about its connection: its first request's path and its ACK. */
export function readConnectionStart(data: Buffer): ConnectionStart {
  const preface = Math.min(data.length, CLIENT_PREFACE.length);
  if (!data.subarray(0, preface).equals(CLIENT_PREFACE.subarray(0, preface))) return { path: null, ackAt: -1 };
  let offset = CLIENT_PREFACE.length;
  let ackAt = -1;
  let path: string | null | undefined;
  const fragments: Buffer[] = [];
  while (data.length - offset >= FRAME_HEADER_BYTES && (path === undefined || ackAt < 0)) {
    const length = (data[offset]! << 16) | (data[offset + 1]! << 8) | data[offset + 2]!;
    if (data.length - offset < FRAME_HEADER_BYTES + length) break;
    const type = data[offset + 3]!;
    const flags = data[offset + 4]!;
    let payload = data.subarray(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + length);
    const at = offset;
    offset += FRAME_HEADER_BYTES + length;
    if (type === FrameType.Settings && (flags & FrameFlag.Ack) !== 0) {
      if (ackAt < 0) ackAt = at;
      continue;
    }
    if (path !== undefined) continue;
    if (type === FrameType.Headers) {
      if ((flags & FrameFlag.Padded) !== 0) {
        const pad = payload[0] ?? 0;
        payload = payload.subarray(1, Math.max(1, payload.length - pad));
      }
      if ((flags & FrameFlag.Priority) !== 0) payload = payload.subarray(5);
    } else if (type !== FrameType.Continuation) {
      continue;
    }
    fragments.push(payload);
    if ((flags & FrameFlag.EndHeaders) === 0) continue;
    path = null;
    try {
      const fields = new HpackDecoder().decode(Buffer.concat(fragments));
      for (let i = 0; i < fields.length; i += 2) if (fields[i] === ':path') path = fields[i + 1]!;
    } catch {
      // Unreadable headers: let node:http2 answer them.
    }
  }
  return { path, ackAt };
}
