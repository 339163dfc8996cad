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
  CompleteAsyncError,
  decodePayloads,
  encodeFailureInPlace,
  encodePayloads,
  fromPayloads,
  protoDurationToMs,
  toPayloads,
  type Headers,
  type Payload,
  type ProtoFailure,
} from '@kairos/sdk-common';
import type { CompiledWorkerOptions } from './worker-options.js';
import type { WorkerLogger } from './logger.js';
import { executeActivity } from './interceptors.js';
import { hostPayload } from './replay/commands.js';
import { HeartbeatSender } from './heartbeat-sender.js';

type ActivityTask = temporal.api.workflowservice.v1.PollActivityTaskQueueResponse;

/** Why the worker itself cancelled an activity. */
export const WORKER_SHUTDOWN = 'WORKER_SHUTDOWN';

export class ActivityTaskHandler {
  /** Activity tasks whose function failed or was cancelled (reported in the worker's heartbeats). */
  failedTasks = 0;
  /** Controllers of running activities, so that shutdown can cancel them. */
  readonly running = new Set<AbortController>();

  constructor(
    private readonly options: CompiledWorkerOptions,
    private readonly logger: WorkerLogger,
  ) {}

  private get service() {
    return this.options.connection.workflowService;
  }

  /** Values as wire payloads: the payload converter, then the codec chain. */
  private async encode(values: readonly unknown[]): Promise<{ payloads: Payload[] }> {
    const { payloadConverter, payloadCodecs } = this.options.dataConverter;
    return { payloads: await encodePayloads(payloadCodecs, toPayloads(payloadConverter, values).map(hostPayload)) };
  }

  private async decode(payloads: Payload[] | null | undefined): Promise<unknown[]> {
    const { payloadConverter, payloadCodecs } = this.options.dataConverter;
    return fromPayloads(payloadConverter, await decodePayloads(payloadCodecs, payloads ?? []));
  }

  async handle(task: ActivityTask): Promise<void> {
    const activityType = task.activityType?.name ?? '';
    // A codec or converter that cannot read the task's payloads fails the activity, as in the official worker.
    let heartbeatDetails: unknown;
    let unreadable: unknown;
    try {
      heartbeatDetails = (await this.decode(task.heartbeatDetails?.payloads))[0];
    } catch (error) {
      unreadable = error;
    }
    const info = this.infoOf(task, heartbeatDetails);
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
          details: await this.encode([details]),
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
      if (unreadable !== undefined) throw unreadable;
      const fn = this.options.activities[activityType];
      if (fn === undefined) {
        const known = Object.keys(this.options.activities).join(', ');
        throw ApplicationFailure.retryable(`Activity function ${activityType} is not registered on this worker, available activities: [${known}]`, 'NotFoundError');
      }
      const args = await this.decode(task.input?.payloads);
      // The workflow worker's codec encoded the command's headers (workflow-codec.ts): decode them alike.
      const headerEntries = Object.entries(task.header?.fields ?? {});
      const headerValues = await decodePayloads(this.options.dataConverter.payloadCodecs, headerEntries.map(([, value]) => value));
      const headers: Headers = Object.fromEntries(headerEntries.map(([key], i) => [key, headerValues[i] as Payload]));
      const result = await runWithActivityContext(context, () => executeActivity(this.options.interceptors.activity, context, fn, { args, headers }));
      heartbeats.stop();
      await this.service.respondActivityTaskCompleted({
        taskToken: task.taskToken,
        result: await this.encode([result]),
        identity: this.options.identity,
        namespace: this.options.namespace,
      });
    } catch (error) {
      heartbeats.stop();
      // As sdk-core does: no completion is sent, the activity stays started on the server until the
      // client completes it (client.activity) or a heartbeat / start-to-close timeout fires.
      if (error instanceof CompleteAsyncError) return;
      this.failedTasks++;
      await this.reportFailure(task, controller.signal, error, lastHeartbeatDetails);
    } finally {
      this.running.delete(controller);
    }
  }

  private async reportFailure(task: ActivityTask, signal: AbortSignal, error: unknown, lastHeartbeatDetails: unknown): Promise<void> {
    const reason: unknown = signal.reason;
    const details = lastHeartbeatDetails === undefined ? undefined : await this.encode([lastHeartbeatDetails]);
    if (signal.aborted && reason instanceof CancelledFailure && reason.message === 'NOT_FOUND') return; // nobody to tell
    if (signal.aborted && reason instanceof CancelledFailure && reason.message === 'CANCELLED' && error instanceof CancelledFailure) {
      await this.service.respondActivityTaskCanceled({
        taskToken: task.taskToken,
        details: await this.encode(error.details),
        identity: this.options.identity,
        namespace: this.options.namespace,
      });
      return;
    }
    // A shutdown cancellation is reported as a retryable failure so that another worker takes over.
    const failure = error instanceof CancelledFailure && reason instanceof CancelledFailure && reason.message === WORKER_SHUTDOWN
      ? ApplicationFailure.retryable('worker shutting down', 'WorkerShutdown')
      : error;
    // A copy: a failure that came from the server is returned as it is, and must stay readable where it came from.
    const protoFailure: ProtoFailure = structuredClone(this.options.dataConverter.failureConverter.errorToFailure(failure, this.options.dataConverter.payloadConverter));
    await encodeFailureInPlace(this.options.dataConverter, protoFailure);
    await this.service.respondActivityTaskFailed({
      taskToken: task.taskToken,
      failure: protoFailure as temporal.api.failure.v1.IFailure,
      identity: this.options.identity,
      namespace: this.options.namespace,
      lastHeartbeatDetails: details,
    });
  }

  /** Cancels every running activity (worker shutdown past its grace time). */
  cancelAll(): void {
    for (const controller of this.running) controller.abort(new CancelledFailure(WORKER_SHUTDOWN));
  }

  private infoOf(task: ActivityTask, heartbeatDetails: unknown): ActivityInfo {
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
      heartbeatDetails,
      heartbeatTimeoutMs: heartbeatTimeoutMs === 0 ? undefined : heartbeatTimeoutMs,
      startToCloseTimeoutMs: protoDurationToMs(task.startToCloseTimeout) ?? 0,
      scheduleToCloseTimeoutMs: protoDurationToMs(task.scheduleToCloseTimeout) ?? 0,
      scheduledTimestampMs: timestampToMs(task.scheduledTime) ?? 0,
      currentAttemptScheduledTimestampMs: timestampToMs(task.currentAttemptScheduledTime) ?? 0,
    };
  }
}
