// Standalone activity RPCs: StartActivityExecution, DescribeActivityExecution, PollActivityExecution,
// RequestCancel/Terminate/DeleteActivityExecution, List/CountActivityExecutions. Validation and its
// messages follow Temporal's frontend; the work is in history/standalone-activity/.
import { randomUUID } from 'node:crypto';
import type { temporal } from '@temporalio/proto';
import { durationToMs, msToDuration, msToTimestamp, type Loose } from '@kairos/common';
import { api } from '@kairos/common';
import { GrpcCode, InvalidArgumentError, ServiceError } from '../errors.js';
import { LIMITS, exceedsBlobLimit, payloadsSize } from '../limits.js';
import { SearchAttributesCodec, UserMetadataCodec, type Duration } from '../proto-types.js';
import type { HistoryContext } from '../history/service-context.js';
import { normalizeRetryPolicy, retryPolicyToProto, validateRetryPolicy } from '../history/retry.js';
import { checkCompletionCallbacks, type CompletionCallback } from '../history/machines/callbacks.js';
import { activityKeySpace } from '../history/standalone-activity/key-space.js';
import { deleteActivityExecution, requestCancelActivityExecution, startActivityExecution, terminateActivityExecution, type StartActivity } from '../history/standalone-activity/ops.js';
import { activityStatus, describeActivityExecution, pollActivityExecution, type LongPoll } from '../history/standalone-activity/describe.js';
import type { ExecutionListing } from '../persistence/store.js';
import { decodePageToken, encodePageToken } from '../visibility/page-token.js';
import { compileQuery } from '../visibility/query/compile.js';
import { statusName } from '../visibility/query/literals.js';
import type { CallContext, ServiceHandlers } from './grpc-server.js';
import { checkStartSearchAttributes, requireString } from './validation.js';
import { MAX_LIST_PAGE_SIZE, keywordPayload } from './visibility-handlers.js';

type WS = typeof temporal.api.workflowservice.v1;
type Req<K extends keyof WS> = WS[K] extends { create(properties?: infer P): unknown } ? NonNullable<P> : never;

export interface ActivityExecutionOptions {
  /** `activity.enableStandalone` (Temporal's default: on). */
  readonly enabled: boolean;
  /** `activity.startDelayEnabled` (default on). */
  readonly startDelayEnabled: boolean;
  /** `activity.longPollTimeout`: the longest a Describe or Poll long poll waits (default 60 s). */
  readonly longPollTimeoutMs: number;
  /** `activity.enableCallbacks`: a start may attach completion callbacks (Temporal's default: off). */
  readonly callbacksEnabled: boolean;
}

/** What a list query may call a standalone activity's system attributes. */
const ACTIVITY_ALIASES: ReadonlyMap<string, string> = new Map([
  ['ActivityId', 'WorkflowId'],
  ['ActivityType', 'WorkflowType'],
]);

const UUID = /^(urn:uuid:)?\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$/i;

export function activityExecutionHandlers(ctx: HistoryContext, options: ActivityExecutionOptions): ServiceHandlers {
  const namespace = (name: string | null | undefined) => {
    if (!options.enabled) throw new ServiceError(GrpcCode.UNIMPLEMENTED, 'Standalone activity is disabled');
    return ctx.namespaces.get(requireString(name, 'Namespace'));
  };
  const longPoll = (call: CallContext): LongPoll => ({
    waitMs: Math.max(0, Math.min(options.longPollTimeoutMs, (call.deadlineMs ?? Infinity) - ctx.engine.clock.now() - 1000)),
    signal: call.signal,
  });

  return {
    async StartActivityExecution(request) {
      const req = request as Req<'StartActivityExecutionRequest'>;
      const ns = namespace(req.namespace);
      const start = validateStart(req, options, ctx.searchAttributes.custom(ns.id));
      const started = await startActivityExecution(ctx, ns, start);
      return { runId: started.runId, started: started.started, link: { activity: { namespace: ns.name, activityId: start.activityId, runId: started.runId } } };
    },

    async DescribeActivityExecution(request, call) {
      const req = request as Req<'DescribeActivityExecutionRequest'>;
      const activityId = checkTarget(req.activityId, req.runId);
      const token = req.longPollToken && req.longPollToken.length > 0 ? req.longPollToken : null;
      if (token && !req.runId) throw new InvalidArgumentError('run id is required when long poll token is provided');
      const ns = namespace(req.namespace);
      const target = {
        activityId,
        runId: req.runId ?? '',
        includeInput: req.includeInput === true,
        includeOutcome: req.includeOutcome === true,
        includeHeartbeatDetails: req.includeHeartbeatDetails === true,
        includeLastFailure: req.includeLastFailure === true,
        longPollToken: token,
      };
      return describeActivityExecution(ctx, ns, target, longPoll(call));
    },

    async PollActivityExecution(request, call) {
      const req = request as Req<'PollActivityExecutionRequest'>;
      const activityId = checkTarget(req.activityId, req.runId);
      return pollActivityExecution(ctx, namespace(req.namespace), activityId, req.runId ?? '', longPoll(call));
    },

    async RequestCancelActivityExecution(request) {
      const req = request as Req<'RequestCancelActivityExecutionRequest'>;
      const ns = namespace(req.namespace);
      await requestCancelActivityExecution(ctx, ns, controlRequest(req));
      return {};
    },

    async TerminateActivityExecution(request) {
      const req = request as Req<'TerminateActivityExecutionRequest'>;
      const ns = namespace(req.namespace);
      await terminateActivityExecution(ctx, ns, controlRequest(req));
      return {};
    },

    async DeleteActivityExecution(request) {
      const req = request as Req<'DeleteActivityExecutionRequest'>;
      const activityId = checkTarget(req.activityId, req.runId);
      await deleteActivityExecution(ctx, namespace(req.namespace), { activityId, runId: req.runId ?? '' });
      return {};
    },

    async ListActivityExecutions(request) {
      const req = request as Req<'ListActivityExecutionsRequest'>;
      const ns = namespace(req.namespace);
      const { filter } = compileQuery(req.query ?? '', ctx.searchAttributes.custom(ns.id), 'list', ACTIVITY_ALIASES);
      const requested = req.pageSize ?? 0;
      const pageSize = requested > 0 ? Math.min(requested, MAX_LIST_PAGE_SIZE) : MAX_LIST_PAGE_SIZE;
      const page = await ctx.engine.store.listExecutions({ namespaceId: activityKeySpace(ns.id), filter, pageSize, after: decodePageToken(req.nextPageToken) });
      return { executions: page.executions.map(listInfo), nextPageToken: page.next === null ? null : encodePageToken(page.next) };
    },

    async CountActivityExecutions(request) {
      const req = request as Req<'CountActivityExecutionsRequest'>;
      const ns = namespace(req.namespace);
      const { filter, groupByStatus } = compileQuery(req.query ?? '', ctx.searchAttributes.custom(ns.id), 'count', ACTIVITY_ALIASES);
      const counted = await ctx.engine.store.countExecutions({ namespaceId: activityKeySpace(ns.id), filter, groupByStatus });
      return { count: counted.count, groups: counted.groups.map((group) => ({ groupValues: [keywordPayload(statusName(group.status))], count: group.count })) };
    },
  };
}

function listInfo(run: ExecutionListing): Loose<temporal.api.activity.v1.IActivityExecutionListInfo> {
  const s = run.summary;
  return {
    activityId: run.key.workflowId,
    runId: run.key.runId,
    activityType: { name: s.workflowType },
    scheduleTime: msToTimestamp(s.startTimeMs),
    closeTime: s.closeTimeMs === null ? null : msToTimestamp(s.closeTimeMs),
    status: activityStatus(s.status),
    searchAttributes: s.searchAttributes ? SearchAttributesCodec.decode(s.searchAttributes) : null,
    taskQueue: s.taskQueue,
    stateTransitionCount: s.stateTransitionCount,
    stateSizeBytes: s.historySizeBytes,
    executionDuration: s.closeTimeMs === null ? null : msToDuration(s.closeTimeMs - s.startTimeMs),
    executionTime: msToTimestamp(s.executionTimeMs),
  };
}

/** The activity id (and run id, when given) a Describe, Poll or Delete names, as Temporal checks them. */
function checkTarget(activityId: string | null | undefined, runId: string | null | undefined): string {
  if (!activityId) throw new InvalidArgumentError('activity ID is required');
  if (activityId.length > LIMITS.maxIdLength) throw new InvalidArgumentError(`activity ID exceeds length limit. Length=${activityId.length} Limit=${LIMITS.maxIdLength}`);
  if (runId && !UUID.test(runId)) throw new InvalidArgumentError('invalid run id: must be a valid UUID');
  return activityId;
}

function controlRequest(req: { activityId?: string | null; runId?: string | null; requestId?: string | null; identity?: string | null; reason?: string | null }) {
  const activityId = checkTarget(req.activityId, req.runId);
  const requestId = req.requestId || randomUUID();
  if (requestId.length > LIMITS.maxIdLength) throw new InvalidArgumentError(`request ID exceeds length limit. Length=${requestId.length} Limit=${LIMITS.maxIdLength}`);
  const identity = req.identity ?? '';
  if (identity.length > LIMITS.maxIdLength) throw new InvalidArgumentError(`identity exceeds length limit. Length=${identity.length} Limit=${LIMITS.maxIdLength}`);
  return { activityId, runId: req.runId ?? '', requestId, identity, reason: req.reason ?? '' };
}

const ActivityIdReusePolicy = api.enums.v1.ActivityIdReusePolicy;
const ActivityIdConflictPolicy = api.enums.v1.ActivityIdConflictPolicy;
const SYSTEM_QUEUE_PREFIX = '/_sys/';

/** StartActivityExecution's checks, in Temporal's order, and its normalized timeouts and retry policy. */
function validateStart(req: Req<'StartActivityExecutionRequest'>, options: ActivityExecutionOptions, custom: Parameters<typeof checkStartSearchAttributes>[1]): StartActivity {
  const startDelayMs = checkedMs(req.startDelay, 'StartDelay');
  if (startDelayMs > 0 && !options.startDelayEnabled) throw new InvalidArgumentError('start_delay is not enabled for this namespace');
  if (!req.taskQueue) throw new InvalidArgumentError('taskQueue is not set');
  const queue = req.taskQueue.name ?? '';
  if (!queue) throw new InvalidArgumentError('missing task queue name');
  if (queue.length > LIMITS.maxIdLength) throw new InvalidArgumentError('taskQueue length exceeds limit');
  if (queue.startsWith(SYSTEM_QUEUE_PREFIX)) throw new InvalidArgumentError(`task queue name cannot start with reserved prefix ${SYSTEM_QUEUE_PREFIX}`);
  const activityId = req.activityId ?? '';
  if (!activityId) throw new InvalidArgumentError('activityId is not set');
  const activityType = req.activityType?.name ?? '';
  if (!activityType) throw new InvalidArgumentError('activityType is not set');
  const retryPolicy = retryPolicyToProto(normalizeRetryPolicy(req.retryPolicy));
  const policyProblem = validateRetryPolicy(retryPolicy, 'RetryPolicy');
  if (policyProblem) throw new InvalidArgumentError(policyProblem);
  if (activityId.length > LIMITS.maxIdLength) throw new InvalidArgumentError(`activityId exceeds length limit. Length=${activityId.length} Limit=${LIMITS.maxIdLength}`);
  if (activityType.length > LIMITS.maxIdLength) throw new InvalidArgumentError(`activityType exceeds length limit. Length=${activityType.length} Limit=${LIMITS.maxIdLength}`);
  if ((req.priority?.priorityKey ?? 0) < 0) throw new InvalidArgumentError("invalid priorities: priority key can't be negative");
  const timeouts = normalizedTimeouts(req, activityId, activityType);
  const requestId = req.requestId || randomUUID();
  if (requestId.length > LIMITS.maxIdLength) throw new InvalidArgumentError(`request ID exceeds length limit. Length=${requestId.length} Limit=${LIMITS.maxIdLength}`);
  if ((req.identity ?? '').length > LIMITS.maxIdLength) throw new InvalidArgumentError(`identity exceeds length limit. Length=${(req.identity ?? '').length} Limit=${LIMITS.maxIdLength}`);
  if (exceedsBlobLimit(payloadsSize(req.input))) throw new InvalidArgumentError('input exceeds length limit');
  let callbacks: CompletionCallback[] = [];
  if ((req.completionCallbacks?.length ?? 0) > 0) {
    if (!options.callbacksEnabled) throw new InvalidArgumentError('completion callbacks are not enabled for this namespace');
    callbacks = checkCompletionCallbacks(req.completionCallbacks as CompletionCallback[], req.links as never).callbacks;
  }
  const withAttributes = { searchAttributes: req.searchAttributes ?? null };
  checkStartSearchAttributes(withAttributes as never, custom);
  const hasAttributes = Object.keys(withAttributes.searchAttributes?.indexedFields ?? {}).length > 0;
  return {
    activityId,
    requestId,
    attrs: {
      activityId,
      activityType: { name: activityType },
      taskQueue: { name: queue, kind: req.taskQueue.kind || api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      header: req.header ?? null,
      input: req.input ?? null,
      scheduleToCloseTimeout: msToDuration(timeouts.scheduleToCloseMs),
      scheduleToStartTimeout: msToDuration(timeouts.scheduleToStartMs),
      startToCloseTimeout: msToDuration(timeouts.startToCloseMs),
      heartbeatTimeout: msToDuration(timeouts.heartbeatMs),
      retryPolicy,
      priority: req.priority ?? null,
    },
    timeouts,
    startDelayMs,
    reusePolicy: req.idReusePolicy || ActivityIdReusePolicy.ACTIVITY_ID_REUSE_POLICY_ALLOW_DUPLICATE,
    conflictPolicy: req.idConflictPolicy || ActivityIdConflictPolicy.ACTIVITY_ID_CONFLICT_POLICY_FAIL,
    searchAttributes: hasAttributes ? SearchAttributesCodec.encode(withAttributes.searchAttributes as never).finish() : null,
    userMetadata: req.userMetadata ? UserMetadataCodec.encode(req.userMetadata as never).finish() : null,
    callbacks,
    attachCallbacksOnConflict: req.onConflictOptions?.attachCompletionCallbacks === true,
  };
}

function checkedMs(d: Duration | null | undefined, name: string): number {
  const ms = d ? durationToMs(d) : 0;
  if (ms < 0) throw new InvalidArgumentError(`invalid ${name}: negative duration`);
  return ms;
}

/**
 * Temporal's rules for a standalone activity (no workflow run timeout to inherit): schedule-to-close
 * bounds the other two and is their default; without it, start-to-close is required; heartbeat is
 * capped at start-to-close.
 */
function normalizedTimeouts(req: Req<'StartActivityExecutionRequest'>, activityId: string, activityType: string): StartActivity['timeouts'] {
  const scheduleToCloseMs = checkedMs(req.scheduleToCloseTimeout, 'ScheduleToCloseTimeout');
  let scheduleToStartMs = checkedMs(req.scheduleToStartTimeout, 'ScheduleToStartTimeout');
  let startToCloseMs = checkedMs(req.startToCloseTimeout, 'StartToCloseTimeout');
  let heartbeatMs = checkedMs(req.heartbeatTimeout, 'HeartbeatTimeout');
  if (scheduleToCloseMs > 0) {
    scheduleToStartMs = scheduleToStartMs > 0 ? Math.min(scheduleToStartMs, scheduleToCloseMs) : scheduleToCloseMs;
    startToCloseMs = startToCloseMs > 0 ? Math.min(startToCloseMs, scheduleToCloseMs) : scheduleToCloseMs;
  } else if (startToCloseMs <= 0) {
    throw new InvalidArgumentError(`a valid StartToCloseTimeout or ScheduleToCloseTimeout must be set on the activity. ActivityId=${activityId} ActivityType=${activityType}`);
  }
  if (heartbeatMs > startToCloseMs) heartbeatMs = startToCloseMs;
  return { scheduleToCloseMs, scheduleToStartMs, startToCloseMs, heartbeatMs };
}
