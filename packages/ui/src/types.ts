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
    namespaceInfo?: { name?: string; state?: string; description?: string; ownerEmail?: string; id?: string; capabilities?: Record<string, boolean | undefined> };
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

/** temporal.api.worker.v1: a worker's latest heartbeat (docs/workers.md). */
export interface WorkerSlotsInfo {
  currentAvailableSlots?: number;
  currentUsedSlots?: number;
  slotSupplierKind?: string;
  totalProcessedTasks?: number;
  totalFailedTasks?: number;
  lastIntervalProcessedTasks?: number;
  lastIntervalFailureTasks?: number;
}
export interface WorkerPollerInfo {
  currentPollers?: number;
  lastSuccessfulPollTime?: string;
  isAutoscaling?: boolean;
}
export interface DeploymentVersion {
  deploymentName?: string;
  buildId?: string;
}
export interface WorkerHeartbeat {
  workerInstanceKey?: string;
  workerIdentity?: string;
  hostInfo?: { hostName?: string; processId?: string; workerGroupingKey?: string; currentHostCpuUsage?: number; currentHostMemUsage?: number };
  taskQueue?: string;
  deploymentVersion?: DeploymentVersion;
  sdkName?: string;
  sdkVersion?: string;
  status?: string;
  startTime?: string;
  heartbeatTime?: string;
  elapsedSinceLastHeartbeat?: string;
  workflowTaskSlotsInfo?: WorkerSlotsInfo;
  activityTaskSlotsInfo?: WorkerSlotsInfo;
  nexusTaskSlotsInfo?: WorkerSlotsInfo;
  localActivitySlotsInfo?: WorkerSlotsInfo;
  workflowPollerInfo?: WorkerPollerInfo;
  workflowStickyPollerInfo?: WorkerPollerInfo;
  activityPollerInfo?: WorkerPollerInfo;
  nexusPollerInfo?: WorkerPollerInfo;
  totalStickyCacheHit?: number;
  totalStickyCacheMiss?: number;
  currentStickyCacheSize?: number;
  plugins?: Array<{ name?: string; version?: string }>;
}
/** ListWorkers' summary of one worker. */
export interface WorkerListInfo {
  workerInstanceKey?: string;
  workerIdentity?: string;
  taskQueue?: string;
  deploymentVersion?: DeploymentVersion;
  sdkName?: string;
  sdkVersion?: string;
  status?: string;
  startTime?: string;
  hostName?: string;
  processId?: string;
  workerGroupingKey?: string;
}
export interface ListWorkersResponse {
  workers?: WorkerListInfo[];
  workersInfo?: Array<{ workerHeartbeat?: WorkerHeartbeat }>;
  nextPageToken?: string;
}
