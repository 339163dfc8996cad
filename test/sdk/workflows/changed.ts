/**
 * "Version 2" of two workflows of basics.ts whose code changed incompatibly: replaying a history of
 * version 1 with these must fail with a nondeterminism error that names the mismatch.
 */
import { proxyActivities, sleep } from '@kairos/workflow';
import type * as activities from '../activities.js';

const { greet } = proxyActivities<typeof activities>({ startToCloseTimeout: '5s' });

/** Was: call `greet`. Now: sleep first. */
export async function helloActivity(name: string): Promise<string> {
  await sleep(10);
  return `Hello, ${name}!`;
}

/** Was: sleep. Now: call an activity. */
export async function timerWorkflow(_ms: number): Promise<number> {
  await greet('changed');
  return 0;
}
