/** Workflows for reset.test.ts. */
import { condition, proxyActivities, setHandler, startChild } from '@temporalio/workflow';
import type * as activities from '../activities.js';
import { addItemSignal } from './messaging.js';
import { childWaits } from './children.js';

/**
 * Runs a first activity, waits for at least one `addItem` signal, runs a second activity and returns
 * the items: a reset to the first workflow task runs the first activity again, and the signals
 * re-applied by the reset let it finish without being sent again.
 */
export async function stepsAroundSignal(key: string): Promise<string[]> {
  const { flaky } = proxyActivities<typeof activities>({ startToCloseTimeout: '5s' });
  const items: string[] = [];
  setHandler(addItemSignal, (item) => {
    items.push(item);
  });
  await flaky(`${key}-first`, 0);
  await condition(() => items.length > 0);
  await flaky(`${key}-second`, 0);
  return items;
}

/**
 * Starts a child that waits to be poked, waits for an `addItem` signal, then returns the items and the
 * child's result: a reset to the task after the child started keeps the child (it goes on running).
 */
export async function parentAroundChild(childId: string): Promise<string[]> {
  const items: string[] = [];
  setHandler(addItemSignal, (item) => {
    items.push(item);
  });
  const child = await startChild(childWaits, { workflowId: childId });
  await condition(() => items.length > 0);
  return [...items, await child.result()];
}
