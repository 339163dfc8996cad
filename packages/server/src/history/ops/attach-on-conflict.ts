// A start that finds its workflow running and uses it (USE_EXISTING) may attach to that run what its
// `on_conflict_options` ask for: its request id (a retry of this start is then recognised), its
// completion callbacks (delivered when the run's chain closes, as the run's own), and its links. As in
// Temporal, one WorkflowExecutionOptionsUpdated event records what was attached, buffered while a
// workflow task runs. A request id already attached attaches nothing again.
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import { FailedPreconditionError } from '../../errors.js';
import { EventType, HistoryEventCodec } from '../../proto-types.js';
import type { ExecutionKey } from '../../persistence/store.js';
import { Transition } from '../transition.js';
import { isRunning } from '../machines/workflow.js';
import { hasStartedWorkflowTask } from '../machines/workflow-task.js';
import { MAX_CALLBACKS, newCallbackInfos } from '../machines/callbacks.js';
import type { HistoryContext } from '../service-context.js';

type StartRequest = Loose<temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest>;

/** Whether the request asks to attach anything it has to a running workflow. */
export function attachesOnConflict(request: StartRequest): boolean {
  const o = request.onConflictOptions;
  if (!o) return false;
  return (o.attachRequestId === true && !!request.requestId) ||
    (o.attachCompletionCallbacks === true && (request.completionCallbacks?.length ?? 0) > 0) ||
    (o.attachLinks === true && (request.links?.length ?? 0) > 0);
}

export async function attachOnConflict(ctx: HistoryContext, key: ExecutionKey, request: StartRequest): Promise<void> {
  const o = request.onConflictOptions ?? {};
  const requestId = request.requestId ?? '';
  await ctx.engine.update(key, (state, nowMs) => {
    if (!state || !isRunning(state)) return { transition: null, value: undefined };
    if (requestId && (state.requestIds.includes(requestId) || (state.callbacks ?? []).some((c) => c.requestId === requestId))) {
      return { transition: null, value: undefined };
    }
    const callbacks = o.attachCompletionCallbacks === true ? (request.completionCallbacks ?? []) : [];
    const links = o.attachLinks === true ? (request.links ?? []) : [];
    const attachId = o.attachRequestId === true && requestId !== '';
    if (!attachId && callbacks.length === 0 && links.length === 0) return { transition: null, value: undefined };
    const attached = state.callbacks ?? [];
    if (attached.length + callbacks.length > MAX_CALLBACKS) {
      throw new FailedPreconditionError(`cannot attach more than ${MAX_CALLBACKS} callbacks to a workflow (${attached.length} callbacks already attached)`);
    }
    const t = new Transition(state, nowMs);
    if (attachId) state.requestIds.push(requestId);
    if (callbacks.length > 0) state.callbacks = [...attached, ...newCallbackInfos(callbacks, nowMs, requestId)];
    const type = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED;
    const attributes = { attachedRequestId: attachId ? requestId : '', attachedCompletionCallbacks: callbacks, identity: request.identity ?? '' };
    // Worker-may-ignore, as Temporal writes it: SDKs replaying the run need not know the event.
    const extra = { workerMayIgnore: true, ...(links.length > 0 ? { links } : {}) };
    if (hasStartedWorkflowTask(state)) {
      const event = t.makeUnnumberedEvent(type, 'workflowExecutionOptionsUpdatedEventAttributes', attributes, nowMs, extra);
      state.buffered.push({ event: HistoryEventCodec.encode(event).finish(), eventType: type, scheduledEventId: 0, timerId: '' });
      t.stateChanged = true;
    } else {
      t.addEvent(type, 'workflowExecutionOptionsUpdatedEventAttributes', attributes, nowMs, extra);
    }
    return { transition: t, value: undefined };
  });
}
