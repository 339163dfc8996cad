// Deleting runs: DeleteWorkflowExecution (a running run is terminated first) and the namespace
// retention timer that deletes a closed run. Deletion removes the run's events, state, timers and
// visibility in one transaction, under the run's lock.
import type { temporal } from '@temporalio/proto';
import { InvalidArgumentError } from '../../errors.js';
import type { NamespaceRecord } from '../../namespace/registry.js';
import type { ExecutionKey } from '../../persistence/store.js';
import { keyString } from '../engine.js';
import { isRunning } from '../machines/workflow.js';
import { requireState, resolveRun, type HistoryContext } from '../service-context.js';
import { terminate } from './signal-cancel-terminate.js';

export async function deleteWorkflowExecution(ctx: HistoryContext, ns: NamespaceRecord, req: temporal.api.workflowservice.v1.IDeleteWorkflowExecutionRequest): Promise<void> {
  const exec = req.workflowExecution;
  if (!exec?.workflowId) throw new InvalidArgumentError('WorkflowId is not set on request.');
  const key = await resolveRun(ctx, ns.id, exec.workflowId, exec.runId);
  const state = requireState(await ctx.engine.read(key), key);
  if (isRunning(state)) {
    await terminate(ctx, ns, { namespace: ns.name, workflowExecution: { workflowId: key.workflowId, runId: key.runId }, reason: 'Delete workflow execution', identity: '' });
  }
  await deleteRun(ctx, key, false);
}

/** Deletes the run; with `onlyIfClosed`, a run that is (again) running is kept. */
export async function deleteRun(ctx: HistoryContext, key: ExecutionKey, onlyIfClosed: boolean): Promise<boolean> {
  return ctx.engine.withLocks([keyString(key)], async () => {
    const state = await ctx.engine.read(key);
    if (onlyIfClosed && state && isRunning(state)) return false;
    await ctx.engine.deleteExecution(key);
    return true;
  });
}
