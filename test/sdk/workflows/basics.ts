/** Workflows of the Kairos SDK suite, written against @kairos/workflow. */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  sleep,
  uuid4,
  workflowInfo,
} from '@kairos/workflow';
import type * as activities from '../activities.js';

const { greet, flaky } = proxyActivities<typeof activities>({
  startToCloseTimeout: '5s',
  retry: { initialInterval: '100ms', backoffCoefficient: 2, maximumInterval: '1s', maximumAttempts: 5 },
});

export async function helloActivity(name: string): Promise<string> {
  return await greet(name);
}

export async function flakyActivity(key: string, failures: number): Promise<number> {
  return await flaky(key, failures);
}

export async function timerWorkflow(ms: number): Promise<number> {
  const before = Date.now();
  await sleep(ms);
  return Date.now() - before;
}

export async function failingWorkflow(message: string): Promise<never> {
  throw ApplicationFailure.create({ message, type: 'BusinessRuleViolation', nonRetryable: true, details: [42] });
}

export const addItemSignal = defineSignal<[string]>('addItem');
export const closeSignal = defineSignal('close');
export const itemsQuery = defineQuery<string[]>('items');

/** Collects `addItem` signals until `close`, then returns them in the order received. */
export async function collectorWorkflow(): Promise<string[]> {
  const items: string[] = [];
  let closed = false;
  setHandler(addItemSignal, (item) => {
    items.push(item);
  });
  setHandler(closeSignal, () => {
    closed = true;
  });
  setHandler(itemsQuery, () => items);
  await condition(() => closed);
  return items;
}

/** Continues as new until `remaining` reaches 0, carrying a running total. */
export async function countdownWorkflow(remaining: number, total: number): Promise<number> {
  if (remaining <= 0) return total;
  return await continueAsNew<typeof countdownWorkflow>(remaining - 1, total + remaining);
}

/** Deterministic sources: the same values on every replay of the run. */
export async function determinismProbe(): Promise<{ random: number; uuid: string; now: number; runId: string }> {
  const random = Math.random();
  const uuid = uuid4();
  await sleep(10);
  return { random, uuid, now: Date.now(), runId: workflowInfo().runId };
}

/** Waits on a long timer until cancelled; cleans up in a non-cancellable scope and rethrows. */
export async function cancellableWorkflow(): Promise<string> {
  try {
    await sleep('1 day');
    return 'not cancelled';
  } catch (error) {
    if (isCancellation(error)) {
      await CancellationScope.nonCancellable(() => greet('cleanup'));
    }
    throw error;
  }
}

/** A condition with a timeout: true when signalled in time, false when the timer wins. */
export async function conditionTimeoutWorkflow(timeoutMs: number): Promise<boolean> {
  let closed = false;
  setHandler(closeSignal, () => {
    closed = true;
  });
  return await condition(() => closed, timeoutMs);
}

const { busyFor } = proxyActivities<typeof activities>({ startToCloseTimeout: '30s' });

/** Runs one activity that takes `ms`: lets a test shut a worker down while it runs. */
export async function busyWorkflow(ms: number): Promise<string> {
  return await busyFor(ms);
}

/** Spins without yielding: the activation deadline must stop it. */
export async function busyLoopWorkflow(): Promise<void> {
  const start = Date.now();
  // Workflow time does not move inside an activation, so this never ends on its own.
  while (Date.now() === start) {
    // spin
  }
}

/** What the sandbox offers: Node globals are absent and GC observers refuse to work. */
export async function sandboxProbe(): Promise<Record<string, string>> {
  const g = globalThis as Record<string, unknown>;
  let weakRef = 'allowed';
  try {
    new WeakRef({});
  } catch (error) {
    weakRef = (error as Error).name;
  }
  return {
    weakRef,
    process: typeof g['process'],
    require: typeof g['require'],
    Buffer: typeof g['Buffer'],
    setTimeout: typeof g['setTimeout'],
    WebAssembly: typeof g['WebAssembly'],
    SharedArrayBuffer: typeof g['SharedArrayBuffer'],
  };
}

/** setTimeout in workflow code is a durable timer; clearTimeout cancels one. */
export async function setTimeoutWorkflow(): Promise<string[]> {
  const fired: string[] = [];
  const cleared = setTimeout(() => fired.push('cleared one'), 50);
  clearTimeout(cleared);
  await new Promise<void>((resolve) => setTimeout(() => {
    fired.push('kept one');
    resolve();
  }, 100));
  return fired;
}

/** Version 1 of a workflow that later gets patched (see patched-v2.ts and patched-v3.ts). */
export async function patchableWorkflow(): Promise<string> {
  await sleep(10);
  return 'v1';
}

/** Logs around a timer: with replay from the first event on every task, each line must still appear once. */
export async function loggingWorkflow(): Promise<void> {
  log.info('before the timer', { step: 1 });
  await sleep(50);
  log.info('after the timer', { step: 2 });
}
