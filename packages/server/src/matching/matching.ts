// The matching room: task queues per (namespace, name, kind). Workflow-task queues also carry
// stand-alone query tasks, which are sync-match only: they wait for a poller until their caller's
// deadline and are never persisted.
import type { ExecutionKey } from '../persistence/store.js';
import type { Clock } from '../clock.js';
import { TaskQueue } from './task-queue.js';

export interface TaskRef {
  readonly key: ExecutionKey;
  readonly scheduledEventId: number;
  readonly attempt: number;
  /** Priority key 1 (first) .. 5 (last); unset = 3. */
  readonly priorityKey?: number;
}

export type WorkflowQueueEntry = { readonly kind: 'task'; readonly ref: TaskRef } | { readonly kind: 'query'; readonly queryId: string; readonly key: ExecutionKey; readonly expiresAtMs: number };

export type ActivityQueueEntry = TaskRef;

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
  private readonly workflowQueues = new Map<string, TaskQueue<WorkflowQueueEntry>>();
  private readonly activityQueues = new Map<string, TaskQueue<ActivityQueueEntry>>();

  constructor(private readonly clock: Clock) {}

  private workflowQueue(namespaceId: string, name: string): TaskQueue<WorkflowQueueEntry> {
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

  addWorkflowTask(taskQueue: string, ref: TaskRef): void {
    this.workflowQueue(ref.key.namespaceId, taskQueue).add({ kind: 'task', ref }, ref.priorityKey);
  }

  addActivityTask(taskQueue: string, ref: TaskRef): void {
    this.activityQueue(ref.key.namespaceId, taskQueue).add(ref, ref.priorityKey);
  }

  addQueryTask(taskQueue: string, queryId: string, key: ExecutionKey, expiresAtMs: number): void {
    const q = this.workflowQueue(key.namespaceId, taskQueue);
    const now = this.clock.now();
    q.removeWhere((e) => e.kind === 'query' && e.expiresAtMs <= now);
    q.add({ kind: 'query', queryId, key, expiresAtMs }, 1, true);
  }

  pollWorkflowTaskQueue(namespaceId: string, name: string, timeoutMs: number, signal: AbortSignal, identity = ''): Promise<WorkflowQueueEntry | null> {
    return this.workflowQueue(namespaceId, name).poll(timeoutMs, signal, identity);
  }

  /**
   * `maxTasksPerSecond`: the queue-wide dispatch limit the poller asks for (a worker's
   * maxTaskQueueActivitiesPerSecond); the latest poller that sends one sets it for everyone.
   */
  pollActivityTaskQueue(namespaceId: string, name: string, timeoutMs: number, signal: AbortSignal, identity = '', maxTasksPerSecond?: number): Promise<ActivityQueueEntry | null> {
    const q = this.activityQueue(namespaceId, name);
    if (maxTasksPerSecond !== undefined) q.setRateLimit(maxTasksPerSecond);
    return q.poll(timeoutMs, signal, identity);
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
    return q.drain().flatMap((e) => (e.kind === 'task' ? [e.ref] : []));
  }

  /** Pollers seen in the last 5 minutes and the backlog of one queue (DescribeTaskQueue). */
  queueInfo(namespaceId: string, name: string, kind: 'workflow' | 'activity'): { pollers: Array<{ identity: string; lastAccessMs: number }>; backlog: number; ratePerSecond: number | null } {
    const k = `${namespaceId}\u0000${name}`;
    const q = kind === 'workflow' ? this.workflowQueues.get(k) : this.activityQueues.get(k);
    if (!q) return { pollers: [], backlog: 0, ratePerSecond: null };
    const cutoff = this.clock.now() - POLLER_EXPIRY_MS;
    for (const [identity, at] of q.pollers) if (at < cutoff) q.pollers.delete(identity);
    return { pollers: [...q.pollers].map(([identity, lastAccessMs]) => ({ identity, lastAccessMs })), backlog: q.backlog, ratePerSecond: q.ratePerSecond };
  }

  describe(namespaceId: string, name: string): { workflowBacklog: number; activityBacklog: number; workflowPollers: number; activityPollers: number } {
    const w = this.workflowQueues.get(`${namespaceId}\u0000${name}`);
    const a = this.activityQueues.get(`${namespaceId}\u0000${name}`);
    return { workflowBacklog: w?.backlog ?? 0, activityBacklog: a?.backlog ?? 0, workflowPollers: w?.pollerCount ?? 0, activityPollers: a?.pollerCount ?? 0 };
  }
}

/** Long-poll budget: Temporal's 60 s, bounded by the caller's deadline minus 1 s to answer empty in time. */
export function pollBudgetMs(nowMs: number, deadlineMs: number | undefined): number {
  if (deadlineMs === undefined) return LONG_POLL_MS;
  return Math.max(0, Math.min(LONG_POLL_MS, deadlineMs - nowMs - 1000));
}
