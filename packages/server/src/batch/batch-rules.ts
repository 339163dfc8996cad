// What a batch operation is, in Temporal's terms (docs/batch.md): the operations a
// StartBatchOperationRequest may carry, how each is named in the job's memo and in DescribeBatchOperation,
// the request's validation, the job's progress record, and the query a job runs.
import { createHash } from 'node:crypto';
import { api, type Loose } from '@kairos/common';
import type { temporal } from '@temporalio/proto';
import { GrpcCode, InvalidArgumentError, ServiceError } from '../errors.js';
import { parseQuery } from '../visibility/query/parser.js';
import type { Payload } from '../proto-types.js';

export type StartBatchRequest = Loose<temporal.api.workflowservice.v1.IStartBatchOperationRequest>;
type Execution = Loose<temporal.api.common.v1.IExecution>;

/** The batch job is a workflow of this type (Temporal's BatchWFTypeProtobufName) in the job's namespace. */
export const BATCH_WORKFLOW_TYPE = 'temporal-sys-batch-workflow-protobuf';
/** Temporal's per-namespace system task queue, served by the server's own batch worker. */
export const BATCH_TASK_QUEUE = 'temporal-sys-per-ns-tq';
/** The one activity a job runs (Temporal's activity type name). */
export const BATCH_ACTIVITY_TYPE = 'BatchActivityWithProtobuf';
/** TemporalNamespaceDivision of batch jobs: ordinary listings leave them out. */
export const BATCHER_DIVISION = 'TemporalBatcher';
export const BATCH_JOBS_QUERY = `TemporalNamespaceDivision = '${BATCHER_DIVISION}'`;
export const OPEN_BATCH_JOBS_QUERY = `${BATCH_JOBS_QUERY} AND ExecutionStatus = 'Running'`;
/** The input payload's message type (Temporal's internal BatchOperationInput). */
export const BATCH_INPUT_TYPE = 'temporal.server.api.batch.v1.BatchOperationInput';

export const MEMO_TYPE = 'batch_operation_type';
export const MEMO_REASON = 'batch_operation_reason';
export const MEMO_QUERY = 'batch_operation_visibility_query';
export const MEMO_EXECUTIONS = 'batch_operation_executions';
export const MEMO_STATS = 'batch_operation_stats';

/** Targets per page of a job, and the counts a page adds to the job's progress at once. */
export const BATCH_PAGE_SIZE = 1000;

const BatchOperationType = api.enums.v1.BatchOperationType;
const ExecutionType = api.enums.v1.ExecutionType;

export type OperationKind =
  | 'terminate'
  | 'cancel'
  | 'signal'
  | 'delete'
  | 'reset'
  | 'update_options'
  | 'unpause_activities'
  | 'reset_activities'
  | 'update_activity_options'
  | 'terminate_activities'
  | 'cancel_activities'
  | 'delete_activities';

interface OperationDef {
  /** The request's oneof field. */
  readonly field: keyof StartBatchRequest & string;
  readonly kind: OperationKind;
  /** What DescribeBatchOperation and ListBatchOperations report. */
  readonly describedAs: number;
  /** BatchOperationInput.batch_type (the older enum values). */
  readonly legacyType: number;
  /** The Go oneof wrapper type Temporal names in one of its messages. */
  readonly goType: string;
}

const def = (field: OperationDef['field'], kind: OperationKind, describedAs: number, legacyType: number, goName: string): OperationDef => ({
  field,
  kind,
  describedAs,
  legacyType,
  goType: `*workflowservice.StartBatchOperationRequest_${goName}`,
});

export const OPERATIONS: readonly OperationDef[] = [
  def('terminationOperation', 'terminate', BatchOperationType.BATCH_OPERATION_TYPE_TERMINATE_WORKFLOW, 1, 'TerminationOperation'),
  def('cancellationOperation', 'cancel', BatchOperationType.BATCH_OPERATION_TYPE_CANCEL_WORKFLOW, 2, 'CancellationOperation'),
  def('signalOperation', 'signal', BatchOperationType.BATCH_OPERATION_TYPE_SIGNAL_WORKFLOW, 3, 'SignalOperation'),
  def('deletionOperation', 'delete', BatchOperationType.BATCH_OPERATION_TYPE_DELETE_WORKFLOW, 4, 'DeletionOperation'),
  def('resetOperation', 'reset', BatchOperationType.BATCH_OPERATION_TYPE_RESET_WORKFLOW, 5, 'ResetOperation'),
  def('updateWorkflowOptionsOperation', 'update_options', BatchOperationType.BATCH_OPERATION_TYPE_UPDATE_WORKFLOW_EXECUTION_OPTIONS, 6, 'UpdateWorkflowOptionsOperation'),
  def('unpauseActivitiesOperation', 'unpause_activities', BatchOperationType.BATCH_OPERATION_TYPE_UNPAUSE_ACTIVITY, 7, 'UnpauseActivitiesOperation'),
  def('updateActivityOptionsOperation', 'update_activity_options', BatchOperationType.BATCH_OPERATION_TYPE_UPDATE_ACTIVITY_OPTIONS, 8, 'UpdateActivityOptionsOperation'),
  def('resetActivitiesOperation', 'reset_activities', BatchOperationType.BATCH_OPERATION_TYPE_RESET_ACTIVITY, 9, 'ResetActivitiesOperation'),
  def('terminateActivitiesOperation', 'terminate_activities', BatchOperationType.BATCH_OPERATION_TYPE_TERMINATE_ACTIVITY, 10, 'TerminateActivitiesOperation'),
  def('cancelActivitiesOperation', 'cancel_activities', BatchOperationType.BATCH_OPERATION_TYPE_CANCEL_ACTIVITY, 11, 'CancelActivitiesOperation'),
  def('deleteActivitiesOperation', 'delete_activities', BatchOperationType.BATCH_OPERATION_TYPE_DELETE_ACTIVITY, 12, 'DeleteActivitiesOperation'),
];

/** Operations on standalone activities (their targets are activity executions, not workflows). */
export const ACTIVITY_EXECUTION_KINDS: ReadonlySet<OperationKind> = new Set(['terminate_activities', 'cancel_activities', 'delete_activities']);

/** Operations whose query is narrowed to running (or paused) executions; the others also reach closed ones. */
const OPEN_ONLY_KINDS: ReadonlySet<OperationKind> = new Set([
  'terminate',
  'cancel',
  'signal',
  'update_options',
  'unpause_activities',
  'update_activity_options',
  'reset_activities',
  'terminate_activities',
  'cancel_activities',
]);

/** Memo names Temporal also accepts when it reads a job's type back. */
const KIND_ALIASES: Readonly<Record<string, OperationKind>> = {
  terminate_workflows: 'terminate',
  cancel_workflows: 'cancel',
  signal_workflows: 'signal',
  delete_workflows: 'delete',
  reset_workflows: 'reset',
  update_workflow_options: 'update_options',
};

/** The request's operation, or null when its oneof is unset. */
export function operationOf(request: StartBatchRequest): OperationDef | null {
  for (const op of OPERATIONS) if (request[op.field]) return op;
  return null;
}

/** DescribeBatchOperation's operation_type for a memo's type name (UNSPECIFIED when unknown). */
export function describedType(memoType: string | null): number {
  if (memoType === null) return BatchOperationType.BATCH_OPERATION_TYPE_UNSPECIFIED;
  const kind = KIND_ALIASES[memoType] ?? memoType;
  return OPERATIONS.find((op) => op.kind === kind)?.describedAs ?? BatchOperationType.BATCH_OPERATION_TYPE_UNSPECIFIED;
}

export function kindOf(memoType: string): OperationDef | null {
  const kind = KIND_ALIASES[memoType] ?? memoType;
  return OPERATIONS.find((op) => op.kind === kind) ?? null;
}

/** BatchOperationState of a job from its workflow's status: running, completed, and every other close is FAILED. */
export function batchState(status: number): number {
  const State = api.enums.v1.BatchOperationState;
  const Status = api.enums.v1.WorkflowExecutionStatus;
  if (status === Status.WORKFLOW_EXECUTION_STATUS_RUNNING) return State.BATCH_OPERATION_STATE_RUNNING;
  if (status === Status.WORKFLOW_EXECUTION_STATUS_COMPLETED) return State.BATCH_OPERATION_STATE_COMPLETED;
  return State.BATCH_OPERATION_STATE_FAILED;
}

const EXECUTION_TYPE_NAMES: Readonly<Record<number, string>> = { 0: 'Unspecified', 1: 'Workflow', 2: 'Activity' };

/**
 * StartBatchOperation's argument checks, in Temporal's order (after the enable switches): INVALID_ARGUMENT
 * with Temporal's messages. Returns the operation.
 */
export function validateStart(request: StartBatchRequest): OperationDef {
  const op = operationOf(request);
  const query = request.visibilityQuery ?? '';
  const selectors = [query !== '', (request.executions?.length ?? 0) > 0, (request.targetExecutions?.length ?? 0) > 0].filter(Boolean).length;
  if (!op || !request.reason || !request.namespace || selectors === 0) {
    throw new InvalidArgumentError('must provide required parameters: BatchType,Reason,Namespace, AND one of (Query OR Executions OR TargetExecutions)');
  }
  if (!request.jobId) throw new InvalidArgumentError('JobId is not set on request.');
  if (selectors > 1) throw new InvalidArgumentError('visibility query, executions, and target executions are mutually exclusive');
  const wanted = ACTIVITY_EXECUTION_KINDS.has(op.kind) ? ExecutionType.EXECUTION_TYPE_ACTIVITY : ExecutionType.EXECUTION_TYPE_WORKFLOW;
  (request.targetExecutions ?? []).forEach((target, i) => {
    const type = Number(target.type ?? 0);
    if (type !== wanted) {
      throw new InvalidArgumentError(`target_executions[${i}] has type ${EXECUTION_TYPE_NAMES[type] ?? type}, but operation ${op.goType} requires ${EXECUTION_TYPE_NAMES[wanted]}`);
    }
  });
  checkOperation(op.kind, request);
  if (query !== '') {
    try {
      parseQuery(query);
    } catch (err) {
      throw new InvalidArgumentError(`invalid visibility query: ${err instanceof Error ? err.message.replace(/^invalid query: /, '') : String(err)}`);
    }
  }
  return op;
}

const BOTH_ACTIVITY_FILTERS = 'Either activity type must be set, or match all should be set to true';

function checkOperation(kind: OperationKind, request: StartBatchRequest): void {
  switch (kind) {
    case 'signal':
      if (!request.signalOperation?.signal) throw new InvalidArgumentError('must provide signal name');
      return;
    case 'update_options': {
      const o = request.updateWorkflowOptionsOperation!;
      if (!o.workflowExecutionOptions) throw new InvalidArgumentError('must provide UpdateOptions');
      if (!o.updateMask) throw new InvalidArgumentError('must provide UpdateMask');
      return;
    }
    case 'reset': {
      const o = request.resetOperation!;
      if (o.options) {
        const t = o.options;
        if (!t.firstWorkflowTask && !t.lastWorkflowTask && !t.workflowTaskId && !t.buildId) throw new InvalidArgumentError('batch reset missing target');
      } else {
        const type = Number(o.resetType ?? 0);
        const ResetType = api.enums.v1.ResetType;
        if (type !== ResetType.RESET_TYPE_FIRST_WORKFLOW_TASK && type !== ResetType.RESET_TYPE_LAST_WORKFLOW_TASK) {
          throw new InvalidArgumentError(`unknown batch reset type ${type === 0 ? 'Unspecified' : type}`);
        }
      }
      return;
    }
    case 'unpause_activities': {
      const o = request.unpauseActivitiesOperation!;
      if (!o.type && !o.matchAll) throw new InvalidArgumentError(o.type === undefined && o.matchAll === undefined ? 'activity filter must be set' : BOTH_ACTIVITY_FILTERS);
      return;
    }
    case 'reset_activities': {
      const o = request.resetActivitiesOperation!;
      if (!o.type && !o.matchAll) throw new InvalidArgumentError(o.type === undefined && o.matchAll === undefined ? 'must provide ActivityType or MatchAll' : BOTH_ACTIVITY_FILTERS);
      return;
    }
    case 'update_activity_options': {
      const o = request.updateActivityOptionsOperation!;
      if (o.activityOptions && o.restoreOriginal) throw new InvalidArgumentError('cannot set both activity options and restore original');
      if (!o.activityOptions && !o.restoreOriginal) throw new InvalidArgumentError('Either activity type must be set, or restore original should be set to true');
      if (!o.type && !o.matchAll) throw new InvalidArgumentError(BOTH_ACTIVITY_FILTERS);
      return;
    }
    default:
      return;
  }
}

/** The refusal of an activity-execution operation while those are off (Temporal's message names the Go type). */
export function unsupportedOperation(op: OperationDef): InvalidArgumentError {
  return new InvalidArgumentError(`The operation type ${op.goType} is not supported for this namespace`);
}

export function batcherDisabled(): ServiceError {
  return new ServiceError(GrpcCode.PERMISSION_DENIED, 'Batch operation feature are disabled on this namespace.');
}

/** The query a job runs for `kind`: most operations only reach running (or paused) executions. */
export function targetQuery(kind: OperationKind, query: string): string {
  return OPEN_ONLY_KINDS.has(kind) ? `(${query}) AND (ExecutionStatus='Running' OR ExecutionStatus='Paused')` : query;
}

/** The explicit targets of a request: `target_executions`, or the deprecated `executions` made into Executions. */
export function explicitTargets(request: StartBatchRequest, kind: OperationKind): Execution[] {
  if ((request.targetExecutions?.length ?? 0) > 0) return request.targetExecutions!.map((t) => ({ type: Number(t.type ?? 0), businessId: t.businessId ?? '', runId: t.runId ?? '' }));
  const type = ACTIVITY_EXECUTION_KINDS.has(kind) ? ExecutionType.EXECUTION_TYPE_ACTIVITY : ExecutionType.EXECUTION_TYPE_WORKFLOW;
  return (request.executions ?? []).map((e) => ({ type, businessId: e.workflowId ?? '', runId: e.runId ?? '' }));
}

// ---- progress ------------------------------------------------------------------------------------

/** A job's progress, as its activity heartbeats it and as its result (Temporal's HeartBeatDetails, Go field names). */
export interface Progress {
  PageToken: string | null;
  CurrentPage: number;
  TotalEstimate: number;
  SuccessCount: number;
  ErrorCount: number;
}

export function freshProgress(): Progress {
  return { PageToken: null, CurrentPage: 0, TotalEstimate: 0, SuccessCount: 0, ErrorCount: 0 };
}

export function jsonPayload(value: unknown): Payload {
  return { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(value)) };
}

/** A json/plain payload's value, or undefined when it is not one. */
export function jsonValue(payload: Payload | null | undefined): unknown {
  if (!payload?.data) return undefined;
  const encoding = payload.metadata?.['encoding'];
  if (encoding && Buffer.from(encoding).toString() !== 'json/plain') return undefined;
  try {
    return JSON.parse(Buffer.from(payload.data).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** Progress from heartbeat details or a result; null when the payload is not one. */
export function progressOf(payload: Payload | null | undefined): Progress | null {
  const v = jsonValue(payload);
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const n = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : 0);
  return {
    PageToken: typeof o['PageToken'] === 'string' ? o['PageToken'] : null,
    CurrentPage: n(o['CurrentPage']),
    TotalEstimate: n(o['TotalEstimate']),
    SuccessCount: n(o['SuccessCount']),
    ErrorCount: n(o['ErrorCount']),
  };
}

/**
 * Temporal's deterministic request id of a job's call: a name-based UUID (version 5, SHA-1, the nil UUID
 * as namespace) of `jobId:part:part...`, so that every retry of one call carries the same id.
 */
export function deterministicRequestId(jobId: string, ...parts: string[]): string {
  const hash = createHash('sha1').update(Buffer.alloc(16)).update([jobId, ...parts].join(':')).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
