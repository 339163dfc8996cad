// Which execution a WorkflowService request is about, so a cluster node can run it where that
// execution's shard lives. Requests about no single execution (namespaces, visibility, polls,
// DescribeTaskQueue, ...) are served by whichever node receives them.
import type { temporal } from '@temporalio/proto';
import { decodeTaskToken } from '../history/task-token.js';
import { SCHEDULER_WORKFLOW_ID_PREFIX } from '../schedules/scheduler.js';
import type { ServiceHandlers, UnaryHandler } from '../frontend/grpc-server.js';


/** The execution a request targets: by namespace name (most requests) or id (task tokens). */
export type Target = { readonly namespace: string; readonly workflowId: string } | { readonly namespaceId: string; readonly workflowId: string };

type TargetOf = (request: never) => Target | null;

function byName(namespace: string | null | undefined, workflowId: string | null | undefined): Target | null {
  return namespace && workflowId ? { namespace, workflowId } : null;
}

/** The namespace id and workflow id a task token names (workflow, activity and query tasks). */
function byToken(token: Uint8Array | null | undefined): Target | null {
  try {
    const t = decodeTaskToken(token);
    if (t.k === 'qry') return t.ns && t.wid ? { namespaceId: t.ns, workflowId: t.wid } : null;
    // A Nexus task waits on the node of the run that dispatched it.
    if (t.k === 'nex') return t.cns && t.cwid ? { namespaceId: t.cns, workflowId: t.cwid } : null;
    return { namespaceId: t.ns, workflowId: t.wid };
  } catch {
    return null; // a malformed token is refused by the local handler, with the usual error
  }
}

const execution = (r: { namespace?: string | null; workflowExecution?: temporal.api.common.v1.IWorkflowExecution | null }): Target | null =>
  byName(r.namespace, r.workflowExecution?.workflowId);
/** By id: a workflow's activity, or with no workflow id, a standalone activity (on the shard of its activity id). */
const byId = (r: { namespace?: string | null; workflowId?: string | null; activityId?: string | null }): Target | null => byName(r.namespace, r.workflowId || r.activityId);
const activity = (r: { namespace?: string | null; activityId?: string | null }): Target | null => byName(r.namespace, r.activityId);
const token = (r: { taskToken?: Uint8Array | null }): Target | null => byToken(r.taskToken);
/** A standalone Nexus operation lives on the shard a workflow of its operation id would. */
const nexusOperation = (r: { namespace?: string | null; operationId?: string | null }): Target | null => byName(r.namespace, r.operationId);
/** A schedule lives on the shard of the workflow id Temporal's scheduler workflow would have. */
const schedule = (r: { namespace?: string | null; scheduleId?: string | null }): Target | null =>
  byName(r.namespace, r.scheduleId ? `${SCHEDULER_WORKFLOW_ID_PREFIX}${r.scheduleId}` : null);

/** Every WorkflowService method that acts on one execution, and how to find it in the request. */
export const EXECUTION_ROUTES: Readonly<Record<string, TargetOf>> = {
  StartWorkflowExecution: byId,
  SignalWithStartWorkflowExecution: byId,
  ExecuteMultiOperation: (r: temporal.api.workflowservice.v1.IExecuteMultiOperationRequest) => {
    const first = r.operations?.[0];
    return byName(r.namespace, first?.startWorkflow?.workflowId ?? first?.updateWorkflow?.workflowExecution?.workflowId);
  },
  SignalWorkflowExecution: execution,
  RequestCancelWorkflowExecution: execution,
  TerminateWorkflowExecution: execution,
  DescribeWorkflowExecution: (r: temporal.api.workflowservice.v1.IDescribeWorkflowExecutionRequest) => byName(r.namespace, r.execution?.workflowId),
  GetWorkflowExecutionHistory: (r: temporal.api.workflowservice.v1.IGetWorkflowExecutionHistoryRequest) => byName(r.namespace, r.execution?.workflowId),
  GetWorkflowExecutionHistoryReverse: (r: temporal.api.workflowservice.v1.IGetWorkflowExecutionHistoryReverseRequest) => byName(r.namespace, r.execution?.workflowId),
  ResetWorkflowExecution: execution,
  DeleteWorkflowExecution: execution,
  QueryWorkflow: (r: temporal.api.workflowservice.v1.IQueryWorkflowRequest) => byName(r.namespace, r.execution?.workflowId),
  UpdateWorkflowExecution: execution,
  PollWorkflowExecutionUpdate: (r: temporal.api.workflowservice.v1.IPollWorkflowExecutionUpdateRequest) => byName(r.namespace, r.updateRef?.workflowExecution?.workflowId),
  ResetStickyTaskQueue: (r: temporal.api.workflowservice.v1.IResetStickyTaskQueueRequest) => byName(r.namespace, r.execution?.workflowId),
  PauseActivity: (r: temporal.api.workflowservice.v1.IPauseActivityRequest) => byName(r.namespace, r.execution?.workflowId),
  UnpauseActivity: (r: temporal.api.workflowservice.v1.IUnpauseActivityRequest) => byName(r.namespace, r.execution?.workflowId),
  ResetActivity: (r: temporal.api.workflowservice.v1.IResetActivityRequest) => byName(r.namespace, r.execution?.workflowId),
  UpdateActivityOptions: (r: temporal.api.workflowservice.v1.IUpdateActivityOptionsRequest) => byName(r.namespace, r.execution?.workflowId),
  UpdateWorkflowExecutionOptions: (r: temporal.api.workflowservice.v1.IUpdateWorkflowExecutionOptionsRequest) => byName(r.namespace, r.workflowExecution?.workflowId),
  // By activity id: a workflow's activity with a workflow id, else a standalone activity.
  PauseActivityExecution: byId,
  UnpauseActivityExecution: byId,
  ResetActivityExecution: byId,
  UpdateActivityExecutionOptions: byId,
  RespondWorkflowTaskCompleted: token,
  RespondWorkflowTaskFailed: token,
  RespondQueryTaskCompleted: token,
  RespondNexusTaskCompleted: token,
  RespondNexusTaskFailed: token,
  RecordActivityTaskHeartbeat: token,
  RespondActivityTaskCompleted: token,
  RespondActivityTaskFailed: token,
  RespondActivityTaskCanceled: token,
  RecordActivityTaskHeartbeatById: byId,
  RespondActivityTaskCompletedById: byId,
  RespondActivityTaskFailedById: byId,
  RespondActivityTaskCanceledById: byId,
  StartActivityExecution: activity,
  DescribeActivityExecution: activity,
  PollActivityExecution: activity,
  RequestCancelActivityExecution: activity,
  TerminateActivityExecution: activity,
  DeleteActivityExecution: activity,
  StartNexusOperationExecution: nexusOperation,
  DescribeNexusOperationExecution: nexusOperation,
  PollNexusOperationExecution: nexusOperation,
  RequestCancelNexusOperationExecution: nexusOperation,
  TerminateNexusOperationExecution: nexusOperation,
  DeleteNexusOperationExecution: nexusOperation,
  CreateSchedule: schedule,
  DescribeSchedule: schedule,
  UpdateSchedule: schedule,
  PatchSchedule: schedule,
  DeleteSchedule: schedule,
  ListScheduleMatchingTimes: schedule,
};

/** Where a request runs: here, or on the node at `address`. */
export type Placement = { readonly local: true } | { readonly local: false; readonly nodeId: string; readonly address: string };

/**
 * Wraps the WorkflowService handlers so that a request about one execution runs on the node owning
 * its shard: `place` decides, `forward` sends it there, where it runs the plain handler (never
 * forwarded twice: a node that no longer owns the shard answers UNAVAILABLE and the client retries).
 * Other methods are left as they are.
 */
export function routeToOwners(
  handlers: ServiceHandlers,
  place: (target: Target) => Promise<Placement>,
  forward: (placement: Extract<Placement, { local: false }>, method: string, request: unknown, call: Parameters<UnaryHandler>[1]) => Promise<object>,
): ServiceHandlers {
  const routed: ServiceHandlers = { ...handlers };
  for (const [method, extract] of Object.entries(EXECUTION_ROUTES)) {
    const local = handlers[method];
    if (local === undefined) continue;
    routed[method] = async (request, call) => {
      const target = extract(request as never);
      if (target === null) return local(request, call);
      const placement = await place(target);
      return placement.local ? local(request, call) : forward(placement, method, request, call);
    };
  }
  return routed;
}
