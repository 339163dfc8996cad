// The database side of a cluster: node membership and history-shard leases, in PostgreSQL. The
// database is the coordinator; there is no consensus protocol between the nodes themselves.
//
// - cluster_settings.shard_count is fixed by the first node that starts on a database. Rows written
//   before it (a database first used without shards) are given their shard ids then, once.
// - A node is a member while its row in cluster_members is fresh (heartbeat within the lease) AND its
//   session advisory lock (class CLUSTER_LOCK_CLASS, its lock_no) is held. A crashed process loses the
//   lock at once (PostgreSQL ends its session); a hung one (SIGSTOP, a long pause, a partition) stops
//   heartbeating and stops counting after the lease.
// - A shard lease (cluster_shards: owner, range_id, lease_until in database time) is taken only when
//   the shard is free, expired, or held by a node that is no longer a member, and every take bumps
//   range_id. Every fenced write checks range_id (postgres-store.ts), so a node that lost a lease can
//   write nothing more to that shard. Renewals and releases name the range id they hold.
//
// All statements here run on the member session (one dedicated connection, also used for LISTEN).

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PersistenceError } from '../errors.js';
import { describeUrl } from './connection.js';
import { withMigrationLock } from './migrations.js';

/**
 * The lock a single-node Kairos (before clustering) held exclusively on its database. Cluster nodes hold
 * it shared: such an old server then refuses to start beside them, and they refuse to join beside it.
 */
const LEGACY_NODE_LOCK = 0x6b61_6972;
/** Arbitrary, fixed: the advisory lock class of member locks ("KNOD"); the second key is lock_no. */
const CLUSTER_LOCK_CLASS = 0x4b4e4f44;
const NOTIFY_CHANNEL = 'kairos_cluster';
/** A take-over waits at most this long for a batch that holds its shard row; it is retried next tick. */
const LOCK_TIMEOUT_MS = 2000;

export interface Member {
  readonly nodeId: string;
  readonly address: string;
}

export interface ShardLease {
  readonly shardId: number;
  readonly rangeId: number;
}

export interface ShardRow {
  readonly shardId: number;
  readonly owner: string | null;
  readonly rangeId: number;
}

export interface CoordinatorOptions {
  readonly url: string;
  readonly nodeId: string;
  /** host:port other nodes reach this node's gRPC frontend at. */
  readonly address: string;
  readonly shardCount: number;
  readonly leaseMs: number;
  /** Computes the shard of rows written before the database had a shard count. */
  readonly shardOf: (namespaceId: string, workflowId: string) => number;
}

/** SQL: the member row `m` is live (fresh heartbeat, lock held by a session of this database). */
const LIVE = `m.heartbeat_at > now() - $LEASE * interval '1 millisecond' AND EXISTS (
  SELECT 1 FROM pg_locks l
   WHERE l.locktype = 'advisory' AND l.granted AND l.classid = ${CLUSTER_LOCK_CLASS}::oid
     AND l.objid = m.lock_no::oid AND l.objsubid = 2
     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))`;

function live(leaseParam: string): string {
  return LIVE.replace('$LEASE', leaseParam);
}

export class PostgresCoordinator {
  private notifyHandler: ((payload: string) => void) | null = null;
  private lost: Error | null = null;

  private constructor(
    private readonly session: pg.Client,
    private readonly options: CoordinatorOptions,
    /** The secret every node-to-node call carries (random, made by the first node, kept in cluster_settings). */
    readonly secret: string,
  ) {
    session.on('notification', (message) => {
      if (message.channel === NOTIFY_CHANNEL && message.payload !== undefined) this.notifyHandler?.(message.payload);
    });
    // The member lock lives and dies with this session: once it is gone, this node is not a member.
    session.on('error', (err) => {
      this.lost ??= err;
    });
    session.on('end', () => {
      this.lost ??= new Error('the member session ended');
    });
  }

  /**
   * Joins the cluster: checks (or fixes, on first use) the shard count, refuses a node id that a live
   * node already uses, takes the member lock and writes the member row. Searches `search_path` as the
   * store's pool does (the URL's).
   */
  static async join(options: CoordinatorOptions): Promise<PostgresCoordinator> {
    const session = new pg.Client({ connectionString: options.url, application_name: `kairos-member-${options.nodeId}`, keepAlive: true });
    session.on('error', () => undefined);
    try {
      await session.connect();
      await session.query(`SET lock_timeout = ${LOCK_TIMEOUT_MS}`);
      const { rows: legacy } = await session.query<{ ok: boolean }>('SELECT pg_try_advisory_lock_shared($1) AS ok', [LEGACY_NODE_LOCK]);
      if (legacy[0]?.ok !== true) {
        throw new PersistenceError(`a Kairos server of a version without clustering is running on ${describeUrl(options.url)}: stop it before starting cluster nodes on that database`);
      }
      let secret = '';
      await withMigrationLock(session, async () => {
        await fixShardCount(session, options);
        secret = await clusterSecret(session);
        const { rows } = await session.query<{ live: boolean }>(
          `SELECT ${live('$2')} AS live FROM cluster_members m WHERE m.node_id = $1`,
          [options.nodeId, options.leaseMs],
        );
        if (rows[0]?.live === true) {
          throw new PersistenceError(`node id ${options.nodeId} is in use by a running node of the cluster on ${describeUrl(options.url)}: give each node its own cluster.nodeId`);
        }
        const lockNo = Number((await session.query<{ n: string }>("SELECT nextval('cluster_member_lock_no') AS n")).rows[0]?.n);
        await session.query('SELECT pg_advisory_lock($1, $2)', [CLUSTER_LOCK_CLASS, lockNo]);
        await session.query(
          `INSERT INTO cluster_members (node_id, address, lock_no) VALUES ($1, $2, $3)
             ON CONFLICT (node_id) DO UPDATE SET address = $2, lock_no = $3, started_at = now(), heartbeat_at = now()`,
          [options.nodeId, options.address, lockNo],
        );
      });
      await session.query(`LISTEN ${NOTIFY_CHANNEL}`);
      return new PostgresCoordinator(session, options, secret);
    } catch (err) {
      await session.end().catch(() => undefined);
      throw err;
    }
  }

  /** False once the member session is gone (database restarted, connection cut): this node must join again. */
  get alive(): boolean {
    return this.lost === null;
  }

  /** Called with every NOTIFY payload of the cluster channel (this node's own included). */
  onNotify(handler: (payload: string) => void): void {
    this.notifyHandler = handler;
  }

  /** Sends a payload to every node (ordered after this session's earlier statements). */
  async notify(payload: string): Promise<void> {
    await this.query('SELECT pg_notify($1, $2)', [NOTIFY_CHANNEL, payload]);
  }

  /**
   * Asks every other node to run its shard tick now (`{"t":"tick","n":<node id>}`): after a node joined,
   * left or released shards, the nodes they move to take them at once.
   */
  async notifyTick(): Promise<void> {
    await this.notify(JSON.stringify({ t: 'tick', n: this.options.nodeId }));
  }

  /** Refreshes this node's heartbeat and returns the live members (this node included). */
  async heartbeat(): Promise<Member[]> {
    const { rowCount } = await this.query('UPDATE cluster_members SET heartbeat_at = now(), address = $2 WHERE node_id = $1', [this.options.nodeId, this.options.address]);
    if (rowCount !== 1) throw new PersistenceError(`node ${this.options.nodeId} is no longer in cluster_members`);
    const { rows } = await this.query<{ nodeId: string; address: string }>(
      `SELECT m.node_id AS "nodeId", m.address FROM cluster_members m WHERE ${live('$1')} ORDER BY m.node_id`,
      [this.options.leaseMs],
    );
    return rows;
  }

  /** Every shard row: the routing table (owner node ids; the caller checks they are members). */
  async shards(): Promise<ShardRow[]> {
    const { rows } = await this.query<ShardRow>('SELECT shard_id AS "shardId", owner, range_id AS "rangeId" FROM cluster_shards ORDER BY shard_id');
    return rows.map((r) => ({ shardId: r.shardId, owner: r.owner, rangeId: Number(r.rangeId) }));
  }

  /**
   * Takes the leases of `shardIds` that are free, expired or held by a node that is not a member any
   * more (or by an earlier process of this node id), bumping each one's range id. Returns those taken.
   */
  async acquire(shardIds: readonly number[]): Promise<ShardLease[]> {
    if (shardIds.length === 0) return [];
    const { rows } = await this.query<ShardLease>(
      `UPDATE cluster_shards s SET owner = $1, range_id = s.range_id + 1, lease_until = now() + $3 * interval '1 millisecond'
        WHERE s.shard_id = ANY($2::integer[])
          AND (s.owner IS NULL OR s.owner = $1 OR s.lease_until < now()
               OR NOT EXISTS (SELECT 1 FROM cluster_members m WHERE m.node_id = s.owner AND ${live('$3')}))
        RETURNING s.shard_id AS "shardId", s.range_id AS "rangeId"`,
      [this.options.nodeId, shardIds, this.options.leaseMs],
    );
    return rows.map((r) => ({ shardId: r.shardId, rangeId: Number(r.rangeId) }));
  }

  /** Extends the leases still held under the given range ids; returns those (the others were lost). */
  async renew(leases: readonly ShardLease[]): Promise<ShardLease[]> {
    if (leases.length === 0) return [];
    const { rows } = await this.query<ShardLease>(
      `UPDATE cluster_shards s SET lease_until = now() + $4 * interval '1 millisecond'
         FROM unnest($2::integer[], $3::bigint[]) AS held(shard_id, range_id)
        WHERE s.owner = $1 AND s.shard_id = held.shard_id AND s.range_id = held.range_id
        RETURNING s.shard_id AS "shardId", s.range_id AS "rangeId"`,
      [this.options.nodeId, leases.map((l) => l.shardId), leases.map((l) => l.rangeId), this.options.leaseMs],
    );
    return rows.map((r) => ({ shardId: r.shardId, rangeId: Number(r.rangeId) }));
  }

  /** Gives leases up (the shard moves to another node, or this node stops). */
  async release(leases: readonly ShardLease[]): Promise<void> {
    if (leases.length === 0) return;
    await this.query(
      `UPDATE cluster_shards s SET owner = NULL, lease_until = 'epoch'
         FROM unnest($2::integer[], $3::bigint[]) AS held(shard_id, range_id)
        WHERE s.owner = $1 AND s.shard_id = held.shard_id AND s.range_id = held.range_id`,
      [this.options.nodeId, leases.map((l) => l.shardId), leases.map((l) => l.rangeId)],
    );
  }

  /** Leaves the cluster: releases `leases`, removes the member row, ends the session (and its lock). */
  async leave(leases: readonly ShardLease[]): Promise<void> {
    try {
      if (this.lost === null) {
        await this.release(leases);
        await this.query('DELETE FROM cluster_members WHERE node_id = $1', [this.options.nodeId]);
        await this.notifyTick();
      }
    } finally {
      await this.session.end().catch(() => undefined);
    }
  }

  /** Ends the session without releasing anything (a node that lost its database). */
  async close(): Promise<void> {
    await this.session.end().catch(() => undefined);
  }

  private async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    if (this.lost !== null) throw new PersistenceError(`the cluster member session is gone: ${this.lost.message}`);
    try {
      return await this.session.query<R>(text, values);
    } catch (err) {
      throw new PersistenceError(`cluster coordination query failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
}

/** The cluster's peer secret, made on first use. */
async function clusterSecret(session: pg.Client): Promise<string> {
  await session.query("INSERT INTO cluster_settings (name, value) VALUES ('peer_secret', $1) ON CONFLICT (name) DO NOTHING", [randomBytes(32).toString('base64url')]);
  const { rows } = await session.query<{ value: string }>("SELECT value FROM cluster_settings WHERE name = 'peer_secret'");
  const secret = rows[0]?.value;
  if (!secret) throw new PersistenceError('the cluster has no peer secret');
  return secret;
}

/** Records the shard count on first use (giving earlier rows their shards), or checks it is unchanged. */
async function fixShardCount(session: pg.Client, options: CoordinatorOptions): Promise<void> {
  const { rows } = await session.query<{ value: string }>("SELECT value FROM cluster_settings WHERE name = 'shard_count'");
  const stored = rows[0]?.value;
  if (stored !== undefined) {
    if (Number(stored) !== options.shardCount) {
      throw new PersistenceError(
        `the database ${describeUrl(options.url)} is divided into ${stored} shards; this node was configured with ` +
          `${options.shardCount} (cluster.shards): the shard count cannot change once set, configure ${stored}`,
      );
    }
    return;
  }
  await session.query('BEGIN');
  try {
    for (const table of ['executions', 'timer_tasks']) {
      const { rows: ids } = await session.query<{ ns: string; wid: string }>(`SELECT DISTINCT namespace_id AS ns, workflow_id AS wid FROM ${table}`);
      for (let i = 0; i < ids.length; i += 1000) {
        const chunk = ids.slice(i, i + 1000);
        await session.query(
          `UPDATE ${table} t SET shard_id = v.shard FROM unnest($1::text[], $2::text[], $3::integer[]) AS v(ns, wid, shard)
            WHERE t.namespace_id = v.ns AND t.workflow_id = v.wid`,
          [chunk.map((r) => r.ns), chunk.map((r) => r.wid), chunk.map((r) => options.shardOf(r.ns, r.wid))],
        );
      }
    }
    await session.query('INSERT INTO cluster_shards (shard_id) SELECT generate_series(0, $1::integer - 1)', [options.shardCount]);
    await session.query("INSERT INTO cluster_settings (name, value) VALUES ('shard_count', $1)", [String(options.shardCount)]);
    await session.query('COMMIT');
  } catch (err) {
    await session.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
