// Turns Temporal payloads (base64 metadata and data) into something to show: JSON values are parsed,
// `binary/null` is null, and anything else (protobuf, encrypted) is named by its encoding and size
// rather than guessed at.
import type { Failure, Payload, Payloads } from './types';

export type Decoded =
  | { readonly kind: 'json'; readonly value: unknown }
  | { readonly kind: 'null' }
  | { readonly kind: 'opaque'; readonly encoding: string; readonly bytes: number };

const utf8 = new TextDecoder();

export function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

export function base64ToText(text: string | undefined): string {
  return text === undefined ? '' : utf8.decode(base64ToBytes(text));
}

export function decodePayload(payload: Payload | undefined): Decoded {
  if (payload === undefined) return { kind: 'null' };
  const encoding = base64ToText(payload.metadata?.['encoding']);
  if (encoding === 'binary/null') return { kind: 'null' };
  if (encoding === 'json/plain' || encoding === 'json/protobuf') {
    try {
      return { kind: 'json', value: JSON.parse(base64ToText(payload.data)) as unknown };
    } catch {
      // fall through: shown as opaque bytes
    }
  }
  return { kind: 'opaque', encoding: encoding || 'unknown', bytes: payload.data === undefined ? 0 : base64ToBytes(payload.data).length };
}

/** The values of a Payloads for display: one JSON-able value per payload. */
export function payloadValues(payloads: Payloads | undefined): unknown[] {
  return (payloads?.payloads ?? []).map((p) => {
    const d = decodePayload(p);
    if (d.kind === 'json') return d.value;
    if (d.kind === 'null') return null;
    return `<${d.encoding}, ${d.bytes} bytes>`;
  });
}

/** One JSON value as a `json/plain` payload (what the SDKs' default converter writes). */
export function jsonPayload(value: unknown): Payload {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  return { metadata: { encoding: btoa('json/plain') }, data: bytesToBase64(bytes) };
}

/** Parses what a user typed as an argument: nothing means no argument, otherwise one JSON value. */
export function parseArgs(text: string): Payloads | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  return { payloads: [jsonPayload(JSON.parse(trimmed))] };
}

/** The failure and its causes, outermost first, as readable lines. */
export function failureChain(failure: Failure | undefined): Failure[] {
  const chain: Failure[] = [];
  for (let f = failure; f !== undefined && chain.length < 20; f = f.cause) chain.push(f);
  return chain;
}

export function failureKind(f: Failure): string {
  if (f.applicationFailureInfo) return `ApplicationFailure${f.applicationFailureInfo.type ? ` (${f.applicationFailureInfo.type})` : ''}`;
  if (f.timeoutFailureInfo) return `Timeout (${(f.timeoutFailureInfo.timeoutType ?? '').replace('TIMEOUT_TYPE_', '')})`;
  if (f.canceledFailureInfo) return 'Canceled';
  if (f.terminatedFailureInfo) return 'Terminated';
  if (f.activityFailureInfo) return `Activity ${f.activityFailureInfo.activityType?.name ?? ''} failed`;
  if (f.childWorkflowExecutionFailureInfo) return `Child workflow ${f.childWorkflowExecutionFailureInfo.workflowType?.name ?? ''} failed`;
  return 'Failure';
}
