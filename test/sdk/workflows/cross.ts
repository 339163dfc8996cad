/**
 * Extra scenarios for cross-SDK replay, written against @temporalio/workflow like the official suite's
 * workflows (the Kairos worker runs them through the import alias).
 */
import { continueAsNew, patched, sleep } from '@temporalio/workflow';

/** Continues as new until `remaining` reaches 0, carrying a running total. */
export async function countdownToZero(remaining: number, total: number): Promise<number> {
  if (remaining <= 0) return total;
  return await continueAsNew<typeof countdownToZero>(remaining - 1, total + remaining);
}

/** Uses a patch: histories carry a `core_patch` marker (and, from the official worker, a search attribute upsert). */
export async function patchedSleep(): Promise<string> {
  if (patched('sleep-longer')) {
    await sleep(20);
    return 'patched';
  }
  await sleep(10);
  return 'original';
}
