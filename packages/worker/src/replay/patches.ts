// Patch markers as sdk-core writes them: RecordMarker "core_patch" with details
// {"patch-data": [json {"id": <patch id>, "deprecated": <bool>}]}, sometimes followed by an upsert of
// the TemporalChangeVersion search attribute (sdk-core adds it when its internal flag allows).
import type { temporal } from '@temporalio/proto';
import { decodeUtf8, defaultPayloadConverter, type Payload } from '@kairos/sdk-common';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export const PATCH_MARKER_NAME = 'core_patch';
const PATCH_DETAILS_KEY = 'patch-data';
const CHANGE_VERSION_ATTRIBUTE = 'TemporalChangeVersion';

export function patchMarkerDetails(patchId: string, deprecated: boolean): Record<string, { payloads: Payload[] }> {
  return { [PATCH_DETAILS_KEY]: { payloads: [defaultPayloadConverter.toPayload({ id: patchId, deprecated })] } };
}

/** The patch a MarkerRecorded event records, or undefined for any other event. */
export function patchMarkerOf(event: HistoryEvent | undefined): { patchId: string; deprecated: boolean } | undefined {
  const marker = event?.markerRecordedEventAttributes;
  if (!marker || marker.markerName !== PATCH_MARKER_NAME) return undefined;
  const payload = marker.details?.[PATCH_DETAILS_KEY]?.payloads?.[0];
  if (payload === undefined) return undefined;
  try {
    const data = defaultPayloadConverter.fromPayload<{ id?: unknown; deprecated?: unknown }>(payload);
    if (typeof data?.id === 'string') return { patchId: data.id, deprecated: data.deprecated === true };
  } catch {
    // Very old SDKs wrote the bare id as bytes.
  }
  return { patchId: decodeUtf8(payload.data ?? new Uint8Array()), deprecated: false };
}

/** The search attribute upsert sdk-core may write right after a patch marker. */
export function isChangeVersionUpsert(event: HistoryEvent | undefined): boolean {
  const fields = event?.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
  return fields !== undefined && fields !== null && CHANGE_VERSION_ATTRIBUTE in fields;
}
