/**
 * cluster: single-activity workflow throughput on PostgreSQL with 1, 2, 3... Kairos nodes on this
 * machine, one row per node count.
 *
 *   npm run bench -- cluster [--nodes 1,2,3] [--workflows 200] [--concurrency 50]
 *                            [--workers per-node|one] [--shards 64] [--lease-seconds 10]
 *
 * Each round gets a fresh database on one PostgreSQL started for the whole run (test-postgres.ts:
 * KAIROS_TEST_DATABASE_URL / DATABASE_URL, else the machine's binaries) and N node processes
 * (`kairos server start --config <file>`, free ports). Once every node owns its share of the shards,
 * the load generator runs a closed loop of W workflows, C in flight, with client calls spread
 * round-robin over the nodes (workflow i through node i mod N), so most calls are forwarded to the
 * node that owns the execution's shard. Workers: `per-node` (default) runs one official worker per
 * node, all on one task queue; `one` runs a single worker on node 1, so every task of a shard owned
 * elsewhere reaches it through the owner (NOTIFY hint and take RPC).
 *
 * Every node, PostgreSQL, the workers and the client share this machine's cores: more nodes mean more
 * processes on the same CPUs, not more capacity. The table shows where the CPU time went.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { startTestPostgres, type TestPostgres } from '@kairos/server/test-postgres';
import { connectBench, forEachConcurrently, integerList, MB, onInterrupt, positiveInteger, processCpuSeconds, processMemory, type BenchClient } from './harness.js';
import { backendCpuBetween, databaseBackendCpu, ownCpuSeconds, shardOwners, startClusterNode, waitForShardBalance, type ClusterNode, type NodeSettings } from './cluster-nodes.js';
import { distribution, finish, printGrid, type Distribution, type Headline, type ScenarioResult } from './report.js';
import { singleActivityWorkflow } from './workflows.js';

const SCENARIO = 'cluster';
const WORKER_MODES = ['per-node', 'one'] as const;
type WorkerMode = (typeof WORKER_MODES)[number];

interface Settings {
  readonly workflows: number;
  readonly concurrency: number;
  readonly workers: WorkerMode;
  readonly shards: number;
  readonly leaseSeconds: number;
}

interface Round {
  readonly nodes: number;
  readonly workers: number;
  /** Shards owned by each node when the load started, e.g. [22, 21, 21]. */
  readonly shardsPerNode: readonly number[];
  /** From the last node's banner to the shards first seen shared out among all nodes (checked every 100 ms). */
  readonly handOffSeconds: number;
  readonly completed: number;
  readonly failed: number;
  readonly wallSeconds: number;
  readonly workflowsPerSecond: number;
  readonly latencyMs: Distribution;
  /** CPU seconds used during the measured loop: all nodes together, and this process (client + workers). */
  readonly nodeCpuSeconds: number;
  readonly benchCpuSeconds: number;
  /** CPU seconds of the PostgreSQL backends serving the round's database (NaN for a remote PostgreSQL). */
  readonly databaseCpuSeconds: number;
  /** RSS of each node after the loop. */
  readonly nodeRssMB: readonly number[];
}

export async function run(args: string[]): Promise<ScenarioResult> {
  const { values } = parseArgs({
    args,
    options: {
      nodes: { type: 'string' },
      workflows: { type: 'string' },
      concurrency: { type: 'string' },
      workers: { type: 'string' },
      shards: { type: 'string' },
      'lease-seconds': { type: 'string' },
    },
    strict: true,
  });
  const nodeCounts = values.nodes !== undefined ? integerList(values.nodes, 'nodes') : [1, 2, 3];
  const workers = (values.workers ?? 'per-node') as WorkerMode;
  if (!WORKER_MODES.includes(workers)) throw new Error(`--workers must be one of ${WORKER_MODES.join(', ')}, got ${workers}`);
  const settings: Settings = {
    workflows: positiveInteger(values.workflows, 'workflows', 200),
    concurrency: positiveInteger(values.concurrency, 'concurrency', 50),
    workers,
    shards: positiveInteger(values.shards, 'shards', 64),
    leaseSeconds: positiveInteger(values['lease-seconds'], 'lease-seconds', 10),
  };

  const postgres = await startTestPostgres();
  const configDir = mkdtempSync(path.join(os.tmpdir(), 'kairos-bench-cluster-'));
  const cleanUp = async (): Promise<void> => {
    rmSync(configDir, { recursive: true, force: true });
    await postgres.stop();
  };
  const unregister = onInterrupt(cleanUp);
  const rounds: Round[] = [];
  try {
    for (const nodes of nodeCounts) {
      process.stderr.write(`cluster: ${nodes} node${nodes === 1 ? '' : 's'}...\n`);
      rounds.push(await clusterRound(postgres, configDir, nodes, settings));
    }
  } finally {
    unregister();
    await cleanUp();
  }

  process.stdout.write(
    `scenario ${SCENARIO}: single-activity workflows, closed loop of ${settings.workflows} at C=${settings.concurrency}, ` +
      `PostgreSQL (${postgres.source === 'url' ? 'given server' : 'local, started for the run'}), ${settings.shards} shards, ` +
      `client calls round-robin over the nodes, ${workers === 'per-node' ? 'one worker per node' : 'one worker on node 1'}\n` +
      `All nodes, PostgreSQL, the client and the workers share this machine's ${os.cpus().length} cores: ` +
      `more nodes are more processes on the same CPUs, not more capacity.\n\n`,
  );
  printGrid(
    ['nodes', 'workers', 'shards/node', 'hand-off s', 'completed', 'failed', 'wall s', 'workflows/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'node CPU s', 'db CPU s', 'bench CPU s', 'node RSS MB'],
    rounds.map((r) => [
      r.nodes,
      r.workers,
      r.shardsPerNode.join('/'),
      r.handOffSeconds,
      r.completed,
      r.failed,
      r.wallSeconds,
      r.workflowsPerSecond,
      r.latencyMs.p50,
      r.latencyMs.p95,
      r.latencyMs.p99,
      r.latencyMs.max,
      r.nodeCpuSeconds,
      r.databaseCpuSeconds,
      r.benchCpuSeconds,
      r.nodeRssMB.map((mb) => mb.toFixed(0)).join('/'),
    ]),
  );
  const headlines: Headline[] = rounds.flatMap((r) => [
    { label: `workflows/s, ${r.nodes} node${r.nodes === 1 ? '' : 's'} (C=${settings.concurrency})`, value: r.workflowsPerSecond, unit: '/s' },
    { label: `p99 ms, ${r.nodes} node${r.nodes === 1 ? '' : 's'}`, value: r.latencyMs.p99, unit: 'ms' },
  ]);
  const result = finish(
    SCENARIO,
    args,
    {
      ...settings,
      nodes: nodeCounts,
      database: `PostgreSQL (${postgres.source === 'url' ? 'KAIROS_TEST_DATABASE_URL / DATABASE_URL' : 'local binaries, Unix socket'}), a fresh database per round`,
      server: 'kairos server start --config <file> per node, own processes, log level warn, UI off',
      clients: 'official @temporalio/client 1.24.0, one connection per node, workflow i through node i mod N',
      worker: `official @temporalio/worker 1.24.0, default options, in the load generator process: ${workers === 'per-node' ? 'one per node' : 'one, on node 1'}`,
    },
    { rounds },
    headlines,
  );
  if (rounds.some((r) => r.failed > 0)) process.exitCode = 1;
  return result;
}

async function clusterRound(postgres: TestPostgres, configDir: string, count: number, settings: Settings): Promise<Round> {
  const databaseUrl = await postgres.createDatabase('kairos_bench_cluster');
  const nodes: ClusterNode[] = [];
  const unregister = onInterrupt(() => Promise.all(nodes.map((n) => n.stop())).then(() => undefined));
  const node = (index: number): NodeSettings => ({ databaseUrl, nodeId: `node-${index + 1}`, shards: settings.shards, leaseSeconds: settings.leaseSeconds, configDir });
  try {
    // The first node creates the schema and the shard rows; the others then join together.
    nodes.push(await startClusterNode(node(0)));
    await Promise.all(Array.from({ length: count - 1 }, async (_, i) => void nodes.push(await startClusterNode(node(i + 1)))));
    const lastBannerAt = performance.now();
    nodes.sort((a, b) => a.nodeId.localeCompare(b.nodeId, 'en', { numeric: true }));
    const { owners, settledAt } = await waitForShardBalance(databaseUrl, nodes.map((n) => n.nodeId), settings.shards, 60_000);
    const loop = await runLoad(nodes, databaseUrl, settings);
    return {
      nodes: count,
      ...loop,
      shardsPerNode: nodes.map((n) => owners.get(n.nodeId) ?? 0),
      handOffSeconds: Math.max(0, settledAt - lastBannerAt) / 1000,
      nodeRssMB: nodes.map((n) => processMemory(n.pid).rssBytes / MB),
    };
  } catch (error) {
    for (const n of nodes) process.stderr.write(`--- ${n.nodeId} (${n.address}) ---\n${n.output()}\n`);
    const owners = await shardOwners(databaseUrl).catch(() => undefined);
    if (owners !== undefined) process.stderr.write(`shard owners: ${JSON.stringify(Object.fromEntries(owners))}\n`);
    throw error;
  } finally {
    unregister();
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

type LoadFigures = Omit<Round, 'nodes' | 'shardsPerNode' | 'handOffSeconds' | 'nodeRssMB'>;

/** Connects the workers and clients, warms them up, and runs the measured closed loop. */
async function runLoad(nodes: readonly ClusterNode[], databaseUrl: string, settings: Settings): Promise<LoadFigures> {
  const taskQueue = `bench-${SCENARIO}-${randomUUID().slice(0, 8)}`;
  const workerNodes = settings.workers === 'per-node' ? nodes : nodes.slice(0, 1);
  const benches: BenchClient[] = [];
  const extraConnections: Connection[] = [];
  // Not closed on Ctrl-C (the nodes are stopped instead): closing a channel under calls that the
  // client is retrying makes its retry timer throw.
  try {
    for (const n of workerNodes) benches.push(await connectBench(n.address, taskQueue));
    const clients: Client[] = benches.map((b) => b.client);
    for (const n of nodes.slice(benches.length)) {
      const connection = await Connection.connect({ address: n.address });
      extraConnections.push(connection);
      clients.push(new Client({ connection }));
    }
    return await runWorkers(
      benches.map((b) => b.worker),
      async () => {
        // Unmeasured: one workflow through each node's client (the worker's first task creates its
        // isolate; each connection opens its channel).
        for (const [index, client] of clients.entries()) {
          await client.workflow.execute(singleActivityWorkflow, { taskQueue, workflowId: `${taskQueue}-warmup-${index}` });
        }
        const latencies: number[] = [];
        const nodeCpuBefore = sum(nodes.map((n) => processCpuSeconds(n.pid)));
        const benchCpuBefore = ownCpuSeconds();
        const databaseCpuBefore = await databaseBackendCpu(databaseUrl);
        const startedAt = performance.now();
        const failed = await forEachConcurrently(settings.workflows, settings.concurrency, async (index) => {
          const client = clients[index % clients.length]!;
          const t0 = performance.now();
          await client.workflow.execute(singleActivityWorkflow, { taskQueue, workflowId: `${taskQueue}-${index}` });
          latencies.push(performance.now() - t0);
        });
        const wallSeconds = (performance.now() - startedAt) / 1000;
        const nodeCpuAfter = sum(nodes.map((n) => processCpuSeconds(n.pid)));
        const benchCpuAfter = ownCpuSeconds();
        const databaseCpuAfter = await databaseBackendCpu(databaseUrl);
        return {
          workers: benches.length,
          completed: latencies.length,
          failed,
          wallSeconds,
          workflowsPerSecond: latencies.length / wallSeconds,
          latencyMs: distribution(latencies),
          nodeCpuSeconds: nodeCpuAfter - nodeCpuBefore,
          benchCpuSeconds: benchCpuAfter - benchCpuBefore,
          databaseCpuSeconds: backendCpuBetween(databaseCpuBefore, databaseCpuAfter),
        };
      },
    );
  } finally {
    await Promise.all([...benches.map((b) => b.close()), ...extraConnections.map((c) => c.close())]);
  }
}

/** Runs `work` while every worker runs; the workers shut down (innermost first) once it settles. */
async function runWorkers<T>(workers: readonly Worker[], work: () => Promise<T>): Promise<T> {
  const [first, ...rest] = workers;
  if (first === undefined) return await work();
  return await first.runUntil(() => runWorkers(rest, work));
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
