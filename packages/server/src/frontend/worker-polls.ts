// Outstanding task polls by worker instance, so that ShutdownWorker can answer them at once
// (`frontend.enableCancelWorkerPollsOnShutdown`, advertised as the namespace capability
// `workerPollCompleteOnShutdown`). A worker that sees the capability keeps polling while it shuts
// down and finishes whatever those polls bring; the server then completes its polls with empty
// answers instead of handing a task to a worker that is going away (which would leave the task
// started and unattended until its timeout). Polls without a worker instance key are not tracked.
import { linkedAbort } from '../linked-abort.js';
import type { QueueKind } from '../matching/matching.js';

interface TrackedPoll {
  readonly queue: string;
  readonly kind: QueueKind;
  readonly controller: AbortController;
}

export interface TrackedPollHandle {
  /** Aborted when the call is, or when ShutdownWorker cancels the poll. */
  readonly signal: AbortSignal;
  /** Stops tracking the poll (it answered or failed). */
  done(): void;
}

export class WorkerPolls {
  private readonly byWorker = new Map<string, Set<TrackedPoll>>();

  /** Tracks a poll of `workerInstanceKey` on `queue`; an empty key is not tracked (the call's signal is returned). */
  track(namespaceId: string, workerInstanceKey: string, queue: string, kind: QueueKind, callSignal: AbortSignal): TrackedPollHandle {
    if (workerInstanceKey === '') return { signal: callSignal, done: () => undefined };
    const id = workerId(namespaceId, workerInstanceKey);
    const poll: TrackedPoll = { queue, kind, controller: new AbortController() };
    let polls = this.byWorker.get(id);
    if (polls === undefined) this.byWorker.set(id, (polls = new Set()));
    polls.add(poll);
    // The poll's own controller is aborted by the call too: cancel() and the call both end the poll.
    const linked = linkedAbort([callSignal], poll.controller);
    return {
      signal: poll.controller.signal,
      done: () => {
        linked.dispose();
        polls.delete(poll);
        if (polls.size === 0 && this.byWorker.get(id) === polls) this.byWorker.delete(id);
      },
    };
  }

  /**
   * Ends the worker's polls on `queues` of the given kinds (they answer empty); returns how many.
   * `queues` holds the worker's task queue and its sticky queue.
   */
  cancel(namespaceId: string, workerInstanceKey: string, queues: ReadonlySet<string>, kinds: ReadonlySet<QueueKind>): number {
    const polls = this.byWorker.get(workerId(namespaceId, workerInstanceKey));
    if (polls === undefined) return 0;
    let cancelled = 0;
    for (const poll of polls) {
      if (!queues.has(poll.queue) || !kinds.has(poll.kind)) continue;
      poll.controller.abort();
      cancelled++;
    }
    return cancelled;
  }

  /** Polls being tracked (tests). */
  get size(): number {
    let n = 0;
    for (const polls of this.byWorker.values()) n += polls.size;
    return n;
  }
}

function workerId(namespaceId: string, workerInstanceKey: string): string {
  return `${namespaceId}\u0000${workerInstanceKey}`;
}
