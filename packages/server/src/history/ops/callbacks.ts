// Delivers a closed run's completion callbacks (history/machines/callbacks.ts), and applies a delivered
// completion to the Nexus operation it completes in the calling run (completeNexusOperation, run on
// the node owning the caller). Delivery is at least once: a failed attempt throws, and the timer queue
// runs the delivery row again; the caller's side ignores a completion it already has.
import type { ExecutionKey, TimerTaskRow } from '../../persistence/store.js';
import { ActivityOutcomeCodec, EventType, HistoryEventCodec, WorkflowExecutionStatus as Status, type Failure, type HistoryEvent, type Payload } from '../../proto-types.js';
import type { MutableState } from '../mutable-state.js';
import { ownerNamespaceId } from '../standalone-activity/key-space.js';
import { NotFoundError } from '../../errors.js';
import { Transition } from '../transition.js';
import { isRunning } from '../machines/workflow.js';
import { decodeCallback, recordCallbackAttempt } from '../machines/callbacks.js';
import { recordNexusCompleted, recordNexusFailed, recordNexusStarted } from '../machines/nexus-operation.js';
import { CALLBACK_TOKEN_HEADER, SYSTEM_CALLBACK_URL, decodeCallbackToken, headerValue, type CallbackToken } from '../../nexus/callback-token.js';
import { WORKFLOW_COMPLETED, resolveRun, type HistoryContext } from '../service-context.js';

type Link = NonNullable<HistoryEvent['links']>[number];

/** The header in which an SDK's handler puts the operation token on the callbacks it attaches. */
const OPERATION_TOKEN_HEADER = 'nexus-operation-token';

/** What a handler run's close means for the operation it served. */
export type NexusCompletion =
  | { readonly kind: 'succeeded'; readonly result: Payload | null }
  | { readonly kind: 'failed' | 'canceled'; readonly failure: Failure };

export interface CompleteNexusOperationArgs {
  readonly token: string;
  readonly completion: NexusCompletion;
  readonly operationToken: string;
  readonly startTimeMs: number;
  readonly links: Link[];
}

export async function deliverCallbacks(ctx: HistoryContext, row: TimerTaskRow): Promise<void> {
  const state = await ctx.engine.read(row.key);
  const pending = (state?.callbacks ?? []).map((c, index) => ({ c, index })).filter(({ c }) => c.phase === 'scheduled' || c.phase === 'backingOff');
  if (!state || isRunning(state) || pending.length === 0) {
    await ctx.engine.deleteTimerRows(row.key, [row.taskId]);
    return;
  }
  const completion = state.standalone ? activityCompletion(state) : await completionOf(ctx, row.key, state.status, state.nextEventId);
  const namespace = ctx.namespaces.findById(ownerNamespaceId(state.namespaceId))?.name ?? '';
  // The back link: the activity, or the run's started event.
  const link: Link = state.standalone
    ? { activity: { namespace, activityId: state.workflowId, runId: state.runId } }
    : { workflowEvent: { namespace, workflowId: state.workflowId, runId: state.runId, eventRef: { eventId: 1, eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED } } };
  const results: Array<{ index: number; result: Parameters<typeof recordCallbackAttempt>[2] }> = [];
  let retry: unknown = null;
  for (const { c, index } of pending) {
    const callback = decodeCallback(c);
    const url = callback.nexus?.url ?? '';
    const tokenText = headerValue(callback.nexus?.header, CALLBACK_TOKEN_HEADER);
    if (url !== SYSTEM_CALLBACK_URL || !tokenText) {
      results.push({ index, result: { ok: false, failure: { message: `callback to ${url} cannot be delivered by this server` }, retryable: false } });
      continue;
    }
    try {
      const token = decodeCallbackToken(tokenText);
      // The handler's token for the operation, in case this completion overtakes the start's answer.
      const operationToken = headerValue(callback.nexus?.header, OPERATION_TOKEN_HEADER) ?? '';
      const args: CompleteNexusOperationArgs = { token: tokenText, completion, operationToken, startTimeMs: state.startTimeMs, links: [link] };
      await runCompletion(ctx, token.namespaceId, token.workflowId, args);
      results.push({ index, result: { ok: true } });
    } catch (err) {
      if (err instanceof NotFoundError || (err as Error).name === 'InvalidArgumentError') {
        results.push({ index, result: { ok: false, failure: { message: (err as Error).message, nexusHandlerFailureInfo: { type: 'NOT_FOUND' } }, retryable: false } });
      } else {
        retry = err;
        results.push({ index, result: { ok: false, failure: { message: String((err as Error).message ?? err) }, retryable: true } });
      }
    }
  }
  await ctx.engine.update(row.key, (s, nowMs) => {
    if (!s) return { transition: null, value: undefined };
    const t = new Transition(s, nowMs);
    for (const { index, result } of results) recordCallbackAttempt(t, index, result);
    if (retry === null) t.deleteTimer(row.taskId);
    return { transition: t, value: undefined };
  });
  // The row stays for the callbacks that may succeed later: the timer queue runs it again.
  if (retry !== null) throw retry;
}

function runCompletion(ctx: HistoryContext, namespaceId: string, workflowId: string, args: CompleteNexusOperationArgs): Promise<void> {
  if (ctx.cluster) return ctx.cluster.runOnOwner(namespaceId, workflowId, 'completeNexusOperation', args);
  return completeNexusOperation(ctx, args);
}

/** The completion a closed standalone activity reports: its result's first payload, or its outcome's failure. */
function activityCompletion(state: MutableState): NexusCompletion {
  const outcome = state.standalone?.outcome ? ActivityOutcomeCodec.decode(state.standalone.outcome) : null;
  if (state.status === Status.WORKFLOW_EXECUTION_STATUS_COMPLETED) return { kind: 'succeeded', result: outcome?.result?.payloads?.[0] ?? null };
  const failure = (outcome?.failure as Failure | null | undefined) ?? { message: 'operation failed' };
  return { kind: state.status === Status.WORKFLOW_EXECUTION_STATUS_CANCELED ? 'canceled' : 'failed', failure };
}

/** The completion a closed handler run reports, from its close event (as Temporal builds it). */
async function completionOf(ctx: HistoryContext, key: ExecutionKey, status: number, nextEventId: number): Promise<NexusCompletion> {
  const [bytes] = await ctx.engine.readEncodedEvents(key, nextEventId - 1, nextEventId, 1);
  const close = bytes ? HistoryEventCodec.decode(bytes) : null;
  switch (status) {
    case Status.WORKFLOW_EXECUTION_STATUS_COMPLETED:
      return { kind: 'succeeded', result: close?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0] ?? null };
    case Status.WORKFLOW_EXECUTION_STATUS_FAILED:
      return { kind: 'failed', failure: (close?.workflowExecutionFailedEventAttributes?.failure as Failure | null) ?? { message: 'operation failed' } };
    case Status.WORKFLOW_EXECUTION_STATUS_CANCELED:
      return { kind: 'canceled', failure: { message: 'operation canceled', canceledFailureInfo: { details: close?.workflowExecutionCanceledEventAttributes?.details ?? null } } };
    case Status.WORKFLOW_EXECUTION_STATUS_TERMINATED:
      return { kind: 'failed', failure: { message: 'operation terminated', terminatedFailureInfo: {} } };
    default:
      return { kind: 'failed', failure: { message: 'operation exceeded internal timeout', timeoutFailureInfo: {} } };
  }
}

/**
 * Applies a completion to the operation the callback token names, in the calling run: writes Started
 * first when the completion overtook the start's answer, then the closing event. When that run is
 * closed or gone, the workflow's current run is tried, as Temporal retries without a run id: a caller
 * that was reset has its pending operations in the reset run, under the same event id and request id.
 * NotFound when neither has the operation open.
 */
export async function completeNexusOperation(ctx: HistoryContext, args: CompleteNexusOperationArgs): Promise<void> {
  const token = decodeCallbackToken(args.token);
  const named = { namespaceId: token.namespaceId, workflowId: token.workflowId, runId: token.runId };
  let outcome = await applyCompletion(ctx, named, token, args);
  if (outcome !== 'done' && token.runId && token.requestId) {
    const current = await resolveRun(ctx, token.namespaceId, token.workflowId, null).catch(() => null);
    if (current && current.runId !== token.runId) outcome = await applyCompletion(ctx, current, token, args);
  }
  if (outcome === 'closed') throw new NotFoundError(WORKFLOW_COMPLETED);
  if (outcome === 'gone') throw new NotFoundError('operation not found');
}

function applyCompletion(ctx: HistoryContext, key: ExecutionKey, token: CallbackToken, args: CompleteNexusOperationArgs): Promise<'done' | 'closed' | 'gone'> {
  return ctx.engine.update(key, (state, nowMs) => {
    if (!state) return { transition: null, value: 'gone' as const };
    if (!isRunning(state)) return { transition: null, value: 'closed' as const };
    const info = state.nexusOperations?.[token.scheduledEventId];
    if (!info || (token.requestId && info.requestId !== token.requestId)) return { transition: null, value: 'gone' as const };
    const t = new Transition(state, nowMs);
    if (info.phase !== 'started') recordNexusStarted(t, info, args.operationToken, args.links, args.startTimeMs || nowMs);
    const c = args.completion;
    if (c.kind === 'succeeded') recordNexusCompleted(t, info, c.result, []);
    else recordNexusFailed(t, info, c.failure, c.kind === 'canceled');
    return { transition: t, value: 'done' as const };
  });
}
