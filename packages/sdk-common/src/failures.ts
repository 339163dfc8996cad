// The failure classes users throw and catch, named and shaped like the official SDK's. The same code
// is loaded once in Node and once more inside every workflow sandbox, so `instanceof` is answered by
// a marker property (keyed by a registered symbol) rather than by prototype identity.
import type { Payload } from './payload.js';
import { msFromDuration, type Duration } from './duration.js';
import type { ProtoFailure, RetryState, TimeoutType } from './proto-shapes.js';

function markerOf(name: string): symbol {
  return Symbol.for(`kairos.failure.${name}`);
}

/** Makes `x instanceof Class` true for instances made by any copy of this module. */
function markClass(cls: abstract new (...args: never[]) => object, name: string): void {
  const marker = markerOf(name);
  Object.defineProperty(cls.prototype, marker, { value: true, enumerable: false });
  Object.defineProperty(cls, Symbol.hasInstance, {
    value: (instance: unknown): boolean =>
      typeof instance === 'object' && instance !== null && (instance as Record<symbol, unknown>)[marker] === true,
  });
}

/** Base class of every failure that travels through Temporal. `failure` is the proto it came from. */
export class TemporalFailure extends Error {
  override name = 'TemporalFailure';
  /** The proto this failure was decoded from, when it came from the server. */
  failure?: ProtoFailure;

  constructor(message?: string | undefined | null, cause?: Error) {
    super(message ?? undefined, cause === undefined ? undefined : { cause });
  }
}
markClass(TemporalFailure, 'TemporalFailure');

export type ApplicationFailureCategory = 'BENIGN';

export interface ApplicationFailureOptions {
  message?: string;
  type?: string;
  nonRetryable?: boolean;
  details?: unknown[];
  nextRetryDelay?: Duration;
  cause?: Error;
  category?: ApplicationFailureCategory;
}

/** A failure raised by user code; `nonRetryable` stops activity and workflow retries. */
export class ApplicationFailure extends TemporalFailure {
  override name = 'ApplicationFailure';

  constructor(
    message?: string | undefined | null,
    public readonly type?: string | undefined | null,
    public readonly nonRetryable?: boolean | undefined | null,
    public readonly details?: unknown[] | undefined | null,
    cause?: Error,
    public readonly nextRetryDelay?: Duration | undefined | null,
    public readonly category?: ApplicationFailureCategory | undefined | null,
  ) {
    super(message, cause);
  }

  static create(options: ApplicationFailureOptions): ApplicationFailure {
    const { message, type, nonRetryable = false, details, nextRetryDelay, cause, category } = options;
    return new ApplicationFailure(message, type, nonRetryable, details, cause, nextRetryDelay, category);
  }

  static retryable(message?: string | null, type?: string | null, ...details: unknown[]): ApplicationFailure {
    return new ApplicationFailure(message, type ?? 'Error', false, details);
  }

  static nonRetryable(message?: string | null, type?: string | null, ...details: unknown[]): ApplicationFailure {
    return new ApplicationFailure(message, type ?? 'Error', true, details);
  }

  /** Wraps any thrown value; an ApplicationFailure is returned as it is. */
  static fromError(error: unknown, overrides: ApplicationFailureOptions = {}): ApplicationFailure {
    if (error instanceof ApplicationFailure) return error;
    const message = error instanceof Error ? error.message : String(error);
    const type = error instanceof Error ? error.name : 'Error';
    const failure = ApplicationFailure.create({ message, type, ...overrides });
    if (error instanceof Error && error.stack !== undefined) failure.stack = error.stack;
    return failure;
  }

  /** `nextRetryDelay` in milliseconds, when set. */
  nextRetryDelayMs(): number | undefined {
    return this.nextRetryDelay === undefined || this.nextRetryDelay === null
      ? undefined
      : msFromDuration(this.nextRetryDelay);
  }
}
markClass(ApplicationFailure, 'ApplicationFailure');

/** The result of a cancellation: of a workflow, an activity, a timer or a cancellation scope. */
export class CancelledFailure extends TemporalFailure {
  override name = 'CancelledFailure';
  constructor(
    message: string | undefined,
    public readonly details: unknown[] = [],
    cause?: Error,
  ) {
    super(message, cause);
  }
}
markClass(CancelledFailure, 'CancelledFailure');

export class TerminatedFailure extends TemporalFailure {
  override name = 'TerminatedFailure';
}
markClass(TerminatedFailure, 'TerminatedFailure');

export class TimeoutFailure extends TemporalFailure {
  override name = 'TimeoutFailure';
  constructor(
    message: string | undefined,
    public readonly lastHeartbeatDetails: unknown,
    public readonly timeoutType: TimeoutType,
  ) {
    super(message);
  }
}
markClass(TimeoutFailure, 'TimeoutFailure');

export class ServerFailure extends TemporalFailure {
  override name = 'ServerFailure';
  constructor(
    message: string | undefined,
    public readonly nonRetryable: boolean,
    cause?: Error,
  ) {
    super(message, cause);
  }
}
markClass(ServerFailure, 'ServerFailure');

/** How a workflow sees an activity that failed, timed out or was cancelled; the reason is `cause`. */
export class ActivityFailure extends TemporalFailure {
  override name = 'ActivityFailure';
  constructor(
    message: string | undefined,
    public readonly activityType: string,
    public readonly activityId: string | undefined,
    public readonly retryState: RetryState,
    public readonly identity: string | undefined,
    cause?: Error,
  ) {
    super(message, cause);
  }
}
markClass(ActivityFailure, 'ActivityFailure');

export interface WorkflowExecution {
  workflowId: string;
  runId?: string;
}

/** How a parent sees a child workflow that did not complete; the reason is `cause`. */
export class ChildWorkflowFailure extends TemporalFailure {
  override name = 'ChildWorkflowFailure';
  constructor(
    public readonly namespace: string | undefined,
    public readonly execution: WorkflowExecution,
    public readonly workflowType: string,
    public readonly retryState: RetryState,
    cause?: Error,
  ) {
    super('Child Workflow execution failed', cause);
  }
}
markClass(ChildWorkflowFailure, 'ChildWorkflowFailure');

/**
 * Thrown by an activity to say it will be completed later, from outside the worker, through the
 * client's `client.activity` (`AsyncCompletionClient`) with `Context.current().info.taskToken` or the
 * activity's id. The worker then reports nothing for the task: the activity stays started on the
 * server until it is completed, failed or cancelled that way, or one of its timeouts fires.
 */
export class CompleteAsyncError extends Error {
  override name = 'CompleteAsyncError';
}
markClass(CompleteAsyncError, 'CompleteAsyncError');

/** True for a CancelledFailure, or an activity/child failure caused by one. */
export function isCancellation(error: unknown): boolean {
  if (error instanceof CancelledFailure) return true;
  if (error instanceof ActivityFailure || error instanceof ChildWorkflowFailure) {
    return error.cause instanceof CancelledFailure;
  }
  return false;
}

/** The error's cause when it is an Error (the standard `cause` is typed unknown). */
export function errorCause(error: Error): Error | undefined {
  return error.cause instanceof Error ? error.cause : undefined;
}

export type { Payload };
