// Transfer tasks: effects one execution has on another, run after the initiating transition committed
// (at least once; every step is idempotent): start a child, deliver a signal or cancel request, tell
// a parent its child closed, apply a parent-close policy. The row is deleted once the effect is done.
import type { Loose } from '@kairos/common';
import type { temporal } from '@temporalio/proto';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../../errors.js';
import { mergePriority, workflowPriority } from '../priority.js';
import { HistoryEventCodec, ParentClosePolicy, WorkflowExecutionStatus as Status } from '../../proto-types.js';
import type { ExecutionKey, TimerTaskRow } from '../../persistence/store.js';
import type { TransferTask } from '../../timers/timer-task.js';
import { Transition } from '../transition.js';
import { isRunning } from '../machines/workflow.js';
import { rootExecutionOf, type MutableState, type ParentInfo } from '../mutable-state.js';
import { decodeChildInitiated, recordChildClosed, recordChildStarted, recordChildStartFailed, recordExternalRequestOutcome, type ChildOutcome } from '../machines/child-workflow.js';
import { resolveRun, type HistoryContext } from '../service-context.js';
import { checkStartOverride, startWorkflow } from './start-workflow.js';
import { childVersioning, type InheritedVersioning } from '../versioning.js';
import { versionKey } from '../../deployments/registry.js';
import { requestCancelWorkflow, signalWorkflow, terminate, type SignalInput } from './signal-cancel-terminate.js';
import type { NamespaceRecord } from '../../namespace/registry.js';
import { completeNexusOperation } from './callbacks.js';

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
  await ctx.engine.deleteTimerRows(row.key, [row.taskId]);
}

/** The summary and details the parent gave its child's start command, which the child's first event carries. */
async function initiatedUserMetadata(ctx: HistoryContext, parentKey: ExecutionKey, initiatedEventId: number): Promise<StartRequest['userMetadata']> {
  const [event] = await ctx.engine.readEvents(parentKey, initiatedEventId, initiatedEventId + 1, 1);
  return event?.userMetadata ?? null;
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
      priority: mergePriority(workflowPriority(parent), attrs.priority),
      cronSchedule: attrs.cronSchedule ?? '',
      userMetadata: await initiatedUserMetadata(ctx, parentKey, initiatedEventId),
      versioningOverride: attrs.versioningOverride ?? null,
    };
    const versioning = childStartVersioning(ctx, parent, ns.id, request);
    try {
      if (versioning === 'invalid') throw new InvalidOverride();
      const root = rootExecutionOf(parent);
      const parentRef = {
        namespaceId: parent.namespaceId,
        namespace: ctx.namespaces.findById(parent.namespaceId)?.name ?? '',
        workflowId: parent.workflowId,
        runId: parent.runId,
        initiatedEventId,
        rootWorkflowId: root.workflowId,
        rootRunId: root.runId,
      };
      outcome = await runOnOwner(ctx, ns.id, info.workflowId, 'startChild', { namespaceId: ns.id, request, parent: parentRef, versioning });
    } catch (err) {
      if (err instanceof InvalidOverride) outcome = { cause: 3 /* INVALID_VERSIONING_OVERRIDE */ };
      else if (err instanceof AlreadyExistsError) outcome = { cause: 1 /* WORKFLOW_ALREADY_EXISTS */ };
      else throw err;
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

class InvalidOverride extends Error {}

/**
 * The child's versioning: its start command's own override, checked as a start's is ('invalid' when
 * it is malformed or pins a version that does not serve the child's task queue), or else what it
 * takes over from its parent.
 */
function childStartVersioning(ctx: HistoryContext, parent: MutableState, namespaceId: string, request: StartRequest): InheritedVersioning | null | 'invalid' {
  const taskQueue = request.taskQueue?.name ?? '';
  if (request.versioningOverride) {
    try {
      checkStartOverride(ctx, namespaceId, request);
    } catch (err) {
      if (err instanceof InvalidArgumentError || err instanceof FailedPreconditionError) return 'invalid';
      throw err;
    }
    return null;
  }
  const deployments = ctx.deployments;
  return childVersioning(parent, { sameNamespace: namespaceId === parent.namespaceId, sameTaskQueue: taskQueue === parent.taskQueue }, (v) =>
    deployments ? deployments.hasTaskQueue(namespaceId, versionKey(v.deploymentName ?? '', v.buildId ?? ''), taskQueue, 'workflow') : false,
  );
}

async function notifyParent(ctx: HistoryContext, childKey: ExecutionKey): Promise<void> {
  const child = await ctx.engine.read(childKey);
  if (!child?.parent || isRunning(child)) return;
  const [last] = await ctx.engine.readEncodedEvents(childKey, child.nextEventId - 1, child.nextEventId, 1);
  if (!last) return;
  const close = HistoryEventCodec.decode(last);
  const outcome = childOutcome(child.status, close);
  if (!outcome) return;
  const p = child.parent;
  const parentKey = { namespaceId: p.namespaceId, workflowId: p.workflowId, runId: p.runId };
  await runOnOwner(ctx, p.namespaceId, p.workflowId, 'childClosed', { parentKey, initiatedEventId: p.initiatedEventId, childFirstRunId: child.firstExecutionRunId, outcome });
}

/** How many resets a child's report follows from the run that started it (Temporal's limit). */
const MAX_RESET_REDIRECTS = 100;

/**
 * Records in the parent (on the node owning it) that its child closed. A parent run that was reset
 * hands the report on to its reset run, which took over the children pending at the reset point.
 */
async function recordChildClosedInParent(ctx: HistoryContext, a: { parentKey: ExecutionKey; initiatedEventId: number; childFirstRunId: string; outcome: ChildOutcome }): Promise<void> {
  let parentKey = a.parentKey;
  for (let redirects = 0; redirects <= MAX_RESET_REDIRECTS; redirects++) {
    const resetRunId = await ctx.engine.update(parentKey, (state, nowMs) => {
      if (state && !isRunning(state)) return { transition: null, value: state.resetRunId ?? '' };
      const info = state?.children?.[a.initiatedEventId];
      if (!state || !info || (info.runId && info.runId !== a.childFirstRunId)) return { transition: null, value: '' };
      if (!info.runId) info.runId = a.childFirstRunId;
      const t = new Transition(state, nowMs);
      recordChildClosed(t, info, a.outcome);
      return { transition: t, value: '' };
    });
    if (!resetRunId) return;
    parentKey = { ...parentKey, runId: resetRunId };
  }
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
      const input = { signalName: a.signalName ?? '', input: a.input, header: a.header, identity: '', requestId };
      await runOnOwner(ctx, target.namespaceId, target.workflowId, 'signal', { key: target, input });
      delivered = { runId: target.runId };
    } else {
      const a = event.requestCancelExternalWorkflowExecutionInitiatedEventAttributes!;
      const ns = ctx.namespaces.findById(a.namespaceId ?? '');
      if (!ns) throw new NotFoundError('namespace not found');
      const target = await resolveRun(ctx, ns.id, a.workflowExecution?.workflowId ?? '', a.workflowExecution?.runId);
      const request = { namespace: ns.name, workflowExecution: { workflowId: target.workflowId, runId: target.runId }, identity: '', requestId, reason: a.reason ?? '' };
      await runOnOwner(ctx, ns.id, target.workflowId, 'requestCancel', { namespaceId: ns.id, request });
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
    const request = { namespace: ns.name, workflowExecution, firstExecutionRunId: task.runId, identity: '', reason: 'by parent close policy' };
    const op = task.policy === ParentClosePolicy.PARENT_CLOSE_POLICY_REQUEST_CANCEL ? 'requestCancel' : 'terminate';
    await runOnOwner(ctx, ns.id, task.workflowId, op, { namespaceId: ns.id, request });
  } catch (err) {
    // The child already closed or is gone: nothing to apply.
    if (!(err instanceof NotFoundError)) throw err;
  }
}

type CancelRequest = temporal.api.workflowservice.v1.IRequestCancelWorkflowExecutionRequest;
type TerminateRequest = temporal.api.workflowservice.v1.ITerminateWorkflowExecutionRequest;

function namespaceById(ctx: HistoryContext, id: string): NamespaceRecord {
  const ns = ctx.namespaces.findById(id);
  if (!ns) throw new NotFoundError(`namespace ${id} not found`);
  return ns;
}

/**
 * The steps one execution's transfer task takes on another execution, run by the node that owns the
 * target (ctx.cluster routes them there; without a cluster, here). Arguments are plain data.
 */
export const ownerOps = {
  async startChild(ctx: HistoryContext, a: { namespaceId: string; request: StartRequest; parent: ParentInfo; versioning?: InheritedVersioning | null }): Promise<{ runId: string }> {
    const request = a.request as temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest;
    const started = await startWorkflow(ctx, namespaceById(ctx, a.namespaceId), request, undefined, a.parent, { versioning: a.versioning ?? null });
    return { runId: started.runId };
  },
  childClosed: recordChildClosedInParent,
  completeNexusOperation,
  async signal(ctx: HistoryContext, a: { key: ExecutionKey; input: SignalInput }): Promise<void> {
    await signalWorkflow(ctx, a.key, a.input);
  },
  async requestCancel(ctx: HistoryContext, a: { namespaceId: string; request: CancelRequest }): Promise<void> {
    await requestCancelWorkflow(ctx, namespaceById(ctx, a.namespaceId), a.request);
  },
  async terminate(ctx: HistoryContext, a: { namespaceId: string; request: TerminateRequest }): Promise<void> {
    await terminate(ctx, namespaceById(ctx, a.namespaceId), a.request);
  },
};

export type OwnerOps = typeof ownerOps;
export type OwnerOpName = keyof OwnerOps;
export type OwnerOpArgs<K extends OwnerOpName> = Parameters<OwnerOps[K]>[1];
export type OwnerOpResult<K extends OwnerOpName> = Awaited<ReturnType<OwnerOps[K]>>;

/** Runs an owner op for the execution(s) of (namespaceId, workflowId): here, or on its owner node. */
function runOnOwner<K extends OwnerOpName>(ctx: HistoryContext, namespaceId: string, workflowId: string, op: K, args: OwnerOpArgs<K>): Promise<OwnerOpResult<K>> {
  if (ctx.cluster) return ctx.cluster.runOnOwner(namespaceId, workflowId, op, args);
  const run = ownerOps[op] as (c: HistoryContext, a: OwnerOpArgs<K>) => Promise<OwnerOpResult<K>>;
  return run(ctx, args);
}
