// Which shards this node holds, kept in step with the database every tick (a fifth of the lease):
//
//   heartbeat ─► renew held leases (a lease not renewed was taken over: drop the shard)
//             ─► desired = rendezvous(shards, live members) for this node
//             ─► release held-but-not-desired (after dropping their state here)
//             ─► acquire desired-but-not-held (free, expired, or held by a node that is gone)
//             ─► refresh the routing table (owner of every shard)
//
// A lease counts as held only until `renewedAt + 0.8 × lease` by this process's clock: a node that
// cannot renew (database unreachable, process paused) stops serving its shards before another node
// may take them, and fencing (range ids checked by every write) covers whatever is already in flight.
import type { Logger } from '../logger.js';
import type { ShardFence } from '../persistence/store.js';
import type { Member, PostgresCoordinator, ShardLease, ShardRow } from '../persistence/postgres/cluster-coordinator.js';
import { assignShards } from './shards.js';

/** What the node does when shards arrive or leave (load their tasks and timers; forget their state). */
export interface ShardListener {
  acquired(shardIds: readonly number[]): Promise<void>;
  lost(shardIds: readonly number[]): void;
}

interface Held {
  readonly rangeId: number;
  validUntil: number;
}

/** Share of the lease a node trusts its own lease for after a renewal (the rest is margin). */
const TRUSTED_LEASE_SHARE = 0.8;

export class ShardController {
  private readonly held = new Map<number, Held>();
  private table: readonly ShardRow[] = [];
  private members = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private coordinator: PostgresCoordinator,
    /** Joins the cluster again with a new member session (after the old one was lost). */
    private readonly rejoin: () => Promise<PostgresCoordinator>,
    readonly nodeId: string,
    readonly shardCount: number,
    private readonly leaseMs: number,
    private readonly listener: ShardListener,
    private readonly logger: Logger,
  ) {}

  /** Runs the first tick (this node takes what it can right away), then ticks every lease / 5. */
  async start(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => void this.tick(), Math.max(100, Math.floor(this.leaseMs / 5)));
    this.timer.unref();
  }

  /** The fence to write `shardId` under, or null when this node does not (surely) hold its lease. */
  fence(shardId: number): ShardFence | null {
    const held = this.held.get(shardId);
    if (!held || Date.now() > held.validUntil) return null;
    return { shardId, rangeId: held.rangeId };
  }

  holds(shardId: number): boolean {
    return this.fence(shardId) !== null;
  }

  /** The gRPC address of the live node holding `shardId` per the last tick, or null (none / this node). */
  ownerAddress(shardId: number): { nodeId: string; address: string } | null {
    const owner = this.table[shardId]?.owner;
    if (!owner || owner === this.nodeId) return null;
    const address = this.members.get(owner);
    return address === undefined ? null : { nodeId: owner, address };
  }

  /** Live members other than this node, per the last tick. */
  peers(): Member[] {
    return [...this.members].filter(([id]) => id !== this.nodeId).map(([nodeId, address]) => ({ nodeId, address }));
  }

  addressOf(nodeId: string): string | undefined {
    return this.members.get(nodeId);
  }

  heldShards(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  /** A write found `fence`'s shard taken over: drop it now rather than at the next tick. */
  reportLost(fence: ShardFence): void {
    const held = this.held.get(fence.shardId);
    if (held?.rangeId !== fence.rangeId) return;
    this.drop([fence.shardId], 'lost');
  }

  /** Stops ticking and leaves the cluster, releasing every lease (after dropping their state here). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.ticking?.catch(() => undefined);
    const leases = this.leases();
    this.drop(leases.map((l) => l.shardId), 'released');
    await this.coordinator.leave(leases);
  }

  /** One round of the loop above; rounds never overlap. */
  tick(): Promise<void> {
    if (this.ticking || this.stopped) return this.ticking ?? Promise.resolve();
    this.ticking = this.round()
      .catch((err: unknown) => this.logger.warn('cluster tick failed', { error: err instanceof Error ? err.message : String(err) }))
      .finally(() => {
        this.ticking = null;
      });
    return this.ticking;
  }

  private async round(): Promise<void> {
    if (!this.coordinator.alive) {
      // Without its member session this node is not a member: the others may already hold its shards.
      this.drop(this.heldShards(), 'lost');
      await this.coordinator.close();
      this.coordinator = await this.rejoin();
      this.logger.info('rejoined the cluster with a new database session', { node: this.nodeId });
    }
    const startedAt = Date.now();
    const members = await this.coordinator.heartbeat();
    this.members = new Map(members.map((m) => [m.nodeId, m.address]));
    const held = this.leases();
    const renewed = await this.coordinator.renew(held);
    const kept = new Set(renewed.map((l) => `${l.shardId}:${l.rangeId}`));
    const lost = held.filter((l) => !kept.has(`${l.shardId}:${l.rangeId}`)).map((l) => l.shardId);
    if (lost.length > 0) this.drop(lost, 'lost');
    for (const l of renewed) {
      const h = this.held.get(l.shardId);
      if (h) h.validUntil = startedAt + this.leaseMs * TRUSTED_LEASE_SHARE;
    }
    if (this.stopped) return;

    const owners = assignShards(this.shardCount, members.map((m) => m.nodeId));
    const desired = new Set(owners.flatMap((owner, shard) => (owner === this.nodeId ? [shard] : [])));
    const moving = this.leases().filter((l) => !desired.has(l.shardId));
    if (moving.length > 0) {
      this.drop(moving.map((l) => l.shardId), 'released');
      await this.coordinator.release(moving);
      await this.coordinator.notifyTick();
    }
    const wanted = [...desired].filter((shard) => !this.held.has(shard));
    const acquiredAt = Date.now();
    const taken = await this.coordinator.acquire(wanted);
    if (taken.length > 0) {
      for (const l of taken) this.held.set(l.shardId, { rangeId: l.rangeId, validUntil: acquiredAt + this.leaseMs * TRUSTED_LEASE_SHARE });
      const ids = taken.map((l) => l.shardId);
      this.logger.info('shards acquired', { node: this.nodeId, shards: ids });
      try {
        await this.listener.acquired(ids);
      } catch (err) {
        // Their tasks and timers did not load: give them back, to be taken (and loaded) again.
        this.drop(ids, 'released');
        await this.coordinator.release(taken).catch(() => undefined);
        throw err;
      }
    }
    this.table = await this.coordinator.shards();
  }

  private leases(): ShardLease[] {
    return [...this.held].map(([shardId, h]) => ({ shardId, rangeId: h.rangeId }));
  }

  private drop(shardIds: readonly number[], why: 'lost' | 'released'): void {
    const dropped = shardIds.filter((id) => this.held.delete(id));
    if (dropped.length === 0) return;
    this.logger[why === 'lost' ? 'warn' : 'info'](`shards ${why}`, { node: this.nodeId, shards: dropped });
    this.listener.lost(dropped);
  }
}
