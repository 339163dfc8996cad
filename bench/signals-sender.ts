/**
 * The raw signal sender of the `signals` bench (`--signal-client raw`), run in a worker thread so that
 * its event loop is not the one the official worker runs workflow activations on: it sends the
 * pre-encoded SignalWorkflowExecution requests it is given, C in flight, on a channel of its own, and
 * reports the failures and the seconds from the first call to the last acknowledgement.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { rawClient, unaryCall } from './grpc-raw.js';
import { forEachConcurrently } from './harness.js';

export interface SenderInput {
  readonly address: string;
  readonly method: string;
  readonly requests: readonly Uint8Array[];
  readonly concurrency: number;
}

export interface SenderOutput {
  readonly kind: 'done';
  readonly failures: number;
  readonly seconds: number;
}

/** 'started' right before the first call, then the output. */
export type SenderMessage = { readonly kind: 'started' } | SenderOutput;

const input = workerData as SenderInput;
const channel = rawClient(input.address);
parentPort?.postMessage({ kind: 'started' } satisfies SenderMessage);
const startedAt = performance.now();
const failures = await forEachConcurrently(input.requests.length, input.concurrency, async (index) => {
  await unaryCall(channel, input.method, Buffer.from(input.requests[index]!));
});
const output: SenderOutput = { kind: 'done', failures, seconds: (performance.now() - startedAt) / 1000 };
channel.close();
parentPort?.postMessage(output);
