/**
 * Rolling restart: under a steady stream of new workflows (activity, short timer, activity), every node
 * of a three-node cluster is stopped gracefully (SIGTERM: it releases its shards at once) and started
 * again on the same port, one after another — the client's node and then the worker's node last.
 * No workflow fails, and every workflow whose start was acknowledged (or that exists although its
 * start call failed) completes.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { connect, uniqueTaskQueue, uniqueWorkflowId, withWorker, type Connections } from '../e2e/helpers/sdk.js';
import * as activities from './activities.js';
import { ownershipSummary, waitFor, type Cluster } from './helpers/cluster.js';
import {
  startClusterWithWorkflows,
  errorMessage,
  replayProblems,
  resultsOf,
  retrying,
  checkAllSteps,
  withDeadline,
  type StepsHandle,
} from './helpers/workload.js';
import { stepsWorkflow } from './workflows/index.js';

const LEASE_SECONDS = 3;
const WORKER_NODE = 'node-1';
const CLIENT_NODE = 'node-2';
/** `executions.status` of a completed run (WORKFLOW_EXECUTION_STATUS_COMPLETED). */
const STATUS_COMPLETED = 2;

let cluster: Cluster | undefined;
let workflowBundle: WorkflowBundle;
const sdks: Connections[] = [];
let failed = false;

beforeAll(async () => {
  workflowBundle = await startClusterWithWorkflows({ nodes: 3, shards: 16, leaseSeconds: LEASE_SECONDS }, (started) => (cluster = started));
});

afterAll(async () => {
  await Promise.allSettled(sdks.map((sdk) => sdk.close()));
  await cluster?.close(failed);
});

/** Starts a workflow every `intervalMs` until stopped; a start whose call failed may still exist. */
class StartStream {
  readonly started: StepsHandle[] = [];
  readonly uncertain: string[] = [];
  readonly errors: string[] = [];
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly sdk: Connections,
    private readonly taskQueue: string,
    private readonly intervalMs: number,
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    for (let i = 0; !this.stopped; i++) {
      const workflowId = uniqueWorkflowId(`rolling-${i}`);
      try {
        const handle = await withDeadline(this.sdk, 10_000, () =>
          this.sdk.client.workflow.start(stepsWorkflow, { taskQueue: this.taskQueue, workflowId, args: [workflowId, 500, false] }),
        );
        this.started.push(handle);
      } catch (error) {
        this.uncertain.push(workflowId);
        this.errors.push(`${workflowId}: ${errorMessage(error)}`);
      }
      await delay(this.intervalMs);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

it('keeps every workflow running through a restart of each node in turn', async () => {
  onTestFailed(() => {
    failed = true;
    console.log(cluster?.output());
  });
  const c = cluster!;
  const workerSdk = await connect(c.node(WORKER_NODE).address);
  sdks.push(workerSdk);
  const clientSdk = await connect(c.node(CLIENT_NODE).address);
  sdks.push(clientSdk);
  await c.waitForOwnership({ everyNodeOwns: true, stableMs: 1_500, timeoutMs: 30_000 });
  const completed = async (): Promise<number> =>
    Number((await c.db.query<{ n: string }>('SELECT count(*)::text AS n FROM executions WHERE status = $1', [STATUS_COMPLETED])).rows[0]?.n ?? 0);

  const taskQueue = uniqueTaskQueue('rolling');
  await withWorker({ connection: workerSdk.nativeConnection, taskQueue, workflowBundle, activities }, async () => {
    const stream = new StartStream(clientSdk, taskQueue, 100);
    const timeline: string[] = [];
    try {
      await waitFor(async () => (await completed()) >= 5, { timeoutMs: 30_000, description: 'five workflows completed before the restarts' });
      for (const nodeId of ['node-3', CLIENT_NODE, WORKER_NODE]) {
        const node = c.node(nodeId);
        const stoppingAt = Date.now();
        await node.stop();
        const stoppedMs = Date.now() - stoppingAt;
        // A graceful stop releases the node's leases rather than letting them run out.
        const stillLeased = await c.shardsOf(nodeId);
        expect(stillLeased, `${nodeId} still leases shards after a graceful stop`).toEqual([]);
        const others = c.nodes.filter((other) => other.nodeId !== nodeId).map((other) => other.nodeId);
        await c.waitForOwnership({ nodeIds: others, timeoutMs: (LEASE_SECONDS + 5) * 1_000 });
        const takenOverMs = Date.now() - stoppingAt;
        await node.start();
        const backMs = Date.now() - stoppingAt;
        // The cluster keeps completing workflows before the next node goes.
        const before = await completed();
        await waitFor(async () => (await completed()) >= before + 5, {
          timeoutMs: 30_000,
          description: `five more workflows completed after ${nodeId} came back`,
        });
        const shards = await c.waitForOwnership({ timeoutMs: (LEASE_SECONDS + 5) * 1_000 });
        timeline.push(`${nodeId}: stopped in ${stoppedMs} ms, shards taken over at ${takenOverMs} ms, back at ${backMs} ms, then ${ownershipSummary(shards)}`);
      }
    } finally {
      await stream.stop();
    }

    // Starts whose call failed may still have created the workflow: those must complete too.
    const handles = [...stream.started];
    for (const workflowId of stream.uncertain) {
      const handle = clientSdk.client.workflow.getHandle<typeof stepsWorkflow>(workflowId);
      const exists = await retrying(`describe ${workflowId}`, async () => {
        try {
          await handle.describe();
          return true;
        } catch (error) {
          if (error instanceof WorkflowNotFoundError) return false;
          throw error;
        }
      });
      if (exists) handles.push(handle);
    }
    const results = await resultsOf(handles, 60_000);
    const histories = await Promise.all(handles.map(async (handle) => ({ workflowId: handle.workflowId, history: await handle.fetchHistory() })));
    const { problems, lostAttempts } = checkAllSteps(histories, results, () => []);
    expect(problems).toEqual([]);
    expect(await replayProblems(workflowBundle, histories)).toEqual([]);
    expect(stream.started.length).toBeGreaterThan(20);
    console.log(
      `rolling restart: ${stream.started.length} starts acknowledged, ${stream.uncertain.length} failed ` +
        `(${handles.length - stream.started.length} of those exist), all ${handles.length} completed\n  ${timeline.join('\n  ')}` +
        (stream.errors.length > 0 ? `\n  start errors: ${stream.errors.slice(0, 5).join('; ')}` : '') +
        `\n  attempts lost in dispatch: ${lostAttempts.length}${lostAttempts.map((line) => `\n    ${line}`).join('')}`,
    );
  });
});
