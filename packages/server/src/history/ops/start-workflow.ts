// StartWorkflowExecution / SignalWithStart: request-id de-duplication, the id-reuse policy (closed
// previous run) and the id-conflict policy (running previous run), then a new run in one transaction
// (with the terminated previous run, for TERMINATE_EXISTING).
import { randomUUID } from 'node:crypto';
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import { api } from '@kairos/common';
import { AlreadyExistsError, FailedPreconditionError } from '../../errors.js';
import { WorkflowExecutionStatus as Status, WorkflowIdConflictPolicy as Conflict, WorkflowIdReusePolicy as Reuse } from '../../proto-types.js';
import type { NamespaceRecord } from '../../namespace/registry.js';
import { cloneMutableState, type MutableState, type ParentInfo } from '../mutable-state.js';
import { keyString } from '../engine.js';
import { Transition } from '../transition.js';
import { createWorkflowRun, type NewRunParams } from '../api/start-workflow.js';
import { isRunning, terminateWorkflow } from '../machines/workflow.js';
import { hasStartedWorkflowTask } from '../machines/workflow-task.js';
import type { HistoryContext } from '../service-context.js';
import { attachOnConflict, attachesOnConflict } from './attach-on-conflict.js';
import { parseOverride, type InheritedVersioning } from '../versioning.js';
import { versionKey } from '../../deployments/registry.js';

type StartRequest = Loose<temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest>;

export interface StartOutcome {
  readonly runId: string;
  readonly started: boolean;
  /** Set when the workflow was running and the caller should act on the existing run (signal-with-start). */
  readonly existing?: MutableState;
  /** Eager workflow start: the run, with its first workflow task started for the caller. */
  readonly eagerTask?: MutableState;
}

export interface StartHooks {
  /** Called with the new run's transition before it commits (update-with-start admits its update). */
  onNewRun?(t: Transition): void;
  /** What a child takes over from its parent's versioning (history/versioning.ts, childVersioning). */
  readonly versioning?: InheritedVersioning | null;
}

export async function startWorkflow(
  ctx: HistoryContext,
  ns: NamespaceRecord,
  request: StartRequest,
  signal?: NewRunParams['signal'],
  parent?: ParentInfo,
  hooks: StartHooks = {},
): Promise<StartOutcome> {
  const workflowId = request.workflowId ?? '';
  const engine = ctx.engine;
  // Only StartWorkflowExecution carries the flag (update-with-start refuses it before coming here).
  const eager = !signal && !parent && request.requestEagerExecution === true;
  return engine.withLocks([`${ns.id}\u0000${workflowId}`], async () => {
    const current = await engine.store.getCurrentRun(ns.id, workflowId);
    let toTerminate: { state: MutableState; version: number } | null = null;
    if (current) {
      const key = { namespaceId: ns.id, workflowId, runId: current.runId };
      const loaded = await engine.load(key);
      if (loaded) {
        const cur = loaded.state;
        if (request.requestId && cur.requestIds.includes(request.requestId)) {
          return { runId: cur.runId, started: true, ...(eager && firstTaskStillEager(cur) ? { eagerTask: cur } : {}) };
        }
        if (isRunning(cur)) {
          // Signal-with-start signals the running run unless told to fail or to replace it.
          const policy = conflictPolicy(request, signal ? Conflict.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING : Conflict.WORKFLOW_ID_CONFLICT_POLICY_FAIL);
          if (signal && policy === Conflict.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING) return { runId: cur.runId, started: false, existing: cur };
          if (policy === Conflict.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING) {
            if (!signal && attachesOnConflict(request)) await attachOnConflict(ctx, key, request);
            return { runId: cur.runId, started: false };
          }
          if (policy !== Conflict.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING) {
            throw alreadyStarted(`Workflow execution is already running. WorkflowId: ${workflowId}, RunId: ${cur.runId}.`, cur);
          }
          toTerminate = loaded;
        } else {
          checkReusePolicy(request, cur);
        }
      }
    }
    const nowMs = engine.clock.now();
    const eagerStart = eager ? { identity: request.identity ?? '', requestId: request.requestId ?? '' } : undefined;
    const t = createWorkflowRun({ namespaceId: ns.id, namespaceName: ns.name, runId: randomUUID(), request, nowMs, ...(signal ? { signal } : {}), ...(parent ? { parent } : {}), ...(eagerStart ? { eagerStart } : {}), versioning: hooks.versioning ?? null });
    hooks.onNewRun?.(t);
    const setCurrent = { expectedCurrentRunId: current?.runId ?? null };
    const outcome: StartOutcome = { runId: t.state.runId, started: true, ...(hasStartedWorkflowTask(t.state) ? { eagerTask: t.state } : {}) };
    if (!toTerminate) {
      await engine.commitTransitions([{ t, expectedVersion: 0, setCurrent }]);
      return outcome;
    }
    const old = toTerminate;
    await engine.withLocks([keyString(old.state)], async () => {
      const tt = new Transition(cloneMutableState(old.state), nowMs);
      terminateWorkflow(tt, 'terminated by new start', null, request.identity ?? '');
      await engine.commitTransitions([
        { t: tt, expectedVersion: old.version, setCurrent: undefined },
        { t, expectedVersion: 0, setCurrent },
      ]);
    });
    return outcome;
  });
}

/**
 * A retried eager start gets the first task again while it is still the one started for the first
 * request: attempt 1, started as event 3 (a task retried after a timeout went through matching).
 */
function firstTaskStillEager(state: MutableState): boolean {
  const wft = state.workflowTask;
  return isRunning(state) && wft !== null && wft.startedEventId === 3 && wft.attempt === 1;
}

/** The conflict policy a request asks for: unset, the deprecated TERMINATE_IF_RUNNING reuse policy reads as TERMINATE_EXISTING. */
function conflictPolicy(request: StartRequest, unset: number): number {
  if (request.workflowIdConflictPolicy) return request.workflowIdConflictPolicy;
  if (request.workflowIdReusePolicy === Reuse.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING) return Conflict.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING;
  return unset;
}

function checkReusePolicy(request: StartRequest, previous: MutableState): void {
  const policy = request.workflowIdReusePolicy || Reuse.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE;
  const id = `WorkflowId: ${previous.workflowId}, RunId: ${previous.runId}.`;
  if (policy === Reuse.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE) {
    throw alreadyStarted(`Workflow execution already finished. ${id} Workflow Id reuse policy: reject duplicate workflow Id.`, previous);
  }
  if (policy === Reuse.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY) {
    const failedish = [Status.WORKFLOW_EXECUTION_STATUS_FAILED, Status.WORKFLOW_EXECUTION_STATUS_TERMINATED, Status.WORKFLOW_EXECUTION_STATUS_CANCELED, Status.WORKFLOW_EXECUTION_STATUS_TIMED_OUT] as number[];
    if (!failedish.includes(previous.status)) {
      throw alreadyStarted(`Workflow execution already finished successfully. ${id} Workflow Id reuse policy: allow duplicate workflow Id if last run failed.`, previous);
    }
  }
}

function alreadyStarted(message: string, state: MutableState): AlreadyExistsError {
  return new AlreadyExistsError(message, {
    typeName: 'temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure',
    value: api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure.encode({ startRequestId: state.startRequestId, runId: state.runId }).finish(),
  });
}

/** A start's versioning override: valid, and pinned only to a version that serves the workflow's task queue (as Temporal checks). */
export function checkStartOverride(ctx: HistoryContext, namespaceId: string, req: { versioningOverride?: temporal.api.workflow.v1.IVersioningOverride | null; taskQueue?: { name?: string | null } | null }): void {
  const override = parseOverride(req.versioningOverride);
  if (override?.overrideKind !== 1 || !ctx.deployments) return;
  const taskQueue = req.taskQueue?.name ?? '';
  if (!ctx.deployments.hasTaskQueue(namespaceId, versionKey(override.overrideDeploymentName, override.overrideBuildId), taskQueue, 'workflow')) {
    throw new FailedPreconditionError(`Pinned version '${override.overrideDeploymentName}:${override.overrideBuildId}' is not present in task queue '${taskQueue}' of type 'Workflow'`);
  }
}
