/**
 * Kairos cluster nodes for the cluster benchmark: each `kairos server start --config <file>` in its own
 * process on a free port, all on one PostgreSQL database, plus what the bench reads about them (CPU
 * time and RSS from /proc, which node owns how many shards).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { findFreePort, KAIROS_BIN, REPO_ROOT } from '../test/e2e/helpers/server.js';
import { processCpuSeconds } from './harness.js';

const BANNER = /Kairos Server:\s+(\S+:\d+)/;
const STARTUP_DEADLINE_MS = 60_000;
const STOP_DEADLINE_MS = 20_000;
const OUTPUT_TAIL_CHARS = 8_000;

export interface NodeSettings {
  readonly databaseUrl: string;
  readonly nodeId: string;
  readonly shards: number;
  readonly leaseSeconds: number;
  /** Where the node's config file is written. */
  readonly configDir: string;
}

export interface ClusterNode {
  readonly nodeId: string;
  /** `host:port` of its gRPC frontend (also its `cluster.nodeAddress`). */
  readonly address: string;
  readonly pid: number | undefined;
  /** SIGTERM (it hands its shards over), SIGKILL past a deadline; resolves once the process exited. */
  stop(): Promise<void>;
  /** The last few kilobytes of its stdout and stderr. */
  output(): string;
}

/** Children still alive when the bench exits are killed, so a crashed run leaves no node behind. */
const liveChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

/** The node's config file, in the shape docs/operations.md describes ("Running a cluster"). */
function configText(settings: NodeSettings, port: number): string {
  const address = `127.0.0.1:${port}`;
  // JSON strings are valid YAML scalars: the URL may hold any character.
  return [
    `database: { url: ${JSON.stringify(settings.databaseUrl)} }`,
    `frontend: { ip: 127.0.0.1, port: ${port} }`,
    'ui: { enabled: false }',
    `cluster: { nodeAddress: ${JSON.stringify(address)}, shards: ${settings.shards}, leaseSeconds: ${settings.leaseSeconds}, nodeId: ${JSON.stringify(settings.nodeId)} }`,
    'namespaces: [default]',
    'log: { level: warn }',
    '',
  ].join('\n');
}

/** Starts one node and resolves once it printed its banner; retries on another port if its port was taken. */
export async function startClusterNode(settings: NodeSettings): Promise<ClusterNode> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await findFreePort();
    const configFile = path.join(settings.configDir, `${settings.nodeId}.yaml`);
    writeFileSync(configFile, configText(settings, port));
    try {
      return await spawnNode(settings.nodeId, configFile);
    } catch (error) {
      lastError = error;
      if (!/EADDRINUSE|address already in use/i.test(String(error))) break;
    }
  }
  throw lastError;
}

async function spawnNode(nodeId: string, configFile: string): Promise<ClusterNode> {
  const args = [KAIROS_BIN, 'server', 'start', '--config', configFile];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  liveChildren.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve())).then(() => void liveChildren.delete(child));
  let tail = '';
  const append = (chunk: string): void => {
    tail = (tail + chunk).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', append);

  const address = await new Promise<string>((resolve, reject) => {
    let pending = '';
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`node ${nodeId}: ${why}\ncommand: node ${args.join(' ')}\n--- output ---\n${tail}`));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      fail(`exited before it was ready (code ${String(code)}, signal ${String(signal)})`);
    const timer = setTimeout(() => fail(`did not print its banner within ${STARTUP_DEADLINE_MS} ms`), STARTUP_DEADLINE_MS);
    child.once('exit', onExit);
    child.once('error', (error) => fail(`could not spawn: ${error.message}`));
    child.stdout.on('data', function watch(chunk: string) {
      append(chunk);
      pending += chunk;
      const match = BANNER.exec(pending);
      if (match?.[1] === undefined) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      child.stdout.off('data', watch);
      child.stdout.on('data', append);
      resolve(match[1]);
    });
  });

  let stopping: Promise<void> | undefined;
  return {
    nodeId,
    address,
    pid: child.pid,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_DEADLINE_MS);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
    output: () => tail,
  };
}

/** CPU seconds of this process (the load generator, client and workers). */
export function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** How many shards each node holds a live lease on, read from the `cluster_shards` table. */
export async function shardOwners(databaseUrl: string): Promise<Map<string, number>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ owner: string; shards: string }>(
      'SELECT owner, count(*) AS shards FROM cluster_shards WHERE owner IS NOT NULL AND lease_until > now() GROUP BY owner',
    );
    return new Map(rows.map((row) => [row.owner, Number(row.shards)]));
  } finally {
    await client.end();
  }
}

export interface ShardSplit {
  /** Shards leased to each node. */
  readonly owners: ReadonlyMap<string, number>;
  /** `performance.now()` when the split was first seen settled (checked every 100 ms). */
  readonly settledAt: number;
}

/**
 * Waits until every one of `shards` is leased to one of `nodeIds`, each node holds at least one, and
 * the split stayed the same for a second (joins hand shards over one by one); returns the split.
 */
export async function waitForShardBalance(databaseUrl: string, nodeIds: readonly string[], shards: number, timeoutMs: number): Promise<ShardSplit> {
  const deadline = Date.now() + timeoutMs;
  let stable = '';
  let stableSince = 0;
  for (;;) {
    const owners = await shardOwners(databaseUrl);
    const settled =
      nodeIds.every((id) => (owners.get(id) ?? 0) > 0) &&
      [...owners.keys()].every((id) => nodeIds.includes(id)) &&
      [...owners.values()].reduce((a, b) => a + b, 0) === shards;
    const key = JSON.stringify([...owners].sort());
    if (!settled || key !== stable) {
      stable = settled ? key : '';
      stableSince = performance.now();
    } else if (performance.now() - stableSince >= 1_000) {
      return { owners, settledAt: stableSince };
    }
    if (Date.now() > deadline) {
      throw new Error(`shards not shared out among ${nodeIds.join(', ')} within ${timeoutMs} ms; last seen: ${key}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * CPU seconds used so far by each PostgreSQL backend serving `databaseUrl`'s database, by pid (read
 * from /proc, so only for a PostgreSQL on this machine; empty otherwise). The difference of two
 * readings is the database's share of a run, less backends that ended in between and the server's
 * own background processes (WAL writer, checkpointer).
 */
export async function databaseBackendCpu(databaseUrl: string): Promise<Map<number, number>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
    return new Map(rows.map((row) => [row.pid, processCpuSeconds(row.pid)] as const).filter(([, cpu]) => !Number.isNaN(cpu)));
  } finally {
    await client.end();
  }
}

/** CPU seconds between two readings of databaseBackendCpu (NaN when the database is not on this machine). */
export function backendCpuBetween(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  if (after.size === 0) return Number.NaN;
  let total = 0;
  for (const [pid, cpu] of after) total += cpu - (before.get(pid) ?? 0);
  return total;
}
