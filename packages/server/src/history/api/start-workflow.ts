// Creates a new run: WorkflowExecutionStarted, an optional WorkflowExecutionSignaled (signal-with-start),
// and the first workflow task — or, with a start delay, a backoff timer that schedules it later.
import { durationToMs, msToDuration, msToOptionalDuration, msToTimestamp } from '@kairos/common';
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import { EventType, HeaderCodec, MemoCodec, PayloadsCodec, RetryPolicyCodec, SearchAttributesCodec, type Failure, type Payloads, type Header } from '../../proto-types.js';
import { priorityFields } from '../priority.js';
import { Transition } from '../transition.js';
import { newRunState, type CallbackInfo, type MutableState, type ParentInfo } from '../mutable-state.js';
import { decodeCallback, newCallbackInfos } from '../machines/callbacks.js';
import { scheduleWorkflowTask, startFirstWorkflowTaskEagerly } from '../machines/workflow-task.js';
import { cronBackoffMs, parseCronSchedule } from '../cron.js';
import { overrideMessage, refreshSearchAttributes, startVersioning, type InheritedVersioning } from '../versioning.js';

type StartRequest = Loose<temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest>;

export const DEFAULT_WORKFLOW_TASK_TIMEOUT_MS = 10_000;
export const MAX_WORKFLOW_TASK_TIMEOUT_MS = 120_000;

export interface Continuation {
  readonly previousRunId: string;
  readonly firstExecutionRunId: string;
  /** ContinueAsNewInitiator. */
  readonly initiator: number;
  readonly attempt: number;
  readonly backoffMs: number;
  readonly executionExpirationMs: number;
  readonly continuedFailure: Failure | null;
  readonly lastCompletionResult: Payloads | null;
}

export interface NewRunParams {
  readonly namespaceId: string;
  readonly namespaceName: string;
  readonly runId: string;
  readonly request: StartRequest;
  readonly nowMs: number;
  /** Set when this run is a child workflow (and on every later run of its chain). */
  readonly parent?: ParentInfo | null;
  /** Set when this run continues an earlier one (continue-as-new, retry). */
  readonly continuation?: Continuation;
  readonly signal?: { readonly name: string; readonly input: Payloads | null | undefined; readonly header: Header | null | undefined; readonly identity: string; readonly requestId: string; readonly links?: StartRequest['links'] };
  /**
   * Eager workflow start: start the first workflow task in this transition for the caller, unless the
   * first task waits for a backoff (start delay, cron), as Temporal denies it then.
   */
  readonly eagerStart?: { readonly identity: string; readonly requestId: string };
  /** Set when the run continues a versioned one, or is the child of one (history/versioning.ts). */
  readonly versioning?: InheritedVersioning | null;
  /** The completion callbacks an earlier run of the chain hands on (unset: the request's own). */
  readonly callbacks?: CallbackInfo[];
}

/** Normalized timeouts: run timeout = min(run, execution) when both are set; task timeout default 10 s, capped. */
export function normalizeWorkflowTimeouts(request: Pick<StartRequest, 'workflowExecutionTimeout' | 'workflowRunTimeout' | 'workflowTaskTimeout'>): {
  executionTimeoutMs: number;
  runTimeoutMs: number;
  workflowTaskTimeoutMs: number;
} {
  const executionTimeoutMs = durationToMs(request.workflowExecutionTimeout);
  let runTimeoutMs = durationToMs(request.workflowRunTimeout);
  if (executionTimeoutMs > 0 && (runTimeoutMs === 0 || runTimeoutMs > executionTimeoutMs)) runTimeoutMs = executionTimeoutMs;
  let workflowTaskTimeoutMs = durationToMs(request.workflowTaskTimeout) || DEFAULT_WORKFLOW_TASK_TIMEOUT_MS;
  workflowTaskTimeoutMs = Math.min(workflowTaskTimeoutMs, MAX_WORKFLOW_TASK_TIMEOUT_MS);
  if (runTimeoutMs > 0) workflowTaskTimeoutMs = Math.min(workflowTaskTimeoutMs, runTimeoutMs);
  return { executionTimeoutMs, runTimeoutMs, workflowTaskTimeoutMs };
}

export function createWorkflowRun(p: NewRunParams): Transition {
  const req = p.request;
  const { executionTimeoutMs, runTimeoutMs, workflowTaskTimeoutMs } = normalizeWorkflowTimeouts(req);
  const c = p.continuation;
  // A cron workflow's first run waits for the first fire time.
  const cronFirstBackoff = !c && req.cronSchedule ? cronBackoffMs(parseCronSchedule(req.cronSchedule), p.nowMs, p.nowMs) : 0;
  const backoffMs = c ? c.backoffMs : Math.max(durationToMs(req.workflowStartDelay), cronFirstBackoff);
  const firstExecutionRunId = c?.firstExecutionRunId ?? p.runId;
  const versioning = p.versioning?.info ?? startVersioning(req.versioningOverride);
  const state: MutableState = newRunState({
    namespaceId: p.namespaceId,
    workflowId: req.workflowId ?? '',
    runId: p.runId,
    firstExecutionRunId,
    workflowType: req.workflowType?.name ?? '',
    taskQueue: req.taskQueue?.name ?? '',
    startTimeMs: p.nowMs,
    executionTimeMs: p.nowMs + backoffMs,
    workflowTaskTimeoutMs,
    runTimeoutMs,
    executionTimeoutMs,
    startRequestId: req.requestId ?? '',
    requestIds: req.requestId ? [req.requestId] : [],
    signalRequestIds: [],
    signalCount: p.signal ? 1 : 0,
    memo: req.memo ? MemoCodec.encode(req.memo).finish() : null,
    searchAttributes: req.searchAttributes ? SearchAttributesCodec.encode(req.searchAttributes).finish() : null,
    attempt: c?.attempt ?? 1,
    retryPolicy: req.retryPolicy ? RetryPolicyCodec.encode(req.retryPolicy).finish() : null,
    executionExpirationMs: 0,
    ...priorityFields(req.priority),
    cronSchedule: req.cronSchedule ?? '',
    parent: p.parent ?? null,
    startInput: req.input ? PayloadsCodec.encode(req.input).finish() : null,
    startHeader: req.header ? HeaderCodec.encode(req.header).finish() : null,
    ...(versioning ? { versioning } : {}),
  });
  if (versioning) refreshSearchAttributes(state);
  const callbacks = p.callbacks ?? newCallbackInfos(req.completionCallbacks ?? [], p.nowMs, req.requestId ?? '');
  if (callbacks.length > 0) state.callbacks = callbacks;
  const t = new Transition(state, p.nowMs);
  if (p.signal?.requestId) t.signalRequestIds.push(p.signal.requestId);
  const expirationMs = c ? c.executionExpirationMs : executionTimeoutMs > 0 ? p.nowMs + backoffMs + executionTimeoutMs : 0;
  state.executionExpirationMs = expirationMs;
  t.nextEventUserMetadata = req.userMetadata ?? null;
  t.addEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, 'workflowExecutionStartedEventAttributes', {
    workflowType: { name: state.workflowType },
    taskQueue: { name: state.taskQueue, kind: 1 },
    input: req.input ?? null,
    workflowExecutionTimeout: msToOptionalDuration(executionTimeoutMs),
    workflowRunTimeout: msToOptionalDuration(runTimeoutMs),
    workflowTaskTimeout: msToDuration(workflowTaskTimeoutMs),
    originalExecutionRunId: p.runId,
    firstExecutionRunId,
    continuedExecutionRunId: c?.previousRunId ?? '',
    initiator: c?.initiator ?? 0,
    // A first run may be handed a predecessor's outcome too (a schedule passes its previous action's).
    continuedFailure: c ? c.continuedFailure : (req.continuedFailure ?? null),
    lastCompletionResult: c ? c.lastCompletionResult : (req.lastCompletionResult ?? null),
    identity: req.identity ?? '',
    retryPolicy: req.retryPolicy ?? null,
    attempt: c?.attempt ?? 1,
    workflowExecutionExpirationTime: expirationMs > 0 ? msToTimestamp(expirationMs) : null,
    cronSchedule: req.cronSchedule ?? '',
    firstWorkflowTaskBackoff: backoffMs > 0 ? msToDuration(backoffMs) : null,
    memo: req.memo ?? null,
    searchAttributes: req.searchAttributes ?? null,
    header: req.header ? HeaderCodec.decode(HeaderCodec.encode(req.header).finish()) : null,
    workflowId: state.workflowId,
    priority: req.priority ?? null,
    ...(p.versioning ? p.versioning.event : versioning ? { versioningOverride: overrideMessage(versioning, false) } : {}),
    ...(p.parent
      ? {
          parentWorkflowNamespace: p.parent.namespace,
          parentWorkflowNamespaceId: p.parent.namespaceId,
          parentWorkflowExecution: { workflowId: p.parent.workflowId, runId: p.parent.runId },
          parentInitiatedEventId: p.parent.initiatedEventId,
          // Only a child names its root (Temporal leaves it unset on a run without a parent).
          rootWorkflowExecution: {
            workflowId: p.parent.rootWorkflowId ?? p.parent.workflowId,
            runId: p.parent.rootRunId ?? p.parent.runId,
          },
        }
      : {}),
    ...(callbacks.length > 0 ? { completionCallbacks: callbacks.map(decodeCallback) } : {}),
  }, p.nowMs, !c && req.links?.length ? { links: req.links } : undefined);
  if (p.signal) {
    t.addEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, 'workflowExecutionSignaledEventAttributes', {
      signalName: p.signal.name,
      input: p.signal.input ?? null,
      identity: p.signal.identity,
      header: p.signal.header ?? null,
    }, p.nowMs, p.signal.links?.length ? { links: p.signal.links } : undefined);
  }
  if (backoffMs > 0) {
    state.workflowTimerTaskIds.push(t.addTimer(p.nowMs + backoffMs, { kind: 'workflowBackoff' }));
  } else if (p.eagerStart) {
    startFirstWorkflowTaskEagerly(t, p.eagerStart.identity, p.eagerStart.requestId);
  } else {
    scheduleWorkflowTask(t, 1);
  }
  if (runTimeoutMs > 0) state.workflowTimerTaskIds.push(t.addTimer(p.nowMs + backoffMs + runTimeoutMs, { kind: 'workflowRunTimeout' }));
  if (expirationMs > 0 && expirationMs !== p.nowMs + backoffMs + runTimeoutMs) {
    state.workflowTimerTaskIds.push(t.addTimer(expirationMs, { kind: 'workflowExecutionTimeout' }));
  }
  return t;
}
