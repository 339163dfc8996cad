// Durable timers: `sleep` issues a StartTimer command and resolves when the worker reports TimerFired.
import { composeInterceptors, msFromDuration, type Duration } from '@kairos/sdk-common';
import { CancellationScope } from './cancellation-scope.js';
import { getActivator } from './runtime.js';

export async function sleep(duration: Duration): Promise<void> {
  const activator = getActivator();
  const ms = msFromDuration(duration);
  const scope = CancellationScope.current();
  if (scope.consideredCancelled) return await scope.cancelRequested;
  const seq = activator.nextSeq.timer++;
  // Temporal rejects zero-length timers; the official SDK rounds them up the same way.
  const startTimer = composeInterceptors(activator.interceptors.outbound, 'startTimer', (input) => startTimerCommand(scope, input.seq, input.durationMs));
  await startTimer({ durationMs: Math.max(1, ms), seq });
}

async function startTimerCommand(scope: CancellationScope, seq: number, durationMs: number): Promise<void> {
  const activator = getActivator();
  return await new Promise<void>((resolve, reject) => {
    const unsubscribe = scope.onCancel((reason) => {
      if (!activator.timers.has(seq)) return;
      activator.timers.delete(seq);
      // A timer started in this very activation never reaches the server: withdraw it instead.
      if (!activator.withdrawCommand('startTimer', seq)) activator.pushCommand({ kind: 'cancelTimer', seq });
      reject(reason);
    });
    activator.timers.set(seq, {
      resolve: () => {
        unsubscribe();
        resolve();
      },
      reject,
    });
    activator.pushCommand({ kind: 'startTimer', seq, durationMs });
  });
}

async function conditionInner(fn: () => boolean): Promise<void> {
  const activator = getActivator();
  const scope = CancellationScope.current();
  if (scope.consideredCancelled) return await scope.cancelRequested;
  const seq = activator.nextSeq.condition++;
  return await new Promise<void>((resolve, reject) => {
    const unsubscribe = scope.onCancel((reason) => {
      activator.conditions.delete(seq);
      reject(reason);
    });
    activator.conditions.set(seq, {
      fn,
      resolve: () => {
        unsubscribe();
        resolve();
      },
    });
  });
}

/**
 * Waits until `fn` returns true. With a timeout, resolves to false if the timeout passes first (a
 * durable timer), true otherwise.
 */
export function condition(fn: () => boolean): Promise<void>;
export function condition(fn: () => boolean, timeout: Duration): Promise<boolean>;
export async function condition(fn: () => boolean, timeout?: Duration): Promise<void | boolean> {
  if (timeout === undefined) return await conditionInner(fn);
  return await CancellationScope.cancellable(async () => {
    try {
      return await Promise.race([sleep(timeout).then(() => false), conditionInner(fn).then(() => true)]);
    } finally {
      CancellationScope.current().cancel();
    }
  });
}
