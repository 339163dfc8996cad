// What the two kinds of standalone run (an activity, a Nexus operation) do alike. Starting one under
// Temporal's business-id policies, which number their values the same for both kinds: reuse 1 allow
// duplicate, 2 allow duplicate failed only, 3 reject duplicate; conflict 1 fail, 2 use existing. A
// retried start (same request id) gets its run back, even once that run has closed. Terminating one
// under a request id, and deleting one.
import { WorkflowExecutionStatus as Status } from '../../proto-types.js';
import { FailedPreconditionError } from '../../errors.js';
import type { ExecutionKey } from '../../persistence/store.js';
import { statusName } from '../../visibility/query/literals.js';
import type { MutableState } from '../mutable-state.js';
import { Transition } from '../transition.js';
import { deleteRun } from '../ops/delete.js';
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

/** How a kind's run is found in a loaded state (NOT_FOUND otherwise), and how it is closed as terminated. */
export interface StandaloneKind<S extends MutableState> {
  require(state: MutableState | null, key: ExecutionKey): S;
  /** The accepted terminate request's id ('' while none), kept in the kind's record. */
  terminateRequestId(state: S): string;
  /** Closes the run as terminated, recording `requestId` as the accepted request. */
  terminate(t: Transition, state: S, requestId: string, reason: string, identity: string): void;
}

/** Terminate: a repeat of the accepted request changes nothing; another request, or a closed run, is refused. */
export async function terminateStandaloneRun<S extends MutableState>(ctx: HistoryContext, key: ExecutionKey, kind: StandaloneKind<S>, req: { requestId: string; reason: string; identity: string }): Promise<void> {
  await ctx.engine.update(key, (loaded, nowMs) => {
    const state = kind.require(loaded, key);
    if (state.status === Status.WORKFLOW_EXECUTION_STATUS_TERMINATED) {
      const accepted = kind.terminateRequestId(state);
      if (accepted === req.requestId) return { transition: null, value: undefined };
      throw new FailedPreconditionError(`already terminated with request ID ${accepted}`);
    }
    if (!isRunning(state)) throw new FailedPreconditionError(`invalid transition from ${statusName(state.status)}`);
    const t = new Transition(state, nowMs);
    kind.terminate(t, state, req.requestId, req.reason, req.identity);
    return { transition: t, value: undefined };
  });
}

/** Delete: a running run is terminated first (with `reason`); then the run and its listing go. */
export async function deleteStandaloneRun<S extends MutableState>(ctx: HistoryContext, key: ExecutionKey, kind: StandaloneKind<S>, reason: string): Promise<void> {
  await ctx.engine.update(key, (loaded, nowMs) => {
    const state = kind.require(loaded, key);
    if (!isRunning(state)) return { transition: null, value: undefined };
    const t = new Transition(state, nowMs);
    kind.terminate(t, state, '', reason, '');
    return { transition: t, value: undefined };
  });
  await deleteRun(ctx, key, false);
}
