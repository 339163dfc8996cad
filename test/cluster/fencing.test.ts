/**
 * Fencing: a node that is paused (SIGSTOP) past its lease loses its shards to the other nodes, under
 * new range ids. When it runs again, with timers due and signals in its sockets that it accepted under
 * its old leases, nothing it writes for those shards may land: no execution row of a lost shard is
 * written under the old range id after the takeover. The node keeps running and serves requests (for
 * shards it no longer owns, by forwarding), and every workflow completes with its acknowledged signals.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { connect, uniqueTaskQueue, withWorker, type Connections } from '../e2e/helpers/sdk.js';
import * as activities from './activities.js';
import { describeShards, STATUS_RUNNING, waitFor, type Cluster, type ExecutionRow } from './helpers/cluster.js';
import {
  startClusterWithWorkflows,
  finishAll,
  replayProblems,
  resultsOf,
  retrying,
  SignalPump,
  startSteps,
  checkAllSteps,
  withDeadline,
  type StepsHandle,
} from './helpers/workload.js';

const LEASE_SECONDS = 3;
/** The node that is paused; neither the worker nor the main client is connected to it. */
const PAUSED = 'node-3';

let cluster: Cluster | undefined;
let workflowBundle: WorkflowBundle;
const sdks: Connections[] = [];
let failed = false;
/** Stopped in afterAll too, so a failed test leaves no pump calling closed connections. */
const pumps: SignalPump[] = [];

beforeAll(async () => {
  workflowBundle = await startClusterWithWorkflows({ nodes: 3, shards: 16, leaseSeconds: LEASE_SECONDS }, (started) => (cluster = started));
});

afterAll(async () => {
  await Promise.all(pumps.map((pump) => pump.stop()));
  await Promise.allSettled(sdks.map((sdk) => sdk.close()));
  await cluster?.close(failed);
});

function executionKey(row: ExecutionRow): string {
  return `${row.namespaceId}/${row.workflowId}/${row.runId}`;
}

it('fences a paused node out of the shards it lost, and it serves requests again when resumed', async () => {
  onTestFailed(() => {
    failed = true;
    console.log(cluster?.output());
  });
  const c = cluster!;
  const connectTo = async (nodeId: string): Promise<Connections> => {
    const sdk = await connect(c.node(nodeId).address);
    sdks.push(sdk);
    return sdk;
  };
  const workerSdk = await connectTo('node-1');
  const clientSdk = await connectTo('node-2');
  const pausedSdk = await connectTo(PAUSED);
  await c.waitForOwnership({ everyNodeOwns: true, stableMs: 1_500, timeoutMs: 30_000 });

  const taskQueue = uniqueTaskQueue('fencing');
  await withWorker({ connection: workerSdk.nativeConnection, taskQueue, workflowBundle, activities }, async () => {
    const pump = new SignalPump(clientSdk, 'via2', 2, 40);
    pumps.push(pump);
    // Signals sent to the paused node itself: held in its socket while it is stopped, then handled
    // (or refused) by a node that has lost the shard meanwhile.
    const pausedPump = new SignalPump(pausedSdk, 'via3', 1, 40, 8_000);
    pumps.push(pausedPump);
    const handles: StepsHandle[] = [];
    const onPausedShards = async (): Promise<StepsHandle[]> => {
      const shards = new Set(await c.shardsOf(PAUSED));
      const running = new Set(
        (await c.executions()).filter((row) => shards.has(row.shardId) && row.status === STATUS_RUNNING).map((row) => row.workflowId),
      );
      return handles.filter((handle) => running.has(handle.workflowId));
    };
    const startOne = async (): Promise<void> => {
      // Timers of ~4 s: many fall due while the node is paused.
      const handle = await startSteps(clientSdk.client, taskQueue, `fencing-${handles.length}`, 4_000, true);
      handles.push(handle);
      pump.add(handle);
    };
    for (let i = 0; i < 24; i++) await startOne();
    while ((await onPausedShards()).length < 2 && handles.length < 60) await startOne();
    const victims = await onPausedShards();
    expect(victims.length, `workflows on ${PAUSED}'s shards`).toBeGreaterThan(0);
    for (const handle of victims) pausedPump.add(handle);
    await waitFor(() => pausedPump.totals.acknowledged >= 5 && pump.totals.acknowledged >= 20, {
      timeoutMs: 30_000,
      description: 'signals acknowledged through both clients',
    });

    const oldRange = new Map((await c.shards()).filter((row) => row.owner === PAUSED && row.leased).map((row) => [row.shardId, row.rangeId]));
    const lostShards = [...oldRange.keys()];
    expect(lostShards.length).toBeGreaterThan(0);
    c.node(PAUSED).pause();
    const pausedAt = Date.now();

    // Every shard the node held is leased by another node under a newer range id.
    let seen = await c.shards();
    try {
      await waitFor(
        async () => {
          seen = await c.shards();
          return lostShards.every((shard) => {
            const row = seen.find((candidate) => candidate.shardId === shard);
            return row !== undefined && row.leased && row.owner !== null && row.owner !== PAUSED && row.rangeId > oldRange.get(shard)!;
          });
        },
        { timeoutMs: (LEASE_SECONDS + 10) * 1_000, intervalMs: 100, description: `the shards of the paused ${PAUSED} to be taken over` },
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\nbefore: ${[...oldRange].map(([s, r]) => `${s}@${r}`).join(' ')}\nnow: ${describeShards(seen)}`);
    }
    const takeoverMs = Date.now() - pausedAt;
    const snapshot = new Map((await c.executions(lostShards)).map((row) => [executionKey(row), row]));

    c.node(PAUSED).resume();
    const resumedAt = Date.now();
    const acknowledgedBeforeResume = pausedPump.totals.acknowledged;

    // Right away, the resumed node serves requests: about a workflow of a shard it lost, and about one
    // of a shard another node held all along (forwarded).
    const victim = victims[0]!;
    const elsewhere = handles.find((handle) => !victims.includes(handle));
    for (const handle of elsewhere === undefined ? [victim] : [victim, elsewhere]) {
      const description = await retrying(
        `describe ${handle.workflowId} through ${PAUSED}`,
        () => withDeadline(pausedSdk, 5_000, () => pausedSdk.client.workflow.getHandle(handle.workflowId).describe()),
        15_000,
      );
      expect(description.workflowId).toBe(handle.workflowId);
    }
    // Load goes on for a while with the node back (its stale timers and held requests run now).
    await delay(Math.max(0, 4_000 - (Date.now() - resumedAt)));
    expect(c.node(PAUSED).running, `${PAUSED} exited after it was resumed`).toBe(true);
    await waitFor(() => pausedPump.totals.acknowledged > acknowledgedBeforeResume, {
      timeoutMs: 15_000,
      description: `a signal acknowledged through ${PAUSED} after it was resumed`,
    });

    // Its member heartbeat resumed, the node is given shards again.
    await c.waitForOwnership({ everyNodeOwns: true, timeoutMs: 15_000 });

    await pump.stop();
    await pausedPump.stop();
    await finishAll(clientSdk, handles);
    const results = await resultsOf(handles, 60_000);

    // No row of a lost shard was written under the paused node's old range id after the takeover.
    const stale = (await c.executions(lostShards))
      .filter((row) => {
        const before = snapshot.get(executionKey(row));
        const changed = before === undefined || before.version !== row.version;
        return changed && row.shardRangeId <= oldRange.get(row.shardId)!;
      })
      .map((row) => `${executionKey(row)} shard ${row.shardId} version ${row.version} written under range ${row.shardRangeId} (old ${oldRange.get(row.shardId)})`);
    expect(stale).toEqual([]);
    const rewritten = (await c.executions(lostShards)).filter((row) => snapshot.get(executionKey(row))?.version !== row.version).length;

    const histories = await Promise.all(handles.map(async (handle) => ({ workflowId: handle.workflowId, history: await handle.fetchHistory() })));
    const { problems, lostAttempts } = checkAllSteps(histories, results, (workflowId) => [pump.ledger(workflowId), pausedPump.ledger(workflowId)]);
    expect(problems).toEqual([]);
    expect(await replayProblems(workflowBundle, histories)).toEqual([]);
    console.log(
      `fencing: ${handles.length} workflows (${victims.length} on ${PAUSED}'s shards ${lostShards.join(',')}), taken over ${takeoverMs} ms after the pause; ` +
        `${snapshot.size} rows snapshot, ${rewritten} written since; signals via node-2 ${JSON.stringify(pump.totals)}, via ${PAUSED} ${JSON.stringify(pausedPump.totals)}; ` +
        `attempts lost in dispatch: ${lostAttempts.length}${lostAttempts.map((line) => `\n  ${line}`).join('')}`,
    );
  });
});
