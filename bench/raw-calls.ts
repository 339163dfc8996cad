/**
 * Temporal's WorkflowService over a bare grpc-js channel with the @temporalio/proto codecs: what the
 * protocol-level bench workers (bench/raw-worker.ts, bench/raw-timers-worker.ts) call the server with.
 */
import { Metadata, type Client } from '@grpc/grpc-js';
import proto from '@temporalio/proto';

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

/** One call of `method`; aborting `signal` cancels it (the promise then rejects with CANCELLED). */
export function call<Req, Res>(channel: Client, method: Rpc<Req, Res>, request: Req, deadlineMs: number, signal?: AbortSignal): Promise<Res> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => pending.cancel();
    const bytes = method.encode(request);
    const pending = channel.makeUnaryRequest(
      method.path,
      identity,
      identity,
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      new Metadata(),
      { deadline: Date.now() + deadlineMs },
      (error, response) => {
        signal?.removeEventListener('abort', onAbort);
        if (error !== null || response === undefined) reject(error ?? new Error(`${method.name}: empty response`));
        else resolve(method.decode(response));
      },
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The run's whole history: the poll's events, then the further pages if the server paged it. */
export async function fullHistory(channel: Client, task: proto.temporal.api.workflowservice.v1.IPollWorkflowTaskQueueResponse): Promise<HistoryEvent[]> {
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
 * One poller: long poll with `method`, hand a task (one with a task token) to `handle`, poll again.
 * A failed poll is reported to `onError` and waits a moment, so that a server which refuses every
 * call is not spun on. Aborting `signal` cancels the outstanding poll and ends the loop.
 */
export async function pollLoop<Req, Res extends { taskToken?: Uint8Array | null }>(
  channel: Client,
  method: Rpc<Req, Res>,
  request: Req,
  signal: AbortSignal,
  onError: (what: string, error: unknown) => void,
  handle: (task: Res) => Promise<void>,
): Promise<void> {
  while (!signal.aborted) {
    let task: Res;
    try {
      task = await call(channel, method, request, LONG_POLL_DEADLINE_MS, signal);
    } catch (error) {
      if (signal.aborted) return;
      onError(method.name, error);
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    if (task.taskToken && task.taskToken.length > 0) await handle(task);
  }
}
