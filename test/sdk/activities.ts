/**
 * Activities of the Kairos SDK suite, written against @kairos/activity. Names and behaviour follow
 * the official-SDK suite's activities (test/e2e/activities.ts) so that the shared workflows run on
 * either worker; `activityLog` lets tests see what ran.
 */
import { ApplicationFailure, CancelledFailure, Context } from '@kairos/activity';

export const activityLog = {
  /** Attempt numbers seen per key, in order. */
  attempts: new Map<string, number[]>(),
  /** Keys whose activity is running right now. */
  running: new Set<string>(),
  /** Keys whose activity observed a cancellation, with the failure's message. */
  cancelled: new Map<string, string>(),
  /** Keys for which the cleanup activity ran, with how many times. */
  cleanups: new Map<string, number>(),
};

function noteAttempt(key: string): number {
  const { attempt } = Context.current().info;
  activityLog.attempts.set(key, [...(activityLog.attempts.get(key) ?? []), attempt]);
  return attempt;
}

export async function greet(name: string): Promise<string> {
  return `Hello, ${name}!`;
}

/** Fails with a retryable error until attempt `failures + 1`, then returns the attempt number. */
export async function flaky(key: string, failures: number): Promise<number> {
  const attempt = noteAttempt(key);
  if (attempt <= failures) throw ApplicationFailure.retryable(`attempt ${attempt} fails on purpose`, 'FlakyError');
  return attempt;
}

export async function failNonRetryable(key: string, message: string): Promise<never> {
  noteAttempt(key);
  throw ApplicationFailure.nonRetryable(message, 'InvalidInputError', { key });
}

/** Attempt 1 records progress in a heartbeat and fails; attempt 2 reports the details it was handed. */
export async function resumeFromHeartbeat(key: string, progress: number): Promise<{ attempt: number; details: unknown }> {
  const context = Context.current();
  const attempt = noteAttempt(key);
  if (attempt === 1) {
    context.heartbeat({ progress });
    throw ApplicationFailure.retryable('crash after checkpoint', 'CheckpointedCrash');
  }
  return { attempt, details: context.info.heartbeatDetails };
}

/** Heartbeats until cancelled; records the cancellation it observed and rethrows it. */
export async function heartbeatUntilCancelled(key: string): Promise<string> {
  const context = Context.current();
  noteAttempt(key);
  activityLog.running.add(key);
  try {
    for (;;) {
      context.heartbeat();
      await context.sleep(100);
    }
  } catch (error) {
    if (error instanceof CancelledFailure) activityLog.cancelled.set(key, error.message);
    throw error;
  } finally {
    activityLog.running.delete(key);
  }
}

export async function cleanup(key: string): Promise<void> {
  activityLog.cleanups.set(key, (activityLog.cleanups.get(key) ?? 0) + 1);
}

/** Runs for `ms` (heartbeating), to keep an activity in flight while a worker shuts down. */
export async function busyFor(ms: number): Promise<string> {
  const context = Context.current();
  const end = Date.now() + ms;
  while (Date.now() < end) {
    context.heartbeat();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return `busy for ${ms} ms`;
}
