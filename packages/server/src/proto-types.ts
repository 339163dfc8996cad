// Type aliases and enum values of the Temporal API used across the server, so that rooms do not
// spell out the long generated namespaces.
import { api } from '@kairos/common';
import type { temporal, google } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
export type { Loose };

export type HistoryEvent = Loose<temporal.api.history.v1.IHistoryEvent>;
export type Payloads = Loose<temporal.api.common.v1.IPayloads>;
export type Payload = Loose<temporal.api.common.v1.IPayload>;
export type Failure = Loose<temporal.api.failure.v1.IFailure>;
export type RetryPolicy = Loose<temporal.api.common.v1.IRetryPolicy>;
export type Header = Loose<temporal.api.common.v1.IHeader>;
export type Memo = Loose<temporal.api.common.v1.IMemo>;
export type SearchAttributes = Loose<temporal.api.common.v1.ISearchAttributes>;
export type Priority = Loose<temporal.api.common.v1.IPriority>;
export type Command = Loose<temporal.api.command.v1.ICommand>;
export type UpdateRequest = Loose<temporal.api.update.v1.IRequest>;
export type UpdateOutcome = Loose<temporal.api.update.v1.IOutcome>;
export type ActivityOutcome = Loose<temporal.api.activity.v1.IActivityExecutionOutcome>;
export type ProtocolMessage = Loose<temporal.api.protocol.v1.IMessage>;
export type Timestamp = Loose<google.protobuf.ITimestamp>;
export type Duration = Loose<google.protobuf.IDuration>;
export type WorkflowServiceNS = typeof temporal.api.workflowservice.v1;
export type WS = typeof temporal.api.workflowservice.v1;

export const EventType = api.enums.v1.EventType;
export const CommandType = api.enums.v1.CommandType;
export const WorkflowExecutionStatus = api.enums.v1.WorkflowExecutionStatus;
export const TimeoutType = api.enums.v1.TimeoutType;
export const RetryState = api.enums.v1.RetryState;
export const WorkflowTaskFailedCause = api.enums.v1.WorkflowTaskFailedCause;
export const TaskQueueKind = api.enums.v1.TaskQueueKind;
export const WorkflowIdReusePolicy = api.enums.v1.WorkflowIdReusePolicy;
export const WorkflowIdConflictPolicy = api.enums.v1.WorkflowIdConflictPolicy;
export const PendingActivityState = api.enums.v1.PendingActivityState;
export const PendingWorkflowTaskState = api.enums.v1.PendingWorkflowTaskState;
export const QueryResultType = api.enums.v1.QueryResultType;
export const QueryRejectCondition = api.enums.v1.QueryRejectCondition;
export const HistoryEventFilterType = api.enums.v1.HistoryEventFilterType;
export const ContinueAsNewInitiator = api.enums.v1.ContinueAsNewInitiator;
export const UpdateStage = api.enums.v1.UpdateWorkflowExecutionLifecycleStage;
export const ParentClosePolicy = api.enums.v1.ParentClosePolicy;

export const PayloadsCodec = looseCodec(api.common.v1.Payloads);
export const FailureCodec = looseCodec(api.failure.v1.Failure);
export const HeaderCodec = looseCodec(api.common.v1.Header);
export const MemoCodec = looseCodec(api.common.v1.Memo);
export const SearchAttributesCodec = looseCodec(api.common.v1.SearchAttributes);
export const RetryPolicyCodec = looseCodec(api.common.v1.RetryPolicy);
export const HistoryEventCodec = looseCodec(api.history.v1.HistoryEvent);
export const ActivityScheduledAttributesCodec = looseCodec(api.history.v1.ActivityTaskScheduledEventAttributes);
export const UpdateRequestCodec = looseCodec(api.update.v1.Request);
export const UpdateOutcomeCodec = looseCodec(api.update.v1.Outcome);
export const ActivityOutcomeCodec = looseCodec(api.activity.v1.ActivityExecutionOutcome);
export const UserMetadataCodec = looseCodec(api.sdk.v1.UserMetadata);
export const PayloadCodec = looseCodec(api.common.v1.Payload);
export const LinkCodec = looseCodec(api.common.v1.Link);

interface Writer {
  finish(): Uint8Array;
  readonly len: number;
}

/** Wraps a generated message type so that its encoder takes Loose objects (int64 as numbers). */
function looseCodec<T, M>(type: { encode(message: T): Writer; decode(bytes: Uint8Array): M }): { encode(message: Loose<T>): Writer; decode(bytes: Uint8Array): M } {
  return {
    encode: (message) => type.encode(message as unknown as T),
    decode: (bytes) => type.decode(bytes),
  };
}
