/** Workflows for lifecycle.test.ts: workflow timeouts, start delay, local activities, memo upserts. */
import { proxyActivities, proxyLocalActivities, sleep, upsertMemo, workflowInfo } from '@temporalio/workflow';
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
