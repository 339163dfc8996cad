// Plain-object shapes of the few Temporal API messages the SDK builds and reads on both sides of the
// sandbox boundary. Decoded protobufjs messages fit them, and protobufjs encodes them as they are;
// declaring them here keeps @temporalio/proto (and its Node-only runtime) out of the sandbox.
import type { Payload } from './payload.js';

/** A protobufjs int64: a number when we build it, a Long when protobufjs decoded it. */
export type Int64 = number | string | { toNumber(): number };

export function int64ToNumber(value: Int64 | null | undefined): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return Number(value);
  return value.toNumber();
}

export interface ProtoDuration {
  seconds?: Int64 | null;
  nanos?: number | null;
}

export function msToProtoDuration(ms: number): { seconds: number; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

export function protoDurationToMs(duration: ProtoDuration | null | undefined): number | undefined {
  if (duration === null || duration === undefined) return undefined;
  return int64ToNumber(duration.seconds) * 1000 + Math.floor((duration.nanos ?? 0) / 1e6);
}

export interface ProtoPayloads {
  payloads?: Payload[] | null;
}

export interface ProtoFailure {
  message?: string | null;
  source?: string | null;
  stackTrace?: string | null;
  encodedAttributes?: Payload | null;
  cause?: ProtoFailure | null;
  applicationFailureInfo?: {
    type?: string | null;
    nonRetryable?: boolean | null;
    details?: ProtoPayloads | null;
    nextRetryDelay?: ProtoDuration | null;
    category?: number | null;
  } | null;
  timeoutFailureInfo?: { timeoutType?: number | null; lastHeartbeatDetails?: ProtoPayloads | null } | null;
  canceledFailureInfo?: { details?: ProtoPayloads | null; identity?: string | null } | null;
  terminatedFailureInfo?: { identity?: string | null } | null;
  serverFailureInfo?: { nonRetryable?: boolean | null } | null;
  activityFailureInfo?: {
    scheduledEventId?: Int64 | null;
    startedEventId?: Int64 | null;
    identity?: string | null;
    activityType?: { name?: string | null } | null;
    activityId?: string | null;
    retryState?: number | null;
  } | null;
  childWorkflowExecutionFailureInfo?: {
    namespace?: string | null;
    workflowExecution?: { workflowId?: string | null; runId?: string | null } | null;
    workflowType?: { name?: string | null } | null;
    initiatedEventId?: Int64 | null;
    startedEventId?: Int64 | null;
    retryState?: number | null;
  } | null;
}

/** temporal.api.enums.v1.RetryState, by name as the official SDK exposes it. */
export const RETRY_STATES = [
  'RETRY_STATE_UNSPECIFIED',
  'RETRY_STATE_IN_PROGRESS',
  'RETRY_STATE_NON_RETRYABLE_FAILURE',
  'RETRY_STATE_TIMEOUT',
  'RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED',
  'RETRY_STATE_RETRY_POLICY_NOT_SET',
  'RETRY_STATE_INTERNAL_SERVER_ERROR',
  'RETRY_STATE_CANCEL_REQUESTED',
] as const;
export type RetryState = (typeof RETRY_STATES)[number] extends `RETRY_STATE_${infer N}` ? N : never;

/** temporal.api.enums.v1.TimeoutType, by name. */
export const TIMEOUT_TYPES = [
  'TIMEOUT_TYPE_UNSPECIFIED',
  'TIMEOUT_TYPE_START_TO_CLOSE',
  'TIMEOUT_TYPE_SCHEDULE_TO_START',
  'TIMEOUT_TYPE_SCHEDULE_TO_CLOSE',
  'TIMEOUT_TYPE_HEARTBEAT',
] as const;
export type TimeoutType = (typeof TIMEOUT_TYPES)[number] extends `TIMEOUT_TYPE_${infer N}` ? N : never;

export function retryStateName(value: number | null | undefined): RetryState {
  return (RETRY_STATES[value ?? 0] ?? 'RETRY_STATE_UNSPECIFIED').slice('RETRY_STATE_'.length) as RetryState;
}

export function retryStateNumber(name: RetryState | undefined): number {
  const index = RETRY_STATES.indexOf(`RETRY_STATE_${name ?? 'UNSPECIFIED'}` as (typeof RETRY_STATES)[number]);
  return index < 0 ? 0 : index;
}

export function timeoutTypeName(value: number | null | undefined): TimeoutType {
  return (TIMEOUT_TYPES[value ?? 0] ?? 'TIMEOUT_TYPE_UNSPECIFIED').slice('TIMEOUT_TYPE_'.length) as TimeoutType;
}

export function timeoutTypeNumber(name: TimeoutType | undefined): number {
  const index = TIMEOUT_TYPES.indexOf(`TIMEOUT_TYPE_${name ?? 'UNSPECIFIED'}` as (typeof TIMEOUT_TYPES)[number]);
  return index < 0 ? 0 : index;
}
