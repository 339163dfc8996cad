// Nexus's own failure form (temporal.api.nexus.v1.Failure: message, metadata, JSON details) as a Temporal
// failure, for workers that answer in the older wire format. A failure whose metadata says it carries a
// Temporal failure is that failure; any other keeps its message, as an application failure of type
// NexusFailure with the Nexus failure as JSON in its details.
import { api } from '@kairos/common';
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import type { Failure } from '../proto-types.js';

type NexusFailure = Loose<temporal.api.nexus.v1.IFailure>;
const TEMPORAL_FAILURE_TYPE = 'temporal.api.failure.v1.Failure';

export function nexusFailureToFailure(failure: NexusFailure | null): Failure {
  if (!failure) return { message: '' };
  const details = failure.details && failure.details.length > 0 ? Buffer.from(failure.details).toString('utf8') : '';
  if (failure.metadata?.['type'] === TEMPORAL_FAILURE_TYPE && details) {
    try {
      const decoded = api.failure.v1.Failure.fromObject(JSON.parse(details) as Record<string, unknown>);
      return { ...(decoded as unknown as Failure), message: failure.message || decoded.message || '', stackTrace: failure.stackTrace || decoded.stackTrace || '' };
    } catch {
      // kept as a Nexus failure below
    }
  }
  const json = JSON.stringify({ message: failure.message ?? '', metadata: failure.metadata ?? {}, ...(details ? { details: safeJson(details) } : {}) });
  return {
    message: failure.message ?? '',
    stackTrace: failure.stackTrace ?? '',
    applicationFailureInfo: {
      type: 'NexusFailure',
      details: { payloads: [{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(json) }] },
    },
    cause: failure.cause ? nexusFailureToFailure(failure.cause) : null,
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
