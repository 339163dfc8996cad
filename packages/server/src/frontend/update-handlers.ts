// WorkflowService RPCs for workflow updates: UpdateWorkflowExecution, PollWorkflowExecutionUpdate and
// ExecuteMultiOperation (update-with-start). Validation follows Temporal's frontend wording.
import { randomUUID } from 'node:crypto';
import type { temporal } from '@temporalio/proto';
import { GrpcCode, InvalidArgumentError, ServiceError } from '../errors.js';
import { LIMITS } from '../limits.js';
import { UpdateStage, type UpdateRequest } from '../proto-types.js';
import type { HistoryContext } from '../history/service-context.js';
import { multiOperationError, pollWorkflowExecutionUpdate, updateWithStart, updateWorkflowExecution, type UpdateCall } from '../history/ops/update.js';
import type { ServiceHandlers } from './grpc-server.js';
import { validateStart } from './workflow-handlers.js';
import { checkStartSearchAttributes } from './validation.js';
import { checkPayloads, requireId, requireString } from './validation.js';

type UpdateWorkflowRequest = temporal.api.workflowservice.v1.IUpdateWorkflowExecutionRequest;

/** Validates an UpdateWorkflowExecutionRequest; a missing update id gets a fresh one (as Temporal does). */
export function validateUpdate(req: UpdateWorkflowRequest): UpdateCall {
  const exec = req.workflowExecution;
  if (!exec) throw new InvalidArgumentError('Execution is not set on request.');
  const workflowId = requireId(exec.workflowId, 'WorkflowId');
  const request = req.request;
  const meta = request?.meta;
  if (!meta) throw new InvalidArgumentError('Update meta is not set on request.');
  if ((meta.updateId ?? '').length > LIMITS.maxIdLength) throw new InvalidArgumentError('UpdateId length exceeds limit.');
  const input = request.input;
  if (!input) throw new InvalidArgumentError('Update input is not set on request.');
  if (!input.name) throw new InvalidArgumentError('Update name is not set on request.');
  checkPayloads(input.args, 'Input.Args');
  let waitStage = req.waitPolicy?.lifecycleStage ?? UpdateStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_UNSPECIFIED;
  if (waitStage === UpdateStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_UNSPECIFIED) waitStage = UpdateStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED;
  if (waitStage === UpdateStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED) {
    throw new ServiceError(GrpcCode.PERMISSION_DENIED, 'UpdateWorkflowExecution issued asynchronously and waiting on update admitted is not supported.');
  }
  const normalized: UpdateRequest = { ...request, meta: { ...meta, updateId: meta.updateId || randomUUID() } };
  return { workflowId, runId: exec.runId ?? '', firstExecutionRunId: req.firstExecutionRunId ?? '', request: normalized, waitStage };
}

export function updateHandlers(ctx: HistoryContext): ServiceHandlers {
  const ns = (name: string | null | undefined) => ctx.namespaces.get(requireString(name, 'Namespace'));
  return {
    async UpdateWorkflowExecution(request, call) {
      const req = request as UpdateWorkflowRequest;
      const namespace = ns(req.namespace);
      return updateWorkflowExecution(ctx, namespace, validateUpdate(req), call.deadlineMs, call.signal);
    },

    async PollWorkflowExecutionUpdate(request, call) {
      const req = request as temporal.api.workflowservice.v1.IPollWorkflowExecutionUpdateRequest;
      const namespace = ns(req.namespace);
      const ref = req.updateRef;
      if (!ref) throw new InvalidArgumentError('UpdateRef is not set on request.');
      const workflowId = requireId(ref.workflowExecution?.workflowId, 'WorkflowId');
      const updateId = requireId(ref.updateId, 'UpdateId');
      const waitStage = req.waitPolicy?.lifecycleStage ?? UpdateStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_UNSPECIFIED;
      return pollWorkflowExecutionUpdate(ctx, namespace, { workflowId, runId: ref.workflowExecution?.runId ?? '', updateId, waitStage }, call.deadlineMs, call.signal);
    },

    async ExecuteMultiOperation(request, call) {
      const req = request as temporal.api.workflowservice.v1.IExecuteMultiOperationRequest;
      const namespace = ns(req.namespace);
      const operations = req.operations ?? [];
      const start = operations[0]?.startWorkflow;
      const update = operations[1]?.updateWorkflow;
      if (operations.length !== 2 || !start || !update) throw new InvalidArgumentError('Operations have to be exactly [Start, Update].');
      // Each operation is validated on its own; a bad one fails the call, the other is "aborted".
      const started = validated(() => {
        validateStartOperation(start, namespace.name);
        checkStartSearchAttributes(start, ctx.searchAttributes.custom(namespace.id));
      });
      const updated = validated(() => validateUpdateOperation(update, namespace.name));
      const errors: Array<ServiceError | 'aborted'> = [started.error ?? 'aborted', updated.error ?? 'aborted'];
      if (updated.value && !started.error && start.workflowId !== updated.value.workflowId) {
        errors[1] = new InvalidArgumentError('WorkflowId is not consistent with previous operation(s).');
      }
      if (errors.some((e) => e !== 'aborted') || !updated.value) throw multiOperationError(errors);
      return updateWithStart(ctx, namespace, { ...start, namespace: namespace.name }, updated.value, call.deadlineMs, call.signal);
    },
  };
}

function validated<T>(validate: () => T): { value: T | null; error: ServiceError | null } {
  try {
    return { value: validate(), error: null };
  } catch (err) {
    if (err instanceof ServiceError) return { value: null, error: err };
    throw err;
  }
}

function validateStartOperation(start: temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest, namespace: string): void {
  if (start.namespace && start.namespace !== namespace) throw new InvalidArgumentError("Operation namespace did not match request's namespace.");
  if (start.cronSchedule) throw new InvalidArgumentError('CronSchedule is not allowed.');
  if (start.requestEagerExecution) throw new InvalidArgumentError('RequestEagerExecution is not supported.');
  const delay = start.workflowStartDelay;
  if (delay && (Number(delay.seconds ?? 0) > 0 || (delay.nanos ?? 0) > 0)) throw new InvalidArgumentError('WorkflowStartDelay is not supported.');
  validateStart({ ...start, namespace });
}

function validateUpdateOperation(update: UpdateWorkflowRequest, namespace: string): UpdateCall {
  if (update.namespace && update.namespace !== namespace) throw new InvalidArgumentError("Operation namespace did not match request's namespace.");
  const call = validateUpdate(update);
  if (call.firstExecutionRunId) throw new InvalidArgumentError('FirstExecutionRunId is not allowed.');
  if (call.runId) throw new InvalidArgumentError('RunId is not allowed.');
  return call;
}
