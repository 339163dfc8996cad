// Payloads in and out. Inputs given on the command line are JSON (as with the temporal CLI) and are
// sent as `json/plain` payloads, which every SDK's default data converter reads. Payloads shown to
// people are decoded when their encoding is one the default converters write; anything else (binary,
// encrypted) is shown as its metadata and base64 data rather than guessed at.
import { readFileSync } from 'node:fs';
import { UsageError } from './errors.js';

export interface PayloadLike {
  metadata?: Record<string, Uint8Array> | null;
  data?: Uint8Array | null;
}

const utf8 = new TextEncoder();
const text = new TextDecoder('utf-8', { fatal: true });

export function jsonPayload(json: string): { metadata: Record<string, Uint8Array>; data: Uint8Array } {
  return { metadata: { encoding: utf8.encode('json/plain') }, data: utf8.encode(json) };
}

function checkJson(json: string, source: string): string {
  try {
    JSON.parse(json);
  } catch (error) {
    throw new UsageError(`${source} is not valid JSON (${(error as Error).message}). Quote strings as JSON, e.g. --input '"Ada"'.`);
  }
  return json.trim();
}

/** The payloads of `--input` (repeatable) or `--input-file` (repeatable), which cannot be mixed. */
export function inputPayloads(inputs: readonly string[] | undefined, files: readonly string[] | undefined): PayloadLike[] {
  if (inputs?.length && files?.length) throw new UsageError('use either --input or --input-file, not both.');
  if (files?.length) {
    return files.map((file) => {
      let content: string;
      try {
        content = readFileSync(file, 'utf8');
      } catch (error) {
        throw new UsageError(`cannot read --input-file ${file}: ${(error as Error).message}`);
      }
      return jsonPayload(checkJson(content, `--input-file ${file}`));
    });
  }
  return (inputs ?? []).map((input) => jsonPayload(checkJson(input, `--input ${JSON.stringify(input)}`)));
}

function metadataText(payload: PayloadLike, key: string): string | undefined {
  const value = payload.metadata?.[key];
  if (value === undefined) return undefined;
  try {
    return text.decode(value);
  } catch {
    return undefined;
  }
}

/** The value a payload carries, or `{ metadata, data }` in base64 when it is not JSON. */
export function decodePayload(payload: PayloadLike | null | undefined): unknown {
  if (!payload) return null;
  const encoding = metadataText(payload, 'encoding');
  const data = payload.data ?? new Uint8Array();
  if (encoding === 'binary/null') return null;
  if (encoding === 'json/plain' || encoding === 'json/protobuf') {
    try {
      return JSON.parse(text.decode(data)) as unknown;
    } catch {
      // Fall through to the raw form: a payload that claims JSON but is not is worth seeing as is.
    }
  }
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(payload.metadata ?? {})) metadata[key] = Buffer.from(value).toString('base64');
  return { metadata, data: Buffer.from(data).toString('base64') };
}

export function decodePayloads(payloads: { payloads?: PayloadLike[] | null } | null | undefined): unknown[] {
  return (payloads?.payloads ?? []).map(decodePayload);
}

/** A decoded value as one line of JSON. */
export function compactJson(value: unknown): string {
  return JSON.stringify(value) ?? 'undefined';
}

/** Several payloads as they read best in text: one value alone, several as a JSON array. */
export function payloadsText(payloads: { payloads?: PayloadLike[] | null } | null | undefined): string {
  const values = decodePayloads(payloads);
  if (values.length === 1) return compactJson(values[0]);
  return compactJson(values);
}

export interface FailureLike {
  message?: string | null;
  source?: string | null;
  stackTrace?: string | null;
  cause?: FailureLike | null;
  applicationFailureInfo?: { type?: string | null; nonRetryable?: boolean | null } | null;
  timeoutFailureInfo?: { timeoutType?: number | null } | null;
  canceledFailureInfo?: unknown;
  terminatedFailureInfo?: unknown;
  activityFailureInfo?: { activityType?: { name?: string | null } | null; activityId?: string | null } | null;
  childWorkflowExecutionFailureInfo?: { workflowType?: { name?: string | null } | null; workflowExecution?: { workflowId?: string | null } | null } | null;
}

/** "message (ApplicationFailure type X)" followed by "caused by: ..." for each cause. */
export function failureText(failure: FailureLike | null | undefined): string {
  const lines: string[] = [];
  for (let current = failure, depth = 0; current && depth < 10; current = current.cause, depth++) {
    let kind = '';
    if (current.applicationFailureInfo) {
      const type = current.applicationFailureInfo.type;
      kind = `ApplicationFailure${type ? ` ${type}` : ''}${current.applicationFailureInfo.nonRetryable ? ', non-retryable' : ''}`;
    } else if (current.activityFailureInfo) {
      kind = `activity ${current.activityFailureInfo.activityType?.name ?? ''} (id ${current.activityFailureInfo.activityId ?? '?'})`;
    } else if (current.childWorkflowExecutionFailureInfo) {
      kind = `child workflow ${current.childWorkflowExecutionFailureInfo.workflowType?.name ?? ''} (id ${current.childWorkflowExecutionFailureInfo.workflowExecution?.workflowId ?? '?'})`;
    } else if (current.timeoutFailureInfo) kind = 'timeout';
    else if (current.canceledFailureInfo) kind = 'canceled';
    else if (current.terminatedFailureInfo) kind = 'terminated';
    const message = current.message || '(no message)';
    lines.push(`${depth === 0 ? '' : 'caused by: '}${message}${kind ? ` [${kind}]` : ''}`);
  }
  return lines.join('\n');
}
