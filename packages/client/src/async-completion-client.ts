// AsyncCompletionClient (`client.activity`): completes, fails, cancels and heartbeats activities that
// threw CompleteAsyncError, from outside the worker. An activity is named by its task token
// (`Context.current().info.taskToken`) or by its full id; the latter uses the server's *ById calls.
import * as grpc from '@grpc/grpc-js';
import { encodeFailureInPlace, type LoadedDataConverter, type ProtoFailure } from '@kairos/sdk-common';
import type { temporal } from '@temporalio/proto';
import type { Connection, WorkflowService } from './connection.js';
import { encodeToPayloads, loadDataConverter } from './data-converter.js';
import {
  ActivityCancelledError,
  ActivityCompletionError,
  ActivityNotFoundError,
  ActivityPausedError,
  ActivityResetError,
  ServiceError,
} from './errors.js';
import type { WorkflowClientOptions } from './workflow-client.js';
import { defaultIdentity } from './workflow-options.js';

export type AsyncCompletionClientOptions = Omit<WorkflowClientOptions, 'interceptors'>;

/** An activity of a workflow, by ids; without `runId` the workflow's current run. */
export interface FullActivityId {
  workflowId?: string;
  runId?: string;
  activityId: string;
}

type Target = { taskToken: Uint8Array } | { workflowId: string; runId: string; activityId: string };

export class AsyncCompletionClient {
  readonly connection: Connection;
  readonly namespace: string;
  readonly identity: string;
  private readonly dataConverter: LoadedDataConverter;

  constructor(options: AsyncCompletionClientOptions) {
    this.connection = options.connection;
    this.namespace = options.namespace ?? 'default';
    this.identity = options.identity ?? defaultIdentity();
    this.dataConverter = loadDataConverter(options.dataConverter, options.payloadConverter);
  }

  get workflowService(): WorkflowService {
    return this.connection.workflowService;
  }

  /** Completes the activity with `result`. */
  async complete(taskTokenOrFullActivityId: Uint8Array | FullActivityId, result: unknown): Promise<void> {
    const common = { namespace: this.namespace, identity: this.identity, result: { payloads: await encodeToPayloads(this.dataConverter, [result]) } };
    await this.call(taskTokenOrFullActivityId, async (target) => {
      if ('taskToken' in target) await this.workflowService.respondActivityTaskCompleted({ ...common, ...target });
      else await this.workflowService.respondActivityTaskCompletedById({ ...common, ...target });
    });
  }

  /** Fails the activity attempt with `err` (a plain error becomes an ApplicationFailure typed by its name). */
  async fail(taskTokenOrFullActivityId: Uint8Array | FullActivityId, err: unknown): Promise<void> {
    const failure = structuredClone(this.dataConverter.failureConverter.errorToFailure(err, this.dataConverter.payloadConverter));
    await encodeFailureInPlace(this.dataConverter, failure);
    const common = { namespace: this.namespace, identity: this.identity, failure: failure as ProtoFailure as temporal.api.failure.v1.IFailure };
    await this.call(taskTokenOrFullActivityId, async (target) => {
      if ('taskToken' in target) await this.workflowService.respondActivityTaskFailed({ ...common, ...target });
      else await this.workflowService.respondActivityTaskFailedById({ ...common, ...target });
    });
  }

  /** Reports that the activity accepted a cancellation request; `details` reach the workflow's CancelledFailure. */
  async reportCancellation(taskTokenOrFullActivityId: Uint8Array | FullActivityId, details?: unknown): Promise<void> {
    const common = { namespace: this.namespace, identity: this.identity, details: { payloads: await encodeToPayloads(this.dataConverter, [details]) } };
    await this.call(taskTokenOrFullActivityId, async (target) => {
      if ('taskToken' in target) await this.workflowService.respondActivityTaskCanceled({ ...common, ...target });
      else await this.workflowService.respondActivityTaskCanceledById({ ...common, ...target });
    });
  }

  /**
   * Records a heartbeat. Throws ActivityCancelledError once the workflow asked to cancel the
   * activity (then call `reportCancellation`), ActivityPausedError or ActivityResetError likewise.
   */
  async heartbeat(taskTokenOrFullActivityId: Uint8Array | FullActivityId, details?: unknown): Promise<void> {
    const common = { namespace: this.namespace, identity: this.identity, details: { payloads: await encodeToPayloads(this.dataConverter, [details]) } };
    const response = await this.call(taskTokenOrFullActivityId, async (target) =>
      'taskToken' in target
        ? await this.workflowService.recordActivityTaskHeartbeat({ ...common, ...target })
        : await this.workflowService.recordActivityTaskHeartbeatById({ ...common, ...target }),
    );
    if (response.cancelRequested) throw new ActivityCancelledError('cancelled');
    if (response.activityPaused) throw new ActivityPausedError('paused');
    if (response.activityReset) throw new ActivityResetError('reset');
  }

  private async call<T>(taskTokenOrFullActivityId: Uint8Array | FullActivityId, send: (target: Target) => Promise<T>): Promise<T> {
    const target: Target =
      taskTokenOrFullActivityId instanceof Uint8Array
        ? { taskToken: taskTokenOrFullActivityId }
        : { workflowId: taskTokenOrFullActivityId.workflowId ?? '', runId: taskTokenOrFullActivityId.runId ?? '', activityId: taskTokenOrFullActivityId.activityId };
    try {
      return await send(target);
    } catch (error) {
      if (error instanceof ServiceError && error.code === grpc.status.NOT_FOUND) throw new ActivityNotFoundError('Not found', { cause: error });
      if (error instanceof ServiceError) throw new ActivityCompletionError(error.message, { cause: error });
      throw error;
    }
  }
}
