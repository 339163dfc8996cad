// Payload converters that each handle one encoding, and the composite that chains them, named and
// ordered as in the official SDK. `DefaultPayloadConverter` (payload.ts) behaves like the composite
// of the first three plus JSON; the composite is for converters that add encodings (protobufs).
import {
  METADATA_ENCODING_KEY,
  PayloadConverterError,
  decodeUtf8,
  encodeUtf8,
  encodingTypes,
  isUint8Array,
  type Payload,
  type PayloadConverter,
} from './payload.js';

/** A converter for one encoding: `toPayload` returns undefined for values it does not handle. */
export interface PayloadConverterWithEncoding {
  readonly encodingType: string;
  toPayload(value: unknown): Payload | undefined;
  fromPayload<T = unknown>(payload: Payload): T;
}

function encodingMetadata(encoding: string): Record<string, Uint8Array> {
  return { [METADATA_ENCODING_KEY]: encodeUtf8(encoding) };
}

/** undefined and null ↔ `binary/null`. */
export class UndefinedPayloadConverter implements PayloadConverterWithEncoding {
  readonly encodingType = encodingTypes.null;

  toPayload(value: unknown): Payload | undefined {
    return value === undefined || value === null ? { metadata: encodingMetadata(this.encodingType) } : undefined;
  }

  fromPayload<T = unknown>(_payload: Payload): T {
    return undefined as T;
  }
}

/** Uint8Array ↔ `binary/plain`. */
export class BinaryPayloadConverter implements PayloadConverterWithEncoding {
  readonly encodingType = encodingTypes.binary;

  toPayload(value: unknown): Payload | undefined {
    return isUint8Array(value) ? { metadata: encodingMetadata(this.encodingType), data: value } : undefined;
  }

  fromPayload<T = unknown>(payload: Payload): T {
    return (payload.data ?? new Uint8Array()) as T;
  }
}

/** Anything `JSON.stringify` accepts ↔ `json/plain`. */
export class JsonPayloadConverter implements PayloadConverterWithEncoding {
  readonly encodingType = encodingTypes.json;

  toPayload(value: unknown): Payload | undefined {
    if (value === undefined) return undefined;
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (error) {
      throw new PayloadConverterError(`value cannot be converted to JSON: ${String(error)}`);
    }
    return json === undefined ? undefined : { metadata: encodingMetadata(this.encodingType), data: encodeUtf8(json) };
  }

  fromPayload<T = unknown>(payload: Payload): T {
    if (payload.data === undefined || payload.data === null) throw new PayloadConverterError('got a json/plain payload with no data');
    return JSON.parse(decodeUtf8(payload.data)) as T;
  }
}

/** Tries its converters in order when writing; reads with the one named by the payload's encoding. */
export class CompositePayloadConverter implements PayloadConverter {
  readonly converters: readonly PayloadConverterWithEncoding[];
  private readonly byEncoding = new Map<string, PayloadConverterWithEncoding>();

  constructor(...converters: PayloadConverterWithEncoding[]) {
    if (converters.length === 0) throw new PayloadConverterError('CompositePayloadConverter needs at least one converter');
    this.converters = converters;
    for (const converter of converters) this.byEncoding.set(converter.encodingType, converter);
  }

  toPayload(value: unknown): Payload {
    for (const converter of this.converters) {
      const payload = converter.toPayload(value);
      if (payload !== undefined) return payload;
    }
    throw new PayloadConverterError(`no payload converter handles a value of type ${typeof value}`);
  }

  fromPayload<T = unknown>(payload: Payload): T {
    const raw = payload.metadata?.[METADATA_ENCODING_KEY];
    if (raw === undefined || raw === null) throw new PayloadConverterError('payload has no encoding metadata');
    const encoding = decodeUtf8(raw);
    const converter = this.byEncoding.get(encoding);
    if (converter === undefined) throw new PayloadConverterError(`unknown payload encoding: ${encoding}`);
    return converter.fromPayload<T>(payload);
  }
}
