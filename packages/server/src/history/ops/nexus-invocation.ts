// Runs one attempt to start or to cancel a Nexus operation (history/machines/nexus-operation.ts): reads
// the operation, builds the Nexus request, dispatches it as a Nexus task to the endpoint's task queue
// (nexus/nexus-tasks.ts), waits for the worker's answer (or the attempt's deadline), and records the
// outcome in the calling run. The attempt's timer row stays until that outcome is recorded, so an
// attempt cut short by a restart runs again (the handler sees the same request id).
import { msToTimestamp } from '@kairos/common';
import type { TimerTaskRow } from '../../persistence/store.js';
import { EventType, PayloadCodec, TimeoutType, type Failure, type Payload } from '../../proto-types.js';
import { Transition } from '../transition.js';
import { isRunning } from '../machines/workflow.js';
import type { MutableState, NexusOperationInfo } from '../mutable-state.js';
import type { HistoryContext } from '../service-context.js';
import {
  NEXUS_MIN_REQUEST_TIMEOUT_MS,
  NEXUS_REQUEST_TIMEOUT_MS,
  recordNexusAttemptFailed,
  recordNexusCancelDelivered,
  recordNexusCancelFailed,
  recordNexusCompleted,
  recordNexusFailed,
  recordNexusStarted,
  recordNexusTimedOut,
} from '../machines/nexus-operation.js';
import type { NexusRequest, NexusTaskResult } from '../../nexus/nexus-tasks.js';
import { CALLBACK_TOKEN_HEADER, SYSTEM_CALLBACK_URL, encodeCallbackToken } from '../../nexus/callback-token.js';
import { nexusOperationLink, toTemporalLink, workflowEventLink, type NexusLink, type TemporalLink } from '../../nexus/links.js';
import { ownerNamespaceId } from '../standalone-activity/key-space.js';
import { nexusFailureToFailure } from '../../nexus/failures.js';

/** Handler error types a retry cannot fix, unless the handler says otherwise (Nexus's rules). */
const NON_RETRYABLE_TYPES = new Set(['BAD_REQUEST', 'UNAUTHENTICATED', 'UNAUTHORIZED', 'NOT_FOUND', 'NOT_IMPLEMENTED', 'CONFLICT']);
/** Matching gives the worker the attempt's time less this, so that its answer arrives in time. */
const DISPATCH_MARGIN_MS = 1000;
const MAX_TOKEN_LENGTH = 4096;

type Outcome =
  | { readonly kind: 'completed'; readonly result: Payload | null; readonly links: TemporalLink[] }
  | { readonly kind: 'started'; readonly token: string; readonly links: TemporalLink[] }
  | { readonly kind: 'failed'; readonly cause: Failure; readonly canceled: boolean }
  | { readonly kind: 'retry'; readonly failure: Failure }
  | { readonly kind: 'timedOut'; readonly timeoutType: number }
  | { readonly kind: 'cancelDelivered' }
  | { readonly kind: 'cancelFailed'; readonly failure: Failure; readonly retryable: boolean };

export async function invokeNexus(ctx: HistoryContext, row: TimerTaskRow, task: { kind: 'nexusInvoke' | 'nexusCancel'; scheduledEventId: number }): Promise<void> {
  const start = task.kind === 'nexusInvoke';
  const current = (info: NexusOperationInfo | undefined) => (start ? info?.invocationTaskId : info?.cancelTaskId);
  const state = await ctx.engine.read(row.key);
  const info = state?.nexusOperations?.[task.scheduledEventId];
  let outcome: Outcome | null = null;
  if (state && isRunning(state) && info && current(info) === row.taskId) {
    outcome = start ? await startAttempt(ctx, state, info) : await cancelAttempt(ctx, state, info);
  }
  const recorded = outcome !== null && await ctx.engine.update(row.key, (s, nowMs) => {
    const op = s?.nexusOperations?.[task.scheduledEventId];
    if (!s || !isRunning(s) || !op || current(op) !== row.taskId) return { transition: null, value: false };
    const t = new Transition(s, nowMs);
    apply(t, op, outcome!);
    return { transition: t, value: true };
  });
  // A stale row (the operation closed, or another attempt took over) only goes away.
  if (!recorded) await ctx.engine.deleteTimerRows(row.key, [row.taskId]);
}

function apply(t: Transition, info: NexusOperationInfo, outcome: Outcome): void {
  switch (outcome.kind) {
    case 'completed':
      return recordNexusCompleted(t, info, outcome.result, outcome.links);
    case 'started':
      return recordNexusStarted(t, info, outcome.token, outcome.links);
    case 'failed':
      return recordNexusFailed(t, info, outcome.cause, outcome.canceled);
    case 'retry':
      return recordNexusAttemptFailed(t, info, outcome.failure);
    case 'timedOut':
      return recordNexusTimedOut(t, info, outcome.timeoutType);
    case 'cancelDelivered':
      return recordNexusCancelDelivered(t, info);
    case 'cancelFailed':
      return recordNexusCancelFailed(t, info, outcome.failure, outcome.retryable);
  }
}

export function handlerFailure(type: string, message: string, retryBehavior = 0): Failure {
  return { message, nexusHandlerFailureInfo: { type, retryBehavior } };
}

/** Where the endpoint sends its tasks, or why it cannot. */
async function target(ctx: HistoryContext, info: NexusOperationInfo): Promise<{ ok: true; namespaceId: string; taskQueue: string; name: string } | { ok: false; failure: Failure }> {
  const endpoints = ctx.nexus?.endpoints;
  const endpoint = endpoints ? (info.endpointId ? await endpoints.byIdOrUndefined(info.endpointId) : await endpoints.byName(info.endpoint)) : undefined;
  if (!endpoint) return { ok: false, failure: handlerFailure('NOT_FOUND', 'endpoint not registered') };
  if (endpoint.target.kind !== 'worker') {
    return { ok: false, failure: handlerFailure('NOT_IMPLEMENTED', `endpoint ${endpoint.name} targets an external URL, which this server does not call`) };
  }
  return { ok: true, namespaceId: endpoint.target.namespaceId, taskQueue: endpoint.target.taskQueue, name: endpoint.name };
}

/** The operation's input and Nexus header: a workflow's from its scheduled event, a standalone one's from its state. */
async function scheduledAttributes(ctx: HistoryContext, state: MutableState, info: NexusOperationInfo): Promise<{ input?: Payload | null; nexusHeader?: Record<string, string> | null }> {
  const standalone = state.standaloneNexus;
  if (standalone) {
    return {
      input: standalone.input ? PayloadCodec.decode(standalone.input) : null,
      nexusHeader: standalone.nexusHeader ? (JSON.parse(standalone.nexusHeader) as Record<string, string>) : null,
    };
  }
  const key = { namespaceId: state.namespaceId, workflowId: state.workflowId, runId: state.runId };
  const [event] = await ctx.engine.readEvents(key, info.scheduledEventId, info.scheduledEventId + 1, 1);
  return event?.nexusOperationScheduledEventAttributes ?? {};
}

async function startAttempt(ctx: HistoryContext, state: MutableState, info: NexusOperationInfo): Promise<Outcome> {
  const now = ctx.engine.clock.now();
  const elapsed = now - info.scheduledTimeMs;
  let callMs = NEXUS_REQUEST_TIMEOUT_MS;
  let timeoutType = 0;
  if (info.scheduleToStartMs > 0) {
    callMs = Math.min(callMs, info.scheduleToStartMs - elapsed);
    timeoutType = TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START;
  } else if (info.scheduleToCloseMs > 0) {
    callMs = Math.min(callMs, info.scheduleToCloseMs - elapsed);
    timeoutType = TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE;
  }
  // Too little time left for a request to make sense: the operation times out now, as Temporal's does.
  if (callMs < NEXUS_MIN_REQUEST_TIMEOUT_MS) return { kind: 'timedOut', timeoutType };
  const to = await target(ctx, info);
  if (!to.ok) return { kind: 'failed', cause: to.failure, canceled: false };
  const attrs = await scheduledAttributes(ctx, state, info);
  const deadlineMs = now + callMs - DISPATCH_MARGIN_MS;
  const header: Record<string, string> = { ...(attrs.nexusHeader ?? {}) };
  if (header['operation-timeout'] === undefined) {
    const limits = [info.startToCloseMs > 0 ? info.startToCloseMs : Infinity, info.scheduleToCloseMs > 0 ? info.scheduleToCloseMs - elapsed : Infinity];
    const operationMs = Math.min(...limits);
    if (Number.isFinite(operationMs)) header['operation-timeout'] = `${Math.max(0, operationMs)}ms`;
  }
  header['request-timeout'] = `${deadlineMs - now}ms`;
  const namespace = ctx.namespaces.findById(ownerNamespaceId(state.namespaceId))?.name ?? '';
  const link = state.standaloneNexus
    ? nexusOperationLink(namespace, state.workflowId, state.runId)
    : workflowEventLink(namespace, state.workflowId, state.runId, info.scheduledEventId, EventType.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED);
  const token = encodeCallbackToken({ namespaceId: state.namespaceId, workflowId: state.workflowId, runId: state.runId, scheduledEventId: info.scheduledEventId, requestId: info.requestId });
  const request: NexusRequest = {
    header,
    scheduledTime: msToTimestamp(now),
    capabilities: { temporalFailureResponses: true },
    endpoint: to.name,
    startOperation: {
      service: info.service,
      operation: info.operation,
      requestId: info.requestId,
      callback: SYSTEM_CALLBACK_URL,
      payload: attrs.input ?? null,
      callbackHeader: { [CALLBACK_TOKEN_HEADER]: token },
      links: [link],
    },
  };
  const result = await ctx.nexus!.tasks.dispatch(to.namespaceId, to.taskQueue, request, deadlineMs, { namespaceId: state.namespaceId, workflowId: state.workflowId });
  return startOutcome(result);
}

function temporalLinks(links: readonly NexusLink[] | null | undefined): TemporalLink[] {
  return (links ?? []).map(toTemporalLink).filter((l): l is TemporalLink => l !== null);
}

function startOutcome(result: NexusTaskResult): Outcome {
  if (result.kind === 'timeout') return { kind: 'retry', failure: handlerFailure('UPSTREAM_TIMEOUT', 'upstream timeout') };
  if (result.kind === 'handlerError') {
    const { failure, retryable } = handlerErrorFailure(result);
    return retryable ? { kind: 'retry', failure } : { kind: 'failed', cause: failure, canceled: false };
  }
  const start = result.response.startOperation;
  if (!start) return { kind: 'retry', failure: handlerFailure('INTERNAL', 'empty outcome') };
  if (start.syncSuccess) return { kind: 'completed', result: start.syncSuccess.payload ?? null, links: temporalLinks(start.syncSuccess.links) };
  if (start.asyncSuccess) {
    const token = start.asyncSuccess.operationToken || start.asyncSuccess.operationId || '';
    if (token.length > MAX_TOKEN_LENGTH) {
      return { kind: 'failed', cause: { message: `invalid operation token: length exceeds allowed limit (${token.length}/${MAX_TOKEN_LENGTH})`, applicationFailureInfo: { type: 'CallError', nonRetryable: true } }, canceled: false };
    }
    return { kind: 'started', token, links: temporalLinks(start.asyncSuccess.links) };
  }
  if (start.failure) return { kind: 'failed', cause: start.failure, canceled: !!start.failure.canceledFailureInfo };
  if (start.operationError) {
    const canceled = start.operationError.operationState === 'canceled';
    const converted = nexusFailureToFailure(start.operationError.failure ?? null);
    const cause: Failure = canceled
      ? (converted.canceledFailureInfo ? converted : { message: converted.message ?? '', canceledFailureInfo: {}, cause: converted.cause ?? null })
      : (converted.applicationFailureInfo || converted.canceledFailureInfo ? converted : { ...converted, applicationFailureInfo: { type: 'OperationError', nonRetryable: true } });
    return { kind: 'failed', cause, canceled };
  }
  return { kind: 'retry', failure: handlerFailure('INTERNAL', 'empty outcome') };
}

/** A worker's RespondNexusTaskFailed as a Temporal failure, and whether a retry may help. */
function handlerErrorFailure(result: Extract<NexusTaskResult, { kind: 'handlerError' }>): { failure: Failure; retryable: boolean } {
  let failure: Failure;
  let type: string;
  let behavior: number;
  if (result.error) {
    // The older form wins when both are sent, as in Temporal's matching.
    type = result.error.errorType ?? 'INTERNAL';
    behavior = result.error.retryBehavior ?? 0;
    const inner = nexusFailureToFailure(result.error.failure ?? null);
    failure = { ...inner, applicationFailureInfo: null, nexusHandlerFailureInfo: { type, retryBehavior: behavior } };
  } else {
    failure = result.failure ?? { message: '' };
    type = failure.nexusHandlerFailureInfo?.type ?? 'INTERNAL';
    behavior = failure.nexusHandlerFailureInfo?.retryBehavior ?? 0;
  }
  const retryable = behavior === 1 ? true : behavior === 2 ? false : !NON_RETRYABLE_TYPES.has(type);
  return { failure, retryable };
}

async function cancelAttempt(ctx: HistoryContext, state: MutableState, info: NexusOperationInfo): Promise<Outcome> {
  const now = ctx.engine.clock.now();
  const limits = [NEXUS_REQUEST_TIMEOUT_MS];
  if (info.startToCloseMs > 0) limits.push(info.startedTimeMs + info.startToCloseMs - now);
  if (info.scheduleToCloseMs > 0) limits.push(info.scheduledTimeMs + info.scheduleToCloseMs - now);
  const callMs = Math.min(...limits);
  if (callMs < NEXUS_MIN_REQUEST_TIMEOUT_MS) {
    const which = info.startToCloseMs > 0 && callMs === info.startedTimeMs + info.startToCloseMs - now ? 'StartToClose' : 'ScheduleToClose';
    return { kind: 'cancelFailed', failure: { message: `not enough time to execute another request before ${which} timeout`, applicationFailureInfo: { type: 'CallError', nonRetryable: true } }, retryable: false };
  }
  const to = await target(ctx, info);
  if (!to.ok) return { kind: 'cancelFailed', failure: to.failure, retryable: false };
  const attrs = await scheduledAttributes(ctx, state, info);
  const deadlineMs = now + callMs - DISPATCH_MARGIN_MS;
  const request: NexusRequest = {
    header: { ...(attrs.nexusHeader ?? {}), 'request-timeout': `${deadlineMs - now}ms` },
    scheduledTime: msToTimestamp(now),
    capabilities: { temporalFailureResponses: true },
    endpoint: to.name,
    cancelOperation: { service: info.service, operation: info.operation, operationId: info.operationToken, operationToken: info.operationToken },
  };
  const result = await ctx.nexus!.tasks.dispatch(to.namespaceId, to.taskQueue, request, deadlineMs, { namespaceId: state.namespaceId, workflowId: state.workflowId });
  if (result.kind === 'timeout') return { kind: 'cancelFailed', failure: handlerFailure('UPSTREAM_TIMEOUT', 'upstream timeout'), retryable: true };
  if (result.kind === 'handlerError') {
    const { failure, retryable } = handlerErrorFailure(result);
    return { kind: 'cancelFailed', failure, retryable };
  }
  return { kind: 'cancelDelivered' };
}
