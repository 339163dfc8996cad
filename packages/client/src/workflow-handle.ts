// A handle to one workflow (optionally one run of it): result, signal, query, updates, cancel,
// terminate, describe, fetchHistory.
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { temporal } from '@temporalio/proto';
import { api } from '@kairos/common';
import {
  CancelledFailure,
  composeInterceptors,
  TerminatedFailure,
  TimeoutFailure,
  retryStateName,
  type LoadedDataConverter,
  type PayloadConverter,
  type QueryDefinition,
  type SignalDefinition,
  type UpdateDefinition,
} from '@kairos/sdk-common';
import type { Connection } from './connection.js';
import { decodeFailureToError, decodeFirstValue, decodeFromPayloads, decodeMapInPlace, encodeToPayloads } from './data-converter.js';
import { decodeExecutionInfo, type WorkflowExecutionInfo } from './execution-info.js';
import { encodeHeaders, type WorkflowClientInterceptor, type WorkflowExecution, type WorkflowQueryInput } from './interceptors.js';
import { startUpdate, updateName, WorkflowUpdateHandle, WorkflowUpdateStage, type WorkflowUpdateOptions } from './workflow-update.js';
import {
  QueryFailedError,
  QueryNotRegisteredError,
  QueryRejectedError,
  ServiceError,
  WorkflowContinuedAsNewError,
  WorkflowFailedError,
  WorkflowNotFoundError,
} from './errors.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const EventType = api.enums.v1.EventType;

export interface ClientContext {
  readonly connection: Connection;
  readonly namespace: string;
  readonly identity: string;
  /** The data converter's payload converter (`dataConverter.payloadConverter`). */
  readonly converter: PayloadConverter;
  readonly dataConverter: LoadedDataConverter;
  /** The client's `interceptors.workflow`. */
  readonly interceptors: readonly WorkflowClientInterceptor[];
  /** Wraps every wait for a result (a time-skipping client unlocks time around it). */
  readonly waitingForResult: <T>(wait: () => Promise<T>) => Promise<T>;
}

export interface WorkflowExecutionDescription extends WorkflowExecutionInfo {
  raw: temporal.api.workflowservice.v1.DescribeWorkflowExecutionResponse;
}

export interface ResultOptions {
  /** Follow continue-as-new, retries and cron to the last run (default true). */
  followRuns?: boolean;
}

/** Maps NOT_FOUND to WorkflowNotFoundError; other errors pass through. */
/** An interceptor's execution as the request's (the current run when it names none). */
function executionOf(execution: WorkflowExecution): { workflowId: string; runId: string } {
  return { workflowId: execution.workflowId, runId: execution.runId ?? '' };
}

export function rethrowNotFound(error: unknown, workflowId: string, runId: string | undefined): never {
  if (error instanceof ServiceError && error.code === grpc.status.NOT_FOUND) {
    throw new WorkflowNotFoundError(error.message, workflowId, runId);
  }
  throw error;
}

export class WorkflowHandle<Result = unknown> {
  constructor(
    private readonly ctx: ClientContext,
    readonly workflowId: string,
    /** The run this handle targets; undefined means the current run. */
    readonly runId: string | undefined,
    readonly firstExecutionRunId: string | undefined,
  ) {}

  private get execution(): { workflowId: string; runId: string } {
    return { workflowId: this.workflowId, runId: this.runId ?? '' };
  }

  async result(options: ResultOptions = {}): Promise<Result> {
    return await this.ctx.waitingForResult(() => this.followToResult(options));
  }

  private async followToResult(options: ResultOptions): Promise<Result> {
    const followRuns = options.followRuns ?? true;
    let runId = this.runId ?? '';
    for (;;) {
      const event = await this.waitForCloseEvent(runId);
      const a = event;
      let next: string | undefined;
      if (a.workflowExecutionCompletedEventAttributes) {
        const attrs = a.workflowExecutionCompletedEventAttributes;
        next = attrs.newExecutionRunId || undefined; // cron
        if (next === undefined || !followRuns) return await decodeFirstValue<Result>(this.ctx.dataConverter, attrs.result?.payloads);
      } else if (a.workflowExecutionContinuedAsNewEventAttributes) {
        next = a.workflowExecutionContinuedAsNewEventAttributes.newExecutionRunId ?? '';
        if (!followRuns) throw new WorkflowContinuedAsNewError('Workflow execution continued as new', next);
      } else if (a.workflowExecutionFailedEventAttributes) {
        const attrs = a.workflowExecutionFailedEventAttributes;
        next = attrs.newExecutionRunId || undefined; // workflow retry
        if (next === undefined || !followRuns) {
          const cause = attrs.failure ? await decodeFailureToError(this.ctx.dataConverter, attrs.failure) : undefined;
          throw new WorkflowFailedError('Workflow execution failed', cause, retryStateName(attrs.retryState));
        }
      } else if (a.workflowExecutionTimedOutEventAttributes) {
        const attrs = a.workflowExecutionTimedOutEventAttributes;
        next = attrs.newExecutionRunId || undefined;
        if (next === undefined || !followRuns) {
          const cause = new TimeoutFailure('Workflow execution timed out', undefined, 'START_TO_CLOSE');
          throw new WorkflowFailedError('Workflow execution timed out', cause, retryStateName(attrs.retryState));
        }
      } else if (a.workflowExecutionCanceledEventAttributes) {
        const details = await decodeFromPayloads(this.ctx.dataConverter, a.workflowExecutionCanceledEventAttributes.details?.payloads);
        const cause = new CancelledFailure('Workflow canceled', details);
        throw new WorkflowFailedError('Workflow execution cancelled', cause, 'NON_RETRYABLE_FAILURE');
      } else if (a.workflowExecutionTerminatedEventAttributes) {
        const cause = new TerminatedFailure(a.workflowExecutionTerminatedEventAttributes.reason || 'Workflow terminated');
        throw new WorkflowFailedError('Workflow execution terminated', cause, 'NON_RETRYABLE_FAILURE');
      } else {
        throw new Error(`Unexpected close event type ${String(event.eventType)}`);
      }
      runId = next ?? '';
    }
  }

  /** Long-polls the run's history until its close event exists, and returns that event. */
  private async waitForCloseEvent(runId: string): Promise<HistoryEvent> {
    let nextPageToken: Uint8Array | undefined;
    for (;;) {
      let response: temporal.api.workflowservice.v1.GetWorkflowExecutionHistoryResponse;
      try {
        response = await this.ctx.connection.workflowService.getWorkflowExecutionHistory({
          namespace: this.ctx.namespace,
          execution: { workflowId: this.workflowId, runId },
          waitNewEvent: true,
          historyEventFilterType: api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
          skipArchival: true,
          nextPageToken,
        });
      } catch (error) {
        rethrowNotFound(error, this.workflowId, runId || undefined);
      }
      const events = response.history?.events ?? [];
      const last = events[events.length - 1];
      if (last !== undefined) return last;
      nextPageToken = response.nextPageToken.length > 0 ? response.nextPageToken : undefined;
    }
  }

  async signal<Args extends unknown[]>(definition: SignalDefinition<Args> | string, ...args: Args): Promise<void> {
    const signalName = typeof definition === 'string' ? definition : definition.name;
    const signal = composeInterceptors<WorkflowClientInterceptor, 'signal'>(this.ctx.interceptors, 'signal', async (input) => {
      try {
        await this.ctx.connection.workflowService.signalWorkflowExecution({
          namespace: this.ctx.namespace,
          workflowExecution: executionOf(input.workflowExecution),
          signalName: input.signalName,
          input: { payloads: await encodeToPayloads(this.ctx.dataConverter, input.args) },
          header: await encodeHeaders(this.ctx.dataConverter, input.headers),
          identity: this.ctx.identity,
          requestId: randomUUID(),
        });
      } catch (error) {
        rethrowNotFound(error, this.workflowId, this.runId);
      }
    });
    await signal({ signalName, args, workflowExecution: { workflowId: this.workflowId, runId: this.runId }, headers: {} });
  }

  async query<Ret, Args extends unknown[] = []>(definition: QueryDefinition<Ret, Args> | string, ...args: Args): Promise<Ret> {
    const queryType = typeof definition === 'string' ? definition : definition.name;
    const query = composeInterceptors<WorkflowClientInterceptor, 'query'>(this.ctx.interceptors, 'query', (input) => this.queryCall(input));
    return (await query({ queryType, args, workflowExecution: { workflowId: this.workflowId, runId: this.runId }, headers: {} })) as Ret;
  }

  private async queryCall(input: WorkflowQueryInput): Promise<unknown> {
    let response: temporal.api.workflowservice.v1.QueryWorkflowResponse;
    const queryArgs = { payloads: await encodeToPayloads(this.ctx.dataConverter, input.args) };
    try {
      response = await this.ctx.connection.workflowService.queryWorkflow({
        namespace: this.ctx.namespace,
        execution: executionOf(input.workflowExecution),
        query: { queryType: input.queryType, queryArgs, header: await encodeHeaders(this.ctx.dataConverter, input.headers) },
      });
    } catch (error) {
      if (error instanceof ServiceError && error.code === grpc.status.INVALID_ARGUMENT) {
        const message = error.message.replace(/^QueryWorkflow: /, '');
        if (/did not register a handler/.test(message)) throw new QueryNotRegisteredError(message, error.code);
        throw new QueryFailedError(message);
      }
      rethrowNotFound(error, this.workflowId, this.runId);
    }
    if (response.queryRejected) {
      const status = api.enums.v1.WorkflowExecutionStatus[response.queryRejected.status ?? 0] ?? 'UNSPECIFIED';
      throw new QueryRejectedError(String(status).replace(/^WORKFLOW_EXECUTION_STATUS_/, ''));
    }
    return await decodeFirstValue<unknown>(this.ctx.dataConverter, response.queryResult?.payloads);
  }

  /** Sends an update and waits for its result (WorkflowUpdateFailedError when the handler failed). */
  async executeUpdate<Ret, Args extends unknown[] = []>(
    definition: UpdateDefinition<Ret, Args> | string,
    options: WorkflowUpdateOptions & { args?: Args } = {},
  ): Promise<Ret> {
    const handle = await this.startUpdate<Ret, Args>(definition, { ...options, waitForStage: WorkflowUpdateStage.COMPLETED });
    return await handle.result();
  }

  /** Sends an update and returns once it reached `waitForStage` (ACCEPTED: the validator passed). */
  async startUpdate<Ret, Args extends unknown[] = []>(
    definition: UpdateDefinition<Ret, Args> | string,
    options: WorkflowUpdateOptions & { args?: Args; waitForStage: typeof WorkflowUpdateStage.ACCEPTED | typeof WorkflowUpdateStage.COMPLETED },
  ): Promise<WorkflowUpdateHandle<Ret>> {
    return await startUpdate<Ret>(this.ctx, {
      workflowId: this.workflowId,
      runId: this.runId,
      firstExecutionRunId: this.firstExecutionRunId,
      name: updateName(definition as UpdateDefinition<unknown, never[]> | string),
      args: options.args ?? [],
      updateId: options.updateId,
      waitForStage: options.waitForStage,
    });
  }

  /** A handle on an update sent earlier (by any client), to wait for its result. */
  getUpdateHandle<Ret>(updateId: string, options: { workflowRunId?: string } = {}): WorkflowUpdateHandle<Ret> {
    return new WorkflowUpdateHandle<Ret>(this.ctx, updateId, this.workflowId, options.workflowRunId ?? this.runId);
  }

  async cancel(): Promise<void> {
    const cancel = composeInterceptors<WorkflowClientInterceptor, 'cancel'>(this.ctx.interceptors, 'cancel', async (input) => {
      try {
        return await this.ctx.connection.workflowService.requestCancelWorkflowExecution({
          namespace: this.ctx.namespace,
          workflowExecution: executionOf(input.workflowExecution),
          identity: this.ctx.identity,
          requestId: randomUUID(),
          firstExecutionRunId: input.firstExecutionRunId,
        });
      } catch (error) {
        rethrowNotFound(error, this.workflowId, this.runId);
      }
    });
    await cancel({ workflowExecution: { workflowId: this.workflowId, runId: this.runId }, firstExecutionRunId: this.firstExecutionRunId });
  }

  async terminate(reason?: string): Promise<void> {
    const terminate = composeInterceptors<WorkflowClientInterceptor, 'terminate'>(this.ctx.interceptors, 'terminate', async (input) => {
      try {
        return await this.ctx.connection.workflowService.terminateWorkflowExecution({
          namespace: this.ctx.namespace,
          workflowExecution: executionOf(input.workflowExecution),
          reason: input.reason,
          identity: this.ctx.identity,
          firstExecutionRunId: input.firstExecutionRunId,
        });
      } catch (error) {
        rethrowNotFound(error, this.workflowId, this.runId);
      }
    });
    await terminate({ workflowExecution: { workflowId: this.workflowId, runId: this.runId }, reason, firstExecutionRunId: this.firstExecutionRunId });
  }

  async describe(): Promise<WorkflowExecutionDescription> {
    const describe = composeInterceptors<WorkflowClientInterceptor, 'describe'>(this.ctx.interceptors, 'describe', async (input) => {
      try {
        return await this.ctx.connection.workflowService.describeWorkflowExecution({
          namespace: this.ctx.namespace,
          execution: executionOf(input.workflowExecution),
        });
      } catch (error) {
        rethrowNotFound(error, this.workflowId, this.runId);
      }
    });
    const raw = await describe({ workflowExecution: { workflowId: this.workflowId, runId: this.runId } });
    await decodeMapInPlace(this.ctx.dataConverter, raw.workflowExecutionInfo?.memo?.fields);
    return { ...decodeExecutionInfo(raw.workflowExecutionInfo, this.ctx.converter), raw };
  }

  /** The run's full history (all pages). */
  async fetchHistory(): Promise<temporal.api.history.v1.IHistory> {
    const events: HistoryEvent[] = [];
    let nextPageToken: Uint8Array | undefined;
    do {
      let response: temporal.api.workflowservice.v1.GetWorkflowExecutionHistoryResponse;
      try {
        response = await this.ctx.connection.workflowService.getWorkflowExecutionHistory({
          namespace: this.ctx.namespace,
          execution: this.execution,
          nextPageToken,
        });
      } catch (error) {
        rethrowNotFound(error, this.workflowId, this.runId);
      }
      events.push(...(response.history?.events ?? []));
      nextPageToken = response.nextPageToken.length > 0 ? response.nextPageToken : undefined;
    } while (nextPageToken !== undefined);
    return { events };
  }
}

export { EventType };
