/**
 * ShutdownWorker with `frontend.enableCancelWorkerPollsOnShutdown`: the server advertises the namespace
 * capability `workerPollCompleteOnShutdown` and answers the departing worker's outstanding polls
 * (empty), so a worker that keeps polling while it shuts down is neither kept waiting for a long poll
 * nor handed a task it will not run. Off (Temporal's default), nothing is advertised or cancelled.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnvironment, type E2EEnvironment } from './helpers/environment.js';
import { startKairos, type KairosServer } from './helpers/server.js';
import { connect, EventType, eventTypeNames, hasEvent, uniqueTaskQueue, uniqueWorkflowId, waitForHistory, type Connections } from './helpers/sdk.js';
import { sleepWorkflow } from './workflows/index.js';

const NAMESPACE = 'default';
const WORKFLOW = 1;
const ACTIVITY = 2;

/** A long poll and whether it has answered yet. */
interface OpenPoll {
  readonly answer: Promise<{ empty: boolean }>;
  settled: boolean;
}

function openPoll(connection: Connection, kind: 'workflow' | 'activity', taskQueue: string, workerInstanceKey: string): OpenPoll {
  const request = { namespace: NAMESPACE, taskQueue: { name: taskQueue }, identity: workerInstanceKey, workerInstanceKey };
  const service = connection.workflowService;
  const call = kind === 'workflow' ? service.pollWorkflowTaskQueue(request) : service.pollActivityTaskQueue(request);
  const poll: OpenPoll = {
    settled: false,
    answer: call.then((r) => ({ empty: (r.taskToken?.length ?? 0) === 0 })).finally(() => (poll.settled = true)),
  };
  return poll;
}

const pollWorkflow = (connection: Connection, taskQueue: string, key: string): OpenPoll => openPoll(connection, 'workflow', taskQueue, key);
const pollActivity = (connection: Connection, taskQueue: string, key: string): OpenPoll => openPoll(connection, 'activity', taskQueue, key);

/** Waits until the server lists `count` pollers of each kind on the queue (the polls have arrived). */
async function pollersArrived(connection: Connection, taskQueue: string, workflowPollers: number, activityPollers: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const [w, a] = await Promise.all(
      [WORKFLOW, ACTIVITY].map((taskQueueType) =>
        connection.workflowService.describeTaskQueue({ namespace: NAMESPACE, taskQueue: { name: taskQueue }, taskQueueType }),
      ),
    );
    if ((w!.pollers?.length ?? 0) >= workflowPollers && (a!.pollers?.length ?? 0) >= activityPollers) return;
    await delay(50);
  }
  throw new Error(`the polls on ${taskQueue} never arrived`);
}

async function capability(connection: Connection): Promise<boolean | null | undefined> {
  const described = await connection.workflowService.describeNamespace({ namespace: NAMESPACE });
  return described.namespaceInfo?.capabilities?.workerPollCompleteOnShutdown;
}

describe('with frontend.enableCancelWorkerPollsOnShutdown', () => {
  let env: E2EEnvironment;
  let sdk: Connections;

  beforeAll(async () => {
    env = await startEnvironment({ extraArgs: ['--dynamic-config-value', 'frontend.enableCancelWorkerPollsOnShutdown=true'] });
    sdk = env.sdk;
  });

  afterAll(async () => {
    await env?.close();
  });

  it('lets the official worker, which then waits for its polls to be answered, shut down promptly with nothing orphaned', async () => {
    const workflowId = uniqueWorkflowId('shutdown-official');
    let shutdownStarted = 0;
    await env.withTaskQueue('shutdown-official', async (taskQueue) => {
      const handle = await env.client.workflow.start(sleepWorkflow, { taskQueue, workflowId, args: [60_000] });
      await waitForHistory(handle, (history) => hasEvent(history, EventType.EVENT_TYPE_TIMER_STARTED));
      shutdownStarted = Date.now();
    });
    // withTaskQueue returns once the worker has shut down (its grace time is 2 s; a long poll is 60 s).
    expect(Date.now() - shutdownStarted).toBeLessThan(10_000);
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    const problems = [EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT];
    expect(history.events?.filter((e) => problems.includes(e.eventType!)), eventTypeNames(history).join(', ')).toEqual([]);
    await env.client.workflow.getHandle(workflowId).terminate('test over');
  });

  it('advertises workerPollCompleteOnShutdown', async () => {
    expect(await capability(sdk.connection)).toBe(true);
  });

  it("answers the departing worker's polls at once, of the kinds it names, and leaves other workers' alone", async () => {
    const taskQueue = uniqueTaskQueue('shutdown-polls');
    const leaving = [pollWorkflow(sdk.connection, taskQueue, 'leaving'), pollActivity(sdk.connection, taskQueue, 'leaving')];
    const staying = [pollWorkflow(sdk.connection, taskQueue, 'staying'), pollActivity(sdk.connection, taskQueue, 'staying')];
    await pollersArrived(sdk.connection, taskQueue, 2, 2);

    // Only the activity polls first.
    const startedAt = Date.now();
    await sdk.connection.workflowService.shutdownWorker({ namespace: NAMESPACE, identity: 'leaving', workerInstanceKey: 'leaving', taskQueue, taskQueueTypes: [ACTIVITY] });
    expect(await leaving[1]!.answer).toEqual({ empty: true });
    await delay(300);
    expect([leaving[0]!.settled, staying[0]!.settled, staying[1]!.settled]).toEqual([false, false, false]);

    // Then everything of that worker (no types named: both kinds).
    await sdk.connection.workflowService.shutdownWorker({ namespace: NAMESPACE, identity: 'leaving', workerInstanceKey: 'leaving', taskQueue });
    expect(await leaving[0]!.answer).toEqual({ empty: true });
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    await delay(300);
    expect(staying.map((p) => p.settled)).toEqual([false, false]);

    // Without a task queue, Temporal cancels nothing; with one, the other worker's polls end too.
    await sdk.connection.workflowService.shutdownWorker({ namespace: NAMESPACE, identity: 'staying', workerInstanceKey: 'staying' });
    await delay(300);
    expect(staying.map((p) => p.settled)).toEqual([false, false]);
    await sdk.connection.workflowService.shutdownWorker({ namespace: NAMESPACE, identity: 'staying', workerInstanceKey: 'staying', taskQueue });
    expect(await Promise.all(staying.map((p) => p.answer))).toEqual([{ empty: true }, { empty: true }]);
  });
});

describe('without it (the default)', () => {
  let server: KairosServer;
  let sdk: Connections;

  beforeAll(async () => {
    server = await startKairos();
    sdk = await connect(server.address);
  });

  afterAll(async () => {
    await sdk?.close();
    await server?.stop();
  });

  it('advertises nothing and leaves polls to the worker', async () => {
    expect(await capability(sdk.connection)).toBe(false);
    const taskQueue = uniqueTaskQueue('shutdown-polls-off');
    const poll = pollWorkflow(sdk.connection, taskQueue, 'worker');
    await pollersArrived(sdk.connection, taskQueue, 1, 0);
    await sdk.connection.workflowService.shutdownWorker({ namespace: NAMESPACE, identity: 'worker', workerInstanceKey: 'worker', taskQueue });
    await delay(500);
    expect(poll.settled).toBe(false);
    // Ended by giving it a task instead: a workflow started on the queue reaches it.
    await sdk.client.workflow.start('anyWorkflow', { taskQueue, workflowId: `shutdown-polls-off-${Date.now()}` });
    expect(await poll.answer).toEqual({ empty: false });
  });
});
