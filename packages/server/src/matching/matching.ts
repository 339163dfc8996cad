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
}

export type WorkflowQueueEntry = { readonly kind: 'task'; readonly ref: TaskRef } | { readonly kind: 'query'; readonly queryId: string; readonly key: ExecutionKey; readonly expiresAtMs: number };

export type ActivityQueueEntry = TaskRef;

/** DescribeTaskQueue forgets pollers not seen for this long (as Temporal does). */
const POLLER_EXPIRY_MS = 5 * 60_000;

/** Temporal's matching long-poll expiry (matching.longPollExpirationInterval). */
export const LONG_POLL_MS = 60_000;

export class Matching {
  private readonly workflowQueues = new Map<string, TaskQueue<WorkflowQueueEntry>>();
  private readonly activityQueues = new Map<string, TaskQueue<ActivityQueueEntry>>();

  constructor(private readonly clock: Clock) {}

  private workflowQueue(namespaceId: string, name: string): TaskQueue<WorkflowQueueEntry> {
    const k = `${namespaceId}\u0000${name}`;
    let q = this.workflowQueues.get(k);
    if (!q) this.workflowQueues.set(k, (q = new TaskQueue()));
    return q;
  }

  private activityQueue(namespaceId: string, name: string): TaskQueue<ActivityQueueEntry> {
    const k = `${namespaceId}\u0000${name}`;
    let q = this.activityQueues.get(k);
    if (!q) this.activityQueues.set(k, (q = new TaskQueue()));
    return q;
  }

  addWorkflowTask(taskQueue: string, ref: TaskRef): void {
    this.workflowQueue(ref.key.namespaceId, taskQueue).add({ kind: 'task', ref });
  }

  addActivityTask(taskQueue: string, ref: TaskRef): void {
    this.activityQueue(ref.key.namespaceId, taskQueue).add(ref);
  }

  addQueryTask(taskQueue: string, queryId: string, key: ExecutionKey, expiresAtMs: number): void {
    const q = this.workflowQueue(key.namespaceId, taskQueue);
    const now = this.clock.now();
    q.removeWhere((e) => e.kind === 'query' && e.expiresAtMs <= now);
    q.add({ kind: 'query', queryId, key, expiresAtMs }, true);
  }

  pollWorkflowTaskQueue(namespaceId: string, name: string, timeoutMs: number, signal: AbortSignal, identity = ''): Promise<WorkflowQueueEntry | null> {
    const now = this.clock.now();
    return this.workflowQueue(namespaceId, name).poll(now, timeoutMs, signal, this.clock.schedule.bind(this.clock), identity);
  }

  pollActivityTaskQueue(namespaceId: string, name: string, timeoutMs: number, signal: AbortSignal, identity = ''): Promise<ActivityQueueEntry | null> {
    const now = this.clock.now();
    return this.activityQueue(namespaceId, name).poll(now, timeoutMs, signal, this.clock.schedule.bind(this.clock), identity);
  }

  /** Pollers seen in the last 5 minutes and the backlog of one queue (DescribeTaskQueue). */
  queueInfo(namespaceId: string, name: string, kind: 'workflow' | 'activity'): { pollers: Array<{ identity: string; lastAccessMs: number }>; backlog: number } {
    const k = `${namespaceId}\u0000${name}`;
    const q = kind === 'workflow' ? this.workflowQueues.get(k) : this.activityQueues.get(k);
    if (!q) return { pollers: [], backlog: 0 };
    const cutoff = this.clock.now() - POLLER_EXPIRY_MS;
    for (const [identity, at] of q.pollers) if (at < cutoff) q.pollers.delete(identity);
    return { pollers: [...q.pollers].map(([identity, lastAccessMs]) => ({ identity, lastAccessMs })), backlog: q.backlog };
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
