/** Workflows the benchmarks run (bundled by each scenario). */
import { proxyActivities } from '@temporalio/workflow';
import type * as activities from './activities.js';

const { noop } = proxyActivities<typeof activities>({ startToCloseTimeout: '30s' });

/** One workflow task, one activity, one workflow task: the smallest useful round trip. */
export async function singleActivityWorkflow(): Promise<void> {
  await noop();
}
