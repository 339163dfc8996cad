// The matching room: task queues per (namespace, name, kind). Workflow-task queues also carry
// stand-alone query tasks, which are sync-match only: they wait for a poller until their caller's
// deadline and are never persisted.
import { ownerNamespaceId } from '../history/standalone-activity/key-space.js';
import type { ExecutionKey } from '../persistence/store.js';
import type { Clock } from '../clock.js';
import type { MutableState } from '../history/mutable-state.js';
import type { ReservedPoll } from '../history/engine.js';
import { TaskQueue } from './task-queue.js';

export interface TaskRef {
  readonly key: ExecutionKey;
  readonly scheduledEventId: number;
  readonly attempt: number;
  /** Priority key 1 (first) .. 5 (last); unset = 3. */
  readonly priorityKey?: number;
  /** Worker Deployments: the version (deployments/registry.ts versionKey) a pinned run's task goes to. */
  readonly version?: string;
  /** Worker Deployments: the task goes to its queue's ramping version when one is set. */
  readonly useRamping?: boolean;
}

/**
 * Worker Deployments: the physical queue a task goes to, by the versioning of its run (the task queue's
 * own name for unversioned work, `versionedQueueName` for a version's). Unset: the task queue's name.
 */
export type TaskRouter = (kind: StoredQueueKind, namespaceId: string, taskQueue: string, workflowId: string, version: string | undefined, useRamping: boolean | undefined) => string;

/** What a task's routing reads of its run. */
type Routed = Pick<TaskRef, 'key' | 'version' | 'useRamping'>;

const VERSION_SEPARATOR = '\u0001';

/** The physical queue of a version's workers on a task queue (they poll it, and only it). */
export function versionedQueueName(taskQueue: string, version: string): string {
  return `${taskQueue}${VERSION_SEPARATOR}${version}`;
}

/**
 * Cluster mode: a hint that node `node` holds tasks of this queue (tasks wait on the node that owns
 * their execution). A poll that gets one asks that node for a task (cluster/cluster-node.ts).
 */
export interface RemoteHint {
  readonly kind: 'remote';
  readonly node: string;
}

export type WorkflowQueueEntry = { readonly kind: 'task'; readonly ref: TaskRef } | { readonly kind: 'query'; readonly queryId: string; readonly key: ExecutionKey; readonly expiresAtMs: number; readonly version?: string; readonly useRamping?: boolean } | RemoteHint;

/**
 * What a reserved workflow poll is handed (`reserveWorkflowPoll`): the run as committed by the
 * transition that scheduled its workflow task and started it for this poll. Shared: read, never change.
 */
export interface StartedWorkflowTask {
  readonly kind: 'started';
  readonly state: MutableState;
}

export type ActivityQueueEntry = { readonly kind: 'task'; readonly ref: TaskRef } | RemoteHint;

/** A Nexus task waiting for a poll (its id in nexus/nexus-tasks.ts), or a hint of one on another node. */
export type NexusQueueEntry = { readonly kind: 'nexus'; readonly taskId: string } | RemoteHint;

export type QueueKind = 'workflow' | 'activity' | 'nexus';
/** The kinds whose tasks are stored (and routed by Worker Deployments); Nexus tasks are sync-match only. */
export type StoredQueueKind = Exclude<QueueKind, 'nexus'>;

/** What DescribeTaskQueue reports of one queue. */
export interface QueueInfo {
  readonly pollers: ReadonlyArray<{ readonly identity: string; readonly lastAccessMs: number }>;
  readonly backlog: number;
  /** The dispatch limit pollers set, or null when unlimited. */
  readonly ratePerSecond: number | null;
}

/** DescribeTaskQueue forgets pollers not seen for this long (as Temporal does). */
const POLLER_EXPIRY_MS = 5 * 60_000;

/**
 * A sticky queue without a waiting poller counts as alive for this long after its last poll (a worker
 * re-polls as soon as it has handed back a task); after that its tasks go to the normal queue.
 */
export const STICKY_WORKER_UNAVAILABLE_MS = 10_000;

/** Temporal's matching long-poll expiry (matching.longPollExpirationInterval). */
export const LONG_POLL_MS = 60_000;

export class Matching {
  private readonly workflowQueues = new Map<string, TaskQueue<WorkflowQueueEntry, StartedWorkflowTask>>();
  private readonly activityQueues = new Map<string, TaskQueue<ActivityQueueEntry>>();
  /** Nexus tasks (nexus/nexus-tasks.ts): ids of tasks waiting for a poll, sync-match only. */
  private readonly nexusQueues = new Map<string, TaskQueue<NexusQueueEntry>>();
  /** Remote hints waiting in some queue, by kind/namespace/queue/node: at most one of each. */
  private readonly hints = new Set<string>();
  /** Cluster mode: tasks of executions this node does not own (any more) are not queued here. */
  accepts: ((key: ExecutionKey) => boolean) | null = null;
  /** Cluster mode: called when a task waits here with no poll to take it (polls on other nodes may). */
  onBacklog: ((kind: QueueKind, namespaceId: string, name: string) => void) | null = null;
  /** Cluster mode: called when a poll finds its queue new here (so that peers' tasks are looked for). */
  onNewPolledQueue: ((kind: QueueKind, namespaceId: string, name: string) => void) | null = null;
  /** Worker Deployments (server.ts wires the registry's routing). */
  router: TaskRouter | null = null;

  constructor(private readonly clock: Clock) {}

  private workflowQueue(namespaceId: string, name: string): TaskQueue<WorkflowQueueEntry, StartedWorkflowTask> {
    const k = `${namespaceId}\u0000${name}`;
    let q = this.workflowQueues.get(k);
    if (!q) this.workflowQueues.set(k, (q = new TaskQueue(this.clock)));
    return q;
  }

  private activityQueue(namespaceId: string, name: string): TaskQueue<ActivityQueueEntry> {
    const k = `${namespaceId}\u0000${name}`;
    let q = this.activityQueues.get(k);
    if (!q) this.activityQueues.set(k, (q = new TaskQueue(this.clock)));
    return q;
  }

  /** The physical queue of `ref`'s task on `taskQueue`. */
  private route(kind: StoredQueueKind, namespaceId: string, taskQueue: string, ref: Routed): string {
    return this.router ? this.router(kind, namespaceId, taskQueue, ref.key.workflowId, ref.version, ref.useRamping) : taskQueue;
  }

  addWorkflowTask(taskQueue: string, ref: TaskRef): void {
    if (this.accepts && !this.accepts(ref.key)) return;
    const name = this.route('workflow', ref.key.namespaceId, taskQueue, ref);
    const q = this.workflowQueue(ref.key.namespaceId, name);
    const polled = q.pollerCount > 0;
    q.add({ kind: 'task', ref }, ref.priorityKey);
    if (!polled) this.onBacklog?.('workflow', ref.key.namespaceId, name);
  }

  addActivityTask(taskQueue: string, ref: TaskRef): void {
    if (this.accepts && !this.accepts(ref.key)) return;
    // A standalone activity's key has a namespace id of its own; its task goes to its namespace's queue.
    const namespaceId = ownerNamespaceId(ref.key.namespaceId);
    const name = this.route('activity', namespaceId, taskQueue, ref);
    const q = this.activityQueue(namespaceId, name);
    const polled = q.pollerCount > 0;
    q.add({ kind: 'task', ref }, ref.priorityKey);
    if (!polled) this.onBacklog?.('activity', namespaceId, name);
  }

  /**
   * Worker Deployments: the routing of `taskQueue` changed; moves the tasks waiting in its physical
   * queues that now go to another one (a pinned run's stay with their version).
   */
  reroute(kind: StoredQueueKind, namespaceId: string, taskQueue: string): void {
    const prefix = `${namespaceId}\u0000${taskQueue}`;
    const moved: TaskRef[] = [];
    for (const [k, q] of kind === 'workflow' ? this.workflowQueues : this.activityQueues) {
      if (k !== prefix && !k.startsWith(prefix + VERSION_SEPARATOR)) continue;
      const name = k.slice(namespaceId.length + 1);
      (q as TaskQueue<WorkflowQueueEntry | ActivityQueueEntry>).removeWhere((e) => {
        if (e.kind !== 'task' || this.route(kind, namespaceId, taskQueue, e.ref) === name) return false;
        moved.push(e.ref);
        return true;
      });
    }
    for (const ref of moved) {
      if (kind === 'workflow') this.addWorkflowTask(taskQueue, ref);
      else this.addActivityTask(taskQueue, ref);
    }
  }

  /**
   * Takes a poll waiting on this workflow queue for a task the caller starts in the transition that
   * schedules it, when one waits and no task is queued ahead; null otherwise (the task is dispatched).
   */
  reserveWorkflowPoll(namespaceId: string, taskQueue: string, routed?: Routed): ReservedPoll | null {
    const name = routed ? this.route('workflow', namespaceId, taskQueue, routed) : taskQueue;
    const poll = this.workflowQueues.get(`${namespaceId}\u0000${name}`)?.reserve();
    return poll ? { identity: poll.identity, deliver: (state) => poll.deliver({ kind: 'started', state }), release: () => poll.release() } : null;
  }

  private nexusQueue(namespaceId: string, name: string): TaskQueue<NexusQueueEntry> {
    const k = `${namespaceId}\u0000${name}`;
    let q = this.nexusQueues.get(k);
    if (!q) this.nexusQueues.set(k, (q = new TaskQueue(this.clock)));
    return q;
  }

  addNexusTask(namespaceId: string, taskQueue: string, taskId: string): void {
    const q = this.nexusQueue(namespaceId, taskQueue);
    const polled = q.pollerCount > 0;
    q.add({ kind: 'nexus', taskId });
    if (!polled) this.onBacklog?.('nexus', namespaceId, taskQueue);
  }

  /** A Nexus task that was answered or timed out leaves its queue (if no poll took it yet). */
  removeNexusTask(namespaceId: string, taskQueue: string, taskId: string): void {
    this.nexusQueues.get(`${namespaceId}\u0000${taskQueue}`)?.removeWhere((e) => e.kind === 'nexus' && e.taskId === taskId);
  }

  pollNexusTaskQueue(namespaceId: string, name: string, timeoutMs: number, signal: AbortSignal, identity = ''): Promise<NexusQueueEntry | null> {
    const isNew = !this.nexusQueues.has(`${namespaceId}\u0000${name}`);
    const q = this.nexusQueue(namespaceId, name);
    if (isNew) this.onNewPolledQueue?.('nexus', namespaceId, name);
    return q.poll(timeoutMs, signal, identity);
  }

  /** Puts back a task a poll took but could not hand over (its poller left). */
  requeue(kind: StoredQueueKind, taskQueue: string, ref: TaskRef): void {
    if (kind === 'workflow') this.addWorkflowTask(taskQueue, ref);
    else this.addActivityTask(taskQueue, ref);
  }

  /**
   * Cluster mode: notes that `node` has tasks on this queue, once (a hint already waiting is enough).
   * Only queues some poll has used here get hints: nobody here would take the others.
   */
  addRemoteHint(kind: QueueKind, namespaceId: string, name: string, node: string): void {
    const q = this.queuesOf(kind).get(`${namespaceId}\u0000${name}`);
    const id = hintId(kind, namespaceId, name, node);
    if (!q || this.hints.has(id)) return;
    this.hints.add(id);
    q.add({ kind: 'remote', node });
  }

  /** A poll took a hint out of its queue: the next one for the same node may be added. */
  hintTaken(kind: QueueKind, namespaceId: string, name: string, node: string): void {
    this.hints.delete(hintId(kind, namespaceId, name, node));
  }

  /** Queues that have polls waiting right now (cluster mode re-checks peers for them now and then). */
  queuesWithWaitingPolls(): Array<{ kind: QueueKind; namespaceId: string; name: string }> {
    const found: Array<{ kind: QueueKind; namespaceId: string; name: string }> = [];
    for (const [kind, queues] of [['workflow', this.workflowQueues], ['activity', this.activityQueues], ['nexus', this.nexusQueues]] as const) {
      for (const [k, q] of queues) {
        if (q.pollerCount === 0) continue;
        const [namespaceId = '', name = ''] = k.split('\u0000');
        found.push({ kind, namespaceId, name });
      }
    }
    return found;
  }

  /**
   * Takes one of this node's own tasks (a task or a query, never a hint) without waiting, for a poll on
   * another node; `more` tells whether others are left.
   */
  takeLocal(kind: QueueKind, namespaceId: string, name: string): { entry: AnyQueueEntry | null; more: boolean } {
    const q: QueuedEntries | undefined = this.queuesOf(kind).get(`${namespaceId}\u0000${name}`);
    if (!q) return { entry: null, more: false };
    const own = (e: AnyQueueEntry): boolean => e.kind !== 'remote' && (e.kind !== 'query' || e.expiresAtMs > this.clock.now());
    const entry = q.takeNow(own) ?? null;
    return { entry, more: q.count(own) > 0 };
  }

  /** Forgets the tasks and query tasks of executions `belongs` selects (their shard moved to another node). */
  dropWhere(belongs: (key: ExecutionKey) => boolean): void {
    for (const q of this.workflowQueues.values()) q.removeWhere((e) => e.kind !== 'remote' && belongs(e.kind === 'task' ? e.ref.key : e.key));
    for (const q of this.activityQueues.values()) q.removeWhere((e) => e.kind === 'task' && belongs(e.ref.key));
  }

  /** `directive`: the run's versioning (history/versioning.ts taskDirective), so the query reaches its version's workers. */
  addQueryTask(taskQueue: string, queryId: string, key: ExecutionKey, expiresAtMs: number, directive?: Omit<Routed, 'key'>): void {
    if (this.accepts && !this.accepts(key)) return;
    const name = this.route('workflow', key.namespaceId, taskQueue, { key, ...directive });
    const q = this.workflowQueue(key.namespaceId, name);
    const now = this.clock.now();
    q.removeWhere((e) => e.kind === 'query' && e.expiresAtMs <= now);
    const polled = q.pollerCount > 0;
    q.add(directive ? { kind: 'query', queryId, key, expiresAtMs, ...directive } : { kind: 'query', queryId, key, expiresAtMs }, 1, true);
    if (!polled) this.onBacklog?.('workflow', key.namespaceId, name);
  }

  pollWorkflowTaskQueue(namespaceId: string, name: string, timeoutMs: number, signal: AbortSignal, identity = ''): Promise<WorkflowQueueEntry | StartedWorkflowTask | null> {
    const isNew = !this.workflowQueues.has(`${namespaceId}\u0000${name}`);
    const q = this.workflowQueue(namespaceId, name);
    if (isNew) this.onNewPolledQueue?.('workflow', namespaceId, name);
    return q.poll(timeoutMs, signal, identity);
  }

  /**
   * `maxTasksPerSecond`: the queue-wide dispatch limit the poller asks for (a worker's
   * maxTaskQueueActivitiesPerSecond); the latest poller that sends one sets it for everyone.
   */
  pollActivityTaskQueue(namespaceId: string, name: string, timeoutMs: number, signal: AbortSignal, identity = '', maxTasksPerSecond?: number): Promise<ActivityQueueEntry | null> {
    const isNew = !this.activityQueues.has(`${namespaceId}\u0000${name}`);
    const q = this.activityQueue(namespaceId, name);
    if (isNew) this.onNewPolledQueue?.('activity', namespaceId, name);
    if (maxTasksPerSecond !== undefined) q.setRateLimit(maxTasksPerSecond);
    return q.poll(timeoutMs, signal, identity);
  }

  /** Whether a poll has used this workflow queue here (cluster mode: its worker may poll another node). */
  pollsSeen(namespaceId: string, name: string): boolean {
    return (this.workflowQueues.get(`${namespaceId}\u0000${name}`)?.lastPollMs ?? 0) > 0;
  }

  /** True while the worker behind a sticky queue is polling it (or did a moment ago). */
  stickyQueueAvailable(namespaceId: string, name: string): boolean {
    const q = this.workflowQueues.get(`${namespaceId}\u0000${name}`);
    if (!q) return false;
    return q.pollerCount > 0 || this.clock.now() - q.lastPollMs <= STICKY_WORKER_UNAVAILABLE_MS;
  }

  /** The worker of a sticky queue shut down: forgets the queue and returns the workflow tasks it held. */
  shutdownStickyQueue(namespaceId: string, name: string): TaskRef[] {
    const k = `${namespaceId}\u0000${name}`;
    const q = this.workflowQueues.get(k);
    if (!q) return [];
    this.workflowQueues.delete(k);
    for (const id of [...this.hints]) if (id.startsWith(hintId('workflow', namespaceId, name, ''))) this.hints.delete(id);
    return q.drain().flatMap((e) => (e.kind === 'task' ? [e.ref] : []));
  }

  /** Pollers seen in the last 5 minutes and the backlog of one queue (DescribeTaskQueue). */
  queueInfo(namespaceId: string, name: string, kind: QueueKind): QueueInfo {
    const k = `${namespaceId}\u0000${name}`;
    if (kind === 'nexus') {
      const nq = this.nexusQueues.get(k);
      return nq ? { pollers: livePollers(nq, this.clock.now()), backlog: ownBacklog(nq), ratePerSecond: null } : { pollers: [], backlog: 0, ratePerSecond: null };
    }
    const q = kind === 'workflow' ? this.workflowQueues.get(k) : this.activityQueues.get(k);
    if (!q) return { pollers: [], backlog: 0, ratePerSecond: null };
    return { pollers: livePollers(q, this.clock.now()), backlog: ownBacklog(q), ratePerSecond: q.ratePerSecond };
  }

  /** The queues of one kind, typed for what every kind shares (hints, taking, counting). */
  private queuesOf(kind: QueueKind): Map<string, TaskQueue<AnyQueueEntry>> {
    const queues = kind === 'workflow' ? this.workflowQueues : kind === 'activity' ? this.activityQueues : this.nexusQueues;
    return queues as Map<string, TaskQueue<AnyQueueEntry>>;
  }

  describe(namespaceId: string, name: string): { workflowBacklog: number; activityBacklog: number; workflowPollers: number; activityPollers: number } {
    const w = this.workflowQueues.get(`${namespaceId}\u0000${name}`);
    const a = this.activityQueues.get(`${namespaceId}\u0000${name}`);
    return { workflowBacklog: w ? ownBacklog(w) : 0, activityBacklog: a ? ownBacklog(a) : 0, workflowPollers: w?.pollerCount ?? 0, activityPollers: a?.pollerCount ?? 0 };
  }
}

function livePollers(q: { readonly pollers: Map<string, number> }, nowMs: number): QueueInfo['pollers'] {
  const cutoff = nowMs - POLLER_EXPIRY_MS;
  for (const [identity, at] of q.pollers) if (at < cutoff) q.pollers.delete(identity);
  return [...q.pollers].map(([identity, lastAccessMs]) => ({ identity, lastAccessMs }));
}

/** What waits in a queue of any kind. */
export type AnyQueueEntry = WorkflowQueueEntry | ActivityQueueEntry | NexusQueueEntry;

/** The part of a queue of any kind that reads and takes what waits in it. */
type QueuedEntries = Pick<TaskQueue<AnyQueueEntry>, 'takeNow' | 'count'>;

/** Tasks waiting here, not counting hints of other nodes' tasks. */
function ownBacklog(q: QueuedEntries): number {
  return q.count((e) => e.kind !== 'remote');
}

function hintId(kind: QueueKind, namespaceId: string, name: string, node: string): string {
  return `${kind}\u0000${namespaceId}\u0000${name}\u0000${node}`;
}

/** Long-poll budget: Temporal's 60 s, bounded by the caller's deadline minus 1 s to answer empty in time. */
export function pollBudgetMs(nowMs: number, deadlineMs: number | undefined): number {
  if (deadlineMs === undefined) return LONG_POLL_MS;
  return Math.max(0, Math.min(LONG_POLL_MS, deadlineMs - nowMs - 1000));
}
