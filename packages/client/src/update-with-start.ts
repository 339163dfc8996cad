// Update-with-start (ExecuteMultiOperation [Start, Update]): send an update to a workflow, starting
// it first when it does not run. Shaped like the official SDK: the start is described by a
// WithStartWorkflowOperation, whose `workflowHandle()` resolves once the call answered.
import * as grpc from '@grpc/grpc-js';
import type { temporal } from '@temporalio/proto';
import { composeInterceptors, type Workflow, type WorkflowResultType } from '@kairos/sdk-common';
import { ServiceError, WorkflowExecutionAlreadyStartedError } from './errors.js';
import { encodeHeaders, type WorkflowClientInterceptor, type WorkflowStartUpdateWithStartInput, type WorkflowStartUpdateWithStartOutput } from './interceptors.js';
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
  const call = composeInterceptors<WorkflowClientInterceptor, 'startUpdateWithStart'>(ctx.interceptors, 'startUpdateWithStart', async (input) =>
    await executeUpdateWithStart(ctx, operation, input),
  );
  const options = operation.options;
  const output = await call({
    workflowType: workflowTypeName(operation.workflowTypeOrFunc),
    workflowStartOptions: options,
    workflowStartHeaders: {},
    updateName: update.name,
    updateArgs: update.args,
    updateOptions: { updateId: update.updateId, waitForStage: update.waitForStage },
    updateHeaders: {},
  });
  return handleFromResponse<Ret>(ctx, output.workflowExecution.workflowId, output.updateId, {
    updateRef: { updateId: output.updateId, workflowExecution: { workflowId: output.workflowExecution.workflowId, runId: output.workflowExecution.runId ?? '' } },
    outcome: output.updateOutcome,
  });
}

/** The ExecuteMultiOperation call, then waiting for the stage asked for; settles the operation's handle. */
async function executeUpdateWithStart<W extends WorkflowArg>(
  ctx: ClientContext,
  operation: WithStartWorkflowOperation<W>,
  input: WorkflowStartUpdateWithStartInput,
): Promise<WorkflowStartUpdateWithStartOutput> {
  const options = input.workflowStartOptions;
  const { workflowType } = input;
  const call: UpdateCallRequest = {
    name: input.updateName,
    args: input.updateArgs,
    updateId: input.updateOptions.updateId,
    waitForStage: input.updateOptions.waitForStage,
    workflowId: options.workflowId,
    runId: undefined,
    firstExecutionRunId: undefined,
  };
  const updateReq = await updateRequest(ctx, call, input.updateHeaders);
  const startWorkflow = await startRequestFields(ctx.namespace, ctx.identity, workflowType, options, ctx.dataConverter);
  startWorkflow.header = await encodeHeaders(ctx.dataConverter, input.workflowStartHeaders);
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
  const ref = current.updateRef;
  return {
    workflowExecution: { workflowId: ref?.workflowExecution?.workflowId || options.workflowId, runId: ref?.workflowExecution?.runId || runId || undefined },
    updateId: ref?.updateId || updateId,
    updateOutcome: current.outcome ?? undefined,
  };
}
