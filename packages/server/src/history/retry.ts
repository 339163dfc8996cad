// Retry policies: Temporal's defaults and the backoff between attempts.
import { durationToMs, msToDuration } from '@kairos/common';
import type { Failure, RetryPolicy } from '../proto-types.js';
import { RetryState } from '../proto-types.js';

export interface NormalizedRetryPolicy {
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
  /** 0 = unlimited. */
  maximumAttempts: number;
  nonRetryableErrorTypes: string[];
}

/** Fills Temporal's defaults: 1 s initial, coefficient 2, max 100 x initial, unlimited attempts. */
export function normalizeRetryPolicy(policy: RetryPolicy | null | undefined): NormalizedRetryPolicy {
  const initialIntervalMs = durationToMs(policy?.initialInterval) || 1000;
  const backoffCoefficient = policy?.backoffCoefficient || 2;
  const maximumIntervalMs = durationToMs(policy?.maximumInterval) || 100 * initialIntervalMs;
  return {
    initialIntervalMs,
    backoffCoefficient,
    maximumIntervalMs,
    maximumAttempts: policy?.maximumAttempts ?? 0,
    nonRetryableErrorTypes: [...(policy?.nonRetryableErrorTypes ?? [])],
  };
}

export function retryPolicyToProto(p: NormalizedRetryPolicy): RetryPolicy {
  return {
    initialInterval: msToDuration(p.initialIntervalMs),
    backoffCoefficient: p.backoffCoefficient,
    maximumInterval: msToDuration(p.maximumIntervalMs),
    maximumAttempts: p.maximumAttempts,
    nonRetryableErrorTypes: p.nonRetryableErrorTypes,
  };
}

/** Validation errors name the field, as Temporal's do; returns null when valid. */
export function validateRetryPolicy(policy: RetryPolicy | null | undefined, field: string): string | null {
  if (!policy) return null;
  if (durationToMs(policy.initialInterval) < 0) return `${field}.InitialInterval cannot be negative.`;
  if (policy.backoffCoefficient && policy.backoffCoefficient < 1) return `${field}.BackoffCoefficient cannot be less than 1.`;
  if (durationToMs(policy.maximumInterval) < 0) return `${field}.MaximumInterval cannot be negative.`;
  const initial = durationToMs(policy.initialInterval);
  const max = durationToMs(policy.maximumInterval);
  if (max > 0 && max < initial) return `${field}.MaximumInterval cannot be less than InitialInterval.`;
  if ((policy.maximumAttempts ?? 0) < 0) return `${field}.MaximumAttempts cannot be negative.`;
  return null;
}

export interface RetryDecision {
  /** RetryState.IN_PROGRESS when a retry is scheduled; otherwise why not. */
  retryState: number;
  /** Delay before the next attempt (valid when retrying). */
  delayMs: number;
}

/**
 * Decides whether attempt `attempt` (which just failed) is retried.
 * `deadlineMs` is the schedule-to-close / expiration deadline (0 = none).
 */
export function decideRetry(
  policy: NormalizedRetryPolicy,
  attempt: number,
  failure: Failure | null,
  nowMs: number,
  deadlineMs: number,
): RetryDecision {
  const app = failure?.applicationFailureInfo;
  if (app?.nonRetryable) return { retryState: RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE, delayMs: 0 };
  // Temporal's IsRetryableFailure: a server failure marked so, a termination or a cancellation.
  if (failure?.serverFailureInfo?.nonRetryable || failure?.terminatedFailureInfo || failure?.canceledFailureInfo) {
    return { retryState: RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE, delayMs: 0 };
  }
  const type = app?.type ?? '';
  if (app && policy.nonRetryableErrorTypes.includes(type)) return { retryState: RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE, delayMs: 0 };
  if (failure?.timeoutFailureInfo && policy.nonRetryableErrorTypes.includes(timeoutTypeName(failure.timeoutFailureInfo.timeoutType ?? 0))) {
    return { retryState: RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE, delayMs: 0 };
  }
  if (policy.maximumAttempts > 0 && attempt >= policy.maximumAttempts) return { retryState: RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED, delayMs: 0 };
  let delayMs = durationToMs(app?.nextRetryDelay);
  if (delayMs <= 0) {
    delayMs = Math.min(policy.initialIntervalMs * Math.pow(policy.backoffCoefficient, attempt - 1), policy.maximumIntervalMs);
  }
  if (deadlineMs > 0 && nowMs + delayMs >= deadlineMs) return { retryState: RetryState.RETRY_STATE_TIMEOUT, delayMs: 0 };
  return { retryState: RetryState.RETRY_STATE_IN_PROGRESS, delayMs };
}

function timeoutTypeName(t: number): string {
  switch (t) {
    case 1:
      return 'TemporalTimeout:StartToClose';
    case 2:
      return 'TemporalTimeout:ScheduleToStart';
    case 3:
      return 'TemporalTimeout:ScheduleToClose';
    case 4:
      return 'TemporalTimeout:Heartbeat';
    default:
      return '';
  }
}
