// UpdateWorkflowExecutionOptions: sets or unsets a running workflow's versioning override (and its
// priority), writing WorkflowExecutionOptionsUpdated. When the override changes where the run's tasks
// go, its stickiness is dropped and a waiting workflow task is dispatched again, to the new route.
import type { temporal } from '@temporalio/proto';
import { EventType, HistoryEventCodec } from '../../proto-types.js';
import { FailedPreconditionError, InvalidArgumentError } from '../../errors.js';
import type { NamespaceRecord } from '../../namespace/registry.js';
import { Transition } from '../transition.js';
import { requireRunning, resolveRun, type HistoryContext } from '../service-context.js';
import { moveStickyTaskToNormalQueue } from '../machines/sticky.js';
import { hasStartedWorkflowTask } from '../machines/workflow-task.js';
import { effectiveVersioning, emptyVersioning, overrideMessage, parseOverride, refreshSearchAttributes } from '../versioning.js';
import { versionKey } from '../../deployments/registry.js';
import { hasPriority, setPriority, workflowPriority } from '../priority.js';

/** Temporal marks WorkflowExecutionOptionsUpdated worker-may-ignore: an SDK that knows no such event skips it. */
const MAY_IGNORE = { workerMayIgnore: true };

type Request = temporal.api.workflowservice.v1.IUpdateWorkflowExecutionOptionsRequest;
type Options = temporal.api.workflow.v1.IWorkflowExecutionOptions;

const VERSIONING_OVERRIDE = 'versioning_override';
const PRIORITY = 'priority';

export async function updateExecutionOptions(ctx: HistoryContext, ns: NamespaceRecord, req: Request): Promise<{ workflowExecutionOptions: Options }> {
  const workflowId = req.workflowExecution?.workflowId;
  if (!workflowId) throw new InvalidArgumentError('WorkflowId is not set on request.');
  const paths = (req.updateMask?.paths ?? []).map(snakeCase);
  if (paths.length === 0) throw new InvalidArgumentError('UpdateMask is required and must name at least one field to update.');
  for (const path of paths) {
    if (path.startsWith(`${VERSIONING_OVERRIDE}.`)) throw new InvalidArgumentError("versioning_override doesn't support partial updates");
    if (path !== VERSIONING_OVERRIDE && path !== PRIORITY) throw new InvalidArgumentError(`error parsing UpdateMask: path ${path} not supported`);
  }
  const options = req.workflowExecutionOptions ?? {};
  const setsOverride = paths.includes(VERSIONING_OVERRIDE);
  const override = setsOverride ? parseOverride(options.versioningOverride) : null;
  const key = await resolveRun(ctx, ns.id, workflowId, req.workflowExecution?.runId);
  return ctx.engine.update(key, (loaded, nowMs) => {
    const state = requireRunning(loaded, key);
    const before = effectiveVersioning(state);
    const v = state.versioning ?? emptyVersioning();
    const next = { ...v, ...(setsOverride ? (override ?? { overrideKind: 0, overrideDeploymentName: '', overrideBuildId: '' }) : {}) };
    if (override?.overrideKind === 1 && ctx.deployments && !ctx.deployments.hasTaskQueue(ns.id, versionKey(override.overrideDeploymentName, override.overrideBuildId), state.taskQueue, 'workflow')) {
      throw new FailedPreconditionError(`Pinned version '${override.overrideDeploymentName}:${override.overrideBuildId}' is not present in task queue '${state.taskQueue}' of type 'Workflow'`);
    }
    const setsPriority = paths.includes(PRIORITY);
    const overrideChanged = setsOverride && (next.overrideKind !== v.overrideKind || next.overrideDeploymentName !== v.overrideDeploymentName || next.overrideBuildId !== v.overrideBuildId);
    const priorityChanged = setsPriority && !hasPriority(state, options.priority);
    const answer = (): { workflowExecutionOptions: Options } => ({ workflowExecutionOptions: { versioningOverride: overrideMessage(state.versioning, false), priority: workflowPriority(state) } });
    if (!overrideChanged && !priorityChanged) return { transition: null, value: answer() };
    const t = new Transition(state, nowMs);
    if (overrideChanged) state.versioning = next;
    if (priorityChanged) setPriority(state, options.priority);
    const attributes = {
      versioningOverride: overrideChanged ? overrideMessage(next, false) : null,
      unsetVersioningOverride: overrideChanged && next.overrideKind === 0,
      identity: req.identity ?? '',
      ...(priorityChanged ? { priority: workflowPriority(state) ?? {} } : {}),
    };
    const type = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED;
    if (hasStartedWorkflowTask(state)) {
      // Written after the running task completes, as other events that arrive meanwhile.
      const event = t.makeUnnumberedEvent(type, 'workflowExecutionOptionsUpdatedEventAttributes', attributes, nowMs, MAY_IGNORE);
      state.buffered.push({ event: HistoryEventCodec.encode(event).finish(), eventType: type, scheduledEventId: 0, timerId: '' });
      t.stateChanged = true;
    } else {
      t.addEvent(type, 'workflowExecutionOptionsUpdatedEventAttributes', attributes, nowMs, MAY_IGNORE);
    }
    if (overrideChanged) {
      refreshSearchAttributes(state);
      const after = effectiveVersioning(state);
      if (after.behavior !== before.behavior || after.buildId !== before.buildId || after.deploymentName !== before.deploymentName) redispatch(t);
    }
    return { transition: t, value: answer() };
  });
}

/** The run's route changed: its next task goes to the normal queue, and a waiting one is handed out again (the stale copy is skipped). */
function redispatch(t: Transition): void {
  if (moveStickyTaskToNormalQueue(t)) return;
  const state = t.state;
  const wft = state.workflowTask;
  if (!wft || wft.startedEventId !== 0) return;
  t.dispatch({ kind: 'workflowTask', taskQueue: wft.taskQueue, scheduledEventId: wft.scheduledEventId, attempt: wft.attempt, priorityKey: state.priorityKey ?? 0 });
}

function snakeCase(path: string): string {
  return path.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
