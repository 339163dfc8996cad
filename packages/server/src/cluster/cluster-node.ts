// One node of a Kairos cluster on PostgreSQL (docs/adr/0004-cluster.md): the glue between the shard
// leases (shard-controller.ts), this node's engine, matching and timers, and the other nodes.
//
// - Fencing: the engine serves and writes a run only under the lease of its shard (engine.shardFence).
// - Shards arriving: their pending tasks and timers are loaded from the database. Leaving: their
//   cached state, queued tasks and timers are forgotten here.
// - Requests about one execution run on its owner (routing.ts); transfer-task steps on another
//   execution too (runOnOwner).
// - Tasks (workflow, activity and Nexus) wait on the node owning their execution (a Nexus task: the
//   caller's). When one waits with no poll here, this node NOTIFYs the cluster; a node with polls on
//   that queue keeps a hint and, when a poll takes it, asks this node for a task (`take`): this node
//   starts it as the owner and answers with the poll response.
//   Polls also look at every peer when their queue is new on a node, and every few seconds while they
//   wait, so a missed notification delays a task by seconds at most.
import { randomUUID } from 'node:crypto';
import { credentials as grpcCredentials, type Server as GrpcServer } from '@grpc/grpc-js';
import type { temporal } from '@temporalio/proto';
import { timestampToMs } from '@kairos/common';
import { ShardUnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ExecutionEngine } from '../history/engine.js';
import type { Matching, QueueInfo, QueueKind } from '../matching/matching.js';
import type { TimerQueue } from '../timers/timer-queue.js';
import type { ExecutionKey, ShardFence, Store } from '../persistence/store.js';
import type { NamespaceRegistry } from '../namespace/registry.js';
import type { SearchAttributeRegistry } from '../visibility/search-attribute-registry.js';
import type { ClusterPeers, HistoryContext } from '../history/service-context.js';
import { ownerOps, type OwnerOpArgs, type OwnerOpName, type OwnerOpResult } from '../history/ops/external.js';
import { recordActivityTaskStarted } from '../history/ops/activity-task.js';
import { resetStickiness } from '../history/ops/workflow-task.js';
import { recoverDispatches } from '../history/recover-dispatches.js';
import { serveWorkflowEntry } from '../frontend/task-handlers.js';
import { nexusPollResponse } from '../frontend/nexus-handlers.js';
import { lookupType, lookupService, type ReflectedType } from '../frontend/proto-codec.js';
import { WORKFLOW_SERVICE, type CallContext, type ServiceHandlers } from '../frontend/grpc-server.js';
import { PostgresCoordinator } from '../persistence/postgres/cluster-coordinator.js';
import { ShardController } from './shard-controller.js';
import { shardOf } from './shards.js';
import { addPeerService, PeerClients, type PeerOp } from './peer-rpc.js';
import { routeToOwners, type Placement, type Target } from './routing.js';
import type { WorkerEntry, WorkerRegistry } from '../workers/worker-registry.js';
import { SCHEDULER_WORKFLOW_ID_PREFIX, type ScheduleKey, type Scheduler } from '../schedules/scheduler.js';

function scheduleShardKey(key: ScheduleKey): { namespaceId: string; workflowId: string } {
  return { namespaceId: key.namespaceId, workflowId: `${SCHEDULER_WORKFLOW_ID_PREFIX}${key.scheduleId}` };
}

export interface ClusterOptions {
  readonly databaseUrl: string;
  /**
   * The node's TLS settings, when its gRPC port uses TLS: nodes then call each other over TLS,
   * presenting their own certificate, and check a peer's against `clientCa` (the CA of mutual TLS)
   * or, without one, against this node's own certificate chain (one certificate shared by the nodes).
   */
  readonly tls?: { readonly certChain: Buffer; readonly privateKey: Buffer; readonly clientCa?: Buffer | undefined } | undefined;
  readonly nodeId: string;
  /** host:port the other nodes reach this node's gRPC port at. */
  readonly address: string;
  readonly shardCount: number;
  readonly leaseMs: number;
}

/** How often a node re-reads namespaces and search attributes that other nodes may have changed. */
const REGISTRY_REFRESH_MS = 1000;
/** How often waiting polls look at every peer for tasks (a safety net under NOTIFY). */
const PEER_RECHECK_MS = 5000;
/** Task notifications of one burst go out together. */
const HINT_FLUSH_MS = 2;
/** A take starts one task on its owner: a few milliseconds, unless that node is in trouble. */
const TAKE_DEADLINE_MS = 10_000;
/** DescribeTaskQueue waits this long for each other node's part. */
const DESCRIBE_DEADLINE_MS = 2000;
/** PostgreSQL's NOTIFY payload limit is 8000 bytes; stay well below it. */
const MAX_NOTIFY_BYTES = 7000;

type Notice =
  | { readonly t: 'tasks'; readonly n: string; readonly q: ReadonlyArray<readonly [QueueKind, string, string]> }
  | { readonly t: 'tick'; readonly n: string }
  | { readonly t: 'sticky-gone'; readonly n: string; readonly ns: string; readonly q: string };

const pollTypes: Record<QueueKind, { request: ReflectedType; response: ReflectedType }> = {
  workflow: { request: lookupType('temporal.api.workflowservice.v1.PollWorkflowTaskQueueRequest'), response: lookupType('temporal.api.workflowservice.v1.PollWorkflowTaskQueueResponse') },
  activity: { request: lookupType('temporal.api.workflowservice.v1.PollActivityTaskQueueRequest'), response: lookupType('temporal.api.workflowservice.v1.PollActivityTaskQueueResponse') },
  nexus: { request: lookupType('temporal.api.workflowservice.v1.PollNexusTaskQueueRequest'), response: lookupType('temporal.api.workflowservice.v1.PollNexusTaskQueueResponse') },
};

const WorkerHeartbeat = lookupType('temporal.api.worker.v1.WorkerHeartbeat') as ReflectedType & { decode(bytes: Uint8Array): temporal.api.worker.v1.IWorkerHeartbeat };

/** A worker registry entry between nodes: the heartbeat encoded. */
interface PeerWorkerEntry {
  readonly heartbeat: Uint8Array;
  readonly lastSeenMs: number;
  readonly system: boolean;
}

/** When the worker says it sent the heartbeat (the order of a worker's heartbeats, whichever node got them). */
function heartbeatMs(entry: WorkerEntry): number {
  return timestampToMs(entry.heartbeat.heartbeatTime) ?? entry.lastSeenMs;
}

export interface ClusterParts {
  readonly store: Store;
  readonly engine: ExecutionEngine;
  readonly matching: Matching;
  readonly timers: TimerQueue;
  readonly namespaces: NamespaceRegistry;
  readonly searchAttributes: SearchAttributeRegistry;
  readonly logger: Logger;
  readonly scheduler: Scheduler;
  /** The workers that sent this node their heartbeats. */
  readonly workers: WorkerRegistry;
}

export class ClusterNode implements ClusterPeers {
  private readonly peers: PeerClients;
  private controller: ShardController | null = null;
  private coordinator: PostgresCoordinator | null = null;
  private ctx: HistoryContext | null = null;
  private localHandlers: ServiceHandlers = {};
  private readonly hintsToSend = new Set<string>();
  private hintFlush: NodeJS.Timeout | null = null;
  private readonly intervals: NodeJS.Timeout[] = [];
  private stopping = false;
  private readonly logger: Logger;

  constructor(
    private readonly options: ClusterOptions,
    private readonly parts: ClusterParts,
  ) {
    this.logger = parts.logger.child({ component: 'cluster', node: options.nodeId });
    const tls = options.tls;
    this.peers = new PeerClients(tls ? grpcCredentials.createSsl(tls.clientCa ?? tls.certChain, tls.privateKey, tls.certChain) : grpcCredentials.createInsecure());
    const { engine, matching, timers } = parts;
    engine.shardFence = (key) => this.fenceOf(key);
    engine.onShardLost = (fence) => this.controller?.reportLost(fence);
    // A sticky queue nobody polled here may be polled on another node: trust it (its timeout heals).
    // Alone, this node knows every poll.
    engine.stickyQueueAvailable = (namespaceId, queue) => {
      const elsewhere = !matching.pollsSeen(namespaceId, queue) && (this.controller?.peers().length ?? 0) > 0;
      return elsewhere || matching.stickyQueueAvailable(namespaceId, queue);
    };
    timers.accepts = (row) => this.controller?.holds(this.shardOf(row.key)) ?? false;
    matching.accepts = (key) => this.controller?.holds(this.shardOf(key)) ?? false;
    // A schedule runs on the node owning the shard its scheduler workflow id falls in.
    parts.scheduler.accepts = (key) => this.controller?.holds(this.shardOf(scheduleShardKey(key))) ?? false;
    matching.onBacklog = (kind, namespaceId, queue) => this.announceTasks(kind, namespaceId, queue);
    matching.onNewPolledQueue = (kind, namespaceId, queue) => {
      for (const peer of this.controller?.peers() ?? []) matching.addRemoteHint(kind, namespaceId, queue, peer.nodeId);
    };
  }

  get nodeId(): string {
    return this.options.nodeId;
  }

  /** The handlers this node runs for requests other nodes forward (the plain, unrouted ones). */
  attach(ctx: HistoryContext, localHandlers: ServiceHandlers): void {
    this.ctx = ctx;
    this.localHandlers = localHandlers;
  }

  /** WorkflowService handlers that send requests about one execution to the node owning it. */
  route(handlers: ServiceHandlers): ServiceHandlers {
    return routeToOwners(handlers, (target) => this.place(target), (placement, method, request, call) => this.forward(placement, method, request, call));
  }

  /** Adds the node-to-node service to the gRPC server (before it binds). */
  addPeerService(server: GrpcServer): void {
    addPeerService(server, this.peerOps(), () => this.coordinator?.secret ?? null, this.logger);
  }

  /**
   * Joins the cluster and takes this node's shards (the gRPC port must be listening already; `boundPort`
   * completes a default address made before the port was chosen).
   */
  async start(boundPort: number): Promise<void> {
    const { store, matching, timers } = this.parts;
    const join = async (): Promise<PostgresCoordinator> => {
      const coordinator = await PostgresCoordinator.join({
        url: this.options.databaseUrl,
        nodeId: this.options.nodeId,
        address: this.options.address.endsWith(':0') ? `${this.options.address.slice(0, -2)}:${boundPort}` : this.options.address,
        shardCount: this.options.shardCount,
        leaseMs: this.options.leaseMs,
        shardOf: (namespaceId, workflowId) => shardOf(namespaceId, workflowId, this.options.shardCount),
      });
      coordinator.onNotify((payload) => this.onNotice(payload));
      this.coordinator = coordinator;
      this.peers.secret = coordinator.secret;
      return coordinator;
    };
    this.controller = new ShardController(await join(), join, this.options.nodeId, this.options.shardCount, this.options.leaseMs, {
      acquired: async (shardIds) => {
        await recoverDispatches(store, matching, shardIds);
        await timers.start(shardIds);
        await this.parts.scheduler.resume();
      },
      lost: (shardIds) => this.forget(new Set(shardIds)),
    }, this.logger);
    await this.controller.start();
    // Tell the others a node joined: they hand over the shards that are now this node's.
    await this.coordinator?.notifyTick().catch(() => undefined);
    this.every(REGISTRY_REFRESH_MS, () => this.refreshRegistries());
    this.every(PEER_RECHECK_MS, () => this.recheckPeers());
  }

  /**
   * Leaves the cluster: releases every shard (the others take them at once). Polls here take no more
   * tasks from other nodes; takes already under way finish (their task is started: it must reach the
   * worker). Peer channels stay open until `closePeers`, after the gRPC server has drained.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const interval of this.intervals) clearInterval(interval);
    if (this.hintFlush) clearTimeout(this.hintFlush);
    await this.controller?.stop();
  }

  closePeers(): void {
    this.peers.prune();
  }

  heldShards(): number[] {
    return this.controller?.heldShards() ?? [];
  }

  // ---- ClusterPeers -------------------------------------------------------------------------------

  async takeFromPeer(node: string, kind: QueueKind, namespaceId: string, queue: string, poll: object): Promise<{ response: object | null; more: boolean }> {
    const address = this.controller?.addressOf(node);
    if (address === undefined || this.stopping) return { response: null, more: false };
    const types = pollTypes[kind];
    // Never cancelled with the poll: once the owner has started the task, the answer must come back.
    const answer = await this.peers.call<{ response: Uint8Array | null; more: boolean }>(address, 'take', { kind, namespaceId, queue, poll: types.request.encode(poll).finish() }, { deadlineMs: Date.now() + TAKE_DEADLINE_MS });
    return { response: answer.response ? types.response.decode(answer.response) : null, more: answer.more };
  }

  async runOnOwner<K extends OwnerOpName>(namespaceId: string, workflowId: string, op: K, args: OwnerOpArgs<K>): Promise<OwnerOpResult<K>> {
    const placement = await this.place({ namespaceId, workflowId });
    if (placement.local) {
      const run = ownerOps[op] as (c: HistoryContext, a: OwnerOpArgs<K>) => Promise<OwnerOpResult<K>>;
      return run(this.context(), args);
    }
    return this.peers.call<OwnerOpResult<K>>(placement.address, 'owner', { op, args });
  }

  async describeQueue(namespaceId: string, queue: string, kind: QueueKind): Promise<QueueInfo> {
    const here = this.parts.matching.queueInfo(namespaceId, queue, kind);
    const there = await Promise.all(
      (this.controller?.peers() ?? []).map((peer) =>
        this.peers.call<QueueInfo>(peer.address, 'queueInfo', { namespaceId, queue, kind }, { deadlineMs: Date.now() + DESCRIBE_DEADLINE_MS }).catch(() => null),
      ),
    );
    const pollers = new Map<string, number>();
    let backlog = 0;
    let ratePerSecond = here.ratePerSecond;
    for (const info of [here, ...there]) {
      if (!info) continue;
      backlog += info.backlog;
      ratePerSecond ??= info.ratePerSecond;
      for (const p of info.pollers) pollers.set(p.identity, Math.max(p.lastAccessMs, pollers.get(p.identity) ?? 0));
    }
    return { pollers: [...pollers].map(([identity, lastAccessMs]) => ({ identity, lastAccessMs })), backlog, ratePerSecond };
  }

  /**
   * A namespace's workers as every node heard them: a worker's heartbeats may reach any node, so the
   * latest one wins. A node that does not answer in time is left out.
   */
  async workerEntries(namespaceId: string): Promise<WorkerEntry[]> {
    const there = await Promise.all(
      (this.controller?.peers() ?? []).map((peer) =>
        this.peers.call<PeerWorkerEntry[]>(peer.address, 'workers', { namespaceId }, { deadlineMs: Date.now() + DESCRIBE_DEADLINE_MS }).catch(() => []),
      ),
    );
    const latest = new Map<string, WorkerEntry>();
    const keep = (entry: WorkerEntry) => {
      const key = entry.heartbeat.workerInstanceKey ?? '';
      const known = latest.get(key);
      if (!known || heartbeatMs(entry) > heartbeatMs(known)) latest.set(key, entry);
    };
    this.parts.workers.entries(namespaceId).forEach(keep);
    for (const entries of there) for (const e of entries) keep({ heartbeat: WorkerHeartbeat.decode(e.heartbeat), lastSeenMs: e.lastSeenMs, system: e.system });
    return [...latest.values()];
  }

  /** A sticky queue's worker shut down: every node moves the tasks it holds for it to normal queues. */
  announceStickyQueueGone(namespaceId: string, queue: string): void {
    void this.notice({ t: 'sticky-gone', n: this.options.nodeId, ns: namespaceId, q: queue });
  }

  // ---- placement and forwarding -------------------------------------------------------------------

  private shardOf(key: { namespaceId: string; workflowId: string }): number {
    return shardOf(key.namespaceId, key.workflowId, this.options.shardCount);
  }

  private fenceOf(key: ExecutionKey): ShardFence {
    const shard = this.shardOf(key);
    const fence = this.controller?.fence(shard);
    if (!fence) throw new ShardUnavailableError(`shard ${shard} is not held by node ${this.options.nodeId} (it is moving between nodes); retry`);
    return fence;
  }

  private async place(target: Target): Promise<Placement> {
    let namespaceId: string;
    if ('namespaceId' in target) {
      namespaceId = target.namespaceId;
    } else {
      let ns = this.parts.namespaces.find(target.namespace);
      if (!ns) {
        await this.parts.namespaces.reload();
        ns = this.parts.namespaces.find(target.namespace);
      }
      // An unknown namespace is refused here, by the handler, with the usual error.
      if (!ns) return { local: true };
      namespaceId = ns.id;
    }
    const shard = this.shardOf({ namespaceId, workflowId: target.workflowId });
    if (this.controller?.holds(shard)) return { local: true };
    const owner = this.controller?.ownerAddress(shard);
    if (!owner) throw new ShardUnavailableError(`shard ${shard} has no owner right now (a node joined or left); retry`);
    return { local: false, ...owner };
  }

  private async forward(placement: { nodeId: string; address: string }, method: string, request: unknown, call: CallContext): Promise<object> {
    const types = methodTypes(method);
    const bytes = await this.peers.call<Uint8Array>(
      placement.address,
      'rpc',
      { method, request: types.request.encode(request as object).finish(), metadata: [...call.metadata] },
      { deadlineMs: call.deadlineMs, signal: call.signal },
    );
    return types.response.decode(bytes);
  }

  private peerOps(): Record<string, PeerOp> {
    const rpc = async (a: { method: string; request: Uint8Array; metadata: Array<[string, string]> }, call: { deadlineMs: number | undefined; signal: AbortSignal }): Promise<Uint8Array> => {
      const handler = this.localHandlers[a.method];
      if (!handler) throw new ShardUnavailableError(`method ${a.method} cannot be forwarded to node ${this.options.nodeId}`);
      const types = methodTypes(a.method);
      const context: CallContext = { deadlineMs: call.deadlineMs, signal: call.signal, metadata: new Map(a.metadata), peer: 'cluster' };
      const response = await handler(types.request.decode(a.request), context);
      return types.response.encode(types.response.fromObject(response)).finish();
    };
    const take = async (a: { kind: QueueKind; namespaceId: string; queue: string; poll: Uint8Array }): Promise<{ response: Uint8Array | null; more: boolean }> => {
      const ctx = this.context();
      const types = pollTypes[a.kind];
      const poll = types.request.decode(a.poll);
      for (;;) {
        const { entry, more } = ctx.matching.takeLocal(a.kind, a.namespaceId, a.queue);
        if (!entry || entry.kind === 'remote') return { response: null, more: false };
        let response: object | null;
        if (entry.kind === 'nexus') {
          response = ctx.nexus ? nexusPollResponse(ctx.nexus.tasks, entry.taskId) : null;
        } else if (a.kind === 'workflow') {
          response = await serveWorkflowEntry(ctx, entry as Parameters<typeof serveWorkflowEntry>[1], poll as temporal.api.workflowservice.v1.IPollWorkflowTaskQueueRequest);
        } else {
          const ns = ctx.namespaces.findById(a.namespaceId);
          const activityPoll = poll as temporal.api.workflowservice.v1.IPollActivityTaskQueueRequest;
          response = ns && entry.kind === 'task' ? await recordActivityTaskStarted(ctx, ns, entry.ref, activityPoll, randomUUID(), activityPoll.taskQueue?.name ?? '') : null;
        }
        if (response) return { response: types.response.encode(types.response.fromObject(response)).finish(), more };
      }
    };
    const owner = async (a: { op: OwnerOpName; args: unknown }): Promise<unknown> => {
      const run = ownerOps[a.op] as ((c: HistoryContext, args: unknown) => Promise<unknown>) | undefined;
      if (!run) throw new ShardUnavailableError(`unknown owner op ${a.op}`);
      return run(this.context(), a.args);
    };
    const queueInfo = (a: { namespaceId: string; queue: string; kind: QueueKind }): Promise<QueueInfo> => Promise.resolve(this.parts.matching.queueInfo(a.namespaceId, a.queue, a.kind));
    const workers = (a: { namespaceId: string }): Promise<PeerWorkerEntry[]> =>
      Promise.resolve(this.parts.workers.entries(a.namespaceId).map((e) => ({ heartbeat: WorkerHeartbeat.encode(e.heartbeat).finish(), lastSeenMs: e.lastSeenMs, system: e.system })));
    return { rpc, take, owner, queueInfo, workers } as Record<string, PeerOp>;
  }

  private context(): HistoryContext {
    if (!this.ctx) throw new ShardUnavailableError(`node ${this.options.nodeId} is starting; retry`);
    return this.ctx;
  }

  // ---- shards leaving -----------------------------------------------------------------------------

  private forget(shards: ReadonlySet<number>): void {
    const belongs = (key: ExecutionKey): boolean => shards.has(this.shardOf(key));
    this.parts.engine.evictWhere(belongs);
    this.parts.matching.dropWhere(belongs);
    this.parts.timers.dropWhere((row) => belongs(row.key), shards);
    this.parts.scheduler.release();
  }

  // ---- notifications ------------------------------------------------------------------------------

  private announceTasks(kind: QueueKind, namespaceId: string, queue: string): void {
    if (!this.controller || this.controller.peers().length === 0) return;
    this.hintsToSend.add(JSON.stringify([kind, namespaceId, queue]));
    this.hintFlush ??= setTimeout(() => {
      this.hintFlush = null;
      const queues = [...this.hintsToSend].map((h) => JSON.parse(h) as [QueueKind, string, string]);
      this.hintsToSend.clear();
      // Chunks below the NOTIFY payload limit.
      let chunk: Array<[QueueKind, string, string]> = [];
      let size = 0;
      for (const q of queues) {
        const bytes = Buffer.byteLength(JSON.stringify(q)) + 1;
        if (size + bytes > MAX_NOTIFY_BYTES && chunk.length > 0) {
          void this.notice({ t: 'tasks', n: this.options.nodeId, q: chunk });
          chunk = [];
          size = 0;
        }
        chunk.push(q);
        size += bytes;
      }
      if (chunk.length > 0) void this.notice({ t: 'tasks', n: this.options.nodeId, q: chunk });
    }, HINT_FLUSH_MS);
  }

  private async notice(notice: Notice): Promise<void> {
    try {
      await this.coordinator?.notify(JSON.stringify(notice));
    } catch (err) {
      this.logger.debug('cluster notification not sent', { error: String(err) });
    }
  }

  private onNotice(payload: string): void {
    let notice: Notice;
    try {
      notice = JSON.parse(payload) as Notice;
    } catch {
      return;
    }
    if (notice.n === this.options.nodeId) return;
    switch (notice.t) {
      case 'tasks':
        for (const [kind, namespaceId, queue] of notice.q) this.parts.matching.addRemoteHint(kind, namespaceId, queue, notice.n);
        break;
      case 'tick':
        void this.controller?.tick();
        break;
      case 'sticky-gone':
        void this.stickyQueueGone(notice.ns, notice.q);
        break;
    }
  }

  private async stickyQueueGone(namespaceId: string, queue: string): Promise<void> {
    const ctx = this.ctx;
    if (!ctx) return;
    for (const ref of ctx.matching.shutdownStickyQueue(namespaceId, queue)) {
      await resetStickiness(ctx, ref.key, ref.scheduledEventId).catch((err: unknown) => this.logger.debug('sticky reset failed', { error: String(err) }));
    }
  }

  // ---- periodic work ------------------------------------------------------------------------------

  private every(ms: number, work: () => Promise<void> | void): void {
    let running = false;
    const interval = setInterval(() => {
      if (running) return;
      running = true;
      void Promise.resolve()
        .then(work)
        .catch((err: unknown) => this.logger.debug('periodic cluster work failed', { error: String(err) }))
        .finally(() => {
          running = false;
        });
    }, ms);
    interval.unref();
    this.intervals.push(interval);
  }

  private async refreshRegistries(): Promise<void> {
    await this.parts.namespaces.reload();
    await this.parts.searchAttributes.reload(this.parts.namespaces.list().map((n) => n.id));
  }

  private recheckPeers(): void {
    const peers = this.controller?.peers() ?? [];
    this.peers.prune(new Set(peers.map((p) => p.address)));
    for (const q of this.parts.matching.queuesWithWaitingPolls()) {
      for (const peer of peers) this.parts.matching.addRemoteHint(q.kind, q.namespaceId, q.name, peer.nodeId);
    }
  }
}

const methodTypeCache = new Map<string, { request: ReflectedType; response: ReflectedType }>();

function methodTypes(method: string): { request: ReflectedType; response: ReflectedType } {
  let types = methodTypeCache.get(method);
  if (!types) {
    const m = lookupService(WORKFLOW_SERVICE).methodsArray.find((x) => x.name === method);
    if (!m) throw new ShardUnavailableError(`unknown method ${method}`);
    m.resolve();
    if (!m.resolvedRequestType || !m.resolvedResponseType) throw new ShardUnavailableError(`unresolved method ${method}`);
    types = { request: m.resolvedRequestType, response: m.resolvedResponseType };
    methodTypeCache.set(method, types);
  }
  return types;
}
