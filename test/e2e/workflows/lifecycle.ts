/** Workflows for lifecycle.test.ts: workflow timeouts, start delay, local activities, memo upserts. */
import { ApplicationFailure, continueAsNew, proxyActivities, proxyLocalActivities, sleep, upsertMemo, workflowInfo } from '@temporalio/workflow';
import type * as activities from '../activities.js';

const { greet: localGreet } = proxyLocalActivities<typeof activities>({ startToCloseTimeout: '5s' });

export async function sleepLongWorkflow(ms: number): Promise<string> {
  await sleep(ms);
  return 'woke up';
}

export async function localActivityWorkflow(name: string): Promise<string> {
  return await localGreet(name);
}

export async function memoWorkflow(): Promise<string> {
  upsertMemo({ stage: 'upserted' });
  return String(workflowInfo().memo?.['initial']);
}

const { completeLater } = proxyActivities<typeof activities>({ startToCloseTimeout: '30s', heartbeatTimeout: '20s' });

export async function asyncCompletionWorkflow(key: string): Promise<string> {
  return await completeLater(key);
}

/** Continues as new until `remaining` reaches 0, carrying a running total. */
export async function countdownWorkflow(remaining: number, total: number): Promise<number> {
  if (remaining <= 0) return total;
  await continueAsNew<typeof countdownWorkflow>(remaining - 1, total + remaining);
  return -1;
}

/** Fails until its attempt reaches `succeedOnAttempt` (workflow retry policy). */
export async function retriedWorkflow(succeedOnAttempt: number): Promise<number> {
  const { attempt } = workflowInfo();
  if (attempt < succeedOnAttempt) throw ApplicationFailure.retryable(`attempt ${attempt} fails`, 'Flaky');
  return attempt;
}

/** A cron run: counts the runs of its chain through the previous run's result. */
export async function cronCounter(): Promise<number> {
  const previous = workflowInfo().lastResult as number | undefined;
  return (previous ?? 0) + 1;
}
