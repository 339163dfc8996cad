// Local activity markers as sdk-core writes them: RecordMarker "core_local_activity" with details
//   "data":   [json LocalActivityMarkerData, field names in snake_case, times as {seconds, nanos}:
//              {"seq", "attempt", "activity_id", "activity_type", "complete_time", "backoff",
//               "original_schedule_time"}]
//   "result": [the result payload]            (only when the activity completed)
// and the failure (failed, timed out, cancelled, or failed and backing off) in the marker's own
// `failure` field. A marker with `backoff` set means "retry after a durable timer" (DoBackoff).
import type { temporal } from '@temporalio/proto';
import { api } from '@kairos/common';
import {
  decodeUtf8,
  defaultPayloadConverter,
  type LocalActivityMarker,
  type LocalActivityResolution,
  type Payload,
  type ProtoFailure,
} from '@kairos/sdk-common';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export const LOCAL_ACTIVITY_MARKER_NAME = 'core_local_activity';

interface ProtoTime {
  seconds: number;
  nanos: number;
}

function toProtoTime(ms: number | undefined): ProtoTime | null {
  if (ms === undefined) return null;
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

function fromProtoTime(value: unknown): number | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { seconds, nanos } = value as { seconds?: unknown; nanos?: unknown };
  return Number(seconds ?? 0) * 1000 + Math.floor(Number(nanos ?? 0) / 1e6);
}

export function localActivityMarkerDetails(marker: LocalActivityMarker): Record<string, { payloads: Payload[] }> {
  const data = {
    seq: marker.seq,
    attempt: marker.attempt,
    activity_id: marker.activityId,
    activity_type: marker.activityType,
    complete_time: toProtoTime(marker.completeTimeMs),
    backoff: toProtoTime(marker.backoffMs),
    original_schedule_time: toProtoTime(marker.originalScheduleTimeMs),
  };
  const details: Record<string, { payloads: Payload[] }> = { data: { payloads: [defaultPayloadConverter.toPayload(data)] } };
  if (marker.result !== undefined) details['result'] = { payloads: [marker.result] };
  return details;
}

/** The local activity a MarkerRecorded event records, or undefined for any other event. */
export function localActivityMarkerOf(event: HistoryEvent | undefined): LocalActivityMarker | undefined {
  const attributes = event?.markerRecordedEventAttributes;
  if (!attributes || attributes.markerName !== LOCAL_ACTIVITY_MARKER_NAME) return undefined;
  const payload = attributes.details?.['data']?.payloads?.[0];
  if (payload === undefined) return undefined;
  const data = JSON.parse(decodeUtf8(payload.data ?? new Uint8Array())) as Record<string, unknown>;
  return {
    seq: Number(data['seq'] ?? 0),
    attempt: Number(data['attempt'] ?? 0),
    activityId: String(data['activity_id'] ?? ''),
    activityType: String(data['activity_type'] ?? ''),
    completeTimeMs: fromProtoTime(data['complete_time']),
    backoffMs: fromProtoTime(data['backoff']),
    originalScheduleTimeMs: fromProtoTime(data['original_schedule_time']),
    result: attributes.details?.['result']?.payloads?.[0] ?? undefined,
    failure: (attributes.failure as ProtoFailure | null | undefined) ?? undefined,
  };
}

function isCancelFailure(failure: ProtoFailure): boolean {
  return !!failure.canceledFailureInfo || !!failure.cause?.canceledFailureInfo;
}

/**
 * What the workflow is told about a recorded local activity, as sdk-core derives it: a backoff when
 * the marker has one; timeouts and cancellations wrapped in an ActivityFailure; other failures as
 * they are.
 */
export function localActivityResolution(marker: LocalActivityMarker): LocalActivityResolution {
  const failure = marker.failure;
  if (marker.backoffMs !== undefined) {
    return { status: 'backoff', attempt: marker.attempt + 1, backoffMs: marker.backoffMs, originalScheduleTimeMs: marker.originalScheduleTimeMs };
  }
  if (failure === undefined) return { status: 'completed', result: marker.result };
  const wrap = (message: string): ProtoFailure => ({
    message,
    cause: failure,
    activityFailureInfo: {
      activityType: { name: marker.activityType },
      activityId: marker.activityId,
      identity: '',
      // sdk-core writes CANCEL_REQUESTED for both.
      retryState: api.enums.v1.RetryState.RETRY_STATE_CANCEL_REQUESTED,
      startedEventId: 0,
      scheduledEventId: 0,
    },
  });
  if (isCancelFailure(failure)) return { status: 'cancelled', failure: failure.canceledFailureInfo ? wrap('Local Activity cancelled') : failure };
  if (failure.timeoutFailureInfo) return { status: 'failed', failure: wrap('Local Activity timed out') };
  return { status: 'failed', failure };
}
