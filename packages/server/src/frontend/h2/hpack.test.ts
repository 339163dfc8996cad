import fc from 'fast-check';
import http2 from 'node:http2';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { HpackDecoder, HpackError, encodeHeaderBlock, huffmanEncode } from './hpack.js';
import { HUFFMAN_CODE_LENGTHS, HUFFMAN_CODES } from './huffman-table.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const pairs = (flat: string[]): Array<[string, string]> =>
  Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i]!, flat[2 * i + 1]!]);
const latin1 = (codes: Iterable<number>): string => String.fromCharCode(...codes);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** The dynamic table, newest first, read back through indexed fields (an index past it throws). */
function dynamicTable(decoder: HpackDecoder): { entries: Array<[string, string]>; size: number } {
  const entries: Array<[string, string]> = [];
  for (let index = 62; index < 127; index++) {
    try {
      entries.push(pairs(decoder.decode(Buffer.of(0x80 | index)))[0]!);
    } catch (error) {
      expect(error).toBeInstanceOf(HpackError);
      break;
    }
  }
  return { entries, size: entries.reduce((sum, [name, value]) => sum + name.length + value.length + 32, 0) };
}

describe('Huffman code (RFC 7541 Appendix B)', () => {
  it('has the code lengths and canonical codes of Appendix B', () => {
    const symbolsOfLength = (bits: number) => range(0, 256).filter((symbol) => HUFFMAN_CODE_LENGTHS[symbol] === bits);
    expect(latin1(symbolsOfLength(5))).toBe('012aceiost');
    expect(symbolsOfLength(30)).toEqual([0x0a, 0x0d, 0x16, 256]);
    expect([HUFFMAN_CODE_LENGTHS[0], HUFFMAN_CODES[0]]).toEqual([13, 0x1ff8]);
    expect([HUFFMAN_CODE_LENGTHS[0x20], HUFFMAN_CODES[0x20]]).toEqual([6, 0x14]);
    expect([HUFFMAN_CODES[0x30], HUFFMAN_CODES[0x31], HUFFMAN_CODES[0x61]]).toEqual([0x0, 0x1, 0x3]);
    expect([HUFFMAN_CODE_LENGTHS[0xff], HUFFMAN_CODES[0xff]]).toEqual([26, 0x3ffffee]);
    expect(HUFFMAN_CODES[256]).toBe(0x3fffffff);
    // A complete prefix code: the Kraft sum is exactly 1.
    expect(range(0, 256).reduce((sum, symbol) => sum + 2 ** -HUFFMAN_CODE_LENGTHS[symbol]!, 0)).toBe(1);
  });

  it('round-trips every octet and random latin1 strings', () => {
    const decodeHuffman = (s: string): string => {
      const encoded = huffmanEncode(s);
      // A literal without indexing, literal name 'x', Huffman value.
      const block = Buffer.concat([Buffer.of(0x00, 0x01, 0x78), huffmanLength(encoded.length), encoded]);
      return new HpackDecoder().decode(block)[1]!;
    };
    for (let octet = 0; octet <= 255; octet++) expect(decodeHuffman(latin1([octet]))).toBe(latin1([octet]));
    expect(decodeHuffman(latin1(range(0, 255)))).toBe(latin1(range(0, 255)));
    expect(decodeHuffman('')).toBe('');
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 300 }), (codes) => {
        const s = latin1(codes);
        expect(decodeHuffman(s)).toBe(s);
      }),
    );
  });
});

/** The length prefix of a Huffman string literal (H bit set, 7-bit prefix integer). */
function huffmanLength(length: number): Buffer {
  if (length < 127) return Buffer.of(0x80 | length);
  const bytes = [0xff];
  for (let rest = length - 127; ; rest >>>= 7) {
    if (rest < 0x80) {
      bytes.push(rest);
      break;
    }
    bytes.push((rest & 0x7f) | 0x80);
  }
  return Buffer.from(bytes);
}

describe('RFC 7541 Appendix C examples', () => {
  it('C.2: field representations', () => {
    const decoder = new HpackDecoder();
    expect(decoder.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'))).toEqual([
      'custom-key',
      'custom-header',
    ]);
    expect(dynamicTable(decoder)).toEqual({ entries: [['custom-key', 'custom-header']], size: 55 });

    const others = new HpackDecoder();
    expect(others.decode(hex('040c 2f73 616d 706c 652f 7061 7468'))).toEqual([':path', '/sample/path']);
    expect(others.decode(hex('1008 7061 7373 776f 7264 0673 6563 7265 74'))).toEqual(['password', 'secret']);
    expect(others.decode(hex('82'))).toEqual([':method', 'GET']);
    expect(dynamicTable(others)).toEqual({ entries: [], size: 0 });
  });

  const requests = [
    [':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com'],
    [':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com', 'cache-control', 'no-cache'],
    [':method', 'GET', ':scheme', 'https', ':path', '/index.html', ':authority', 'www.example.com', 'custom-key', 'custom-value'],
  ];
  const requestTables = [
    { entries: [[':authority', 'www.example.com']], size: 57 },
    { entries: [['cache-control', 'no-cache'], [':authority', 'www.example.com']], size: 110 },
    {
      entries: [['custom-key', 'custom-value'], ['cache-control', 'no-cache'], [':authority', 'www.example.com']],
      size: 164,
    },
  ];

  it.each([
    ['C.3: requests without Huffman', ['8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d', '8286 84be 5808 6e6f 2d63 6163 6865',
      '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65']],
    ['C.4: requests with Huffman', ['8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', '8286 84be 5886 a8eb 1064 9cbf',
      '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf']],
  ])('%s', (_title, blocks) => {
    const decoder = new HpackDecoder();
    blocks.forEach((block, i) => {
      expect(decoder.decode(hex(block))).toEqual(requests[i]);
      expect(dynamicTable(decoder)).toEqual(requestTables[i]);
    });
  });

  const date1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
  const date2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
  const location = 'https://www.example.com';
  const cookie = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
  const responses = [
    [':status', '302', 'cache-control', 'private', 'date', date1, 'location', location],
    [':status', '307', 'cache-control', 'private', 'date', date1, 'location', location],
    [':status', '200', 'cache-control', 'private', 'date', date2, 'location', location, 'content-encoding', 'gzip', 'set-cookie', cookie],
  ];
  const responseTables = [
    { entries: [['location', location], ['date', date1], ['cache-control', 'private'], [':status', '302']], size: 222 },
    { entries: [[':status', '307'], ['location', location], ['date', date1], ['cache-control', 'private']], size: 222 },
    { entries: [['set-cookie', cookie], ['content-encoding', 'gzip'], ['date', date2]], size: 215 },
  ];

  it.each([
    ['C.5: responses without Huffman, 256-octet table', [
      `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32
       3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d`,
      '4803 3330 37c1 c0bf',
      `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970
       7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61
       6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31`]],
    ['C.6: responses with Huffman, 256-octet table', [
      `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad
       1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
      '4883 640e ffc1 c0bf',
      `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2
       e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07`]],
  ])('%s', (_title, blocks) => {
    const decoder = new HpackDecoder(256);
    blocks.forEach((block, i) => {
      expect(decoder.decode(hex(block))).toEqual(responses[i]);
      expect(dynamicTable(decoder)).toEqual(responseTables[i]);
    });
  });

  it('C.4 and C.6: huffmanEncode gives the examples’ Huffman strings', () => {
    expect(huffmanEncode('www.example.com')).toEqual(hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff'));
    expect(huffmanEncode('no-cache')).toEqual(hex('a8eb 1064 9cbf'));
    expect(huffmanEncode('custom-value')).toEqual(hex('25a8 49e9 5bb8 e8b4 bf'));
    expect(huffmanEncode('private')).toEqual(hex('aec3 771a 4b'));
    expect(huffmanEncode(cookie)).toEqual(
      hex('94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07'),
    );
  });
});

describe('malformed header blocks', () => {
  const malformed: Array<[string, string, RegExp, number?]> = [
    ['integer missing its continuation', '7f', /truncated integer/],
    ['truncated integer', 'ff 80 80', /truncated integer/],
    ['integer overflow', 'ff ff ff ff ff 0f', /integer too large/],
    ['overlong integer', 'ff 80 80 80 80 80 00', /integer too large/],
    ['index 0', '80', /index 0/],
    ['index beyond the static table', 'be', /index 62 beyond/],
    ['index beyond the dynamic table', '40 01 61 01 62 bf', /index 63 beyond/],
    ['literal name index beyond the tables', '7e 00', /index 62 beyond/],
    ['table size update above the limit', '3f e2 1f', /size update to 4097 above the limit 4096/],
    ['table size update above a smaller limit', '3f e2 01', /size update to 257 above the limit 256/, 256],
    ['table size update after a field', '82 20', /size update after a field/],
    ['string length beyond the block', '00 05 61 62', /beyond the block/],
    ['name string missing', '00', /truncated string/],
    ['value string missing', '04', /truncated string/],
    ['Huffman string holding EOS', '00 01 61 84 ff ff ff ff', /EOS/],
    ['Huffman padding longer than 7 bits', '00 01 61 82 1f ff', /padding/],
    ['Huffman padding of zeros', '00 01 61 81 00', /padding/],
    ['Huffman padding not all ones', '00 01 61 81 1e', /padding/],
  ];
  it.each(malformed)('%s: HpackError', (_title, block, message, maxTableSize) => {
    const decode = () => new HpackDecoder(maxTableSize).decode(hex(block));
    expect(decode).toThrow(HpackError);
    expect(decode).toThrow(message);
  });

  it('accepts what lies just inside those limits', () => {
    expect(new HpackDecoder().decode(hex('3f e1 1f 82'))).toEqual([':method', 'GET']);
    expect(new HpackDecoder().decode(hex('20 3f e1 1f 82'))).toEqual([':method', 'GET']);
    expect(new HpackDecoder().decode(hex('00 01 61 81 1f'))).toEqual(['a', 'a']);
    expect(new HpackDecoder().decode(hex('00 01 61 81 07'))).toEqual(['a', '0']);
    expect(new HpackDecoder().decode(Buffer.alloc(0))).toEqual([]);
  });

  it('only ever throws HpackError on arbitrary input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          new HpackDecoder(256).decode(Buffer.from(bytes));
        } catch (error) {
          expect(error).toBeInstanceOf(HpackError);
        }
      }),
      { numRuns: 5_000 },
    );
    // Damaged valid blocks reach further into the decoder than random bytes do.
    const valid = hex(`4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad
      1718 63c7 8f0b 97c8 e9ae 82ae 43d3 4883 640e ffc1 c0bf 400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865`);
    fc.assert(
      fc.property(
        fc.nat(valid.length),
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        (length, damage) => {
          const block = Buffer.from(valid.subarray(0, length));
          for (const [at, byte] of damage) if (at < block.length) block[at] = byte;
          try {
            new HpackDecoder(256).decode(block);
          } catch (error) {
            expect(error).toBeInstanceOf(HpackError);
          }
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it('evicts everything for an entry larger than the table', () => {
    const decoder = new HpackDecoder(64);
    decoder.decode(hex('40 01 61 01 62'));
    expect(dynamicTable(decoder).entries).toEqual([['a', 'b']]);
    decoder.decode(Buffer.concat([hex('40 01 61 20'), Buffer.alloc(32, 0x63)]));
    expect(dynamicTable(decoder).entries).toEqual([]);
    decoder.decode(hex('20 40 01 61 01 62'));
    expect(dynamicTable(decoder).entries).toEqual([]);
  });
});

describe('encodeHeaderBlock', () => {
  it('indexes static fields and writes the rest as literals without indexing', () => {
    const block = encodeHeaderBlock([
      [':status', '200'],
      ['content-type', 'application/grpc'],
      ['www-authenticate', 'x'],
      ['grpc-status', '0'],
    ]);
    expect(block).toEqual(
      Buffer.concat([
        hex('88'),
        hex('0f 10 10'),
        Buffer.from('application/grpc'),
        hex('0f 2e 01 78'),
        hex('00 0b'),
        Buffer.from('grpc-status'),
        hex('01 30'),
      ]),
    );
  });

  it('decodes back to the same fields', () => {
    const field = fc.tuple(
      fc.oneof(fc.constantFrom(':status', ':path', 'accept-encoding', 'content-type', 'grpc-message'), fc.string()),
      fc.oneof(fc.constantFrom('200', '/', 'gzip, deflate', ''), fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 200 }).map(latin1)),
    );
    fc.assert(
      fc.property(fc.array(field, { maxLength: 20 }), (fields) => {
        const decoded = new HpackDecoder(0).decode(encodeHeaderBlock(fields));
        expect(pairs(decoded)).toEqual(fields);
      }),
    );
  });
});

// A server that speaks just enough HTTP/2 for node:http2 (nghttp2) to send it requests: it reads the
// client preface, sends its SETTINGS, acknowledges the client's, decodes each request's header block
// (HEADERS plus CONTINUATION) with one HpackDecoder per connection, and answers every request with
// a HEADERS frame (END_STREAM) that encodeHeaderBlock produced.
interface RawServer {
  readonly port: number;
  /** The decoded fields of each request, in arrival order. */
  readonly requests: string[][];
  /** Anything that went wrong on a connection (a decoding error ends it). */
  readonly failures: unknown[];
  /** How many CONTINUATION frames arrived. */
  readonly continuations: () => number;
  close(): Promise<void>;
}

const PREFACE_BYTES = 24;
const FRAME_HEADERS = 0x1;
const FRAME_SETTINGS = 0x4;
const FRAME_CONTINUATION = 0x9;
const FLAG_END_STREAM = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

async function startRawServer(
  response: ReadonlyArray<readonly [string, string]>,
  headerTableSize?: number,
): Promise<RawServer> {
  const requests: string[][] = [];
  const failures: unknown[] = [];
  const sockets = new Set<net.Socket>();
  let continuations = 0;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', (error) => failures.push(error));
    const settings = Buffer.alloc(headerTableSize === undefined ? 0 : 6);
    if (headerTableSize !== undefined) {
      settings.writeUInt16BE(0x1, 0);
      settings.writeUInt32BE(headerTableSize, 2);
    }
    socket.write(frame(FRAME_SETTINGS, 0, 0, settings));
    const decoder = new HpackDecoder();
    let input = Buffer.alloc(0);
    let prefaceRead = false;
    let block: Buffer[] = [];
    let blockStream = 0;
    const onFrame = (type: number, flags: number, streamId: number, payload: Buffer): void => {
      if (type === FRAME_SETTINGS && (flags & 0x1) === 0) socket.write(frame(FRAME_SETTINGS, 0x1, 0, Buffer.alloc(0)));
      if (type === FRAME_HEADERS) {
        let start = 0;
        let end = payload.length;
        if (flags & FLAG_PADDED) end -= payload[start++]!;
        if (flags & FLAG_PRIORITY) start += 5;
        block = [payload.subarray(start, end)];
        blockStream = streamId;
      } else if (type === FRAME_CONTINUATION) {
        block.push(payload);
        continuations++;
      }
      if ((type === FRAME_HEADERS || type === FRAME_CONTINUATION) && flags & FLAG_END_HEADERS) {
        requests.push(decoder.decode(Buffer.concat(block)));
        socket.write(frame(FRAME_HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, blockStream, encodeHeaderBlock(response)));
      }
    };
    socket.on('data', (data: Buffer) => {
      input = Buffer.concat([input, data]);
      if (!prefaceRead) {
        if (input.length < PREFACE_BYTES) return;
        input = input.subarray(PREFACE_BYTES);
        prefaceRead = true;
      }
      while (input.length >= 9 && input.length >= 9 + input.readUIntBE(0, 3)) {
        const length = input.readUIntBE(0, 3);
        const payload = input.subarray(9, 9 + length);
        try {
          onFrame(input[3]!, input[4]!, input.readUInt32BE(5) & 0x7fffffff, payload);
        } catch (error) {
          failures.push(error);
          socket.destroy();
          return;
        }
        input = input.subarray(9 + length);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    failures,
    continuations: () => continuations,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/** Sends one request and resolves with the response headers (END_STREAM ends the exchange). */
async function exchange(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders): Promise<http2.IncomingHttpHeaders> {
  const stream = session.request(headers, { endStream: true });
  return new Promise((resolve, reject) => {
    let received: http2.IncomingHttpHeaders | undefined;
    stream.on('response', (responseHeaders) => (received = responseHeaders));
    stream.on('error', reject);
    stream.on('close', () => (received ? resolve(received) : reject(new Error(`stream closed with code ${stream.rstCode}`))));
    stream.resume();
  });
}

/** The fields node:http2 sends for `headers`: in insertion order, one field per array element. */
function sentFields(headers: http2.OutgoingHttpHeaders): Array<[string, string]> {
  return Object.entries(headers).flatMap(([name, value]) =>
    (Array.isArray(value) ? value : [value]).map((item): [string, string] => [name, String(item)]),
  );
}

const PRINTABLE_ASCII = latin1(range(0x20, 0x7e));
const HIGH_LATIN1 = latin1(range(0x80, 0xff));
// The static table's names, but the pseudo-headers and transfer-encoding (node:http2 refuses it).
const STATIC_NAMES = [
  'accept-charset', 'accept-encoding', 'accept-language', 'accept-ranges', 'accept', 'access-control-allow-origin', 'age',
  'allow', 'authorization', 'cache-control', 'content-disposition', 'content-encoding', 'content-language',
  'content-length', 'content-location', 'content-range', 'content-type', 'cookie', 'date', 'etag', 'expect', 'expires',
  'from', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since', 'last-modified',
  'link', 'location', 'max-forwards', 'proxy-authenticate', 'proxy-authorization', 'range', 'referer', 'refresh',
  'retry-after', 'server', 'set-cookie', 'strict-transport-security', 'user-agent', 'vary', 'via', 'www-authenticate',
];

function interopRequest(i: number, authority: string): http2.OutgoingHttpHeaders {
  const headers: http2.OutgoingHttpHeaders = {
    ':method': i % 2 === 0 ? 'POST' : 'GET',
    ':path': `/temporal.api.workflowservice.v1.WorkflowService/Call${i % 3}`,
    ':scheme': 'http',
    ':authority': authority,
    'content-type': 'application/grpc',
    te: 'trailers',
    'grpc-timeout': `${59_000 + i}m`,
    'x-printable': `<${PRINTABLE_ASCII}>`,
    'x-latin1': HIGH_LATIN1,
    'x-repeated': ['same', 'same', `differs-${i}`],
    'x-request-id': `request-${i}-${'r'.repeat(i * 37)}`,
    'x-long': `${i}`.repeat(1_500 + i),
  };
  if (i % 4 === 1) for (const name of STATIC_NAMES) headers[name] = name === 'accept-encoding' ? 'gzip, deflate' : `${name}-${i}`;
  // Past the 16 KiB frame size: the block continues in CONTINUATION frames.
  if (i === 5) headers['x-huge'] = 'h'.repeat(20_000);
  return headers;
}

describe('interop with nghttp2 (node:http2)', () => {
  const response: Array<[string, string]> = [
    [':status', '200'],
    ['content-type', 'application/grpc'],
    ['grpc-encoding', 'identity'],
    ['x-kairos-echo', `<${PRINTABLE_ASCII}${HIGH_LATIN1}>`],
  ];

  it.each([
    ['the default 4096-octet table', undefined],
    ['a 256-octet table', 256],
    ['no dynamic table', 0],
  ])('decodes the requests of one session with %s, and the client reads the encoded responses', async (_title, size) => {
    const server = await startRawServer(response, size);
    const session = http2.connect(`http://127.0.0.1:${server.port}`);
    try {
      const sent: Array<Array<[string, string]>> = [];
      for (let i = 0; i < 12; i++) {
        const headers = interopRequest(i, `127.0.0.1:${server.port}`);
        sent.push(sentFields(headers));
        const received = await exchange(session, headers);
        expect(received[':status']).toBe(200);
        expect(received['content-type']).toBe('application/grpc');
        expect(received['grpc-encoding']).toBe('identity');
        expect(received['x-kairos-echo']).toBe(response[3]![1]);
      }
      expect(server.failures).toEqual([]);
      expect(server.requests.map(pairs)).toEqual(sent);
      expect(server.continuations()).toBeGreaterThan(0);
    } finally {
      session.destroy();
      await server.close();
    }
  });
});
