/**
 * Extra scenarios for cross-SDK replay, written against @temporalio/workflow like the official suite's
 * workflows (the Kairos worker runs them through the import alias).
 */
import {
  ApplicationFailure,
  continueAsNew,
  patched,
  proxyLocalActivities,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type * as activities from '../../e2e/activities.js';

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

const localActivities = proxyLocalActivities<typeof activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '10ms', backoffCoefficient: 1, maximumAttempts: 5 },
});

/** Local activities: two results, one retried failure, one non-retryable failure caught, then a timer. */
export async function localActivityWorkflow(key: string): Promise<string[]> {
  const seen: string[] = [await localActivities.greet('local')];
  seen.push(`attempts ${await localActivities.flaky(`${key}-flaky`, 2)}`);
  try {
    await localActivities.failNonRetryable(`${key}-fail`, 'no way');
  } catch (error) {
    // As in the official SDK, a local activity's failure reaches the workflow as it was thrown.
    if (!(error instanceof ApplicationFailure)) throw error;
    seen.push(`${error.type ?? ''}: ${error.message}`);
  }
  await sleep(10);
  seen.push(await localActivities.greet('after timer'));
  return seen;
}

/** Upserts a search attribute and the memo; returns what workflowInfo() says afterwards. */
export async function upsertingWorkflow(): Promise<{ searchAttributes: unknown; memo: unknown }> {
  upsertSearchAttributes({ CrossStage: ['upserted'] });
  upsertMemo({ note: 'changed', gone: null });
  await sleep(10);
  const info = workflowInfo();
  return { searchAttributes: info.searchAttributes['CrossStage'], memo: info.memo };
}

/** A local activity whose retries are 2 s apart, beyond its 1 s localRetryThreshold: each waits on a timer. */
export async function localActivityWithTimerBackoff(key: string): Promise<number> {
  const { flaky } = proxyLocalActivities<typeof activities>({
    startToCloseTimeout: '10s',
    localRetryThreshold: '1s',
    retry: { initialInterval: '2s', backoffCoefficient: 1, maximumAttempts: 5 },
  });
  return await flaky(key, 2);
}
