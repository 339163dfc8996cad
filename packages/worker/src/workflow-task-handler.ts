// Handles one workflow task: replays the run's full history in a fresh sandbox, then answers the
// server with the live task's commands and update messages (and any queries it carried), a legacy
// query answer, or a workflow task failure. Like sdk-core, a failure is reported only on the task's first attempt;
// later attempts are left to the server's workflow task timeout, which avoids a hot retry loop.
import * as grpc from '@grpc/grpc-js';
import type { temporal } from '@temporalio/proto';
import { ServiceError } from '@kairos/client';
import { api } from '@kairos/common';
import { errorToFailure, defaultPayloadConverter, type ProtoFailure, type QueryAnswer, type WorkflowCommand } from '@kairos/sdk-common';
import { NondeterminismError } from './errors.js';
import { HistoryReplayer, type RunIdentity } from './replay/history-replayer.js';
import { hostPayload, toProtoCommand, type CommandContext } from './replay/commands.js';
import { isUpdateCommand, LiveUpdates, type UpdateCommand } from './replay/updates.js';
import { WorkflowSandbox, type CompiledBundle } from './sandbox.js';
import type { CompiledWorkerOptions } from './worker-options.js';
import type { WorkerLogger } from './logger.js';

type PollResponse = temporal.api.workflowservice.v1.PollWorkflowTaskQueueResponse;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type WorkflowQueryResult = temporal.api.query.v1.IWorkflowQueryResult;
type ProtoCommand = temporal.api.command.v1.ICommand;
type ProtocolMessage = temporal.api.protocol.v1.IMessage;

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

export class WorkflowTaskHandler {
  constructor(
    private readonly options: CompiledWorkerOptions,
    private readonly bundle: CompiledBundle,
    private readonly logger: WorkerLogger,
  ) {}

  private get service() {
    return this.options.connection.workflowService;
  }

  async handle(task: PollResponse): Promise<void> {
    const run: RunIdentity = {
      namespace: this.options.namespace,
      workflowId: task.workflowExecution?.workflowId ?? '',
      runId: task.workflowExecution?.runId ?? '',
    };
    let respond: () => Promise<unknown>;
    try {
      respond = await this.process(task, run);
    } catch (error) {
      if (task.query) {
        respond = () => this.respondLegacyQuery(task, { queryId: 'legacy', failure: errorToFailure(error, defaultPayloadConverter) });
      } else {
        const cause =
          error instanceof NondeterminismError
            ? enums.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR
            : enums.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE;
        respond = () => this.failTask(task, run, errorToFailure(error, defaultPayloadConverter), cause);
      }
    }
    try {
      await respond();
    } catch (error) {
      // NOT_FOUND: the task is stale (the run closed, was terminated, or the task timed out). The
      // server has moved on and there is nobody to tell, as sdk-core does.
      if (error instanceof ServiceError && error.code === grpc.status.NOT_FOUND) return;
      throw error;
    }
  }

  /** Replays the task's history and returns the call that answers the server. */
  private async process(task: PollResponse, run: RunIdentity): Promise<() => Promise<unknown>> {
    const events = await this.fullHistory(task, run);
    const sandbox = new WorkflowSandbox(this.bundle, {
      activationTimeoutMs: this.options.activationTimeoutMs,
      logPrefix: `[${task.workflowType?.name ?? ''}(${run.workflowId})]`,
    });
    const replayer = new HistoryReplayer(sandbox, run);
    // A legacy query task carries no update requests.
    const updates = new LiveUpdates(task.query ? [] : task.messages);
    const outcome = replayer.replay(events, updates.jobs);
    const rejection = await sandbox.takeUnhandledRejection();
    if (rejection !== undefined) {
      const reason = rejection.reason instanceof Error ? rejection.reason.message : String(rejection.reason);
      throw new Error(`Unhandled Promise rejection in workflow code: ${reason}`, { cause: rejection.reason });
    }
    if (task.query) {
      const query = task.query;
      const answer = sandbox.query({ queryId: 'legacy', queryType: query.queryType ?? '', args: query.queryArgs?.payloads ?? [] });
      return () => this.respondLegacyQuery(task, answer);
    }
    const live = outcome.live;
    if (live === undefined) throw new Error('the workflow task history does not end with a started workflow task');
    const failure = live.taskFailure;
    if (failure !== undefined) {
      const cause = enums.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE;
      return () => this.failTask(task, run, failure, cause);
    }
    const commandContext = {
      taskQueue: task.workflowExecutionTaskQueue?.name ?? this.options.taskQueue,
      namespace: this.options.namespace,
      activityScheduledEventId: replayer.scheduledEventIdOf,
    };
    const queryResults: Record<string, WorkflowQueryResult> = {};
    for (const [queryId, query] of Object.entries(task.queries ?? {})) {
      const answer = sandbox.query({ queryId, queryType: query.queryType ?? '', args: query.queryArgs?.payloads ?? [] });
      queryResults[queryId] = queryResult(answer);
    }
    const { commands, messages } = completionCommands(live.commands, (command) => updates.answer(command, replayer.acceptedUpdateRequest), commandContext);
    const request = {
      taskToken: task.taskToken,
      identity: this.options.identity,
      namespace: this.options.namespace,
      commands,
      messages,
      queryResults,
      // With no workflow cache, every task replays the whole history: a discarded speculative task
      // (its update only rejected) costs nothing to forget, whatever events it carried. For the same
      // reason the response's reset_history_event_id needs no rollback here.
      capabilities: { discardSpeculativeWorkflowTaskWithEvents: true },
    };
    return () => this.service.respondWorkflowTaskCompleted(request);
  }

  /** The poll carries the first page of history; the rest is fetched. */
  private async fullHistory(task: PollResponse, run: RunIdentity): Promise<HistoryEvent[]> {
    const events: HistoryEvent[] = [...(task.history?.events ?? [])];
    let nextPageToken = task.nextPageToken;
    while (nextPageToken !== undefined && nextPageToken !== null && nextPageToken.length > 0) {
      const page = await this.service.getWorkflowExecutionHistory({
        namespace: this.options.namespace,
        execution: { workflowId: run.workflowId, runId: run.runId },
        nextPageToken,
      });
      events.push(...(page.history?.events ?? []));
      nextPageToken = page.nextPageToken;
    }
    return events;
  }

  private async failTask(task: PollResponse, run: RunIdentity, failure: ProtoFailure, cause: number): Promise<void> {
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
      failure: failure as temporal.api.failure.v1.IFailure,
      identity: this.options.identity,
      namespace: this.options.namespace,
    });
  }

  private async respondLegacyQuery(task: PollResponse, answer: QueryAnswer): Promise<void> {
    const result = queryResult(answer);
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
