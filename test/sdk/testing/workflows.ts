/** Workflows of the @kairos/testing tests (bundled on their own). */
import { ActivityFailure, TimeoutFailure, proxyActivities, sleep } from '@kairos/workflow';

export interface TestingActivities {
  /** Calls `env.sleep(ms)`: takes `ms` of virtual time. */
  takeVirtualTime(ms: number): Promise<string>;
}

/** Sleeps `ms` and returns how much workflow time passed. */
export async function sleeper(ms: number): Promise<number> {
  const before = Date.now();
  await sleep(ms);
  return Date.now() - before;
}

/** Runs an activity that takes 11 min with a 10 min start-to-close timeout; returns the timeout type it failed with. */
export async function activityTimeout(): Promise<string> {
  const { takeVirtualTime } = proxyActivities<TestingActivities>({ startToCloseTimeout: '10m', retry: { maximumAttempts: 1 } });
  try {
    return await takeVirtualTime(11 * 60_000);
  } catch (err) {
    if (err instanceof ActivityFailure && err.cause instanceof TimeoutFailure) return err.cause.timeoutType;
    throw err;
  }
}

/** The official SDK's documented example: a long activity raced against a shorter timer. */
export async function raceActivityAndTimer(): Promise<string> {
  const { takeVirtualTime } = proxyActivities<TestingActivities>({ startToCloseTimeout: 2_000_000 });
  return await Promise.race([sleep(500_000).then(() => 'timer'), takeVirtualTime(1_000_000).then(() => 'activity')]);
}
