/** Workflows for reset.test.ts. */
import { condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type * as activities from '../activities.js';
import { addItemSignal } from './messaging.js';

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
