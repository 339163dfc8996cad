/**
 * Failover: three nodes share 16 shards with 3-second leases. With ~30 workflows in flight (activities,
 * timers, signals arriving), the node holding some of them is SIGKILLed. Its shards are leased by the
 * surviving nodes within the lease time plus 5 s, under new range ids; every workflow completes; every
 * acknowledged signal arrives exactly once; every scheduled activity is completed exactly once in its
 * history; and the histories replay.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { connect, uniqueTaskQueue, withWorker, type Connections } from '../e2e/helpers/sdk.js';
import * as activities from './activities.js';
import { stepExecutions } from './activities.js';
import { describeShards, STATUS_RUNNING, waitFor, type Cluster } from './helpers/cluster.js';
import {
  startClusterWithWorkflows,
  finishAll,
  replayProblems,
  resultsOf,
  SignalPump,
  startSteps,
  checkAllSteps,
  type StepsHandle,
} from './helpers/workload.js';

const LEASE_SECONDS = 3;
const VICTIM = 'node-3';

let cluster: Cluster | undefined;
let workflowBundle: WorkflowBundle;
let workerSdk: Connections | undefined;
let clientSdk: Connections | undefined;
let failed = false;
/** Stopped in afterAll too, so a failed test leaves no pump calling closed connections. */
const pumps: SignalPump[] = [];

beforeAll(async () => {
  workflowBundle = await startClusterWithWorkflows({ nodes: 3, shards: 16, leaseSeconds: LEASE_SECONDS }, (started) => (cluster = started));
  workerSdk = await connect(cluster!.node('node-1').address);
  clientSdk = await connect(cluster!.node('node-2').address);
});

afterAll(async () => {
  await Promise.all(pumps.map((pump) => pump.stop()));
  await workerSdk?.close();
  await clientSdk?.close();
  await cluster?.close(failed);
});

it('moves a killed node’s shards to live nodes and loses no signal, timer or activity result', async () => {
  onTestFailed(() => {
    failed = true;
    console.log(cluster?.output());
  });
  const c = cluster!;
  const sdk = clientSdk!;
  const initial = await c.waitForOwnership({ everyNodeOwns: true, stableMs: 1_500, timeoutMs: 30_000 });
  expect(initial.filter((row) => row.owner === VICTIM).length).toBeGreaterThan(0);

  const taskQueue = uniqueTaskQueue('failover');
  await withWorker({ connection: workerSdk!.nativeConnection, taskQueue, workflowBundle, activities }, async () => {
    const pump = new SignalPump(sdk, 'item', 3, 30);
    pumps.push(pump);
    const handles: StepsHandle[] = [];
    const startOne = async (): Promise<void> => {
      const i = handles.length;
      const handle = await startSteps(sdk.client, taskQueue, `failover-${i}`, 3_000 + (i % 5) * 500, true);
      handles.push(handle);
      pump.add(handle);
    };
    for (let i = 0; i < 30; i++) await startOne();

    // The victim must hold at least one of the running workflows; with 30 over 16 shards it almost
    // always does, else start more until it does.
    const runningOnVictim = async (): Promise<string[]> => {
      const shards = new Set(await c.shardsOf(VICTIM));
      const mine = new Set(handles.map((handle) => handle.workflowId));
      return (await c.executions())
        .filter((row) => shards.has(row.shardId) && row.status === STATUS_RUNNING && mine.has(row.workflowId))
        .map((row) => row.workflowId);
    };
    while ((await runningOnVictim()).length === 0 && handles.length < 60) await startOne();
    const victimShards = await c.shardsOf(VICTIM);
    const victimWorkflows = await runningOnVictim();
    expect(victimWorkflows.length, `no workflow on ${VICTIM}'s shards ${victimShards.join(',')}`).toBeGreaterThan(0);
    const rangeBefore = new Map((await c.shards()).map((row) => [row.shardId, row.rangeId]));

    // In flight: let a third of the first activities run, and signals flow, before the kill.
    await waitFor(() => handles.filter((handle) => stepExecutions.has(`${handle.workflowId}/first`)).length >= 10, {
      timeoutMs: 30_000,
      description: 'ten first activities',
    });
    await waitFor(() => pump.totals.acknowledged >= 20, { timeoutMs: 30_000, description: 'twenty acknowledged signals' });

    const killedAt = Date.now();
    await c.node(VICTIM).kill('SIGKILL');
    const after = await c.waitForOwnership({ nodeIds: ['node-1', 'node-2'], timeoutMs: (LEASE_SECONDS + 5) * 1_000 });
    const takeoverMs = Date.now() - killedAt;
    for (const shard of victimShards) {
      const row = after.find((candidate) => candidate.shardId === shard);
      expect(row?.rangeId, `shard ${shard} taken over without a new range id: ${describeShards(after)}`).toBeGreaterThan(rangeBefore.get(shard)!);
    }

    // Keep signalling for a while on the new owners, then let every workflow finish.
    const acknowledgedAtTakeover = pump.totals.acknowledged;
    await delay(3_000);
    await pump.stop();
    expect(pump.totals.acknowledged, 'no signal acknowledged after the takeover').toBeGreaterThan(acknowledgedAtTakeover);
    await finishAll(sdk, handles);
    const results = await resultsOf(handles, 60_000);

    const histories = await Promise.all(handles.map(async (handle) => ({ workflowId: handle.workflowId, history: await handle.fetchHistory() })));
    const { problems, lostAttempts } = checkAllSteps(histories, results, (workflowId) => [pump.ledger(workflowId)]);
    expect(problems).toEqual([]);
    expect(await replayProblems(workflowBundle, histories)).toEqual([]);

    const reruns = [...stepExecutions].filter(([key, count]) => count > 1 && handles.some((handle) => key.startsWith(`${handle.workflowId}/`)));
    console.log(
      `failover: ${handles.length} workflows (${victimWorkflows.length} on ${VICTIM}, shards ${victimShards.join(',')}), ` +
        `takeover in ${takeoverMs} ms, signals ${JSON.stringify(pump.totals)}, activities run again: ${reruns.length}, ` +
        `attempts lost in dispatch: ${lostAttempts.length}${lostAttempts.map((line) => `\n  ${line}`).join('')}`,
    );
  });
});
