// Errors the client throws, named like the official SDK's so that `catch` blocks carry over.
import type { RetryState } from '@kairos/sdk-common';

/** Base class of errors raised by a failed gRPC call. `code` is the gRPC status code. */
export class ServiceError extends Error {
  override name = 'ServiceError';
  constructor(
    message: string,
    readonly code: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** `start` (or signal-with-start) found a running workflow with the same id. */
export class WorkflowExecutionAlreadyStartedError extends Error {
  override name = 'WorkflowExecutionAlreadyStartedError';
  constructor(
    message: string,
    readonly workflowId: string,
    readonly workflowType: string,
  ) {
    super(message);
  }
}

/** The workflow (or the given run of it) does not exist. */
export class WorkflowNotFoundError extends Error {
  override name = 'WorkflowNotFoundError';
  constructor(
    message: string,
    readonly workflowId: string,
    readonly runId: string | undefined,
  ) {
    super(message);
  }
}

/** The workflow closed without a result: failed, cancelled, terminated or timed out. Reason in `cause`. */
export class WorkflowFailedError extends Error {
  override name = 'WorkflowFailedError';
  /** Why the workflow closed: an ApplicationFailure, CancelledFailure, TerminatedFailure, ... */
  declare readonly cause: Error | undefined;

  constructor(
    message: string,
    cause: Error | undefined,
    readonly retryState: RetryState,
  ) {
    super(message, { cause });
  }
}

/** The run continued as new and the caller asked not to follow runs. */
export class WorkflowContinuedAsNewError extends Error {
  override name = 'WorkflowContinuedAsNewError';
  constructor(
    message: string,
    readonly newExecutionRunId: string,
  ) {
    super(message);
  }
}

/** The workflow has no handler for the query type. */
export class QueryNotRegisteredError extends Error {
  override name = 'QueryNotRegisteredError';
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/** The query's handler threw. */
export class QueryFailedError extends Error {
  override name = 'QueryFailedError';
}

/** The server refused the query because of its reject condition. */
export class QueryRejectedError extends Error {
  override name = 'QueryRejectedError';
  constructor(readonly status: string) {
    super('Query rejected');
  }
}

/** The update's handler (or validator) failed; the failure, e.g. an ApplicationFailure, is the `cause`. */
export class WorkflowUpdateFailedError extends Error {
  override name = 'WorkflowUpdateFailedError';
  declare readonly cause: Error | undefined;

  constructor(message: string, cause: Error | undefined) {
    super(message, { cause });
  }
}

/** An update call ran into its deadline or was cancelled before the stage it waited for was reached. */
export class WorkflowUpdateRPCTimeoutOrCancelledError extends Error {
  override name = 'WorkflowUpdateRPCTimeoutOrCancelledError';
  declare readonly cause: Error | undefined;

  constructor(message: string, options: { cause?: Error } = {}) {
    super(message, options);
  }
}

/** The activity `client.activity` named does not exist, or is no longer running. */
export class ActivityNotFoundError extends Error {
  override name = 'ActivityNotFoundError';
}

/** `client.activity` could not complete or heartbeat the activity, for a reason other than ActivityNotFoundError. */
export class ActivityCompletionError extends Error {
  override name = 'ActivityCompletionError';
}

/** Thrown by `client.activity.heartbeat` once the workflow asked to cancel the activity. */
export class ActivityCancelledError extends Error {
  override name = 'ActivityCancelledError';
}

/** Thrown by `client.activity.heartbeat` when the activity has been paused. */
export class ActivityPausedError extends Error {
  override name = 'ActivityPausedError';
}

/** Thrown by `client.activity.heartbeat` when the activity has been reset. */
export class ActivityResetError extends Error {
  override name = 'ActivityResetError';
}
