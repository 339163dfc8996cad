// Payloads and the default payload converter. This module runs both in Node and inside the workflow
// sandbox, so it uses no Node built-ins; values that cross the sandbox boundary come from another
// realm, which is why byte arrays are recognised by their tag and not with `instanceof`.

/** temporal.api.common.v1.Payload as a plain object (protobufjs messages fit this shape). */
export interface Payload {
  metadata?: Record<string, Uint8Array> | null;
  data?: Uint8Array | null;
}

export const METADATA_ENCODING_KEY = 'encoding';
export const encodingTypes = {
  null: 'binary/null',
  binary: 'binary/plain',
  json: 'json/plain',
} as const;

export class PayloadConverterError extends Error {
  override readonly name: string = 'PayloadConverterError';
}

export function isUint8Array(value: unknown): value is Uint8Array {
  return Object.prototype.toString.call(value) === '[object Uint8Array]';
}

// Hand-written UTF-8 so that the sandbox does not need TextEncoder/TextDecoder.
export function encodeUtf8(text: string): Uint8Array {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
        i++;
      }
    }
    if (code < 0x80) bytes.push(code);
    else if (code < 0x800) bytes.push(0xc0 | (code >> 6), 0x80 | (code & 0x3f));
    else if (code < 0x10000) bytes.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
    else bytes.push(0xf0 | (code >> 18), 0x80 | ((code >> 12) & 0x3f), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
  }
  return Uint8Array.from(bytes);
}

export function decodeUtf8(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b0 = bytes[i++] ?? 0;
    let code: number;
    if (b0 < 0x80) code = b0;
    else if (b0 < 0xe0) code = ((b0 & 0x1f) << 6) | ((bytes[i++] ?? 0) & 0x3f);
    else if (b0 < 0xf0) code = ((b0 & 0x0f) << 12) | (((bytes[i++] ?? 0) & 0x3f) << 6) | ((bytes[i++] ?? 0) & 0x3f);
    else {
      code =
        ((b0 & 0x07) << 18) |
        (((bytes[i++] ?? 0) & 0x3f) << 12) |
        (((bytes[i++] ?? 0) & 0x3f) << 6) |
        ((bytes[i++] ?? 0) & 0x3f);
    }
    if (code >= 0x10000) {
      code -= 0x10000;
      out += String.fromCharCode(0xd800 + (code >> 10), 0xdc00 + (code & 0x3ff));
    } else {
      out += String.fromCharCode(code);
    }
  }
  return out;
}

/** Turns values into payloads and back. The default one mirrors Temporal's default converter. */
export interface PayloadConverter {
  toPayload(value: unknown): Payload;
  fromPayload<T = unknown>(payload: Payload): T;
}

function encodingOf(payload: Payload): string | undefined {
  const raw = payload.metadata?.[METADATA_ENCODING_KEY];
  return raw === undefined || raw === null ? undefined : decodeUtf8(raw);
}

/** undefined/null → `binary/null`, Uint8Array → `binary/plain`, anything else → `json/plain`. */
export class DefaultPayloadConverter implements PayloadConverter {
  toPayload(value: unknown): Payload {
    if (value === undefined || value === null) {
      return { metadata: { [METADATA_ENCODING_KEY]: encodeUtf8(encodingTypes.null) } };
    }
    if (isUint8Array(value)) {
      return { metadata: { [METADATA_ENCODING_KEY]: encodeUtf8(encodingTypes.binary) }, data: value };
    }
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (error) {
      throw new PayloadConverterError(`value cannot be converted to JSON: ${String(error)}`);
    }
    if (json === undefined) throw new PayloadConverterError(`value of type ${typeof value} cannot be converted to JSON`);
    return { metadata: { [METADATA_ENCODING_KEY]: encodeUtf8(encodingTypes.json) }, data: encodeUtf8(json) };
  }

  fromPayload<T = unknown>(payload: Payload): T {
    const encoding = encodingOf(payload);
    switch (encoding) {
      case encodingTypes.null:
        return undefined as T;
      case encodingTypes.binary:
        return (payload.data ?? new Uint8Array()) as T;
      case encodingTypes.json:
        return JSON.parse(decodeUtf8(payload.data ?? new Uint8Array())) as T;
      default:
        throw new PayloadConverterError(`unknown payload encoding: ${String(encoding)}`);
    }
  }
}

export const defaultPayloadConverter: PayloadConverter = new DefaultPayloadConverter();

export function toPayloads(converter: PayloadConverter, values: readonly unknown[]): Payload[] {
  return values.map((value) => converter.toPayload(value));
}

export function fromPayloads(converter: PayloadConverter, payloads: readonly Payload[] | null | undefined): unknown[] {
  return (payloads ?? []).map((payload) => converter.fromPayload(payload));
}

/** The first payload's value, or undefined when there is none (Temporal results carry at most one). */
export function firstValue<T>(converter: PayloadConverter, payloads: readonly Payload[] | null | undefined): T {
  const first = payloads?.[0];
  return (first === undefined ? undefined : converter.fromPayload<T>(first)) as T;
}
