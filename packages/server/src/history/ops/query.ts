// QueryWorkflow: attached to the next workflow task when one is pending (or none has completed yet),
// otherwise sent as a stand-alone query task; the caller waits until answered or its deadline.
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import { api } from '@kairos/common';
import { DeadlineExceededError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../../errors.js';
import { FailureCodec, QueryRejectCondition, QueryResultType, WorkflowExecutionStatus as Status } from '../../proto-types.js';
import type { NamespaceRecord } from '../../namespace/registry.js';
import { isRunning } from '../machines/workflow.js';
import { requireState, resolveRun, type HistoryContext } from '../service-context.js';
import type { QueryAnswer } from '../queries.js';
import { decodeTaskToken } from '../task-token.js';
import { taskDirective } from '../versioning.js';

type QueryRequest = Loose<temporal.api.workflowservice.v1.IQueryWorkflowRequest>;
type QueryResponse = Loose<temporal.api.workflowservice.v1.IQueryWorkflowResponse>;

export async function queryWorkflow(ctx: HistoryContext, ns: NamespaceRecord, req: QueryRequest, deadlineMs: number | undefined, signal: AbortSignal): Promise<QueryResponse> {
  const exec = req.execution;
  if (!exec?.workflowId) throw new InvalidArgumentError('WorkflowId is not set on request.');
  if (!req.query?.queryType) throw new InvalidArgumentError('QueryType is not set on request.');
  const key = await resolveRun(ctx, ns.id, exec.workflowId, exec.runId);
  const created = await ctx.engine.update<{ rejected: number } | { id: string; answer: Promise<QueryAnswer> }>(key, (loaded) => {
    const state = requireState(loaded, key);
    const rejected = rejection(req.queryRejectCondition ?? 0, state.status);
    if (rejected) return { transition: null, value: { rejected } };
    if (!isRunning(state) && state.lastCompletedWftStartedEventId === 0) {
      throw new FailedPreconditionError('Workflow execution closed before WorkflowTaskStarted event');
    }
    const attach = isRunning(state) && (state.workflowTask !== null || state.lastCompletedWftStartedEventId === 0);
    const { pending, answer } = ctx.queries.create(key, req.query!, attach ? 'wft' : 'task');
    if (!attach) ctx.matching.addQueryTask(state.taskQueue, pending.id, key, deadlineMs ?? Number.MAX_SAFE_INTEGER, taskDirective(state));
    return { transition: null, value: { id: pending.id, answer } };
  });
  if ('rejected' in created) return { queryRejected: { status: created.rejected } };
  const answer = await waitAnswer(created.answer, signal);
  if (!answer) {
    ctx.queries.remove(created.id);
    throw new DeadlineExceededError('query deadline exceeded: no worker answered');
  }
  if (answer.resultType === QueryResultType.QUERY_RESULT_TYPE_ANSWERED) return { queryResult: answer.answer ?? null };
  throw new InvalidArgumentError(answer.errorMessage || answer.failure?.message || 'query failed', {
    typeName: 'temporal.api.errordetails.v1.QueryFailedFailure',
    value: api.errordetails.v1.QueryFailedFailure.encode({ failure: answer.failure ? api.failure.v1.Failure.decode(FailureCodec.encode(answer.failure).finish()) : null }).finish(),
  });
}

function rejection(condition: number, status: number): number | null {
  if (condition === QueryRejectCondition.QUERY_REJECT_CONDITION_NOT_OPEN && status !== Status.WORKFLOW_EXECUTION_STATUS_RUNNING) return status;
  if (
    condition === QueryRejectCondition.QUERY_REJECT_CONDITION_NOT_COMPLETED_CLEANLY &&
    status !== Status.WORKFLOW_EXECUTION_STATUS_RUNNING &&
    status !== Status.WORKFLOW_EXECUTION_STATUS_COMPLETED
  ) {
    return status;
  }
  return null;
}

function waitAnswer(answer: Promise<QueryAnswer>, signal: AbortSignal): Promise<QueryAnswer | null> {
  if (signal.aborted) return Promise.resolve(null);
  return new Promise((resolve) => {
    const onAbort = (): void => resolve(null);
    signal.addEventListener('abort', onAbort, { once: true });
    void answer.then((a) => {
      signal.removeEventListener('abort', onAbort);
      resolve(a);
    });
  });
}

export function respondQueryTaskCompleted(ctx: HistoryContext, req: temporal.api.workflowservice.v1.IRespondQueryTaskCompletedRequest): object {
  const token = decodeTaskToken(req.taskToken);
  if (token.k !== 'qry') throw new InvalidArgumentError('Invalid task token: not a query task.');
  const ok = ctx.queries.answer(token.qid, {
    resultType: req.completedType ?? QueryResultType.QUERY_RESULT_TYPE_UNSPECIFIED,
    answer: req.queryResult ?? null,
    errorMessage: req.errorMessage ?? '',
    failure: req.failure ?? null,
  });
  if (!ok) throw new NotFoundError('query task not found, or already expired');
  return {};
}
