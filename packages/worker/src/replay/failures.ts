// The failures a workflow sees for activities and children that did not complete. The server writes
// only the reason (timeout, application failure, ...); like sdk-core, the worker wraps it in an
// ActivityFailure / ChildWorkflowFailure that says which activity or child it was.
import { int64ToNumber, type Int64, type ProtoFailure } from '@kairos/sdk-common';

export interface ScheduledActivity {
  seq: number;
  activityType: string;
  activityId: string;
  scheduledEventId: number;
}

export interface InitiatedChild {
  seq: number;
  workflowId: string;
  workflowType: string;
  namespace: string;
  initiatedEventId: number;
}

export function activityFailure(
  activity: ScheduledActivity,
  message: string,
  startedEventId: Int64 | null | undefined,
  identity: string | null | undefined,
  retryState: number | null | undefined,
  cause: ProtoFailure | null | undefined,
): ProtoFailure {
  return {
    message,
    cause: cause ?? null,
    activityFailureInfo: {
      scheduledEventId: activity.scheduledEventId,
      startedEventId: int64ToNumber(startedEventId),
      identity: identity ?? '',
      activityType: { name: activity.activityType },
      activityId: activity.activityId,
      retryState: retryState ?? 0,
    },
  };
}

export function childFailure(
  child: InitiatedChild,
  execution: { workflowId?: string | null; runId?: string | null } | null | undefined,
  startedEventId: Int64 | null | undefined,
  retryState: number | null | undefined,
  cause: ProtoFailure,
): ProtoFailure {
  return {
    message: 'Child Workflow execution failed',
    cause,
    childWorkflowExecutionFailureInfo: {
      namespace: child.namespace,
      workflowExecution: { workflowId: execution?.workflowId ?? child.workflowId, runId: execution?.runId ?? '' },
      workflowType: { name: child.workflowType },
      initiatedEventId: child.initiatedEventId,
      startedEventId: int64ToNumber(startedEventId),
      retryState: retryState ?? 0,
    },
  };
}
