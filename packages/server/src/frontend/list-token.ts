// The page token of listings keyed by name (schedules, worker deployments): the last name given.
import { InvalidArgumentError } from '../errors.js';

export function encodeListToken(after: string): Uint8Array {
  return Buffer.from(JSON.stringify({ after }), 'utf8');
}

/** The last name of the previous page, or null for the first page; INVALID_ARGUMENT for a token not made here. */
export function decodeListToken(token: Uint8Array | null | undefined): string | null {
  if (!token || token.length === 0) return null;
  try {
    const parsed = JSON.parse(Buffer.from(token).toString('utf8')) as { after?: unknown };
    if (typeof parsed.after === 'string') return parsed.after;
  } catch {
    // fall through
  }
  throw new InvalidArgumentError('invalid next page token');
}
