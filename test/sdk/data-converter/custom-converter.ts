/**
 * A custom payload converter (the module of `dataConverter.payloadConverterPath`): strings become
 * `text/prefixed` payloads holding `custom:<text>`; everything else goes to the default converter.
 * Bundled into the workflow sandbox, so it uses no Node built-ins.
 */
import { decodeUtf8, defaultPayloadConverter, encodeUtf8, type Payload, type PayloadConverter } from '@kairos/sdk-common';

const ENCODING = 'text/prefixed';
const PREFIX = 'custom:';

class PrefixingConverter implements PayloadConverter {
  toPayload(value: unknown): Payload {
    if (typeof value !== 'string') return defaultPayloadConverter.toPayload(value);
    return { metadata: { encoding: encodeUtf8(ENCODING) }, data: encodeUtf8(PREFIX + value) };
  }

  fromPayload<T = unknown>(payload: Payload): T {
    const encoding = payload.metadata?.['encoding'];
    if (encoding === undefined || encoding === null || decodeUtf8(encoding) !== ENCODING) return defaultPayloadConverter.fromPayload<T>(payload);
    const text = decodeUtf8(payload.data ?? new Uint8Array());
    if (!text.startsWith(PREFIX)) throw new Error(`not a ${ENCODING} payload: ${text}`);
    return text.slice(PREFIX.length) as T;
  }
}

export const payloadConverter: PayloadConverter = new PrefixingConverter();
