// Makes event attributes readable: every Payloads becomes its decoded values and every Payload its
// value, so the detail panel shows `{"name": "Kairos"}` rather than base64.
import { decodePayload, payloadValues } from '../payloads';
import type { Payload, Payloads } from '../types';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPayload(v: Record<string, unknown>): boolean {
  return isObject(v['metadata']) && (typeof v['data'] === 'string' || v['data'] === undefined) && Object.keys(v).every((k) => k === 'metadata' || k === 'data' || k === 'externalPayloads');
}

export function forDisplay(value: unknown, depth = 0): unknown {
  if (depth > 40) return value;
  if (Array.isArray(value)) return value.map((v) => forDisplay(v, depth + 1));
  if (!isObject(value)) return value;
  if (Array.isArray(value['payloads']) && Object.keys(value).length === 1) {
    const values = payloadValues(value as Payloads);
    return values.length === 1 ? values[0] : values;
  }
  if (isPayload(value)) {
    const d = decodePayload(value as Payload);
    return d.kind === 'json' ? d.value : d.kind === 'null' ? null : `<${d.encoding}, ${d.bytes} bytes>`;
  }
  // Search attributes and memos: maps of payloads.
  if (isObject(value['indexedFields']) || isObject(value['fields'])) {
    const map = (value['indexedFields'] ?? value['fields']) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, forDisplay(v, depth + 1)]));
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, forDisplay(v, depth + 1)]));
}
