// A workflow execution as describe() and list() report it, decoded from the API's WorkflowExecutionInfo.
import type { temporal } from '@temporalio/proto';
import { api, timestampToMs } from '@kairos/common';
import { decodeSearchAttributes, decodeTypedSearchAttributes, type PayloadConverter, type TypedSearchAttributes } from '@kairos/sdk-common';

export interface WorkflowExecutionInfo {
  workflowId: string;
  runId: string;
  type: string;
  taskQueue: string;
  /** `name` is the status without its prefix: RUNNING, COMPLETED, FAILED, CANCELED, TERMINATED, ... */
  status: { code: number; name: string };
  historyLength: number;
  startTime: Date;
  executionTime: Date | undefined;
  closeTime: Date | undefined;
  memo: Record<string, unknown>;
  /** @deprecated as in the official SDK: prefer `typedSearchAttributes`. Every value a list. */
  searchAttributes: Record<string, unknown[]>;
  /** The attributes whose stored payload names its type (all that typed writers set). */
  typedSearchAttributes: TypedSearchAttributes;
  rawInfo: temporal.api.workflow.v1.IWorkflowExecutionInfo;
}

function date(ts: Parameters<typeof timestampToMs>[0]): Date | undefined {
  const ms = timestampToMs(ts);
  return ms === undefined ? undefined : new Date(ms);
}

export function decodeExecutionInfo(
  info: temporal.api.workflow.v1.IWorkflowExecutionInfo | null | undefined,
  converter: PayloadConverter,
): WorkflowExecutionInfo {
  const code = info?.status ?? 0;
  return {
    workflowId: info?.execution?.workflowId ?? '',
    runId: info?.execution?.runId ?? '',
    type: info?.type?.name ?? '',
    taskQueue: info?.taskQueue ?? '',
    status: { code, name: String(api.enums.v1.WorkflowExecutionStatus[code]).replace(/^WORKFLOW_EXECUTION_STATUS_/, '') },
    historyLength: Number(info?.historyLength ?? 0),
    startTime: date(info?.startTime) ?? new Date(0),
    executionTime: date(info?.executionTime),
    closeTime: date(info?.closeTime),
    memo: Object.fromEntries(Object.entries(info?.memo?.fields ?? {}).map(([k, v]) => [k, converter.fromPayload(v)])),
    searchAttributes: decodeSearchAttributes(info?.searchAttributes?.indexedFields),
    typedSearchAttributes: decodeTypedSearchAttributes(info?.searchAttributes?.indexedFields),
    rawInfo: info ?? {},
  };
}
