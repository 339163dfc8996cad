/**
 * A gRPC echo service in its own process (like the Kairos server is), for the loopback ceiling of
 * `limits`. Prints `port <n>` once listening; exits on SIGTERM or when its parent closes stdin.
 */
import { Server, ServerCredentials, type handleUnaryCall } from '@grpc/grpc-js';
import { ECHO_METHOD } from './grpc-raw.js';

const identity = (bytes: Buffer): Buffer => bytes;
const echo: handleUnaryCall<Buffer, Buffer> = (call, callback) => callback(null, call.request);

const server = new Server();
server.addService(
  { Echo: { path: ECHO_METHOD, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
  { Echo: echo },
);
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => {
  if (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`port ${port}\n`);
});
const stop = (): void => server.tryShutdown(() => process.exit(0));
process.once('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
