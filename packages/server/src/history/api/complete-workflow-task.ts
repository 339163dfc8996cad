// The pure decision of RespondWorkflowTaskCompleted, shared by the operation (ops/workflow-task.ts) and
// the engine-test harness: given the started task's state and the worker's completion, what is written.
//
//   speculative task, only update rejections      -> discarded: nothing written, worker rolls back
//   buffered events + a command that closes the run -> task failed UNHANDLED_COMMAND (events delivered next)
//   an invalid command or message                 -> task failed with its cause (a transient retry is dropped)
//   otherwise -> WorkflowTaskCompleted, command events, buffered events, and a new task when needed
import { InvalidArgumentError } from '../../errors.js';
import { CommandType, WorkflowTaskFailedCause, type Command, type ProtocolMessage } from '../../proto-types.js';
import { cloneMutableState, type ActivityInfo, type MutableState } from '../mutable-state.js';
import { Transition } from '../transition.js';
import { completeWorkflowTask, discardSpeculativeWorkflowTask, failWorkflowTask, flushBufferedEvents, scheduleWorkflowTask, startWorkflowTask, type CompletionDetails } from '../machines/workflow-task.js';
import { startActivity } from '../machines/activity.js';
import { hasUndeliveredUpdates, isRejectionMessage, markUpdatesDelivered, rejectUnprocessedUpdates } from '../machines/update.js';
import { setStickiness, type StickyAttributes } from '../machines/sticky.js';
import { terminateWorkflow } from '../machines/workflow.js';
import { applyCommands, CommandError, hasClosingCommand, type CommandContext } from './commands.js';
import { applyUnreferencedMessages } from './update-commands.js';

export interface Completion extends CompletionDetails {
  readonly commands: readonly Command[];
  readonly messages: readonly ProtocolMessage[];
  readonly forceCreateNewWorkflowTask: boolean;
  readonly stickyAttributes: StickyAttributes | null;
  /** The worker can take the same events twice (a discarded speculative task may have carried some). */
  readonly discardSpeculativeWithEvents: boolean;
  /** Namespace and search-attribute lookups for the commands. */
  readonly lookups: Omit<CommandContext, 'completedEventId' | 'identity' | 'messages'>;
  /** The worker takes a new workflow task in the response (when it is sticky: the task is partial). */
  readonly returnNewWorkflowTask: boolean;
}

export interface CompletionResult {
  readonly transition: Transition | null;
  /** The error the caller gets (the task was failed, or the completion refused). */
  readonly error: Error | null;
  /** Set when a speculative task was discarded: the worker rolls its history back to this started id. */
  readonly resetHistoryEventId?: number;
  /** The state after the completion (as committed, or unchanged). */
  readonly state: MutableState;
  /** Activities the worker asked to run itself (request_eager_execution), started in this transition. */
  readonly eagerActivities?: readonly ActivityInfo[];
  /** True when the next workflow task was started in this transition for the response. */
  readonly newWorkflowTaskStarted?: boolean;
}

/** A copy of `state` taken now, handed out by the returned function. */
function copiedNow(state: MutableState): () => MutableState {
  const copy = cloneMutableState(state);
  return () => copy;
}

/**
 * `original()`: a fresh copy of `state` as it was before this completion (used only when the commands
 * are rejected); by default a copy is taken up front.
 */
export function applyCompletion(state: MutableState, nowMs: number, c: Completion, original: () => MutableState = copiedNow(state)): CompletionResult {
  const t = new Transition(state, nowMs);
  if (discardable(state, c)) {
    setStickiness(state, c.stickyAttributes);
    applyUnreferencedMessages(t, c.commands, c.messages);
    rejectUnprocessedUpdates(t);
    discardSpeculativeWorkflowTask(t);
    // Updates admitted while the discarded task ran get a task of their own.
    if (hasUndeliveredUpdates(t.state)) scheduleWorkflowTask(t, 1, true);
    return { transition: t, error: null, resetHistoryEventId: t.state.lastCompletedWftStartedEventId, state: t.state };
  }
  if (state.buffered.length > 0 && hasClosingCommand(c.commands)) {
    failWorkflowTask(t, WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND, null, c.identity, c.binaryChecksum, true);
    return { transition: t, error: new InvalidArgumentError('UnhandledCommand'), state: t.state };
  }
  try {
    const completedId = completeWorkflowTask(t, c);
    setStickiness(state, c.stickyAttributes);
    applyCommands(t, c.commands, { completedEventId: completedId, identity: c.identity, messages: c.messages, ...c.lookups });
    applyUnreferencedMessages(t, c.commands, c.messages);
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    // Temporal's wording: "<cause in PascalCase>: <problem>", in the task's failure and the error.
    const message = `${causeShorthand(err.failedCause)}: ${err.message}`;
    const error = new InvalidArgumentError(message);
    // A retried (transient) attempt that fails validation is dropped; its timeout retries it.
    const pristine = original();
    const wft = pristine.workflowTask;
    if (wft?.transient && !wft.speculative) return { transition: null, error, state: pristine };
    const tf = new Transition(pristine, nowMs);
    failWorkflowTask(tf, err.failedCause, { message, serverFailureInfo: {} }, c.identity, c.binaryChecksum);
    if (err.terminatesRun) terminateWorkflow(tf, message, null, 'history-service');
    return { transition: tf, error, state: tf.state };
  }
  if (t.closed) return { transition: t, error: null, state: t.state };
  // A heartbeat completion need not answer the updates it carried; any other must have.
  if (!c.forceCreateNewWorkflowTask) rejectUnprocessedUpdates(t);
  const flushed = flushBufferedEvents(t);
  if (flushed > 0 || c.forceCreateNewWorkflowTask || t.forceNewWorkflowTask || hasUndeliveredUpdates(t.state)) {
    scheduleWorkflowTask(t, 1);
    if (c.forceCreateNewWorkflowTask && t.state.workflowTask) t.state.workflowTask.heartbeat = true;
  }
  const eagerActivities = startEagerActivities(t, c);
  const newWorkflowTaskStarted = startReturnedWorkflowTask(t, c);
  return { transition: t, error: null, state: t.state, eagerActivities, newWorkflowTaskStarted };
}

/** WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES -> BadScheduleActivityAttributes. */
export function causeShorthand(cause: number): string {
  const name = String(WorkflowTaskFailedCause[cause] ?? 'WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED').replace(/^WORKFLOW_TASK_FAILED_CAUSE_/, '');
  return name
    .toLowerCase()
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}

/**
 * Eager activity dispatch: activities the worker asked to run itself (it reserved a slot) start in this
 * very transition and travel back in the response, saving a poll and a commit. Only activities on the
 * workflow's own task queue, as Temporal does; the others are dispatched as usual.
 */
function startEagerActivities(t: Transition, c: Completion): ActivityInfo[] {
  const state = t.state;
  const started: ActivityInfo[] = [];
  for (const command of c.commands) {
    const a = command.scheduleActivityTaskCommandAttributes;
    if (command.commandType !== CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK || !a?.requestEagerExecution) continue;
    const info = Object.values(state.activities).find((x) => x.activityId === a.activityId && x.phase === 'scheduled' && x.attempt === 1);
    if (!info || info.taskQueue !== state.taskQueue) continue;
    startActivity(t, info, c.identity, `eager-${info.scheduledEventId}`);
    const i = t.dispatches.findIndex((d) => d.kind === 'activityTask' && d.scheduledEventId === info.scheduledEventId);
    if (i >= 0) t.dispatches.splice(i, 1);
    started.push(info);
  }
  return started;
}

/**
 * The worker asked for the next workflow task in the response (return_new_workflow_task): when this
 * completion scheduled one (and did not fail), start it now, sticky or not, as Temporal does. A sticky
 * worker gets the events after its last completed task, any other the whole history.
 */
function startReturnedWorkflowTask(t: Transition, c: Completion): boolean {
  const state = t.state;
  const wft = state.workflowTask;
  if (!c.returnNewWorkflowTask || !wft || wft.startedEventId !== 0 || wft.transient) return false;
  const i = t.dispatches.findIndex((d) => d.kind === 'workflowTask' && d.scheduledEventId === wft.scheduledEventId);
  if (i < 0) return false;
  t.dispatches.splice(i, 1);
  startWorkflowTask(t, c.identity, 'request-from-RespondWorkflowTaskCompleted');
  markUpdatesDelivered(state, wft);
  return true;
}

/**
 * A speculative task leaves no trace when its completion changes nothing but update rejections: no
 * commands, only Rejection messages, nothing received meanwhile, no new task asked for.
 */
function discardable(state: MutableState, c: Completion): boolean {
  const wft = state.workflowTask;
  if (!wft?.speculative) return false;
  if (c.commands.length > 0 || c.forceCreateNewWorkflowTask || state.buffered.length > 0) return false;
  if (!c.messages.every(isRejectionMessage)) return false;
  // A worker that cannot take the same events twice was sent only the task's own two events: discard
  // then only if nothing was written after the last completed task.
  const withEvents = wft.scheduledEventId !== state.lastCompletedWftStartedEventId + 2;
  return !withEvents || c.discardSpeculativeWithEvents;
}
