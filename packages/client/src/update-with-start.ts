// Update-with-start (ExecuteMultiOperation [Start, Update]): send an update to a workflow, starting
// it first when it does not run. Shaped like the official SDK: the start is described by a
// WithStartWorkflowOperation, whose `workflowHandle()` resolves once the call answered.
import * as grpc from '@grpc/grpc-js';
import type { temporal } from '@temporalio/proto';
import type { Workflow, WorkflowResultType } from '@kairos/sdk-common';
import { ServiceError, WorkflowExecutionAlreadyStartedError } from './errors.js';
import { WorkflowHandle, type ClientContext } from './workflow-handle.js';
import { startRequestFields, type WorkflowIdConflictPolicy, type WorkflowStartOptions } from './workflow-options.js';
import {
  handleFromResponse,
  rethrowUpdateError,
  stageToProto,
  updateRequest,
  type UpdateCallRequest,
  type WorkflowUpdateHandle,
} from './workflow-update.js';

type WorkflowArg = string | Workflow;
type ArgsOf<W extends WorkflowArg> = W extends Workflow ? Parameters<W> : unknown[];
type ResultOf<W extends WorkflowArg> = W extends Workflow ? WorkflowResultType<W> : unknown;

export interface WithStartWorkflowOperationOptions<W extends WorkflowArg> extends WorkflowStartOptions<ArgsOf<W>> {
  /** Required, as in the official SDK: what happens when the workflow already runs (usually USE_EXISTING). */
  workflowIdConflictPolicy: WorkflowIdConflictPolicy;
}

/** The start half of update-with-start; usable once. */
export class WithStartWorkflowOperation<W extends WorkflowArg = WorkflowArg> {
  private used = false;
  private settle: { resolve(handle: WorkflowHandle<ResultOf<W>>): void; reject(error: unknown): void } | undefined;
  private readonly handlePromise: Promise<WorkflowHandle<ResultOf<W>>>;

  private constructor(
    readonly workflowTypeOrFunc: W,
    readonly options: WithStartWorkflowOperationOptions<W>,
  ) {
    this.handlePromise = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // Nobody may ask for the handle: a failed start must not become an unhandled rejection.
    this.handlePromise.catch(() => undefined);
  }

  static create<W extends WorkflowArg>(workflowTypeOrFunc: W, options: WithStartWorkflowOperationOptions<W>): WithStartWorkflowOperation<W> {
    return new WithStartWorkflowOperation(workflowTypeOrFunc, options);
  }

  /** The started (or existing) workflow, once the update-with-start call answered. */
  async workflowHandle(): Promise<WorkflowHandle<ResultOf<W>>> {
    return await this.handlePromise;
  }

  /** @internal */
  markUsed(): void {
    if (this.used) throw new Error('This WithStartWorkflowOperation instance has already been executed.');
    this.used = true;
  }

  /** @internal */
  resolve(handle: WorkflowHandle<ResultOf<W>>): void {
    this.settle?.resolve(handle);
  }

  /** @internal */
  reject(error: unknown): void {
    this.settle?.reject(error);
  }
}

function workflowTypeName(workflow: WorkflowArg): string {
  return typeof workflow === 'string' ? workflow : workflow.name;
}

export async function startUpdateWithStart<Ret, W extends WorkflowArg>(
  ctx: ClientContext,
  operation: WithStartWorkflowOperation<W>,
  update: Omit<UpdateCallRequest, 'workflowId' | 'runId' | 'firstExecutionRunId'>,
): Promise<WorkflowUpdateHandle<Ret>> {
  operation.markUsed();
  const options = operation.options;
  const workflowType = workflowTypeName(operation.workflowTypeOrFunc);
  const call: UpdateCallRequest = { ...update, workflowId: options.workflowId, runId: undefined, firstExecutionRunId: undefined };
  const updateReq = await updateRequest(ctx, call);
  const startWorkflow = await startRequestFields(ctx.namespace, ctx.identity, workflowType, options, ctx.dataConverter);
  const updateId = updateReq.request?.meta?.updateId ?? '';
  let startResponse: temporal.api.workflowservice.v1.IStartWorkflowExecutionResponse | null | undefined;
  let updateResponse: temporal.api.workflowservice.v1.IUpdateWorkflowExecutionResponse | null | undefined;
  try {
    const response = await ctx.connection.workflowService.executeMultiOperation({
      namespace: ctx.namespace,
      operations: [{ startWorkflow }, { updateWorkflow: updateReq }],
    });
    startResponse = response.responses[0]?.startWorkflow;
    updateResponse = response.responses[1]?.updateWorkflow;
  } catch (error) {
    const mapped =
      error instanceof ServiceError && error.code === grpc.status.ALREADY_EXISTS
        ? new WorkflowExecutionAlreadyStartedError('Workflow execution already started', options.workflowId, workflowType)
        : error;
    operation.reject(mapped);
    if (mapped !== error) throw mapped;
    rethrowUpdateError(error, options.workflowId, undefined);
  }
  const runId = startResponse?.runId ?? '';
  operation.resolve(new WorkflowHandle<ResultOf<W>>(ctx, options.workflowId, undefined, runId || undefined));
  // The server answers once its long poll ends: go on waiting for the stage on the run it chose.
  let current = updateResponse ?? {};
  try {
    while ((current.stage ?? 0) < stageToProto(call.waitForStage) && !current.outcome) {
      current = await ctx.connection.workflowService.updateWorkflowExecution({ ...updateReq, workflowExecution: { workflowId: options.workflowId, runId } });
    }
  } catch (error) {
    rethrowUpdateError(error, options.workflowId, runId);
  }
  return handleFromResponse<Ret>(ctx, options.workflowId, updateId, current);
}
