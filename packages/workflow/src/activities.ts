// proxyActivities: a typed stub whose methods schedule activities and resolve with their results.
import {
  ActivityFailure,
  CancelledFailure,
  compileRetryPolicy,
  composeInterceptors,
  msOptionalFromDuration,
  toPayloads,
  type ActivityCommandOptions,
  type Duration,
  type Headers,
  type RetryPolicy,
} from '@kairos/sdk-common';
import { CancellationScope } from './cancellation-scope.js';
import { getActivator } from './runtime.js';

/** What happens to an activity when its cancellation scope is cancelled. */
export const ActivityCancellationType = {
  /** Ask the server to cancel and fail the activity in the workflow at once (the default). */
  TRY_CANCEL: 'TRY_CANCEL',
  /** Ask the server to cancel, and wait until the activity acknowledges it. */
  WAIT_CANCELLATION_COMPLETED: 'WAIT_CANCELLATION_COMPLETED',
  /** Do not tell the server; fail the activity in the workflow at once. */
  ABANDON: 'ABANDON',
} as const;
export type ActivityCancellationType = (typeof ActivityCancellationType)[keyof typeof ActivityCancellationType];

export interface ActivityOptions {
  taskQueue?: string;
  scheduleToCloseTimeout?: Duration;
  scheduleToStartTimeout?: Duration;
  startToCloseTimeout?: Duration;
  heartbeatTimeout?: Duration;
  retry?: RetryPolicy;
  cancellationType?: ActivityCancellationType;
}

/** The workflow-side view of an activities module: every function returns a promise. */
export type ActivityInterfaceFor<A> = {
  [K in keyof A]: A[K] extends (...args: infer P) => infer R ? (...args: P) => Promise<Awaited<R>> : never;
};

function compileOptions(options: ActivityOptions): ActivityCommandOptions {
  if (options.startToCloseTimeout === undefined && options.scheduleToCloseTimeout === undefined) {
    throw new TypeError('Required either scheduleToCloseTimeout or startToCloseTimeout');
  }
  return {
    taskQueue: options.taskQueue,
    scheduleToCloseTimeoutMs: msOptionalFromDuration(options.scheduleToCloseTimeout),
    scheduleToStartTimeoutMs: msOptionalFromDuration(options.scheduleToStartTimeout),
    startToCloseTimeoutMs: msOptionalFromDuration(options.startToCloseTimeout),
    heartbeatTimeoutMs: msOptionalFromDuration(options.heartbeatTimeout),
    retry: options.retry === undefined ? undefined : compileRetryPolicy(options.retry),
  };
}

/**
 * Registers a scheduled activity (remote or local) under its sequence number: its resolution (from
 * the worker's activation) settles the caller's promise and drops the scope's cancel listener.
 */
export function awaitActivityResult(
  activator: ReturnType<typeof getActivator>,
  seq: number,
  activityType: string,
  unsubscribe: () => void,
  resolve: (value: unknown) => void,
  reject: (reason: unknown) => void,
): void {
  activator.activities.set(seq, {
    activityType,
    resolve: (value) => {
      unsubscribe();
      resolve(value);
    },
    reject: (reason) => {
      unsubscribe();
      reject(reason);
    },
  });
}

function cancelledActivity(activityType: string, seq: number): ActivityFailure {
  return new ActivityFailure(
    'Activity cancelled',
    activityType,
    String(seq),
    'CANCEL_REQUESTED',
    undefined,
    new CancelledFailure('Activity cancelled'),
  );
}

/** The outbound `scheduleActivity` chain around the command itself; the seq is taken before the chain runs. */
async function scheduleActivity(activityType: string, args: unknown[], options: ActivityOptions): Promise<unknown> {
  const activator = getActivator();
  if (CancellationScope.current().consideredCancelled) return await CancellationScope.current().cancelRequested;
  const seq = activator.nextSeq.activity++;
  const schedule = composeInterceptors(activator.interceptors.outbound, 'scheduleActivity', async (input) =>
    await scheduleActivityCommand(
      input.activityType,
      input.args,
      input.headers,
      compileOptions(input.options),
      input.options.cancellationType ?? ActivityCancellationType.TRY_CANCEL,
      input.seq,
    ),
  );
  return await schedule({ activityType, args, options, headers: {}, seq });
}

async function scheduleActivityCommand(
  activityType: string,
  args: unknown[],
  headers: Headers,
  options: ActivityCommandOptions,
  cancellationType: ActivityCancellationType,
  seq: number,
): Promise<unknown> {
  const activator = getActivator();
  const scope = CancellationScope.current();
  if (scope.consideredCancelled) return await scope.cancelRequested;
  return await new Promise<unknown>((resolve, reject) => {
    const unsubscribe = scope.onCancel(() => {
      if (!activator.activities.has(seq)) return;
      const settleNow = (): void => {
        activator.activities.delete(seq);
        reject(cancelledActivity(activityType, seq));
      };
      if (activator.withdrawCommand('scheduleActivity', seq) || cancellationType === 'ABANDON') {
        settleNow();
        return;
      }
      activator.pushCommand({ kind: 'requestCancelActivity', seq });
      // WAIT_CANCELLATION_COMPLETED keeps waiting for the activity's own answer.
      if (cancellationType === 'TRY_CANCEL') settleNow();
    });
    awaitActivityResult(activator, seq, activityType, unsubscribe, resolve, reject);
    activator.pushCommand({
      kind: 'scheduleActivity',
      seq,
      activityType,
      args: toPayloads(activator.converter, args),
      headers,
      options,
    });
  });
}

export function proxyActivities<A = Record<string, (...args: never[]) => Promise<unknown>>>(
  options: ActivityOptions,
): ActivityInterfaceFor<A> {
  compileOptions(options); // fails at once on invalid options
  return new Proxy({} as ActivityInterfaceFor<A>, {
    get(_target, name) {
      if (typeof name !== 'string') throw new TypeError(`activity name must be a string, got ${String(name)}`);
      return (...args: unknown[]) => scheduleActivity(name, args, options);
    },
  });
}
