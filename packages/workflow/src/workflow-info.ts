// workflowInfo() as the workflow sees it, built from what the worker read in WorkflowExecutionStarted.
import { decodeTypedSearchAttribute, TypedSearchAttributes, type PayloadConverter, type SearchAttributePair, type StartInfo, type WorkflowInfo } from '@kairos/sdk-common';

import { currentUpdateInfo } from './updates.js';

export function buildWorkflowInfo(s: StartInfo, converter: PayloadConverter): WorkflowInfo {
  const info: WorkflowInfo = {
    workflowId: s.workflowId,
    runId: s.runId,
    workflowType: s.workflowType,
    namespace: s.namespace,
    taskQueue: s.taskQueue,
    attempt: s.attempt,
    firstExecutionRunId: s.firstExecutionRunId,
    continuedFromExecutionRunId: s.continuedFromExecutionRunId,
    startTime: new Date(s.startTimeMs),
    runStartTime: new Date(s.runStartTimeMs),
    executionTimeoutMs: s.executionTimeoutMs,
    runTimeoutMs: s.runTimeoutMs,
    taskTimeoutMs: s.taskTimeoutMs,
    cronSchedule: s.cronSchedule,
    historyLength: 0,
    unsafe: { isReplaying: false },
    lastResult: s.lastResult === undefined ? undefined : converter.fromPayload(s.lastResult),
    memo: Object.fromEntries(Object.entries(s.memo).map(([key, value]) => [key, converter.fromPayload(value)])),
    searchAttributes: Object.fromEntries(
      Object.entries(s.searchAttributes).map(([key, value]) => {
        const decoded = converter.fromPayload(value);
        return [key, Array.isArray(decoded) ? decoded : [decoded]];
      }),
    ),
    typedSearchAttributes: new TypedSearchAttributes(
      Object.entries(s.searchAttributes)
        .map(([key, value]) => decodeTypedSearchAttribute(converter, key, value))
        .filter((pair): pair is SearchAttributePair => pair !== undefined),
    ),
    parent: s.parent,
  };
  // A getter, not a value: it depends on the code reading it (not enumerable, so not serialised).
  Object.defineProperty(info, 'currentUpdateInfo', { get: currentUpdateInfo, enumerable: false });
  return info;
}
