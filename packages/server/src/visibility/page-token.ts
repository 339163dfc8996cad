// next_page_token of ListWorkflowExecutions: the list position of the last run returned (close time,
// start time, run id), as JSON (Temporal's SQL visibility token carries the same three fields). Keyset
// paging means a page never repeats or skips a run because others were added meanwhile.

import { InvalidArgumentError } from '../errors.js';
import type { VisibilityCursor } from '../persistence/visibility.js';

interface TokenJson {
  readonly closeTime: number | null;
  readonly startTime: number;
  readonly runId: string;
}

export function encodePageToken(cursor: VisibilityCursor): Uint8Array {
  const json: TokenJson = { closeTime: cursor.closeTimeMs, startTime: cursor.startTimeMs, runId: cursor.runId };
  return Buffer.from(JSON.stringify(json), 'utf8');
}

/** null for an absent or empty token (the first page); INVALID_ARGUMENT for one this server did not make. */
export function decodePageToken(token: Uint8Array | null | undefined): VisibilityCursor | null {
  if (token === null || token === undefined || token.length === 0) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token).toString('utf8'));
  } catch {
    throw invalidToken();
  }
  if (typeof parsed !== 'object' || parsed === null) throw invalidToken();
  const { closeTime, startTime, runId } = parsed as Partial<Record<keyof TokenJson, unknown>>;
  const closeOk = closeTime === null || (typeof closeTime === 'number' && Number.isFinite(closeTime));
  if (!closeOk || typeof startTime !== 'number' || !Number.isFinite(startTime) || typeof runId !== 'string') throw invalidToken();
  return { closeTimeMs: closeTime, startTimeMs: startTime, runId };
}

function invalidToken(): InvalidArgumentError {
  return new InvalidArgumentError('Invalid NextPageToken.');
}
