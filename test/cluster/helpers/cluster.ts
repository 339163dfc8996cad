/**
 * A Kairos cluster for end-to-end tests: one throwaway PostgreSQL database, several `kairos server
 * start --config FILE` processes on it (each with its own port, node id and config file), and a
 * connection pool to read the cluster tables (`cluster_shards`, `cluster_members`, `executions`).
 *
 * A node can be stopped gracefully (SIGTERM: it releases its shards), killed (SIGKILL), paused and
 * resumed (SIGSTOP/SIGCONT) and started again on the same port, node id and config. Each node's whole
 * output goes to a log file in the cluster's temporary directory (kept when a test failed, see
 * `close`), and its last few kilobytes are kept in memory for failure messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startTestPostgres, type TestPostgres } from '@kairos/server/test-postgres';
import { findFreePort, KAIROS_BIN, REPO_ROOT, waitForBanner } from '../../e2e/helpers/server.js';
import { waitFor } from '../../e2e/helpers/sdk.js';
// The server's own shard function: a test must find an execution's owner exactly as the nodes do.
import { shardOf } from '../../../packages/server/src/cluster/shards.js';

export { waitFor };

const BANNER = /Kairos Server:\s+(\S+:\d+)/;
const STARTUP_DEADLINE_MS = 45_000;
const STOP_DEADLINE_MS = 15_000;
const OUTPUT_TAIL_CHARS = 16_000;

/** Children still alive when the test process exits are killed, so a crashed test leaves no node behind. */
const liveChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL'); // SIGKILL ends a SIGSTOPped process too
});

export interface ClusterSettings {
  readonly shards: number;
  readonly leaseSeconds: number;
  readonly logLevel: string;
}

class OutputTail {
  private text = '';
  append(chunk: string): void {
    this.text = (this.text + chunk).slice(-OUTPUT_TAIL_CHARS);
  }
  toString(): string {
    return this.text;
  }
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** One server node: a config file, a port and a node id that survive restarts. */
export class ClusterNode {
  readonly address: string;
  private readonly configFile: string;
  private readonly tail = new OutputTail();
  private readonly log: WriteStream;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** Set while SIGSTOPped, so that teardown resumes the node before stopping it. */
  private paused = false;

  constructor(
    readonly nodeId: string,
    readonly port: number,
    databaseUrl: string,
    settings: ClusterSettings,
    dir: string,
  ) {
    this.address = `127.0.0.1:${port}`;
    this.configFile = path.join(dir, `${nodeId}.yaml`);
    this.log = createWriteStream(path.join(dir, `${nodeId}.log`), { flags: 'a' });
    // JSON strings are valid YAML scalars: quote everything that could be misread.
    writeFileSync(
      this.configFile,
      [
        `database: { url: ${JSON.stringify(databaseUrl)} }`,
        `frontend: { ip: 127.0.0.1, port: ${port} }`,
        'ui: { enabled: false }',
        `cluster: { nodeAddress: ${JSON.stringify(this.address)}, shards: ${settings.shards}, leaseSeconds: ${settings.leaseSeconds}, nodeId: ${JSON.stringify(nodeId)} }`,
        'namespaces: [default]',
        `log: { level: ${settings.logLevel}, format: json }`,
        '',
      ].join('\n'),
    );
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** True while the process exists (paused or not). */
  get running(): boolean {
    const child = this.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** Spawns the node and resolves once it printed its banner; rejects (killing it) if it exits first. */
  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.nodeId} is already running`);
    const args = [KAIROS_BIN, 'server', 'start', '--config', this.configFile];
    this.note(`--- start ${new Date().toISOString()} ---\n`);
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    this.child = child;
    this.paused = false;
    liveChildren.add(child);
    this.exited = waitForExit(child).then(() => {
      liveChildren.delete(child);
      this.note(`--- exited ${new Date().toISOString()} (code ${String(child.exitCode)}, signal ${String(child.signalCode)}) ---\n`);
    });
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');

    const describe = (why: string): Error => new Error(`${this.nodeId}: ${why}\ncommand: node ${args.join(' ')}\n${this.output()}`);
    await waitForBanner(child, BANNER, STARTUP_DEADLINE_MS, (_stream, chunk) => this.note(chunk), describe);
  }

  /** Sends `signal` (SIGKILL by default) and waits until the process has exited. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!this.running || child === undefined) return;
    child.kill(signal);
    if (this.paused && signal !== 'SIGKILL') child.kill('SIGCONT');
    await this.exited;
  }

  /** Graceful stop: SIGTERM (the node releases its shards), SIGKILL past a deadline. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!this.running || child === undefined) return;
    if (this.paused) this.resume();
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_DEADLINE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  /** Stops the node gracefully and starts it again on the same port, node id and database. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** SIGSTOP: the process keeps its sockets and its (soon stale) leases but runs no code. */
  pause(): void {
    if (!this.running) throw new Error(`${this.nodeId} is not running`);
    this.child?.kill('SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    this.child?.kill('SIGCONT');
    this.paused = false;
  }

  /** The last few kilobytes of the node's stdout and stderr. */
  output(): string {
    return `--- ${this.nodeId} (${this.address}) output ---\n${this.tail.toString()}`;
  }

  /** Flushes and closes the log file. */
  async closeLog(): Promise<void> {
    await new Promise<void>((resolve) => this.log.end(resolve));
  }

  private note(text: string): void {
    this.tail.append(text);
    this.log.write(text);
  }
}

export interface ShardRow {
  readonly shardId: number;
  readonly owner: string | null;
  readonly rangeId: bigint;
  /** True while `lease_until` is in the future (by the database's clock). */
  readonly leased: boolean;
}

export interface ExecutionRow {
  readonly namespaceId: string;
  readonly workflowId: string;
  readonly runId: string;
  readonly version: bigint;
  readonly status: number;
  readonly shardId: number;
  readonly shardRangeId: bigint;
}

/** `executions.status` of a running execution (WORKFLOW_EXECUTION_STATUS_RUNNING). */
export const STATUS_RUNNING = 1;

export interface OwnershipWait {
  /** Who may hold the leases (default: the running nodes). */
  readonly nodeIds?: readonly string[];
  /** Also require each of them to hold at least one shard. */
  readonly everyNodeOwns?: boolean;
  /** Also require the owners to stay the same this long (shards move between nodes for a few ticks after a join). */
  readonly stableMs?: number;
  readonly timeoutMs?: number;
}

export interface StartClusterOptions extends Partial<ClusterSettings> {
  /** How many nodes (default 3); they are named node-1, node-2, ... */
  readonly nodes?: number;
}

export interface Cluster {
  readonly settings: ClusterSettings;
  readonly nodes: readonly ClusterNode[];
  readonly databaseUrl: string;
  /** A small pool on the cluster's database, for checks. */
  readonly db: pg.Pool;
  /** The directory holding the config and log files. */
  readonly dir: string;
  node(nodeId: string): ClusterNode;
  shards(): Promise<ShardRow[]>;
  /** Shard ids leased (lease not expired) by `nodeId`. */
  shardsOf(nodeId: string): Promise<number[]>;
  executions(shardIds?: readonly number[]): Promise<ExecutionRow[]>;
  /**
   * Waits until every shard is leased by one of `nodeIds` (default: the running nodes) and, with
   * `everyNodeOwns`, each of them leases at least one shard. Resolves to the shard rows seen.
   */
  waitForOwnership(options?: OwnershipWait): Promise<ShardRow[]>;
  /** The database sessions of the cluster (who is in a transaction, who waits on a lock), for messages. */
  sessions(): Promise<string>;
  /** Output tails of every node, for failure messages. */
  output(): string;
  /** Stops every node (resuming paused ones) and the database; keeps the log directory if `keepLogs`. */
  close(keepLogs?: boolean): Promise<void>;
}

/** Starts PostgreSQL, creates a database and starts the nodes on it side by side. */
export async function startCluster(options: StartClusterOptions = {}): Promise<Cluster> {
  const settings: ClusterSettings = {
    shards: options.shards ?? 16,
    leaseSeconds: options.leaseSeconds ?? 3,
    logLevel: options.logLevel ?? 'info',
  };
  const nodeCount = options.nodes ?? 3;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kairos-cluster-'));
  const postgres: TestPostgres = await startTestPostgres();
  let db: pg.Pool | undefined;
  const nodes: ClusterNode[] = [];
  const close = async (keepLogs = false): Promise<void> => {
    await Promise.allSettled(nodes.map((node) => node.stop()));
    await Promise.allSettled(nodes.map((node) => node.closeLog()));
    await db?.end().catch(() => undefined);
    await postgres.stop();
    if (keepLogs) console.log(`cluster logs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  };
  try {
    const databaseUrl = await postgres.createDatabase('kairos_cluster');
    db = new pg.Pool({ connectionString: databaseUrl, max: 3 });
    const ports = new Set<number>();
    while (ports.size < nodeCount) ports.add(await findFreePort());
    [...ports].forEach((port, i) => nodes.push(new ClusterNode(`node-${i + 1}`, port, databaseUrl, settings, dir)));
    const started = await Promise.allSettled(nodes.map((node) => node.start()));
    const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return makeCluster(settings, nodes, databaseUrl, db, dir, close);
  } catch (error) {
    await close(true);
    throw error;
  }
}

function makeCluster(
  settings: ClusterSettings,
  nodes: ClusterNode[],
  databaseUrl: string,
  db: pg.Pool,
  dir: string,
  close: (keepLogs?: boolean) => Promise<void>,
): Cluster {
  const shards = async (): Promise<ShardRow[]> => {
    const { rows } = await db.query<{ shard_id: number; owner: string | null; range_id: string; leased: boolean }>(
      'SELECT shard_id, owner, range_id::text AS range_id, lease_until > now() AS leased FROM cluster_shards ORDER BY shard_id',
    );
    return rows.map((row) => ({ shardId: row.shard_id, owner: row.owner, rangeId: BigInt(row.range_id), leased: row.leased === true }));
  };
  const cluster: Cluster = {
    settings,
    nodes,
    databaseUrl,
    db,
    dir,
    node(nodeId) {
      const node = nodes.find((candidate) => candidate.nodeId === nodeId);
      if (node === undefined) throw new Error(`no node ${nodeId}`);
      return node;
    },
    shards,
    async shardsOf(nodeId) {
      return (await shards()).filter((row) => row.owner === nodeId && row.leased).map((row) => row.shardId);
    },
    async executions(shardIds) {
      const { rows } = await db.query<{
        namespace_id: string;
        workflow_id: string;
        run_id: string;
        version: string;
        status: number;
        shard_id: number;
        shard_range_id: string;
      }>(
        `SELECT namespace_id, workflow_id, run_id, version::text AS version, status, shard_id, shard_range_id::text AS shard_range_id
           FROM executions ${shardIds === undefined ? '' : 'WHERE shard_id = ANY($1::int[])'}`,
        shardIds === undefined ? [] : [[...shardIds]],
      );
      return rows.map((row) => ({
        namespaceId: row.namespace_id,
        workflowId: row.workflow_id,
        runId: row.run_id,
        version: BigInt(row.version),
        status: row.status,
        shardId: row.shard_id,
        shardRangeId: BigInt(row.shard_range_id),
      }));
    },
    async waitForOwnership({ nodeIds, everyNodeOwns = false, stableMs = 0, timeoutMs = 30_000 } = {}) {
      let last: ShardRow[] = [];
      // Since when the owners have been what they are now (while satisfying the conditions).
      let stable: { owners: string; since: number } | undefined;
      try {
        return await waitFor(
          async () => {
            const owners = new Set(nodeIds ?? nodes.filter((node) => node.running).map((node) => node.nodeId));
            last = await shards();
            const satisfied =
              last.length === settings.shards &&
              last.every((row) => row.leased && row.owner !== null && owners.has(row.owner)) &&
              (!everyNodeOwns || [...owners].every((owner) => last.some((row) => row.owner === owner)));
            if (!satisfied) {
              stable = undefined;
              return undefined;
            }
            const now = last.map((row) => row.owner).join(',');
            if (stable?.owners !== now) stable = { owners: now, since: Date.now() };
            return Date.now() - stable.since >= stableMs ? last : undefined;
          },
          { timeoutMs, intervalMs: 100, description: `every shard leased by ${nodeIds?.join(', ') ?? 'a running node'}` },
        );
      } catch (error) {
        throw new Error(`${(error as Error).message}\nshards: ${describeShards(last)}\n${await cluster.sessions()}`, { cause: error });
      }
    },
    async sessions() {
      try {
        const { rows } = await db.query<{ line: string }>(
          `SELECT concat_ws(' | ', pid, application_name, state, wait_event_type || ':' || wait_event,
                    'xact ' || round(extract(epoch FROM now() - xact_start)::numeric, 1) || ' s',
                    'blocked by ' || nullif(pg_blocking_pids(pid)::text, '{}'), left(regexp_replace(query, '\\s+', ' ', 'g'), 120)) AS line
             FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() ORDER BY xact_start NULLS LAST`,
        );
        return `database sessions:\n  ${rows.map((row) => row.line).join('\n  ')}`;
      } catch (error) {
        return `database sessions: (${(error as Error).message})`;
      }
    },
    output() {
      return nodes.map((node) => node.output()).join('\n');
    },
    close,
  };
  return cluster;
}

/** `shard:owner@range` for each shard (an expired lease in brackets), for messages. */
export function describeShards(rows: readonly ShardRow[]): string {
  return rows.map((row) => `${row.shardId}:${row.leased ? '' : '['}${row.owner ?? '-'}@${row.rangeId}${row.leased ? '' : ']'}`).join(' ');
}

/** How many rows of `rows` each owner leases, e.g. `node-1=6 node-2=5 node-3=5`. */
export function ownershipSummary(rows: readonly ShardRow[]): string {
  const counts = new Map<string, number>();
  for (const row of rows) {
    const owner = row.leased ? (row.owner ?? '-') : 'expired';
    counts.set(owner, (counts.get(owner) ?? 0) + 1);
  }
  return [...counts].sort().map(([owner, count]) => `${owner}=${count}`).join(' ');
}

/**
 * A fresh id (from `newId`) whose shard in the `default` namespace `nodeId` leases now. `shardKey` maps
 * the id to the workflow id its shard is computed from (a schedule's: its scheduler workflow id).
 */
export async function idOnShardOf(c: Cluster, nodeId: string, newId: () => string, shardKey: (id: string) => string = (id) => id): Promise<{ id: string; shardId: number }> {
  const { rows } = await c.db.query<{ id: string }>("SELECT id FROM namespaces WHERE name = 'default'");
  const namespaceId = rows[0]?.id;
  if (namespaceId === undefined) throw new Error('no default namespace in the database');
  const owned = new Set(await c.shardsOf(nodeId));
  for (;;) {
    const id = newId();
    const shardId = shardOf(namespaceId, shardKey(id), c.settings.shards);
    if (owned.has(shardId)) return { id, shardId };
  }
}
