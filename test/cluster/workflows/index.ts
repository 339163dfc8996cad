/** Workflows of the cluster suite, bundled once per test file. */
import { condition, defineSignal, proxyActivities, setHandler, sleep } from '@temporalio/workflow';
import type * as activities from '../activities.js';

/** Adds an item to the workflow's result (the test checks each acknowledged item arrives exactly once). */
export const addItemSignal = defineSignal<[string]>('addItem');
/** Lets a workflow that waits for it run its second activity and complete. */
export const finishSignal = defineSignal('finish');

export interface StepsResult {
  /** `addItem` payloads in the order the workflow saw them. */
  readonly items: string[];
  /** What each activity returned (`<step>#<attempt>`). */
  readonly steps: string[];
}

/**
 * Activity `first`, a timer of `timerMs`, then (if `waitForFinish`) the `finish` signal, then activity
 * `second`. Collects every `addItem` signal all along.
 */
export async function stepsWorkflow(key: string, timerMs: number, waitForFinish: boolean): Promise<StepsResult> {
  const { recordStep } = proxyActivities<typeof activities>({
    startToCloseTimeout: '10s',
    retry: { initialInterval: '200ms', maximumInterval: '1s' },
  });
  const items: string[] = [];
  let finished = false;
  setHandler(addItemSignal, (item) => {
    items.push(item);
  });
  setHandler(finishSignal, () => {
    finished = true;
  });
  const first = await recordStep(key, 'first');
  await sleep(timerMs);
  if (waitForFinish) await condition(() => finished);
  const second = await recordStep(key, 'second');
  return { items, steps: [first, second] };
}
