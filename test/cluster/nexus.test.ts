/**
 * Nexus in a cluster: a Nexus task waits on the node whose run dispatched it (the owner of the caller's
 * shard), and the only worker serving the endpoint polls another node. The owner announces the task as
 * it does a workflow or activity task with no local poll; the worker's node takes it from the owner,
 * and the worker's answer is routed back to the owner by its task token.
 *
 * The callers' workflow ids are picked on shards node-1 leases; the worker (workflows and Nexus
 * handlers) polls node-2; the endpoint is created through node-3. A synchronous operation completes at
 * its first attempt (a task nobody sees would time out after 10 s and be retried), and an asynchronous
 * one is completed by its handler run's callback, delivered to the caller's owner.
 */
import { randomUUID } from 'node:crypto';
import type { WorkflowBundle } from '@temporalio/worker';
import * as nexus from 'nexus-rpc';
import * as temporalnexus from '@temporalio/nexus';
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { bundleWorkflows, connect, EventType, eventsOfType, uniqueTaskQueue, uniqueWorkflowId, withWorker, type Connections } from '../e2e/helpers/sdk.js';
import { greetingService, nexusCaller, nexusGreeter } from '../e2e/workflows/index.js';
import { idOnShardOf, startCluster, type Cluster } from './helpers/cluster.js';

const OWNER = 'node-1';
const WORKER_NODE = 'node-2';
const OPERATOR_NODE = 'node-3';
/** Below Nexus's 10-second request timeout: an operation done in less was not retried. */
const FIRST_ATTEMPT_MS = 8_000;

let cluster: Cluster | undefined;
let workflowBundle: WorkflowBundle;
const sdks: Connections[] = [];
let failed = false;

beforeAll(async () => {
  const [started, bundled] = await Promise.allSettled([startCluster({ nodes: 3, shards: 16, leaseSeconds: 3 }), bundleWorkflows()]);
  if (started.status === 'fulfilled') cluster = started.value;
  if (started.status === 'rejected') throw started.reason;
  if (bundled.status === 'rejected') throw bundled.reason;
  workflowBundle = bundled.value;
});

afterAll(async () => {
  await Promise.allSettled(sdks.map((s) => s.close()));
  await cluster?.close(failed);
});

async function connectTo(nodeId: string): Promise<Connections> {
  const sdk = await connect(cluster!.node(nodeId).address);
  sdks.push(sdk);
  return sdk;
}

const handlers = nexus.serviceHandler(greetingService, {
  greet: async (_ctx, name) => `hello, ${name}`,
  greetLater: new temporalnexus.WorkflowRunOperationHandler<string, string>(async (ctx, name) =>
    temporalnexus.startWorkflow(ctx, nexusGreeter, { workflowId: `greeter-${name}`, args: [name] }),
  ),
  refuse: async () => 'unused',
  block: async () => 'unused',
  greetOnSignal: async () => 'unused',
});

it('hands a Nexus task waiting on the caller\'s node to a worker polling another node', async () => {
  onTestFailed(() => {
    failed = true;
    console.log(cluster?.output());
  });
  const c = cluster!;
  await c.waitForOwnership({ everyNodeOwns: true, stableMs: 1_500, timeoutMs: 30_000 });
  const viaOwner = await connectTo(OWNER);
  const viaWorker = await connectTo(WORKER_NODE);
  const viaOperator = await connectTo(OPERATOR_NODE);
  const taskQueue = uniqueTaskQueue('cluster-nexus');
  const endpoint = `cluster-ep-${randomUUID().slice(0, 8)}`;
  await viaOperator.connection.operatorService.createNexusEndpoint({ spec: { name: endpoint, target: { worker: { namespace: 'default', taskQueue } } } });

  await withWorker({ connection: viaWorker.nativeConnection, taskQueue, workflowBundle, nexusServices: [handlers] }, async () => {
    const name = `Ada-${randomUUID().slice(0, 6)}`;
    const { id: syncId, shardId: syncShard } = await idOnShardOf(c, OWNER, () => uniqueWorkflowId('cluster-nexus-sync'));
    const { id: asyncId } = await idOnShardOf(c, OWNER, () => uniqueWorkflowId('cluster-nexus-async'));
    const sync = await viaOwner.client.workflow.start(nexusCaller, { taskQueue, workflowId: syncId, args: [endpoint, 'greet', name] });
    const later = await viaOwner.client.workflow.start(nexusCaller, { taskQueue, workflowId: asyncId, args: [endpoint, 'greetLater', name] });
    expect(await sync.result()).toBe(`hello, ${name}`);
    expect(await later.result()).toBe(`later, ${name}`);

    for (const handle of [sync, later]) {
      const history = await handle.fetchHistory();
      const [scheduled] = eventsOfType(history, EventType.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED);
      const [completed] = eventsOfType(history, EventType.EVENT_TYPE_NEXUS_OPERATION_COMPLETED);
      const ms = (e: typeof scheduled) => Number(e?.eventTime?.seconds ?? 0) * 1000 + Math.floor((e?.eventTime?.nanos ?? 0) / 1e6);
      expect(completed).toBeDefined();
      if (handle === sync) expect(ms(completed) - ms(scheduled)).toBeLessThan(FIRST_ATTEMPT_MS);
      else expect(eventsOfType(history, EventType.EVENT_TYPE_NEXUS_OPERATION_STARTED)).toHaveLength(1);
    }
    // The callers' shards were node-1's throughout (no takeover moved them to the worker's node).
    expect(await c.shardsOf(OWNER)).toContain(syncShard);
  });
}, 120_000);

it('lists a worker through any node, whichever node its heartbeats reached, with the latest one winning', async () => {
  const [first, second] = [await connectTo(OWNER), await connectTo(WORKER_NODE)];
  const key = `worker-${randomUUID()}`;
  const taskQueue = uniqueTaskQueue('cluster-workers');
  const beat = (seconds: number, sdkVersion: string) => ({ workerInstanceKey: key, taskQueue, status: 1, sdkName: 'raw', sdkVersion, heartbeatTime: { seconds } });
  const now = Math.floor(Date.now() / 1000);
  await first.connection.workflowService.recordWorkerHeartbeat({ namespace: 'default', workerHeartbeat: [beat(now, 'first') as never] });
  await second.connection.workflowService.recordWorkerHeartbeat({ namespace: 'default', workerHeartbeat: [beat(now + 1, 'second') as never] });
  for (const sdk of [first, second, await connectTo(OPERATOR_NODE)]) {
    const listed = await sdk.connection.workflowService.listWorkers({ namespace: 'default', query: `TaskQueue = '${taskQueue}'` });
    expect(listed.workers?.map((w) => [w.workerInstanceKey, w.sdkVersion])).toEqual([[key, 'second']]);
    const described = await sdk.connection.workflowService.describeWorker({ namespace: 'default', workerInstanceKey: key });
    expect(described.workerInfo?.workerHeartbeat?.sdkVersion).toBe('second');
  }
});
