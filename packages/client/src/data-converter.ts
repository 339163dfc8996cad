// The client's side of the data converter: values become payloads with the payload converter and
// then go through the codec chain before they are sent; payloads that arrive are decoded by the codecs
// before the payload converter reads them. Search attributes are never encoded (the server indexes them).
import {
  codePayloadMapInPlace,
  decodeFailureInPlace,
  decodePayloads,
  DefaultFailureConverter,
  defaultPayloadConverter,
  encodePayloads,
  fromPayloads,
  toPayloads,
  type FailureConverter,
  type LoadedDataConverter,
  type Payload,
  type PayloadCodec,
  type PayloadConverter,
  type ProtoFailure,
  type TemporalFailure,
} from '@kairos/sdk-common';

/** The client's `dataConverter` option, as the official client's (with the converter as an object). */
export interface DataConverter {
  /** Replaces the default converter chain (null, binary, JSON). */
  payloadConverter?: PayloadConverter;
  /** Applied in order on encode, in reverse order on decode. */
  payloadCodecs?: PayloadCodec[];
  /**
   * Turns failures from the server into errors (and errors into failures). `new DefaultFailureConverter({
   * encodeCommonAttributes: true })` hides failure messages and stack traces in a payload.
   */
  failureConverter?: FailureConverter;
}

export function loadDataConverter(options: DataConverter | undefined, payloadConverter?: PayloadConverter): LoadedDataConverter {
  return {
    payloadConverter: options?.payloadConverter ?? payloadConverter ?? defaultPayloadConverter,
    payloadCodecs: [...(options?.payloadCodecs ?? [])],
    failureConverter: options?.failureConverter ?? new DefaultFailureConverter(),
  };
}

export async function encodeToPayloads(dc: LoadedDataConverter, values: readonly unknown[]): Promise<Payload[]> {
  return await encodePayloads(dc.payloadCodecs, toPayloads(dc.payloadConverter, values));
}

export async function decodeFromPayloads(dc: LoadedDataConverter, payloads: Payload[] | null | undefined): Promise<unknown[]> {
  if (payloads === null || payloads === undefined) return [];
  return fromPayloads(dc.payloadConverter, await decodePayloads(dc.payloadCodecs, payloads));
}

/** The first payload's value, or undefined when there is none. */
export async function decodeFirstValue<T>(dc: LoadedDataConverter, payloads: Payload[] | null | undefined): Promise<T> {
  const first = payloads?.[0];
  if (first === undefined) return undefined as T;
  return (await decodeFromPayloads(dc, [first]))[0] as T;
}

/** A memo (or header) as wire payloads. */
export async function encodeMapToPayloads(dc: LoadedDataConverter, values: Readonly<Record<string, unknown>>): Promise<Record<string, Payload>> {
  const fields = Object.fromEntries(Object.entries(values).map(([key, value]) => [key, dc.payloadConverter.toPayload(value)]));
  await codePayloadMapInPlace(encodePayloads, dc.payloadCodecs, fields);
  return fields;
}

/** Decodes a memo's payloads in place (what `decodeExecutionInfo` then reads). */
export async function decodeMapInPlace(dc: LoadedDataConverter, fields: Record<string, Payload> | null | undefined): Promise<void> {
  await codePayloadMapInPlace(decodePayloads, dc.payloadCodecs, fields);
}

/** The error a failure from the server stands for, its payloads decoded first. */
export async function decodeFailureToError(dc: LoadedDataConverter, failure: ProtoFailure): Promise<TemporalFailure> {
  await decodeFailureInPlace(dc.payloadCodecs, failure);
  return dc.failureConverter.failureToError(failure, dc.payloadConverter) as TemporalFailure;
}
