// workflowInfo() as the workflow sees it, built from what the worker read in WorkflowExecutionStarted.
import { decodeSearchAttributes, decodeTypedSearchAttributes, type PayloadConverter, type StartInfo, type WorkflowInfo } from '@kairos/sdk-common';

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
    // Search attribute payloads are always JSON (the server indexes them), whatever `converter` is.
    searchAttributes: decodeSearchAttributes(s.searchAttributes),
    typedSearchAttributes: decodeTypedSearchAttributes(s.searchAttributes),
    parent: s.parent,
    root: s.root,
  };
  // A getter, not a value: it depends on the code reading it (not enumerable, so not serialised).
  Object.defineProperty(info, 'currentUpdateInfo', { get: currentUpdateInfo, enumerable: false });
  return info;
}
