/**
 * The protocol-level worker and load generator of the `timers` bench (`--worker raw`), in a worker
 * thread. Like bench/raw-worker.ts it speaks WorkflowService over a bare HTTP/2 session and does the
 * least a worker can (its pollers hand tasks on and poll again while 40 task slots remain), so that
 * what the figures measure is the server rather than a worker replaying 100,000 workflows on the same
 * two cores.
 *
 * Each workflow is started with request_eager_execution, and its first workflow task (from the start's
 * response, or from a poll when the server denies eager execution or the task was retried) answers
 * StartTimer for the time left until its due instant: "parked". The workflow task after TimerFired
 * answers CompleteWorkflowExecution: "resumed", reported with the time the worker saw it.
 *
 * Messages: in `{ kind: 'start', ids, dueAtMs, concurrency }` (one phase); out `progress` (every
 * 100 ms while anything changed), `started` (the phase's starts are done) and, on `{ kind: 'stop' }`,
 * `stopped`.
 */
import { setMaxListeners } from 'node:events';
import { randomUUID } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import proto from '@temporalio/proto';
import Long from 'long';
import { Slots } from '../packages/worker/src/slots.js';
import { call, CALL_DEADLINE_MS, COMPLETE_WORKFLOW_TASK, fullHistory, NAMESPACE, POLL_WORKFLOW, pollLoop, rawChannel, START, WORKFLOW_TASK_SLOTS, type RawTransport } from './raw-calls.js';

export interface RawTimersInput {
  readonly address: string;
  readonly taskQueue: string;
  /** PollWorkflowTaskQueue long polls kept open. */
  readonly pollers: number;
  readonly transport: RawTransport;
}

export type RawTimersRequest =
  | { readonly kind: 'start'; readonly ids: readonly string[]; readonly dueAtMs: readonly number[]; readonly concurrency: number }
  | { readonly kind: 'stop' };

export type RawTimersMessage =
  | { readonly kind: 'progress'; readonly parked: number; readonly resumed: ReadonlyArray<readonly [workflowId: string, atMs: number]> }
  | { readonly kind: 'started'; readonly failed: number }
  | { readonly kind: 'stopped'; readonly workerErrors: number };

const { CommandType, EventType, TaskQueueKind } = proto.temporal.api.enums.v1;
type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;
type WorkflowTask = proto.temporal.api.workflowservice.v1.IPollWorkflowTaskQueueResponse;
type Command = proto.temporal.api.command.v1.ICommand;

const WORKFLOW_TYPE = 'rawSleepUntil';
const IDENTITY = 'raw-timers-bench';

const input = workerData as RawTimersInput;
const taskQueue = { name: input.taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL };
const channel = rawChannel(input.address, input.transport);
const stopWorker = new AbortController();
setMaxListeners(input.pollers + 1, stopWorker.signal);
const dueAt = new Map<string, number>();
let workerErrors = 0;
let parked = 0;
let resumed: Array<readonly [string, number]> = [];
let reported = 0;

function workerError(what: string, error: unknown): void {
  if (++workerErrors <= 3) process.stderr.write(`raw timers worker: ${what} failed: ${String(error)}\n`);
}

/** StartTimer until the due instant, CompleteWorkflowExecution once it fired, nothing for a retried task in between. */
function nextCommands(workflowId: string, events: readonly HistoryEvent[]): Command[] {
  const has = (type: number): boolean => events.some((event) => event.eventType === type);
  if (has(EventType.EVENT_TYPE_TIMER_FIRED)) {
    resumed.push([workflowId, Date.now()]);
    return [{ commandType: CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION, completeWorkflowExecutionCommandAttributes: {} }];
  }
  if (has(EventType.EVENT_TYPE_TIMER_STARTED)) return [];
  const leftMs = Math.max(1, (dueAt.get(workflowId) ?? Date.now()) - Date.now());
  parked++;
  return [
    {
      commandType: CommandType.COMMAND_TYPE_START_TIMER,
      startTimerCommandAttributes: {
        timerId: '1',
        startToFireTimeout: { seconds: Long.fromNumber(Math.floor(leftMs / 1000)), nanos: (leftMs % 1000) * 1_000_000 },
      },
    },
  ];
}

async function handleWorkflowTask(task: WorkflowTask): Promise<void> {
  try {
    const workflowId = task.workflowExecution?.workflowId ?? '';
    const commands = nextCommands(workflowId, await fullHistory(channel, task));
    await call(channel, COMPLETE_WORKFLOW_TASK, { namespace: NAMESPACE, taskToken: task.taskToken, commands, identity: IDENTITY }, CALL_DEADLINE_MS);
  } catch (error) {
    workerError('RespondWorkflowTaskCompleted', error);
  }
}

async function startWorkflow(workflowId: string): Promise<void> {
  const started = await call(
    channel,
    START,
    { namespace: NAMESPACE, workflowId, workflowType: { name: WORKFLOW_TYPE }, taskQueue, identity: IDENTITY, requestId: randomUUID(), requestEagerExecution: true },
    CALL_DEADLINE_MS,
  );
  const eager = started.eagerWorkflowTask;
  if (eager?.taskToken && eager.taskToken.length > 0) await handleWorkflowTask(eager);
}

async function startAll(ids: readonly string[], dues: readonly number[], concurrency: number): Promise<number> {
  ids.forEach((id, i) => dueAt.set(id, dues[i]!));
  let next = 0;
  let failed = 0;
  const lane = async (): Promise<void> => {
    while (next < ids.length) {
      const workflowId = ids[next++]!;
      try {
        await startWorkflow(workflowId);
      } catch (error) {
        if (++failed <= 3) process.stderr.write(`start ${workflowId} failed: ${String(error)}\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, lane));
  return failed;
}

function reportProgress(): void {
  if (parked === reported && resumed.length === 0) return;
  reported = parked;
  parentPort?.postMessage({ kind: 'progress', parked, resumed } satisfies RawTimersMessage);
  resumed = [];
}

const progressTimer = setInterval(reportProgress, 100);
const slots = new Slots(Math.max(WORKFLOW_TASK_SLOTS, input.pollers));
const pollers = Array.from({ length: input.pollers }, () =>
  pollLoop(channel, POLL_WORKFLOW, { namespace: NAMESPACE, taskQueue, identity: IDENTITY }, stopWorker.signal, workerError, handleWorkflowTask, slots),
);
parentPort?.on('message', (request: RawTimersRequest) => {
  if (request.kind === 'start') {
    void startAll(request.ids, request.dueAtMs, request.concurrency).then((failed) => {
      reportProgress();
      parentPort?.postMessage({ kind: 'started', failed } satisfies RawTimersMessage);
    });
    return;
  }
  stopWorker.abort();
  void Promise.all(pollers).then(() => {
    clearInterval(progressTimer);
    reportProgress();
    channel.close();
    parentPort?.postMessage({ kind: 'stopped', workerErrors } satisfies RawTimersMessage);
    parentPort?.close();
  });
});
