// Temporal's default limits (common/dynamicconfig/constants.go in temporalio/temporal), enforced by
// the frontend and the engine so that a workload that runs here also runs on Temporal.
import { PayloadsCodec, type Payloads } from './proto-types.js';

export const LIMITS = {
  maxIdLength: 1000,
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

/**
 * The size limits an operator may set with dynamic config (`limit.blobSize.error` and the others, as
 * Temporal names them). Temporal scopes them by namespace; here one value holds for the whole process,
 * set when a server starts (two servers in one process with different values would share the last).
 */
export interface SizeLimits {
  /** A payload (an input, a result, a failure's details) larger than this is refused. */
  readonly blobSizeLimitError: number;
  /** Only a payload above this is checked against the error limit (Temporal enforces both). */
  readonly blobSizeLimitWarn: number;
  readonly memoSizeLimitError: number;
  readonly memoSizeLimitWarn: number;
  /** Reported to SDKs in DescribeNamespace (history.workflowTaskCompletionBufferSizeLimit). */
  readonly workflowTaskCompletionSizeLimitError: number;
}

/** Temporal's defaults (common/dynamicconfig/constants.go). */
export const DEFAULT_SIZE_LIMITS: SizeLimits = {
  blobSizeLimitError: 2 * 1024 * 1024,
  blobSizeLimitWarn: 512 * 1024,
  memoSizeLimitError: 2 * 1024 * 1024,
  memoSizeLimitWarn: 2 * 1024,
  workflowTaskCompletionSizeLimitError: 40 * 1024 * 1024,
};

/** Dynamic config keys of the size limits. */
export const SIZE_LIMIT_KEYS: Readonly<Record<keyof SizeLimits, string>> = {
  blobSizeLimitError: 'limit.blobSize.error',
  blobSizeLimitWarn: 'limit.blobSize.warn',
  memoSizeLimitError: 'limit.memoSize.error',
  memoSizeLimitWarn: 'limit.memoSize.warn',
  workflowTaskCompletionSizeLimitError: 'history.workflowTaskCompletionBufferSizeLimit',
};

let sizeLimits: SizeLimits = DEFAULT_SIZE_LIMITS;

export function currentSizeLimits(): SizeLimits {
  return sizeLimits;
}

/**
 * Sets the size limits from a server's dynamic config: the keys it names, the defaults for the rest.
 * Throws on a value that is not a positive integer, so that a typo does not silently lift a limit.
 */
export function configureSizeLimits(config: ReadonlyMap<string, unknown>): SizeLimits {
  const next: Record<string, number> = { ...DEFAULT_SIZE_LIMITS };
  for (const [field, key] of Object.entries(SIZE_LIMIT_KEYS)) {
    const raw = config.get(key);
    if (raw === undefined) continue;
    const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      throw new Error(`dynamic config ${key} must be a positive integer (bytes), got ${JSON.stringify(raw)}`);
    }
    next[field] = value;
  }
  sizeLimits = next as unknown as SizeLimits;
  return sizeLimits;
}

/** Temporal's check: a size above the warn limit is refused when it is also above the error limit. */
export function exceedsBlobLimit(size: number): boolean {
  return size > sizeLimits.blobSizeLimitWarn && size > sizeLimits.blobSizeLimitError;
}

export function exceedsMemoLimit(size: number): boolean {
  return size > sizeLimits.memoSizeLimitWarn && size > sizeLimits.memoSizeLimitError;
}

/** The encoded size of payloads (0 when absent). */
export function payloadsSize(payloads: Payloads | null | undefined): number {
  return payloads ? PayloadsCodec.encode(payloads).len : 0;
}

/** Temporal's size of a map of payloads (search attributes, memo fields): keys and data bytes. */
export function payloadMapSize(fields: Record<string, { data?: Uint8Array | null }> | null | undefined): number {
  let size = 0;
  for (const [key, payload] of Object.entries(fields ?? {})) size += Buffer.byteLength(key) + (payload.data?.length ?? 0);
  return size;
}

/** Temporal's size of a map of payload lists (a marker's details): keys and encoded lists. */
export function payloadsMapSize(fields: Record<string, Payloads> | null | undefined): number {
  let size = 0;
  for (const [key, payloads] of Object.entries(fields ?? {})) size += Buffer.byteLength(key) + payloadsSize(payloads);
  return size;
}

/** Returns an error message when the payloads exceed the blob size limit, else null. */
export function checkPayloadSize(payloads: Payloads | null | undefined, _field: string): string | null {
  return exceedsBlobLimit(payloadsSize(payloads)) ? 'Blob data size exceeds limit.' : null;
}
