/**
 * The load the cluster tests put on a cluster with the official SDK: `stepsWorkflow` runs, a pump of
 * `addItem` signals that records which ones the server acknowledged, and the checks of what every
 * run's history and result say afterwards.
 */
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import {
  bundleWorkflows,
  EventType,
  eventsOfType,
  installQuietRuntime,
  uniqueWorkflowId,
  type Connections,
  type History,
} from '../../e2e/helpers/sdk.js';
import { stepExecutions } from '../activities.js';
import { startCluster, type Cluster, type StartClusterOptions } from './cluster.js';
import { addItemSignal, finishSignal, stepsWorkflow, type StepsResult } from '../workflows/index.js';

export const CLUSTER_WORKFLOWS_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), '../workflows/index.ts');

/** Bundles test/cluster/workflows (slow: once per file). */
export async function bundleClusterWorkflows(): Promise<WorkflowBundle> {
  return await bundleWorkflows(CLUSTER_WORKFLOWS_PATH);
}

/**
 * Starts the cluster and bundles the workflows side by side. `keep` receives the cluster as soon as it
 * runs, so the caller's afterAll can stop it even when bundling failed.
 */
export async function startClusterWithWorkflows(options: StartClusterOptions, keep: (cluster: Cluster) => void): Promise<WorkflowBundle> {
  const [started, bundled] = await Promise.allSettled([startCluster(options), bundleClusterWorkflows()]);
  if (started.status === 'fulfilled') keep(started.value);
  if (started.status === 'rejected') throw started.reason;
  if (bundled.status === 'rejected') throw bundled.reason;
  return bundled.value;
}

export type StepsHandle = WorkflowHandle<typeof stepsWorkflow>;

export async function startSteps(
  client: Client,
  taskQueue: string,
  label: string,
  timerMs: number,
  waitForFinish: boolean,
): Promise<StepsHandle> {
  const workflowId = uniqueWorkflowId(label);
  return await client.workflow.start(stepsWorkflow, { taskQueue, workflowId, args: [workflowId, timerMs, waitForFinish] });
}

/** Runs `fn` with a deadline on every call made through `sdk`'s client connection. */
export async function withDeadline<T>(sdk: Connections, ms: number, fn: () => Promise<T>): Promise<T> {
  return await sdk.connection.withDeadline(Date.now() + ms, fn);
}

export interface PumpLedger {
  sent: string[];
  acknowledged: string[];
  failed: string[];
}

/**
 * Sends `addItem` signals through one client, round robin over a growing set of workflows, from
 * `loops` sequential loops that each serve their own share of the workflows (so the signals to one
 * workflow are sent one after another and the acknowledged ones must arrive in order). Each call has
 * a deadline, so that a call held by a paused node counts as failed rather than stalling the pump;
 * a failed call may still have been applied, at most once.
 */
export class SignalPump {
  private readonly targets: StepsHandle[] = [];
  private readonly ledgers = new Map<string, PumpLedger>();
  private stopped = false;
  private readonly loopsDone: Promise<void>[] = [];

  constructor(
    private readonly sdk: Connections,
    private readonly label: string,
    loops: number,
    private readonly pauseMs = 20,
    private readonly callDeadlineMs = 15_000,
  ) {
    for (let i = 0; i < loops; i++) this.loopsDone.push(this.run(i, loops));
  }

  add(handle: StepsHandle): void {
    this.targets.push(handle);
  }

  /** What was sent to `workflowId`, and which calls were acknowledged or failed. */
  ledger(workflowId: string): PumpLedger {
    let ledger = this.ledgers.get(workflowId);
    if (ledger === undefined) {
      ledger = { sent: [], acknowledged: [], failed: [] };
      this.ledgers.set(workflowId, ledger);
    }
    return ledger;
  }

  get totals(): { sent: number; acknowledged: number; failed: number } {
    let sent = 0;
    let acknowledged = 0;
    let failed = 0;
    for (const ledger of this.ledgers.values()) {
      sent += ledger.sent.length;
      acknowledged += ledger.acknowledged.length;
      failed += ledger.failed.length;
    }
    return { sent, acknowledged, failed };
  }

  /** The last few failures, for messages. */
  readonly errors: string[] = [];

  private async run(loop: number, loops: number): Promise<void> {
    // The workflows of this loop: index % loops === loop.
    let n = 0;
    while (!this.stopped) {
      const mine = this.targets.filter((_, index) => index % loops === loop);
      if (mine.length === 0) {
        await delay(50);
        continue;
      }
      for (const handle of mine) {
        if (this.stopped) break;
        const item = `${this.label}-${loop}-${n++}`;
        const ledger = this.ledger(handle.workflowId);
        ledger.sent.push(item);
        try {
          await withDeadline(this.sdk, this.callDeadlineMs, () => handle.signal(addItemSignal, item));
          ledger.acknowledged.push(item);
        } catch (error) {
          ledger.failed.push(item);
          this.errors.push(`${handle.workflowId} ${item}: ${errorMessage(error)}`);
          if (this.errors.length > 20) this.errors.shift();
        }
        await delay(this.pauseMs);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loopsDone);
  }
}

/** An error's message with its causes' (the SDK wraps the gRPC error: "Failed to start Workflow"). */
export function errorMessage(error: unknown): string {
  const parts: string[] = [];
  for (let current: unknown = error; current instanceof Error && parts.length < 4; current = current.cause) parts.push(current.message);
  return parts.length > 0 ? parts.join(': ') : String(error);
}

/** Calls `fn` until it succeeds or `timeoutMs` passes (then throws its last error). */
export async function retrying<T>(description: string, fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() >= deadline) throw new Error(`${description} failed for ${timeoutMs} ms: ${errorMessage(error)}`, { cause: error });
      await delay(250);
    }
  }
}

/** Sends `finish` to every workflow (retrying each until acknowledged). */
export async function finishAll(sdk: Connections, handles: readonly StepsHandle[]): Promise<void> {
  await Promise.all(
    handles.map((handle) =>
      retrying(`finish ${handle.workflowId}`, () => withDeadline(sdk, 10_000, () => handle.signal(finishSignal))),
    ),
  );
}

/** Waits for every result; rejects naming the workflows that failed or did not complete in time. */
export async function resultsOf(handles: readonly StepsHandle[], timeoutMs: number): Promise<Map<string, StepsResult>> {
  const results = new Map<string, StepsResult>();
  const problems: string[] = [];
  const deadline = delay(timeoutMs).then(() => 'timeout' as const);
  await Promise.all(
    handles.map(async (handle) => {
      try {
        const outcome = await Promise.race([handle.result(), deadline]);
        if (outcome === 'timeout') problems.push(`${handle.workflowId}: no result within ${timeoutMs} ms`);
        else results.set(handle.workflowId, outcome);
      } catch (error) {
        problems.push(`${handle.workflowId}: ${errorMessage(error)}`);
      }
    }),
  );
  if (problems.length > 0) throw new Error(`${problems.length} of ${handles.length} workflows did not complete:\n${problems.slice(0, 20).join('\n')}`);
  return results;
}

const ACTIVITY_CLOSE_TYPES = new Set([
  EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
  EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
  EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
  EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
]);

export interface ScheduledActivity {
  readonly activityId: string;
  /** Close events naming this scheduled event, and how many of them are completions. */
  readonly closes: number;
  readonly completed: number;
  /** The attempt of its ActivityTaskStarted event, and why the attempt before it failed. */
  readonly startedAttempt: number | undefined;
  readonly lastFailure: string | undefined;
  /** Event times (ISO) of scheduled, started and the first close, for messages. */
  readonly times: string;
}

/** For each ActivityTaskScheduled event: its close events, and what its started event says. */
export function activityAccount(history: History): ScheduledActivity[] {
  const all = history.events ?? [];
  const closes = all.filter((event) => ACTIVITY_CLOSE_TYPES.has(event.eventType ?? 0));
  const time = (event: (typeof all)[number] | undefined): string => {
    const seconds = Number(event?.eventTime?.seconds ?? 0);
    return event === undefined ? '-' : new Date(seconds * 1000 + Math.floor((event.eventTime?.nanos ?? 0) / 1e6)).toISOString().slice(11, 23);
  };
  return eventsOfType(history, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).map((event) => {
    const id = String(event.eventId);
    const mine = closes.filter((close) => {
      const attributes =
        close.activityTaskCompletedEventAttributes ??
        close.activityTaskFailedEventAttributes ??
        close.activityTaskTimedOutEventAttributes ??
        close.activityTaskCanceledEventAttributes;
      return String(attributes?.scheduledEventId) === id;
    });
    const started = eventsOfType(history, EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED).find(
      (candidate) => String(candidate.activityTaskStartedEventAttributes?.scheduledEventId) === id,
    );
    const startedAttributes = started?.activityTaskStartedEventAttributes;
    return {
      activityId: event.activityTaskScheduledEventAttributes?.activityId ?? '?',
      closes: mine.length,
      completed: mine.filter((close) => close.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED).length,
      startedAttempt: startedAttributes?.attempt ?? undefined,
      lastFailure: startedAttributes?.lastFailure?.message ?? undefined,
      times: `scheduled ${time(event)}, started ${time(started)}, closed ${time(mine[0])}`,
    };
  });
}

export interface StepsCheck {
  /** What is wrong (empty when nothing). */
  readonly problems: string[];
  /**
   * Attempts the server handed out that never reached the worker (the activity counted fewer runs than
   * the attempt whose result was applied): recovered by the start-to-close timeout, so not wrong, but
   * each one stalled its workflow for that long. Described with the retry reason the history gives.
   */
  readonly lostAttempts: string[];
}

/**
 * Checks one finished `stepsWorkflow` run, given its history and result: exactly two activities
 * scheduled, each closed exactly once by a completion; each step ran at least once in this process
 * (more only when an earlier attempt's result was not acknowledged); and every acknowledged signal
 * arrived exactly once, in order, with no unknown or duplicated item.
 */
export function checkSteps(workflowId: string, history: History, result: StepsResult, ledgers: readonly PumpLedger[]): StepsCheck {
  const problems: string[] = [];
  const lostAttempts: string[] = [];
  const scheduled = activityAccount(history);
  if (scheduled.length !== 2) problems.push(`${scheduled.length} activities scheduled, expected 2`);
  for (const activity of scheduled) {
    if (activity.closes !== 1 || activity.completed !== 1) {
      problems.push(`activity ${activity.activityId}: ${activity.closes} close events (${activity.completed} completions), expected exactly one completion`);
    }
  }
  if (result.steps.length !== 2) problems.push(`result has ${result.steps.length} steps`);
  ['first', 'second'].forEach((step, index) => {
    // Every attempt that reaches a worker runs on the test's one worker, in this process.
    const executions = stepExecutions.get(`${workflowId}/${step}`) ?? 0;
    const applied = Number(/#(\d+)$/.exec(result.steps[index] ?? '')?.[1] ?? Number.NaN);
    const activity = scheduled[index];
    if (executions < 1) problems.push(`step ${step}: the activity never ran in this process, yet the history completed it`);
    else if (!(applied >= 1)) problems.push(`step ${step}: result ${String(result.steps[index])}`);
    else if (applied > executions) {
      lostAttempts.push(
        `${workflowId} step ${step}: attempt ${applied} applied, ${executions} run(s) here; ` +
          `retried after: ${activity?.lastFailure ?? '?'} (${activity?.times ?? '?'})`,
      );
    }
  });

  const seen = new Map<string, number>();
  for (const item of result.items) seen.set(item, (seen.get(item) ?? 0) + 1);
  const duplicated = [...seen].filter(([, count]) => count > 1).map(([item]) => item);
  if (duplicated.length > 0) problems.push(`signals applied more than once: ${duplicated.join(', ')}`);
  const sent = new Set(ledgers.flatMap((ledger) => ledger.sent));
  const unknown = result.items.filter((item) => !sent.has(item));
  if (unknown.length > 0) problems.push(`signals never sent: ${unknown.join(', ')}`);
  // Each pump sends to one workflow one call at a time: its acknowledged items arrive in its order.
  for (const { acknowledged } of ledgers) {
    const lost = acknowledged.filter((item) => !seen.has(item));
    if (lost.length > 0) problems.push(`acknowledged signals lost: ${lost.join(', ')}`);
    else if (!isSubsequence(acknowledged, result.items)) problems.push(`acknowledged signals out of order: sent ${acknowledged.join(',')}, seen ${result.items.join(',')}`);
  }
  return { problems: problems.map((problem) => `${workflowId}: ${problem}`), lostAttempts };
}

/** Checks every run (see `checkSteps`). */
export function checkAllSteps(
  histories: readonly { workflowId: string; history: History }[],
  results: ReadonlyMap<string, StepsResult>,
  ledgersOf: (workflowId: string) => readonly PumpLedger[],
): StepsCheck {
  const checks = histories.map(({ workflowId, history }) => checkSteps(workflowId, history, results.get(workflowId)!, ledgersOf(workflowId)));
  return { problems: checks.flatMap((check) => check.problems), lostAttempts: checks.flatMap((check) => check.lostAttempts) };
}

/** True if `items` appear in `sequence` in the same relative order. */
export function isSubsequence(items: readonly string[], sequence: readonly string[]): boolean {
  let position = 0;
  for (const item of items) {
    position = sequence.indexOf(item, position);
    if (position < 0) return false;
    position++;
  }
  return true;
}

/** Replays the histories with the bundle; resolves to the failures (empty when all replayed). */
export async function replayProblems(workflowBundle: WorkflowBundle, histories: { workflowId: string; history: History }[]): Promise<string[]> {
  installQuietRuntime();
  const failures: string[] = [];
  if (histories.length === 0) return failures;
  for await (const result of Worker.runReplayHistories({ workflowBundle, replayName: 'cluster-replay' }, histories)) {
    if (result.error !== undefined) failures.push(`${result.workflowId}: ${result.error.name}: ${result.error.message}`);
  }
  return failures;
}
