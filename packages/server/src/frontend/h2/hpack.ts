// HPACK (RFC 7541): the header compression of HTTP/2, for the server's own HTTP/2 transport.
//
// The decoder runs once per request on the hot path. It keeps the peer's dynamic table in a ring of
// preallocated slots (no shifting, no per-insert allocation), decodes Huffman strings with a
// byte-at-a-time state machine (huffman-table.ts) into a shared scratch buffer, and hands back the
// fields as one flat array of strings. Header bytes map 1:1 to string characters (latin1), as in
// node:http2; gRPC's binary headers are base64 and its text headers ASCII.
//
// The encoder is stateless: it never adds to a dynamic table, so the peer's decoder table stays empty
// and the server never needs to track the size the peer allows. Responses are a handful of short
// fields, most of them in the static table, so this costs a few bytes per response and no state.
import {
  HUFFMAN_CODE_LENGTHS,
  HUFFMAN_CODES,
  HUFFMAN_EMIT_SHIFT,
  HUFFMAN_FAILED,
  huffmanDecoderTables,
} from './huffman-table.js';

/** A malformed header block: an HTTP/2 COMPRESSION_ERROR (0x9), fatal to the connection (RFC 9113 §4.3). */
export class HpackError extends Error {
  override name = 'HpackError';
}

// RFC 7541 Appendix A. Slot 0 is unused: indices start at 1.
const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  ['', ''],
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];
const STATIC_COUNT = STATIC_TABLE.length - 1;
const STATIC_NAMES = STATIC_TABLE.map(([name]) => name);
const STATIC_VALUES = STATIC_TABLE.map(([, value]) => value);

/** Each entry costs its name and value octets plus 32 (RFC 7541 §4.1). */
const ENTRY_OVERHEAD = 32;

/** Integers are limited to 4 continuation bytes (up to 2^28 past the prefix): no index, length or size needs more. */
const MAX_INTEGER_SHIFT = 21;

/**
 * Decodes the header blocks of one connection, in order (the dynamic table is shared by all of them).
 * After an HpackError the table is in an unknown state: the connection must end.
 */
export class HpackDecoder {
  // The dynamic table (RFC 7541 §2.3.2) is a ring: `next` is the slot the next entry goes to, the
  // newest entry (dynamic index 1, absolute index 62) sits just before it, older ones further back.
  // An entry costs at least 32 octets, so the ring never needs more slots than maxTableSize / 32.
  private readonly names: string[];
  private readonly values: string[];
  private readonly slots: number;
  private next = 0;
  private count = 0;
  private size = 0;
  /** The table's current maximum size, as the peer's last size update set it (at most maxTableSize). */
  private capacity: number;
  /** Where the integer or string just read ended. */
  private pos = 0;

  /** `maxTableSize` is the SETTINGS_HEADER_TABLE_SIZE this endpoint advertises (4096 by default). */
  constructor(private readonly maxTableSize = 4096) {
    this.capacity = maxTableSize;
    this.slots = Math.max(1, Math.floor(maxTableSize / ENTRY_OVERHEAD));
    this.names = new Array<string>(this.slots).fill('');
    this.values = new Array<string>(this.slots).fill('');
  }

  /** The fields of one complete header block (HEADERS plus any CONTINUATION): [name0, value0, ...]. */
  decode(block: Buffer): string[] {
    const fields: string[] = [];
    const end = block.length;
    let pos = 0;
    while (pos < end) {
      const first = block[pos]!;
      if (first >= 0x80) {
        // Indexed field (§6.1): 1xxxxxxx.
        let index = first & 0x7f;
        if (index === 0x7f) {
          index = this.readInteger(block, pos, 0x7f);
          pos = this.pos;
        } else {
          pos++;
        }
        if (index <= STATIC_COUNT) {
          if (index === 0) throw new HpackError('indexed field with index 0');
          fields.push(STATIC_NAMES[index]!, STATIC_VALUES[index]!);
        } else {
          const slot = this.slotOf(index);
          fields.push(this.names[slot]!, this.values[slot]!);
        }
        continue;
      }
      if (first >= 0x20 && first < 0x40) {
        // Dynamic table size update (§6.3): 001xxxxx, only before the first field of a block (§4.2).
        if (fields.length !== 0) throw new HpackError('dynamic table size update after a field');
        const size = this.readInteger(block, pos, 0x1f);
        pos = this.pos;
        if (size > this.maxTableSize) {
          throw new HpackError(`dynamic table size update to ${size} above the limit ${this.maxTableSize}`);
        }
        this.capacity = size;
        this.evictTo(size);
        continue;
      }
      // Literal field (§6.2): 01xxxxxx with incremental indexing, 0000xxxx without indexing,
      // 0001xxxx never indexed. The prefix holds the name's index, or 0 when a literal name follows.
      const indexing = first >= 0x40;
      const mask = indexing ? 0x3f : 0x0f;
      let name: string;
      if ((first & mask) === 0) {
        name = this.readString(block, pos + 1);
      } else {
        const index = this.readInteger(block, pos, mask);
        name = index <= STATIC_COUNT ? STATIC_NAMES[index]! : this.names[this.slotOf(index)]!;
      }
      const value = this.readString(block, this.pos);
      pos = this.pos;
      if (indexing) this.insert(name, value);
      fields.push(name, value);
    }
    return fields;
  }

  /** The ring slot of absolute index `index` (> 61). */
  private slotOf(index: number): number {
    const dynamicIndex = index - STATIC_COUNT;
    if (dynamicIndex > this.count) {
      throw new HpackError(`index ${index} beyond the tables (${STATIC_COUNT} static + ${this.count} dynamic)`);
    }
    const slot = this.next - dynamicIndex;
    return slot < 0 ? slot + this.slots : slot;
  }

  private insert(name: string, value: string): void {
    const entrySize = name.length + value.length + ENTRY_OVERHEAD;
    // An entry larger than the table empties it and is not added (§4.4).
    if (entrySize > this.capacity) {
      this.evictTo(0);
      return;
    }
    this.evictTo(this.capacity - entrySize);
    this.names[this.next] = name;
    this.values[this.next] = value;
    this.next = this.next + 1 === this.slots ? 0 : this.next + 1;
    this.count++;
    this.size += entrySize;
  }

  /** Drops the oldest entries until the table holds at most `size` octets (§4.3). */
  private evictTo(size: number): void {
    while (this.size > size) {
      let oldest = this.next - this.count;
      if (oldest < 0) oldest += this.slots;
      this.size -= this.names[oldest]!.length + this.values[oldest]!.length + ENTRY_OVERHEAD;
      this.names[oldest] = '';
      this.values[oldest] = '';
      this.count--;
    }
  }

  /**
   * An integer with an N-bit prefix (§5.1) starting at `pos` (which must be in the block); `mask` is
   * 2^N - 1. Sets `this.pos` past it.
   */
  private readInteger(block: Buffer, pos: number, mask: number): number {
    let value = block[pos]! & mask;
    pos++;
    if (value === mask) {
      for (let shift = 0; ; shift += 7) {
        if (pos >= block.length) throw new HpackError('truncated integer');
        if (shift > MAX_INTEGER_SHIFT) throw new HpackError('integer too large');
        const byte = block[pos++]!;
        value += (byte & 0x7f) << shift;
        if (byte < 0x80) break;
      }
    }
    this.pos = pos;
    return value;
  }

  /** A string literal (§5.2) starting at `pos`. Sets `this.pos` past it. */
  private readString(block: Buffer, pos: number): string {
    if (pos >= block.length) throw new HpackError('truncated string literal');
    const huffman = block[pos]! >= 0x80;
    const length = this.readInteger(block, pos, 0x7f);
    const start = this.pos;
    const end = start + length;
    if (end > block.length) throw new HpackError(`string literal of ${length} octets beyond the block`);
    this.pos = end;
    return huffman ? huffmanDecode(block, start, end) : block.toString('latin1', start, end);
  }
}

// Huffman output goes to one scratch buffer shared by every decoder (decoding is synchronous), grown
// when a string needs more: the shortest code is 5 bits, so n octets hold at most 8n/5 symbols.
let huffmanScratch = Buffer.allocUnsafe(1024);

function huffmanDecode(block: Buffer, start: number, end: number): string {
  const maxLength = Math.ceil(((end - start) * 8) / 5);
  if (maxLength > huffmanScratch.length) huffmanScratch = Buffer.allocUnsafe(Math.max(maxLength, huffmanScratch.length * 2));
  const out = huffmanScratch;
  const { transitions, accepting } = huffmanDecoderTables();
  let state = 0;
  let length = 0;
  for (let i = start; i < end; i++) {
    const transition = transitions[(state << 8) | block[i]!]!;
    if ((transition & HUFFMAN_FAILED) !== 0) throw new HpackError('EOS symbol inside a Huffman string');
    const emitted = transition >>> HUFFMAN_EMIT_SHIFT;
    if (emitted !== 0) {
      out[length++] = transition >>> 8;
      if (emitted === 2) out[length++] = transition >>> 16;
    }
    state = transition & 0xff;
  }
  if (accepting[state] === 0) throw new HpackError('Huffman padding longer than 7 bits or not all ones');
  return out.toString('latin1', 0, length);
}

/** The Huffman encoding (§5.2) of a latin1 string, padded with the most significant bits of EOS. */
export function huffmanEncode(s: string): Buffer {
  let bits = 0;
  for (let i = 0; i < s.length; i++) bits += HUFFMAN_CODE_LENGTHS[s.charCodeAt(i) & 0xff]!;
  const out = Buffer.allocUnsafe((bits + 7) >>> 3);
  // `pending` holds the fewer than 8 bits not yet written. A code of up to 24 bits is added whole (the
  // sum stays within 31 bits); a longer one first gives its leading bits.
  let pending = 0;
  let pendingBits = 0;
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    const symbol = s.charCodeAt(i) & 0xff;
    let length = HUFFMAN_CODE_LENGTHS[symbol]!;
    let code = HUFFMAN_CODES[symbol]!;
    if (length > 24) {
      pending = (pending << (length - 24)) | (code >>> 24);
      pendingBits += length - 24;
      while (pendingBits >= 8) out[o++] = pending >>> (pendingBits -= 8);
      pending &= (1 << pendingBits) - 1;
      code &= 0xffffff;
      length = 24;
    }
    pending = (pending << length) | code;
    pendingBits += length;
    while (pendingBits >= 8) out[o++] = pending >>> (pendingBits -= 8);
    pending &= (1 << pendingBits) - 1;
  }
  if (pendingBits > 0) out[o] = (pending << (8 - pendingBits)) | (0xff >>> pendingBits);
  return out;
}

// For the encoder: each static name's first index, and the index of each static (name, value) pair.
const STATIC_NAME_INDEX = new Map<string, number>();
const STATIC_FIELD_INDEX = new Map<string, Map<string, number>>();
for (let index = STATIC_COUNT; index >= 1; index--) {
  const [name, value] = STATIC_TABLE[index]!;
  STATIC_NAME_INDEX.set(name, index);
  let byValue = STATIC_FIELD_INDEX.get(name);
  if (byValue === undefined) STATIC_FIELD_INDEX.set(name, (byValue = new Map()));
  byValue.set(value, index);
}

/**
 * One header block for `fields`, without touching any dynamic table: a static (name, value) pair is
 * indexed, every other field is a literal without indexing (§6.2.2), its name indexed when static.
 * Names must already be lower case; names and values are written as latin1, without Huffman coding.
 */
export function encodeHeaderBlock(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  // Per field: a first octet, and at most 6 more for each string length (or a name index).
  let bound = 0;
  for (const [name, value] of fields) bound += name.length + value.length + 13;
  const out = Buffer.allocUnsafe(bound);
  let pos = 0;
  for (const [name, value] of fields) {
    const nameIndex = STATIC_NAME_INDEX.get(name);
    if (nameIndex === undefined) {
      out[pos++] = 0x00;
      pos = writeString(out, pos, name);
    } else {
      const fieldIndex = STATIC_FIELD_INDEX.get(name)!.get(value);
      if (fieldIndex !== undefined) {
        out[pos++] = 0x80 | fieldIndex;
        continue;
      }
      pos = writeInteger(out, pos, 0x00, 0x0f, nameIndex);
    }
    pos = writeString(out, pos, value);
  }
  return out.subarray(0, pos);
}

/** Writes `value` with the prefix `mask` (2^N - 1) into a first byte that starts as `flags`. */
function writeInteger(out: Buffer, pos: number, flags: number, mask: number, value: number): number {
  if (value < mask) {
    out[pos++] = flags | value;
    return pos;
  }
  out[pos++] = flags | mask;
  value -= mask;
  while (value >= 0x80) {
    out[pos++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  out[pos++] = value;
  return pos;
}

function writeString(out: Buffer, pos: number, s: string): number {
  pos = writeInteger(out, pos, 0x00, 0x7f, s.length);
  if (s.length > 16) return pos + out.write(s, pos, 'latin1');
  for (let i = 0; i < s.length; i++) out[pos++] = s.charCodeAt(i);
  return pos;
}
