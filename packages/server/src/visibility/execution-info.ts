// A listed run as temporal.api.workflow.v1.WorkflowExecutionInfo (what ListWorkflowExecutions returns).

import type { temporal } from '@temporalio/proto';
import { msToDuration, msToTimestamp, type Loose } from '@kairos/common';
import type { ExecutionListing } from '../persistence/store.js';
import { MemoCodec, SearchAttributesCodec } from '../proto-types.js';
import { withTypeMetadata, type NamespaceSearchAttributes } from './search-attribute-values.js';

type ExecutionInfo = Loose<temporal.api.workflow.v1.IWorkflowExecutionInfo>;

export function executionInfo({ key, summary }: ExecutionListing, custom: NamespaceSearchAttributes): ExecutionInfo {
  const searchAttributes = summary.searchAttributes === null ? null : SearchAttributesCodec.decode(summary.searchAttributes);
  const parent =
    summary.parentWorkflowId !== null && summary.parentRunId !== null ? { workflowId: summary.parentWorkflowId, runId: summary.parentRunId } : null;
  const root = summary.rootWorkflowId !== null && summary.rootRunId !== null ? { workflowId: summary.rootWorkflowId, runId: summary.rootRunId } : null;
  return {
    execution: { workflowId: key.workflowId, runId: key.runId },
    type: { name: summary.workflowType },
    startTime: msToTimestamp(summary.startTimeMs),
    closeTime: summary.closeTimeMs === null ? null : msToTimestamp(summary.closeTimeMs),
    status: summary.status,
    historyLength: summary.historyLength,
    executionTime: msToTimestamp(summary.executionTimeMs),
    memo: summary.memo === null ? { fields: {} } : MemoCodec.decode(summary.memo),
    searchAttributes: withTypeMetadata(custom, searchAttributes),
    taskQueue: summary.taskQueue,
    stateTransitionCount: summary.stateTransitionCount,
    historySizeBytes: summary.historySizeBytes,
    executionDuration: summary.executionDurationMs === null ? null : msToDuration(summary.executionDurationMs),
    parentExecution: parent,
    rootExecution: root,
  };
}
