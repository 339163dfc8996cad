// Runs local activities in the worker process, during the workflow task that scheduled them, with
// sdk-core's retry rules: each attempt in an activity Context (isLocal), bounded by its
// start-to-close timeout; a failure is retried after the policy's backoff, here when the backoff is
// within `localRetryThreshold` (default 1 minute), or else handed back to the workflow as a backoff
// (the marker records it, the workflow sleeps on a durable timer and schedules the activity again).
// Schedule-to-close covers all attempts since the first schedule; a timeout of that kind is final.
import { runWithActivityContext, Context, type ActivityInfo } from '@kairos/activity';
import {
  ApplicationFailure,
  CompleteAsyncError,
  fromPayloads,
  type LocalActivityCommandOptions,
  type LocalActivityMarker,
  type ProtoFailure,
  type WorkflowCommand,
} from '@kairos/sdk-common';
import { api } from '@kairos/common';
import type { CompiledWorkerOptions } from './worker-options.js';
import { executeActivity } from './interceptors.js';

const TimeoutType = api.enums.v1.TimeoutType;
const DEFAULT_LOCAL_RETRY_THRESHOLD_MS = 60_000;

export type LocalActivityRequest = WorkflowCommand & { kind: 'scheduleLocalActivity' };

export interface LocalActivityRun {
  workflowId: string;
  runId: string;
  workflowType: string;
  /** Workflow time of the activation that scheduled the activity (sdk-core's complete_time base). */
  scheduledAtWorkflowTimeMs: number;
}

class AttemptTimeout extends Error {
  constructor(readonly timeoutType: number) {
    super('Activity timed out');
  }
}

function timeoutFailure(timeoutType: number): ProtoFailure {
  return { message: 'Activity timed out', timeoutFailureInfo: { timeoutType } };
}

/** sdk-core's retry decision: the delay before the next attempt, or undefined when it is over. */
export function retryBackoffMs(options: LocalActivityCommandOptions, attempt: number, error: unknown): number | undefined {
  const policy = options.retry ?? {};
  if (policy.maximumAttempts !== undefined && policy.maximumAttempts > 0 && attempt >= policy.maximumAttempts) return undefined;
  if (error instanceof ApplicationFailure) {
    if (error.nonRetryable) return undefined;
    if (error.type && policy.nonRetryableErrorTypes?.includes(error.type)) return undefined;
    const explicit = error.nextRetryDelayMs();
    if (explicit !== undefined) return explicit;
  }
  const initial = policy.initialIntervalMs ?? 1000;
  const coefficient = policy.backoffCoefficient ?? 2;
  const maximum = policy.maximumIntervalMs ?? initial * 100;
  return Math.min(initial * coefficient ** (attempt - 1), maximum);
}

export class LocalActivityExecutor {
  constructor(private readonly options: CompiledWorkerOptions) {}

  private get converter() {
    return this.options.dataConverter.payloadConverter;
  }

  /** Runs the activity until it completes, fails for good, times out for good or must back off durably. */
  async execute(request: LocalActivityRequest, run: LocalActivityRun, signal: AbortSignal): Promise<LocalActivityMarker> {
    const o = request.options;
    const originalScheduleTimeMs = request.originalScheduleTimeMs ?? Date.now();
    const scheduleToCloseDeadline = o.scheduleToCloseTimeoutMs === undefined ? undefined : originalScheduleTimeMs + o.scheduleToCloseTimeoutMs;
    const startToCloseMs = o.startToCloseTimeoutMs ?? o.scheduleToCloseTimeoutMs;
    const marker = (attempt: number, runtimeMs: number): LocalActivityMarker => ({
      seq: request.seq,
      attempt,
      activityId: String(request.seq),
      activityType: request.activityType,
      completeTimeMs: run.scheduledAtWorkflowTimeMs + runtimeMs,
      backoffMs: undefined,
      originalScheduleTimeMs,
      result: undefined,
      failure: undefined,
    });
    for (let attempt = request.attempt; ; attempt++) {
      const started = Date.now();
      try {
        const result = await this.runAttempt(request, run, attempt, originalScheduleTimeMs, startToCloseMs, scheduleToCloseDeadline, signal);
        return { ...marker(attempt, Date.now() - started), result: this.converter.toPayload(result) };
      } catch (caught) {
        // Nothing outside the worker can reach a local activity (no task token): as sdk-core does, it fails.
        const error =
          caught instanceof CompleteAsyncError ? ApplicationFailure.nonRetryable('Local activities cannot be completed asynchronously', 'IllegalStateError') : caught;
        const runtimeMs = Date.now() - started;
        const failure = error instanceof AttemptTimeout ? timeoutFailure(error.timeoutType) : this.options.dataConverter.failureConverter.errorToFailure(error, this.converter);
        const final = { ...marker(attempt, runtimeMs), failure };
        if (signal.aborted) return final;
        if (error instanceof AttemptTimeout && error.timeoutType !== TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE) return final;
        const backoffMs = retryBackoffMs(o, attempt, error instanceof AttemptTimeout ? undefined : error);
        if (backoffMs === undefined) return final;
        if (scheduleToCloseDeadline !== undefined && Date.now() + backoffMs >= scheduleToCloseDeadline) return final;
        if (backoffMs > (o.localRetryThresholdMs ?? DEFAULT_LOCAL_RETRY_THRESHOLD_MS)) return { ...final, backoffMs };
        await delay(backoffMs, signal);
        if (signal.aborted) return final;
      }
    }
  }

  private async runAttempt(
    request: LocalActivityRequest,
    run: LocalActivityRun,
    attempt: number,
    originalScheduleTimeMs: number,
    startToCloseMs: number | undefined,
    scheduleToCloseDeadline: number | undefined,
    workerSignal: AbortSignal,
  ): Promise<unknown> {
    const fn = this.options.activities[request.activityType];
    if (fn === undefined) {
      const known = Object.keys(this.options.activities).join(', ');
      throw ApplicationFailure.nonRetryable(`Local activity of type '${request.activityType}' is not registered on this worker, available activities: [${known}]`, 'NotFoundError');
    }
    const now = Date.now();
    const untilScheduleToClose = scheduleToCloseDeadline === undefined ? undefined : scheduleToCloseDeadline - now;
    if (untilScheduleToClose !== undefined && untilScheduleToClose <= 0) throw new AttemptTimeout(TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE);
    const controller = new AbortController();
    const onWorkerAbort = (): void => controller.abort(workerSignal.reason);
    workerSignal.addEventListener('abort', onWorkerAbort, { once: true });
    const info: ActivityInfo = {
      taskToken: new Uint8Array(),
      activityId: String(request.seq),
      activityType: request.activityType,
      workflowNamespace: this.options.namespace,
      workflowExecution: { workflowId: run.workflowId, runId: run.runId },
      workflowType: run.workflowType,
      taskQueue: this.options.taskQueue,
      attempt,
      isLocal: true,
      heartbeatDetails: undefined,
      heartbeatTimeoutMs: undefined,
      startToCloseTimeoutMs: startToCloseMs ?? 0,
      scheduleToCloseTimeoutMs: request.options.scheduleToCloseTimeoutMs ?? 0,
      scheduledTimestampMs: originalScheduleTimeMs,
      currentAttemptScheduledTimestampMs: now,
    };
    // Heartbeats of a local activity go nowhere (there is no activity task on the server).
    const context = new Context(info, controller.signal, () => undefined);
    const limits: { ms: number; type: number }[] = [];
    if (startToCloseMs !== undefined) limits.push({ ms: startToCloseMs, type: TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE });
    if (untilScheduleToClose !== undefined) limits.push({ ms: untilScheduleToClose, type: TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE });
    const first = limits.sort((a, b) => a.ms - b.ms)[0];
    let timer: NodeJS.Timeout | undefined;
    try {
      const args = fromPayloads(this.converter, request.args);
      const attemptPromise = runWithActivityContext(context, () => executeActivity(this.options.interceptors.activity, context, fn, { args, headers: request.headers ?? {} }));
      if (first === undefined) return await attemptPromise;
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          const error = new AttemptTimeout(first.type);
          controller.abort(error);
          reject(error);
        }, first.ms);
      });
      return await Promise.race([attemptPromise, timeout]);
    } finally {
      clearTimeout(timer);
      workerSignal.removeEventListener('abort', onWorkerAbort);
    }
  }
}

async function delay(ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
