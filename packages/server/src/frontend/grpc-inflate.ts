// Synchronous decompression of small gzip/deflate requests in the gRPC server.
//
// sdk-core (the official workers and the Temporal CLI's Rust clients) gzips every request, most of them a
// few hundred bytes. grpc-js decompresses each through a zlib stream: a stream object, event handlers and
// a round trip through libuv's thread pool per message, which the server's profile under the official
// worker showed at about 14 % of its busy time. One-shot `gunzipSync` of a small buffer costs a few
// microseconds and no allocation beyond its output. Larger messages keep grpc-js's streaming path, so a
// big request never blocks the event loop for long.
//
// grpc-js has no hook for this: the method is replaced on the prototype of its server call class (the
// dependency's version is pinned exactly in package.json; a version without the method is left alone
// and the server works as before, only slower). docs/adr/0006-sync-inflate.md records the decision.
import { BaseServerInterceptingCall } from '@grpc/grpc-js/build/src/server-interceptors.js';
import { status } from '@grpc/grpc-js';
import { gunzipSync, inflateSync } from 'node:zlib';

/** Compressed messages up to this size are inflated synchronously (grpc-js streams larger ones). */
export const SYNC_INFLATE_MAX_BYTES = 16 * 1024;

/** The gRPC length prefix: a compressed flag byte and a 4-byte length before the message. */
const FRAME_HEADER_BYTES = 5;

type Decompress = (this: ServerCall, frame: Buffer, encoding: string) => Buffer | Promise<Buffer>;
interface ServerCall {
  maxReceiveMessageSize: number;
}

let installed = false;

/** Installs the synchronous path once per process; false when grpc-js lacks the method to replace. */
export function installSyncInflate(): boolean {
  if (installed) return true;
  const prototype = BaseServerInterceptingCall.prototype as unknown as { decompressMessage?: Decompress };
  const streaming = prototype.decompressMessage;
  if (typeof streaming !== 'function') return false;
  prototype.decompressMessage = function decompressMessage(frame, encoding) {
    const compressed = frame.length - FRAME_HEADER_BYTES;
    if ((encoding !== 'gzip' && encoding !== 'deflate') || compressed > SYNC_INFLATE_MAX_BYTES) {
      return streaming.call(this, frame, encoding);
    }
    return inflateSmall(frame.subarray(FRAME_HEADER_BYTES), encoding, this.maxReceiveMessageSize);
  };
  installed = true;
  return true;
}

/** Rejections carry the status grpc-js's streaming path gives for the same failure. */
export function inflateSmall(message: Buffer, encoding: 'gzip' | 'deflate', maxBytes: number): Buffer | Promise<Buffer> {
  const options = maxBytes === -1 ? {} : { maxOutputLength: maxBytes };
  try {
    return encoding === 'gzip' ? gunzipSync(message, options) : inflateSync(message, options);
  } catch (error) {
    return Promise.reject(inflateFailure(error, maxBytes));
  }
}

/** The status grpc-js answers a failed inflate with: too large, or not a valid stream. */
export function inflateFailure(error: unknown, maxBytes: number): { code: number; details: string } {
  if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
    return { code: status.RESOURCE_EXHAUSTED, details: `Received message that decompresses to a size larger than ${maxBytes}` };
  }
  return { code: status.INTERNAL, details: 'Failed to decompress message' };
}
