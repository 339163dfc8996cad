// The shapes of the proto3 JSON the UI reads (only the fields it uses; everything is optional in
// proto3 JSON because default values are left out).
export interface Payload {
  metadata?: Record<string, string>;
  data?: string;
}
export interface Payloads {
  payloads?: Payload[];
}
export interface Failure {
  message?: string;
  source?: string;
  stackTrace?: string;
  cause?: Failure;
  applicationFailureInfo?: { type?: string; nonRetryable?: boolean; details?: Payloads };
  timeoutFailureInfo?: { timeoutType?: string };
  canceledFailureInfo?: object;
  terminatedFailureInfo?: object;
  activityFailureInfo?: { activityType?: { name?: string }; activityId?: string; retryState?: string };
  childWorkflowExecutionFailureInfo?: { workflowExecution?: Execution; workflowType?: { name?: string } };
}
export interface Execution {
  workflowId?: string;
  runId?: string;
}
export interface WorkflowExecutionInfo {
  execution?: Execution;
  type?: { name?: string };
  startTime?: string;
  closeTime?: string;
  executionTime?: string;
  status?: string;
  historyLength?: string;
  parentNamespaceId?: string;
  parentExecution?: Execution;
  rootExecution?: Execution;
  taskQueue?: string;
  memo?: { fields?: Record<string, Payload> };
  searchAttributes?: { indexedFields?: Record<string, Payload> };
  stateTransitionCount?: string;
  historySizeBytes?: string;
}
export interface ListResponse {
  executions?: WorkflowExecutionInfo[];
  nextPageToken?: string;
}
export interface CountResponse {
  count?: string;
  groups?: Array<{ groupValues?: Payload[]; count?: string }>;
}
export interface PendingActivity {
  activityId?: string;
  activityType?: { name?: string };
  state?: string;
  heartbeatDetails?: Payloads;
  lastHeartbeatTime?: string;
  lastStartedTime?: string;
  attempt?: number;
  maximumAttempts?: number;
  scheduledTime?: string;
  expirationTime?: string;
  lastFailure?: Failure;
  lastWorkerIdentity?: string;
}
export interface PendingChild {
  workflowId?: string;
  runId?: string;
  workflowTypeName?: string;
  initiatedId?: string;
}
export interface DescribeResponse {
  executionConfig?: { taskQueue?: { name?: string }; workflowExecutionTimeout?: string; workflowRunTimeout?: string };
  workflowExecutionInfo?: WorkflowExecutionInfo;
  pendingActivities?: PendingActivity[];
  pendingChildren?: PendingChild[];
  pendingWorkflowTask?: { state?: string; scheduledTime?: string; attempt?: number };
}
export interface HistoryEvent {
  eventId?: string;
  eventTime?: string;
  eventType?: string;
  [attributes: string]: unknown;
}
export interface NamespaceList {
  namespaces: Array<{
    namespaceInfo?: { name?: string; state?: string; description?: string; ownerEmail?: string; id?: string };
    config?: { workflowExecutionRetentionTtl?: string };
    isGlobalNamespace?: boolean;
  }>;
}
export interface TaskQueueDescription {
  pollers?: Array<{ identity?: string; lastAccessTime?: string; ratePerSecond?: number }>;
  stats?: { approximateBacklogCount?: string; approximateBacklogAge?: string };
  taskQueueStatus?: { backlogCountHint?: string };
}

/** One batch job in ListBatchOperations. */
export interface BatchJobInfo {
  jobId?: string;
  state?: string;
  operationType?: string;
  startTime?: string;
  closeTime?: string;
}

/** DescribeBatchOperation. */
export interface BatchJob extends BatchJobInfo {
  reason?: string;
  identity?: string;
  query?: string;
  executions?: Array<{ businessId?: string; runId?: string }>;
  totalOperationCount?: string;
  completeOperationCount?: string;
  failureOperationCount?: string;
}
