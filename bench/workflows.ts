/** Workflows the benchmarks run (bundled by bench/harness.ts). */
import { condition, defineSignal, defineUpdate, proxyActivities, proxySinks, setHandler, sleep, type Sinks } from '@temporalio/workflow';
import type * as activities from './activities.js';

const { noop } = proxyActivities<typeof activities>({ startToCloseTimeout: '30s' });

/**
 * Calls out of the sandbox into the bench process (run by the worker after the activation, never
 * during replay): how a scenario learns that a workflow reached a point without polling the server.
 */
export interface BenchSinks extends Sinks {
  bench: {
    /** The workflow set up what it waits on (a signal handler, a timer). */
    parked(): void;
    /** The workflow ran on past what it waited on. */
    resumed(): void;
  };
}

const { bench } = proxySinks<BenchSinks>();

export const wakeSignal = defineSignal('wake');
export const countSignal = defineSignal('count');
export const finishSignal = defineSignal('finish');
export const echoUpdate = defineUpdate<number, [number]>('echo');

/** One workflow task, one activity, one workflow task: the smallest useful round trip. */
export async function singleActivityWorkflow(): Promise<void> {
  await noop();
}

/** `steps` no-op activities one after another: each step is a full activity and workflow-task round trip. */
export async function activityChainWorkflow(steps: number): Promise<void> {
  for (let step = 0; step < steps; step++) await noop();
}

/**
 * Sleeps until `fireAtMs` (epoch ms), so that the bench decides when each timer is due (all pending at
 * once, or all due at the same instant) however long starting the workflows took.
 */
export async function sleepUntilWorkflow(fireAtMs: number): Promise<void> {
  bench.parked();
  await sleep(Math.max(1, fireAtMs - Date.now()));
  bench.resumed();
}

/** Parks until the `wake` signal: what most of a real fleet's workflows do most of the time. */
export async function parkedWorkflow(): Promise<void> {
  let woken = false;
  setHandler(wakeSignal, () => {
    woken = true;
  });
  bench.parked();
  await condition(() => woken);
  bench.resumed();
}

/**
 * Receives `count` signals (reports `resumed` once `expectedSignals` arrived) and answers `echo`
 * updates, until the `finish` signal.
 */
export async function messageTargetWorkflow(expectedSignals: number): Promise<number> {
  let count = 0;
  let finished = false;
  setHandler(countSignal, () => {
    count++;
    if (count === expectedSignals) bench.resumed();
  });
  setHandler(echoUpdate, (value) => value);
  setHandler(finishSignal, () => {
    finished = true;
  });
  bench.parked();
  await condition(() => finished);
  return count;
}
