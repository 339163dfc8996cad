// Workflow start options, normalised once into the StartWorkflowExecution request fields.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { temporal } from '@temporalio/proto';
import { api } from '@kairos/common';
import { encodeMapToPayloads, encodeToPayloads } from './data-converter.js';
import {
  compileRetryPolicy,
  encodeUnifiedSearchAttributes,
  msFromDuration,
  msToProtoDuration,
  type Duration,
  type LoadedDataConverter,
  type RetryPolicy,
  type SearchAttributePair,
  type SearchAttributes,
  type TypedSearchAttributes,
} from '@kairos/sdk-common';

export type WorkflowIdReusePolicy = 'ALLOW_DUPLICATE' | 'ALLOW_DUPLICATE_FAILED_ONLY' | 'REJECT_DUPLICATE' | 'TERMINATE_IF_RUNNING';
export type WorkflowIdConflictPolicy = 'FAIL' | 'USE_EXISTING' | 'TERMINATE_EXISTING';

export interface WorkflowStartOptions<Args extends unknown[] = unknown[]> {
  workflowId: string;
  taskQueue: string;
  args?: Args;
  workflowExecutionTimeout?: Duration;
  workflowRunTimeout?: Duration;
  workflowTaskTimeout?: Duration;
  retry?: RetryPolicy;
  /** Non-indexed values, encoded by the data converter (codecs included). */
  memo?: Record<string, unknown>;
  /** @deprecated as in the official SDK: prefer `typedSearchAttributes`. Each attribute a list of values. */
  searchAttributes?: SearchAttributes;
  /** Indexed attributes with their types; wins over `searchAttributes` for an attribute both name. */
  typedSearchAttributes?: SearchAttributePair[] | TypedSearchAttributes;
  cronSchedule?: string;
  startDelay?: Duration;
  workflowIdReusePolicy?: WorkflowIdReusePolicy;
  workflowIdConflictPolicy?: WorkflowIdConflictPolicy;
  /** Request id for idempotent retries of this start; a fresh UUID by default. */
  requestId?: string;
}

export function defaultIdentity(): string {
  return `${process.pid}@${os.hostname()}`;
}

function durationField(value: Duration | undefined): { seconds: number; nanos: number } | undefined {
  return value === undefined ? undefined : msToProtoDuration(msFromDuration(value));
}

export function retryPolicyToProto(policy: RetryPolicy): temporal.api.common.v1.IRetryPolicy {
  const compiled = compileRetryPolicy(policy);
  const result: Record<string, unknown> = {
    backoffCoefficient: compiled.backoffCoefficient,
    maximumAttempts: compiled.maximumAttempts,
    nonRetryableErrorTypes: compiled.nonRetryableErrorTypes,
  };
  if (compiled.initialIntervalMs !== undefined) result['initialInterval'] = msToProtoDuration(compiled.initialIntervalMs);
  if (compiled.maximumIntervalMs !== undefined) result['maximumInterval'] = msToProtoDuration(compiled.maximumIntervalMs);
  return result as temporal.api.common.v1.IRetryPolicy;
}

/** The fields StartWorkflowExecution and SignalWithStartWorkflowExecution share. */
export async function startRequestFields(
  namespace: string,
  identity: string,
  workflowType: string,
  options: WorkflowStartOptions,
  dataConverter: LoadedDataConverter,
): Promise<temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest> {
  const enums = api.enums.v1;
  const request: Record<string, unknown> = {
    namespace,
    identity,
    requestId: options.requestId ?? randomUUID(),
    workflowId: options.workflowId,
    workflowType: { name: workflowType },
    taskQueue: { name: options.taskQueue, kind: enums.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    input: { payloads: await encodeToPayloads(dataConverter, options.args ?? []) },
    workflowExecutionTimeout: durationField(options.workflowExecutionTimeout),
    workflowRunTimeout: durationField(options.workflowRunTimeout),
    workflowTaskTimeout: durationField(options.workflowTaskTimeout),
    workflowStartDelay: durationField(options.startDelay),
    cronSchedule: options.cronSchedule,
  };
  if (options.retry !== undefined) request['retryPolicy'] = retryPolicyToProto(options.retry);
  if (options.memo !== undefined) {
    request['memo'] = { fields: await encodeMapToPayloads(dataConverter, options.memo) };
  }
  if (options.searchAttributes !== undefined || options.typedSearchAttributes !== undefined) {
    request['searchAttributes'] = { indexedFields: encodeUnifiedSearchAttributes(options.searchAttributes, options.typedSearchAttributes) };
  }
  if (options.workflowIdReusePolicy !== undefined) {
    request['workflowIdReusePolicy'] = enums.WorkflowIdReusePolicy[`WORKFLOW_ID_REUSE_POLICY_${options.workflowIdReusePolicy}`];
  }
  if (options.workflowIdConflictPolicy !== undefined) {
    request['workflowIdConflictPolicy'] =
      enums.WorkflowIdConflictPolicy[`WORKFLOW_ID_CONFLICT_POLICY_${options.workflowIdConflictPolicy}`];
  }
  return request as temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest;
}
