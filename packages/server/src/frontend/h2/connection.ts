// The server side of one HTTP/2 connection, in JavaScript, for gRPC's unary calls.
//
// Why not node:http2: per call it crosses into nghttp2 and back several times, builds a Duplex stream
// and header objects whose values are external strings, and those objects outlive enough scavenges to
// be promoted; docs/adr/0009-lean-http2.md has the measurements. This file keeps per call one stream
// record, the decoded header list and the body's chunks.
//
// States of a stream (RFC 9113 §5.1, the subset a server sees): open when its HEADERS arrive;
// half-closed (remote) once END_STREAM arrives; closed when our END_STREAM is written, when either side
// resets it, or when the connection ends. A closed stream leaves `streams`; frames for it that still
// arrive are counted for flow control and otherwise dropped.
//
// Flow control: what we receive is credited back in WINDOW_UPDATE frames once half a window is used;
// what we send waits for the peer's windows (the connection's and the stream's) and resumes on its
// WINDOW_UPDATE. Everything written in one turn of the event loop goes to the socket in one writev.
import type { Duplex } from 'node:stream';
import {
  CLIENT_PREFACE, DEFAULT_MAX_FRAME_BYTES, DEFAULT_WINDOW_BYTES, frame, FRAME_HEADER_BYTES, FrameFlag, FrameType, goawayFrame, H2Code,
  H2ConnectionError, MAX_WINDOW_BYTES, pingAckFrame, readFrames, readPeerSettings, rstStreamFrame, Setting, SETTINGS_ACK, settingsFrame, unpad,
  windowUpdateFrame, writeFrameHeader,
} from './frames.js';
import { HpackDecoder, HpackError } from './hpack.js';

/** What the connection asks of whoever serves its streams. */
export interface H2StreamHandler {
  /** A stream's request headers arrived (flat name, value list). */
  onStream(stream: H2Stream): void;
}

/** How much of a request the connection buffers before the peer must wait for a WINDOW_UPDATE. */
const STREAM_RECEIVE_WINDOW = 1 << 20;
const CONNECTION_RECEIVE_WINDOW = 16 << 20;
/** The largest header block (compressed, with its CONTINUATION frames) a peer may send. */
const MAX_HEADER_BLOCK_BYTES = 256 << 10;
const OUR_SETTINGS = settingsFrame([
  [Setting.EnablePush, 0],
  [Setting.InitialWindowSize, STREAM_RECEIVE_WINDOW],
  [Setting.MaxHeaderListSize, MAX_HEADER_BLOCK_BYTES],
]);

/** When to ping an idle client, and how long to wait for its answer (grpc-js's keepalive options). */
export interface H2Keepalive {
  readonly intervalMs: number;
  readonly timeoutMs: number;
}
const DEFAULT_KEEPALIVE: H2Keepalive = { intervalMs: 60_000, timeoutMs: 20_000 };
const KEEPALIVE_PING = frame(FrameType.Ping, 0, 0, Buffer.from('kairoska', 'latin1'));

/** One request stream. The handler sets the `on*` callbacks it wants when `onStream` is called. */
export class H2Stream {
  /** Called with each DATA payload (a view into the socket's chunk; copy it to keep it past the call). */
  ondata: ((chunk: Buffer) => void) | undefined;
  /** Called once the peer ended its side. */
  onend: (() => void) | undefined;
  /** Called once if the stream closes before we ended it: reset by the peer or the connection lost. */
  onabort: ((reason: 'reset' | 'connection') => void) | undefined;
  remoteEnded = false;
  localEnded = false;
  /** Bytes the peer still lets us send on this stream. */
  sendWindow: number;
  /** Bytes received and not yet credited back. */
  receivedUncredited = 0;
  /** Output waiting for the peer's windows: DATA not yet sent, then the trailer block. */
  pendingData: Buffer | undefined;
  pendingTrailers: Buffer | undefined;

  constructor(
    readonly connection: H2Connection,
    readonly id: number,
    readonly headers: string[],
  ) {
    this.sendWindow = connection.peerInitialWindow;
  }

  /** The value of a request header (the first, if repeated). */
  header(name: string): string | undefined {
    const headers = this.headers;
    for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1];
    return undefined;
  }

  get closed(): boolean {
    return this.localEnded || this.connection.streamIsGone(this);
  }

  /** Answers with one header block that ends the stream (gRPC's trailers-only answer). */
  respondOnly(headerBlock: Buffer): void {
    this.connection.writeHeaders(this, headerBlock, true);
    this.connection.ended(this);
  }

  /** Answers with headers, a body and a trailer block, waiting for flow-control windows as needed. */
  respond(headerBlock: Buffer, body: Buffer, trailerBlock: Buffer): void {
    this.connection.writeResponse(this, headerBlock, body, trailerBlock);
  }

  reset(code: H2Code): void {
    this.connection.resetStream(this, code);
  }
}

export class H2Connection {
  readonly streams = new Map<number, H2Stream>();
  /** The peer's SETTINGS_INITIAL_WINDOW_SIZE: each new stream's send window. */
  peerInitialWindow = DEFAULT_WINDOW_BYTES;
  private peerMaxFrame = DEFAULT_MAX_FRAME_BYTES;
  private sendWindow = DEFAULT_WINDOW_BYTES;
  private receivedUncredited = 0;
  private readonly decoder = new HpackDecoder();
  private input: Buffer | undefined;
  private prefaceSeen = false;
  private settingsSeen = false;
  private lastStreamId = 0;
  /** A header block being continued: its stream, flags and fragments. */
  private continuing: { streamId: number; endStream: boolean; fragments: Buffer[]; bytes: number } | undefined;
  private readonly out: Buffer[] = [];
  private flushScheduled = false;
  /** Streams waiting for a WINDOW_UPDATE, in the order they blocked. */
  private readonly blocked = new Set<H2Stream>();
  private goingAway = false;
  private closedConnection = false;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  /** Whether a keepalive PING is out and unanswered. */
  private pingOut = false;

  constructor(
    readonly socket: Duplex,
    private readonly handler: H2StreamHandler,
    private readonly keepalive: H2Keepalive = DEFAULT_KEEPALIVE,
  ) {
    this.queue(OUR_SETTINGS);
    this.queue(windowUpdateFrame(0, CONNECTION_RECEIVE_WINDOW - DEFAULT_WINDOW_BYTES));
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => undefined); // followed by 'close'
    socket.on('close', () => this.lost());
    this.armKeepalive(keepalive.intervalMs);
  }

  /**
   * Pings the client every `intervalMs`; a PING not answered within `timeoutMs` means the peer is gone
   * (a dead TCP peer sends no FIN), and the connection is closed so that its long polls end.
   */
  private armKeepalive(ms: number): void {
    this.keepaliveTimer = setTimeout(() => {
      if (this.closedConnection) return;
      if (this.pingOut) {
        this.destroy();
        return;
      }
      this.pingOut = true;
      this.queue(KEEPALIVE_PING);
      this.armKeepalive(this.keepalive.timeoutMs);
    }, ms);
    this.keepaliveTimer.unref();
  }

  get isClosed(): boolean {
    return this.closedConnection;
  }

  /** Tells the peer to open no more streams; closes the socket once the open ones are done. */
  shutdown(): void {
    if (this.goingAway || this.closedConnection) return;
    this.goingAway = true;
    this.queue(goawayFrame(this.lastStreamId, H2Code.NoError));
    this.closeIfIdle();
  }

  /** Closes the socket now; open streams are aborted. */
  destroy(): void {
    this.socket.destroy();
  }

  streamIsGone(stream: H2Stream): boolean {
    return this.streams.get(stream.id) !== stream;
  }

  // ---- input

  /** Reads bytes from the peer (the socket's, and any read before the connection was made). */
  receive(chunk: Buffer): void {
    const data = this.input === undefined ? chunk : Buffer.concat([this.input, chunk]);
    this.input = undefined;
    try {
      let offset = 0;
      if (!this.prefaceSeen) {
        if (data.length < CLIENT_PREFACE.length) {
          if (!CLIENT_PREFACE.subarray(0, data.length).equals(data)) throw new H2ConnectionError(H2Code.ProtocolError, 'bad client preface');
          this.input = data;
          return;
        }
        if (!CLIENT_PREFACE.equals(data.subarray(0, CLIENT_PREFACE.length))) throw new H2ConnectionError(H2Code.ProtocolError, 'bad client preface');
        this.prefaceSeen = true;
        offset = CLIENT_PREFACE.length;
      }
      offset = readFrames(data, offset, DEFAULT_MAX_FRAME_BYTES, (type, flags, streamId, payload) => {
        this.frame(type, flags, streamId, payload);
        return !this.closedConnection;
      });
      if (offset < data.length) this.input = data.subarray(offset);
    } catch (error) {
      this.fail(error);
    }
  }

  private frame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (!this.settingsSeen && type !== FrameType.Settings) throw new H2ConnectionError(H2Code.ProtocolError, 'first frame is not SETTINGS');
    if (this.continuing !== undefined && type !== FrameType.Continuation) throw new H2ConnectionError(H2Code.ProtocolError, 'header block interrupted');
    switch (type) {
      case FrameType.Data:
        return this.data(flags, streamId, payload);
      case FrameType.Headers:
        return this.headers(flags, streamId, payload);
      case FrameType.Continuation:
        return this.continuation(flags, streamId, payload);
      case FrameType.RstStream:
        if (payload.length !== 4) throw new H2ConnectionError(H2Code.FrameSizeError, 'RST_STREAM size');
        return this.peerReset(streamId);
      case FrameType.Settings:
        return this.settings(flags, streamId, payload);
      case FrameType.Ping:
        if (payload.length !== 8 || streamId !== 0) throw new H2ConnectionError(H2Code.FrameSizeError, 'PING size');
        if ((flags & FrameFlag.Ack) === 0) {
          this.queue(pingAckFrame(payload));
        } else if (this.pingOut && payload.equals(KEEPALIVE_PING.subarray(FRAME_HEADER_BYTES))) {
          this.pingOut = false;
          clearTimeout(this.keepaliveTimer);
          this.armKeepalive(this.keepalive.intervalMs);
        }
        return;
      case FrameType.WindowUpdate:
        return this.windowUpdate(streamId, payload);
      case FrameType.Goaway:
        this.goingAway = true;
        return this.closeIfIdle();
      case FrameType.PushPromise:
        throw new H2ConnectionError(H2Code.ProtocolError, 'PUSH_PROMISE from a client');
      default:
        return; // PRIORITY and unknown types are ignored (RFC 9113 §5.5)
    }
  }

  private data(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new H2ConnectionError(H2Code.ProtocolError, 'DATA on stream 0');
    this.receivedUncredited += payload.length;
    if (this.receivedUncredited >= CONNECTION_RECEIVE_WINDOW / 2) {
      this.queue(windowUpdateFrame(0, this.receivedUncredited));
      this.receivedUncredited = 0;
    }
    const stream = this.streams.get(streamId);
    if (stream === undefined || stream.remoteEnded) {
      if (streamId > this.lastStreamId) throw new H2ConnectionError(H2Code.ProtocolError, 'DATA on an idle stream');
      if (stream !== undefined) this.resetStream(stream, H2Code.StreamClosed);
      return;
    }
    let body = payload;
    if ((flags & FrameFlag.Padded) !== 0) body = unpad(payload);
    stream.receivedUncredited += payload.length;
    const endStream = (flags & FrameFlag.EndStream) !== 0;
    if (!endStream && stream.receivedUncredited >= STREAM_RECEIVE_WINDOW / 2) {
      this.queue(windowUpdateFrame(streamId, stream.receivedUncredited));
      stream.receivedUncredited = 0;
    }
    if (body.length > 0) stream.ondata?.(body);
    if (endStream) this.remoteEnd(stream);
  }

  private headers(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new H2ConnectionError(H2Code.ProtocolError, 'HEADERS on stream 0');
    let block = payload;
    if ((flags & FrameFlag.Padded) !== 0) block = unpad(block);
    if ((flags & FrameFlag.Priority) !== 0) {
      if (block.length < 5) throw new H2ConnectionError(H2Code.FrameSizeError, 'HEADERS priority');
      block = block.subarray(5);
    }
    const endStream = (flags & FrameFlag.EndStream) !== 0;
    if ((flags & FrameFlag.EndHeaders) === 0) {
      this.continuing = { streamId, endStream, fragments: [block], bytes: block.length };
      return;
    }
    this.headerBlock(streamId, endStream, block);
  }

  private continuation(flags: number, streamId: number, payload: Buffer): void {
    const continuing = this.continuing;
    if (continuing === undefined || continuing.streamId !== streamId) throw new H2ConnectionError(H2Code.ProtocolError, 'unexpected CONTINUATION');
    continuing.fragments.push(payload);
    continuing.bytes += payload.length;
    if (continuing.bytes > MAX_HEADER_BLOCK_BYTES) throw new H2ConnectionError(H2Code.EnhanceYourCalm, 'header block too large');
    if ((flags & FrameFlag.EndHeaders) === 0) return;
    this.continuing = undefined;
    this.headerBlock(streamId, continuing.endStream, Buffer.concat(continuing.fragments, continuing.bytes));
  }

  private headerBlock(streamId: number, endStream: boolean, block: Buffer): void {
    let fields: string[];
    try {
      fields = this.decoder.decode(block);
    } catch (error) {
      if (error instanceof HpackError) throw new H2ConnectionError(H2Code.CompressionError, error.message);
      throw error;
    }
    let listBytes = 0;
    for (let i = 0; i < fields.length; i++) listBytes += fields[i]!.length + 16; // 32 a field (RFC 9113 §6.5.2)
    if (listBytes > MAX_HEADER_BLOCK_BYTES) throw new H2ConnectionError(H2Code.EnhanceYourCalm, 'header list larger than SETTINGS_MAX_HEADER_LIST_SIZE');
    const existing = this.streams.get(streamId);
    if (existing !== undefined) {
      // Trailers from the client: gRPC sends none, but they must end the stream.
      if (!endStream || existing.remoteEnded) throw new H2ConnectionError(H2Code.ProtocolError, 'second header block without END_STREAM');
      this.remoteEnd(existing);
      return;
    }
    if (streamId % 2 === 0 || streamId <= this.lastStreamId) throw new H2ConnectionError(H2Code.ProtocolError, `HEADERS on closed stream ${streamId}`);
    this.lastStreamId = streamId;
    if (this.goingAway) {
      this.queue(rstStreamFrame(streamId, H2Code.RefusedStream));
      return;
    }
    const stream = new H2Stream(this, streamId, fields);
    this.streams.set(streamId, stream);
    this.handler.onStream(stream);
    if (endStream && this.streams.get(streamId) === stream) this.remoteEnd(stream);
  }

  private remoteEnd(stream: H2Stream): void {
    stream.remoteEnded = true;
    if (stream.localEnded) this.forget(stream);
    stream.onend?.();
  }

  private peerReset(streamId: number): void {
    if (streamId === 0) throw new H2ConnectionError(H2Code.ProtocolError, 'RST_STREAM on stream 0');
    const stream = this.streams.get(streamId);
    if (stream === undefined) return;
    this.forget(stream);
    const abort = stream.onabort;
    stream.onabort = undefined;
    abort?.('reset');
  }

  private settings(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new H2ConnectionError(H2Code.ProtocolError, 'SETTINGS on a stream');
    if ((flags & FrameFlag.Ack) !== 0) return;
    const { initialWindow, maxFrame } = readPeerSettings(payload);
    this.settingsSeen = true;
    if (initialWindow !== undefined) {
      const delta = initialWindow - this.peerInitialWindow;
      this.peerInitialWindow = initialWindow;
      for (const stream of this.streams.values()) stream.sendWindow += delta;
    }
    if (maxFrame !== undefined) this.peerMaxFrame = maxFrame;
    this.queue(SETTINGS_ACK);
    this.resumeBlocked();
  }

  private windowUpdate(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) throw new H2ConnectionError(H2Code.FrameSizeError, 'WINDOW_UPDATE size');
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (streamId === 0) {
      if (increment === 0) throw new H2ConnectionError(H2Code.ProtocolError, 'zero WINDOW_UPDATE');
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW_BYTES) throw new H2ConnectionError(H2Code.FlowControlError, 'connection window overflow');
    } else {
      const stream = this.streams.get(streamId);
      if (stream === undefined) return;
      stream.sendWindow += increment;
    }
    this.resumeBlocked();
  }

  // ---- output

  writeHeaders(stream: H2Stream, block: Buffer, endStream: boolean): void {
    if (stream.localEnded || this.streamIsGone(stream)) return;
    this.queueHeaders(stream.id, block, endStream);
  }

  writeResponse(stream: H2Stream, headerBlock: Buffer, body: Buffer, trailerBlock: Buffer): void {
    if (stream.localEnded || this.streamIsGone(stream)) return;
    const framedBytes = body.length + 5;
    if (framedBytes <= this.sendWindow && framedBytes <= stream.sendWindow && framedBytes <= this.peerMaxFrame && headerBlock.length <= this.peerMaxFrame && trailerBlock.length <= this.peerMaxFrame) {
      // The common case: headers, the one gRPC message and the trailers in one buffer.
      this.sendWindow -= framedBytes;
      stream.sendWindow -= framedBytes;
      const out = Buffer.allocUnsafe(3 * FRAME_HEADER_BYTES + headerBlock.length + framedBytes + trailerBlock.length);
      let at = 0;
      writeFrameHeader(out, at, headerBlock.length, FrameType.Headers, FrameFlag.EndHeaders, stream.id);
      at += FRAME_HEADER_BYTES + headerBlock.copy(out, at + FRAME_HEADER_BYTES);
      writeFrameHeader(out, at, framedBytes, FrameType.Data, 0, stream.id);
      at += FRAME_HEADER_BYTES;
      out[at] = 0;
      out.writeUInt32BE(body.length, at + 1);
      at += 5 + body.copy(out, at + 5);
      writeFrameHeader(out, at, trailerBlock.length, FrameType.Headers, FrameFlag.EndHeaders | FrameFlag.EndStream, stream.id);
      trailerBlock.copy(out, at + FRAME_HEADER_BYTES);
      this.queue(out);
      this.ended(stream);
      return;
    }
    this.queueHeaders(stream.id, headerBlock, false);
    const framed = Buffer.allocUnsafe(framedBytes);
    framed[0] = 0;
    framed.writeUInt32BE(body.length, 1);
    body.copy(framed, 5);
    stream.pendingData = framed;
    stream.pendingTrailers = trailerBlock;
    this.sendPending(stream);
  }

  resetStream(stream: H2Stream, code: H2Code): void {
    if (this.streamIsGone(stream)) return;
    stream.localEnded = true;
    this.forget(stream);
    this.queue(rstStreamFrame(stream.id, code));
  }

  /** Our side of the stream is written: the stream closes, and the peer is told to stop sending if it has not ended. */
  ended(stream: H2Stream): void {
    stream.localEnded = true;
    if (!stream.remoteEnded && !this.streamIsGone(stream)) this.queue(rstStreamFrame(stream.id, H2Code.NoError));
    this.forget(stream);
  }

  private queueHeaders(streamId: number, block: Buffer, endStream: boolean): void {
    const max = this.peerMaxFrame;
    const first = block.subarray(0, max);
    const flags = (endStream ? FrameFlag.EndStream : 0) | (block.length <= max ? FrameFlag.EndHeaders : 0);
    this.queue(frame(FrameType.Headers, flags, streamId, first));
    for (let at = max; at < block.length; at += max) {
      const part = block.subarray(at, at + max);
      this.queue(frame(FrameType.Continuation, at + max >= block.length ? FrameFlag.EndHeaders : 0, streamId, part));
    }
  }

  /** Sends as much of a stream's pending body as the windows allow, then its trailers. */
  private sendPending(stream: H2Stream): void {
    let data = stream.pendingData;
    while (data !== undefined && data.length > 0) {
      const size = Math.min(data.length, this.sendWindow, stream.sendWindow, this.peerMaxFrame);
      if (size <= 0) {
        stream.pendingData = data;
        this.blocked.add(stream);
        return;
      }
      this.queue(frame(FrameType.Data, 0, stream.id, data.subarray(0, size)));
      this.sendWindow -= size;
      stream.sendWindow -= size;
      data = data.subarray(size);
    }
    stream.pendingData = undefined;
    this.blocked.delete(stream);
    const trailers = stream.pendingTrailers;
    stream.pendingTrailers = undefined;
    if (trailers !== undefined) this.queueHeaders(stream.id, trailers, true);
    this.ended(stream);
  }

  private resumeBlocked(): void {
    if (this.blocked.size === 0) return;
    for (const stream of [...this.blocked]) {
      if (this.sendWindow <= 0) return;
      if (this.streamIsGone(stream)) {
        this.blocked.delete(stream);
        continue;
      }
      this.sendPending(stream);
    }
  }

  private forget(stream: H2Stream): void {
    if (this.streams.get(stream.id) === stream) this.streams.delete(stream.id);
    this.blocked.delete(stream);
    this.closeIfIdle();
  }

  private closeIfIdle(): void {
    if (this.goingAway && this.streams.size === 0 && !this.closedConnection) {
      this.flush();
      this.socket.end();
    }
  }

  private queue(buffer: Buffer): void {
    if (this.closedConnection) return;
    this.out.push(buffer);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const out = this.out;
    if (out.length === 0 || this.closedConnection) return;
    const socket = this.socket;
    if (out.length === 1) {
      socket.write(out[0]);
    } else {
      socket.cork();
      for (const buffer of out) socket.write(buffer);
      socket.uncork();
    }
    out.length = 0;
  }

  private fail(error: unknown): void {
    const code = error instanceof H2ConnectionError ? error.code : H2Code.InternalError;
    const message = error instanceof Error ? error.message : String(error);
    this.queue(goawayFrame(this.lastStreamId, code, message));
    this.flush();
    this.socket.end();
    this.lost();
  }

  /** The socket is gone (or going): every open stream is aborted. */
  private lost(): void {
    if (this.closedConnection) return;
    this.closedConnection = true;
    clearTimeout(this.keepaliveTimer);
    const open = [...this.streams.values()];
    this.streams.clear();
    this.blocked.clear();
    for (const stream of open) {
      const abort = stream.onabort;
      stream.onabort = undefined;
      abort?.('connection');
    }
  }
}
