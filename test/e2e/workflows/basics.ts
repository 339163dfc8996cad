/** Workflows for basics.test.ts: activities, retries, timeouts, heartbeats, timers and failures. */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  defineSignal,
  isCancellation,
  proxyActivities,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import type * as activities from '../activities.js';

/** Short timeouts and fast retries keep the suite quick. */
const fastRetry = { initialInterval: '100ms', backoffCoefficient: 2, maximumInterval: '1s' } as const;

const { greet, flaky, failNonRetryable, resumeFromHeartbeat } = proxyActivities<typeof activities>({
  startToCloseTimeout: '5s',
  retry: { ...fastRetry, maximumAttempts: 5 },
});

export async function greetingWorkflow(name: string): Promise<string> {
  return await greet(name);
}

export async function flakyActivityWorkflow(key: string, failures: number): Promise<number> {
  return await flaky(key, failures);
}

export interface CaughtFailure {
  errorName: string;
  causeName?: string;
  causeType?: string;
  causeMessage?: string;
  nonRetryable?: boolean;
  details?: unknown[];
}

function describeFailure(error: unknown): CaughtFailure {
  if (!(error instanceof ActivityFailure)) throw error;
  const caught: CaughtFailure = { errorName: error.name };
  const cause = error.cause;
  if (cause instanceof ApplicationFailure) {
    caught.causeName = cause.name;
    caught.causeType = cause.type ?? undefined;
    caught.causeMessage = cause.message;
    caught.nonRetryable = cause.nonRetryable ?? undefined;
    caught.details = cause.details ?? undefined;
  } else if (cause instanceof CancelledFailure) {
    caught.causeName = cause.name;
    caught.causeMessage = cause.message;
  } else if (cause instanceof Error) {
    caught.causeName = cause.name;
    caught.causeMessage = cause.message;
  }
  return caught;
}

export async function nonRetryableWorkflow(key: string, message: string): Promise<CaughtFailure> {
  try {
    await failNonRetryable(key, message);
  } catch (error) {
    return describeFailure(error);
  }
  throw ApplicationFailure.nonRetryable('the activity was expected to fail');
}

/** Attempt 1 outlives its 2 s start-to-close timeout and completes late (at 3 s); attempt 2 counts. */
export async function startToCloseTimeoutWorkflow(key: string): Promise<number> {
  const { slowFirstAttempt } = proxyActivities<typeof activities>({
    startToCloseTimeout: '2s',
    retry: { ...fastRetry, maximumAttempts: 3 },
  });
  return await slowFirstAttempt(key, 3_000);
}

/** Attempt 1 goes silent past its 1 s heartbeat timeout and completes late (at 2.5 s); attempt 2 counts. */
export async function heartbeatTimeoutWorkflow(key: string): Promise<number> {
  const { silentAfterFirstHeartbeat } = proxyActivities<typeof activities>({
    startToCloseTimeout: '20s',
    heartbeatTimeout: '1s',
    retry: { ...fastRetry, maximumAttempts: 3 },
  });
  return await silentAfterFirstHeartbeat(key, 2_500);
}

export async function heartbeatDetailsWorkflow(
  key: string,
  progress: number,
): Promise<{ attempt: number; details: unknown }> {
  return await resumeFromHeartbeat(key, progress);
}

export const cancelActivitySignal = defineSignal('cancelActivity');

/**
 * Runs a heartbeating activity in a cancellation scope and cancels the scope when signalled; waits for
 * the activity to acknowledge the cancellation, and returns what the workflow caught.
 */
export async function cancelActivityWorkflow(key: string): Promise<CaughtFailure> {
  const { heartbeatUntilCancelled } = proxyActivities<typeof activities>({
    startToCloseTimeout: '60s',
    heartbeatTimeout: '2s',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { ...fastRetry, maximumAttempts: 1 },
  });
  let cancelRequested = false;
  setHandler(cancelActivitySignal, () => {
    cancelRequested = true;
  });
  const scope = new CancellationScope();
  const activity = scope.run(() => heartbeatUntilCancelled(key));
  await condition(() => cancelRequested);
  scope.cancel();
  try {
    await activity;
  } catch (error) {
    return describeFailure(error);
  }
  throw ApplicationFailure.nonRetryable('the activity was expected to be cancelled');
}

export async function sleepWorkflow(ms: number): Promise<number> {
  const before = Date.now();
  await sleep(ms);
  return Date.now() - before;
}

/**
 * Starts a long timer, lets a short one fire (so the long timer is surely recorded in history by an
 * earlier workflow task), then cancels the long one.
 */
export async function cancelTimerWorkflow(): Promise<string> {
  const scope = new CancellationScope();
  const longTimer = scope.run(() => sleep('1 hour'));
  await sleep(200);
  scope.cancel();
  try {
    await longTimer;
  } catch (error) {
    if (isCancellation(error)) return 'long timer cancelled';
    throw error;
  }
  return 'long timer fired';
}

export async function failingWorkflow(message: string): Promise<never> {
  throw ApplicationFailure.create({ message, type: 'BusinessRuleViolation', nonRetryable: true, details: [42] });
}

export const finishSignal = defineSignal('finish');

/** Blocks until the `finish` signal. */
export async function waitForFinishWorkflow(): Promise<string> {
  let finished = false;
  setHandler(finishSignal, () => {
    finished = true;
  });
  await condition(() => finished);
  return 'finished';
}

/** Sends an activity an argument of `size` characters (payload size limits). */
export async function bigActivityInputWorkflow(size: number): Promise<string> {
  return await greet('x'.repeat(size));
}

/** Runs bigOutput once (no retries) and reports how it failed; throws if it succeeded. */
export async function bigActivityOutputWorkflow(size: number, heartbeat: boolean): Promise<CaughtFailure> {
  const { bigOutput } = proxyActivities<typeof activities>({ startToCloseTimeout: '20s', heartbeatTimeout: '10s', retry: { maximumAttempts: 3 } });
  try {
    await bigOutput(size, heartbeat);
  } catch (error) {
    return describeFailure(error);
  }
  throw ApplicationFailure.nonRetryable('the activity was expected to fail');
}
