// Payload codecs and the data converter options, shaped like the official SDK's. A codec turns
// payloads into other payloads (encryption, compression) and is async, so it never runs inside the
// workflow sandbox: the client and the worker apply the codec chain to whatever crosses the wire,
// after the payload converter on the way out and before it on the way in.
//
// This module is sandbox-safe (no Node built-ins), but only the Node side calls it.
import { errorToFailure, failureToError } from './failure-converter.js';
import type { Payload, PayloadConverter } from './payload.js';
import type { ProtoFailure, ProtoPayloads } from './proto-shapes.js';

/** Transforms payloads after the payload converter made them (encode) and before it reads them (decode). */
export interface PayloadCodec {
  encode(payloads: Payload[]): Promise<Payload[]>;
  decode(payloads: Payload[]): Promise<Payload[]>;
}

/** Options of the default failure converter (`encodeCommonAttributes`: see `encodeFailure`). */
export interface DefaultFailureConverterOptions {
  /**
   * Moves a failure's message and stack trace into `encodedAttributes` (a payload the codecs encode),
   * leaving `Encoded failure` and an empty stack trace in the clear, as the official SDK does.
   */
  encodeCommonAttributes?: boolean;
}

/**
 * Turns thrown errors into failures and back, as the official SDK's `FailureConverter`. A custom one
 * runs inside the workflow sandbox too (the worker's `dataConverter.failureConverterPath`), so it must
 * be deterministic and use no Node built-ins.
 */
export interface FailureConverter {
  errorToFailure(error: unknown, payloadConverter: PayloadConverter): ProtoFailure;
  /** Should return a TemporalFailure, as the official SDK requires. */
  failureToError(failure: ProtoFailure, payloadConverter: PayloadConverter): Error;
}

/**
 * The official SDK's failure mapping. `encodeCommonAttributes` is applied by the client and the worker
 * outside the sandbox, next to the codecs (see `encodeFailureInPlace`); reading `encodedAttributes`
 * back needs no option: a failure that has them always gets its message and stack trace from them.
 */
export class DefaultFailureConverter implements FailureConverter {
  readonly options: Required<DefaultFailureConverterOptions>;

  constructor(options: DefaultFailureConverterOptions = {}) {
    this.options = { encodeCommonAttributes: options.encodeCommonAttributes ?? false };
  }

  errorToFailure(error: unknown, payloadConverter: PayloadConverter): ProtoFailure {
    return errorToFailure(error, payloadConverter);
  }

  failureToError(failure: ProtoFailure, payloadConverter: PayloadConverter): Error {
    return failureToError(failure, payloadConverter);
  }
}

/** Whether a failure converter asks for `encodeCommonAttributes` (only the default one can). */
export function encodesCommonAttributes(converter: FailureConverter): boolean {
  return (converter as { options?: Partial<DefaultFailureConverterOptions> }).options?.encodeCommonAttributes === true;
}

/** What the client and the worker need to turn payloads into wire payloads and back. */
export interface LoadedDataConverter {
  readonly payloadConverter: PayloadConverter;
  readonly payloadCodecs: readonly PayloadCodec[];
  readonly failureConverter: FailureConverter;
}

/** Applies the codecs in order. */
export async function encodePayloads(codecs: readonly PayloadCodec[], payloads: Payload[]): Promise<Payload[]> {
  let result = payloads;
  for (const codec of codecs) result = await codec.encode(result);
  return result;
}

/** Applies the codecs in reverse order. */
export async function decodePayloads(codecs: readonly PayloadCodec[], payloads: Payload[]): Promise<Payload[]> {
  let result = payloads;
  for (let i = codecs.length - 1; i >= 0; i--) result = await (codecs[i] as PayloadCodec).decode(result);
  return result;
}

type Direction = (codecs: readonly PayloadCodec[], payloads: Payload[]) => Promise<Payload[]>;

async function single(direction: Direction, codecs: readonly PayloadCodec[], payload: Payload): Promise<Payload> {
  const [result] = await direction(codecs, [payload]);
  if (result === undefined) throw new Error('a payload codec returned no payload for one payload');
  return result;
}

export async function encodePayload(codecs: readonly PayloadCodec[], payload: Payload): Promise<Payload> {
  return await single(encodePayloads, codecs, payload);
}

export async function decodePayload(codecs: readonly PayloadCodec[], payload: Payload): Promise<Payload> {
  return await single(decodePayloads, codecs, payload);
}

/** Encodes or decodes a `Payloads` message in place (its `payloads` list is replaced). */
export async function codePayloadsInPlace(direction: Direction, codecs: readonly PayloadCodec[], holder: ProtoPayloads | null | undefined): Promise<void> {
  if (holder === null || holder === undefined || codecs.length === 0) return;
  const list = holder.payloads;
  if (list === null || list === undefined || list.length === 0) return;
  holder.payloads = await direction(codecs, list);
}

/** Encodes or decodes a map of payloads (memo, header fields) in place. */
export async function codePayloadMapInPlace(
  direction: Direction,
  codecs: readonly PayloadCodec[],
  fields: Record<string, Payload> | null | undefined,
): Promise<void> {
  if (fields === null || fields === undefined || codecs.length === 0) return;
  const keys = Object.keys(fields);
  if (keys.length === 0) return;
  const coded = await direction(codecs, keys.map((key) => fields[key] as Payload));
  keys.forEach((key, i) => {
    fields[key] = coded[i] as Payload;
  });
}

const MAX_CAUSE_DEPTH = 20;

/**
 * Encodes the payloads of a failure and its causes in place: details, last heartbeat details and the
 * encoded attributes. With `encodeCommonAttributes`, first moves message and stack trace into the
 * encoded attributes (JSON `{ message, stack_trace }`, as the official SDK writes them).
 */
export async function encodeFailureInPlace(converter: LoadedDataConverter, failure: ProtoFailure | null | undefined, depth = 0): Promise<void> {
  if (failure === null || failure === undefined || depth > MAX_CAUSE_DEPTH) return;
  if (encodesCommonAttributes(converter.failureConverter) && (failure.encodedAttributes === null || failure.encodedAttributes === undefined)) {
    failure.encodedAttributes = converter.payloadConverter.toPayload({ message: failure.message ?? '', stack_trace: failure.stackTrace ?? '' });
    failure.message = 'Encoded failure';
    failure.stackTrace = '';
  }
  await codeFailurePayloads(encodePayloads, converter.payloadCodecs, failure);
  await encodeFailureInPlace(converter, failure.cause, depth + 1);
}

/** Decodes the payloads of a failure and its causes in place. */
export async function decodeFailureInPlace(codecs: readonly PayloadCodec[], failure: ProtoFailure | null | undefined, depth = 0): Promise<void> {
  if (failure === null || failure === undefined || depth > MAX_CAUSE_DEPTH || codecs.length === 0) return;
  await codeFailurePayloads(decodePayloads, codecs, failure);
  await decodeFailureInPlace(codecs, failure.cause, depth + 1);
}

async function codeFailurePayloads(direction: Direction, codecs: readonly PayloadCodec[], failure: ProtoFailure): Promise<void> {
  if (codecs.length === 0) return;
  if (failure.encodedAttributes) failure.encodedAttributes = await single(direction, codecs, failure.encodedAttributes);
  await codePayloadsInPlace(direction, codecs, failure.applicationFailureInfo?.details);
  await codePayloadsInPlace(direction, codecs, failure.timeoutFailureInfo?.lastHeartbeatDetails);
  await codePayloadsInPlace(direction, codecs, failure.canceledFailureInfo?.details);
}
