/** Workflows for visibility.test.ts (bundled on their own): typed search attribute upserts. */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { condition, defineSignal, executeChild, setHandler, sleep, upsertSearchAttributes } from '@temporalio/workflow';

export const finishSignal = defineSignal('finish');
export const STAGE = defineSearchAttributeKey('Stage', SearchAttributeType.KEYWORD);

/** Upserts Stage, then finishes at once or when signalled. */
export async function visibilityWorkflow(waitForSignal: boolean): Promise<string> {
  let finished = false;
  setHandler(finishSignal, () => {
    finished = true;
  });
  upsertSearchAttributes([{ key: STAGE, value: 'upserted' }]);
  if (waitForSignal) await condition(() => finished);
  return 'done';
}

/** Runs visibilityWorkflow as a child with the given id. */
export async function visibilityParentWorkflow(childId: string): Promise<string> {
  return await executeChild(visibilityWorkflow, { workflowId: childId, args: [false] });
}

/** Upserts a search attribute the namespace never registered (the server must refuse the task). */
export async function upsertUnregisteredWorkflow(): Promise<void> {
  upsertSearchAttributes([{ key: defineSearchAttributeKey('NeverRegistered', SearchAttributeType.KEYWORD), value: 'x' }]);
  await sleep(60_000);
}
