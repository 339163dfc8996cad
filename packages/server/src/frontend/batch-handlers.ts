// WorkflowService RPCs for batch operations (docs/batch.md): a job is started as a workflow of the batch
// type in the job's namespace, with the job id as its workflow id, and described, stopped and listed
// through that workflow, as Temporal's frontend does.
import { randomUUID } from 'node:crypto';
import { api, type Loose } from '@kairos/common';
import type { temporal } from '@temporalio/proto';
import { InvalidArgumentError, ResourceExhaustedError } from '../errors.js';
import type { NamespaceRegistry } from '../namespace/registry.js';
import type { WorkflowCaller } from '../schedules/scheduler.js';
import type { Payload } from '../proto-types.js';
import { resourceExhaustedDetail } from '../history/ops/update.js';
import {
  ACTIVITY_EXECUTION_KINDS,
  BATCH_JOBS_QUERY,
  BATCH_TASK_QUEUE,
  BATCH_WORKFLOW_TYPE,
  BATCHER_DIVISION,
  batcherDisabled,
  batchState,
  describedType,
  explicitTargets,
  jsonPayload,
  jsonValue,
  MEMO_EXECUTIONS,
  MEMO_QUERY,
  MEMO_REASON,
  MEMO_STATS,
  MEMO_TYPE,
  OPEN_BATCH_JOBS_QUERY,
  operationOf,
  progressOf,
  unsupportedOperation,
  validateStart,
  type StartBatchRequest,
} from '../batch/batch-rules.js';
import { encodeBatchInput } from '../batch/batch-input.js';
import type { ServiceHandlers } from './grpc-server.js';
import { requireString } from './validation.js';
import { keywordPayload } from './visibility-handlers.js';

type WorkflowInfo = Loose<temporal.api.workflow.v1.IWorkflowExecutionInfo>;

export interface BatchOptions {
  /** frontend.enableBatcher (Temporal's default: on). */
  readonly enabled: boolean;
  /** frontend.MaxConcurrentBatchOperationPerNamespace (Temporal's default: 1). */
  readonly maxConcurrentPerNamespace: number;
  /** frontend.enableBatchOperationsForStandaloneActivities (Temporal's default: off), and standalone activities on. */
  readonly activityExecutionOperations: boolean;
  /** frontend.visibilityMaxPageSize. */
  readonly maxPageSize: number;
}

/** `call`: the (routed) WorkflowService; `jobStarted`: tells the batch worker to serve the namespace. */
export function batchHandlers(call: WorkflowCaller, namespaces: NamespaceRegistry, options: BatchOptions, jobStarted: (namespace: string) => void): ServiceHandlers {
  const ns = (name: string | null | undefined) => namespaces.get(requireString(name, 'Namespace'));
  const requireJobId = (jobId: string | null | undefined) => {
    if (!jobId) throw new InvalidArgumentError('JobId is not set on request.');
    return jobId;
  };

  return {
    async StartBatchOperation(request) {
      const req = request as StartBatchRequest;
      const namespace = ns(req.namespace);
      if (!options.enabled) throw batcherDisabled();
      const requested = operationOf(req);
      if (requested && ACTIVITY_EXECUTION_KINDS.has(requested.kind) && !options.activityExecutionOperations) throw unsupportedOperation(requested);
      const op = validateStart(req);
      const open = (await call('CountWorkflowExecutions', { namespace: namespace.name, query: OPEN_BATCH_JOBS_QUERY })) as { count?: number | Long | null };
      if (Number(open.count ?? 0) >= options.maxConcurrentPerNamespace) {
        throw new ResourceExhaustedError('Max concurrent batch operations is reached', resourceExhaustedDetail(api.enums.v1.ResourceExhaustedCause.RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT));
      }
      const identity = operationIdentity(req, op.field);
      const memo: Record<string, Payload> = { [MEMO_TYPE]: jsonPayload(op.kind), [MEMO_REASON]: jsonPayload(req.reason) };
      if (req.visibilityQuery) memo[MEMO_QUERY] = jsonPayload(req.visibilityQuery);
      const targets = explicitTargets(req, op.kind);
      if (targets.length > 0) memo[MEMO_EXECUTIONS] = jsonPayload(targets.map((t) => ({ type: t.type, business_id: t.businessId, run_id: t.runId })));
      await call('StartWorkflowExecution', {
        namespace: namespace.name,
        workflowId: req.jobId,
        workflowType: { name: BATCH_WORKFLOW_TYPE },
        taskQueue: { name: BATCH_TASK_QUEUE, kind: api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        input: { payloads: [encodeBatchInput(namespace.id, op.kind, req)] },
        identity,
        requestId: randomUUID(),
        workflowIdReusePolicy: api.enums.v1.WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
        workflowIdConflictPolicy: api.enums.v1.WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
        memo: { fields: memo },
        searchAttributes: { indexedFields: { TemporalNamespaceDivision: keywordPayload(BATCHER_DIVISION), BatcherUser: keywordPayload(identity) } },
      });
      jobStarted(namespace.name);
      return {};
    },

    async StopBatchOperation(request) {
      const req = request as temporal.api.workflowservice.v1.IStopBatchOperationRequest;
      const jobId = requireJobId(req.jobId);
      const namespace = ns(req.namespace);
      if (!req.reason) throw new InvalidArgumentError('Reason is not set on request.');
      if (!options.enabled) throw batcherDisabled();
      await call('TerminateWorkflowExecution', { namespace: namespace.name, workflowExecution: { workflowId: jobId }, reason: req.reason, identity: req.identity ?? '' });
      return {};
    },

    async DescribeBatchOperation(request) {
      const req = request as temporal.api.workflowservice.v1.IDescribeBatchOperationRequest;
      const jobId = requireJobId(req.jobId);
      const namespace = ns(req.namespace);
      if (!options.enabled) throw batcherDisabled();
      const described = (await call('DescribeWorkflowExecution', { namespace: namespace.name, execution: { workflowId: jobId } })) as {
        workflowExecutionInfo?: WorkflowInfo | null;
        pendingActivities?: Array<{ heartbeatDetails?: { payloads?: Payload[] | null } | null }> | null;
      };
      const info = described.workflowExecutionInfo ?? {};
      const status = Number(info.status ?? 0);
      const memo = info.memo?.fields ?? {};
      const state = batchState(status);
      let counts = { total: 0, complete: 0, failure: 0 };
      if (status === api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED) {
        const stats = jsonValue(memo[MEMO_STATS]) as { NumSuccess?: number; NumFailure?: number } | undefined;
        // Temporal answers with a plain (UNKNOWN) error here too.
        if (!stats) throw new Error('batch operation stats are not present in the memo');
        const success = Number(stats.NumSuccess ?? 0);
        const failure = Number(stats.NumFailure ?? 0);
        counts = { total: success + failure, complete: success, failure };
      } else {
        const progress = progressOf(described.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0]);
        if (progress) counts = { total: progress.TotalEstimate, complete: progress.SuccessCount, failure: progress.ErrorCount };
      }
      const executions = jsonValue(memo[MEMO_EXECUTIONS]);
      return {
        operationType: describedType(memoString(memo[MEMO_TYPE])),
        jobId: info.execution?.workflowId ?? jobId,
        state,
        startTime: info.startTime ?? null,
        closeTime: info.closeTime ?? null,
        totalOperationCount: counts.total,
        completeOperationCount: counts.complete,
        failureOperationCount: counts.failure,
        identity: keywordValue(info.searchAttributes?.indexedFields?.['BatcherUser']),
        reason: memoString(memo[MEMO_REASON]) ?? '',
        query: memoString(memo[MEMO_QUERY]) ?? '',
        executions: Array.isArray(executions)
          ? executions.map((e: { type?: number; business_id?: string; run_id?: string }) => ({ type: Number(e.type ?? 0), businessId: e.business_id ?? '', runId: e.run_id ?? '' }))
          : [],
      };
    },

    async ListBatchOperations(request) {
      const req = request as temporal.api.workflowservice.v1.IListBatchOperationsRequest;
      const namespace = ns(req.namespace);
      if (!options.enabled) throw batcherDisabled();
      const size = Number(req.pageSize ?? 0);
      const pageSize = size <= 0 || size > options.maxPageSize ? options.maxPageSize : size;
      const page = (await call('ListWorkflowExecutions', { namespace: namespace.name, pageSize, nextPageToken: req.nextPageToken ?? null, query: BATCH_JOBS_QUERY })) as {
        executions?: WorkflowInfo[] | null;
        nextPageToken?: Uint8Array | null;
      };
      return {
        operationInfo: (page.executions ?? []).map((info) => ({
          jobId: info.execution?.workflowId ?? '',
          state: batchState(Number(info.status ?? 0)),
          startTime: info.startTime ?? null,
          closeTime: info.closeTime ?? null,
          operationType: describedType(memoString(info.memo?.fields?.[MEMO_TYPE])),
        })),
        nextPageToken: page.nextPageToken ?? null,
      };
    },
  };
}

/** The identity an operation carries (delete-activities has none). */
function operationIdentity(req: StartBatchRequest, field: keyof StartBatchRequest): string {
  const op = req[field] as { identity?: string | null } | null | undefined;
  return op?.identity ?? '';
}

function keywordValue(payload: Payload | null | undefined): string {
  const v = jsonValue(payload);
  return typeof v === 'string' ? v : '';
}

function memoString(payload: Payload | null | undefined): string | null {
  const v = jsonValue(payload);
  return typeof v === 'string' ? v : null;
}
