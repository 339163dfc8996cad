// Membership, shard leases and fencing against a real PostgreSQL (test-postgres.ts): what a cluster
// node relies on the database for, without running nodes.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PersistenceError, ShardOwnershipLostError } from '../errors.js';
import { NO_VISIBILITY_EXTRAS } from '../store-conformance-visibility.js';
import type { ShardFence, TransitionWrite } from '../store.js';
import { PostgresCoordinator, type CoordinatorOptions } from './cluster-coordinator.js';
import { PostgresStore } from './postgres-store.js';
import { startTestPostgres, type TestPostgres } from './test-postgres.js';

let server: TestPostgres | undefined;
const open: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  server = await startTestPostgres();
}, 120_000);
afterAll(async () => {
  for (const o of open.reverse()) await o.close().catch(() => undefined);
  await server?.stop();
}, 60_000);

async function database(): Promise<{ url: string; store: PostgresStore }> {
  const url = await server!.createDatabase('kairos_cluster');
  const store = await PostgresStore.open({ url, poolSize: 2 });
  open.push(store);
  return { url, store };
}

async function join(url: string, nodeId: string, extra: Partial<CoordinatorOptions> = {}): Promise<PostgresCoordinator> {
  const coordinator = await PostgresCoordinator.join({ url, nodeId, address: `${nodeId}:7233`, shardCount: 4, leaseMs: 60_000, shardOf: () => 0, ...extra });
  open.push(coordinator);
  return coordinator;
}

function write(workflowId: string, version: number, fence: ShardFence): TransitionWrite {
  const key = { namespaceId: 'ns', workflowId, runId: 'run' };
  const summary = { workflowType: 'T', taskQueue: 'q', status: 1, startTimeMs: 1, executionTimeMs: 1, closeTimeMs: null, historyLength: version + 1 };
  return {
    executions: [{
      key, expectedVersion: version, newVersion: version + 1, state: new Uint8Array([version]), needsDispatch: true,
      summary: { ...summary, ...NO_VISIBILITY_EXTRAS }, events: [{ eventId: version + 1, data: new Uint8Array([1]) }],
      ...(version === 0 ? { setCurrent: { expectedCurrentRunId: null } } : {}),
    }],
    timersToAdd: [{ taskId: `t-${workflowId}-${version}`, fireAtMs: 5, key, data: new Uint8Array([2]) }],
    timersToDelete: [],
    fence,
  };
}

async function rows(url: string, sql: string): Promise<Array<Record<string, unknown>>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as Array<Record<string, unknown>>;
  } finally {
    await client.end();
  }
}

describe('shard leases', () => {
  it('takes free shards, bumps the range id, and leaves a live member its shards', async () => {
    const { url } = await database();
    const a = await join(url, 'a');
    const b = await join(url, 'b');
    expect((await a.heartbeat()).map((m) => m.nodeId)).toEqual(['a', 'b']);
    expect(await a.acquire([0, 1])).toEqual([{ shardId: 0, rangeId: 1 }, { shardId: 1, rangeId: 1 }]);
    expect(await b.acquire([1, 2])).toEqual([{ shardId: 2, rangeId: 1 }]);
    expect((await a.shards()).map((s) => s.owner)).toEqual(['a', 'a', 'b', null]);
    // A renewal names the range it holds: b cannot renew what a holds.
    expect(await b.renew([{ shardId: 0, rangeId: 1 }])).toEqual([]);
    expect(await a.renew([{ shardId: 0, rangeId: 1 }])).toEqual([{ shardId: 0, rangeId: 1 }]);
    // Released shards are free for anyone, under a new range id.
    await a.release([{ shardId: 1, rangeId: 1 }]);
    expect(await b.acquire([1])).toEqual([{ shardId: 1, rangeId: 2 }]);
  });

  it('frees the shards of a node whose session ended at once, and of a silent node after its lease', async () => {
    const { url } = await database();
    const crashed = await join(url, 'crashed');
    await crashed.acquire([0]);
    const silent = await join(url, 'silent', { leaseMs: 1000 });
    await silent.acquire([1]);
    const survivor = await join(url, 'survivor', { leaseMs: 1000 });
    expect(await survivor.acquire([0, 1])).toEqual([]);
    await crashed.close(); // its session, and with it its member lock, is gone
    expect(await survivor.acquire([0])).toEqual([{ shardId: 0, rangeId: 2 }]);
    expect(await survivor.acquire([1])).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 1200)); // `silent` neither heartbeats nor renews
    expect(await survivor.acquire([1])).toEqual([{ shardId: 1, rangeId: 2 }]);
    expect(await silent.renew([{ shardId: 1, rangeId: 1 }])).toEqual([]);
  });

  it('refuses a node id a live node uses, and a shard count other than the database has', async () => {
    const { url } = await database();
    await join(url, 'n1');
    await expect(join(url, 'n1')).rejects.toThrow(/node id n1 is in use/);
    await expect(join(url, 'n2', { shardCount: 8 })).rejects.toThrow(/divided into 4 shards/);
  });

  it('refuses to join beside a server of a version without clustering, and makes one secret for all nodes', async () => {
    const { url } = await database();
    const old = new pg.Client({ connectionString: url });
    await old.connect();
    await old.query('SELECT pg_advisory_lock($1)', [0x6b61_6972]);
    await expect(join(url, 'n1')).rejects.toThrow(/version without clustering is running/);
    await old.end();
    const a = await join(url, 'n1');
    const b = await join(url, 'n2');
    expect(a.secret).toMatch(/^[\w-]{40,}$/);
    expect(b.secret).toBe(a.secret);
  });

  it('gives rows written before the first node their shards', async () => {
    const { url, store } = await database();
    await store.commit({ ...write('early', 0, { shardId: 0, rangeId: 0 }), fence: undefined } as TransitionWrite);
    await join(url, 'n1', { shardOf: (_ns, wid) => (wid === 'early' ? 3 : 0) });
    expect(await rows(url, 'SELECT shard_id FROM executions UNION ALL SELECT shard_id FROM timer_tasks')).toEqual([{ shard_id: 3 }, { shard_id: 3 }]);
  });
});

describe('fencing', () => {
  it('writes a fenced transition only while its range id is current, and nothing after a take-over', async () => {
    const { url, store } = await database();
    const a = await join(url, 'a');
    const [lease] = await a.acquire([2]);
    await store.commit(write('wf', 0, lease!));
    expect(await rows(url, 'SELECT shard_id, shard_range_id::int, version::int FROM executions')).toEqual([{ shard_id: 2, shard_range_id: 1, version: 1 }]);
    expect(await store.listExecutionsNeedingDispatch([2])).toHaveLength(1);
    expect(await store.listExecutionsNeedingDispatch([1])).toHaveLength(0);
    expect((await store.listTimerTasks(10, 10, [2])).map((t) => t.taskId)).toEqual(['t-wf-0']);

    await a.close(); // a dies; b takes shard 2 over
    const b = await join(url, 'b');
    expect(await b.acquire([2])).toEqual([{ shardId: 2, rangeId: 2 }]);
    const stale = store.commit(write('wf', 1, lease!));
    await expect(stale).rejects.toBeInstanceOf(ShardOwnershipLostError);
    await expect(store.deleteExecution({ namespaceId: 'ns', workflowId: 'wf', runId: 'run' }, lease!)).rejects.toBeInstanceOf(ShardOwnershipLostError);
    expect(await rows(url, 'SELECT version::int FROM executions')).toEqual([{ version: 1 }]);
    expect(await rows(url, 'SELECT count(*)::int AS n FROM timer_tasks')).toEqual([{ n: 1 }]);
    // In a batch, only the stale transition fails.
    const results = await store.commitBatch([write('wf', 1, { shardId: 2, rangeId: 2 }), write('other', 0, lease!)]);
    expect(results[0]).toBeNull();
    expect(results[1]).toBeInstanceOf(ShardOwnershipLostError);
    expect(await rows(url, 'SELECT workflow_id, shard_range_id::int FROM executions ORDER BY workflow_id')).toEqual([{ workflow_id: 'wf', shard_range_id: 2 }]);
  });

  it("lists the held shards' timers after a keyset (fire time, task id), leaving other shards' rows out", async () => {
    const { url, store } = await database();
    const a = await join(url, 'a');
    for (const lease of await a.acquire([1, 2, 3])) {
      const first = write(`wf${lease.shardId}`, 0, lease);
      const key = first.executions[0]!.key;
      const timersToAdd = ['x', 'y', 'z'].map((id) => ({ taskId: `${id}${lease.shardId}`, fireAtMs: 7, key, data: new Uint8Array([1]) }));
      await store.commit({ ...first, timersToAdd });
    }
    const ids = async (shardIds: number[], after?: { fireAtMs: number; taskId: string }): Promise<string[]> =>
      (await store.listTimerTasks(10, 2, shardIds, after)).map((t) => t.taskId);
    expect(await ids([2])).toEqual(['x2', 'y2']);
    expect(await ids([2], { fireAtMs: 7, taskId: 'y2' })).toEqual(['z2']);
    expect(await ids([1, 2], { fireAtMs: 7, taskId: 'x2' })).toEqual(['y1', 'y2']);
    expect(await ids([1, 3], { fireAtMs: 7, taskId: 'z1' })).toEqual(['z3']);
    expect(await ids([1, 2, 3], { fireAtMs: 8, taskId: '' })).toEqual([]);
  });

  it('makes a take-over wait for a batch that holds the shard row, so neither sees half of the other', async () => {
    const { url } = await database();
    const a = await join(url, 'a', { leaseMs: 1000 });
    const [lease] = await a.acquire([0]);
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    open.push({ close: () => holder.end() });
    await holder.query('BEGIN');
    await holder.query('SELECT range_id FROM cluster_shards WHERE shard_id = 0 FOR SHARE');
    await a.close();
    const b = await join(url, 'b');
    // b's take-over waits for the open batch (up to its lock timeout, then tries again next tick).
    const taking = b.acquire([0]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await holder.query('COMMIT');
    expect(await taking).toEqual([{ shardId: 0, rangeId: (lease?.rangeId ?? 0) + 1 }]);
  });

  it('is refused by the SQLite store, which has no shards', async () => {
    const { SqliteStore } = await import('../sqlite/sqlite-store.js');
    const store = SqliteStore.open({ filename: ':memory:' });
    await expect(store.commit(write('wf', 0, { shardId: 0, rangeId: 1 }))).rejects.toBeInstanceOf(PersistenceError);
    await store.close();
  });
});
