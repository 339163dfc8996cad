/**
 * Unary gRPC calls without protobuf: messages pass as raw bytes, so the figures measure the transport
 * (HTTP/2 framing, grpc-js) alone. Used for the echo ceiling (limits) and GetSystemInfo (cold-start),
 * whose empty request is zero bytes on the wire.
 */
import { Client, credentials, Metadata } from '@grpc/grpc-js';

const identity = (bytes: Buffer): Buffer => bytes;

export function rawClient(address: string): Client {
  return new Client(address, credentials.createInsecure());
}

/** One unary call of `method` (`/package.Service/Method`) with `request` bytes; `deadlineMs` from now. */
export function unaryCall(client: Client, method: string, request: Buffer, deadlineMs = 5_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(method, identity, identity, request, new Metadata(), { deadline: Date.now() + deadlineMs }, (error, response) => {
      if (error !== null || response === undefined) reject(error ?? new Error(`${method}: empty response`));
      else resolve(response);
    });
  });
}

export const ECHO_METHOD = '/kairos.bench.Echo/Echo';
