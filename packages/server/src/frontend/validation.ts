// Request validation shared by the handlers. Messages follow Temporal's wording where clients or
// users rely on it ("WorkflowId is not set on request.").
import { durationToMs } from '@kairos/common';
import type { Duration, Memo, Payloads } from '../proto-types.js';
import { MemoCodec } from '../proto-types.js';
import { InvalidArgumentError } from '../errors.js';
import { LIMITS, checkPayloadSize, exceedsMemoLimit } from '../limits.js';
import { validateRetryPolicy } from '../history/retry.js';
import type { RetryPolicy, SearchAttributes } from '../proto-types.js';
import { checkSearchAttributes, type NamespaceSearchAttributes } from '../visibility/search-attribute-values.js';

export function requireString(value: string | null | undefined, field: string): string {
  if (!value) throw new InvalidArgumentError(`${field} is not set on request.`);
  return value;
}

export function requireId(value: string | null | undefined, field: string): string {
  const v = requireString(value, field);
  if (v.length > LIMITS.maxIdLength) throw new InvalidArgumentError(`${field} length exceeds limit.`);
  return v;
}

export function optionalId(value: string | null | undefined, field: string): string {
  if (value && value.length > LIMITS.maxIdLength) throw new InvalidArgumentError(`${field} length exceeds limit.`);
  return value ?? '';
}

export function checkDuration(d: Duration | null | undefined, field: string): void {
  if (d && durationToMs(d) < 0) throw new InvalidArgumentError(`Invalid ${field}.`);
}

export function checkPayloads(p: Payloads | null | undefined, field: string): void {
  const problem = checkPayloadSize(p, field);
  if (problem) throw new InvalidArgumentError(problem);
}

export function checkMemo(memo: Memo | null | undefined): void {
  if (memo && exceedsMemoLimit(MemoCodec.encode(memo).len)) throw new InvalidArgumentError('Memo size exceeds limit.');
}

export function checkRetryPolicy(policy: RetryPolicy | null | undefined): void {
  const problem = validateRetryPolicy(policy, 'RetryPolicy');
  if (problem) throw new InvalidArgumentError(problem);
}

/**
 * Checks the search attributes a start request sets against the namespace's registered ones
 * (INVALID_ARGUMENT naming the first bad one) and stamps each payload with its type, in place.
 */
export function checkStartSearchAttributes(req: { searchAttributes?: SearchAttributes | null }, custom: NamespaceSearchAttributes): void {
  if (!req.searchAttributes) return;
  const checked = checkSearchAttributes(custom, req.searchAttributes);
  if (!checked.ok) throw new InvalidArgumentError(checked.message);
  req.searchAttributes = checked.searchAttributes;
}
