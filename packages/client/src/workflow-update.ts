// Workflow updates from the client, shaped like the official SDK: send an update and wait for the
// stage asked for (UpdateWorkflowExecution answers when the stage is reached or its long poll ends,
// so the request is repeated until then; the server de-duplicates by update id), then follow the
// outcome with PollWorkflowExecutionUpdate.
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { temporal } from '@temporalio/proto';
import { api } from '@kairos/common';
import { composeInterceptors, type Headers, type UpdateDefinition } from '@kairos/sdk-common';
import { decodeFailureToError, decodeFirstValue, encodeToPayloads } from './data-converter.js';
import { ServiceError, WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from './errors.js';
import type { ClientContext } from './workflow-handle.js';
import { encodeHeaders, type WorkflowClientInterceptor } from './interceptors.js';

type UpdateResponse = temporal.api.workflowservice.v1.IUpdateWorkflowExecutionResponse;
type Outcome = temporal.api.update.v1.IOutcome;
const Stage = api.enums.v1.UpdateWorkflowExecutionLifecycleStage;

/** The lifecycle stage an update call waits for (the official SDK's names). */
export const WorkflowUpdateStage = {
  /** Not supported by the server for waiting (as in Temporal). */
  ADMITTED: 'ADMITTED',
  /** The validator passed and the handler started. */
  ACCEPTED: 'ACCEPTED',
  /** The handler returned or failed. */
  COMPLETED: 'COMPLETED',
} as const;
export type WorkflowUpdateStage = (typeof WorkflowUpdateStage)[keyof typeof WorkflowUpdateStage];

export function stageToProto(stage: WorkflowUpdateStage): number {
  switch (stage) {
    case 'ADMITTED':
      return Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED;
    case 'ACCEPTED':
      return Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED;
    case 'COMPLETED':
      return Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED;
  }
}

export interface WorkflowUpdateOptions {
  /** Identifies the update: a second request with the same id gets the first one's outcome. */
  updateId?: string;
}

export type UpdateArg<Ret, Args extends unknown[]> = UpdateDefinition<Ret, Args> | string;

export function updateName(definition: UpdateArg<unknown, never[]>): string {
  return typeof definition === 'string' ? definition : definition.name;
}

/** Maps a failed update call to the official SDK's errors. */
export function rethrowUpdateError(error: unknown, workflowId: string, runId: string | undefined): never {
  if (error instanceof ServiceError) {
    if (error.code === grpc.status.NOT_FOUND) throw new WorkflowNotFoundError(error.message, workflowId, runId);
    if (error.code === grpc.status.DEADLINE_EXCEEDED || error.code === grpc.status.CANCELLED) {
      throw new WorkflowUpdateRPCTimeoutOrCancelledError('Timeout or cancellation waiting for update', { cause: error });
    }
  }
  throw error;
}

/** A started update: its id and run, and its result once the handler finished. */
export class WorkflowUpdateHandle<Ret = unknown> {
  constructor(
    private readonly ctx: ClientContext,
    readonly updateId: string,
    readonly workflowId: string,
    /** The run the update went to; undefined for a handle made from ids only (the current run). */
    readonly workflowRunId: string | undefined,
    private knownOutcome: Outcome | undefined = undefined,
  ) {}

  /** Waits for the outcome: the handler's result, or WorkflowUpdateFailedError with its failure as cause. */
  async result(): Promise<Ret> {
    let outcome = this.knownOutcome;
    while (outcome === undefined) {
      let response: temporal.api.workflowservice.v1.PollWorkflowExecutionUpdateResponse;
      try {
        response = await this.ctx.connection.workflowService.pollWorkflowExecutionUpdate({
          namespace: this.ctx.namespace,
          updateRef: { workflowExecution: { workflowId: this.workflowId, runId: this.workflowRunId ?? '' }, updateId: this.updateId },
          identity: this.ctx.identity,
          waitPolicy: { lifecycleStage: Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED },
        });
      } catch (error) {
        rethrowUpdateError(error, this.workflowId, this.workflowRunId);
      }
      outcome = response.outcome ?? undefined;
    }
    this.knownOutcome = outcome;
    return await outcomeValue<Ret>(this.ctx, outcome);
  }
}

export async function outcomeValue<Ret>(ctx: ClientContext, outcome: Outcome): Promise<Ret> {
  if (outcome.failure) {
    throw new WorkflowUpdateFailedError('Workflow Update failed', await decodeFailureToError(ctx.dataConverter, outcome.failure));
  }
  return await decodeFirstValue<Ret>(ctx.dataConverter, outcome.success?.payloads);
}

export interface UpdateCallRequest {
  workflowId: string;
  runId: string | undefined;
  firstExecutionRunId: string | undefined;
  name: string;
  args: unknown[];
  updateId: string | undefined;
  waitForStage: WorkflowUpdateStage;
}

/** The UpdateWorkflowExecution request (also the update operation of update-with-start). */
export async function updateRequest(
  ctx: ClientContext,
  call: UpdateCallRequest,
  headers: Headers = {},
): Promise<temporal.api.workflowservice.v1.IUpdateWorkflowExecutionRequest> {
  return {
    namespace: ctx.namespace,
    workflowExecution: { workflowId: call.workflowId, runId: call.runId ?? '' },
    firstExecutionRunId: call.firstExecutionRunId ?? '',
    waitPolicy: { lifecycleStage: stageToProto(call.waitForStage) },
    request: {
      meta: { updateId: call.updateId ?? randomUUID(), identity: ctx.identity },
      input: {
        name: call.name,
        args: { payloads: await encodeToPayloads(ctx.dataConverter, call.args) },
        header: await encodeHeaders(ctx.dataConverter, headers),
      },
    },
  };
}

/** Sends an update and repeats the call until the stage asked for is reached. */
export async function startUpdate<Ret>(ctx: ClientContext, call: UpdateCallRequest): Promise<WorkflowUpdateHandle<Ret>> {
  const send = composeInterceptors<WorkflowClientInterceptor, 'startUpdate'>(ctx.interceptors, 'startUpdate', async (input) => {
    const { workflowId, runId } = input.workflowExecution;
    const request = await updateRequest(
      ctx,
      {
        workflowId,
        runId,
        firstExecutionRunId: input.firstExecutionRunId,
        name: input.updateName,
        args: input.args,
        updateId: input.options.updateId,
        waitForStage: input.options.waitForStage,
      },
      input.headers,
    );
    let response: UpdateResponse;
    try {
      response = await ctx.connection.workflowService.updateWorkflowExecution(request);
      while ((response.stage ?? 0) < stageToProto(input.options.waitForStage) && !response.outcome) {
        response = await ctx.connection.workflowService.updateWorkflowExecution(request);
      }
    } catch (error) {
      rethrowUpdateError(error, workflowId, runId);
    }
    const ref = response.updateRef;
    return {
      updateId: ref?.updateId || (request.request?.meta?.updateId ?? ''),
      workflowRunId: ref?.workflowExecution?.runId ?? '',
      outcome: response.outcome ?? undefined,
    };
  });
  const output = await send({
    updateName: call.name,
    args: call.args,
    workflowExecution: { workflowId: call.workflowId, runId: call.runId },
    firstExecutionRunId: call.firstExecutionRunId,
    headers: {},
    options: { updateId: call.updateId, waitForStage: call.waitForStage },
  });
  return new WorkflowUpdateHandle<Ret>(ctx, output.updateId, call.workflowId, output.workflowRunId || undefined, output.outcome);
}

export function handleFromResponse<Ret>(ctx: ClientContext, workflowId: string, updateId: string, response: UpdateResponse): WorkflowUpdateHandle<Ret> {
  const ref = response.updateRef;
  return new WorkflowUpdateHandle<Ret>(
    ctx,
    ref?.updateId || updateId,
    ref?.workflowExecution?.workflowId || workflowId,
    ref?.workflowExecution?.runId || undefined,
    response.outcome ?? undefined,
  );
}
