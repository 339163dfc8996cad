// Standalone Nexus operation RPCs: StartNexusOperationExecution, DescribeNexusOperationExecution,
// PollNexusOperationExecution, RequestCancel/Terminate/DeleteNexusOperationExecution, List/Count.
// Validation and its messages follow Temporal's (chasm/lib/nexusoperation validator); the work is in
// history/standalone-nexus/.
import { randomUUID } from 'node:crypto';
import type { temporal } from '@temporalio/proto';
import { api, durationToMs } from '@kairos/common';
import { GrpcCode, InvalidArgumentError, NotFoundError, ServiceError } from '../errors.js';
import { LIMITS, exceedsBlobLimit, payloadsSize } from '../limits.js';
import { SearchAttributesCodec, UserMetadataCodec, type Duration } from '../proto-types.js';
import type { HistoryContext } from '../history/service-context.js';
import { nexusOperationKeySpace } from '../history/standalone-activity/key-space.js';
import type { LongPoll } from '../history/standalone-activity/describe.js';
import {
  deleteNexusOperationExecution,
  requestCancelNexusOperationExecution,
  startNexusOperationExecution,
  terminateNexusOperationExecution,
  type StartNexusOperation,
} from '../history/standalone-nexus/ops.js';
import { describeNexusOperationExecution, nexusOperationListInfo, pollNexusOperationExecution } from '../history/standalone-nexus/describe.js';
import { decodePageToken, encodePageToken } from '../visibility/page-token.js';
import { compileQuery } from '../visibility/query/compile.js';
import { statusName } from '../visibility/query/literals.js';
import type { CallContext, ServiceHandlers } from './grpc-server.js';
import { checkStartSearchAttributes } from './validation.js';
import { MAX_LIST_PAGE_SIZE, keywordPayload } from './visibility-handlers.js';

type WS = typeof temporal.api.workflowservice.v1;
type Req<K extends keyof WS> = WS[K] extends { create(properties?: infer P): unknown } ? NonNullable<P> : never;

export interface NexusOperationExecutionOptions {
  /** `nexusoperation.enableStandalone` (Temporal's default: off). */
  readonly enabled: boolean;
  /** `nexusoperation.longPollTimeout`: the longest a Describe or Poll long poll waits (default 60 s). */
  readonly longPollTimeoutMs: number;
}

/** What a list query may call a standalone operation's system attributes (their listing columns). */
const OPERATION_ALIASES: ReadonlyMap<string, string> = new Map([
  ['OperationId', 'WorkflowId'],
  ['Endpoint', 'TaskQueue'],
  ['Operation', 'WorkflowType'],
  ['Service', 'RootWorkflowId'],
]);

const UUID = /^(urn:uuid:)?\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$/i;
/** Temporal's nexusoperation.limit.* defaults. */
const MAX_NAME_LENGTH = 1000;
const MAX_HEADER_SIZE = 8192;
const MAX_REASON_LENGTH = 1000;
/** nexusoperation.disallowedHeaders' default. */
const DISALLOWED_HEADERS = new Set(['request-timeout']);

export function nexusOperationExecutionHandlers(ctx: HistoryContext, options: NexusOperationExecutionOptions): ServiceHandlers {
  const namespace = (name: string | null | undefined) => {
    if (!options.enabled) throw new ServiceError(GrpcCode.UNIMPLEMENTED, 'Standalone Nexus operation is disabled');
    return ctx.namespaces.get(name ?? '');
  };
  const longPoll = (call: CallContext): LongPoll => ({
    waitMs: Math.max(0, Math.min(options.longPollTimeoutMs, (call.deadlineMs ?? Infinity) - ctx.engine.clock.now() - 1000)),
    signal: call.signal,
  });

  return {
    async StartNexusOperationExecution(request) {
      const req = request as Req<'StartNexusOperationExecutionRequest'>;
      const ns = namespace(req.namespace);
      const start = validateStart(req, ctx.searchAttributes.custom(ns.id));
      const endpoint = await ctx.nexus?.endpoints.byName(req.endpoint ?? '');
      if (!endpoint) throw new NotFoundError(`could not find Nexus endpoint by name: ${req.endpoint ?? ''}`);
      const started = await startNexusOperationExecution(ctx, ns, { ...start, endpointId: endpoint.id });
      return { runId: started.runId, started: started.started };
    },

    async DescribeNexusOperationExecution(request, call) {
      const req = request as Req<'DescribeNexusOperationExecutionRequest'>;
      const ns = namespace(req.namespace);
      const operationId = checkOperationId(req.operationId);
      const token = req.longPollToken && req.longPollToken.length > 0 ? req.longPollToken : null;
      if (token && !req.runId) throw new InvalidArgumentError('run_id is required when long_poll_token is provided');
      checkRunId(req.runId);
      const target = { operationId, runId: req.runId ?? '', includeInput: req.includeInput === true, includeOutcome: req.includeOutcome === true, longPollToken: token };
      return describeNexusOperationExecution(ctx, ns, target, longPoll(call));
    },

    async PollNexusOperationExecution(request, call) {
      const req = request as Req<'PollNexusOperationExecutionRequest'>;
      const ns = namespace(req.namespace);
      const WaitStage = api.enums.v1.NexusOperationWaitStage;
      const stage = req.waitStage || WaitStage.NEXUS_OPERATION_WAIT_STAGE_CLOSED;
      if (stage !== WaitStage.NEXUS_OPERATION_WAIT_STAGE_STARTED && stage !== WaitStage.NEXUS_OPERATION_WAIT_STAGE_CLOSED) {
        throw new InvalidArgumentError(`unsupported wait_stage: ${WaitStage[stage] ?? stage}`);
      }
      const operationId = checkOperationId(req.operationId);
      checkRunId(req.runId);
      return pollNexusOperationExecution(ctx, ns, operationId, req.runId ?? '', stage, longPoll(call));
    },

    async RequestCancelNexusOperationExecution(request) {
      const req = request as Req<'RequestCancelNexusOperationExecutionRequest'>;
      const ns = namespace(req.namespace);
      await requestCancelNexusOperationExecution(ctx, ns, controlRequest(req));
      return {};
    },

    async TerminateNexusOperationExecution(request) {
      const req = request as Req<'TerminateNexusOperationExecutionRequest'>;
      const ns = namespace(req.namespace);
      await terminateNexusOperationExecution(ctx, ns, controlRequest(req));
      return {};
    },

    async DeleteNexusOperationExecution(request) {
      const req = request as Req<'DeleteNexusOperationExecutionRequest'>;
      const ns = namespace(req.namespace);
      const operationId = checkOperationId(req.operationId);
      checkRunId(req.runId);
      await deleteNexusOperationExecution(ctx, ns, { operationId, runId: req.runId ?? '' });
      return {};
    },

    async ListNexusOperationExecutions(request) {
      const req = request as Req<'ListNexusOperationExecutionsRequest'>;
      const ns = namespace(req.namespace);
      const { filter } = compileQuery(req.query ?? '', ctx.searchAttributes.custom(ns.id), 'list', OPERATION_ALIASES);
      const requested = req.pageSize ?? 0;
      const pageSize = requested > 0 ? Math.min(requested, MAX_LIST_PAGE_SIZE) : MAX_LIST_PAGE_SIZE;
      const page = await ctx.engine.store.listExecutions({ namespaceId: nexusOperationKeySpace(ns.id), filter, pageSize, after: decodePageToken(req.nextPageToken) });
      return { operations: page.executions.map(nexusOperationListInfo), nextPageToken: page.next === null ? null : encodePageToken(page.next) };
    },

    async CountNexusOperationExecutions(request) {
      const req = request as Req<'CountNexusOperationExecutionsRequest'>;
      const ns = namespace(req.namespace);
      const { filter, groupByStatus } = compileQuery(req.query ?? '', ctx.searchAttributes.custom(ns.id), 'count', OPERATION_ALIASES);
      const counted = await ctx.engine.store.countExecutions({ namespaceId: nexusOperationKeySpace(ns.id), filter, groupByStatus });
      return { count: counted.count, groups: counted.groups.map((group) => ({ groupValues: [keywordPayload(statusName(group.status))], count: group.count })) };
    },
  };
}

function checkIdLength(field: string, value: string): void {
  if (value.length > LIMITS.maxIdLength) throw new InvalidArgumentError(`${field} exceeds length limit. Length=${value.length} Limit=${LIMITS.maxIdLength}`);
}

function checkOperationId(operationId: string | null | undefined): string {
  if (!operationId) throw new InvalidArgumentError('operation_id is required');
  checkIdLength('operation_id', operationId);
  return operationId;
}

function checkRunId(runId: string | null | undefined): void {
  if (runId && !UUID.test(runId)) throw new InvalidArgumentError('run_id is not a valid UUID');
}

function requestIdOf(requestId: string | null | undefined): string {
  if (!requestId) return randomUUID();
  checkIdLength('request_id', requestId);
  return requestId;
}

function controlRequest(req: { operationId?: string | null; runId?: string | null; requestId?: string | null; identity?: string | null; reason?: string | null }) {
  const requestId = requestIdOf(req.requestId);
  const operationId = checkOperationId(req.operationId);
  checkRunId(req.runId);
  const identity = req.identity ?? '';
  checkIdLength('identity', identity);
  const reason = req.reason ?? '';
  if (reason.length > MAX_REASON_LENGTH) throw new InvalidArgumentError(`reason exceeds length limit. Length=${reason.length} Limit=${MAX_REASON_LENGTH}`);
  return { operationId, runId: req.runId ?? '', requestId, identity, reason };
}

function checkedMs(d: Duration | null | undefined, name: string): number {
  const ms = d ? durationToMs(d) : 0;
  if (ms < 0) throw new InvalidArgumentError(`${name} is invalid: negative duration`);
  return ms;
}

/** StartNexusOperationExecution's checks, in Temporal's order; timeouts capped by schedule-to-close. */
function validateStart(req: Req<'StartNexusOperationExecutionRequest'>, custom: Parameters<typeof checkStartSearchAttributes>[1]): Omit<StartNexusOperation, 'endpointId'> {
  const requestId = requestIdOf(req.requestId);
  const operationId = checkOperationId(req.operationId);
  const identity = req.identity ?? '';
  checkIdLength('identity', identity);
  const endpoint = req.endpoint ?? '';
  if (!endpoint) throw new InvalidArgumentError('endpoint is required');
  const service = req.service ?? '';
  if (!service) throw new InvalidArgumentError('service is required');
  if (service.length > MAX_NAME_LENGTH) throw new InvalidArgumentError(`service exceeds length limit. Length=${service.length} Limit=${MAX_NAME_LENGTH}`);
  const operation = req.operation ?? '';
  if (!operation) throw new InvalidArgumentError('operation is required');
  if (operation.length > MAX_NAME_LENGTH) throw new InvalidArgumentError(`operation exceeds length limit. Length=${operation.length} Limit=${MAX_NAME_LENGTH}`);
  const scheduleToCloseMs = checkedMs(req.scheduleToCloseTimeout, 'schedule_to_close_timeout');
  let scheduleToStartMs = checkedMs(req.scheduleToStartTimeout, 'schedule_to_start_timeout');
  let startToCloseMs = checkedMs(req.startToCloseTimeout, 'start_to_close_timeout');
  if (scheduleToCloseMs > 0) {
    scheduleToStartMs = Math.min(scheduleToStartMs, scheduleToCloseMs);
    startToCloseMs = Math.min(startToCloseMs, scheduleToCloseMs);
  }
  const input = req.input ?? null;
  const inputSize = input ? payloadsSize({ payloads: [input] }) : 0;
  if (exceedsBlobLimit(inputSize)) throw new InvalidArgumentError(`input exceeds size limit. Length=${inputSize}`);
  const nexusHeader: Record<string, string> = {};
  let headerSize = 0;
  for (const [key, value] of Object.entries(req.nexusHeader ?? {})) {
    const lowered = key.toLowerCase();
    headerSize += lowered.length + value.length;
    if (DISALLOWED_HEADERS.has(lowered)) throw new InvalidArgumentError(`nexus_header contains a disallowed key: "${key}"`);
    nexusHeader[lowered] = value;
  }
  if (headerSize > MAX_HEADER_SIZE) throw new InvalidArgumentError('nexus_header exceeds size limit');
  const withAttributes = { searchAttributes: req.searchAttributes ?? null };
  checkStartSearchAttributes(withAttributes as never, custom);
  const hasAttributes = Object.keys(withAttributes.searchAttributes?.indexedFields ?? {}).length > 0;
  return {
    operationId,
    requestId,
    endpoint,
    service,
    operation,
    timeouts: { scheduleToCloseMs, scheduleToStartMs, startToCloseMs },
    input,
    nexusHeader,
    identity,
    reusePolicy: req.idReusePolicy || api.enums.v1.NexusOperationIdReusePolicy.NEXUS_OPERATION_ID_REUSE_POLICY_ALLOW_DUPLICATE,
    conflictPolicy: req.idConflictPolicy || api.enums.v1.NexusOperationIdConflictPolicy.NEXUS_OPERATION_ID_CONFLICT_POLICY_FAIL,
    searchAttributes: hasAttributes ? SearchAttributesCodec.encode(withAttributes.searchAttributes as never).finish() : null,
    userMetadata: req.userMetadata ? UserMetadataCodec.encode(req.userMetadata as never).finish() : null,
  };
}
