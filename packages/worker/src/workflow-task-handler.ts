// Handles one workflow task: continues the run's cached workflow with the task's new events, or
// replays the run's full history in a fresh sandbox, then answers the server with the live task's
// commands and update messages (and any queries it carried), a legacy query answer, or a workflow
// task failure. Like sdk-core, a failure is reported only on the task's first attempt; later attempts
// are left to the server's workflow task timeout, which avoids a hot retry loop.
//
// Sticky execution (see workflow-cache.ts): with the cache on, a completion names this worker's
// sticky queue, and the run goes back to the cache once the server accepted the completion. The next
// task of the run then comes with only the events after the last one this worker saw. Which path a
// task takes:
//   - partial history, run cached and its replayer at the history's first event -> continue the run;
//   - partial history, run not cached (evicted, or another worker instance) -> fetch the full
//     history (GetWorkflowExecutionHistory) and replay from scratch;
//   - full history (first task, or the server fell back to the normal queue) -> evict any cached
//     copy and replay from scratch.
// Local activities: after the task's activations, the worker runs the local activities the code
// scheduled, and each time some finish it records their markers and activates the run again with
// their outcomes, until none is left or the workflow closes; only then does it answer the server
// (local-activity-loop.ts, which also heartbeats a task whose local activities run long).
//
// A task that fails, closes the workflow, is rolled back (reset_history_event_id: a discarded
// speculative task) or whose answer the server refuses leaves the run out of the cache.
import * as grpc from '@grpc/grpc-js';
import type { temporal } from '@temporalio/proto';
import { ServiceError } from '@kairos/client';
import { api } from '@kairos/common';
import {
  int64ToNumber,
  type ActivationCompletion,
  type ProtoFailure,
  type QueryAnswer,
  type WorkflowCommand,
} from '@kairos/sdk-common';
import { NondeterminismError } from './errors.js';
import { HistoryReplayer, type RunIdentity } from './replay/history-replayer.js';
import { hostPayload, toProtoCommand, type CommandContext } from './replay/commands.js';
import { isUpdateCommand, LiveUpdates, type UpdateCommand } from './replay/updates.js';
import { WorkflowSandbox, type CompiledBundle } from './sandbox.js';
import { CLOSING_COMMANDS, LiveLocalActivities, LocalActivityLoop } from './local-activity-loop.js';
import { emptyCacheStats, WorkflowCache, type CachedRun, type WorkflowCacheStats } from './workflow-cache.js';
import { fullHistory, pollHistory } from './history-pages.js';
import type { CompiledWorkerOptions } from './worker-options.js';
import type { WorkerLogger } from './logger.js';
import { WorkflowCodecRunner } from './workflow-codec.js';

type PollResponse = temporal.api.workflowservice.v1.PollWorkflowTaskQueueResponse;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type WorkflowQueryResult = temporal.api.query.v1.IWorkflowQueryResult;
type ProtoCommand = temporal.api.command.v1.ICommand;
type ProtocolMessage = temporal.api.protocol.v1.IMessage;
type StickyAttributes = temporal.api.taskqueue.v1.IStickyExecutionAttributes;

const enums = api.enums.v1;

function queryResult(answer: QueryAnswer): WorkflowQueryResult {
  if ('result' in answer) {
    return { resultType: enums.QueryResultType.QUERY_RESULT_TYPE_ANSWERED, answer: { payloads: [hostPayload(answer.result)] } };
  }
  return {
    resultType: enums.QueryResultType.QUERY_RESULT_TYPE_FAILED,
    errorMessage: answer.failure.message ?? 'query failed',
    failure: answer.failure as temporal.api.failure.v1.IFailure,
  };
}

/** The completion's commands and protocol messages, update answers placed where they were issued. */
function completionCommands(
  issued: readonly WorkflowCommand[],
  answerUpdate: (command: UpdateCommand) => { message: ProtocolMessage; command: ProtoCommand | undefined },
  ctx: CommandContext,
): { commands: ProtoCommand[]; messages: ProtocolMessage[] } {
  const commands: ProtoCommand[] = [];
  const messages: ProtocolMessage[] = [];
  for (const command of issued) {
    if (isUpdateCommand(command)) {
      const answer = answerUpdate(command);
      messages.push(answer.message);
      if (answer.command !== undefined) commands.push(answer.command);
    } else {
      commands.push(toProtoCommand(command, ctx));
    }
  }
  return { commands, messages };
}

/** How a task is answered: `send` resolves true when the run may go (back) to the cache. */
interface Answer {
  send(): Promise<boolean>;
  /** The run the task ran on, to cache after a successful answer (undefined: nothing to keep). */
  run: CachedRun | undefined;
}

/** An answer after which the run does not go (back) to the cache. */
async function answered(sending: Promise<void>): Promise<boolean> {
  await sending;
  return false;
}

export class WorkflowTaskHandler {
  /** Workflow tasks that failed (reported in the worker's heartbeats). */
  failedTasks = 0;
  /** The workflow cache; undefined when `maxCachedWorkflows` is 0. */
  private readonly cache: WorkflowCache | undefined;
  /** The last task of each run with a task in this worker: tasks of one run run one after the other. */
  private readonly runQueues = new Map<string, Promise<void>>();
  private readonly localActivityLoop: LocalActivityLoop;
  private readonly codec: WorkflowCodecRunner;
  /** When each task reached the handler: its heartbeat deadline counts from there. */
  private readonly taskStartedMs = new WeakMap<PollResponse, number>();

  /**
   * `stickyAttributes`: what completions carry to keep the run's next task on this worker; undefined
   * while the worker has no sticky queue (cache off, or shutting down).
   */
  constructor(
    private readonly options: CompiledWorkerOptions,
    private readonly bundle: CompiledBundle,
    private readonly logger: WorkerLogger,
    private readonly stickyAttributes: () => StickyAttributes | undefined = () => undefined,
  ) {
    if (options.maxCachedWorkflows > 0) this.cache = new WorkflowCache(options.maxCachedWorkflows);
    this.localActivityLoop = new LocalActivityLoop(options);
    this.codec = new WorkflowCodecRunner(options.dataConverter);
  }

  private get service() {
    return this.options.connection.workflowService;
  }

  /** Counters of the workflow cache (all zero when it is off). */
  cacheStats(): WorkflowCacheStats {
    return this.cache?.stats() ?? emptyCacheStats();
  }

  /** Disposes every cached run (the worker stopped). */
  clearCache(): void {
    this.cache?.clear();
  }

  /**
   * As sdk-core, one task per run at a time: a task that arrives while the run's previous one is
   * still being answered (a sticky poll can beat the completion's response) waits for it, and then
   * finds the run in the cache.
   */
  async handle(task: PollResponse): Promise<void> {
    this.taskStartedMs.set(task, Date.now());
    // The next task of a run whose heartbeat is waiting for it: that task's handling carries on with it.
    if (this.localActivityLoop.offer(task)) return;
    const runId = task.workflowExecution?.runId ?? '';
    const previous = this.runQueues.get(runId) ?? Promise.resolve();
    const current = previous.then(() => this.handleNow(task));
    const tail = current.catch(() => undefined);
    this.runQueues.set(runId, tail);
    try {
      await current;
    } finally {
      if (this.runQueues.get(runId) === tail) this.runQueues.delete(runId);
    }
  }

  private async handleNow(task: PollResponse): Promise<void> {
    const run: RunIdentity = {
      namespace: this.options.namespace,
      workflowId: task.workflowExecution?.workflowId ?? '',
      runId: task.workflowExecution?.runId ?? '',
    };
    let answer: Answer;
    try {
      answer = await this.process(task, run);
    } catch (error) {
      let send: () => Promise<void>;
      if (task.query) {
        send = () => this.respondLegacyQuery(task, { queryId: 'legacy', failure: this.options.dataConverter.failureConverter.errorToFailure(error, this.options.dataConverter.payloadConverter) });
      } else {
        const cause =
          error instanceof NondeterminismError
            ? enums.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR
            : enums.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE;
        send = () => this.failTask(task, run, this.options.dataConverter.failureConverter.errorToFailure(error, this.options.dataConverter.payloadConverter), cause);
      }
      answer = { send: () => answered(send()), run: undefined };
    }
    let keep = false;
    try {
      keep = await answer.send();
    } catch (error) {
      // NOT_FOUND: the task is stale (the run closed, was terminated, or the task timed out). The
      // server has moved on and there is nobody to tell, as sdk-core does.
      if (error instanceof ServiceError && error.code === grpc.status.NOT_FOUND) return;
      throw error;
    } finally {
      const live = answer.run;
      if (live !== undefined) {
        if (keep && this.cache !== undefined) this.cache.put(live);
        else this.evict(live);
      }
    }
  }

  private evict(run: CachedRun): void {
    if (this.cache !== undefined) this.cache.evict(run);
    else run.sandbox.dispose();
  }

  private newRun(task: PollResponse, run: RunIdentity): CachedRun {
    const sandbox = new WorkflowSandbox(this.bundle, {
      activationTimeoutMs: this.options.activationTimeoutMs,
      logPrefix: `[${task.workflowType?.name ?? ''}(${run.workflowId})]`,
    });
    return { runId: run.runId, sandbox, replayer: new HistoryReplayer(sandbox, run) };
  }

  /**
   * The run to apply the task's events to, and those events: the cached run with the new events, or
   * a fresh run with the full history.
   */
  private async runForTask(task: PollResponse, run: RunIdentity): Promise<{ live: CachedRun; events: HistoryEvent[] }> {
    const events = await pollHistory(this.service, this.options.namespace, task, run);
    const firstEventId = events[0] === undefined ? 1 : int64ToNumber(events[0].eventId);
    const cached = this.cache?.take(run.runId);
    if (cached !== undefined) {
      const continues =
        firstEventId > 1 &&
        firstEventId === cached.replayer.nextEventId &&
        int64ToNumber(task.previousStartedEventId) === cached.replayer.lastLiveStartedEventId;
      if (continues && this.cache !== undefined) {
        this.cache.counters.tasksOnCachedRuns++;
        this.cache.counters.eventsAppliedToCachedRuns += events.length;
        return { live: cached, events };
      }
      // A full history (the task fell back to the normal queue) or one that does not continue the
      // cached run: start over.
      this.evict(cached);
    }
    const live = this.newRun(task, run);
    if (this.cache !== undefined) this.cache.counters.fullReplays++;
    if (firstEventId === 1) return { live, events };
    if (this.cache !== undefined) this.cache.counters.historyFetches++;
    return { live, events: await fullHistory(this.service, this.options.namespace, run, events) };
  }

  /** The task's events, decoded (runForTask reads each event once, so each is decoded once). */
  private async decodedRunForTask(task: PollResponse, run: RunIdentity): Promise<{ live: CachedRun; events: HistoryEvent[] }> {
    const result = await this.runForTask(task, run);
    try {
      await this.codec.decodeHistory(result.events);
      for (const query of Object.values(task.queries ?? {})) await this.codec.decodeQuery(query);
    } catch (error) {
      this.evict(result.live);
      throw error;
    }
    return result;
  }

  /** Runs the task and returns how to answer the server. */
  private async process(task: PollResponse, run: RunIdentity): Promise<Answer> {
    if (task.query) return await this.processLegacyQuery(task, run);
    const { live, events } = await this.decodedRunForTask(task, run);
    try {
      return await this.activate(task, run, live, events);
    } catch (error) {
      this.evict(live);
      throw error;
    }
  }

  private async activate(firstTask: PollResponse, run: RunIdentity, liveRun: CachedRun, firstEvents: HistoryEvent[]): Promise<Answer> {
    const { sandbox, replayer } = liveRun;
    const localActivities = new LiveLocalActivities();
    let task = firstTask;
    let events = firstEvents;
    try {
      for (;;) {
        const taskStartedMs = this.taskStartedMs.get(task) ?? Date.now();
        const updates = new LiveUpdates(await this.codec.decodeMessages(task.messages));
        const outcome = await sandbox.runExclusive(() => replayer.replay(events, updates.jobs));
        if (outcome.live === undefined) throw new Error('the workflow task history does not end with a started workflow task');
        const heartbeatAtMs = LocalActivityLoop.heartbeatAt(taskStartedMs, replayer.workflowTaskTimeoutMs);
        const { live, heartbeatDue } = await this.localActivityLoop.run(liveRun, outcome.live, run, task.workflowType?.name ?? '', localActivities, heartbeatAtMs);
        const rejection = sandbox.takeUnhandledRejection();
        if (rejection !== undefined) {
          const reason = rejection.reason instanceof Error ? rejection.reason.message : String(rejection.reason);
          throw new Error(`Unhandled Promise rejection in workflow code: ${reason}`, { cause: rejection.reason });
        }
        const failure = live.taskFailure;
        if (failure !== undefined) {
          const cause = enums.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE;
          const failed = task;
          return { send: () => answered(this.failTask(failed, run, failure, cause)), run: liveRun };
        }
        const { request, sticky } = await this.completionRequest(task, liveRun, live, updates);
        if (!heartbeatDue) {
          return {
            send: async () => {
              const response = await this.service.respondWorkflowTaskCompleted(request);
              return sticky && int64ToNumber(response.resetHistoryEventId) === 0;
            },
            run: liveRun,
          };
        }
        const next = await this.localActivityLoop.heartbeat(request, run);
        if (next === undefined) {
          // The next task went elsewhere: this worker no longer holds the run. Its local activities are
          // abandoned; whoever has the task runs them again (they have no marker yet).
          this.logger.warn('workflow task heartbeat: the next workflow task did not come back to this worker', { workflowId: run.workflowId, runId: run.runId });
          return { send: async () => false, run: liveRun };
        }
        task = next;
        // A task adopted from our pollers got its start time there; one returned by the server starts now.
        if (!this.taskStartedMs.has(task)) this.taskStartedMs.set(task, Date.now());
        events = (await pollHistory(this.service, this.options.namespace, task, run)).filter((event) => int64ToNumber(event.eventId) >= replayer.nextEventId);
        await this.codec.decodeHistory(events);
        for (const query of Object.values(task.queries ?? {})) await this.codec.decodeQuery(query);
      }
    } finally {
      localActivities.abandon.abort();
    }
  }

  /** The RespondWorkflowTaskCompleted request for the live task's completion so far. */
  private async completionRequest(task: PollResponse, liveRun: CachedRun, live: ActivationCompletion, updates: LiveUpdates) {
    const { sandbox, replayer } = liveRun;
    const commandContext = {
      taskQueue: task.workflowExecutionTaskQueue?.name ?? this.options.taskQueue,
      namespace: this.options.namespace,
      activityScheduledEventId: replayer.scheduledEventIdOf,
    };
    const queryResults: Record<string, WorkflowQueryResult> = {};
    const queries = Object.entries(task.queries ?? {});
    if (queries.length > 0) {
      await sandbox.runExclusive(() => {
        for (const [queryId, query] of queries) {
          const answer = sandbox.query({ queryId, queryType: query.queryType ?? '', args: query.queryArgs?.payloads ?? [], headers: { ...query.header?.fields } });
          queryResults[queryId] = queryResult(answer);
        }
      });
    }
    const encoded = await this.codec.encodeCompletion({
      ...completionCommands(live.commands, (command) => updates.answer(command, replayer.acceptedUpdateRequest), commandContext),
      queryResults,
    });
    const { commands, messages, queryResults: encodedQueryResults } = encoded;
    const closing = live.commands.some((command) => CLOSING_COMMANDS.has(command.kind));
    const stickyAttributes = this.cache !== undefined && !closing ? this.stickyAttributes() : undefined;
    const request = {
      taskToken: task.taskToken,
      identity: this.options.identity,
      namespace: this.options.namespace,
      commands,
      messages,
      queryResults: encodedQueryResults,
      stickyAttributes,
      // A discarded speculative task (its updates only rejected) comes back with
      // reset_history_event_id: the run then leaves the cache, so any events it carried are simply
      // seen again by the replay of the next task.
      capabilities: { discardSpeculativeWorkflowTaskWithEvents: true },
    };
    return { request, sticky: stickyAttributes !== undefined };
  }

  /**
   * A legacy query task (full history, no new workflow task): answered from the cached run when it
   * stands exactly where the server's last completed task left the run, else by a replay in a
   * throwaway sandbox. Neither changes the cache.
   */
  private async processLegacyQuery(task: PollResponse, run: RunIdentity): Promise<Answer> {
    const query = task.query as temporal.api.query.v1.IWorkflowQuery;
    await this.codec.decodeQuery(query);
    const request = { queryId: 'legacy', queryType: query.queryType ?? '', args: query.queryArgs?.payloads ?? [], headers: { ...query.header?.fields } };
    const cached = this.cache?.peek(run.runId);
    if (cached !== undefined && this.cache !== undefined && int64ToNumber(task.previousStartedEventId) === cached.replayer.lastLiveStartedEventId) {
      this.cache.counters.queriesFromCache++;
      const answer = await cached.sandbox.runExclusive(() => cached.sandbox.query(request));
      return { send: () => answered(this.respondLegacyQuery(task, answer)), run: undefined };
    }
    const events = await pollHistory(this.service, this.options.namespace, task, run);
    await this.codec.decodeHistory(events);
    const replay = this.newRun(task, run);
    try {
      // A legacy query task carries no update requests.
      await replay.sandbox.runExclusive(() => replay.replayer.replay(events));
      const rejection = replay.sandbox.takeUnhandledRejection();
      if (rejection !== undefined) {
        const reason = rejection.reason instanceof Error ? rejection.reason.message : String(rejection.reason);
        throw new Error(`Unhandled Promise rejection in workflow code: ${reason}`, { cause: rejection.reason });
      }
      const answer = await replay.sandbox.runExclusive(() => replay.sandbox.query(request));
      return { send: () => answered(this.respondLegacyQuery(task, answer)), run: undefined };
    } finally {
      replay.sandbox.dispose();
    }
  }

  private async failTask(task: PollResponse, run: RunIdentity, failure: ProtoFailure, cause: number): Promise<void> {
    this.failedTasks++;
    this.logger.error('workflow task failed', {
      workflowId: run.workflowId,
      runId: run.runId,
      attempt: task.attempt,
      error: failure.message ?? '',
    });
    if (task.attempt > 1) return;
    await this.service.respondWorkflowTaskFailed({
      taskToken: task.taskToken,
      cause,
      failure: (await this.codec.encodeFailure(failure)) as temporal.api.failure.v1.IFailure,
      identity: this.options.identity,
      namespace: this.options.namespace,
    });
  }

  private async respondLegacyQuery(task: PollResponse, answer: QueryAnswer): Promise<void> {
    const result = await this.codec.encodeQueryResult(queryResult(answer));
    await this.service.respondQueryTaskCompleted({
      taskToken: task.taskToken,
      namespace: this.options.namespace,
      completedType: result.resultType,
      queryResult: result.answer,
      errorMessage: result.errorMessage,
      failure: result.failure,
    });
  }
}
