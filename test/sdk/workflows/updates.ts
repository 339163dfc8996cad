/**
 * Workflows with updates for test/sdk/updates.test.ts, written against @temporalio/workflow: the
 * official worker runs them as they are, ours with the import aliased to @kairos/workflow, so their
 * histories can be replayed across the SDKs.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  defineQuery,
  defineSignal,
  defineUpdate,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';

const { greet } = proxyActivities<{ greet(name: string): Promise<string> }>({ startToCloseTimeout: '10s' });

/** Adds to the total and returns it; the validator rejects negative numbers. */
export const addUpdate = defineUpdate<number, [number]>('add');
/** Always fails with an ApplicationFailure of type `UpdateRefused`. */
export const refuseUpdate = defineUpdate<never, [string]>('refuse');
/** Greets through an activity once the `release` signal came: completes in a later workflow task. */
export const greetLaterUpdate = defineUpdate<string, [string]>('greetLater');
export const releaseSignal = defineSignal('release');
export const finishSignal = defineSignal('finish');
/** How many times the `add` handler ran (the validator does not count). */
export const addCallsQuery = defineQuery<number>('addCalls');

/** A counter changed by updates; returns the total once `finish` came and every handler returned. */
export async function updatableCounter(initial: number): Promise<number> {
  let total = initial;
  let addCalls = 0;
  let released = false;
  let finished = false;
  setHandler(
    addUpdate,
    (n) => {
      addCalls++;
      total += n;
      return total;
    },
    {
      validator: (n) => {
        if (n < 0) throw new Error(`cannot add a negative number: ${n}`);
      },
    },
  );
  setHandler(refuseUpdate, (reason) => {
    throw ApplicationFailure.create({ message: `refused: ${reason}`, type: 'UpdateRefused', nonRetryable: true });
  });
  setHandler(greetLaterUpdate, async (name) => {
    await condition(() => released);
    return await greet(name);
  });
  setHandler(releaseSignal, () => {
    released = true;
  });
  setHandler(finishSignal, () => {
    finished = true;
  });
  setHandler(addCallsQuery, () => addCalls);
  await condition(() => finished && allHandlersFinished());
  return total;
}
