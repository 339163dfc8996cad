// Transfer tasks: effects one execution has on another, run after the initiating transition committed
// (at least once; every step is idempotent): start a child, deliver a signal or cancel request, tell
// a parent its child closed, apply a parent-close policy. The row is deleted once the effect is done.
import type { Loose } from '@kairos/common';
import type { temporal } from '@temporalio/proto';
import { AlreadyExistsError, NotFoundError } from '../../errors.js';
import { HistoryEventCodec, ParentClosePolicy, WorkflowExecutionStatus as Status } from '../../proto-types.js';
import type { ExecutionKey, TimerTaskRow } from '../../persistence/store.js';
import type { TransferTask } from '../../timers/timer-task.js';
import { Transition } from '../transition.js';
import { isRunning } from '../machines/workflow.js';
import { decodeChildInitiated, recordChildClosed, recordChildStarted, recordChildStartFailed, recordExternalRequestOutcome, type ChildOutcome } from '../machines/child-workflow.js';
import { resolveRun, type HistoryContext } from '../service-context.js';
import { startWorkflow } from './start-workflow.js';
import { requestCancelWorkflow, signalWorkflow, terminate } from './signal-cancel-terminate.js';

type StartRequest = Loose<temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest>;

export async function handleTransferTask(ctx: HistoryContext, row: TimerTaskRow, task: TransferTask): Promise<void> {
  switch (task.kind) {
    case 'startChild':
      await startChild(ctx, row.key, task.initiatedEventId);
      break;
    case 'externalRequest':
      await deliverExternalRequest(ctx, row.key, task.initiatedEventId);
      break;
    case 'notifyParent':
      await notifyParent(ctx, row.key);
      break;
    case 'parentClosePolicy':
      await applyParentClosePolicy(ctx, task);
      break;
  }
  await ctx.engine.store.commit({ executions: [], timersToAdd: [], timerIdsToDelete: [row.taskId] });
}

async function startChild(ctx: HistoryContext, parentKey: ExecutionKey, initiatedEventId: number): Promise<void> {
  const parent = await ctx.engine.read(parentKey);
  const info = parent?.children?.[initiatedEventId];
  if (!parent || !isRunning(parent) || !info || info.started) return;
  const attrs = decodeChildInitiated(info);
  const ns = ctx.namespaces.findById(info.namespaceId);
  let outcome: { runId: string } | { cause: number };
  if (!ns) {
    outcome = { cause: 2 /* NAMESPACE_NOT_FOUND */ };
  } else {
    const request: StartRequest = {
      namespace: ns.name,
      workflowId: info.workflowId,
      workflowType: attrs.workflowType ?? null,
      taskQueue: attrs.taskQueue ?? null,
      input: attrs.input ?? null,
      workflowExecutionTimeout: attrs.workflowExecutionTimeout ?? null,
      workflowRunTimeout: attrs.workflowRunTimeout ?? null,
      workflowTaskTimeout: attrs.workflowTaskTimeout ?? null,
      identity: '',
      // Deterministic: a retried delivery finds the run it already created.
      requestId: `${parentKey.runId}:${initiatedEventId}`,
      workflowIdReusePolicy: attrs.workflowIdReusePolicy ?? 0,
      retryPolicy: attrs.retryPolicy ?? null,
      memo: attrs.memo ?? null,
      searchAttributes: attrs.searchAttributes ?? null,
      header: attrs.header ?? null,
      priority: attrs.priority ?? null,
      cronSchedule: attrs.cronSchedule ?? '',
    };
    try {
      const started = await startWorkflow(ctx, ns, request as temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest, undefined, {
        namespaceId: parent.namespaceId,
        namespace: ctx.namespaces.findById(parent.namespaceId)?.name ?? '',
        workflowId: parent.workflowId,
        runId: parent.runId,
        initiatedEventId,
      });
      outcome = { runId: started.runId };
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      outcome = { cause: 1 /* WORKFLOW_ALREADY_EXISTS */ };
    }
  }
  await ctx.engine.update(parentKey, (state, nowMs) => {
    const child = state?.children?.[initiatedEventId];
    if (!state || !isRunning(state) || !child || child.started) return { transition: null, value: undefined };
    const t = new Transition(state, nowMs);
    if ('runId' in outcome) recordChildStarted(t, child, outcome.runId);
    else recordChildStartFailed(t, child, outcome.cause);
    return { transition: t, value: undefined };
  });
}

async function notifyParent(ctx: HistoryContext, childKey: ExecutionKey): Promise<void> {
  const child = await ctx.engine.read(childKey);
  if (!child?.parent || isRunning(child)) return;
  const [last] = await ctx.engine.store.readEvents(childKey, child.nextEventId - 1, child.nextEventId, 1);
  if (!last) return;
  const close = HistoryEventCodec.decode(last);
  const outcome = childOutcome(child.status, close);
  if (!outcome) return;
  const p = child.parent;
  const parentKey = { namespaceId: p.namespaceId, workflowId: p.workflowId, runId: p.runId };
  await ctx.engine.update(parentKey, (state, nowMs) => {
    const info = state?.children?.[p.initiatedEventId];
    if (!state || !isRunning(state) || !info || (info.runId && info.runId !== child.firstExecutionRunId)) return { transition: null, value: undefined };
    if (!info.runId) info.runId = child.firstExecutionRunId;
    const t = new Transition(state, nowMs);
    recordChildClosed(t, info, outcome);
    return { transition: t, value: undefined };
  });
}

function childOutcome(status: number, close: ReturnType<typeof HistoryEventCodec.decode>): ChildOutcome | null {
  switch (status) {
    case Status.WORKFLOW_EXECUTION_STATUS_COMPLETED:
      return { kind: 'completed', event: close.workflowExecutionCompletedEventAttributes ?? {} };
    case Status.WORKFLOW_EXECUTION_STATUS_FAILED:
      return { kind: 'failed', event: close.workflowExecutionFailedEventAttributes ?? {} };
    case Status.WORKFLOW_EXECUTION_STATUS_CANCELED:
      return { kind: 'canceled', event: close.workflowExecutionCanceledEventAttributes ?? {} };
    case Status.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
      return { kind: 'timedOut', event: close.workflowExecutionTimedOutEventAttributes ?? {} };
    case Status.WORKFLOW_EXECUTION_STATUS_TERMINATED:
      return { kind: 'terminated' };
    default:
      return null;
  }
}

async function deliverExternalRequest(ctx: HistoryContext, key: ExecutionKey, initiatedEventId: number): Promise<void> {
  const state = await ctx.engine.read(key);
  const info = state?.externalRequests?.[initiatedEventId];
  if (!state || !isRunning(state) || !info) return;
  const event = HistoryEventCodec.decode(info.initiatedAttributes);
  const requestId = `${key.runId}:${initiatedEventId}`;
  let delivered: { runId: string } | null = null;
  try {
    if (info.kind === 'signal') {
      const a = event.signalExternalWorkflowExecutionInitiatedEventAttributes!;
      const target = await resolveRun(ctx, a.namespaceId ?? '', a.workflowExecution?.workflowId ?? '', a.workflowExecution?.runId);
      await signalWorkflow(ctx, target, { signalName: a.signalName ?? '', input: a.input, header: a.header, identity: '', requestId });
      delivered = { runId: target.runId };
    } else {
      const a = event.requestCancelExternalWorkflowExecutionInitiatedEventAttributes!;
      const ns = ctx.namespaces.findById(a.namespaceId ?? '');
      if (!ns) throw new NotFoundError('namespace not found');
      const target = await resolveRun(ctx, ns.id, a.workflowExecution?.workflowId ?? '', a.workflowExecution?.runId);
      await requestCancelWorkflow(ctx, ns, { namespace: ns.name, workflowExecution: { workflowId: target.workflowId, runId: target.runId }, identity: '', requestId, reason: a.reason ?? '' });
      delivered = { runId: target.runId };
    }
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
  await ctx.engine.update(key, (s, nowMs) => {
    if (!s || !isRunning(s) || !s.externalRequests?.[initiatedEventId]) return { transition: null, value: undefined };
    const t = new Transition(s, nowMs);
    recordExternalRequestOutcome(t, initiatedEventId, delivered);
    return { transition: t, value: undefined };
  });
}

async function applyParentClosePolicy(ctx: HistoryContext, task: Extract<TransferTask, { kind: 'parentClosePolicy' }>): Promise<void> {
  const ns = ctx.namespaces.findById(task.namespaceId);
  if (!ns || !task.runId) return;
  const workflowExecution = { workflowId: task.workflowId, runId: '' };
  try {
    if (task.policy === ParentClosePolicy.PARENT_CLOSE_POLICY_REQUEST_CANCEL) {
      await requestCancelWorkflow(ctx, ns, { namespace: ns.name, workflowExecution, firstExecutionRunId: task.runId, identity: '', reason: 'by parent close policy' });
    } else {
      await terminate(ctx, ns, { namespace: ns.name, workflowExecution, firstExecutionRunId: task.runId, identity: '', reason: 'by parent close policy' });
    }
  } catch (err) {
    // The child already closed or is gone: nothing to apply.
    if (!(err instanceof NotFoundError)) throw err;
  }
}
