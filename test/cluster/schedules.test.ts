/**
 * Schedules in a cluster: three nodes share 16 shards with 3-second leases. A schedule runs on the node
 * holding the shard of `temporal-sys-scheduler:<scheduleId>`; the test picks an id whose shard is on
 * node-3, creates the schedule through node-2 and reads it through node-1 (both forwarded to node-3).
 * The schedule starts `stepsWorkflow` every second (allow-all, so that every nominal time is one
 * start) on a task queue whose worker polls node-1.
 *
 * 1. Described through node-1 exactly as through node-2; one workflow per nominal time, from the first
 *    time after its creation, each id started once; numActionsTaken matches the workflows listed.
 * 2. node-3 is SIGKILLed: the node that leases the schedule's shard resumes it within the lease time
 *    plus a few seconds, catches up the times it missed (no gap, no duplicate); pause, trigger and
 *    unpause through either surviving node take effect; every started workflow completes.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { ScheduleOverlapPolicy, type ScheduleDescription, type ScheduleHandle } from '@temporalio/client';
import type { WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
// The server's scheduler id prefix (as test/ui imports server sources): the test must find the
// schedule's owner exactly as the nodes do.
import { SCHEDULER_WORKFLOW_ID_PREFIX } from '../../packages/server/src/schedules/scheduler.js';
import { connect, uniqueTaskQueue, uniqueWorkflowId, withWorker, type Connections } from '../e2e/helpers/sdk.js';
import * as activities from './activities.js';
import { describeShards, idOnShardOf, waitFor, type Cluster } from './helpers/cluster.js';
import { startClusterWithWorkflows, resultsOf, withDeadline } from './helpers/workload.js';
import { stepsWorkflow } from './workflows/index.js';

const LEASE_SECONDS = 3;
const INTERVAL_MS = 1_000;
/** Polled by the worker; describes and triggers the schedule. Survives. */
const WORKER_NODE = 'node-1';
/** Creates, pauses and unpauses the schedule. Survives. */
const CLIENT_NODE = 'node-2';
/** Holds the schedule's shard; killed. */
const OWNER = 'node-3';
/** Each describe or list call: a call held by a dead node counts as "not yet" rather than stalling. */
const CALL_DEADLINE_MS = 5_000;

let cluster: Cluster | undefined;
let workflowBundle: WorkflowBundle;
let workerSdk: Connections | undefined;
let clientSdk: Connections | undefined;
let failed = false;

/** What the first test set up and the second one continues with. */
interface ScheduleUnderTest {
  readonly scheduleId: string;
  readonly shardId: number;
  /** The schedule's action workflow id: each run's id is this, `-`, and its nominal time to the second. */
  readonly actionWorkflowId: string;
  readonly taskQueue: string;
  /** The schedule through the worker's node and through the client's node. */
  readonly viaWorkerNode: ScheduleHandle;
  readonly viaClientNode: ScheduleHandle;
}
let underTest: ScheduleUnderTest | undefined;

beforeAll(async () => {
  workflowBundle = await startClusterWithWorkflows({ nodes: 3, shards: 16, leaseSeconds: LEASE_SECONDS }, (started) => (cluster = started));
  workerSdk = await connect(cluster!.node(WORKER_NODE).address);
  clientSdk = await connect(cluster!.node(CLIENT_NODE).address);
});

afterAll(async () => {
  await workerSdk?.close();
  await clientSdk?.close();
  await cluster?.close(failed);
});

/** A workflow the schedule started, as the executions table and the visibility list show it. */
interface StartedRun {
  readonly workflowId: string;
  readonly nominalMs: number;
}

interface Account {
  /** One entry per workflow id the executions table holds for the schedule, in nominal order. */
  readonly runs: StartedRun[];
  /** Workflow ids with more than one run (executions table or visibility list). */
  readonly duplicated: string[];
  /** Workflow ids the visibility list (TemporalScheduledById) and the executions table disagree on. */
  readonly listMismatch: string[];
}

/** `<actionWorkflowId>-2026-01-02T03:04:05Z` → its nominal time. */
function nominalOf(actionWorkflowId: string, workflowId: string): number {
  return Date.parse(workflowId.slice(actionWorkflowId.length + 1));
}

/** The schedule's workflows, from the executions table and from ListWorkflowExecutions through the client's node. */
async function account(c: Cluster, sdk: Connections, s: ScheduleUnderTest): Promise<Account> {
  const rows = (await c.executions()).filter((row) => row.workflowId.startsWith(`${s.actionWorkflowId}-`));
  const listed: string[] = [];
  await withDeadline(sdk, CALL_DEADLINE_MS, async () => {
    for await (const run of sdk.client.workflow.list({ query: `TemporalScheduledById = '${s.scheduleId}'` })) listed.push(run.workflowId);
  });
  const count = (ids: readonly string[]): Map<string, number> => {
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    return counts;
  };
  const stored = count(rows.map((row) => row.workflowId));
  const visible = count(listed);
  const duplicated = [...new Set([...stored, ...visible].filter(([, n]) => n > 1).map(([id]) => id))];
  const listMismatch = [...new Set([...stored.keys(), ...visible.keys()])].filter((id) => !stored.has(id) || !visible.has(id));
  const runs = [...stored.keys()].map((workflowId) => ({ workflowId, nominalMs: nominalOf(s.actionWorkflowId, workflowId) })).sort((a, b) => a.nominalMs - b.nominalMs);
  return { runs, duplicated, listMismatch };
}

/** The nominal times missing between consecutive runs of `runs` (an interval schedule leaves none). */
function gaps(runs: readonly StartedRun[]): string[] {
  const out: string[] = [];
  for (let i = 1; i < runs.length; i++) {
    const step = runs[i]!.nominalMs - runs[i - 1]!.nominalMs;
    if (step !== INTERVAL_MS) out.push(`${new Date(runs[i - 1]!.nominalMs).toISOString()} → ${new Date(runs[i]!.nominalMs).toISOString()} (${step} ms)`);
  }
  return out;
}

/** The latest nominal time among the schedule's recent actions (0 when none). */
function lastActionMs(described: ScheduleDescription): number {
  return Math.max(0, ...described.info.recentActions.map((action) => action.scheduledAt.getTime()));
}

async function describeVia(sdk: Connections, handle: ScheduleHandle): Promise<ScheduleDescription> {
  return await withDeadline(sdk, CALL_DEADLINE_MS, () => handle.describe());
}

/** A schedule id whose scheduler workflow id falls in a shard `nodeId` leases. */
async function scheduleIdOwnedBy(c: Cluster, nodeId: string): Promise<{ scheduleId: string; shardId: number }> {
  const { id, shardId } = await idOnShardOf(c, nodeId, () => uniqueWorkflowId('cluster-schedule'), (scheduleId) => `${SCHEDULER_WORKFLOW_ID_PREFIX}${scheduleId}`);
  return { scheduleId: id, shardId };
}

it('runs a schedule created through one node once per nominal time, and describes it alike through another', async () => {
  onTestFailed(() => {
    failed = true;
    console.log(cluster?.output());
  });
  const c = cluster!;
  const viaClient = clientSdk!;
  const viaWorker = workerSdk!;
  const initial = await c.waitForOwnership({ everyNodeOwns: true, stableMs: 1_500, timeoutMs: 30_000 });
  const { scheduleId, shardId } = await scheduleIdOwnedBy(c, OWNER);
  const actionWorkflowId = uniqueWorkflowId('scheduled-steps');
  const taskQueue = uniqueTaskQueue('cluster-schedules');

  await withWorker({ connection: viaWorker.nativeConnection, taskQueue, workflowBundle, activities }, async () => {
    const viaClientNode = await viaClient.client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: INTERVAL_MS }] },
      action: { type: 'startWorkflow', workflowId: actionWorkflowId, workflowType: stepsWorkflow, args: [actionWorkflowId, 100, false], taskQueue },
      policies: { overlap: ScheduleOverlapPolicy.ALLOW_ALL },
      memo: { suite: 'cluster' },
    });
    const viaWorkerNode = viaWorker.client.schedule.getHandle(scheduleId);
    const s: ScheduleUnderTest = { scheduleId, shardId, actionWorkflowId, taskQueue, viaWorkerNode, viaClientNode };

    // The same answer through both nodes: client's, worker's, client's again; when the client's two
    // answers agree (no action was taken in between), the worker's node must have given that answer too.
    const [throughClient, throughWorker] = await waitFor(
      async () => {
        const first = await describeVia(viaClient, viaClientNode);
        const other = await describeVia(viaWorker, viaWorkerNode);
        const again = await describeVia(viaClient, viaClientNode);
        return isDeepStrictEqual(first, again) ? ([first, other] as const) : undefined;
      },
      { timeoutMs: 15_000, description: 'two equal describes through the client’s node around one through the worker’s' },
    );
    expect(throughWorker).toEqual(throughClient);
    expect(throughWorker.scheduleId).toBe(scheduleId);
    expect(throughWorker.action).toMatchObject({ type: 'startWorkflow', workflowId: actionWorkflowId, workflowType: 'stepsWorkflow', taskQueue });
    expect(throughWorker.spec.intervals).toMatchObject([{ every: INTERVAL_MS }]);
    expect(throughWorker.policies).toMatchObject({ overlap: 'ALLOW_ALL' });
    expect(throughWorker.memo).toEqual({ suite: 'cluster' });

    // A few actions; then every nominal time up to the last one described is exactly one workflow, from
    // the first spec time after the creation on.
    const described = await waitFor(
      async () => {
        const d = await describeVia(viaWorker, viaWorkerNode);
        return d.info.numActionsTaken >= 4 ? d : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 250, description: 'four actions taken' },
    );
    const upTo = lastActionMs(described);
    const seen = await waitFor(
      async () => {
        const a = await account(c, viaClient, s);
        const runs = a.runs.filter((run) => run.nominalMs <= upTo);
        return runs.length >= described.info.numActionsTaken && a.listMismatch.length === 0 ? { ...a, runs } : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 250, description: `the workflows of the first ${described.info.numActionsTaken} actions, listed` },
    );
    expect(seen.duplicated).toEqual([]);
    expect(seen.runs.length, 'numActionsTaken against the workflows started up to the last action described').toBe(described.info.numActionsTaken);
    expect(gaps(seen.runs)).toEqual([]);
    const createdMs = described.info.createdAt.getTime();
    const firstMs = seen.runs[0]!.nominalMs;
    expect(firstMs - createdMs, `first action at ${new Date(firstMs).toISOString()}, created at ${described.info.createdAt.toISOString()}`).toBeGreaterThan(0);
    expect(firstMs - createdMs).toBeLessThanOrEqual(INTERVAL_MS);
    expect(described.info.recentActions.map((action) => action.action.workflow.workflowId)).toEqual(seen.runs.slice(-described.info.recentActions.length).map((run) => run.workflowId));

    console.log(
      `schedules: ${scheduleId} on shard ${shardId} (${OWNER}: ${initial.filter((row) => row.owner === OWNER).length} shards), ` +
        `${described.info.numActionsTaken} actions, first ${firstMs - createdMs} ms after creation`,
    );
    underTest = s;
  });
});

it('resumes the schedule on a surviving node when its owner is killed, and takes pause and trigger through either', async () => {
  onTestFailed(() => {
    failed = true;
    console.log(cluster?.output());
  });
  const c = cluster!;
  const s = underTest;
  if (s === undefined) throw new Error('the first test did not set up a schedule');
  const viaClient = clientSdk!;
  const viaWorker = workerSdk!;
  const survivors = [WORKER_NODE, CLIENT_NODE];

  await withWorker({ connection: viaWorker.nativeConnection, taskQueue: s.taskQueue, workflowBundle, activities }, async () => {
    const before = await c.shards();
    const ownerRow = before.find((row) => row.shardId === s.shardId);
    expect(ownerRow?.leased && ownerRow.owner, `shard ${s.shardId} moved before the kill: ${describeShards(before)}`).toBe(OWNER);
    const actionsBefore = (await describeVia(viaWorker, s.viaWorkerNode)).info.numActionsTaken;

    const killedAt = Date.now();
    await c.node(OWNER).kill('SIGKILL');
    const after = await c.waitForOwnership({ nodeIds: survivors, timeoutMs: (LEASE_SECONDS + 5) * 1_000 });
    const takenOverAt = Date.now();
    const newOwner = after.find((row) => row.shardId === s.shardId);
    expect(newOwner?.rangeId, `shard ${s.shardId} taken over without a new range id: ${describeShards(after)}`).toBeGreaterThan(ownerRow!.rangeId);

    // The new owner runs the schedule: an action for a nominal time after the takeover, soon after it.
    const resumed = await waitFor(
      async () => {
        const d = await describeVia(viaWorker, s.viaWorkerNode);
        return lastActionMs(d) >= takenOverAt ? d : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 250, description: `an action after the takeover of ${OWNER}'s shards` },
    );
    const resumedMs = Date.now() - killedAt;
    expect(resumed.info.numActionsTaken).toBeGreaterThan(actionsBefore);

    // Pause through the client's node: from then on no scheduled action, and the count is final.
    await s.viaClientNode.pause('paused through node-2');
    const paused = await describeVia(viaWorker, s.viaWorkerNode);
    expect(paused.state).toMatchObject({ paused: true, note: 'paused through node-2' });
    const pausedAt = Date.now();
    const beforeTrigger = await waitFor(
      async () => {
        const a = await account(c, viaClient, s);
        return a.runs.length >= paused.info.numActionsTaken && a.listMismatch.length === 0 ? a : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 250, description: `the workflows of ${paused.info.numActionsTaken} actions, listed` },
    );
    expect(beforeTrigger.duplicated).toEqual([]);
    expect(beforeTrigger.runs.length, 'numActionsTaken against the workflows started').toBe(paused.info.numActionsTaken);
    // The times the schedule was ownerless were caught up by the new owner: no gap across the kill.
    expect(gaps(beforeTrigger.runs)).toEqual([]);
    expect(beforeTrigger.runs.at(-1)!.nominalMs).toBe(lastActionMs(paused));

    // Two nominal times pass without an action while paused.
    await delay(Math.max(0, pausedAt + 2 * INTERVAL_MS + 500 - Date.now()));
    const stillPaused = await describeVia(viaClient, s.viaClientNode);
    expect(stillPaused.info.numActionsTaken, 'actions taken while paused').toBe(paused.info.numActionsTaken);

    // A trigger through the worker's node starts one workflow at once, paused or not (its id carries
    // the trigger's second, later than any scheduled one's).
    await s.viaWorkerNode.trigger();
    const triggered = await waitFor(
      async () => {
        const d = await describeVia(viaClient, s.viaClientNode);
        return d.info.numActionsTaken > paused.info.numActionsTaken ? d : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 250, description: 'the triggered action' },
    );
    expect(triggered.info.numActionsTaken).toBe(paused.info.numActionsTaken + 1);
    expect(triggered.state.paused).toBe(true);
    const triggeredId = triggered.info.recentActions.at(-1)!.action.workflow.workflowId;
    expect(nominalOf(s.actionWorkflowId, triggeredId)).toBeGreaterThan(lastActionMs(paused));

    // Unpaused through the client's node, it takes scheduled actions again, then is paused through the
    // worker's node for the final count.
    await s.viaClientNode.unpause('unpaused through node-2');
    const unpausedAt = Date.now();
    await waitFor(
      async () => {
        const d = await describeVia(viaWorker, s.viaWorkerNode);
        return d.info.numActionsTaken >= triggered.info.numActionsTaken + 2 ? d : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 250, description: 'two scheduled actions after the unpause' },
    );
    await s.viaWorkerNode.pause('paused through node-1');
    const final = await describeVia(viaClient, s.viaClientNode);
    expect(final.state).toMatchObject({ paused: true, note: 'paused through node-1' });
    const end = await waitFor(
      async () => {
        const a = await account(c, viaClient, s);
        return a.runs.length >= final.info.numActionsTaken && a.listMismatch.length === 0 ? a : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 250, description: `the workflows of ${final.info.numActionsTaken} actions, listed` },
    );
    expect(end.duplicated).toEqual([]);
    expect(end.runs.length, 'numActionsTaken against the workflows started').toBe(final.info.numActionsTaken);
    expect(end.runs.map((run) => run.workflowId)).toContain(triggeredId);
    const sinceUnpause = end.runs.filter((run) => run.nominalMs > unpausedAt - INTERVAL_MS && run.workflowId !== triggeredId);
    expect(sinceUnpause.length).toBeGreaterThanOrEqual(2);
    expect(gaps(sinceUnpause)).toEqual([]);

    // Every workflow the schedule started completes (the worker's node survived; so did their starts).
    const handles = end.runs.map((run) => viaClient.client.workflow.getHandle<typeof stepsWorkflow>(run.workflowId));
    const results = await resultsOf(handles, 30_000);
    expect(results.size).toBe(handles.length);

    console.log(
      `schedules: ${OWNER} killed; shard ${s.shardId} taken over by ${newOwner?.owner ?? '?'} in ${takenOverAt - killedAt} ms, ` +
        `first action after it at ${resumedMs} ms; ${final.info.numActionsTaken} actions in all (1 triggered), ${end.runs.length} workflows`,
    );
  });
});
