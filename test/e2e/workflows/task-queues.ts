/** Workflows for task-queues.test.ts: fan-outs of activities, with priorities or a rate limit. */
import { condition, continueAsNew, defineQuery, executeChild, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import { proceedSignal } from './crash.js';
import type * as activities from '../activities.js';

/** Schedules one `flaky` activity per priority key, all at once, on `activityQueue`. */
export async function prioritizedActivities(key: string, activityQueue: string, priorityKeys: number[]): Promise<void> {
  await Promise.all(
    priorityKeys.map((priorityKey) =>
      proxyActivities<typeof activities>({ taskQueue: activityQueue, startToCloseTimeout: '10s', priority: { priorityKey } }).flaky(`${key}-p${priorityKey}`, 0),
    ),
  );
}

/** Runs `count` `flaky` activities in parallel. */
export async function fanOutActivities(key: string, count: number): Promise<void> {
  const { flaky } = proxyActivities<typeof activities>({ startToCloseTimeout: '20s' });
  await Promise.all(Array.from({ length: count }, (_, i) => flaky(`${key}-${i}`, 0)));
}

/** Runs `count` `pause` activities of `ms` each, all scheduled at once. */
export async function fanOutPauses(key: string, count: number, ms: number): Promise<void> {
  const { pause } = proxyActivities<typeof activities>({ startToCloseTimeout: '20s' });
  await Promise.all(Array.from({ length: count }, (_, i) => pause(`${key}-${i}`, ms)));
}

export const buildIdQuery = defineQuery<string>('buildId');

/** Answers with the build id its WorkflowInfo names (the worker of the last completed task) until signalled. */
export async function reportsBuildId(): Promise<string> {
  let proceed = false;
  setHandler(buildIdQuery, () => workflowInfo().currentBuildId ?? '');
  setHandler(proceedSignal, () => void (proceed = true));
  await condition(() => proceed);
  return workflowInfo().currentBuildId ?? '';
}

/** Runs `operatedActivity` with a short heartbeat timeout and a retry interval long enough to notice. */
export async function runsOperatedActivity(key: string, mode: 'return' | 'rethrow' | 'fail-first'): Promise<string> {
  const { operatedActivity } = proxyActivities<typeof activities>({
    startToCloseTimeout: '60s',
    heartbeatTimeout: '2s',
    retry: { initialInterval: mode === 'fail-first' ? '1h' : '200ms', maximumAttempts: 5 },
  });
  return await operatedActivity(key, mode);
}

/** Greets through an activity on `activityQueue` (where an operator may move it from). */
export async function greetsOn(activityQueue: string): Promise<string> {
  const { greet } = proxyActivities<typeof activities>({ taskQueue: activityQueue, startToCloseTimeout: '60s', retry: { maximumAttempts: 1 } });
  return await greet('moved');
}

/** Runs one `pause` activity of `ms` with a start-to-close timeout of a minute; answers how it ended. */
export async function awaitsLongActivity(key: string, ms: number): Promise<string> {
  const { pause } = proxyActivities<typeof activities>({ startToCloseTimeout: '60s', retry: { maximumAttempts: 1 } });
  try {
    await pause(key, ms);
    return 'completed';
  } catch (err) {
    return (err as Error & { cause?: Error }).cause?.message ?? String(err);
  }
}

/** What a run's children, activities and next run inherit of its Priority (priority.ts on the server). */
export interface InheritedPriorities {
  readonly own: unknown;
  readonly activity: unknown;
  readonly child: unknown;
}

/** Reports its own Priority, an activity's (which sets only a fairness key) and a child's (which sets none). */
export async function inheritsPriority(continueOnce: boolean): Promise<InheritedPriorities> {
  if (continueOnce) await continueAsNew<typeof inheritsPriority>(false);
  const { reportPriority } = proxyActivities<typeof activities>({ startToCloseTimeout: '10s', priority: { fairnessKey: 'activity-key' } });
  const activity = await reportPriority();
  const child = await executeChild(ownPriority, { workflowId: `${workflowInfo().workflowId}-child` });
  return { own: workflowInfo().priority ?? null, activity, child };
}

export async function ownPriority(): Promise<unknown> {
  return workflowInfo().priority ?? null;
}

/** Waits for `proceedSignal`, then reports the Priority of an activity that sets none. */
export async function priorityAfterSignal(): Promise<unknown> {
  let proceed = false;
  setHandler(proceedSignal, () => void (proceed = true));
  await condition(() => proceed);
  const { reportPriority } = proxyActivities<typeof activities>({ startToCloseTimeout: '10s' });
  return await reportPriority();
}
