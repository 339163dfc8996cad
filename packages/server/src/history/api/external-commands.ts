// Commands that reach other executions: start a child workflow, signal or cancel an external one.
// Validation here; the effects on this run are in machines/child-workflow.ts, the deliveries in
// ops/external.ts.
import { durationToMs } from '@kairos/common';
import { CommandType, WorkflowTaskFailedCause as Cause, type Command } from '../../proto-types.js';
import type { Transition } from '../transition.js';
import { CommandError, checkedSearchAttributes, cronCheck, memoLimitCheck, sizeLimitCheck, type CommandContext } from './commands.js';
import { initiateCancelExternal, initiateChild, initiateSignalExternal } from '../machines/child-workflow.js';
import { LIMITS, payloadsSize } from '../../limits.js';
import { validateRetryPolicy } from '../retry.js';

/** The namespace a command names ('' = this run's); a command naming an unknown one is invalid. */
function targetNamespace(t: Transition, ctx: CommandContext, name: string | null | undefined, cause: number): { id: string; name: string } {
  const own = ctx.namespaceById?.(t.state.namespaceId);
  if (!name) return { id: t.state.namespaceId, name: own?.name ?? '' };
  const ns = ctx.namespaceByName?.(name);
  if (!ns) throw new CommandError(cause, `namespace ${name} not found`);
  return ns;
}

export function applyExternalCommand(t: Transition, command: Command, ctx: CommandContext): void {
  const state = t.state;
  switch (command.commandType) {
    case CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION: {
      const a = command.startChildWorkflowExecutionCommandAttributes;
      const bad = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_CHILD_EXECUTION_ATTRIBUTES;
      if (!a) throw new CommandError(bad, 'StartChildWorkflowExecutionCommandAttributes is not set on command.');
      if (!a.workflowId) throw new CommandError(bad, 'WorkflowId is not set on StartChildWorkflowExecutionCommand.');
      if (a.workflowId.length > LIMITS.maxIdLength) throw new CommandError(bad, 'WorkflowId exceeds length limit.');
      if (!a.workflowType?.name) throw new CommandError(bad, 'WorkflowType is not set on StartChildWorkflowExecutionCommand.');
      if (a.cronSchedule) cronCheck(a.cronSchedule, bad);
      for (const [d, name] of [[a.workflowExecutionTimeout, 'WorkflowExecutionTimeout'], [a.workflowRunTimeout, 'WorkflowRunTimeout'], [a.workflowTaskTimeout, 'WorkflowTaskTimeout']] as const) {
        if (durationToMs(d) < 0) throw new CommandError(bad, `Invalid ${name}.`);
      }
      sizeLimitCheck(payloadsSize(a.input), bad, 'StartChildWorkflowExecutionCommandAttributes. Input exceeds size limit.');
      memoLimitCheck(a.memo, bad, 'StartChildWorkflowExecutionCommandAttributes.Memo exceeds size limit.');
      const policyProblem = validateRetryPolicy(a.retryPolicy, 'RetryPolicy');
      if (policyProblem) throw new CommandError(bad, policyProblem);
      if (Object.keys(state.children ?? {}).length >= LIMITS.maxPendingChildren) {
        throw new CommandError(Cause.WORKFLOW_TASK_FAILED_CAUSE_PENDING_CHILD_WORKFLOWS_LIMIT_EXCEEDED, `the number of pending child workflows ${LIMITS.maxPendingChildren} has reached the limit`);
      }
      const ns = targetNamespace(t, ctx, a.namespace, bad);
      initiateChild(t, {
        namespace: ns.name || a.namespace || '',
        namespaceId: ns.id,
        workflowId: a.workflowId,
        workflowType: a.workflowType,
        taskQueue: { name: a.taskQueue?.name || state.taskQueue, kind: 1 },
        input: a.input ?? null,
        workflowExecutionTimeout: a.workflowExecutionTimeout ?? null,
        workflowRunTimeout: a.workflowRunTimeout ?? null,
        workflowTaskTimeout: a.workflowTaskTimeout ?? null,
        parentClosePolicy: a.parentClosePolicy ?? 0,
        control: a.control ?? '',
        workflowTaskCompletedEventId: ctx.completedEventId,
        workflowIdReusePolicy: a.workflowIdReusePolicy ?? 0,
        retryPolicy: a.retryPolicy ?? null,
        cronSchedule: a.cronSchedule ?? '',
        header: a.header ?? null,
        memo: a.memo ?? null,
        searchAttributes: a.searchAttributes ? checkedSearchAttributes(ctx, a.searchAttributes, bad) : null,
        priority: a.priority ?? null,
        versioningOverride: a.versioningOverride ?? null,
      });
      return;
    }
    case CommandType.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION: {
      const a = command.signalExternalWorkflowExecutionCommandAttributes;
      const bad = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES;
      if (!a?.execution?.workflowId) throw new CommandError(bad, 'WorkflowId is not set on SignalExternalWorkflowExecutionCommand.');
      if (!a.signalName) throw new CommandError(bad, 'SignalName is not set on SignalExternalWorkflowExecutionCommand.');
      sizeLimitCheck(payloadsSize(a.input), bad, 'SignalExternalWorkflowExecutionCommandAttributes.Input exceeds size limit.');
      if (pendingOf(t, 'signal') >= LIMITS.maxPendingSignals) {
        throw new CommandError(Cause.WORKFLOW_TASK_FAILED_CAUSE_PENDING_SIGNALS_LIMIT_EXCEEDED, `the number of pending signals to external workflows ${LIMITS.maxPendingSignals} has reached the limit`);
      }
      const ns = targetNamespace(t, ctx, a.namespace, bad);
      initiateSignalExternal(t, {
        workflowTaskCompletedEventId: ctx.completedEventId,
        namespace: ns.name || a.namespace || '',
        namespaceId: ns.id,
        workflowExecution: { workflowId: a.execution.workflowId, runId: a.execution.runId ?? '' },
        signalName: a.signalName,
        input: a.input ?? null,
        control: a.control ?? '',
        childWorkflowOnly: a.childWorkflowOnly ?? false,
        header: a.header ?? null,
      });
      return;
    }
    case CommandType.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION: {
      const a = command.requestCancelExternalWorkflowExecutionCommandAttributes;
      const bad = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_ATTRIBUTES;
      if (!a?.workflowId) throw new CommandError(bad, 'WorkflowId is not set on RequestCancelExternalWorkflowExecutionCommand.');
      if (pendingOf(t, 'cancel') >= LIMITS.maxPendingSignals) {
        throw new CommandError(Cause.WORKFLOW_TASK_FAILED_CAUSE_PENDING_REQUEST_CANCEL_LIMIT_EXCEEDED, `the number of pending cancel requests to external workflows ${LIMITS.maxPendingSignals} has reached the limit`);
      }
      const ns = targetNamespace(t, ctx, a.namespace, bad);
      initiateCancelExternal(t, {
        workflowTaskCompletedEventId: ctx.completedEventId,
        namespace: ns.name || a.namespace || '',
        namespaceId: ns.id,
        workflowExecution: { workflowId: a.workflowId, runId: a.runId ?? '' },
        control: a.control ?? '',
        childWorkflowOnly: a.childWorkflowOnly ?? false,
        reason: a.reason ?? '',
      });
      return;
    }
    default:
      throw new CommandError(Cause.WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED, `unexpected command ${CommandType[command.commandType ?? 0]}`);
  }
}

function pendingOf(t: Transition, kind: 'signal' | 'cancel'): number {
  return Object.values(t.state.externalRequests ?? {}).filter((r) => r.kind === kind).length;
}
