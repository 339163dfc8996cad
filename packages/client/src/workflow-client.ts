// WorkflowClient: start, execute, signal-with-start and handles. Shaped like the official client so
// that `client.workflow.start(...)` code carries over.
import * as grpc from '@grpc/grpc-js';
import {
  composeInterceptors,
  type PayloadConverter,
  type SignalDefinition,
  type UpdateDefinition,
  type Workflow,
  type WorkflowResultType,
} from '@kairos/sdk-common';
import { AsyncCompletionClient } from './async-completion-client.js';
import type { Connection } from './connection.js';
import { decodeMapInPlace, encodeToPayloads, loadDataConverter, type DataConverter } from './data-converter.js';
import { decodeExecutionInfo, type WorkflowExecutionInfo } from './execution-info.js';
import { ServiceError, WorkflowExecutionAlreadyStartedError } from './errors.js';
import { WorkflowHandle, type ClientContext, type ResultOptions } from './workflow-handle.js';
import { defaultIdentity, startRequestFields, type WorkflowStartOptions } from './workflow-options.js';
import { encodeHeaders, type ClientInterceptors, type WorkflowClientInterceptor } from './interceptors.js';
import { startUpdateWithStart, type WithStartWorkflowOperation } from './update-with-start.js';
import { updateName, WorkflowUpdateStage, type WorkflowUpdateHandle, type WorkflowUpdateOptions } from './workflow-update.js';

export interface WorkflowClientOptions {
  connection: Connection;
  namespace?: string;
  identity?: string;
  /** Payload converter, payload codecs and failure converter; see docs/sdk.md, "Data converters". */
  dataConverter?: DataConverter;
  /** Same as `dataConverter.payloadConverter` (which wins when both are given). */
  payloadConverter?: PayloadConverter;
  /** Interceptors of the client's calls; see docs/sdk.md, "Interceptors". */
  interceptors?: ClientInterceptors;
}

type WorkflowArg = string | Workflow;
type ArgsOf<W extends WorkflowArg> = W extends Workflow ? Parameters<W> : unknown[];
type ResultOf<W extends WorkflowArg> = W extends Workflow ? WorkflowResultType<W> : unknown;

export interface SignalWithStartOptions<W extends WorkflowArg, SignalArgs extends unknown[]>
  extends WorkflowStartOptions<ArgsOf<W>> {
  signal: SignalDefinition<SignalArgs> | string;
  signalArgs?: SignalArgs;
}

function workflowTypeName(workflow: WorkflowArg): string {
  if (typeof workflow === 'string') return workflow;
  if (workflow.name === '') throw new TypeError('an anonymous function cannot name a workflow type; pass the type name');
  return workflow.name;
}

export class WorkflowClient {
  private readonly ctx: ClientContext;

  constructor(options: WorkflowClientOptions) {
    const dataConverter = loadDataConverter(options.dataConverter, options.payloadConverter);
    this.ctx = {
      connection: options.connection,
      namespace: options.namespace ?? 'default',
      identity: options.identity ?? defaultIdentity(),
      converter: dataConverter.payloadConverter,
      dataConverter,
      interceptors: [...(options.interceptors?.workflow ?? [])],
      waitingForResult: (wait) => this.waitingForResult(wait),
    };
  }

  /**
   * Runs `wait`, a wait for a workflow's result (`result()`, `execute()`, handles). Subclasses wrap it:
   * @kairos/testing's time-skipping client lets time skip meanwhile.
   */
  protected async waitingForResult<T>(wait: () => Promise<T>): Promise<T> {
    return await wait();
  }

  get namespace(): string {
    return this.ctx.namespace;
  }

  get connection(): Connection {
    return this.ctx.connection;
  }

  /** Starts a workflow; resolves to a handle on the new run once the server accepted the start. */
  async start<W extends WorkflowArg>(
    workflow: W,
    options: WorkflowStartOptions<ArgsOf<W>>,
  ): Promise<WorkflowHandle<ResultOf<W>> & { readonly runId: string }> {
    const workflowType = workflowTypeName(workflow);
    const start = composeInterceptors<WorkflowClientInterceptor, 'start'>(this.ctx.interceptors, 'start', async (input) => {
      const request = await startRequestFields(this.ctx.namespace, this.ctx.identity, input.workflowType, input.options, this.ctx.dataConverter);
      request.header = await encodeHeaders(this.ctx.dataConverter, input.headers);
      try {
        return (await this.ctx.connection.workflowService.startWorkflowExecution(request)).runId;
      } catch (error) {
        throw this.startError(error, input.options.workflowId, input.workflowType);
      }
    });
    const runId = await start({ workflowType, headers: {}, options });
    return new WorkflowHandle<ResultOf<W>>(this.ctx, options.workflowId, runId, runId) as WorkflowHandle<ResultOf<W>> & { readonly runId: string };
  }

  /** Starts a workflow and waits for its result (following continue-as-new). */
  async execute<W extends WorkflowArg>(workflow: W, options: WorkflowStartOptions<ArgsOf<W>>): Promise<ResultOf<W>> {
    const handle = await this.start(workflow, options);
    return await handle.result();
  }

  /** Signals a running workflow, starting it first if it does not run. */
  async signalWithStart<W extends WorkflowArg, SignalArgs extends unknown[] = []>(
    workflow: W,
    options: SignalWithStartOptions<W, SignalArgs>,
  ): Promise<WorkflowHandle<ResultOf<W>> & { readonly signaledRunId: string }> {
    const workflowType = workflowTypeName(workflow);
    const signalName = typeof options.signal === 'string' ? options.signal : options.signal.name;
    const signalWithStart = composeInterceptors<WorkflowClientInterceptor, 'signalWithStart'>(this.ctx.interceptors, 'signalWithStart', async (input) => {
      const fields = await startRequestFields(this.ctx.namespace, this.ctx.identity, input.workflowType, input.options, this.ctx.dataConverter);
      const signalInput = { payloads: await encodeToPayloads(this.ctx.dataConverter, input.signalArgs) };
      try {
        const response = await this.ctx.connection.workflowService.signalWithStartWorkflowExecution({
          ...fields,
          signalName: input.signalName,
          signalInput,
          header: await encodeHeaders(this.ctx.dataConverter, input.headers),
        });
        return response.runId;
      } catch (error) {
        throw this.startError(error, input.options.workflowId, input.workflowType);
      }
    });
    const signaledRunId = await signalWithStart({ workflowType, signalName, signalArgs: options.signalArgs ?? [], headers: {}, options });
    const handle = new WorkflowHandle<ResultOf<W>>(this.ctx, options.workflowId, undefined, undefined);
    return Object.assign(handle, { signaledRunId });
  }

  /** Sends an update, starting the workflow first if it does not run; resolves to the update's result. */
  async executeUpdateWithStart<Ret, Args extends unknown[] = [], W extends WorkflowArg = WorkflowArg>(
    definition: UpdateDefinition<Ret, Args> | string,
    options: WorkflowUpdateOptions & { args?: Args; startWorkflowOperation: WithStartWorkflowOperation<W> },
  ): Promise<Ret> {
    const handle = await this.startUpdateWithStart<Ret, Args, W>(definition, { ...options, waitForStage: WorkflowUpdateStage.COMPLETED });
    return await handle.result();
  }

  /** Update-with-start that returns once the update reached `waitForStage`. */
  async startUpdateWithStart<Ret, Args extends unknown[] = [], W extends WorkflowArg = WorkflowArg>(
    definition: UpdateDefinition<Ret, Args> | string,
    options: WorkflowUpdateOptions & {
      args?: Args;
      waitForStage: typeof WorkflowUpdateStage.ACCEPTED | typeof WorkflowUpdateStage.COMPLETED;
      startWorkflowOperation: WithStartWorkflowOperation<W>;
    },
  ): Promise<WorkflowUpdateHandle<Ret>> {
    return await startUpdateWithStart<Ret, W>(this.ctx, options.startWorkflowOperation, {
      name: updateName(definition as UpdateDefinition<unknown, never[]> | string),
      args: options.args ?? [],
      updateId: options.updateId,
      waitForStage: options.waitForStage,
    });
  }

  /** A handle on an existing workflow; without `runId` it targets the current run. */
  getHandle<W extends WorkflowArg = string>(
    workflowId: string,
    runId?: string,
    options: { firstExecutionRunId?: string } = {},
  ): WorkflowHandle<ResultOf<W>> {
    return new WorkflowHandle<ResultOf<W>>(this.ctx, workflowId, runId, options.firstExecutionRunId);
  }

  async result<R = unknown>(workflowId: string, runId?: string, options?: ResultOptions): Promise<R> {
    return (await this.getHandle(workflowId, runId).result(options)) as R;
  }

  /** Lists workflow executions matching a visibility query (all when empty), page by page. */
  async *list(options: { query?: string; pageSize?: number } = {}): AsyncIterable<WorkflowExecutionInfo> {
    let nextPageToken: Uint8Array | undefined;
    do {
      const response = await this.ctx.connection.workflowService.listWorkflowExecutions({
        namespace: this.ctx.namespace,
        query: options.query ?? '',
        pageSize: options.pageSize ?? 100,
        nextPageToken,
      });
      for (const info of response.executions) {
        await decodeMapInPlace(this.ctx.dataConverter, info.memo?.fields);
        yield decodeExecutionInfo(info, this.ctx.converter);
      }
      nextPageToken = response.nextPageToken.length > 0 ? response.nextPageToken : undefined;
    } while (nextPageToken !== undefined);
  }

  /** Counts workflow executions matching a visibility query (with `GROUP BY ExecutionStatus`, per group). */
  async count(query = ''): Promise<{ count: number; groups: Array<{ count: number; groupValues: unknown[] }> }> {
    const response = await this.ctx.connection.workflowService.countWorkflowExecutions({ namespace: this.ctx.namespace, query });
    return {
      count: Number(response.count),
      groups: response.groups.map((group) => ({
        count: Number(group.count),
        groupValues: (group.groupValues ?? []).map((value) => this.ctx.converter.fromPayload(value)),
      })),
    };
  }

  private startError(error: unknown, workflowId: string, workflowType: string): unknown {
    if (error instanceof ServiceError && error.code === grpc.status.ALREADY_EXISTS) {
      return new WorkflowExecutionAlreadyStartedError('Workflow execution already started', workflowId, workflowType);
    }
    return error;
  }
}

export type ClientOptions = WorkflowClientOptions;

/**
 * The top-level client (the official SDK's shape): `client.workflow` is a WorkflowClient,
 * `client.activity` an AsyncCompletionClient.
 */
export class Client {
  readonly workflow: WorkflowClient;
  readonly activity: AsyncCompletionClient;
  readonly connection: Connection;

  constructor(options: ClientOptions) {
    this.connection = options.connection;
    this.workflow = new WorkflowClient(options);
    this.activity = new AsyncCompletionClient(options);
  }
}
