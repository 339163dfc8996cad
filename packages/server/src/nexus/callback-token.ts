// The token a Nexus start request carries in its callback header (`temporal-callback-token`) so that the
// completion, delivered later by the handler's run (history/ops/callbacks.ts), finds the operation it
// completes: the calling run, the operation's scheduled event id and its request id. Opaque to workers.
import { InvalidArgumentError } from '../errors.js';

export const CALLBACK_TOKEN_HEADER = 'temporal-callback-token';
/** The callback URL of operations whose handler is a worker of this server: delivered in process. */
export const SYSTEM_CALLBACK_URL = 'temporal://system';

export interface CallbackToken {
  readonly namespaceId: string;
  readonly workflowId: string;
  readonly runId: string;
  readonly scheduledEventId: number;
  readonly requestId: string;
}

export function encodeCallbackToken(token: CallbackToken): string {
  const body = [token.namespaceId, token.workflowId, token.runId, token.scheduledEventId, token.requestId];
  return JSON.stringify({ v: 1, d: Buffer.from(JSON.stringify(body)).toString('base64url') });
}

export function decodeCallbackToken(text: string): CallbackToken {
  try {
    const outer = JSON.parse(text) as { v?: number; d?: string };
    const body = JSON.parse(Buffer.from(outer.d ?? '', 'base64url').toString('utf8')) as unknown[];
    const [namespaceId, workflowId, runId, scheduledEventId, requestId] = body;
    if (typeof namespaceId === 'string' && typeof workflowId === 'string' && typeof runId === 'string' && typeof scheduledEventId === 'number' && typeof requestId === 'string') {
      return { namespaceId, workflowId, runId, scheduledEventId, requestId };
    }
  } catch {
    // reported below
  }
  throw new InvalidArgumentError('invalid callback token');
}

/** A header value by name, whatever the case of its key. */
export function headerValue(header: Record<string, string> | null | undefined, name: string): string | undefined {
  for (const [k, v] of Object.entries(header ?? {})) if (k.toLowerCase() === name) return v;
  return undefined;
}
