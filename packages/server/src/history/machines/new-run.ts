// Closing a run into a new one of the same workflow id, committed together: continue-as-new (the
// workflow asks), workflow retry (a failed or timed-out run with a retry policy). The new run inherits
// the chain's first run id and execution deadline; its first workflow task waits for the backoff.
import { randomUUID } from 'node:crypto';
import { durationToMs, msToDuration, msToOptionalDuration } from '@kairos/common';
import {
  ContinueAsNewInitiator,
  EventType,
  HeaderCodec,
  MemoCodec,
  PayloadsCodec,
  RetryPolicyCodec,
  RetryState,
  SearchAttributesCodec,
  WorkflowExecutionStatus as Status,
  type Command,
  type Failure,
  type HistoryEvent,
  type Payloads,
} from '../../proto-types.js';
import type { Transition } from '../transition.js';
import { workflowPriority } from '../priority.js';
import { carriedCallbacks } from './callbacks.js';
import { createWorkflowRun, type Continuation } from '../api/start-workflow.js';
import { closeWorkflow } from './workflow.js';
import { inheritedVersioning } from '../versioning.js';
import { withoutWorkerAttributes } from './build-ids.js';
import { decideRetry, normalizeRetryPolicy } from '../retry.js';
import { cronBackoffMs, parseCronSchedule } from '../cron.js';
import type { MutableState } from '../mutable-state.js';

type ContinueAsNewAttributes = NonNullable<Command['continueAsNewWorkflowExecutionCommandAttributes']>;

function startNewRun(t: Transition, runId: string, overrides: Partial<ContinueAsNewAttributes>, continuation: Continuation): void {
  const state = t.state;
  const taskQueue = overrides.taskQueue?.name || state.taskQueue;
  const versioning = inheritedVersioning(state, overrides.initialVersioningBehavior ?? 0, taskQueue === state.taskQueue);
  const request = {
    namespace: '',
    workflowId: state.workflowId,
    workflowType: { name: overrides.workflowType?.name || state.workflowType },
    taskQueue: { name: overrides.taskQueue?.name || state.taskQueue },
    input: overrides.input ?? null,
    workflowExecutionTimeout: msToOptionalDuration(state.executionTimeoutMs),
    workflowRunTimeout: overrides.workflowRunTimeout && durationToMs(overrides.workflowRunTimeout) > 0 ? overrides.workflowRunTimeout : msToOptionalDuration(state.runTimeoutMs),
    workflowTaskTimeout: overrides.workflowTaskTimeout && durationToMs(overrides.workflowTaskTimeout) > 0 ? overrides.workflowTaskTimeout : msToDuration(state.workflowTaskTimeoutMs),
    identity: '',
    requestId: randomUUID(),
    retryPolicy: overrides.retryPolicy ?? (state.retryPolicy ? RetryPolicyCodec.decode(state.retryPolicy) : null),
    memo: overrides.memo ?? (state.memo ? MemoCodec.decode(state.memo) : null),
    searchAttributes: overrides.searchAttributes ?? (state.searchAttributes ? { indexedFields: withoutWorkerAttributes(SearchAttributesCodec.decode(state.searchAttributes).indexedFields) } : null),
    header: overrides.header ?? null,
    cronSchedule: overrides.cronSchedule ?? state.cronSchedule ?? '',
    // Retries, cron runs and continue-as-new keep the run's Priority, as Temporal's next run does.
    priority: workflowPriority(state),
  };
  const callbacks = carriedCallbacks(state.callbacks);
  t.newRun = createWorkflowRun({ namespaceId: state.namespaceId, namespaceName: '', runId, request, nowMs: t.nowMs, continuation, parent: state.parent ?? null, versioning, callbacks });
}

function continuationOf(state: MutableState, init: { initiator: number; attempt: number; backoffMs: number; failure: Failure | null; lastCompletionResult: Payloads | null }): Continuation {
  return {
    previousRunId: state.runId,
    firstExecutionRunId: state.firstExecutionRunId,
    initiator: init.initiator,
    attempt: init.attempt,
    backoffMs: init.backoffMs,
    executionExpirationMs: state.executionExpirationMs ?? 0,
    continuedFailure: init.failure,
    lastCompletionResult: init.lastCompletionResult,
  };
}

/** ContinueAsNewWorkflowExecution command. */
export function continueAsNew(t: Transition, attrs: ContinueAsNewAttributes, completedEventId: number): void {
  const state = t.state;
  const newRunId = randomUUID();
  const backoffMs = durationToMs(attrs.backoffStartInterval);
  startNewRun(t, newRunId, attrs, continuationOf(state, {
    initiator: ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_WORKFLOW,
    attempt: 1,
    backoffMs,
    failure: attrs.failure ?? null,
    lastCompletionResult: attrs.lastCompletionResult ?? null,
  }));
  const newState = t.newRun!.state;
  const event: NonNullable<HistoryEvent['workflowExecutionContinuedAsNewEventAttributes']> = {
    newExecutionRunId: newRunId,
    workflowType: { name: newState.workflowType },
    taskQueue: { name: newState.taskQueue, kind: 1 },
    input: attrs.input ?? null,
    workflowRunTimeout: msToOptionalDuration(newState.runTimeoutMs),
    workflowTaskTimeout: msToDuration(newState.workflowTaskTimeoutMs),
    workflowTaskCompletedEventId: completedEventId,
    backoffStartInterval: backoffMs > 0 ? msToDuration(backoffMs) : null,
    initiator: ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_WORKFLOW,
    failure: attrs.failure ?? null,
    lastCompletionResult: attrs.lastCompletionResult ?? null,
    header: attrs.header ? HeaderCodec.decode(HeaderCodec.encode(attrs.header).finish()) : null,
    memo: newState.memo ? MemoCodec.decode(newState.memo) : null,
    searchAttributes: newState.searchAttributes ? SearchAttributesCodec.decode(newState.searchAttributes) : null,
  };
  closeWorkflow(t, Status.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW, 'workflowExecutionContinuedAsNewEventAttributes', event);
}

/** Decides whether a failed or timed-out run is retried under its workflow retry policy. */
function workflowRetry(t: Transition, failure: Failure | null): { retryState: number; delayMs: number } {
  const state = t.state;
  if (!state.retryPolicy) return { retryState: RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET, delayMs: 0 };
  const policy = normalizeRetryPolicy(RetryPolicyCodec.decode(state.retryPolicy));
  return decideRetry(policy, state.attempt ?? 1, failure, t.nowMs, state.executionExpirationMs ?? 0);
}

/** CompleteWorkflowExecution command: a cron workflow continues with its next scheduled run. */
export function completeWorkflow(t: Transition, result: Payloads | null, completedEventId: number): void {
  const newExecutionRunId = cronRun(t, { result, failure: null });
  closeWorkflow(t, Status.WORKFLOW_EXECUTION_STATUS_COMPLETED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, 'workflowExecutionCompletedEventAttributes', {
    result,
    workflowTaskCompletedEventId: completedEventId,
    newExecutionRunId,
  });
}

/** FailWorkflowExecution command: retried as a new run when the retry policy allows, else the cron goes on. */
export function failWorkflow(t: Transition, failure: Failure | null, completedEventId: number): void {
  const decision = workflowRetry(t, failure);
  let newExecutionRunId = '';
  if (decision.retryState === RetryState.RETRY_STATE_IN_PROGRESS) {
    newExecutionRunId = retryRun(t, decision.delayMs, failure);
  } else {
    newExecutionRunId = cronRun(t, { result: null, failure });
  }
  closeWorkflow(t, Status.WORKFLOW_EXECUTION_STATUS_FAILED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, 'workflowExecutionFailedEventAttributes', {
    failure,
    retryState: decision.retryState,
    workflowTaskCompletedEventId: completedEventId,
    newExecutionRunId,
  });
}

/** The run (or execution) timeout fired. A run timeout is retried when the policy allows. */
export function timeOutWorkflow(t: Transition, executionTimeout: boolean): void {
  const failure: Failure = { message: 'workflow timeout', source: 'Server', timeoutFailureInfo: { timeoutType: 1 } };
  // A run timeout that falls when the execution has expired too (a run timeout equal to the execution
  // timeout, say) is not retried and reports TIMEOUT, as Temporal's run-timeout task decides.
  const expiration = t.state.executionExpirationMs ?? 0;
  const expired = executionTimeout || (expiration > 0 && expiration <= t.nowMs);
  const decision = expired ? { retryState: RetryState.RETRY_STATE_TIMEOUT, delayMs: 0 } : workflowRetry(t, failure);
  const retryState = decision.retryState === RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET ? RetryState.RETRY_STATE_TIMEOUT : decision.retryState;
  let newExecutionRunId = '';
  if (retryState === RetryState.RETRY_STATE_IN_PROGRESS) newExecutionRunId = retryRun(t, decision.delayMs, failure);
  else if (!expired) newExecutionRunId = cronRun(t, { result: null, failure });
  closeWorkflow(t, Status.WORKFLOW_EXECUTION_STATUS_TIMED_OUT, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, 'workflowExecutionTimedOutEventAttributes', {
    retryState,
    newExecutionRunId,
  });
}

/** Starts the next run of a cron chain ('' when the run is not a cron workflow). */
function cronRun(t: Transition, last: { result: Payloads | null; failure: Failure | null }): string {
  const state = t.state;
  if (!state.cronSchedule) return '';
  const backoffMs = cronBackoffMs(parseCronSchedule(state.cronSchedule), state.startTimeMs, t.nowMs);
  const runId = randomUUID();
  const same = {
    input: state.startInput ? PayloadsCodec.decode(state.startInput) : null,
    header: state.startHeader ? HeaderCodec.decode(state.startHeader) : null,
  };
  startNewRun(t, runId, same, continuationOf(state, {
    initiator: ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE,
    attempt: 1,
    backoffMs,
    failure: last.failure,
    lastCompletionResult: last.result,
  }));
  return runId;
}

function retryRun(t: Transition, delayMs: number, failure: Failure | null): string {
  const state = t.state;
  const runId = randomUUID();
  const same = {
    input: state.startInput ? PayloadsCodec.decode(state.startInput) : null,
    header: state.startHeader ? HeaderCodec.decode(state.startHeader) : null,
  };
  startNewRun(t, runId, same, continuationOf(state, {
    initiator: ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_RETRY,
    attempt: (state.attempt ?? 1) + 1,
    backoffMs: delayMs,
    failure,
    lastCompletionResult: null,
  }));
  return runId;
}
