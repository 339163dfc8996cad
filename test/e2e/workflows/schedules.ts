// Workflows the schedule tests start.
import { sleep, workflowInfo } from '@temporalio/workflow';

export interface ScheduledRun {
  readonly arg: string;
  /** The previous scheduled run's result, handed on by the schedule. */
  readonly previous: unknown;
  readonly scheduledById: unknown;
}

export async function scheduledWorkflow(arg: string): Promise<ScheduledRun> {
  const info = workflowInfo();
  return { arg, previous: info.lastResult ?? null, scheduledById: info.searchAttributes?.['TemporalScheduledById']?.[0] ?? null };
}

export async function scheduledSleeper(ms: number): Promise<string> {
  await sleep(ms);
  return 'slept';
}
