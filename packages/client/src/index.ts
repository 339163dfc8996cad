// @kairos/client: connect to a Temporal-compatible server and start, signal, query and manage workflows.
export { Connection, type CallOptions, type ConnectionOptions, type TLSConfig, type WorkflowService } from './connection.js';
export { Client, WorkflowClient, type ClientOptions, type SignalWithStartOptions, type WorkflowClientOptions } from './workflow-client.js';
export { decodeExecutionInfo, type WorkflowExecutionInfo } from './execution-info.js';
export { WorkflowHandle, type ResultOptions, type WorkflowExecutionDescription } from './workflow-handle.js';
export {
  defaultIdentity,
  retryPolicyToProto,
  type WorkflowIdConflictPolicy,
  type WorkflowIdReusePolicy,
  type WorkflowStartOptions,
} from './workflow-options.js';
export * from './errors.js';
export {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  ServerFailure,
  TemporalFailure,
  TerminatedFailure,
  TimeoutFailure,
  defineQuery,
  defineSignal,
} from '@kairos/sdk-common';
