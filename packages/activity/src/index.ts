// @kairos/activity: what activity code uses while a Kairos worker runs it. `Context.current()` finds
// the running activity through an AsyncLocalStorage the worker enters for each attempt.
import { AsyncLocalStorage } from 'node:async_hooks';
import { CancelledFailure, msFromDuration, type Duration } from '@kairos/sdk-common';

export { ApplicationFailure, CancelledFailure, CompleteAsyncError } from '@kairos/sdk-common';

export interface ActivityInfo {
  readonly taskToken: Uint8Array;
  readonly activityId: string;
  readonly activityType: string;
  readonly workflowNamespace: string;
  readonly workflowExecution: { readonly workflowId: string; readonly runId: string };
  readonly workflowType: string;
  readonly taskQueue: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly isLocal: boolean;
  /** Details of the last heartbeat of the previous attempt (what `heartbeat` recorded), if any. */
  readonly heartbeatDetails: unknown;
  readonly heartbeatTimeoutMs: number | undefined;
  readonly startToCloseTimeoutMs: number;
  readonly scheduleToCloseTimeoutMs: number;
  readonly scheduledTimestampMs: number;
  readonly currentAttemptScheduledTimestampMs: number;
}

/** The running activity attempt: its info, heartbeats and cancellation. */
export class Context {
  /** Rejects with a CancelledFailure once the activity is cancelled (or the worker shuts down). */
  readonly cancelled: Promise<never>;

  constructor(
    readonly info: ActivityInfo,
    /** Aborted, with a CancelledFailure as its reason, when the activity is cancelled. */
    readonly cancellationSignal: AbortSignal,
    private readonly recordHeartbeat: (details: unknown) => void,
  ) {
    this.cancelled = new Promise<never>((_resolve, reject) => {
      const fail = (): void => reject(cancellationSignal.reason instanceof Error ? cancellationSignal.reason : new CancelledFailure('Activity cancelled'));
      if (cancellationSignal.aborted) fail();
      else cancellationSignal.addEventListener('abort', fail, { once: true });
    });
    // Awaiting `cancelled` is optional; an unobserved rejection must not crash the worker.
    this.cancelled.catch(() => undefined);
  }

  /** The context of the activity this code runs in; throws outside an activity. */
  static current(): Context {
    const context = storage.getStore();
    if (context === undefined) throw new Error('Activity context is only available inside a running activity');
    return context;
  }

  /**
   * Reports progress. Heartbeats are throttled by the worker (they reach the server at most every
   * 80% of the heartbeat timeout); cancellation is learned from their answers.
   */
  heartbeat(details?: unknown): void {
    this.recordHeartbeat(details);
  }

  /** Sleeps, rejecting early with a CancelledFailure if the activity is cancelled. */
  async sleep(duration: Duration): Promise<void> {
    const ms = msFromDuration(duration);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, ms);
        }),
        this.cancelled,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

const storage = new AsyncLocalStorage<Context>();

/** Used by the worker: runs `fn` with `context` as `Context.current()`. Not for activity code. */
export function runWithActivityContext<T>(context: Context, fn: () => T): T {
  return storage.run(context, fn);
}

export function activityInfo(): ActivityInfo {
  return Context.current().info;
}

export function heartbeat(details?: unknown): void {
  Context.current().heartbeat(details);
}

export async function sleep(duration: Duration): Promise<void> {
  await Context.current().sleep(duration);
}
