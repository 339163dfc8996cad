// Finding a standalone activity's run from what a request names: its activity id and, optionally, a run id.
import { NotFoundError } from '../../errors.js';
import type { ExecutionKey } from '../../persistence/store.js';
import type { HistoryContext } from '../service-context.js';
import type { MutableState } from '../mutable-state.js';
import { activityKeySpace } from './key-space.js';

/** Temporal's NOT_FOUND text for an activity id or run it does not know (or no longer has). */
export function standaloneNotFoundMessage(activityId: string): string {
  return `activity not found for ID: ${activityId}`;
}

/** The run a request names: `runId`, or the activity id's latest run when empty. NOT_FOUND when there is none. */
export async function resolveStandaloneRun(ctx: HistoryContext, namespaceId: string, activityId: string, runId: string | null | undefined): Promise<ExecutionKey> {
  const space = activityKeySpace(namespaceId);
  if (runId) return { namespaceId: space, workflowId: activityId, runId };
  const current = await ctx.engine.store.getCurrentRun(space, activityId);
  if (!current) throw new NotFoundError(standaloneNotFoundMessage(activityId));
  return { namespaceId: space, workflowId: activityId, runId: current.runId };
}

/** The run's state, or NOT_FOUND (also for a run id of another kind of execution). */
export function requireStandalone(state: MutableState | null, key: ExecutionKey): MutableState & { standalone: NonNullable<MutableState['standalone']> } {
  if (!state?.standalone) throw new NotFoundError(standaloneNotFoundMessage(key.workflowId));
  return state as MutableState & { standalone: NonNullable<MutableState['standalone']> };
}
