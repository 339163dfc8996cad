/** Workflows for messaging.test.ts and server-crash.test.ts: signals, queries, cancellation. */
import {
  CancellationScope,
  condition,
  defineQuery,
  defineSignal,
  isCancellation,
  proxyActivities,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import type * as activities from '../activities.js';

export const addItemSignal = defineSignal<[string]>('addItem');
export const closeSignal = defineSignal('close');
export const itemsQuery = defineQuery<string[]>('items');
export const stateQuery = defineQuery<{ items: number; closed: boolean }>('state');

/** Collects `addItem` signals until `close`, then returns them in the order received. */
export async function collectorWorkflow(): Promise<string[]> {
  const items: string[] = [];
  let closed = false;
  setHandler(addItemSignal, (item) => {
    items.push(item);
  });
  setHandler(closeSignal, () => {
    closed = true;
  });
  setHandler(itemsQuery, () => items);
  setHandler(stateQuery, () => ({ items: items.length, closed }));
  await condition(() => closed);
  return items;
}

/**
 * Waits (on a long timer) to be cancelled; on cancellation runs the cleanup activity in a
 * non-cancellable scope and rethrows, so the execution ends CANCELED.
 */
export async function cleanupOnCancelWorkflow(key: string): Promise<string> {
  const { cleanup } = proxyActivities<typeof activities>({
    startToCloseTimeout: '5s',
    retry: { initialInterval: '100ms', maximumAttempts: 3 },
  });
  try {
    await sleep('1 day');
    return 'not cancelled';
  } catch (error) {
    if (isCancellation(error)) {
      await CancellationScope.nonCancellable(() => cleanup(key));
    }
    throw error;
  }
}

/** Runs an activity that waits on a test-controlled gate; used while the server crashes. */
export async function gatedActivityWorkflow(key: string): Promise<string> {
  const { gated } = proxyActivities<typeof activities>({
    startToCloseTimeout: '10s',
    retry: { initialInterval: '100ms', backoffCoefficient: 2, maximumInterval: '1s' },
  });
  return await gated(key);
}
