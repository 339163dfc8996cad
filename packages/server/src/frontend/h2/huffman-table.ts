// The Huffman code of HPACK (RFC 7541 Appendix B), and the decoding tables built from it on first use.
//
// The code is canonical: sorted by (length, symbol), each code is the previous one plus one, shifted
// left by the difference in length. The 257 code lengths below (symbols 0..255 and EOS = 256) are
// therefore the whole code; `HUFFMAN_CODES` rebuilds the bit patterns of Appendix B from them.

/** The end-of-string symbol: never valid inside a string; its leading bits are the padding. */
export const HUFFMAN_EOS = 256;

/** Code length in bits of each symbol, RFC 7541 Appendix B. */
export const HUFFMAN_CODE_LENGTHS: Readonly<Uint8Array> = Uint8Array.of(
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, // 0x00-0x0f
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, // 0x10-0x1f
   6, 10, 10, 12, 13,  6,  8, 11, 10, 10,  8, 11,  8,  6,  6,  6, // 0x20-0x2f
   5,  5,  5,  6,  6,  6,  6,  6,  6,  6,  7,  8, 15,  6, 12, 10, // 0x30-0x3f
  13,  6,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7, // 0x40-0x4f
   7,  7,  7,  7,  7,  7,  7,  7,  8,  7,  8, 13, 19, 13, 14,  6, // 0x50-0x5f
  15,  5,  6,  5,  6,  5,  6,  6,  6,  5,  7,  7,  6,  6,  6,  5, // 0x60-0x6f
   6,  7,  6,  5,  5,  6,  7,  7,  7,  7,  7, 15, 11, 14, 13, 28, // 0x70-0x7f
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 0x80-0x8f
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 0x90-0x9f
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 0xa0-0xaf
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 0xb0-0xbf
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 0xc0-0xcf
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 0xd0-0xdf
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 0xe0-0xef
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 0xf0-0xff
  30, // EOS
);

/** The code of each symbol, right-aligned in `HUFFMAN_CODE_LENGTHS[symbol]` bits. */
export const HUFFMAN_CODES: Readonly<Uint32Array> = canonicalCodes(HUFFMAN_CODE_LENGTHS);

function canonicalCodes(lengths: Readonly<Uint8Array>): Uint32Array {
  const symbols = Array.from(lengths.keys()).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const codes = new Uint32Array(lengths.length);
  let code = 0;
  let previousLength = lengths[symbols[0]!]!;
  for (const symbol of symbols) {
    const length = lengths[symbol]!;
    code *= 2 ** (length - previousLength);
    codes[symbol] = code;
    code += 1;
    previousLength = length;
  }
  return codes;
}

// The decoder is a state machine that consumes one input byte per step (RFC 7541 §5.2 strings are
// byte-aligned, so the only partial byte is the last one, which holds the padding).
//
// A state is an internal node of the code tree: the bits read since the last complete symbol. The
// tree has 257 leaves and therefore 256 internal nodes, numbered from 0 (the root, "nothing pending").
// Walking 8 bits from a node completes at most two symbols (the shortest code is 5 bits, so one
// needs at least 1 + 5 bits and a third would need 11), and ends at another node. Each transition is
// packed in a uint32:
//
//   bits 0-7    the node after the byte
//   bits 8-15   the first symbol completed, if any
//   bits 16-23  the second symbol completed, if any
//   bits 24-25  how many symbols were completed (0, 1 or 2)
//   bit 26      EOS was completed: the string is malformed (§5.2)
//
// A string may end only in a node that lies on the all-ones path at depth 7 or less: its pending bits
// are then a valid padding, the most significant bits of EOS and shorter than a byte (§5.2).
export const HUFFMAN_EMIT_SHIFT = 24;
export const HUFFMAN_FAILED = 1 << 26;

/** The decoder's tables: `transitions[node << 8 | byte]` (see above), and 1 for the nodes in which a string may end. */
export interface HuffmanDecoderTables {
  readonly transitions: Readonly<Uint32Array>;
  readonly accepting: Readonly<Uint8Array>;
}

let decoderTables: HuffmanDecoderTables | undefined;

/**
 * The decoder's tables, built on first use (a few milliseconds): every CLI command loads this module,
 * and only a server reading HTTP/2 headers needs them.
 */
export function huffmanDecoderTables(): HuffmanDecoderTables {
  if (decoderTables === undefined) {
    const transitions = new Uint32Array(256 * 256);
    const accepting = new Uint8Array(256);
    buildDecoder(transitions, accepting);
    decoderTables = { transitions, accepting };
  }
  return decoderTables;
}

function buildDecoder(transitions: Uint32Array, accepting: Uint8Array): void {
  // children[node * 2 + bit]: an internal node (>= 0) or a leaf, ~symbol (< 0).
  const children = new Int32Array(256 * 2);
  let nodes = 1;
  for (let symbol = 0; symbol <= HUFFMAN_EOS; symbol++) {
    const length = HUFFMAN_CODE_LENGTHS[symbol]!;
    const code = HUFFMAN_CODES[symbol]!;
    let node = 0;
    for (let i = length - 1; i > 0; i--) {
      const slot = node * 2 + ((code >>> i) & 1);
      if (children[slot] === 0) children[slot] = nodes++;
      node = children[slot]!;
    }
    children[node * 2 + (code & 1)] = ~symbol;
  }

  for (let state = 0; state < 256; state++) {
    for (let byte = 0; byte < 256; byte++) {
      let node = state;
      let emitted = 0;
      let symbols = 0;
      let failed = 0;
      for (let i = 7; i >= 0; i--) {
        const child = children[node * 2 + ((byte >>> i) & 1)]!;
        if (child >= 0) {
          node = child;
          continue;
        }
        const symbol = ~child;
        if (symbol === HUFFMAN_EOS) failed = HUFFMAN_FAILED;
        else symbols |= symbol << (8 + 8 * emitted++);
        node = 0;
      }
      transitions[(state << 8) | byte] = node | symbols | (emitted << HUFFMAN_EMIT_SHIFT) | failed;
    }
  }

  let node = 0;
  for (let depth = 0; depth <= 7; depth++) {
    accepting[node] = 1;
    node = children[node * 2 + 1]!;
  }
}
