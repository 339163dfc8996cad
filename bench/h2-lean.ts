/**
 * Unary gRPC calls over one TCP connection, with the server's own HTTP/2 framing and HPACK code
 * (packages/server/src/frontend/h2) instead of node:http2: `--raw-transport lean` of the protocol-level
 * bench workers (bench/raw-calls.ts).
 *
 * The server's lean transport cut its CPU per workflow by 27–43 % (docs/performance.md); node:http2's
 * client is about a quarter of the raw worker thread's busy time. On a 2-core machine the load
 * generator shares the cores with the server, so what it spends shows in the server's tail latency.
 *
 * One call is one stream: a HEADERS frame (a cached header block per path and timeout), the request's
 * DATA within the peer's flow-control windows, then the answer's HEADERS, DATA and trailers. Frames
 * written in one turn of the event loop go to the socket in one write. What a load generator needs
 * and no more: no TLS, no compression, no retries, no keepalive pings of its own.
 */
import net from 'node:net';
import {
  CLIENT_PREFACE, DEFAULT_MAX_FRAME_BYTES, DEFAULT_WINDOW_BYTES, FRAME_HEADER_BYTES, FrameFlag, FrameType, H2Code, H2ConnectionError,
  pingAckFrame, readFrames, readPeerSettings, rstStreamFrame, Setting, SETTINGS_ACK, settingsFrame, unpad, windowUpdateFrame,
  writeFrameHeader,
} from '../packages/server/src/frontend/h2/frames.js';
import { encodeHeaderBlock, HpackDecoder, HpackError } from '../packages/server/src/frontend/h2/hpack.js';
import { frameMessage, GrpcCallError, GrpcCode, unframeMessage } from './h2-unary.js';

/** What one answer may hold before the server must wait for a WINDOW_UPDATE, and all answers together. */
const STREAM_RECEIVE_WINDOW = 4 << 20;
const CONNECTION_RECEIVE_WINDOW = 64 << 20;
const OUR_SETTINGS = settingsFrame([
  [Setting.EnablePush, 0],
  [Setting.InitialWindowSize, STREAM_RECEIVE_WINDOW],
]);
/** Stream ids are 31 bits and never reused: a connection that runs out is replaced. */
const LAST_STREAM_ID = 2 ** 31 - 1;
/** Header blocks by path and timeout; the raw workers use a handful of each. */
const HEADER_CACHE_LIMIT = 256;

interface Call {
  readonly id: number;
  readonly path: string;
  /** The framed request not yet sent (waiting for window), or undefined once all of it is out. */
  pending: Buffer | undefined;
  sendWindow: number;
  receivedUncredited: number;
  responded: boolean;
  status: number | undefined;
  details: string;
  readonly chunks: Buffer[];
  received: number;
  readonly timer: NodeJS.Timeout;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
  readonly resolve: (answer: Buffer) => void;
  readonly reject: (error: GrpcCallError) => void;
}

export class LeanH2Channel {
  private connection: LeanH2Connection | undefined;

  /** `address` is `host:port`; the connection opens on the first call and again after it ends. */
  constructor(private readonly address: string) {}

  /** Sends `request` (an encoded message) to `path` and resolves with the answer's encoded message. */
  unary(path: string, request: Uint8Array, deadlineMs: number, signal?: AbortSignal): Promise<Buffer> {
    if (signal?.aborted) return Promise.reject(new GrpcCallError(GrpcCode.CANCELLED, 'cancelled before it was sent', path));
    let connection = this.connection;
    if (connection === undefined || !connection.open) {
      connection = new LeanH2Connection(this.address);
      this.connection = connection;
    }
    return connection.unary(path, request, deadlineMs, signal);
  }

  close(): void {
    this.connection?.close();
    this.connection = undefined;
  }
}

class LeanH2Connection {
  private readonly socket: net.Socket;
  private readonly calls = new Map<number, Call>();
  private readonly decoder = new HpackDecoder();
  private readonly headerBlocks = new Map<string, Buffer>();
  private readonly authority: string;
  private nextStreamId = 1;
  private peerInitialWindow = DEFAULT_WINDOW_BYTES;
  private peerMaxFrame = DEFAULT_MAX_FRAME_BYTES;
  private sendWindow = DEFAULT_WINDOW_BYTES;
  private receivedUncredited = 0;
  private input: Buffer | undefined;
  /** A header block being continued: its stream, END_STREAM flag and fragments. */
  private continuing: { streamId: number; endStream: boolean; fragments: Buffer[] } | undefined;
  private readonly out: Buffer[] = [];
  private flushScheduled = false;
  /** Calls with request bytes waiting for window, in the order they blocked. */
  private readonly blocked = new Set<Call>();
  /** False once the peer sent GOAWAY, the socket ended, or stream ids ran out: new calls go elsewhere. */
  open = true;

  constructor(address: string) {
    const colon = address.lastIndexOf(':');
    const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
    this.authority = address;
    this.socket = net.connect({ host, port: Number(address.slice(colon + 1)), noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
    this.socket.on('error', (error) => this.lost(`connection failed: ${error.message}`));
    this.socket.on('close', () => this.lost('connection closed'));
    this.queue(Buffer.concat([CLIENT_PREFACE, OUR_SETTINGS, windowUpdateFrame(0, CONNECTION_RECEIVE_WINDOW - DEFAULT_WINDOW_BYTES)]));
  }

  unary(path: string, request: Uint8Array, deadlineMs: number, signal: AbortSignal | undefined): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const id = this.nextStreamId;
      this.nextStreamId += 2;
      if (this.nextStreamId > LAST_STREAM_ID) this.open = false;
      const timeout = Math.max(1, Math.ceil(deadlineMs));
      const call: Call = {
        id,
        path,
        pending: frameMessage(request),
        sendWindow: this.peerInitialWindow,
        receivedUncredited: 0,
        responded: false,
        status: undefined,
        details: '',
        chunks: [],
        received: 0,
        timer: setTimeout(() => this.cancel(call, GrpcCode.DEADLINE_EXCEEDED, `no answer within ${deadlineMs} ms`), timeout),
        signal,
        onAbort: () => this.cancel(call, GrpcCode.CANCELLED, 'cancelled'),
        resolve,
        reject,
      };
      signal?.addEventListener('abort', call.onAbort, { once: true });
      this.calls.set(id, call);
      this.queueHeaders(id, this.headerBlock(path, timeout));
      this.sendPending(call);
    });
  }

  close(): void {
    this.open = false;
    this.flush();
    this.socket.destroy();
  }

  private headerBlock(path: string, timeoutMs: number): Buffer {
    const key = `${timeoutMs} ${path}`;
    let block = this.headerBlocks.get(key);
    if (block === undefined) {
      block = encodeHeaderBlock([
        [':method', 'POST'],
        [':scheme', 'http'],
        [':path', path],
        [':authority', this.authority],
        ['content-type', 'application/grpc'],
        ['te', 'trailers'],
        ['grpc-timeout', `${timeoutMs}m`],
      ]);
      if (this.headerBlocks.size >= HEADER_CACHE_LIMIT) this.headerBlocks.clear();
      this.headerBlocks.set(key, block);
    }
    return block;
  }

  // ---- settling calls

  private settle(call: Call, error: GrpcCallError | undefined, answer?: Buffer): void {
    if (this.calls.get(call.id) !== call) return;
    this.calls.delete(call.id);
    this.blocked.delete(call);
    clearTimeout(call.timer);
    call.signal?.removeEventListener('abort', call.onAbort);
    if (error !== undefined) call.reject(error);
    else call.resolve(answer!);
    if (!this.open && this.calls.size === 0) this.socket.end();
  }

  /** Ends a call from this side (deadline or abort) and tells the server to stop working on it. */
  private cancel(call: Call, code: number, message: string): void {
    if (this.calls.get(call.id) !== call) return;
    this.queue(rstStreamFrame(call.id, H2Code.Cancel));
    this.settle(call, new GrpcCallError(code, message, call.path));
  }

  /** The answer is complete: its status decides between the message and an error. */
  private finish(call: Call): void {
    if (call.status === undefined) return this.settle(call, new GrpcCallError(GrpcCode.INTERNAL, 'answer ended without a gRPC status', call.path));
    if (call.status !== 0) return this.settle(call, new GrpcCallError(call.status, call.details, call.path));
    const body = call.chunks.length === 1 ? call.chunks[0]! : Buffer.concat(call.chunks, call.received);
    const message = unframeMessage(body);
    if (typeof message === 'string') this.settle(call, new GrpcCallError(GrpcCode.INTERNAL, message, call.path));
    else this.settle(call, undefined, message);
  }

  /** The connection is gone: every open call fails UNAVAILABLE, as a grpc-js channel's would. */
  private lost(reason: string): void {
    this.open = false;
    this.socket.destroy();
    for (const call of [...this.calls.values()]) this.settle(call, new GrpcCallError(GrpcCode.UNAVAILABLE, reason, call.path));
  }

  // ---- input

  private receive(chunk: Buffer): void {
    const data = this.input === undefined ? chunk : Buffer.concat([this.input, chunk]);
    this.input = undefined;
    try {
      const offset = readFrames(data, 0, DEFAULT_MAX_FRAME_BYTES, (type, flags, streamId, payload) => {
        this.frame(type, flags, streamId, payload);
        return !this.socket.destroyed;
      });
      if (offset < data.length && !this.socket.destroyed) this.input = data.subarray(offset);
    } catch (error) {
      this.lost(`protocol error: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private frame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.continuing !== undefined && type !== FrameType.Continuation) throw new H2ConnectionError(H2Code.ProtocolError, 'header block interrupted');
    switch (type) {
      case FrameType.Data:
        return this.data(flags, streamId, payload);
      case FrameType.Headers:
        return this.headers(flags, streamId, payload);
      case FrameType.Continuation:
        return this.continuation(flags, streamId, payload);
      case FrameType.RstStream:
        return this.peerReset(streamId, payload);
      case FrameType.Settings:
        return this.settings(flags, payload);
      case FrameType.Ping:
        if ((flags & FrameFlag.Ack) === 0) this.queue(pingAckFrame(payload));
        return;
      case FrameType.WindowUpdate:
        return this.windowUpdate(streamId, payload);
      case FrameType.Goaway:
        return this.goaway(payload);
      default:
        return; // PRIORITY and unknown types are ignored (RFC 9113 §5.5)
    }
  }

  private data(flags: number, streamId: number, payload: Buffer): void {
    this.receivedUncredited += payload.length;
    if (this.receivedUncredited >= CONNECTION_RECEIVE_WINDOW / 2) {
      this.queue(windowUpdateFrame(0, this.receivedUncredited));
      this.receivedUncredited = 0;
    }
    const call = this.calls.get(streamId);
    if (call === undefined) return; // cancelled here; its RST_STREAM is on the way
    const body = (flags & FrameFlag.Padded) !== 0 ? unpad(payload) : payload;
    if (body.length > 0) {
      call.chunks.push(body);
      call.received += body.length;
    }
    const endStream = (flags & FrameFlag.EndStream) !== 0;
    call.receivedUncredited += payload.length;
    if (!endStream && call.receivedUncredited >= STREAM_RECEIVE_WINDOW / 2) {
      this.queue(windowUpdateFrame(streamId, call.receivedUncredited));
      call.receivedUncredited = 0;
    }
    if (endStream) this.finish(call);
  }

  private headers(flags: number, streamId: number, payload: Buffer): void {
    let block = (flags & FrameFlag.Padded) !== 0 ? unpad(payload) : payload;
    if ((flags & FrameFlag.Priority) !== 0) block = block.subarray(5);
    const endStream = (flags & FrameFlag.EndStream) !== 0;
    if ((flags & FrameFlag.EndHeaders) === 0) this.continuing = { streamId, endStream, fragments: [block] };
    else this.headerBlockReceived(streamId, endStream, block);
  }

  private continuation(flags: number, streamId: number, payload: Buffer): void {
    const continuing = this.continuing;
    if (continuing === undefined || continuing.streamId !== streamId) throw new H2ConnectionError(H2Code.ProtocolError, 'unexpected CONTINUATION');
    continuing.fragments.push(payload);
    if ((flags & FrameFlag.EndHeaders) === 0) return;
    this.continuing = undefined;
    this.headerBlockReceived(streamId, continuing.endStream, Buffer.concat(continuing.fragments));
  }

  /** The answer's headers (with the status too when it is trailers-only), or its trailers. */
  private headerBlockReceived(streamId: number, endStream: boolean, block: Buffer): void {
    let fields: string[];
    try {
      fields = this.decoder.decode(block); // always: the decoder's table follows every block
    } catch (error) {
      if (error instanceof HpackError) throw new H2ConnectionError(H2Code.CompressionError, error.message);
      throw error;
    }
    const call = this.calls.get(streamId);
    if (call === undefined) return;
    for (let i = 0; i < fields.length; i += 2) {
      const name = fields[i]!;
      const value = fields[i + 1]!;
      if (name === ':status' && value !== '200' && !call.responded) {
        this.queue(rstStreamFrame(streamId, H2Code.Cancel));
        return this.settle(call, new GrpcCallError(GrpcCode.UNKNOWN, `HTTP status ${value}`, call.path));
      }
      if (name === 'grpc-status') call.status = Number(value);
      else if (name === 'grpc-message') call.details = decodeMessage(value);
    }
    call.responded = true;
    if (endStream) this.finish(call);
  }

  private peerReset(streamId: number, payload: Buffer): void {
    const call = this.calls.get(streamId);
    if (call === undefined || payload.length !== 4) return;
    const code = payload.readUInt32BE(0);
    // REFUSED_STREAM: the server did no work on it (RFC 9113 §8.7), so the call may be sent again.
    const status = code === H2Code.RefusedStream ? GrpcCode.UNAVAILABLE : code === H2Code.Cancel ? GrpcCode.CANCELLED : GrpcCode.INTERNAL;
    this.settle(call, new GrpcCallError(status, `stream reset by the server (HTTP/2 code ${code})`, call.path));
  }

  private settings(flags: number, payload: Buffer): void {
    if ((flags & FrameFlag.Ack) !== 0) return;
    const { initialWindow, maxFrame } = readPeerSettings(payload);
    if (initialWindow !== undefined) {
      const delta = initialWindow - this.peerInitialWindow;
      this.peerInitialWindow = initialWindow;
      for (const call of this.calls.values()) call.sendWindow += delta;
    }
    if (maxFrame !== undefined) this.peerMaxFrame = maxFrame;
    this.queue(SETTINGS_ACK);
    this.resumeBlocked();
  }

  private windowUpdate(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) throw new H2ConnectionError(H2Code.FrameSizeError, 'WINDOW_UPDATE size');
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (streamId === 0) this.sendWindow += increment;
    else {
      const call = this.calls.get(streamId);
      if (call === undefined) return;
      call.sendWindow += increment;
    }
    this.resumeBlocked();
  }

  /** Calls the server will not process (above its last stream id) fail UNAVAILABLE; the rest finish. */
  private goaway(payload: Buffer): void {
    this.open = false;
    const lastStreamId = payload.length >= 4 ? payload.readUInt32BE(0) & 0x7fffffff : 0;
    for (const call of [...this.calls.values()]) {
      if (call.id > lastStreamId) this.settle(call, new GrpcCallError(GrpcCode.UNAVAILABLE, 'the server is going away', call.path));
    }
    if (this.calls.size === 0) this.socket.end();
  }

  // ---- output

  /** One HEADERS frame when the block fits the peer's frame size, else HEADERS and CONTINUATION frames. */
  private queueHeaders(streamId: number, block: Buffer): void {
    const max = this.peerMaxFrame;
    for (let offset = 0, first = true; first || offset < block.length; first = false) {
      const length = Math.min(max, block.length - offset);
      const last = offset + length >= block.length;
      const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
      writeFrameHeader(out, 0, length, first ? FrameType.Headers : FrameType.Continuation, last ? FrameFlag.EndHeaders : 0, streamId);
      block.copy(out, FRAME_HEADER_BYTES, offset, offset + length);
      this.queue(out);
      offset += length;
    }
  }

  /** Sends as much of the call's request as both windows allow; the last frame ends the stream. */
  private sendPending(call: Call): void {
    let pending = call.pending;
    while (pending !== undefined) {
      const length = Math.min(pending.length, this.peerMaxFrame, call.sendWindow, this.sendWindow);
      if (length <= 0 && pending.length > 0) {
        this.blocked.add(call);
        break;
      }
      const last = length === pending.length;
      const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
      writeFrameHeader(out, 0, length, FrameType.Data, last ? FrameFlag.EndStream : 0, call.id);
      pending.copy(out, FRAME_HEADER_BYTES, 0, length);
      this.queue(out);
      call.sendWindow -= length;
      this.sendWindow -= length;
      pending = last ? undefined : pending.subarray(length);
    }
    call.pending = pending;
    if (pending === undefined) this.blocked.delete(call);
  }

  private resumeBlocked(): void {
    for (const call of [...this.blocked]) {
      if (this.sendWindow <= 0) return;
      this.sendPending(call);
    }
  }

  private queue(buffer: Buffer): void {
    this.out.push(buffer);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const out = this.out;
    if (out.length === 0 || this.socket.destroyed) return;
    this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    out.length = 0;
  }
}

/** grpc-message is percent-encoded (gRPC over HTTP/2, "Responses"); a malformed one is shown as sent. */
function decodeMessage(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
