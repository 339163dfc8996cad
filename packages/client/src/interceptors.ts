// Client interceptors, shaped like the official client's `WorkflowClientInterceptor`: each method
// wraps one call to the server and gets `(input, next)`; headers an interceptor adds travel in the
// request's `header` (the workflow's inbound interceptors see the start's and signals' headers).
import {
  encodePayloads,
  type Headers,
  type LoadedDataConverter,
  type Next,
  type Payload,
} from '@kairos/sdk-common';
import type { temporal } from '@temporalio/proto';
import type { WorkflowStartOptions } from './workflow-options.js';
import type { WorkflowUpdateOptions, WorkflowUpdateStage } from './workflow-update.js';

export type { Headers, Next } from '@kairos/sdk-common';

export interface WorkflowExecution {
  readonly workflowId: string;
  readonly runId?: string | undefined;
}

export interface WorkflowStartInput {
  readonly workflowType: string;
  readonly headers: Headers;
  readonly options: WorkflowStartOptions;
}

export interface WorkflowSignalInput {
  readonly signalName: string;
  readonly args: unknown[];
  readonly workflowExecution: WorkflowExecution;
  readonly headers: Headers;
}

export interface WorkflowSignalWithStartInput {
  readonly workflowType: string;
  readonly signalName: string;
  readonly signalArgs: unknown[];
  readonly headers: Headers;
  readonly options: WorkflowStartOptions;
}

export interface WorkflowStartUpdateInput {
  readonly updateName: string;
  readonly args: unknown[];
  readonly workflowExecution: WorkflowExecution;
  readonly firstExecutionRunId?: string | undefined;
  readonly headers: Headers;
  readonly options: WorkflowUpdateOptions & { readonly waitForStage: WorkflowUpdateStage };
}

export interface WorkflowStartUpdateOutput {
  readonly updateId: string;
  readonly workflowRunId: string;
  /** Present when the update already completed. */
  readonly outcome?: temporal.api.update.v1.IOutcome | undefined;
}

export interface WorkflowStartUpdateWithStartInput {
  readonly workflowType: string;
  readonly workflowStartOptions: WorkflowStartOptions;
  /** Sent in the start request's `header` (the workflow's `execute` interceptors see them). */
  readonly workflowStartHeaders: Headers;
  readonly updateName: string;
  readonly updateArgs: unknown[];
  readonly updateOptions: WorkflowUpdateOptions & { readonly waitForStage: WorkflowUpdateStage };
  readonly updateHeaders: Headers;
}

export interface WorkflowStartUpdateWithStartOutput {
  readonly workflowExecution: WorkflowExecution;
  readonly updateId: string;
  /** Present when the update already completed. */
  readonly updateOutcome?: temporal.api.update.v1.IOutcome | undefined;
}

export interface WorkflowQueryInput {
  readonly queryType: string;
  readonly args: unknown[];
  readonly workflowExecution: WorkflowExecution;
  readonly headers: Headers;
}

export interface WorkflowTerminateInput {
  readonly workflowExecution: WorkflowExecution;
  readonly reason?: string | undefined;
  readonly firstExecutionRunId?: string | undefined;
}

export interface WorkflowCancelInput {
  readonly workflowExecution: WorkflowExecution;
  readonly firstExecutionRunId?: string | undefined;
}

export interface WorkflowDescribeInput {
  readonly workflowExecution: WorkflowExecution;
}

export interface WorkflowClientInterceptor {
  /** Resolves with the new run's id. */
  start?: (input: WorkflowStartInput, next: Next<WorkflowClientInterceptor, 'start'>) => Promise<string>;
  signal?: (input: WorkflowSignalInput, next: Next<WorkflowClientInterceptor, 'signal'>) => Promise<void>;
  /** Resolves with the signaled run's id. */
  signalWithStart?: (input: WorkflowSignalWithStartInput, next: Next<WorkflowClientInterceptor, 'signalWithStart'>) => Promise<string>;
  /** An update sent from a handle (`executeUpdate`, `startUpdate`). */
  startUpdate?: (input: WorkflowStartUpdateInput, next: Next<WorkflowClientInterceptor, 'startUpdate'>) => Promise<WorkflowStartUpdateOutput>;
  /** Update-with-start (`executeUpdateWithStart`, `startUpdateWithStart`): the start and the update in one call. */
  startUpdateWithStart?: (
    input: WorkflowStartUpdateWithStartInput,
    next: Next<WorkflowClientInterceptor, 'startUpdateWithStart'>,
  ) => Promise<WorkflowStartUpdateWithStartOutput>;
  query?: (input: WorkflowQueryInput, next: Next<WorkflowClientInterceptor, 'query'>) => Promise<unknown>;
  terminate?: (
    input: WorkflowTerminateInput,
    next: Next<WorkflowClientInterceptor, 'terminate'>,
  ) => Promise<temporal.api.workflowservice.v1.ITerminateWorkflowExecutionResponse>;
  cancel?: (
    input: WorkflowCancelInput,
    next: Next<WorkflowClientInterceptor, 'cancel'>,
  ) => Promise<temporal.api.workflowservice.v1.IRequestCancelWorkflowExecutionResponse>;
  describe?: (
    input: WorkflowDescribeInput,
    next: Next<WorkflowClientInterceptor, 'describe'>,
  ) => Promise<temporal.api.workflowservice.v1.DescribeWorkflowExecutionResponse>;
}

export interface ClientInterceptors {
  /** First = outermost. */
  workflow?: WorkflowClientInterceptor[];
}

/** A request's `header`: the headers through the codec chain (the worker decodes history headers alike); none when empty. */
export async function encodeHeaders(dataConverter: LoadedDataConverter, headers: Headers): Promise<{ fields: Record<string, Payload> } | undefined> {
  const entries = Object.entries(headers);
  if (entries.length === 0) return undefined;
  const encoded = await encodePayloads(dataConverter.payloadCodecs, entries.map(([, value]) => value));
  return { fields: Object.fromEntries(entries.map(([key], i) => [key, encoded[i] as Payload])) };
}
