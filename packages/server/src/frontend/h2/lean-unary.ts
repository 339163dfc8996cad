// gRPC unary calls on the lean HTTP/2 connection (connection.ts): the same exchange the node:http2
// fast path gives the handler wrapper (fast-unary.ts), with grpc-js's headers, trailers and status
// texts, encoded once where they never change.
import { GrpcCode } from '../../errors.js';
import { decompress, NOT_METADATA, type StatusAnswer, UnaryCall, type UnaryServe, unframe } from '../fast-unary.js';
import type { H2Stream, H2StreamHandler } from './connection.js';
import { encodeHeaderBlock } from './hpack.js';

/** Response headers as grpc-js sends them. */
const RESPONSE_HEADERS = encodeHeaderBlock([
  [':status', '200'],
  ['content-type', 'application/grpc+proto'],
  ['grpc-accept-encoding', 'identity,deflate,gzip'],
  ['grpc-encoding', 'identity'],
]);
const OK_TRAILERS = encodeHeaderBlock([
  ['grpc-status', '0'],
  ['grpc-message', 'OK'],
]);
/** grpc-js's answer to a request whose content type is not gRPC's. */
const UNSUPPORTED_MEDIA_TYPE = encodeHeaderBlock([[':status', '415']]);

/** Serves the streams of a lean connection: `routes`' paths as unary calls, anything else UNIMPLEMENTED. */
export function leanUnaryHandler(routes: ReadonlyMap<string, UnaryServe>, maxReceiveBytes: number, peerOf: () => string): H2StreamHandler {
  return {
    onStream(stream: H2Stream): void {
      const contentType = stream.header('content-type');
      if (contentType === undefined || !contentType.startsWith('application/grpc')) {
        stream.respondOnly(UNSUPPORTED_MEDIA_TYPE);
        return;
      }
      const path = stream.header(':path') ?? '';
      const serve = routes.get(path);
      const call = new LeanCall(stream, path, peerOf());
      if (serve === undefined) {
        // The exact text grpc-js uses for unregistered methods: sdk-core matches on it.
        call.answer({ code: GrpcCode.UNIMPLEMENTED, details: `The server does not implement the method ${path}` });
        return;
      }
      receive(stream, call, serve, maxReceiveBytes);
    },
  };
}

function receive(stream: H2Stream, call: LeanCall, serve: UnaryServe, maxReceiveBytes: number): void {
  const chunks: Buffer[] = [];
  let bytes = 0;
  let declared = -1;
  stream.ondata = (chunk) => {
    if (call.answered) return;
    // The chunk is a view into the socket's buffer; keeping it keeps that buffer, for a call's length.
    chunks.push(chunk);
    bytes += chunk.length;
    if (declared < 0 && bytes >= 5) {
      declared = (chunks.length === 1 ? chunk : Buffer.concat(chunks, bytes)).readUInt32BE(1);
      if (declared > maxReceiveBytes) {
        chunks.length = 0;
        call.answer({ code: GrpcCode.RESOURCE_EXHAUSTED, details: `Received message larger than max (${declared} vs ${maxReceiveBytes})` });
      }
    }
  };
  stream.onend = () => {
    if (call.answered) return;
    const framed = unframe(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes), call);
    if (framed === undefined) return;
    const encoding = stream.header('grpc-encoding');
    if (framed.compressed && encoding !== undefined && encoding !== 'identity') {
      decompress(framed.message, encoding, maxReceiveBytes).then(
        (message) => call.serve(serve, message),
        (status: StatusAnswer) => call.answer(status),
      );
    } else {
      call.serve(serve, framed.message);
    }
  };
}

class LeanCall extends UnaryCall {
  constructor(
    private readonly stream: H2Stream,
    readonly path: string,
    readonly peer: string,
  ) {
    super(stream.header('grpc-timeout'));
    stream.onabort = () => this.aborted();
  }

  protected readMetadata(): Map<string, string> {
    const map = new Map<string, string>();
    const headers = this.stream.headers;
    for (let i = 0; i < headers.length; i += 2) {
      const key = headers[i]!;
      if (key.startsWith(':') || key.endsWith('-bin') || NOT_METADATA.has(key)) continue;
      const previous = map.get(key);
      map.set(key, previous === undefined ? headers[i + 1]! : `${previous}, ${headers[i + 1]!}`);
    }
    return map;
  }

  protected send(status: StatusAnswer | null, response: Buffer): void {
    const stream = this.stream;
    if (stream.closed) return;
    if (status === null) {
      stream.respond(RESPONSE_HEADERS, response, OK_TRAILERS);
      return;
    }
    // Trailers-only: the status in the one HEADERS frame.
    const fields: Array<[string, string]> = [
      [':status', '200'],
      ['content-type', 'application/grpc+proto'],
      ['grpc-status', String(status.code)],
      ['grpc-message', encodeURI(status.details)],
    ];
    if (status.detailsBin !== undefined) fields.push(['grpc-status-details-bin', status.detailsBin.toString('base64')]);
    stream.respondOnly(encodeHeaderBlock(fields));
  }
}
