// One target of a batch job: the WorkflowService call an operation makes on one workflow (or standalone
// activity), with the arguments Temporal's batcher passes (docs/batch.md, "What each operation calls").
import { api, type Loose } from '@kairos/common';
import type { temporal } from '@temporalio/proto';
import type { WorkflowCaller } from '../schedules/scheduler.js';
import { deterministicRequestId, type OperationKind, type StartBatchRequest } from './batch-rules.js';

type Execution = Loose<temporal.api.common.v1.IExecution>;
type HistoryEvent = Loose<temporal.api.history.v1.IHistoryEvent>;

const EventType = api.enums.v1.EventType;

/** A target that can never succeed, whatever the retries: counted as a failure at once. */
export class NonRetryableTargetError extends Error {
  override name = 'NonRetryableTargetError';
}

export interface TargetContext {
  readonly call: WorkflowCaller;
  readonly namespace: string;
  readonly jobId: string;
  readonly kind: OperationKind;
  readonly request: StartBatchRequest;
  /** The batch worker's own identity (what Temporal's batcher sends on terminate and cancel). */
  readonly workerIdentity: string;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

/** Applies the job's operation to one target; throws the call's error. */
export async function applyToTarget(ctx: TargetContext, target: Execution): Promise<void> {
  const id = target.businessId ?? '';
  const runId = target.runId ?? '';
  const execution = { workflowId: id, runId };
  const namespace = ctx.namespace;
  const r = ctx.request;
  const call = (method: string, request: object) => ctx.call(method, request, { timeoutMs: ctx.timeoutMs, signal: ctx.signal });
  switch (ctx.kind) {
    case 'terminate':
      // The operation's own details and identity are not passed on (as in Temporal).
      await call('TerminateWorkflowExecution', { namespace, workflowExecution: execution, reason: r.reason, identity: ctx.workerIdentity });
      return;
    case 'cancel':
      await call('RequestCancelWorkflowExecution', { namespace, workflowExecution: execution, identity: ctx.workerIdentity, requestId: crypto.randomUUID() });
      return;
    case 'signal': {
      const o = r.signalOperation!;
      await call('SignalWorkflowExecution', {
        namespace,
        workflowExecution: execution,
        signalName: o.signal,
        input: o.input ?? null,
        header: o.header ?? null,
        identity: o.identity ?? '',
        requestId: deterministicRequestId(ctx.jobId, 'signal', id, runId, o.signal ?? ''),
      });
      return;
    }
    case 'delete':
      await call('DeleteWorkflowExecution', { namespace, workflowExecution: execution });
      return;
    case 'reset':
      await resetTarget(ctx, execution);
      return;
    case 'update_options': {
      const o = r.updateWorkflowOptionsOperation!;
      await call('UpdateWorkflowExecutionOptions', {
        namespace,
        workflowExecution: execution,
        workflowExecutionOptions: o.workflowExecutionOptions,
        updateMask: o.updateMask,
        identity: o.identity ?? '',
      });
      return;
    }
    case 'unpause_activities': {
      const o = r.unpauseActivitiesOperation!;
      await call('UnpauseActivity', {
        namespace,
        execution,
        identity: o.identity ?? '',
        ...(o.type ? { type: o.type } : { unpauseAll: true }),
        resetAttempts: o.resetAttempts ?? false,
        resetHeartbeat: o.resetHeartbeat ?? false,
        jitter: o.jitter ?? null,
      });
      return;
    }
    case 'reset_activities': {
      const o = r.resetActivitiesOperation!;
      await call('ResetActivity', {
        namespace,
        execution,
        identity: o.identity ?? '',
        ...(o.type ? { type: o.type } : { matchAll: true }),
        resetHeartbeat: o.resetHeartbeat ?? false,
        keepPaused: o.keepPaused ?? false,
        jitter: o.jitter ?? null,
        restoreOriginalOptions: o.restoreOriginalOptions ?? false,
      });
      return;
    }
    case 'update_activity_options': {
      const o = r.updateActivityOptionsOperation!;
      await call('UpdateActivityOptions', {
        namespace,
        execution,
        identity: o.identity ?? '',
        ...(o.type ? { type: o.type } : { matchAll: true }),
        activityOptions: o.activityOptions ?? null,
        updateMask: o.updateMask ?? { paths: [] },
        restoreOriginal: o.restoreOriginal ?? false,
      });
      return;
    }
    case 'terminate_activities': {
      const o = r.terminateActivitiesOperation!;
      await call('TerminateActivityExecution', {
        namespace,
        activityId: id,
        runId,
        identity: o.identity ?? '',
        reason: o.reason ?? '',
        requestId: deterministicRequestId(ctx.jobId, 'terminate-activity', id, runId),
      });
      return;
    }
    case 'cancel_activities': {
      const o = r.cancelActivitiesOperation!;
      await call('RequestCancelActivityExecution', {
        namespace,
        activityId: id,
        runId,
        identity: o.identity ?? '',
        reason: o.reason ?? '',
        requestId: deterministicRequestId(ctx.jobId, 'cancel-activity', id, runId),
      });
      return;
    }
    case 'delete_activities':
      await call('DeleteActivityExecution', { namespace, activityId: id, runId });
      return;
  }
}

/** Resets one workflow to the point the operation names (first or last workflow task, an event id, a build id). */
async function resetTarget(ctx: TargetContext, execution: { workflowId: string; runId: string }): Promise<void> {
  const o = ctx.request.resetOperation!;
  const options = o.options ?? null;
  const ResetType = api.enums.v1.ResetType;
  let runId = execution.runId;
  let finishEventId: number;
  if (options?.workflowTaskId) {
    finishEventId = Number(options.workflowTaskId);
  } else if (options?.buildId) {
    const point = await resetPointOf(ctx, execution, options.buildId, options.currentRunOnly ?? false);
    runId = point.runId;
    finishEventId = point.eventId;
  } else {
    const first = options ? Boolean(options.firstWorkflowTask) : Number(o.resetType) === ResetType.RESET_TYPE_FIRST_WORKFLOW_TASK;
    finishEventId = await workflowTaskEventId(ctx, execution, first);
  }
  const reapplyType = options ? (options.resetReapplyType ?? 0) : (o.resetReapplyType ?? 0);
  await ctx.call(
    'ResetWorkflowExecution',
    {
      namespace: ctx.namespace,
      workflowExecution: { workflowId: execution.workflowId, runId },
      reason: ctx.request.reason,
      workflowTaskFinishEventId: finishEventId,
      requestId: deterministicRequestId(ctx.jobId, 'reset', execution.workflowId, execution.runId),
      resetReapplyType: reapplyType,
      resetReapplyExcludeTypes: options?.resetReapplyExcludeTypes ?? [],
      postResetOperations: o.postResetOperations ?? [],
      identity: o.identity ?? '',
    },
    { timeoutMs: ctx.timeoutMs, signal: ctx.signal },
  );
}

/**
 * The event a reset to the first (or last) workflow task finishes at: that WorkflowTaskCompleted, or,
 * when the run has none, the event after its first WorkflowTaskScheduled.
 */
async function workflowTaskEventId(ctx: TargetContext, execution: { workflowId: string; runId: string }, first: boolean): Promise<number> {
  let completed: number | null = null;
  let scheduled: number | null = null;
  let nextPageToken: Uint8Array | null = null;
  do {
    const page = (await ctx.call(
      'GetWorkflowExecutionHistory',
      { namespace: ctx.namespace, execution, maximumPageSize: 1000, nextPageToken },
      { timeoutMs: ctx.timeoutMs, signal: ctx.signal },
    )) as { history?: { events?: HistoryEvent[] } | null; nextPageToken?: Uint8Array | null };
    for (const event of page.history?.events ?? []) {
      const type = Number(event.eventType);
      const id = Number(event.eventId);
      if (type === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED && (completed === null || !first)) completed = id;
      if (type === EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED && scheduled === null) scheduled = id;
    }
    if (first && completed !== null) break;
    nextPageToken = page.nextPageToken && page.nextPageToken.length > 0 ? page.nextPageToken : null;
  } while (nextPageToken);
  if (completed !== null) return completed;
  if (scheduled !== null) return scheduled + 1;
  throw new NonRetryableTargetError('unable to find any scheduled or completed task');
}

/** The auto-reset point of a build id: the run and WorkflowTaskCompleted event it names. */
async function resetPointOf(
  ctx: TargetContext,
  execution: { workflowId: string; runId: string },
  buildId: string,
  currentRunOnly: boolean,
): Promise<{ runId: string; eventId: number }> {
  const described = (await ctx.call('DescribeWorkflowExecution', { namespace: ctx.namespace, execution }, { timeoutMs: ctx.timeoutMs, signal: ctx.signal })) as {
    workflowExecutionInfo?: { execution?: { runId?: string | null } | null; autoResetPoints?: { points?: Array<Loose<temporal.api.workflow.v1.IResetPointInfo>> | null } | null } | null;
  };
  const info = described.workflowExecutionInfo;
  const point = (info?.autoResetPoints?.points ?? []).find((p) => p.buildId === buildId || p.binaryChecksum === buildId);
  if (!point) throw new Error(`Can't find reset point for ${buildId}`);
  if (!point.resettable) throw new Error(`Reset point for ${buildId} is not resettable`);
  if (point.expireTime && Number(point.expireTime.seconds ?? 0) * 1000 < Date.now()) throw new Error(`Reset point for ${buildId} is expired`);
  if (currentRunOnly && point.runId !== info?.execution?.runId) throw new Error(`Reset point for ${buildId} points to previous run and CurrentRunOnly is set`);
  return { runId: point.runId ?? execution.runId, eventId: Number(point.firstWorkflowTaskCompletedId) };
}
