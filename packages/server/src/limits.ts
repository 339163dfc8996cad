// Temporal's default limits (common/dynamicconfig/constants.go in temporalio/temporal), enforced by
// the frontend and the engine so that a workload that runs here also runs on Temporal.
import { PayloadsCodec, type Payloads } from './proto-types.js';

export const LIMITS = {
  maxIdLength: 1000,
  blobSizeLimitError: 2 * 1024 * 1024,
  memoSizeLimitError: 2 * 1024 * 1024,
  historyCountLimitError: 51_200,
  historySizeLimitError: 50 * 1024 * 1024,
  maxPendingActivities: 2000,
  maxPendingChildren: 2000,
  maxPendingSignals: 2000,
  maxSignalsPerExecution: 10_000,
  historyMaxPageSize: 256,
  /** suggest_continue_as_new is set on WorkflowTaskStarted past these (Temporal's defaults). */
  historyCountSuggestContinueAsNew: 4096,
  historySizeSuggestContinueAsNew: 4 * 1024 * 1024,
  /** history.maxInFlightUpdates / history.maxTotalUpdates. */
  maxInFlightUpdates: 10,
  maxTotalUpdates: 2000,
} as const;

/** Returns an error message when the payloads exceed the blob size limit, else null. */
export function checkPayloadSize(payloads: Payloads | null | undefined, _field: string): string | null {
  if (!payloads) return null;
  const size = PayloadsCodec.encode(payloads).len;
  return size > LIMITS.blobSizeLimitError ? 'Blob data size exceeds limit.' : null;
}
