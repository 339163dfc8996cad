// Workflow-task operations: a poller takes a task (RecordWorkflowTaskStarted), a worker completes it
// with commands or fails it.
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import { msToTimestamp } from '@kairos/common';
import { InvalidArgumentError, NotFoundError } from '../../errors.js';
import { checkCompletionVersioning, completingWorker, taskDirective } from '../versioning.js';
import { TaskQueueKind } from '../../proto-types.js';
import type { NamespaceRecord } from '../../namespace/registry.js';
import type { MutableState } from '../mutable-state.js';
import { Transition } from '../transition.js';
import { failWorkflowTask, startWorkflowTask, transientWorkflowTaskEvents } from '../machines/workflow-task.js';
import { isRunning } from '../machines/workflow.js';
import { moveStickyTaskToNormalQueue } from '../machines/sticky.js';
import { applyCompletion, type CompletionResult } from '../api/complete-workflow-task.js';
import { activityTaskResponse } from './activity-task.js';
import { markUpdatesDelivered, updateRequestMessages } from '../machines/update.js';
import { decodeTaskToken, encodeTaskToken, type WorkflowTaskToken } from '../task-token.js';
import type { TaskRef } from '../../matching/matching.js';
import { requireRunning, type HistoryContext } from '../service-context.js';
import type { ExecutionKey } from '../../persistence/store.js';
import type { QueryAnswer } from '../queries.js';
import { encodedHistory } from '../../encoded-history.js';

type WS = typeof temporal.api.workflowservice.v1;
type PollRequest = Loose<temporal.api.workflowservice.v1.IPollWorkflowTaskQueueRequest>;
type PollResponse = Loose<temporal.api.workflowservice.v1.IPollWorkflowTaskQueueResponse>;
type CompletedRequest = Loose<temporal.api.workflowservice.v1.IRespondWorkflowTaskCompletedRequest>;
type FailedRequest = Loose<temporal.api.workflowservice.v1.IRespondWorkflowTaskFailedRequest>;
void (null as unknown as WS);

const TASK_NOT_FOUND = 'Workflow task not found.';

/** Marks the referenced task started and builds the poll response; null when the reference is stale. */
export async function recordWorkflowTaskStarted(ctx: HistoryContext, ref: TaskRef, poll: PollRequest, requestId: string): Promise<PollResponse | null> {
  const started = await ctx.engine.update(ref.key, (state, nowMs) => {
    if (!state || !isRunning(state)) return { transition: null, value: null };
    const wft = state.workflowTask;
    if (!wft || wft.scheduledEventId !== ref.scheduledEventId || wft.attempt !== ref.attempt || wft.startedEventId !== 0) return { transition: null, value: null };
    const t = new Transition(state, nowMs);
    const started = startWorkflowTask(t, poll.identity ?? '', requestId, ctx.engine.targetVersionChanged?.(state) ?? false);
    markUpdatesDelivered(t.state, started);
    return { transition: t, value: t.state };
  });
  if (!started) return null;
  return workflowTaskPollResponse(ctx, started, poll.taskQueue?.name ?? '');
}

/**
 * The poll response for the run's started workflow task, as the worker polling `pollQueue` sees it (all
 * events, or only the new ones for its sticky queue). Also the eager task of a StartWorkflowExecution.
 */
export async function workflowTaskPollResponse(ctx: HistoryContext, state: MutableState, pollQueue: string): Promise<PollResponse> {
  const wft = state.workflowTask!;
  const key: ExecutionKey = { namespaceId: state.namespaceId, workflowId: state.workflowId, runId: state.runId };
  // The sticky worker holds the workflow up to the task it last completed: it gets only what follows.
  const sticky = state.stickyTaskQueue !== '' && pollQueue === state.stickyTaskQueue && state.lastCompletedWftStartedEventId > 0;
  const firstEventId = sticky ? state.lastCompletedWftStartedEventId + 1 : 1;
  const rows = await ctx.engine.readEncodedEvents(key, firstEventId, state.nextEventId);
  const queries: Record<string, Loose<temporal.api.query.v1.IWorkflowQuery>> = {};
  for (const q of ctx.queries.unattached(key)) {
    q.attachedToStartedEventId = wft.startedEventId;
    queries[q.id] = q.query;
  }
  const token: WorkflowTaskToken = { k: 'wft', ns: state.namespaceId, wid: state.workflowId, rid: state.runId, sid: wft.scheduledEventId, att: wft.attempt, st: wft.startedEventId, sts: wft.startedTimeMs };
  return {
    taskToken: encodeTaskToken(token),
    workflowExecution: { workflowId: state.workflowId, runId: state.runId },
    workflowType: { name: state.workflowType },
    previousStartedEventId: state.lastCompletedWftStartedEventId,
    startedEventId: wft.startedEventId,
    attempt: wft.attempt,
    history: encodedHistory(rows, transientWorkflowTaskEvents(state)),
    workflowExecutionTaskQueue: { name: state.taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    scheduledTime: msToTimestamp(wft.scheduledTimeMs),
    startedTime: msToTimestamp(wft.startedTimeMs),
    queries,
    messages: updateRequestMessages(state, wft),
  };
}

function tokenKey(ns: NamespaceRecord, bytes: Uint8Array | null | undefined): { token: WorkflowTaskToken; key: ExecutionKey } {
  const token = decodeTaskToken(bytes);
  if (token.k !== 'wft' || token.ns !== ns.id) throw new InvalidArgumentError('Invalid task token: not a workflow task of this namespace.');
  return { token, key: { namespaceId: token.ns, workflowId: token.wid, runId: token.rid } };
}

function checkStarted(state: MutableState, token: WorkflowTaskToken): void {
  const wft = state.workflowTask;
  if (!wft || wft.scheduledEventId !== token.sid || wft.attempt !== token.att || wft.startedEventId !== token.st) throw new NotFoundError(TASK_NOT_FOUND);
  if (token.sts !== undefined && wft.startedTimeMs !== token.sts) throw new NotFoundError(TASK_NOT_FOUND);
}


export async function respondWorkflowTaskCompleted(ctx: HistoryContext, ns: NamespaceRecord, req: CompletedRequest): Promise<object> {
  const { token, key } = tokenKey(ns, req.taskToken);
  const answers: Array<[string, QueryAnswer]> = Object.entries(req.queryResults ?? {}).map(([id, r]) => [id, r]);
  const worker = completingWorker(req.deploymentOptions);
  const versioningBehavior = req.versioningBehavior ?? 0;
  checkCompletionVersioning(versioningBehavior, worker);
  // Endpoints the commands name are looked up in memory; on a cluster a name new to this node is read first.
  for (const c of req.commands ?? []) {
    const endpoint = c.scheduleNexusOperationCommandAttributes?.endpoint;
    if (endpoint && ctx.nexus && !ctx.nexus.endpoints.cachedByName(endpoint)) await ctx.nexus.endpoints.byName(endpoint);
  }
  const result = await ctx.engine.update<CompletionResult>(key, (loaded, nowMs, _signalRequestIds, original) => {
    const state = requireRunning(loaded, key);
    checkStarted(state, token);
    const r = applyCompletion(state, nowMs, {
      identity: req.identity ?? '',
      binaryChecksum: req.binaryChecksum ?? '',
      sdkMetadata: req.sdkMetadata ?? null,
      meteringMetadata: req.meteringMetadata ?? null,
      workerVersion: req.workerVersionStamp ?? null,
      worker,
      versioningBehavior,
      commands: req.commands ?? [],
      messages: req.messages ?? [],
      forceCreateNewWorkflowTask: req.forceCreateNewWorkflowTask ?? false,
      stickyAttributes: req.stickyAttributes ?? null,
      discardSpeculativeWithEvents: req.capabilities?.discardSpeculativeWorkflowTaskWithEvents ?? false,
      lookups: {
        namespaceByName: (n) => ctx.namespaces.find(n),
        namespaceById: (id) => ctx.namespaces.findById(id),
        searchAttributes: ctx.searchAttributes.custom(state.namespaceId),
        nexusEndpointByName: (name) => ctx.nexus?.endpoints.cachedByName(name),
      },
      returnNewWorkflowTask: req.returnNewWorkflowTask ?? false,
    }, original);
    return { transition: r.transition, value: r };
  });
  settleQueries(ctx, key, token.st, answers, result.state);
  if (result.error) throw result.error;
  if (result.resetHistoryEventId !== undefined) return { resetHistoryEventId: result.resetHistoryEventId };
  return {
    // The next task, started for this worker (its sticky queue's view: only the events it has not seen).
    workflowTask: result.newWorkflowTaskStarted ? await workflowTaskPollResponse(ctx, result.state, result.state.stickyTaskQueue) : null,
    activityTasks: (result.eagerActivities ?? []).map((info) => activityTaskResponse(ns.name, result.state, info)),
  };
}


export async function respondWorkflowTaskFailed(ctx: HistoryContext, ns: NamespaceRecord, req: FailedRequest): Promise<object> {
  const { token, key } = tokenKey(ns, req.taskToken);
  const state = await ctx.engine.update(key, (loaded, nowMs) => {
    const s = requireRunning(loaded, key);
    checkStarted(s, token);
    const t = new Transition(s, nowMs);
    failWorkflowTask(t, req.cause ?? 0, req.failure ?? null, req.identity ?? '', req.binaryChecksum ?? '');
    return { transition: t, value: t.state };
  });
  settleQueries(ctx, key, token.st, [], state);
  return {};
}

/**
 * Answers the queries this workflow task carried; queries it did not answer go to the next task, or,
 * when none is scheduled, become stand-alone query tasks.
 */
export function settleQueries(ctx: HistoryContext, key: ExecutionKey, startedEventId: number, answers: ReadonlyArray<[string, QueryAnswer]>, state: MutableState): void {
  for (const [id, answer] of answers) ctx.queries.answer(id, answer);
  for (const q of ctx.queries.attachedTo(key, startedEventId)) q.attachedToStartedEventId = 0;
  if (state.workflowTask && isRunning(state)) return;
  for (const q of ctx.queries.unattached(key)) {
    q.mode = 'task';
    ctx.matching.addQueryTask(state.taskQueue, q.id, key, Number.MAX_SAFE_INTEGER, taskDirective(state));
  }
}

/**
 * Moves the run's workflow task off its sticky queue (the sticky worker is gone) and forgets the
 * stickiness (ResetStickyTaskQueue, ShutdownWorker). `onlyScheduledEventId`: act only while that task waits.
 */
export async function resetStickiness(ctx: HistoryContext, key: ExecutionKey, onlyScheduledEventId = 0): Promise<void> {
  await ctx.engine.update(key, (state, nowMs) => {
    if (!state || !isRunning(state) || state.stickyTaskQueue === '') return { transition: null, value: undefined };
    if (onlyScheduledEventId > 0 && state.workflowTask?.scheduledEventId !== onlyScheduledEventId) return { transition: null, value: undefined };
    const t = new Transition(state, nowMs);
    moveStickyTaskToNormalQueue(t);
    t.stateChanged = true;
    return { transition: t, value: undefined };
  });
}
