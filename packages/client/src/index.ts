// @kairos/client: connect to a Temporal-compatible server and start, signal, query, update and manage workflows.
export { Connection, type CallOptions, type ConnectionOptions, type TestService, type TLSConfig, type WorkflowService } from './connection.js';
export { Client, WorkflowClient, type ClientOptions, type SignalWithStartOptions, type WorkflowClientOptions } from './workflow-client.js';
export { AsyncCompletionClient, type AsyncCompletionClientOptions, type FullActivityId } from './async-completion-client.js';
export { loadDataConverter, type DataConverter } from './data-converter.js';
export { decodeExecutionInfo, type WorkflowExecutionInfo } from './execution-info.js';
export { WorkflowHandle, type ResultOptions, type WorkflowExecutionDescription } from './workflow-handle.js';
export {
  defaultIdentity,
  retryPolicyToProto,
  type WorkflowIdConflictPolicy,
  type WorkflowIdReusePolicy,
  type WorkflowStartOptions,
} from './workflow-options.js';
export {
  WorkflowUpdateHandle,
  WorkflowUpdateStage,
  type WorkflowUpdateOptions,
} from './workflow-update.js';
export { WithStartWorkflowOperation, type WithStartWorkflowOperationOptions } from './update-with-start.js';
export * from './errors.js';
export {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  CompleteAsyncError,
  ServerFailure,
  TemporalFailure,
  TerminatedFailure,
  TimeoutFailure,
  DefaultFailureConverter,
  type FailureConverter,
  defineQuery,
  defineSignal,
  defineUpdate,
  defineSearchAttributeKey,
  SearchAttributeType,
  TypedSearchAttributes,
  type SearchAttributeKey,
  type SearchAttributePair,
  type SearchAttributes,
  type UpdateDefinition,
  type Payload,
  type PayloadCodec,
  type PayloadConverter,
} from '@kairos/sdk-common';
export type {
  ClientInterceptors,
  Headers,
  Next,
  WorkflowCancelInput,
  WorkflowClientInterceptor,
  WorkflowDescribeInput,
  WorkflowExecution,
  WorkflowQueryInput,
  WorkflowSignalInput,
  WorkflowSignalWithStartInput,
  WorkflowStartInput,
  WorkflowStartUpdateInput,
  WorkflowStartUpdateOutput,
  WorkflowStartUpdateWithStartInput,
  WorkflowStartUpdateWithStartOutput,
  WorkflowTerminateInput,
} from './interceptors.js';
