/** Version 3 of patchableWorkflow: no version 1 run is left, the old path is gone. */
import { deprecatePatch, proxyActivities } from '@kairos/workflow';
import type * as activities from '../activities.js';

const { greet } = proxyActivities<typeof activities>({ startToCloseTimeout: '5s' });

export async function patchableWorkflow(): Promise<string> {
  deprecatePatch('use-activity');
  return await greet('v2');
}
