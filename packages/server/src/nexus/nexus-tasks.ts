// Nexus tasks: a Nexus request (start or cancel an operation) handed to a worker that polls the
// endpoint's task queue (PollNexusTaskQueue), and the worker's answer (RespondNexusTaskCompleted /
// RespondNexusTaskFailed) handed back to whoever dispatched it. As in Temporal, a Nexus task is
// sync-match only and never stored: it waits in matching for a poll until its deadline, and the
// dispatcher (the caller's invocation, history/ops/nexus-invocation.ts) treats a task no worker answered
// in time as an upstream timeout and retries it. A restart loses waiting tasks; their invocations are
// retried from their timers.
import { randomUUID } from 'node:crypto';
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import type { Clock } from '../clock.js';
import type { Matching } from '../matching/matching.js';

export type NexusRequest = Loose<temporal.api.nexus.v1.IRequest>;
export type NexusResponse = Loose<temporal.api.nexus.v1.IResponse>;
export type NexusHandlerError = Loose<temporal.api.nexus.v1.IHandlerError>;
export type NexusFailure = Loose<temporal.api.failure.v1.IFailure>;

/** How a dispatched Nexus task ended. */
export type NexusTaskResult =
  | { readonly kind: 'response'; readonly response: NexusResponse }
  | { readonly kind: 'handlerError'; readonly error: NexusHandlerError | null; readonly failure: NexusFailure | null }
  /** No worker answered before the deadline (no poll took it, or the worker did not respond in time). */
  | { readonly kind: 'timeout' };

export interface PendingNexusTask {
  readonly id: string;
  readonly namespaceId: string;
  readonly taskQueue: string;
  readonly request: NexusRequest;
  readonly deadlineMs: number;
  /** The run whose attempt dispatched it (a cluster routes the worker's answer to that run's node). */
  readonly origin: { readonly namespaceId: string; readonly workflowId: string };
  /** Set once a poll handed the task to a worker. */
  polled: boolean;
  resolve(result: NexusTaskResult): void;
}

export class NexusTasks {
  private readonly pending = new Map<string, PendingNexusTask>();

  constructor(
    private readonly matching: Matching,
    private readonly clock: Clock,
  ) {}

  /**
   * Queues a Nexus task on (namespaceId, taskQueue) and waits for the worker's answer until
   * `deadlineMs`. Never rejects.
   */
  dispatch(namespaceId: string, taskQueue: string, request: NexusRequest, deadlineMs: number, origin: PendingNexusTask['origin']): Promise<NexusTaskResult> {
    const id = randomUUID();
    return new Promise<NexusTaskResult>((resolve) => {
      const cancelTimeout = this.clock.schedule(deadlineMs, () => finish({ kind: 'timeout' }));
      const finish = (result: NexusTaskResult): void => {
        if (!this.pending.delete(id)) return;
        cancelTimeout();
        this.matching.removeNexusTask(namespaceId, taskQueue, id);
        resolve(result);
      };
      const task: PendingNexusTask = { id, namespaceId, taskQueue, request, deadlineMs, origin, polled: false, resolve: finish };
      this.pending.set(id, task);
      this.matching.addNexusTask(namespaceId, taskQueue, id);
    });
  }

  /** The task a poll took from matching, now the polling worker's; undefined if it expired meanwhile. */
  claim(id: string): PendingNexusTask | undefined {
    const task = this.pending.get(id);
    if (!task || task.deadlineMs <= this.clock.now()) return undefined;
    task.polled = true;
    return task;
  }

  /** A claimed task whose poll left before it was handed over: it waits for the next poll. */
  unclaim(id: string): void {
    const task = this.pending.get(id);
    if (task) task.polled = false;
  }

  /** Hands a worker's answer to the dispatcher; false when the task is unknown or already over. */
  respond(id: string, result: NexusTaskResult): boolean {
    const task = this.pending.get(id);
    if (!task) return false;
    task.resolve(result);
    return true;
  }

  get(id: string): PendingNexusTask | undefined {
    return this.pending.get(id);
  }
}
