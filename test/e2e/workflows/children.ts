/** Workflows for children.test.ts: child workflows, parent close policies, external signals and cancels. */
import {
  CancellationScope,
  ChildWorkflowFailure,
  condition,
  defineSignal,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  ParentClosePolicy,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';

export const pokeSignal = defineSignal<[string]>('poke');

export async function childGreeting(name: string): Promise<string> {
  return `child says hello to ${name} (parent ${workflowInfo().parent?.workflowId ?? 'none'})`;
}

export async function childFails(message: string): Promise<never> {
  const { ApplicationFailure } = await import('@temporalio/workflow');
  throw ApplicationFailure.nonRetryable(message, 'ChildBroke');
}

/** Waits until poked, or forever. */
export async function childWaits(): Promise<string> {
  let poked = '';
  setHandler(pokeSignal, (v) => void (poked = v));
  try {
    await condition(() => poked !== '');
    return `poked with ${poked}`;
  } catch (err) {
    if (isCancellation(err)) return 'cancelled';
    throw err;
  }
}

/** Waits forever; a cancellation request cancels it (it does not catch it). */
export async function childUntilCancelled(): Promise<void> {
  await condition(() => false);
}

export async function parentOfGreeting(name: string): Promise<string> {
  return await executeChild(childGreeting, { args: [name], workflowId: `${workflowInfo().workflowId}-child` });
}

export async function parentOfFailure(): Promise<string> {
  try {
    await executeChild(childFails, { args: ['child broke'], workflowId: `${workflowInfo().workflowId}-child` });
    return 'no failure';
  } catch (err) {
    if (err instanceof ChildWorkflowFailure) return `caught: ${err.cause?.message}`;
    throw err;
  }
}

/** Starts a waiting child with the given close policy and returns at once. */
export async function parentLeavesChild(policy: 'TERMINATE' | 'ABANDON' | 'REQUEST_CANCEL'): Promise<string> {
  const child = await startChild(childWaits, {
    workflowId: `${workflowInfo().workflowId}-child`,
    parentClosePolicy: ParentClosePolicy[`PARENT_CLOSE_POLICY_${policy}`],
  });
  return child.workflowId;
}

/** Cancels its own child through a cancellation scope. */
export async function parentCancelsChild(): Promise<string> {
  try {
    await CancellationScope.cancellable(async () => {
      const child = await startChild(childUntilCancelled, { workflowId: `${workflowInfo().workflowId}-child` });
      CancellationScope.current().cancel();
      await child.result();
    });
    return 'child finished';
  } catch (err) {
    if (isCancellation(err)) return 'child cancelled';
    throw err;
  }
}

export async function signalsAnother(targetWorkflowId: string, value: string): Promise<string> {
  try {
    await getExternalWorkflowHandle(targetWorkflowId).signal(pokeSignal, value);
    return 'delivered';
  } catch (err) {
    return `failed: ${(err as Error).message}`;
  }
}

export async function cancelsAnother(targetWorkflowId: string): Promise<string> {
  try {
    await getExternalWorkflowHandle(targetWorkflowId).cancel();
    return 'cancel requested';
  } catch (err) {
    return `failed: ${(err as Error).message}`;
  }
}

/** Starts a chain of `depth` descendants; returns the root each level's WorkflowInfo names, top first. */
export async function reportsRoot(depth: number): Promise<string[]> {
  const own = workflowInfo().root?.workflowId ?? 'none';
  if (depth === 0) return [own];
  const below = await executeChild(reportsRoot, { args: [depth - 1], workflowId: `${workflowInfo().workflowId}-c` });
  return [own, ...below];
}
