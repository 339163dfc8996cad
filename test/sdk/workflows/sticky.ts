/** Workflows of the sticky-execution tests: many workflow tasks per run. */
import { condition, defineQuery, defineSignal, proxyActivities, setHandler, sleep } from '@kairos/workflow';
import type * as activities from '../activities.js';

const { greet } = proxyActivities<typeof activities>({ startToCloseTimeout: '5s' });

export const stepSignal = defineSignal<[number]>('step');
export const progressQuery = defineQuery<number>('progress');

/**
 * `steps` sequential steps, activities and 1 ms timers in turn (one workflow task each), then waits
 * for `signals` step signals.
 */
export async function manyStepsWorkflow(steps: number, signals: number): Promise<{ results: string[]; signals: number[] }> {
  const results: string[] = [];
  const received: number[] = [];
  setHandler(stepSignal, (n) => {
    received.push(n);
  });
  setHandler(progressQuery, () => results.length);
  for (let i = 0; i < steps; i++) {
    if (i % 2 === 0) {
      results.push(await greet(`step ${i}`));
    } else {
      await sleep(1);
      results.push(`slept ${i}`);
    }
  }
  await condition(() => received.length >= signals);
  return { results, signals: received };
}

/** `steps` sequential 1 ms timers: the benchmark of the cache. */
export async function manyTimersWorkflow(steps: number): Promise<number> {
  for (let i = 0; i < steps; i++) await sleep(1);
  return steps;
}
