// Converts between thrown errors and temporal.api.failure.v1.Failure, following the official SDK's
// mapping so that failures written by either SDK read the same in both.
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  ServerFailure,
  TemporalFailure,
  TerminatedFailure,
  TimeoutFailure,
} from './failures.js';
import { fromPayloads, toPayloads, type PayloadConverter } from './payload.js';
import {
  int64ToNumber,
  msToProtoDuration,
  protoDurationToMs,
  retryStateName,
  retryStateNumber,
  timeoutTypeName,
  timeoutTypeNumber,
  type ProtoFailure,
} from './proto-shapes.js';

export const FAILURE_SOURCE = 'KairosTypeScriptSDK';

/** Failure chains longer than this are cut: a cycle of causes must not loop forever. */
const MAX_CAUSE_DEPTH = 20;

export function errorToFailure(error: unknown, converter: PayloadConverter, depth = 0): ProtoFailure {
  if (!(error instanceof Error)) {
    return {
      message: String(error),
      source: FAILURE_SOURCE,
      applicationFailureInfo: { type: 'Error', nonRetryable: false },
    };
  }
  // A failure that came from the server travels on unchanged (keeps its original source and info).
  if (error instanceof TemporalFailure && error.failure !== undefined) return error.failure;
  const base: ProtoFailure = { message: error.message, source: FAILURE_SOURCE, stackTrace: error.stack ?? '' };
  const cause = error.cause;
  if (cause !== undefined && cause !== null && depth < MAX_CAUSE_DEPTH) {
    base.cause = errorToFailure(cause, converter, depth + 1);
  }
  if (error instanceof ApplicationFailure) {
    const nextRetryDelayMs = error.nextRetryDelayMs();
    base.applicationFailureInfo = {
      type: error.type ?? error.name,
      nonRetryable: error.nonRetryable ?? false,
      details: error.details && error.details.length > 0 ? { payloads: toPayloads(converter, error.details) } : null,
      nextRetryDelay: nextRetryDelayMs === undefined ? null : msToProtoDuration(nextRetryDelayMs),
      category: error.category === 'BENIGN' ? 1 : 0,
    };
  } else if (error instanceof CancelledFailure) {
    base.canceledFailureInfo = {
      details: error.details.length > 0 ? { payloads: toPayloads(converter, error.details) } : null,
    };
  } else if (error instanceof TimeoutFailure) {
    base.timeoutFailureInfo = {
      timeoutType: timeoutTypeNumber(error.timeoutType),
      lastHeartbeatDetails:
        error.lastHeartbeatDetails === undefined ? null : { payloads: toPayloads(converter, [error.lastHeartbeatDetails]) },
    };
  } else if (error instanceof TerminatedFailure) {
    base.terminatedFailureInfo = {};
  } else if (error instanceof ServerFailure) {
    base.serverFailureInfo = { nonRetryable: error.nonRetryable };
  } else if (error instanceof ActivityFailure) {
    base.activityFailureInfo = {
      activityType: { name: error.activityType },
      activityId: error.activityId ?? '',
      retryState: retryStateNumber(error.retryState),
      identity: error.identity ?? '',
    };
  } else if (error instanceof ChildWorkflowFailure) {
    base.childWorkflowExecutionFailureInfo = {
      namespace: error.namespace ?? '',
      workflowExecution: { workflowId: error.execution.workflowId, runId: error.execution.runId ?? '' },
      workflowType: { name: error.workflowType },
      retryState: retryStateNumber(error.retryState),
    };
  } else {
    // A plain Error: Temporal's convention is an ApplicationFailure typed by the error's name.
    base.applicationFailureInfo = { type: error.name, nonRetryable: false };
  }
  return base;
}

export function failureToError(failure: ProtoFailure, converter: PayloadConverter, depth = 0): TemporalFailure {
  const cause =
    failure.cause !== undefined && failure.cause !== null && depth < MAX_CAUSE_DEPTH
      ? failureToError(failure.cause, converter, depth + 1)
      : undefined;
  const common = encodedCommonAttributes(failure, converter);
  const message = common.message ?? failure.message ?? '';
  let error: TemporalFailure;
  if (failure.applicationFailureInfo) {
    const info = failure.applicationFailureInfo;
    const delay = protoDurationToMs(info.nextRetryDelay);
    error = new ApplicationFailure(
      message,
      info.type ?? undefined,
      Boolean(info.nonRetryable),
      fromPayloads(converter, info.details?.payloads),
      cause,
      delay,
      info.category === 1 ? 'BENIGN' : undefined,
    );
  } else if (failure.canceledFailureInfo) {
    error = new CancelledFailure(message, fromPayloads(converter, failure.canceledFailureInfo.details?.payloads), cause);
  } else if (failure.timeoutFailureInfo) {
    const info = failure.timeoutFailureInfo;
    const heartbeat = fromPayloads(converter, info.lastHeartbeatDetails?.payloads)[0];
    error = new TimeoutFailure(message, heartbeat, timeoutTypeName(info.timeoutType));
  } else if (failure.terminatedFailureInfo) {
    error = new TerminatedFailure(message, cause);
  } else if (failure.serverFailureInfo) {
    error = new ServerFailure(message, Boolean(failure.serverFailureInfo.nonRetryable), cause);
  } else if (failure.activityFailureInfo) {
    const info = failure.activityFailureInfo;
    error = new ActivityFailure(
      message,
      info.activityType?.name ?? '',
      info.activityId ?? undefined,
      retryStateName(info.retryState),
      info.identity ?? undefined,
      cause,
    );
  } else if (failure.childWorkflowExecutionFailureInfo) {
    const info = failure.childWorkflowExecutionFailureInfo;
    error = new ChildWorkflowFailure(
      info.namespace ?? undefined,
      { workflowId: info.workflowExecution?.workflowId ?? '', runId: info.workflowExecution?.runId ?? undefined },
      info.workflowType?.name ?? '',
      retryStateName(info.retryState),
      cause,
    );
  } else {
    error = new TemporalFailure(message, cause);
  }
  error.failure = failure;
  const stackTrace = common.stackTrace ?? failure.stackTrace;
  if (stackTrace) error.stack = stackTrace;
  return error;
}

/**
 * Message and stack trace of a failure written with `encodeCommonAttributes` (the official SDK's
 * JSON `{ message, stack_trace }` in `encodedAttributes`); empty when it has none.
 */
function encodedCommonAttributes(failure: ProtoFailure, converter: PayloadConverter): { message?: string; stackTrace?: string } {
  if (!failure.encodedAttributes) return {};
  let attributes: unknown;
  try {
    attributes = converter.fromPayload(failure.encodedAttributes);
  } catch {
    return {};
  }
  if (typeof attributes !== 'object' || attributes === null) return {};
  const { message, stack_trace: stackTrace } = attributes as { message?: unknown; stack_trace?: unknown };
  return {
    message: typeof message === 'string' ? message : undefined,
    stackTrace: typeof stackTrace === 'string' ? stackTrace : undefined,
  };
}

/** Scheduled event id of an activity failure (0 when absent): used by tests and error messages. */
export function activityScheduledEventId(failure: ProtoFailure): number {
  return int64ToNumber(failure.activityFailureInfo?.scheduledEventId);
}
