import http2 from 'node:http2';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { H2Connection, type H2Stream } from './connection.js';
import { CLIENT_PREFACE, FRAME_HEADER_BYTES, frame, FrameFlag, FrameType, H2Code, settingsFrame } from './frames.js';
import { encodeHeaderBlock } from './hpack.js';
import { readConnectionStart } from './lean-transport.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A net server whose every socket is an H2Connection answering each stream with its path as the body. */
async function serve(options: { keepalive?: { intervalMs: number; timeoutMs: number } } = {}): Promise<{ port: number; connections: H2Connection[] }> {
  const connections: H2Connection[] = [];
  const server = net.createServer((socket) => {
    const connection = new H2Connection(
      socket,
      {
        onStream(stream: H2Stream) {
          stream.onend = () => stream.respond(encodeHeaderBlock([[':status', '200']]), Buffer.from(stream.header(':path') ?? ''), encodeHeaderBlock([['x-done', 'yes']]));
        },
      },
      options.keepalive,
    );
    connections.push(connection);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    for (const connection of connections) connection.destroy();
    server.close();
  });
  return { port: (server.address() as net.AddressInfo).port, connections };
}

/** Reads frames from a raw socket: type, flags, stream and payload of each. */
function frames(socket: net.Socket): Array<{ type: number; flags: number; streamId: number; payload: Buffer }> {
  const seen: Array<{ type: number; flags: number; streamId: number; payload: Buffer }> = [];
  let input = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    input = Buffer.concat([input, chunk]);
    while (input.length >= FRAME_HEADER_BYTES) {
      const length = input.readUIntBE(0, 3);
      if (input.length < FRAME_HEADER_BYTES + length) break;
      seen.push({ type: input[3]!, flags: input[4]!, streamId: input.readUInt32BE(5), payload: input.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length) });
      input = input.subarray(FRAME_HEADER_BYTES + length);
    }
  });
  return seen;
}

async function until(condition: () => boolean, what: string, ms = 5_000): Promise<void> {
  for (const deadline = Date.now() + ms; !condition(); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('H2Connection', () => {
  it('serves many streams of a node:http2 client, answers its PING, and carries trailers', async () => {
    const { port } = await serve();
    const client = http2.connect(`http://127.0.0.1:${port}`);
    cleanups.push(() => client.destroy());
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        new Promise<{ body: string; trailers: http2.IncomingHttpHeaders }>((resolve, reject) => {
          const request = client.request({ ':method': 'POST', ':path': `/call/${i}` });
          let body = '';
          let trailers: http2.IncomingHttpHeaders = {};
          request.on('trailers', (t) => (trailers = t));
          request.on('data', (chunk: Buffer) => (body += chunk.subarray(5).toString()));
          request.on('end', () => resolve({ body, trailers }));
          request.on('error', reject);
          request.end(Buffer.from([0, 0, 0, 0, 0]));
        }),
      ),
    );
    expect(answers.map((a) => a.body)).toEqual(Array.from({ length: 50 }, (_, i) => `/call/${i}`));
    expect(answers.every((a) => a.trailers['x-done'] === 'yes')).toBe(true);
    const rtt = await new Promise<number>((resolve, reject) => client.ping((error, duration) => (error ? reject(error) : resolve(duration))));
    expect(rtt).toBeGreaterThanOrEqual(0);
  });

  it('closes a connection whose peer does not answer its keepalive PING', async () => {
    const { port, connections } = await serve({ keepalive: { intervalMs: 50, timeoutMs: 50 } });
    const socket = net.connect(port, '127.0.0.1');
    cleanups.push(() => socket.destroy());
    const seen = frames(socket);
    socket.write(Buffer.concat([CLIENT_PREFACE, settingsFrame([])]));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await closed;
    expect(seen.some((f) => f.type === FrameType.Ping && (f.flags & FrameFlag.Ack) === 0)).toBe(true);
    await until(() => connections[0]?.isClosed === true, 'the server side to close');
  });

  it('keeps a connection whose peer answers its PINGs', async () => {
    const { port, connections } = await serve({ keepalive: { intervalMs: 30, timeoutMs: 30 } });
    const socket = net.connect(port, '127.0.0.1');
    cleanups.push(() => socket.destroy());
    const seen = frames(socket);
    socket.write(Buffer.concat([CLIENT_PREFACE, settingsFrame([])]));
    let answered = 0;
    await until(() => {
      for (const ping of seen.splice(0).filter((f) => f.type === FrameType.Ping)) {
        socket.write(frame(FrameType.Ping, FrameFlag.Ack, 0, ping.payload));
        answered++;
      }
      return answered >= 4;
    }, 'four PINGs');
    expect(connections[0]?.isClosed).toBe(false);
  });

  it('answers a bad preface with GOAWAY PROTOCOL_ERROR and closes', async () => {
    const { port } = await serve();
    const socket = net.connect(port, '127.0.0.1');
    cleanups.push(() => socket.destroy());
    const seen = frames(socket);
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const goaway = seen.find((f) => f.type === FrameType.Goaway);
    expect(goaway?.payload.readUInt32BE(4)).toBe(H2Code.ProtocolError);
  });

  it('refuses a HEADERS frame on an even stream id with GOAWAY', async () => {
    const { port } = await serve();
    const socket = net.connect(port, '127.0.0.1');
    cleanups.push(() => socket.destroy());
    const seen = frames(socket);
    const headers = encodeHeaderBlock([[':method', 'POST'], [':path', '/x'], [':scheme', 'http']]);
    socket.write(Buffer.concat([CLIENT_PREFACE, settingsFrame([]), frame(FrameType.Headers, FrameFlag.EndHeaders | FrameFlag.EndStream, 2, headers)]));
    await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    expect(seen.find((f) => f.type === FrameType.Goaway)?.payload.readUInt32BE(4)).toBe(H2Code.ProtocolError);
  });
});

describe('readConnectionStart', () => {
  const start = Buffer.concat([CLIENT_PREFACE, settingsFrame([])]);
  const ack = frame(FrameType.Settings, FrameFlag.Ack, 0, Buffer.alloc(0));
  const headers = frame(FrameType.Headers, FrameFlag.EndHeaders, 1, encodeHeaderBlock([[':method', 'POST'], [':path', '/svc/Method']]));

  it('waits for more bytes, then names the first path and where the ACK is', () => {
    expect(readConnectionStart(start.subarray(0, 10))).toEqual({ path: undefined, ackAt: -1 });
    expect(readConnectionStart(Buffer.concat([start, headers]))).toEqual({ path: '/svc/Method', ackAt: -1 });
    expect(readConnectionStart(Buffer.concat([start, ack, headers]))).toEqual({ path: '/svc/Method', ackAt: start.length });
    expect(readConnectionStart(Buffer.concat([start, headers, ack]))).toEqual({ path: '/svc/Method', ackAt: start.length + headers.length });
  });

  it('reads a header block continued in CONTINUATION frames', () => {
    const block = encodeHeaderBlock([[':path', '/svc/Long'], ['x-pad', 'p'.repeat(100)]]);
    const first = frame(FrameType.Headers, 0, 1, block.subarray(0, 20));
    const rest = frame(FrameType.Continuation, FrameFlag.EndHeaders, 1, block.subarray(20));
    expect(readConnectionStart(Buffer.concat([start, first])).path).toBeUndefined();
    expect(readConnectionStart(Buffer.concat([start, first, rest])).path).toBe('/svc/Long');
  });

  it('says null for what is not an HTTP/2 connection start', () => {
    expect(readConnectionStart(Buffer.from('GET / HTTP/1.1\r\n')).path).toBeNull();
  });
});
