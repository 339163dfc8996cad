// Starting a standalone run (an activity, or a Nexus operation) under Temporal's business-id policies,
// which number their values the same for both kinds: reuse 1 allow duplicate, 2 allow duplicate failed
// only, 3 reject duplicate; conflict 1 fail, 2 use existing. A retried start (same request id) gets
// its run back, even once that run has closed.
import { WorkflowExecutionStatus as Status } from '../../proto-types.js';
import type { MutableState } from '../mutable-state.js';
import type { Transition } from '../transition.js';
import { isRunning } from '../machines/workflow.js';
import type { HistoryContext } from '../service-context.js';

const REUSE_ALLOW_DUPLICATE_FAILED_ONLY = 2;
const REUSE_REJECT_DUPLICATE = 3;
const CONFLICT_USE_EXISTING = 2;

export interface StandaloneStart {
  readonly requestId: string;
  readonly reusePolicy: number;
  readonly conflictPolicy: number;
}

export interface StandaloneStartHooks {
  /** The new run's first transition. */
  newRun(nowMs: number): Transition;
  /** The ALREADY_EXISTS error naming the run that refuses the start. */
  alreadyStarted(previous: MutableState): Error;
  /** USE_EXISTING found the run running: what the start attaches to it, if anything. */
  useExisting?(previous: MutableState): Promise<void>;
}

export async function startStandaloneRun(ctx: HistoryContext, space: string, id: string, start: StandaloneStart, hooks: StandaloneStartHooks): Promise<{ runId: string; started: boolean }> {
  const engine = ctx.engine;
  return engine.withLocks([`${space}\u0000${id}`], async () => {
    const current = await engine.store.getCurrentRun(space, id);
    const previous = current ? (await engine.load({ namespaceId: space, workflowId: id, runId: current.runId }))?.state : undefined;
    if (previous) {
      if (previous.requestIds.includes(start.requestId)) return { runId: previous.runId, started: false };
      if (isRunning(previous)) {
        if (start.conflictPolicy !== CONFLICT_USE_EXISTING) throw hooks.alreadyStarted(previous);
        await hooks.useExisting?.(previous);
        return { runId: previous.runId, started: false };
      }
      if (start.reusePolicy === REUSE_REJECT_DUPLICATE) throw hooks.alreadyStarted(previous);
      if (start.reusePolicy === REUSE_ALLOW_DUPLICATE_FAILED_ONLY && previous.status === Status.WORKFLOW_EXECUTION_STATUS_COMPLETED) throw hooks.alreadyStarted(previous);
    }
    const t = hooks.newRun(engine.clock.now());
    await engine.commitTransitions([{ t, expectedVersion: 0, setCurrent: { expectedCurrentRunId: current?.runId ?? null } }]);
    return { runId: t.state.runId, started: true };
  });
}
