/** Workflows for updates.test.ts: workflow updates (validators, de-duplication, slow handlers, continue-as-new). */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';
import type * as activities from '../activities.js';

/** Adds to the running total and returns it; the validator rejects negative numbers. */
export const addUpdate = defineUpdate<number, [number]>('add');
/** Returns once the `release` signal came. */
export const slowUpdate = defineUpdate<string, [string]>('slow');
/** Returns a string as long as asked for (large outcomes are read from history). */
export const bigUpdate = defineUpdate<string, [number]>('big');
export const releaseSignal = defineSignal('release');
export const counterFinishSignal = defineSignal('finishCounter');
/** How many times the `add` handler ran (the validator does not count). */
export const addCallsQuery = defineQuery<number>('addCalls');

function counterHandlers(state: { total: number; addCalls: number; released: boolean; finished: boolean }): void {
  setHandler(
    addUpdate,
    (n) => {
      state.addCalls++;
      state.total += n;
      return state.total;
    },
    {
      validator: (n) => {
        if (n < 0) throw new Error(`cannot add a negative number: ${n}`);
      },
    },
  );
  setHandler(slowUpdate, async (tag) => {
    await condition(() => state.released);
    return `slow ${tag} done`;
  });
  setHandler(bigUpdate, (size) => 'x'.repeat(size));
  setHandler(releaseSignal, () => {
    state.released = true;
  });
  setHandler(counterFinishSignal, () => {
    state.finished = true;
  });
  setHandler(addCallsQuery, () => state.addCalls);
}

/** A counter changed by updates; returns the total once `finish` came and every handler returned. */
export async function counterWorkflow(initial: number): Promise<number> {
  const state = { total: initial, addCalls: 0, released: false, finished: false };
  counterHandlers(state);
  await condition(() => state.finished && allHandlersFinished());
  return state.total;
}

/**
 * First run: waits in a local activity on the gate `key` (its workflow task stays started, so an update
 * sent meanwhile is admitted but not delivered) and then continues as new. The next run is a counter.
 */
export async function continueWithUpdatesWorkflow(key: string, initial: number, continued: boolean): Promise<number> {
  if (!continued) {
    const { gated } = proxyLocalActivities<typeof activities>({ startToCloseTimeout: '30s' });
    await gated(key);
    await continueAsNew<typeof continueWithUpdatesWorkflow>(key, initial, true);
  }
  return await counterWorkflow(initial);
}
