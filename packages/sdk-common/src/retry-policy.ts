import { msFromDuration, type Duration } from './duration.js';

/** A retry policy as users write it (names follow the official SDK). */
export interface RetryPolicy {
  initialInterval?: Duration;
  backoffCoefficient?: number;
  maximumInterval?: Duration;
  maximumAttempts?: number;
  nonRetryableErrorTypes?: string[];
}

/** The same policy in milliseconds: what crosses the sandbox boundary and becomes the proto. */
export interface CompiledRetryPolicy {
  initialIntervalMs?: number;
  backoffCoefficient?: number;
  maximumIntervalMs?: number;
  maximumAttempts?: number;
  nonRetryableErrorTypes?: string[];
}

export function compileRetryPolicy(policy: RetryPolicy): CompiledRetryPolicy {
  if (policy.backoffCoefficient !== undefined && policy.backoffCoefficient < 1) {
    throw new TypeError('retry.backoffCoefficient must be at least 1');
  }
  if (policy.maximumAttempts !== undefined && (!Number.isInteger(policy.maximumAttempts) || policy.maximumAttempts < 0)) {
    throw new TypeError('retry.maximumAttempts must be a non-negative integer');
  }
  const compiled: CompiledRetryPolicy = {};
  if (policy.initialInterval !== undefined) compiled.initialIntervalMs = msFromDuration(policy.initialInterval);
  if (policy.backoffCoefficient !== undefined) compiled.backoffCoefficient = policy.backoffCoefficient;
  if (policy.maximumInterval !== undefined) compiled.maximumIntervalMs = msFromDuration(policy.maximumInterval);
  if (policy.maximumAttempts !== undefined) compiled.maximumAttempts = policy.maximumAttempts;
  if (policy.nonRetryableErrorTypes !== undefined) compiled.nonRetryableErrorTypes = [...policy.nonRetryableErrorTypes];
  return compiled;
}
