/** Version 2 of patchableWorkflow: new runs call an activity, runs started on version 1 keep sleeping. */
import { patched, proxyActivities, sleep } from '@kairos/workflow';
import type * as activities from '../activities.js';

const { greet } = proxyActivities<typeof activities>({ startToCloseTimeout: '5s' });

export async function patchableWorkflow(): Promise<string> {
  if (patched('use-activity')) return await greet('v2');
  await sleep(10);
  return 'v1';
}
