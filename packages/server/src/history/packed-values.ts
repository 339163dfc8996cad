// A small binary form for the packed run state (state-codec.ts): the values a packed state is made of,
// and nothing else. Each value is one tag byte and its payload:
//
//   0 undefined   1 null   2 false   3 true
//   4 integer in [-2^31, 2^31): zigzag varint      5 any other number: float64, little-endian
//   6 string: varint byte length, UTF-8             7 bytes (Uint8Array): varint length, the bytes
//   8 array: varint count, then each element
//
// It exists because `v8.serialize` costs about 17 µs for a 250-byte state on the 2-core benchmark
// machine (the serializer object, a JS callback per Uint8Array), and the state is encoded in every
// transition and decoded on every load (docs/performance.md). A value of any other kind (a plain
// object, a bigint) is refused with UnpackableValueError, and the caller keeps the v8 form for that state.

const UNDEFINED = 0;
const NULL = 1;
const FALSE = 2;
const TRUE = 3;
const INT = 4;
const FLOAT = 5;
const STRING = 6;
const BYTES = 7;
const ARRAY = 8;

export class UnpackableValueError extends Error {}

/** A value of the packed state: what `encodePacked` writes and `decodePacked` gives back. */
export type PackedValue = undefined | null | boolean | number | string | Uint8Array | readonly PackedValue[];

let scratch = Buffer.allocUnsafeSlow(64 * 1024);
let at = 0;

function room(bytes: number): void {
  if (at + bytes <= scratch.length) return;
  const bigger = Buffer.allocUnsafeSlow(Math.max(scratch.length * 2, at + bytes));
  scratch.copy(bigger, 0, 0, at);
  scratch = bigger;
}

function writeVarint(n: number): void {
  // n is a non-negative integer below 2^32 here.
  while (n >= 0x80) {
    scratch[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  scratch[at++] = n;
}

function writeString(s: string): void {
  // ASCII (ids, type and queue names, almost every string of a state) is copied by hand: shorter than
  // a call into Buffer.write for strings this size. Anything else goes through Buffer.write.
  const n = s.length;
  room(n * 3 + 6);
  let ascii = true;
  for (let i = 0; i < n; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    writeVarint(n);
    for (let i = 0; i < n; i++) scratch[at++] = s.charCodeAt(i);
    return;
  }
  const length = Buffer.byteLength(s, 'utf8');
  writeVarint(length);
  at += scratch.write(s, at, length, 'utf8');
}

function writeValue(value: unknown): void {
  room(10);
  if (value === undefined) scratch[at++] = UNDEFINED;
  else if (value === null) scratch[at++] = NULL;
  else if (value === false) scratch[at++] = FALSE;
  else if (value === true) scratch[at++] = TRUE;
  else if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff && !Object.is(value, -0)) {
      scratch[at++] = INT;
      writeVarint(((value << 1) ^ (value >> 31)) >>> 0);
    } else {
      scratch[at++] = FLOAT;
      scratch.writeDoubleLE(value, at);
      at += 8;
    }
  } else if (typeof value === 'string') {
    scratch[at++] = STRING;
    writeString(value);
  } else if (value instanceof Uint8Array) {
    scratch[at++] = BYTES;
    writeVarint(value.length);
    room(value.length);
    scratch.set(value, at);
    at += value.length;
  } else if (Array.isArray(value)) {
    scratch[at++] = ARRAY;
    writeVarint(value.length);
    for (let i = 0; i < value.length; i++) writeValue(value[i]);
  } else {
    throw new UnpackableValueError(`a packed state cannot hold ${typeof value === 'object' ? 'an object' : `a ${typeof value}`}`);
  }
}

/** Encodes `value` after `prefix` (a format byte) into a buffer of exactly that size, not from a shared pool. */
export function encodePacked(prefix: number, value: PackedValue): Buffer {
  at = 0;
  scratch[at++] = prefix;
  writeValue(value);
  const bytes = Buffer.allocUnsafeSlow(at);
  scratch.copy(bytes, 0, 0, at);
  return bytes;
}

class Reader {
  private pos: number;

  constructor(
    private readonly bytes: Buffer,
    start: number,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos === this.bytes.length;
  }

  private varint(): number {
    let n = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return n;
      shift += 7;
      if (shift > 28) throw new RangeError('packed state: varint too long');
    }
  }

  private byte(): number {
    const b = this.bytes[this.pos++];
    if (b === undefined) throw new RangeError('packed state: truncated');
    return b;
  }

  private end(length: number): number {
    const end = this.pos + length;
    if (end > this.bytes.length) throw new RangeError('packed state: truncated');
    return end;
  }

  value(): PackedValue {
    const tag = this.byte();
    switch (tag) {
      case UNDEFINED:
        return undefined;
      case NULL:
        return null;
      case FALSE:
        return false;
      case TRUE:
        return true;
      case INT: {
        const z = this.varint();
        return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      }
      case FLOAT: {
        const end = this.end(8);
        const n = this.bytes.readDoubleLE(this.pos);
        this.pos = end;
        return n;
      }
      case STRING: {
        const end = this.end(this.varint());
        const s = this.bytes.toString('utf8', this.pos, end);
        this.pos = end;
        return s;
      }
      case BYTES: {
        const end = this.end(this.varint());
        // A copy: a view would keep the whole encoded state alive for as long as this field lives.
        const bytes = new Uint8Array(end - this.pos);
        bytes.set(this.bytes.subarray(this.pos, end));
        this.pos = end;
        return bytes;
      }
      case ARRAY: {
        const count = this.varint();
        const items: PackedValue[] = new Array<PackedValue>(count);
        for (let i = 0; i < count; i++) items[i] = this.value();
        return items;
      }
      default:
        throw new RangeError(`packed state: unknown tag ${tag}`);
    }
  }
}

/** Decodes what `encodePacked` wrote, from offset `start` (after the format byte) to the end of `bytes`. */
export function decodePacked(bytes: Uint8Array, start: number): PackedValue {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const reader = new Reader(buffer, start);
  const value = reader.value();
  if (!reader.done) throw new RangeError('packed state: bytes after the value');
  return value;
}
