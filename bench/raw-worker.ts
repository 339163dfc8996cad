/**
 * The protocol-level worker and load generator of the `single-activity` bench (`--worker raw`), run in a
 * worker thread so that its event loop is its own. It speaks Temporal's WorkflowService over a bare
 * HTTP/2 session (or grpc-js, bench/raw-calls.ts) with the @temporalio/proto codecs and does the least
 * a worker can: no workflow code, no cache, no sandbox. What it measures is then the Kairos server, with
 * the worker and the client costing next to nothing.
 *
 * Worker: `pollers` PollWorkflowTaskQueue and as many PollActivityTaskQueue long polls on the task queue
 * (non-sticky, so each workflow task carries the full history). As in the SDK's worker, a poller hands
 * its task on and polls again while task slots remain (40 workflow tasks, 100 activities). A workflow
 * task whose history has no ActivityTaskCompleted yet answers with one ScheduleActivityTask (eager
 * execution requested), one that has it answers CompleteWorkflowExecution. Activity tasks, eager ones
 * from the completion's response or polled ones, are completed at once with an empty result.
 *
 * Load: StartWorkflowExecution, then GetWorkflowExecutionHistory long polls for the close event
 * (wait_new_event, close-event filter). With `eagerStart` the start asks for the first workflow task
 * (request_eager_execution) and the worker answers it from the start's response, without a poll. A
 * workflow's latency runs from sending the start (closed loop) or its scheduled arrival (open loop,
 * bench/open-loop.ts) to the close event reaching the client.
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { parentPort, workerData } from 'node:worker_threads';
import proto from '@temporalio/proto';
import Long from 'long';
import { Slots } from '../packages/worker/src/slots.js';
import { openLoop } from './open-loop.js';
import { ACTIVITY_TASK_SLOTS, call, CALL_DEADLINE_MS, COMPLETE_ACTIVITY_TASK, COMPLETE_WORKFLOW_TASK, fullHistory, HISTORY, LONG_POLL_DEADLINE_MS, NAMESPACE, POLL_ACTIVITY, POLL_WORKFLOW, pollLoop, rawChannel, START, WORKFLOW_TASK_SLOTS, type RawTransport } from './raw-calls.js';

export type RawRoundSpec =
  | { readonly mode: 'closed'; readonly workflows: number; readonly concurrency: number }
  | { readonly mode: 'open'; readonly rate: number; readonly warmupSeconds: number; readonly durationSeconds: number };

export interface RawWorkerInput {
  readonly address: string;
  readonly taskQueue: string;
  /** Long polls of each kind (workflow tasks, activity tasks) kept open. */
  readonly pollers: number;
  /** Start with request_eager_execution and run the first workflow task from the start's response. */
  readonly eagerStart: boolean;
  /** The worker's and the client's gRPC client: a bare HTTP/2 session, or grpc-js. */
  readonly transport: RawTransport;
  readonly rounds: readonly RawRoundSpec[];
}

export interface RawRoundOutput {
  readonly kind: 'round';
  readonly latenciesMs: number[];
  /** Workflows whose start or wait failed, or that closed other than completed. */
  readonly failed: number;
  /** Failed worker calls during the round (polls, task completions). */
  readonly workerErrors: number;
  readonly wallSeconds: number;
  /** Share of the round's wall time this thread's event loop was busy (worker and load generator). */
  readonly threadBusy: number;
}

/** One message per round, in order, then 'done'. */
export type RawWorkerMessage = RawRoundOutput | { readonly kind: 'done' };

const { CommandType, EventType, HistoryEventFilterType, TaskQueueKind } = proto.temporal.api.enums.v1;
type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;
type ActivityTask = proto.temporal.api.workflowservice.v1.IPollActivityTaskQueueResponse;

const WORKFLOW_TYPE = 'rawSingleActivity';
const WORKER_IDENTITY = 'raw-bench-worker';
const CLIENT_IDENTITY = 'raw-bench-client';

// ---- worker --------------------------------------------------------------------------------------

const input = workerData as RawWorkerInput;
const taskQueue = { name: input.taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL };
const workerChannel = rawChannel(input.address, input.transport);
const clientChannel = rawChannel(input.address, input.transport);
const stopWorker = new AbortController();
// Every outstanding poll listens on it.
setMaxListeners(2 * input.pollers + 1, stopWorker.signal);
let workerErrors = 0;

function workerError(what: string, error: unknown): void {
  if (++workerErrors <= 3) process.stderr.write(`raw worker: ${what} failed: ${String(error)}\n`);
}

/** The commands that move the single-activity workflow on from what its history holds. */
function nextCommands(events: readonly HistoryEvent[]): proto.temporal.api.command.v1.ICommand[] {
  const has = (type: number): boolean => events.some((event) => event.eventType === type);
  if (has(EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)) {
    return [{ commandType: CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION, completeWorkflowExecutionCommandAttributes: {} }];
  }
  const activityClosed = [EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED, EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED].find(has);
  if (activityClosed !== undefined) {
    const message = `the activity closed with ${EventType[activityClosed]}`;
    return [{ commandType: CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION, failWorkflowExecutionCommandAttributes: { failure: { message } } }];
  }
  // Scheduled but not closed: a retried workflow task (the first one timed out); nothing new to ask for.
  if (has(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)) return [];
  return [
    {
      commandType: CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
      scheduleActivityTaskCommandAttributes: {
        activityId: '1',
        activityType: { name: 'noop' },
        taskQueue,
        startToCloseTimeout: { seconds: Long.fromNumber(10) },
        requestEagerExecution: true,
      },
    },
  ];
}

async function completeActivityTask(task: ActivityTask): Promise<void> {
  try {
    await call(workerChannel, COMPLETE_ACTIVITY_TASK, { namespace: NAMESPACE, taskToken: task.taskToken, identity: WORKER_IDENTITY }, CALL_DEADLINE_MS);
  } catch (error) {
    workerError('RespondActivityTaskCompleted', error);
  }
}

/** Answers a workflow task (polled, or eager from a start's response) with the workflow's next commands. */
async function handleWorkflowTask(task: proto.temporal.api.workflowservice.v1.IPollWorkflowTaskQueueResponse): Promise<void> {
  try {
    const commands = nextCommands(await fullHistory(workerChannel, task));
    const completed = await call(
      workerChannel,
      COMPLETE_WORKFLOW_TASK,
      { namespace: NAMESPACE, taskToken: task.taskToken, commands, identity: WORKER_IDENTITY },
      CALL_DEADLINE_MS,
    );
    // Eager activities come back in the completion's response: run them off this poller's loop.
    for (const activity of completed.activityTasks) void completeActivityTask(activity);
  } catch (error) {
    workerError('RespondWorkflowTaskCompleted', error);
  }
}

// ---- load ----------------------------------------------------------------------------------------

/** Starts one workflow and long-polls for its close event; resolves when it completed, rejects otherwise. */
async function runWorkflow(workflowId: string): Promise<void> {
  const started = await call(
    clientChannel,
    START,
    { namespace: NAMESPACE, workflowId, workflowType: { name: WORKFLOW_TYPE }, taskQueue, identity: CLIENT_IDENTITY, requestId: randomUUID(), requestEagerExecution: input.eagerStart },
    CALL_DEADLINE_MS,
  );
  // The worker and the client are one here, as they are when an SDK starts eagerly on its worker's connection.
  const eager = started.eagerWorkflowTask;
  if (eager?.taskToken && eager.taskToken.length > 0) void handleWorkflowTask(eager);
  const execution = { workflowId, runId: started.runId };
  let nextPageToken: Uint8Array | undefined;
  for (;;) {
    const page = await call(
      clientChannel,
      HISTORY,
      { namespace: NAMESPACE, execution, waitNewEvent: true, historyEventFilterType: HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT, nextPageToken },
      LONG_POLL_DEADLINE_MS,
    );
    const close = page.history?.events?.[0];
    if (close) {
      if (close.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED) return;
      throw new Error(`workflow ${workflowId} closed with ${EventType[close.eventType ?? 0]}`);
    }
    // Still running when the long poll ended: poll again from where it left off.
    if (page.nextPageToken.length === 0) throw new Error(`workflow ${workflowId}: no close event and no next page token`);
    nextPageToken = page.nextPageToken;
  }
}

let failedInRound = 0;

function workflowFailed(workflowId: string, error: unknown): void {
  if (++failedInRound <= 3) process.stderr.write(`workflow ${workflowId} failed: ${String(error)}\n`);
}

async function closedRound(index: number, workflows: number, concurrency: number, latencies: number[]): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < workflows) {
      const workflowId = `${input.taskQueue}-${index}-c${concurrency}-${next++}`;
      const t0 = performance.now();
      try {
        await runWorkflow(workflowId);
        latencies.push(performance.now() - t0);
      } catch (error) {
        workflowFailed(workflowId, error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, workflows) }, lane));
}

/** An open loop (bench/open-loop.ts) of `spec`; `onMeasured` marks the start of its measured window. */
function openRound(index: number, spec: Extract<RawRoundSpec, { mode: 'open' }>, latencies: number[], onMeasured: () => void): Promise<void> {
  const workflowId = (arrival: number): string => `${input.taskQueue}-${index}-r${spec.rate}-${arrival}`;
  return openLoop({
    ...spec,
    arrive: (arrival) => runWorkflow(workflowId(arrival)),
    onMeasured,
    latencies,
    onFailed: (arrival, error) => workflowFailed(workflowId(arrival), error),
  });
}

// ---- the run -------------------------------------------------------------------------------------

const poll = { namespace: NAMESPACE, taskQueue, identity: WORKER_IDENTITY };
const workflowSlots = new Slots(Math.max(WORKFLOW_TASK_SLOTS, input.pollers));
const activitySlots = new Slots(Math.max(ACTIVITY_TASK_SLOTS, input.pollers));
const pollers = Array.from({ length: input.pollers }, () => [
  pollLoop(workerChannel, POLL_WORKFLOW, poll, stopWorker.signal, workerError, handleWorkflowTask, workflowSlots),
  pollLoop(workerChannel, POLL_ACTIVITY, poll, stopWorker.signal, workerError, completeActivityTask, activitySlots),
]).flat();
// One unmeasured workflow first, as the official worker's run does: connections up, queue created.
await runWorkflow(`${input.taskQueue}-warmup`);
for (const [index, spec] of input.rounds.entries()) {
  const latenciesMs: number[] = [];
  failedInRound = 0;
  const errorsBefore = workerErrors;
  let loopBefore = performance.eventLoopUtilization();
  let startedAt = performance.now();
  const measureFromNow = (): void => {
    loopBefore = performance.eventLoopUtilization();
    startedAt = performance.now();
  };
  if (spec.mode === 'closed') await closedRound(index, spec.workflows, spec.concurrency, latenciesMs);
  else await openRound(index, spec, latenciesMs, measureFromNow);
  const wallSeconds = (performance.now() - startedAt) / 1000;
  const threadBusy = performance.eventLoopUtilization(loopBefore).utilization;
  parentPort?.postMessage({ kind: 'round', latenciesMs, failed: failedInRound, workerErrors: workerErrors - errorsBefore, wallSeconds, threadBusy } satisfies RawWorkerMessage);
}
stopWorker.abort();
await Promise.all(pollers);
workerChannel.close();
clientChannel.close();
parentPort?.postMessage({ kind: 'done' } satisfies RawWorkerMessage);
