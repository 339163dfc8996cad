/** The workflow code issued commands that disagree with the history it is replaying. */
export class NondeterminismError extends Error {
  override name = 'NondeterminismError';
}

/** The workflow code cannot be bundled for the sandbox (e.g. it imports a Node built-in). */
export class WorkflowBundleError extends Error {
  override name = 'WorkflowBundleError';
}

/** One activation ran past its deadline: a busy loop or a deadlock in workflow code. */
export class ActivationDeadlineError extends Error {
  override name = 'ActivationDeadlineError';
}

/** Misuse of the worker API (e.g. `run` called twice). */
export class IllegalWorkerStateError extends Error {
  override name = 'IllegalWorkerStateError';
}
