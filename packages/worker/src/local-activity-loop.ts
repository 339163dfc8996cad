// The local-activity loop of a live workflow task, and the workflow task heartbeat that lets it
// outlast the workflow task timeout. After a task's activations, the worker runs the local
// activities the code scheduled (LocalActivityExecutor); each time some finish it hands their
// markers to the run in one activation, which may schedule more. The loop ends when none is left,
// when the task failed or closed the workflow, or when the heartbeat is due:
//
//   running, none finished yet   -> wait for the first to finish, or for the heartbeat deadline
//   some finished                -> resolve them together in one activation, look again
//   none running, none finished  -> done: the task is answered
//   heartbeat due                -> the task is completed with what the workflow issued so far and
//                                   a new task is asked for at once; the activities keep running
//                                   and the loop carries on in that task (see `heartbeat`)
import type { temporal } from '@temporalio/proto';
import { CancelledFailure, type ActivationCompletion, type LocalActivityMarker, type WorkflowCommand } from '@kairos/sdk-common';
import type { PendingLocalActivity, RunIdentity } from './replay/history-replayer.js';
import { LocalActivityExecutor } from './local-activity-executor.js';
import type { CachedRun } from './workflow-cache.js';
import type { CompiledWorkerOptions } from './worker-options.js';

type PollResponse = temporal.api.workflowservice.v1.PollWorkflowTaskQueueResponse;
type WorkflowService = CompiledWorkerOptions['connection']['workflowService'];
export type CompletionRequest = Parameters<WorkflowService['respondWorkflowTaskCompleted']>[0];

/**
 * sdk-core's default share of the workflow task timeout after which a task still waiting on local
 * activities is completed as a heartbeat.
 */
const WFT_HEARTBEAT_SHARE = 0.8;
/** How long a heartbeat whose next task the server did not hand back waits for this worker's pollers to get it. */
const HEARTBEAT_ADOPTION_WAIT_MS = 10_000;

/** Commands after which the run has no next task: it is not worth caching. */
export const CLOSING_COMMANDS: ReadonlySet<WorkflowCommand['kind']> = new Set(['completeWorkflow', 'failWorkflow', 'cancelWorkflow', 'continueAsNew']);

/** The local activities of one live task, kept across its heartbeats. */
export class LiveLocalActivities {
  /** By seq: the running execution, and what cancels it alone. */
  readonly running = new Map<number, { execution: Promise<void>; cancel: AbortController }>();
  readonly finished: LocalActivityMarker[] = [];
  /** Aborted when the task no longer waits for them (answered, failed, or given up). */
  readonly abandon = new AbortController();
}

/** The marker of a local activity cancelled by the workflow (sdk-core records a cancelled failure). */
function cancelledMarker(pending: PendingLocalActivity): LocalActivityMarker {
  const { request } = pending;
  return {
    seq: request.seq,
    attempt: request.attempt,
    activityId: String(request.seq),
    activityType: request.activityType,
    completeTimeMs: undefined,
    backoffMs: undefined,
    originalScheduleTimeMs: request.originalScheduleTimeMs,
    result: undefined,
    failure: { message: 'Local Activity cancelled', canceledFailureInfo: {} },
  };
}

/** Waits for `promise`; true when `deadlineMs` (epoch ms) came first. */
async function raceDeadline(promise: Promise<unknown>, deadlineMs: number | undefined): Promise<boolean> {
  if (deadlineMs === undefined) {
    await promise;
    return false;
  }
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<true>((resolve) => (timer = setTimeout(() => resolve(true), Math.max(deadlineMs - Date.now(), 0))));
  try {
    return await Promise.race([promise.then(() => false), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export class LocalActivityLoop {
  private readonly localActivities: LocalActivityExecutor;
  /** Runs whose task heartbeat waits for the next task to be polled (see `heartbeat`). */
  private readonly heartbeatWaiters = new Map<string, (task: PollResponse) => void>();

  constructor(private readonly options: CompiledWorkerOptions) {
    this.localActivities = new LocalActivityExecutor(options);
  }

  /** When a task that reached the worker at `taskStartedMs` is due for a heartbeat (undefined: never). */
  static heartbeatAt(taskStartedMs: number, workflowTaskTimeoutMs: number): number | undefined {
    return workflowTaskTimeoutMs > 0 ? taskStartedMs + workflowTaskTimeoutMs * WFT_HEARTBEAT_SHARE : undefined;
  }

  /**
   * Hands a polled task to the heartbeat of its run that waits for it; false when none waits (the
   * task is handled as usual). Queries never continue a heartbeat.
   */
  offer(task: PollResponse): boolean {
    const runId = task.workflowExecution?.runId ?? '';
    const waiter = this.heartbeatWaiters.get(runId);
    if (waiter === undefined || task.query) return false;
    this.heartbeatWaiters.delete(runId);
    waiter(task);
    return true;
  }

  /**
   * Runs the local activities of the live task: those it scheduled, and those scheduled while
   * replaying that history has no outcome for. Whenever some finish, their outcomes go to the run
   * in one activation (which may schedule more). Ends when none is left, or the task failed or
   * closed the workflow (the caller then abandons activities still running), or at `heartbeatAtMs`
   * with activities still running (`heartbeatDue`: they keep running into the next task).
   */
  async run(
    liveRun: CachedRun,
    first: ActivationCompletion,
    run: RunIdentity,
    workflowType: string,
    localActivities: LiveLocalActivities,
    heartbeatAtMs: number | undefined,
  ): Promise<{ live: ActivationCompletion; heartbeatDue: boolean }> {
    const { replayer } = liveRun;
    const { running, finished, abandon } = localActivities;
    let live = first;
    for (;;) {
      if (live.taskFailure !== undefined || live.commands.some((command) => CLOSING_COMMANDS.has(command.kind))) return { live, heartbeatDue: false };
      // As sdk-core: a cancelled local activity is resolved (and recorded) as cancelled at once; the
      // attempt still running is told through its Context, and its own outcome is dropped.
      for (const pending of replayer.takeLocalActivityCancellations()) {
        const seq = pending.request.seq;
        running.get(seq)?.cancel.abort(new CancelledFailure('Local Activity cancelled'));
        running.delete(seq);
        finished.push(cancelledMarker(pending));
      }
      for (const pending of replayer.pendingLocalActivities) {
        const seq = pending.request.seq;
        if (running.has(seq) || finished.some((marker) => marker.seq === seq)) continue;
        const info = { workflowId: run.workflowId, runId: run.runId, workflowType, scheduledAtWorkflowTimeMs: pending.scheduledAtMs };
        const cancel = new AbortController();
        const signal = AbortSignal.any([abandon.signal, cancel.signal]);
        const execution = this.localActivities.execute(pending.request, info, signal).then((marker) => {
          if (running.get(seq)?.execution === execution) finished.push(marker);
        });
        running.set(seq, { execution, cancel });
      }
      if (running.size === 0 && finished.length === 0) return { live, heartbeatDue: false };
      if (finished.length === 0) {
        const due = await raceDeadline(Promise.race([...running.values()].map((r) => r.execution)), heartbeatAtMs);
        if (due) return { live, heartbeatDue: true };
        // Others that finished meanwhile are delivered together, as sdk-core batches resolutions.
        await new Promise((resolve) => setImmediate(resolve));
      }
      const batch = finished.splice(0);
      for (const marker of batch) running.delete(marker.seq);
      live = await liveRun.sandbox.runExclusive(() => replayer.resolveLocalActivities(batch));
    }
  }

  /**
   * A workflow task heartbeat, as sdk-core sends while local activities outlast most of the workflow
   * task timeout: completes the task with what the workflow issued so far and asks the server for a
   * new task at once (force_create_new_workflow_task), handed back in the response
   * (return_new_workflow_task). Resolves with the next task, or undefined when it went elsewhere.
   *
   * Our server, like Temporal, hands the new task back whenever return_new_workflow_task is set and
   * the task did not fail, sticky or not. Taking the task from this worker's own pollers (`offer`)
   * is only a fallback for a server whose response comes without one (it kept the task for the
   * normal queue): the task is adopted if one of our pollers gets it within a short wait.
   */
  async heartbeat(request: CompletionRequest, run: RunIdentity): Promise<PollResponse | undefined> {
    let adopt: ((task: PollResponse) => void) | undefined;
    const adopted = new Promise<PollResponse>((resolve) => (adopt = resolve));
    // Registered before the call: a poller may get the task before the response arrives.
    this.heartbeatWaiters.set(run.runId, adopt as (task: PollResponse) => void);
    try {
      const response = await this.options.connection.workflowService.respondWorkflowTaskCompleted({ ...request, forceCreateNewWorkflowTask: true, returnNewWorkflowTask: true });
      const returned = response.workflowTask;
      if (returned?.taskToken !== undefined && returned.taskToken !== null && returned.taskToken.length > 0) return returned as PollResponse;
      let timer: NodeJS.Timeout | undefined;
      const giveUp = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), HEARTBEAT_ADOPTION_WAIT_MS)));
      try {
        return await Promise.race([adopted, giveUp]);
      } finally {
        clearTimeout(timer);
      }
    } finally {
      this.heartbeatWaiters.delete(run.runId);
    }
  }
}
