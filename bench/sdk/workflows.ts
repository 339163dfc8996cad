/**
 * Workflows of the sdk-worker scenario. They import `@temporalio/workflow` only for what both SDKs
 * provide, so the Kairos worker runs the same file (its bundler maps the import to `@kairos/workflow`).
 */
import { condition, defineSignal, proxyActivities, setHandler, sleep } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '30s' });

export const wakeSignal = defineSignal('wake');

/** One workflow task, one activity, one workflow task. */
export async function singleActivityWorkflow(): Promise<void> {
  await noop();
}

/** Waits for a signal: a cached run held by the worker between tasks. */
export async function parkedWorkflow(): Promise<void> {
  let woken = false;
  setHandler(wakeSignal, () => {
    woken = true;
  });
  await condition(() => woken);
}

/** Starts `timers` timers at once and waits for all: a long history (about 2 events per timer) quickly. */
export async function manyTimersWorkflow(timers: number): Promise<number> {
  await Promise.all(Array.from({ length: timers }, () => sleep(1000)));
  return timers;
}

/** `steps` 1 ms timers one after another: a workflow task per step, each on a longer history. */
export async function sequentialTimersWorkflow(steps: number): Promise<number> {
  for (let i = 0; i < steps; i++) await sleep(1);
  return steps;
}
