/**
 * Activities of the end-to-end suite. Workers in the test process share `activityProbe`, through which
 * tests see how often and how each activity ran; workers in child processes count through files.
 */
import { appendFileSync, existsSync } from 'node:fs';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';

/** What activities did, keyed by the key the workflow passed them. In-process only. */
export const activityProbe = {
  /** Attempt numbers seen per key, in order. */
  attempts: new Map<string, number[]>(),
  /** When each attempt started (ms since epoch, worker clock), parallel to `attempts`. */
  attemptStartedAt: new Map<string, number[]>(),
  /** Keys whose first attempt has returned (see `outliveFirstAttempt`). */
  finishedFirstAttempt: new Set<string>(),
  /** Keys whose activity is running right now (set when it starts, cleared when it ends). */
  running: new Set<string>(),
  /** Keys whose activity observed a cancellation, with the failure's message. */
  cancelled: new Map<string, string>(),
  /** Keys for which the cleanup activity ran, with how many times. */
  cleanups: new Map<string, number>(),
  /** Gates that `gated` waits on; tests open them with `openGate`. */
  gates: new Map<string, { open: () => void; opened: Promise<void>; isOpen: boolean }>(),
};

function noteAttempt(key: string): number {
  const { attempt } = Context.current().info;
  const seen = activityProbe.attempts.get(key) ?? [];
  seen.push(attempt);
  activityProbe.attempts.set(key, seen);
  const times = activityProbe.attemptStartedAt.get(key) ?? [];
  times.push(Date.now());
  activityProbe.attemptStartedAt.set(key, times);
  return attempt;
}

function gate(key: string): { open: () => void; opened: Promise<void>; isOpen: boolean } {
  let entry = activityProbe.gates.get(key);
  if (entry === undefined) {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    const created = {
      opened,
      isOpen: false,
      open: () => {
        created.isOpen = true;
        open();
      },
    };
    entry = created;
    activityProbe.gates.set(key, entry);
  }
  return entry;
}

/** Lets the `gated` activity with this key return. */
export function openGate(key: string): void {
  gate(key).open();
}

export async function greet(name: string): Promise<string> {
  return `Hello, ${name}!`;
}

/** Returns `size` characters, or heartbeats them first when `heartbeat` (payload size limits). */
export async function bigOutput(size: number, heartbeat: boolean): Promise<string> {
  const big = 'z'.repeat(size);
  if (heartbeat) {
    Context.current().heartbeat(big);
    await Context.current().sleep(5_000);
  }
  return big;
}

export async function noop(): Promise<void> {
  // The benchmark and the simplest workflows only need an activity round trip.
}

/** Fails with a retryable error until attempt `failures + 1`, then returns the attempt number. */
export async function flaky(key: string, failures: number): Promise<number> {
  const attempt = noteAttempt(key);
  if (attempt <= failures) {
    throw ApplicationFailure.retryable(`attempt ${attempt} fails on purpose`, 'FlakyError');
  }
  return attempt;
}

export async function failNonRetryable(key: string, message: string): Promise<never> {
  noteAttempt(key);
  throw ApplicationFailure.nonRetryable(message, 'InvalidInputError', { key });
}

/**
 * Attempt 1 sleeps `firstAttemptMs` and then still returns 1. Later attempts wait until attempt 1 has
 * returned plus a margin, so that attempt 1's stale completion reaches the server while this attempt
 * is still running: a server that accepted it would make the workflow see 1.
 */
async function outliveFirstAttempt(key: string, firstAttemptMs: number): Promise<number> {
  const ctx = Context.current();
  const attempt = noteAttempt(key);
  if (attempt === 1) {
    try {
      await ctx.sleep(firstAttemptMs);
    } finally {
      activityProbe.finishedFirstAttempt.add(key);
    }
    return attempt;
  }
  // Heartbeat while waiting, in case this activity has a heartbeat timeout.
  while (!activityProbe.finishedFirstAttempt.has(key)) {
    ctx.heartbeat();
    await ctx.sleep(50);
  }
  const marginEnd = Date.now() + STALE_COMPLETION_MARGIN_MS;
  while (Date.now() < marginEnd) {
    ctx.heartbeat();
    await ctx.sleep(50);
  }
  return attempt;
}

/** Time for a worker to deliver a just-returned attempt's completion to the server. */
const STALE_COMPLETION_MARGIN_MS = 500;

/** The first attempt outlives its start-to-close timeout (see `outliveFirstAttempt`). */
export async function slowFirstAttempt(key: string, firstAttemptMs: number): Promise<number> {
  return await outliveFirstAttempt(key, firstAttemptMs);
}

/** The first attempt heartbeats once and then goes silent past its heartbeat timeout. */
export async function silentAfterFirstHeartbeat(key: string, silenceMs: number): Promise<number> {
  if (Context.current().info.attempt === 1) Context.current().heartbeat('attempt-1-alive');
  return await outliveFirstAttempt(key, silenceMs);
}

/**
 * The first attempt records progress in a heartbeat and fails; the next attempt reports the details it
 * was handed, so the workflow can see they were carried over.
 */
export async function resumeFromHeartbeat(
  key: string,
  progress: number,
): Promise<{ attempt: number; details: unknown }> {
  const ctx = Context.current();
  const attempt = noteAttempt(key);
  if (attempt === 1) {
    ctx.heartbeat({ progress });
    throw ApplicationFailure.retryable('crash after checkpoint', 'CheckpointedCrash');
  }
  return { attempt, details: ctx.info.heartbeatDetails as unknown };
}

/** Heartbeats until cancelled; records the cancellation it observed and rethrows it. */
export async function heartbeatUntilCancelled(key: string): Promise<string> {
  const ctx = Context.current();
  noteAttempt(key);
  activityProbe.running.add(key);
  try {
    for (;;) {
      ctx.heartbeat();
      await ctx.sleep(100);
    }
  } catch (error) {
    if (error instanceof CancelledFailure) {
      activityProbe.cancelled.set(key, error.message);
    }
    throw error;
  } finally {
    activityProbe.running.delete(key);
  }
}

/**
 * For the operator tests (pause, unpause, reset). Under 'fail-first' the first call fails and every
 * later one returns at once. Otherwise an attempt heartbeats until it is cancelled, then returns how
 * it was cancelled ('return') or fails with the cancellation ('rethrow', which the SDK reports as a
 * failure of a paused or reset activity); under 'rethrow' an attempt after the first returns at once.
 */
export async function operatedActivity(key: string, mode: 'return' | 'rethrow' | 'fail-first'): Promise<string> {
  const ctx = Context.current();
  const attempt = noteAttempt(key);
  if (mode === 'fail-first') {
    if (activityProbe.attempts.get(key)?.length === 1) throw ApplicationFailure.retryable('first attempt fails', 'FirstAttempt');
    return `attempt ${attempt}`;
  }
  if (mode === 'rethrow' && attempt > 1) return `attempt ${attempt}`;
  activityProbe.running.add(key);
  try {
    for (;;) {
      ctx.heartbeat();
      await ctx.sleep(100);
    }
  } catch (error) {
    if (!(error instanceof CancelledFailure) || mode === 'rethrow') throw error;
    const details = ctx.cancellationDetails;
    return `attempt ${attempt}: paused ${details?.paused === true}, reset ${details?.reset === true}`;
  } finally {
    activityProbe.running.delete(key);
  }
}

export async function cleanup(key: string): Promise<void> {
  activityProbe.cleanups.set(key, (activityProbe.cleanups.get(key) ?? 0) + 1);
}

/** Marks itself running and returns only once the test opened the gate for `key`. */
export async function gated(key: string): Promise<string> {
  noteAttempt(key);
  activityProbe.running.add(key);
  try {
    await gate(key).opened;
    return `gate ${key} passed`;
  } finally {
    activityProbe.running.delete(key);
  }
}

/**
 * Appends `name` to `counterFile` and returns `name@pid`, so that a test can count executions across
 * worker processes and tell which process ran them.
 */
export async function recordExecution(counterFile: string, name: string): Promise<string> {
  appendFileSync(counterFile, `${name}\n`);
  return `${name}@${process.pid}`;
}

/**
 * Appends `name` to `counterFile`, then waits until `releaseFile` exists and returns `name@pid`: a
 * worker killed during the wait leaves a started attempt behind that only a timeout can clear.
 */
export async function recordThenAwaitRelease(counterFile: string, name: string, releaseFile: string): Promise<string> {
  appendFileSync(counterFile, `${name}\n`);
  while (!existsSync(releaseFile)) await Context.current().sleep(50);
  return `${name}@${process.pid}`;
}

/** Task tokens of activities that complete asynchronously, by key (the test completes them). */
export const asyncTokens = new Map<string, Uint8Array>();

/** Hands its task token to the test and leaves completion to an outside client. */
export async function completeLater(key: string): Promise<string> {
  const { Context, CompleteAsyncError } = await import('@temporalio/activity');
  asyncTokens.set(key, Context.current().info.taskToken);
  throw new CompleteAsyncError();
}

/** Takes `ms`; records when it started (noteAttempt) and keeps `running` while it runs. */
export async function pause(key: string, ms: number): Promise<void> {
  noteAttempt(key);
  activityProbe.running.add(key);
  try {
    await new Promise((resolve) => setTimeout(resolve, ms));
  } finally {
    activityProbe.running.delete(key);
  }
}

/** The Priority the activity's task arrived with (its own, merged with its workflow's). */
export async function reportPriority(): Promise<unknown> {
  return Context.current().info.priority ?? null;
}
