// @kairos/workflow: the API workflow code imports. Everything here runs inside the worker's
// deterministic sandbox and may import nothing from Node.
export {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  ServerFailure,
  TemporalFailure,
  TerminatedFailure,
  TimeoutFailure,
  defaultPayloadConverter,
  defineQuery,
  defineSearchAttributeKey,
  HandlerUnfinishedPolicy,
  SearchAttributeType,
  TypedSearchAttributes,
  type SearchAttributeKey,
  type SearchAttributePair,
  type SearchAttributeUpdatePair,
  type UpdateInfo,
  defineSignal,
  defineUpdate,
  isCancellation,
  type ApplicationFailureOptions,
  type Duration,
  type Payload,
  type QueryDefinition,
  type RetryPolicy,
  type SignalDefinition,
  type UpdateDefinition,
  type Workflow,
  type WorkflowInfo,
} from '@kairos/sdk-common';
export { CancellationScope, type CancellationScopeOptions } from './cancellation-scope.js';
export {
  ContinueAsNew,
  DeterminismViolationError,
  IllegalStateError,
  LocalActivityDoBackoff,
  WorkflowExecutionAlreadyStartedError,
} from './errors.js';
export {
  ChildWorkflowCancellationType,
  ParentClosePolicy,
  executeChild,
  startChild,
  type ChildWorkflowHandle,
  type ChildWorkflowOptions,
} from './child-workflows.js';
export { getExternalWorkflowHandle, type ExternalWorkflowHandle } from './external-workflows.js';
export { ActivityCancellationType, proxyActivities, type ActivityInterfaceFor, type ActivityOptions } from './activities.js';
export { proxyLocalActivities, type LocalActivityOptions } from './local-activities.js';
export { upsertMemo, upsertSearchAttributes, type SearchAttributes } from './upserts.js';
export { condition, sleep } from './timers.js';
export { deprecatePatch, patched } from './patches.js';
export { log } from './logger.js';
export {
  allHandlersFinished,
  continueAsNew,
  currentUpdateInfo,
  inWorkflowContext,
  makeContinueAsNewFunc,
  setDefaultQueryHandler,
  setDefaultSignalHandler,
  setDefaultUpdateHandler,
  setHandler,
  uuid4,
  workflowInfo,
  type ContinueAsNewOptions,
  type DefaultQueryHandler,
  type DefaultSignalHandler,
  type DefaultUpdateHandler,
  type SignalHandlerOptions,
  type UpdateHandlerOptions,
} from './workflow-api.js';
export type {
  ActivateInput,
  ActivityInput,
  LocalActivityInput,
  ConcludeActivationInput,
  ConcludeActivationOutput,
  ContinueAsNewInput,
  Headers,
  Next,
  QueryInput,
  SignalInput,
  SignalWorkflowInput,
  StartChildWorkflowExecutionInput,
  TimerInput,
  UpdateInput,
  WorkflowExecuteInput,
  WorkflowInboundCallsInterceptor,
  WorkflowInterceptors,
  WorkflowInterceptorsFactory,
  WorkflowInternalsInterceptor,
  WorkflowOutboundCallsInterceptor,
} from './interceptors.js';
