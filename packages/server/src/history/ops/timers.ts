// Handles a fired durable timer: applies it (api/fire-timer.ts) and deletes its row in the same
// transition. A timer of a closed or vanished run only deletes its row.
import type { TimerTaskRow } from '../../persistence/store.js';
import { decodeTimerTask, isTransferTask } from '../../timers/timer-task.js';
import { handleTransferTask } from './external.js';
import { invokeNexus } from './nexus-invocation.js';
import { deliverCallbacks } from './callbacks.js';
import { deleteRun } from './delete.js';
import { Transition } from '../transition.js';
import { isRunning } from '../machines/workflow.js';
import { applyTimerTask } from '../api/fire-timer.js';
import type { HistoryContext } from '../service-context.js';
import { settleQueries } from './workflow-task.js';
import type { MutableState } from '../mutable-state.js';

export async function handleTimer(ctx: HistoryContext, row: TimerTaskRow): Promise<void> {
  const task = decodeTimerTask(row.data);
  if (isTransferTask(task)) {
    await handleTransferTask(ctx, row, task);
    return;
  }
  if (task.kind === 'nexusInvoke' || task.kind === 'nexusCancel') {
    await invokeNexus(ctx, row, task);
    return;
  }
  if (task.kind === 'deliverCallbacks') {
    await deliverCallbacks(ctx, row);
    return;
  }
  if (task.kind === 'deleteExecution') {
    // Deleting the run deletes this row with it; a run that is running again keeps only losing the row.
    if (!(await deleteRun(ctx, row.key, true))) await ctx.engine.deleteTimerRows(row.key, [row.taskId]);
    return;
  }
  const outcome = await ctx.engine.update<{ found: boolean; timedOutStartedId: number; state: MutableState | null }>(row.key, (state, nowMs) => {
    if (!state) return { transition: null, value: { found: false, timedOutStartedId: 0, state: null } };
    const t = new Transition(state, nowMs);
    t.deleteTimer(row.taskId);
    const timedOutStartedId = isRunning(state) ? applyTimerTask(t, task, row.taskId) : 0;
    return { transition: t, value: { found: true, timedOutStartedId, state: t.state } };
  });
  if (!outcome.found) await ctx.engine.deleteTimerRows(row.key, [row.taskId]);
  // Queries carried by a workflow task that timed out go to the next task (or become query tasks).
  if (outcome.timedOutStartedId > 0 && outcome.state) settleQueries(ctx, row.key, outcome.timedOutStartedId, [], outcome.state);
}
