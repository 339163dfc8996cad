// proxyLocalActivities: activities the worker runs itself, inside the workflow task, without an
// activity task on the server. Their outcome is recorded as a `core_local_activity` marker (sdk-core's
// format, so histories cross between the SDKs), and on replay the marker's outcome is used instead of
// running the activity again. As in the official SDK, local and normal activities share one sequence
// of ids, and a failure reaches the workflow as the activity threw it (no ActivityFailure around it).
// Cancelling the activity's scope asks the worker to cancel it (a `requestCancelActivity` command with
// the local activity's seq, which the worker keeps to itself): the worker records a cancelled marker
// at once, as sdk-core does, and the workflow gets an ActivityFailure caused by a CancelledFailure.
import {
  ActivityFailure,
  CancelledFailure,
  compileRetryPolicy,
  composeInterceptors,
  msOptionalFromDuration,
  toPayloads,
  type Duration,
  type LocalActivityCommandOptions,
  type RetryPolicy,
} from '@kairos/sdk-common';
import { awaitActivityResult, type ActivityInterfaceFor } from './activities.js';
import { CancellationScope } from './cancellation-scope.js';
import type { LocalActivityInput } from './interceptors.js';
import { LocalActivityDoBackoff } from './errors.js';
import { getActivator } from './runtime.js';
import { sleep } from './timers.js';

export interface LocalActivityOptions {
  scheduleToCloseTimeout?: Duration;
  startToCloseTimeout?: Duration;
  scheduleToStartTimeout?: Duration;
  /** Retries are done by the worker; without a policy, sdk-core's default (1 s, doubling, up to 100 s, unlimited). */
  retry?: RetryPolicy;
  /** A retry further away than this waits on a durable timer in the workflow (default 1 minute). */
  localRetryThreshold?: Duration;
}

function compileOptions(options: LocalActivityOptions): LocalActivityCommandOptions {
  if (options.startToCloseTimeout === undefined && options.scheduleToCloseTimeout === undefined) {
    throw new TypeError('Required either scheduleToCloseTimeout or startToCloseTimeout');
  }
  return {
    scheduleToCloseTimeoutMs: msOptionalFromDuration(options.scheduleToCloseTimeout),
    scheduleToStartTimeoutMs: msOptionalFromDuration(options.scheduleToStartTimeout),
    startToCloseTimeoutMs: msOptionalFromDuration(options.startToCloseTimeout),
    retry: options.retry === undefined ? undefined : compileRetryPolicy(options.retry),
    localRetryThresholdMs: msOptionalFromDuration(options.localRetryThreshold),
  };
}

/** Hands one attempt (or run of attempts) to the worker: the `scheduleLocalActivity` command. */
async function scheduleOnce(input: LocalActivityInput): Promise<unknown> {
  const activator = getActivator();
  const scope = CancellationScope.current();
  const { activityType, seq } = input;
  return await new Promise<unknown>((resolve, reject) => {
    const unsubscribe = scope.onCancel(() => {
      if (!activator.activities.has(seq)) return;
      if (activator.withdrawCommand('scheduleLocalActivity', seq)) {
        // Never handed to the worker: nothing to cancel, nothing to record.
        activator.activities.delete(seq);
        reject(new ActivityFailure('Local Activity cancelled', activityType, String(seq), 'CANCEL_REQUESTED', undefined, new CancelledFailure('Local Activity cancelled')));
        return;
      }
      activator.pushCommand({ kind: 'requestCancelActivity', seq });
    });
    awaitActivityResult(activator, seq, activityType, unsubscribe, resolve, reject);
    activator.pushCommand({
      kind: 'scheduleLocalActivity',
      seq,
      activityType,
      args: toPayloads(activator.converter, input.args),
      attempt: input.attempt,
      originalScheduleTimeMs: input.originalScheduleTime?.getTime(),
      options: compileOptions(input.options),
      headers: input.headers,
    });
  });
}

/**
 * Runs a local activity; a long backoff between attempts is a durable timer, then a new schedule.
 * Each schedule goes through the outbound interceptors' `scheduleLocalActivity`, as in the official SDK.
 */
export async function scheduleLocalActivity(activityType: string, args: unknown[], options: LocalActivityOptions): Promise<unknown> {
  const activator = getActivator();
  const schedule = composeInterceptors(activator.interceptors.outbound, 'scheduleLocalActivity', scheduleOnce);
  let attempt = 1;
  let originalScheduleTime: Date | undefined;
  for (;;) {
    const scope = CancellationScope.current();
    if (scope.consideredCancelled) return await scope.cancelRequested;
    const seq = activator.nextSeq.activity++;
    try {
      return await schedule({ activityType, args, options, headers: {}, seq, attempt, originalScheduleTime });
    } catch (error) {
      if (!(error instanceof LocalActivityDoBackoff)) throw error;
      await sleep(error.backoffMs);
      attempt = error.attempt;
      originalScheduleTime = error.originalScheduleTimeMs === undefined ? undefined : new Date(error.originalScheduleTimeMs);
    }
  }
}

export function proxyLocalActivities<A = Record<string, (...args: never[]) => Promise<unknown>>>(
  options: LocalActivityOptions,
): ActivityInterfaceFor<A> {
  compileOptions(options); // fails early on missing timeouts
  return new Proxy({} as ActivityInterfaceFor<A>, {
    get(_target, name) {
      if (typeof name !== 'string') throw new TypeError(`activity name must be a string, got ${String(name)}`);
      return (...args: unknown[]) => scheduleLocalActivity(name, args, options);
    },
  });
}
