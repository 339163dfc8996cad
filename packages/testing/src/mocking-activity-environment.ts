// Runs an activity function outside a worker, with a Context like the worker's: the official SDK's
// MockActivityEnvironment. Heartbeats are emitted as 'heartbeat' events; cancel() cancels the context.
import { EventEmitter } from 'node:events';
import { Context, runWithActivityContext, type ActivityInfo } from '@kairos/activity';
import { CancelledFailure } from '@kairos/sdk-common';

/** Why an activity is cancelled (the reasons a worker gives). */
export type CancelReason = 'CANCELLED' | 'NOT_FOUND' | 'TIMED_OUT' | 'WORKER_SHUTDOWN' | 'HEARTBEAT_DETAILS_CONVERSION_FAILED';

/** The info an activity sees in a MockActivityEnvironment unless the test gives its own. */
export const defaultActivityInfo: ActivityInfo = {
  taskToken: Buffer.from('test'),
  activityId: 'test',
  activityType: 'unknown',
  workflowNamespace: 'default',
  workflowExecution: { workflowId: 'test', runId: '00000000-0000-0000-0000-000000000000' },
  workflowType: 'test',
  taskQueue: 'test',
  attempt: 1,
  isLocal: false,
  heartbeatDetails: undefined,
  heartbeatTimeoutMs: undefined,
  startToCloseTimeoutMs: 1000,
  scheduleToCloseTimeoutMs: 1000,
  scheduledTimestampMs: 1,
  currentAttemptScheduledTimestampMs: 1,
};

/**
 * An execution environment for testing activities. One Context serves every `run`: once `cancel()`
 * was called, activities run here afterwards start cancelled.
 */
export class MockActivityEnvironment extends EventEmitter<{ heartbeat: [details: unknown] }> {
  readonly context: Context;
  private readonly controller = new AbortController();

  constructor(info: Partial<ActivityInfo> = {}) {
    super();
    this.context = new Context({ ...defaultActivityInfo, ...info }, this.controller.signal, (details) => this.emit('heartbeat', details));
  }

  /** Cancels the context: `Context.current().cancelled` rejects and `cancellationSignal` aborts with a CancelledFailure. */
  cancel(reason: CancelReason = 'CANCELLED'): void {
    this.controller.abort(new CancelledFailure(reason));
  }

  /** Runs `fn` with this environment's Context as `Context.current()`. */
  async run<P extends unknown[], R>(fn: (...args: P) => R | Promise<R>, ...args: P): Promise<R> {
    return await runWithActivityContext(this.context, () => fn(...args));
  }
}
