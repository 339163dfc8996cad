// Runs one activity task: finds the function, runs it inside an activity Context, reports the
// outcome. Heartbeats are throttled: the first one is sent at once, later ones at most once per
// throttle interval (80% of the heartbeat timeout, capped), always carrying the latest details.
// Cancellation reaches the activity through the answers to heartbeats (cancel_requested), or from
// the worker itself when it shuts down past its grace time.
import type { temporal } from '@temporalio/proto';
import * as grpc from '@grpc/grpc-js';
import { Context, runWithActivityContext, type ActivityInfo } from '@kairos/activity';
import { ServiceError } from '@kairos/client';
import { timestampToMs } from '@kairos/common';
import {
  ApplicationFailure,
  CancelledFailure,
  defaultPayloadConverter,
  errorToFailure,
  fromPayloads,
  protoDurationToMs,
  toPayloads,
} from '@kairos/sdk-common';
import type { CompiledWorkerOptions } from './worker-options.js';
import type { WorkerLogger } from './logger.js';
import { hostPayload } from './replay/commands.js';
import { HeartbeatSender } from './heartbeat-sender.js';

type ActivityTask = temporal.api.workflowservice.v1.PollActivityTaskQueueResponse;
const converter = defaultPayloadConverter;

/** Why the worker itself cancelled an activity. */
export const WORKER_SHUTDOWN = 'WORKER_SHUTDOWN';

export class ActivityTaskHandler {
  /** Controllers of running activities, so that shutdown can cancel them. */
  readonly running = new Set<AbortController>();

  constructor(
    private readonly options: CompiledWorkerOptions,
    private readonly logger: WorkerLogger,
  ) {}

  private get service() {
    return this.options.connection.workflowService;
  }

  async handle(task: ActivityTask): Promise<void> {
    const activityType = task.activityType?.name ?? '';
    const info = this.infoOf(task);
    const controller = new AbortController();
    this.running.add(controller);
    let lastHeartbeatDetails: unknown;
    const heartbeatTimeoutMs = info.heartbeatTimeoutMs;
    const intervalMs =
      heartbeatTimeoutMs === undefined
        ? this.options.defaultHeartbeatThrottleIntervalMs
        : Math.min(heartbeatTimeoutMs * 0.8, this.options.maxHeartbeatThrottleIntervalMs);
    const heartbeats = new HeartbeatSender(async (details) => {
      try {
        const response = await this.service.recordActivityTaskHeartbeat({
          taskToken: task.taskToken,
          details: { payloads: toPayloads(converter, [details]).map(hostPayload) },
          identity: this.options.identity,
          namespace: this.options.namespace,
        });
        if (response.cancelRequested) controller.abort(new CancelledFailure('CANCELLED'));
      } catch (error) {
        // The activity is gone on the server (timed out, workflow closed): stop it.
        if (error instanceof ServiceError && error.code === grpc.status.NOT_FOUND) controller.abort(new CancelledFailure('NOT_FOUND'));
        else this.logger.warn('heartbeat failed', { activityType, error: String(error) });
      }
    }, intervalMs);
    const context = new Context(info, controller.signal, (details) => {
      lastHeartbeatDetails = details;
      heartbeats.record(details);
    });
    try {
      const fn = this.options.activities[activityType];
      if (fn === undefined) {
        const known = Object.keys(this.options.activities).join(', ');
        throw ApplicationFailure.retryable(`Activity function ${activityType} is not registered on this worker, available activities: [${known}]`, 'NotFoundError');
      }
      const args = fromPayloads(converter, task.input?.payloads) as never[];
      const result = await runWithActivityContext(context, () => fn(...args));
      heartbeats.stop();
      await this.service.respondActivityTaskCompleted({
        taskToken: task.taskToken,
        result: { payloads: [hostPayload(converter.toPayload(result))] },
        identity: this.options.identity,
        namespace: this.options.namespace,
      });
    } catch (error) {
      heartbeats.stop();
      await this.reportFailure(task, controller.signal, error, lastHeartbeatDetails);
    } finally {
      this.running.delete(controller);
    }
  }

  private async reportFailure(task: ActivityTask, signal: AbortSignal, error: unknown, lastHeartbeatDetails: unknown): Promise<void> {
    const reason: unknown = signal.reason;
    const details = lastHeartbeatDetails === undefined ? undefined : { payloads: toPayloads(converter, [lastHeartbeatDetails]).map(hostPayload) };
    if (signal.aborted && reason instanceof CancelledFailure && reason.message === 'NOT_FOUND') return; // nobody to tell
    if (signal.aborted && reason instanceof CancelledFailure && reason.message === 'CANCELLED' && error instanceof CancelledFailure) {
      await this.service.respondActivityTaskCanceled({
        taskToken: task.taskToken,
        details: { payloads: toPayloads(converter, error.details).map(hostPayload) },
        identity: this.options.identity,
        namespace: this.options.namespace,
      });
      return;
    }
    // A shutdown cancellation is reported as a retryable failure so that another worker takes over.
    const failure = error instanceof CancelledFailure && reason instanceof CancelledFailure && reason.message === WORKER_SHUTDOWN
      ? ApplicationFailure.retryable('worker shutting down', 'WorkerShutdown')
      : error;
    await this.service.respondActivityTaskFailed({
      taskToken: task.taskToken,
      failure: errorToFailure(failure, converter) as temporal.api.failure.v1.IFailure,
      identity: this.options.identity,
      namespace: this.options.namespace,
      lastHeartbeatDetails: details,
    });
  }

  /** Cancels every running activity (worker shutdown past its grace time). */
  cancelAll(): void {
    for (const controller of this.running) controller.abort(new CancelledFailure(WORKER_SHUTDOWN));
  }

  private infoOf(task: ActivityTask): ActivityInfo {
    const heartbeatTimeoutMs = protoDurationToMs(task.heartbeatTimeout);
    return {
      taskToken: task.taskToken,
      activityId: task.activityId,
      activityType: task.activityType?.name ?? '',
      workflowNamespace: task.workflowNamespace,
      workflowExecution: { workflowId: task.workflowExecution?.workflowId ?? '', runId: task.workflowExecution?.runId ?? '' },
      workflowType: task.workflowType?.name ?? '',
      taskQueue: this.options.taskQueue,
      attempt: task.attempt,
      isLocal: false,
      heartbeatDetails: fromPayloads(converter, task.heartbeatDetails?.payloads)[0],
      heartbeatTimeoutMs: heartbeatTimeoutMs === 0 ? undefined : heartbeatTimeoutMs,
      startToCloseTimeoutMs: protoDurationToMs(task.startToCloseTimeout) ?? 0,
      scheduleToCloseTimeoutMs: protoDurationToMs(task.scheduleToCloseTimeout) ?? 0,
      scheduledTimestampMs: timestampToMs(task.scheduledTime) ?? 0,
      currentAttemptScheduledTimestampMs: timestampToMs(task.currentAttemptScheduledTime) ?? 0,
    };
  }
}
