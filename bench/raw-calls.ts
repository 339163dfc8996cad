/**
 * Temporal's WorkflowService with the @temporalio/proto codecs over a bare transport: what the
 * protocol-level bench workers (bench/raw-worker.ts, bench/raw-timers-worker.ts) call the server with.
 * The transport is the server's own HTTP/2 code on a TCP socket (bench/h2-lean.ts) by default, a bare
 * `node:http2` session (`--raw-transport http2`, bench/h2-unary.ts), or a grpc-js channel
 * (`--raw-transport grpc-js`), the client the official Node libraries build on.
 */
import { Client, credentials, Metadata } from '@grpc/grpc-js';
import proto from '@temporalio/proto';
import type { Slots } from '../packages/worker/src/slots.js';
import { LeanH2Channel } from './h2-lean.js';
import { H2UnaryChannel, installLeanAsyncResourceBind } from './h2-unary.js';

const ws = proto.temporal.api.workflowservice.v1;
type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

export const NAMESPACE = 'default';
/** Above the server's 60 s long-poll budget, which it ends 1 s before the deadline with an empty answer. */
export const LONG_POLL_DEADLINE_MS = 70_000;
export const CALL_DEADLINE_MS = 10_000;

export interface Rpc<Req, Res> {
  readonly name: string;
  readonly path: string;
  readonly encode: (request: Req) => Uint8Array;
  readonly decode: (bytes: Uint8Array) => Res;
}

function rpc<Req, Res>(name: string, request: { encode(message: Req): { finish(): Uint8Array } }, response: { decode(bytes: Uint8Array): Res }): Rpc<Req, Res> {
  return {
    name,
    path: `/temporal.api.workflowservice.v1.WorkflowService/${name}`,
    encode: (message) => request.encode(message).finish(),
    decode: (bytes) => response.decode(bytes),
  };
}

export const START = rpc('StartWorkflowExecution', ws.StartWorkflowExecutionRequest, ws.StartWorkflowExecutionResponse);
export const HISTORY = rpc('GetWorkflowExecutionHistory', ws.GetWorkflowExecutionHistoryRequest, ws.GetWorkflowExecutionHistoryResponse);
export const POLL_WORKFLOW = rpc('PollWorkflowTaskQueue', ws.PollWorkflowTaskQueueRequest, ws.PollWorkflowTaskQueueResponse);
export const POLL_ACTIVITY = rpc('PollActivityTaskQueue', ws.PollActivityTaskQueueRequest, ws.PollActivityTaskQueueResponse);
export const COMPLETE_WORKFLOW_TASK = rpc('RespondWorkflowTaskCompleted', ws.RespondWorkflowTaskCompletedRequest, ws.RespondWorkflowTaskCompletedResponse);
export const COMPLETE_ACTIVITY_TASK = rpc('RespondActivityTaskCompleted', ws.RespondActivityTaskCompletedRequest, ws.RespondActivityTaskCompletedResponse);

const identity = (bytes: Buffer): Buffer => bytes;

/** How the raw workers reach the server: `http2` (bench/h2-unary.ts), `lean` (bench/h2-lean.ts) or `grpc-js`. */
export type RawTransport = 'http2' | 'lean' | 'grpc-js';
export const RAW_TRANSPORTS: readonly RawTransport[] = ['http2', 'lean', 'grpc-js'];

/** One unary call at a time per promise; many may be in flight on one channel. */
export interface RawChannel {
  unary(path: string, request: Uint8Array, deadlineMs: number, signal?: AbortSignal): Promise<Buffer>;
  close(): void;
}

/** A grpc-js channel behind the RawChannel interface; aborting `signal` cancels the call (CANCELLED). */
class GrpcJsChannel implements RawChannel {
  private readonly client: Client;

  constructor(address: string) {
    this.client = new Client(address, credentials.createInsecure());
  }

  unary(path: string, request: Uint8Array, deadlineMs: number, signal?: AbortSignal): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const onAbort = (): void => pending.cancel();
      const pending = this.client.makeUnaryRequest(
        path,
        identity,
        identity,
        Buffer.from(request.buffer, request.byteOffset, request.byteLength),
        new Metadata(),
        { deadline: Date.now() + deadlineMs },
        (error, response) => {
          signal?.removeEventListener('abort', onAbort);
          if (error !== null || response === undefined) reject(error ?? new Error(`${path}: empty response`));
          else resolve(response);
        },
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  close(): void {
    this.client.close();
  }
}

/** How the JSON results and tables name each transport. */
export const RAW_TRANSPORT_NAMES: Readonly<Record<RawTransport, string>> = {
  lean: "one TCP connection, the server's HTTP/2 framing and HPACK code (bench/h2-lean.ts)",
  http2: 'bare node:http2 session (bench/h2-unary.ts)',
  'grpc-js': 'grpc-js channel',
};

/** `--raw-transport`: lean unless given; only with the raw worker. */
export function rawTransportOption(value: string | undefined, worker: string): RawTransport {
  if (value === undefined) return 'lean';
  if (worker !== 'raw') throw new Error('--raw-transport is for --worker raw');
  const transport = RAW_TRANSPORTS.find((name) => name === value);
  if (transport === undefined) throw new Error(`--raw-transport is ${RAW_TRANSPORTS.join(' or ')}, not ${value}`);
  return transport;
}

/** The raw workers' channel; they run in threads of their own, whose AsyncResource.bind this makes lean. */
export function rawChannel(address: string, transport: RawTransport): RawChannel {
  installLeanAsyncResourceBind();
  if (transport === 'lean') return new LeanH2Channel(address);
  return transport === 'http2' ? new H2UnaryChannel(address) : new GrpcJsChannel(address);
}

/** gRPC RESOURCE_EXHAUSTED: the server's namespace rate limit (2,400 calls/s by default) refused the call. */
const RESOURCE_EXHAUSTED = 8;
/** Attempts of a call the rate limit refuses, as the official clients retry it: after 25, 50, 100 ... ms. */
const THROTTLED_ATTEMPTS = 8;

const isThrottled = (error: unknown): boolean => (error as { code?: unknown } | null)?.code === RESOURCE_EXHAUSTED;

/**
 * One call of `method`; aborting `signal` cancels it (the promise then rejects with CANCELLED). A call
 * refused by the server's rate limit is sent again after a backoff, as the official clients do.
 */
export async function call<Req, Res>(channel: RawChannel, method: Rpc<Req, Res>, request: Req, deadlineMs: number, signal?: AbortSignal): Promise<Res> {
  const bytes = method.encode(request);
  for (let attempt = 1; ; attempt++) {
    try {
      return method.decode(await channel.unary(method.path, bytes, deadlineMs, signal));
    } catch (error) {
      if (!isThrottled(error) || attempt === THROTTLED_ATTEMPTS || signal?.aborted === true) throw error;
      const backoffMs = 25 * 2 ** (attempt - 1);
      await new Promise((resolve) => setTimeout(resolve, backoffMs * (0.5 + Math.random() / 2)));
    }
  }
}

/** The run's whole history: the poll's events, then the further pages if the server paged it. */
export async function fullHistory(channel: RawChannel, task: proto.temporal.api.workflowservice.v1.IPollWorkflowTaskQueueResponse): Promise<HistoryEvent[]> {
  const events = [...(task.history?.events ?? [])];
  let token = task.nextPageToken;
  while (token && token.length > 0) {
    const page = await call(channel, HISTORY, { namespace: NAMESPACE, execution: task.workflowExecution, nextPageToken: token }, CALL_DEADLINE_MS);
    events.push(...(page.history?.events ?? []));
    token = page.nextPageToken;
  }
  return events;
}

/**
 * The SDK worker's defaults (@temporalio/worker 1.x WorkerOptions): task slots of each kind. The pollers
 * of a kind share them (the Kairos worker's `Slots`): a poll takes a slot before it is sent and the task
 * it returns keeps it until handled, so pollers go back to polling while earlier tasks run.
 */
export const WORKFLOW_TASK_SLOTS = 40;
export const ACTIVITY_TASK_SLOTS = 100;

/**
 * One poller: take a slot, long poll with `method`, hand a task (one with a task token) to `handle`
 * without waiting for it, poll again. A failed poll is reported to `onError` and waits a moment, so
 * that a server which refuses every call is not spun on. Aborting `signal` cancels the outstanding
 * poll and ends the loop once the tasks it handed on are done.
 */
export async function pollLoop<Req, Res extends { taskToken?: Uint8Array | null }>(
  channel: RawChannel,
  method: Rpc<Req, Res>,
  request: Req,
  signal: AbortSignal,
  onError: (what: string, error: unknown) => void,
  handle: (task: Res) => Promise<void>,
  slots: Slots,
): Promise<void> {
  const handling = new Set<Promise<void>>();
  while (!signal.aborted) {
    let release: () => void;
    try {
      release = await slots.acquire(signal);
    } catch {
      break; // aborted while every slot was taken
    }
    let task: Res;
    try {
      task = await call(channel, method, request, LONG_POLL_DEADLINE_MS, signal);
    } catch (error) {
      release();
      if (signal.aborted) break;
      onError(method.name, error);
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    if (!task.taskToken || task.taskToken.length === 0) {
      release();
      continue;
    }
    const done = (): void => {
      release();
      handling.delete(handled);
    };
    const handled = handle(task).then(done, (error: unknown) => {
      onError(`${method.name} task`, error);
      done();
    });
    handling.add(handled);
  }
  await Promise.all(handling);
}
