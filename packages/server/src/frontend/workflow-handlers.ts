// WorkflowService RPCs for executions: decode, validate, resolve the namespace, call history.
import { randomUUID } from 'node:crypto';
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import { InvalidArgumentError } from '../errors.js';
import { parseCronSchedule } from '../history/cron.js';
import type { HistoryContext } from '../history/service-context.js';
import { requireState, resolveRun } from '../history/service-context.js';
import { checkStartOverride, startWorkflow } from '../history/ops/start-workflow.js';
import { workflowTaskPollResponse } from '../history/ops/workflow-task.js';
import { requestCancelWorkflow, signalExisting, signalWorkflow, terminate } from '../history/ops/signal-cancel-terminate.js';
import { describeExecution } from '../history/ops/describe.js';
import { checkCompletionCallbacks } from '../history/machines/callbacks.js';
import { EventType } from '../proto-types.js';
import { deleteWorkflowExecution } from '../history/ops/delete.js';
import { resetWorkflow } from '../history/ops/reset.js';
import { getHistory, getHistoryReverse } from '../history/ops/history-read.js';
import { queryWorkflow, respondQueryTaskCompleted } from '../history/ops/query.js';
import { updateExecutionOptions } from '../history/ops/execution-options.js';
import type { SearchAttributeRegistry } from '../visibility/search-attribute-registry.js';
import { withTypeMetadata } from '../visibility/search-attribute-values.js';
import type { ServiceHandlers } from './grpc-server.js';
import { checkDuration, checkMemo, checkPayloads, checkRetryPolicy, checkStartSearchAttributes, optionalId, requireId, requireString } from './validation.js';

type WS = typeof temporal.api.workflowservice.v1;
type StartRequest = Loose<temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest>;
void (null as unknown as WS);

export function validateStart(req: StartRequest): void {
  requireString(req.namespace, 'Namespace');
  requireId(req.workflowId, 'WorkflowId');
  requireId(req.workflowType?.name, 'WorkflowType');
  requireId(req.taskQueue?.name, 'TaskQueue');
  optionalId(req.requestId, 'RequestId');
  checkDuration(req.workflowExecutionTimeout, 'WorkflowExecutionTimeout');
  checkDuration(req.workflowRunTimeout, 'WorkflowRunTimeout');
  checkDuration(req.workflowTaskTimeout, 'WorkflowTaskTimeout');
  checkDuration(req.workflowStartDelay, 'WorkflowStartDelay');
  checkPayloads(req.input, 'Input');
  checkMemo(req.memo);
  checkRetryPolicy(req.retryPolicy);
  if (req.cronSchedule) {
    try {
      parseCronSchedule(req.cronSchedule);
    } catch (err) {
      throw new InvalidArgumentError(`Invalid CronSchedule: ${(err as Error).message}`);
    }
  }
}

export function executionHandlers(ctx: HistoryContext, searchAttributes: SearchAttributeRegistry): ServiceHandlers {
  const ns = (name: string | null | undefined) => ctx.namespaces.get(requireString(name, 'Namespace'));
  return {
    async StartWorkflowExecution(request) {
      const req = request as StartRequest;
      validateStart(req);
      ctx.namespaces.getRegistered(req.namespace ?? '');
      checkStartSearchAttributes(req, searchAttributes.custom(ns(req.namespace).id));
      checkStartOverride(ctx, ns(req.namespace).id, req);
      const attached = checkCompletionCallbacks(req.completionCallbacks, req.links);
      const namespace = ns(req.namespace);
      const outcome = await startWorkflow(ctx, namespace, { ...req, completionCallbacks: attached.callbacks, links: attached.links });
      const eagerWorkflowTask = outcome.eagerTask ? await workflowTaskPollResponse(ctx, outcome.eagerTask, outcome.eagerTask.taskQueue) : null;
      // The link a Nexus handler hands back to its caller: the run's first event.
      const link = { workflowEvent: { namespace: namespace.name, workflowId: req.workflowId ?? '', runId: outcome.runId, eventRef: { eventId: 1, eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED } } };
      return { runId: outcome.runId, started: outcome.started, status: 1, eagerWorkflowTask, link } satisfies Loose<temporal.api.workflowservice.v1.IStartWorkflowExecutionResponse>;
    },

    async SignalWithStartWorkflowExecution(request) {
      const req = request as temporal.api.workflowservice.v1.ISignalWithStartWorkflowExecutionRequest;
      validateStart(req);
      ctx.namespaces.getRegistered(req.namespace ?? '');
      checkStartSearchAttributes(req, searchAttributes.custom(ns(req.namespace).id));
      checkStartOverride(ctx, ns(req.namespace).id, req);
      const signalName = requireString(req.signalName, 'SignalName');
      checkPayloads(req.signalInput, 'SignalInput');
      const namespace = ns(req.namespace);
      const links = req.links ?? [];
      const signal = { name: signalName, input: req.signalInput, header: req.header, identity: req.identity ?? '', requestId: req.requestId ?? '', links };
      const outcome = await startWorkflow(ctx, namespace, req, signal);
      if (outcome.existing) {
        await signalExisting(ctx, outcome.existing, { signalName, input: req.signalInput, header: req.header, identity: signal.identity, requestId: signal.requestId, links });
      }
      const signalLink = signaledLink(namespace.name, req.workflowId ?? '', outcome.runId, signal.requestId);
      return { runId: outcome.runId, started: outcome.started, signalLink };
    },

    async SignalWorkflowExecution(request) {
      const req = request as temporal.api.workflowservice.v1.ISignalWorkflowExecutionRequest;
      const namespace = ns(req.namespace);
      const workflowId = requireId(req.workflowExecution?.workflowId, 'WorkflowId');
      const signalName = requireString(req.signalName, 'SignalName');
      optionalId(req.requestId, 'RequestId');
      checkPayloads(req.input, 'Input');
      const key = await resolveRun(ctx, namespace.id, workflowId, req.workflowExecution?.runId);
      await signalWorkflow(ctx, key, { signalName, input: req.input, header: req.header, identity: req.identity ?? '', requestId: req.requestId ?? '', links: req.links ?? [] });
      // As Temporal answers: a link to the signaled event by the signal's request id.
      return { link: signaledLink(namespace.name, key.workflowId, key.runId, req.requestId ?? '') };
    },

    async UpdateWorkflowExecutionOptions(request) {
      const req = request as temporal.api.workflowservice.v1.IUpdateWorkflowExecutionOptionsRequest;
      return updateExecutionOptions(ctx, ns(req.namespace), req);
    },

    async RequestCancelWorkflowExecution(request) {
      const req = request as temporal.api.workflowservice.v1.IRequestCancelWorkflowExecutionRequest;
      await requestCancelWorkflow(ctx, ns(req.namespace), req);
      return {};
    },

    async TerminateWorkflowExecution(request) {
      const req = request as temporal.api.workflowservice.v1.ITerminateWorkflowExecutionRequest;
      await terminate(ctx, ns(req.namespace), req);
      return {};
    },

    async ResetWorkflowExecution(request) {
      const req = request as Loose<temporal.api.workflowservice.v1.IResetWorkflowExecutionRequest>;
      optionalId(req.requestId, 'RequestId');
      return { runId: await resetWorkflow(ctx, ns(req.namespace), req) };
    },

    async DeleteWorkflowExecution(request) {
      const req = request as temporal.api.workflowservice.v1.IDeleteWorkflowExecutionRequest;
      await deleteWorkflowExecution(ctx, ns(req.namespace), req);
      return {};
    },

    async DescribeWorkflowExecution(request) {
      const req = request as temporal.api.workflowservice.v1.IDescribeWorkflowExecutionRequest;
      const namespace = ns(req.namespace);
      const workflowId = requireId(req.execution?.workflowId, 'WorkflowId');
      const key = await resolveRun(ctx, namespace.id, workflowId, req.execution?.runId);
      const described = describeExecution(requireState(await ctx.engine.read(key), key));
      // The summary and details given at start live on the first event, as in Temporal.
      const [started] = await ctx.engine.readEvents(key, 1, 2, 1);
      if (started?.userMetadata && described.executionConfig) described.executionConfig.userMetadata = started.userMetadata;
      // Values stored before types were stamped get theirs here (the TS client skips untyped ones).
      const info = described.workflowExecutionInfo;
      if (info) info.searchAttributes = withTypeMetadata(searchAttributes.custom(namespace.id), info.searchAttributes);
      return described;
    },

    async GetWorkflowExecutionHistory(request, call) {
      const req = request as temporal.api.workflowservice.v1.IGetWorkflowExecutionHistoryRequest;
      return getHistory(ctx, ns(req.namespace), req, call.deadlineMs, call.signal);
    },

    async GetWorkflowExecutionHistoryReverse(request) {
      const req = request as temporal.api.workflowservice.v1.IGetWorkflowExecutionHistoryReverseRequest;
      return getHistoryReverse(ctx, ns(req.namespace), req);
    },

    async QueryWorkflow(request, call) {
      const req = request as temporal.api.workflowservice.v1.IQueryWorkflowRequest;
      return queryWorkflow(ctx, ns(req.namespace), req, call.deadlineMs, call.signal);
    },

    async RespondQueryTaskCompleted(request) {
      const req = request as temporal.api.workflowservice.v1.IRespondQueryTaskCompletedRequest;
      ns(req.namespace);
      return respondQueryTaskCompleted(ctx, req);
    },
  };
}

export { randomUUID };

/** A link to the WorkflowExecutionSignaled event a signal with this request id wrote. */
function signaledLink(namespace: string, workflowId: string, runId: string, requestId: string): object {
  return { workflowEvent: { namespace, workflowId, runId, requestIdRef: { requestId, eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED } } };
}
