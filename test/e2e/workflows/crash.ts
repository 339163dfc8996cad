/** Workflows for worker-crash.test.ts. */
import { condition, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
import type * as activities from '../activities.js';

export const proceedSignal = defineSignal('proceed');

/** Runs activity A, waits for `proceed`, runs activity B; returns what each activity reported. */
export async function twoStepWorkflow(counterFile: string): Promise<string[]> {
  const { recordExecution } = proxyActivities<typeof activities>({
    startToCloseTimeout: '5s',
    retry: { initialInterval: '100ms', maximumInterval: '1s' },
  });
  let proceed = false;
  setHandler(proceedSignal, () => {
    proceed = true;
  });
  const a = await recordExecution(counterFile, 'A');
  await condition(() => proceed);
  const b = await recordExecution(counterFile, 'B');
  return [a, b];
}

/** One activity that (on its first attempt) waits for a file the test creates after killing the worker. */
export async function awaitReleaseWorkflow(counterFile: string, releaseFile: string): Promise<string> {
  const { recordThenAwaitRelease } = proxyActivities<typeof activities>({
    startToCloseTimeout: '2s',
    retry: { initialInterval: '100ms', maximumInterval: '1s' },
  });
  return await recordThenAwaitRelease(counterFile, 'C', releaseFile);
}
