// HTTP/2 frame layout and the few frames the server writes (RFC 9113 §4 and §6).
//
// Every frame starts with a 9-byte header: a 24-bit payload length, an 8-bit type, 8 bits of flags
// and a 31-bit stream id. The writers below return whole frames in one buffer so that the connection
// can queue them and hand them to the socket together at the end of the turn.

export const FRAME_HEADER_BYTES = 9;
export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FrameType = {
  Data: 0x0,
  Headers: 0x1,
  Priority: 0x2,
  RstStream: 0x3,
  Settings: 0x4,
  PushPromise: 0x5,
  Ping: 0x6,
  Goaway: 0x7,
  WindowUpdate: 0x8,
  Continuation: 0x9,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export const FrameFlag = {
  EndStream: 0x1,
  Ack: 0x1,
  EndHeaders: 0x4,
  Padded: 0x8,
  Priority: 0x20,
} as const;
export type FrameFlag = (typeof FrameFlag)[keyof typeof FrameFlag];

/** Error codes of RST_STREAM and GOAWAY (RFC 9113 §7). */
export const H2Code = {
  NoError: 0x0,
  ProtocolError: 0x1,
  InternalError: 0x2,
  FlowControlError: 0x3,
  StreamClosed: 0x5,
  FrameSizeError: 0x6,
  RefusedStream: 0x7,
  Cancel: 0x8,
  CompressionError: 0x9,
  EnhanceYourCalm: 0xb,
} as const;
export type H2Code = (typeof H2Code)[keyof typeof H2Code];

export const Setting = {
  HeaderTableSize: 0x1,
  EnablePush: 0x2,
  MaxConcurrentStreams: 0x3,
  InitialWindowSize: 0x4,
  MaxFrameSize: 0x5,
  MaxHeaderListSize: 0x6,
} as const;
export type Setting = (typeof Setting)[keyof typeof Setting];

/** The protocol's defaults, before any SETTINGS frame (RFC 9113 §6.5.2). */
export const DEFAULT_WINDOW_BYTES = 65_535;
export const DEFAULT_MAX_FRAME_BYTES = 16_384;
export const MAX_WINDOW_BYTES = 2 ** 31 - 1;

/** Writes a frame header at `offset` of `target`. */
export function writeFrameHeader(target: Buffer, offset: number, length: number, type: number, flags: number, streamId: number): void {
  target[offset] = (length >>> 16) & 0xff;
  target[offset + 1] = (length >>> 8) & 0xff;
  target[offset + 2] = length & 0xff;
  target[offset + 3] = type;
  target[offset + 4] = flags;
  target.writeUInt32BE(streamId, offset + 5);
}

export function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  writeFrameHeader(out, 0, payload.length, type, flags, streamId);
  payload.copy(out, FRAME_HEADER_BYTES);
  return out;
}

export function settingsFrame(settings: ReadonlyArray<readonly [Setting, number]>): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 6 * settings.length);
  writeFrameHeader(out, 0, 6 * settings.length, FrameType.Settings, 0, 0);
  settings.forEach(([id, value], i) => {
    out.writeUInt16BE(id, FRAME_HEADER_BYTES + 6 * i);
    out.writeUInt32BE(value, FRAME_HEADER_BYTES + 6 * i + 2);
  });
  return out;
}

export const SETTINGS_ACK = ((): Buffer => {
  const out = Buffer.alloc(FRAME_HEADER_BYTES);
  writeFrameHeader(out, 0, 0, FrameType.Settings, FrameFlag.Ack, 0);
  return out;
})();

export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4);
  writeFrameHeader(out, 0, 4, FrameType.WindowUpdate, 0, streamId);
  out.writeUInt32BE(increment, FRAME_HEADER_BYTES);
  return out;
}

export function rstStreamFrame(streamId: number, code: H2Code): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4);
  writeFrameHeader(out, 0, 4, FrameType.RstStream, 0, streamId);
  out.writeUInt32BE(code, FRAME_HEADER_BYTES);
  return out;
}

export function goawayFrame(lastStreamId: number, code: H2Code, debug = ''): Buffer {
  const text = Buffer.from(debug, 'utf8');
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 8 + text.length);
  writeFrameHeader(out, 0, 8 + text.length, FrameType.Goaway, 0, 0);
  out.writeUInt32BE(lastStreamId, FRAME_HEADER_BYTES);
  out.writeUInt32BE(code, FRAME_HEADER_BYTES + 4);
  text.copy(out, FRAME_HEADER_BYTES + 8);
  return out;
}

export function pingAckFrame(payload: Buffer): Buffer {
  return frame(FrameType.Ping, FrameFlag.Ack, 0, payload);
}

/**
 * Hands each whole frame of `data`, from `offset`, to `onFrame` until fewer bytes than a frame remain
 * or `onFrame` returns false; returns where it stopped (the start of an incomplete frame, or the end).
 * A frame longer than `maxFrameBytes` (the SETTINGS_MAX_FRAME_SIZE this endpoint advertised) is a
 * connection error.
 */
export function readFrames(
  data: Buffer,
  offset: number,
  maxFrameBytes: number,
  onFrame: (type: number, flags: number, streamId: number, payload: Buffer) => boolean,
): number {
  while (data.length - offset >= FRAME_HEADER_BYTES) {
    const length = (data[offset]! << 16) | (data[offset + 1]! << 8) | data[offset + 2]!;
    if (length > maxFrameBytes) throw new H2ConnectionError(H2Code.FrameSizeError, `frame of ${length} bytes`);
    if (data.length - offset < FRAME_HEADER_BYTES + length) break;
    const type = data[offset + 3]!;
    const flags = data[offset + 4]!;
    const streamId = data.readUInt32BE(offset + 5) & 0x7fffffff;
    const payload = data.subarray(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + length);
    offset += FRAME_HEADER_BYTES + length;
    if (!onFrame(type, flags, streamId, payload)) break;
  }
  return offset;
}

/** A PADDED frame's payload without its pad length byte and padding. */
export function unpad(payload: Buffer): Buffer {
  if (payload.length < 1) throw new H2ConnectionError(H2Code.FrameSizeError, 'padded frame without pad length');
  const pad = payload[0]!;
  if (pad >= payload.length) throw new H2ConnectionError(H2Code.ProtocolError, 'padding exceeds the frame');
  return payload.subarray(1, payload.length - pad);
}

/** What a SETTINGS frame changes for the side that sends to its peer; absent when it leaves it alone. */
export interface PeerSettings {
  /** SETTINGS_INITIAL_WINDOW_SIZE: each stream's send window starts here (open ones move by the change). */
  initialWindow?: number;
  /** SETTINGS_MAX_FRAME_SIZE: the largest frame payload the peer accepts. */
  maxFrame?: number;
}

/**
 * Reads a (non-ACK) SETTINGS payload; throws on a size or value RFC 9113 §6.5.2 forbids. HEADER_TABLE_SIZE
 * only bounds an encoder's dynamic table, which encodeHeaderBlock never uses; the rest concern the peer.
 */
export function readPeerSettings(payload: Buffer): PeerSettings {
  if (payload.length % 6 !== 0) throw new H2ConnectionError(H2Code.FrameSizeError, 'SETTINGS size');
  const settings: PeerSettings = {};
  for (let i = 0; i < payload.length; i += 6) {
    const id = payload.readUInt16BE(i);
    const value = payload.readUInt32BE(i + 2);
    if (id === Setting.InitialWindowSize) {
      if (value > MAX_WINDOW_BYTES) throw new H2ConnectionError(H2Code.FlowControlError, 'initial window too large');
      settings.initialWindow = value;
    } else if (id === Setting.MaxFrameSize) {
      if (value < DEFAULT_MAX_FRAME_BYTES || value > 16_777_215) throw new H2ConnectionError(H2Code.ProtocolError, 'bad max frame size');
      settings.maxFrame = value;
    }
  }
  return settings;
}

/** A connection-level protocol violation: the connection answers with GOAWAY and closes. */
export class H2ConnectionError extends Error {
  override readonly name = 'H2ConnectionError';
  constructor(
    readonly code: H2Code,
    message: string,
  ) {
    super(message);
  }
}
