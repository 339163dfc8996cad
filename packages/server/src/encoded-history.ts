// History events as they are stored: each one is already an encoded HistoryEvent, so an answer that
// carries events (GetWorkflowExecutionHistory, a workflow task) can put those bytes on the wire as they
// are instead of decoding every event into an object only to encode it again. The gRPC encoder writes
// them straight into the `history` field; anyone else reading `events` (the HTTP API's JSON, tests)
// gets the decoded events, decoded once on first read.
import { HistoryEventCodec, type HistoryEvent } from './proto-types.js';

const ENCODED = Symbol('encoded history events');

/** A `temporal.api.history.v1.History` whose events are stored bytes; `events` decodes them on demand. */
export interface EncodedHistory {
  readonly events: HistoryEvent[];
  readonly [ENCODED]: readonly Uint8Array[];
}

/** `rows`: encoded HistoryEvents, in order; `extra`: events not stored (yet), appended after them. */
export function encodedHistory(rows: readonly Uint8Array[], extra: readonly HistoryEvent[] = []): EncodedHistory {
  const encoded = extra.length === 0 ? rows : [...rows, ...extra.map((e) => HistoryEventCodec.encode(e).finish())];
  let decoded: HistoryEvent[] | undefined;
  return Object.defineProperties({} as EncodedHistory, {
    [ENCODED]: { value: encoded, enumerable: false },
    events: {
      enumerable: true,
      get: () => (decoded ??= encoded.map((bytes) => HistoryEventCodec.decode(bytes))),
    },
  });
}

/** The stored bytes of `history`'s events, when it is an EncodedHistory. */
export function encodedEventsOf(history: unknown): readonly Uint8Array[] | undefined {
  if (typeof history !== 'object' || history === null || !(ENCODED in history)) return undefined;
  return (history as EncodedHistory)[ENCODED];
}

/**
 * The wire bytes of field `fieldId` holding a History of these events: the field's tag and length, then
 * each event as History's field 1 (repeated HistoryEvent events = 1), tag 0x0a, length, bytes.
 */
export function historyFieldBytes(fieldId: number, events: readonly Uint8Array[]): Buffer {
  let body = 0;
  for (const e of events) body += 1 + varintSize(e.length) + e.length;
  const tag = (fieldId << 3) | 2;
  const out = Buffer.allocUnsafe(varintSize(tag) + varintSize(body) + body);
  let at = writeVarint(out, 0, tag);
  at = writeVarint(out, at, body);
  for (const e of events) {
    out[at++] = 0x0a;
    at = writeVarint(out, at, e.length);
    out.set(e, at);
    at += e.length;
  }
  return out;
}

/** The wire bytes of length-delimited field `fieldId` holding `body` (an encoded message). */
export function messageFieldBytes(fieldId: number, body: Uint8Array): Buffer {
  const tag = (fieldId << 3) | 2;
  const out = Buffer.allocUnsafe(varintSize(tag) + varintSize(body.length) + body.length);
  const at = writeVarint(out, writeVarint(out, 0, tag), body.length);
  out.set(body, at);
  return out;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(out: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}
