/**
 * Activities of the cluster suite. Workers run in the test process, so `stepExecutions` counts every
 * execution the worker started, whatever the server later did with its result.
 */
import { Context } from '@temporalio/activity';

/** Executions per `<workflow key>/<step>`, counted by the activity itself. */
export const stepExecutions = new Map<string, number>();

/** How long each step runs: long enough that a node dies or pauses while some are running. */
const STEP_MS = 250;

export async function recordStep(key: string, step: string): Promise<string> {
  const name = `${key}/${step}`;
  stepExecutions.set(name, (stepExecutions.get(name) ?? 0) + 1);
  await Context.current().sleep(STEP_MS);
  return `${step}#${Context.current().info.attempt}`;
}
