import type { WorkflowCommand } from '@kairos/sdk-common';

/** Thrown when workflow code does something that cannot be replayed deterministically. */
export class DeterminismViolationError extends Error {
  override name = 'DeterminismViolationError';
}

/** Thrown when a workflow API is called outside a running workflow (e.g. from a plain test). */
export class IllegalStateError extends Error {
  override name = 'IllegalStateError';
}

/** Thrown by `continueAsNew`; the runtime turns it into a ContinueAsNewWorkflowExecution command. */
export class ContinueAsNew extends Error {
  override name = 'ContinueAsNew';
  constructor(readonly command: WorkflowCommand & { kind: 'continueAsNew' }) {
    super('Workflow continued as new');
  }
}

/** A child workflow could not start: a workflow with its id is already running (or closed and not reusable). */
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

/**
 * A local activity failed and its next attempt is far away (beyond `localRetryThreshold`): the
 * workflow waits on a durable timer and schedules it again, as sdk-core's DoBackoff asks.
 */
export class LocalActivityDoBackoff extends Error {
  override name = 'LocalActivityDoBackoff';
  constructor(
    readonly attempt: number,
    readonly backoffMs: number,
    readonly originalScheduleTimeMs: number | undefined,
  ) {
    super(`local activity backs off for ${backoffMs} ms before attempt ${attempt}`);
  }
}
