/** Child workflows of the Kairos SDK suite. */
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  CancelledFailure,
  WorkflowExecutionAlreadyStartedError,
  condition,
  executeChild,
  startChild,
  workflowInfo,
} from '@kairos/workflow';

export async function childGreeting(name: string): Promise<string> {
  return `child says hello to ${name} (parent ${workflowInfo().parent?.workflowId ?? 'none'})`;
}

export async function childFails(message: string): Promise<never> {
  throw ApplicationFailure.nonRetryable(message, 'ChildBroke');
}

/** Waits forever; a cancellation request ends it as cancelled. */
export async function childWaitsForever(): Promise<void> {
  await condition(() => false);
}

export async function parentOfGreeting(name: string): Promise<string> {
  return await executeChild(childGreeting, { args: [name], workflowId: `${workflowInfo().workflowId}-child` });
}

export async function parentOfFailure(): Promise<string> {
  try {
    await executeChild(childFails, { args: ['child broke'], workflowId: `${workflowInfo().workflowId}-child` });
    return 'no failure';
  } catch (error) {
    if (error instanceof ChildWorkflowFailure) return `caught: ${error.cause instanceof Error ? error.cause.message : ''}`;
    throw error;
  }
}

/** Starts a child, then cancels the scope it runs in and waits until the child is cancelled. */
export async function parentCancelsChild(): Promise<string> {
  const scope = new CancellationScope();
  const handle = await scope.run(() => startChild(childWaitsForever, { workflowId: `${workflowInfo().workflowId}-child` }));
  scope.cancel();
  try {
    await handle.result();
    return 'child completed';
  } catch (error) {
    if (error instanceof ChildWorkflowFailure && error.cause instanceof CancelledFailure) return 'child cancelled';
    throw error;
  }
}

/** Starts a child whose id is taken by a running workflow. */
export async function parentOfDuplicate(takenWorkflowId: string): Promise<string> {
  try {
    await startChild(childWaitsForever, { workflowId: takenWorkflowId });
    return 'started';
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return `already started: ${error.workflowId}`;
    throw error;
  }
}

/** Starts a chain of `depth` descendants; returns the root each level's workflowInfo() names, top first. */
export async function reportsRoot(depth: number): Promise<string[]> {
  const own = workflowInfo().root?.workflowId ?? 'none';
  if (depth === 0) return [own];
  const below = await executeChild(reportsRoot, { args: [depth - 1], workflowId: `${workflowInfo().workflowId}-c` });
  return [own, ...below];
}
