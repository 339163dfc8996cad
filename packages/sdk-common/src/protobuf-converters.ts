// Payload converters for protobufjs messages, wire-compatible with the official SDK's
// `@temporalio/common/lib/protobufs`: `binary/protobuf` carries the message's wire encoding,
// `json/protobuf` its proto3 JSON; both name the message type (without the leading dot) in the
// `messageType` metadata, which the reader looks up in the `Root` it was given.
//
// A value is a protobuf message when it has a `$type` that looks like a protobufjs `Type` (messages
// made with `Type.create`, `fromObject` or `decode`, or generated classes, all do). Shapes are checked
// by duck typing, not `instanceof`: the user's protobufjs copy may differ from any we could import.
import { CompositePayloadConverter, BinaryPayloadConverter, JsonPayloadConverter, UndefinedPayloadConverter, type PayloadConverterWithEncoding } from './composite-converter.js';
import { METADATA_ENCODING_KEY, PayloadConverterError, decodeUtf8, encodeUtf8, type Payload } from './payload.js';
import { messageFromJson, messageToJson, type ProtobufRootShape, type ProtobufTypeShape } from './protobuf-json.js';

export const METADATA_MESSAGE_TYPE_KEY = 'messageType';
export const protobufEncodingTypes = {
  binary: 'binary/protobuf',
  json: 'json/protobuf',
} as const;

function className(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  // protobufjs sets `className` on its reflection classes, which survives minification.
  return (value.constructor as { className?: unknown } | undefined)?.className;
}

function isProtobufType(value: unknown): value is ProtobufTypeShape {
  if (className(value) !== 'Type') return false;
  const type = value as Record<string, unknown>;
  return typeof type['name'] === 'string' && typeof type['encode'] === 'function' && typeof type['decode'] === 'function' && typeof type['fromObject'] === 'function';
}

function messageTypeOf(value: unknown): ProtobufTypeShape | undefined {
  if (typeof value !== 'object' || value === null || !('$type' in value)) return undefined;
  const type = (value as { $type: unknown }).$type;
  return isProtobufType(type) ? type : undefined;
}

function typeName(type: ProtobufTypeShape): string {
  return type.fullName.startsWith('.') ? type.fullName.slice(1) : type.fullName;
}

/** Replaces Node `Buffer`s (which protobufjs makes for bytes fields when it can) with plain Uint8Arrays. */
function withoutBuffers(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null || depth > 100) return value;
  const ctor = value.constructor as { name?: string; isBuffer?: (v: unknown) => boolean } | undefined;
  if (ctor?.name === 'Buffer' && typeof ctor.isBuffer === 'function' && ctor.isBuffer(value)) {
    const bytes = value as Uint8Array;
    return Uint8Array.from(bytes);
  }
  if (ArrayBuffer.isView(value)) return value;
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const child = record[key];
    const replaced = withoutBuffers(child, depth + 1);
    if (replaced !== child) record[key] = replaced;
  }
  return value;
}

abstract class ProtobufPayloadConverter implements PayloadConverterWithEncoding {
  abstract readonly encodingType: string;
  protected readonly root: ProtobufRootShape | undefined;

  /** `root`: the protobufjs `Root` holding the message types to read (writing needs none). */
  constructor(root?: unknown) {
    if (root === undefined || root === null) return;
    if (className(root) !== 'Root' || typeof (root as { lookupType?: unknown }).lookupType !== 'function') {
      throw new TypeError('root must be an instance of a protobufjs Root');
    }
    this.root = root as ProtobufRootShape;
  }

  abstract toPayload(value: unknown): Payload | undefined;
  abstract fromPayload<T = unknown>(payload: Payload): T;

  protected payload(type: ProtobufTypeShape, data: Uint8Array): Payload {
    return {
      metadata: { [METADATA_ENCODING_KEY]: encodeUtf8(this.encodingType), [METADATA_MESSAGE_TYPE_KEY]: encodeUtf8(typeName(type)) },
      data,
    };
  }

  protected messageType(payload: Payload): { type: ProtobufTypeShape; data: Uint8Array } {
    if (payload.data === undefined || payload.data === null) throw new PayloadConverterError(`got a ${this.encodingType} payload with no data`);
    const rawName = payload.metadata?.[METADATA_MESSAGE_TYPE_KEY];
    if (rawName === undefined || rawName === null) throw new PayloadConverterError(`got a ${this.encodingType} payload without metadata.${METADATA_MESSAGE_TYPE_KEY}`);
    if (this.root === undefined) throw new PayloadConverterError('cannot read a protobuf payload: the converter was given no protobufjs root');
    const name = decodeUtf8(rawName);
    let type: ProtobufTypeShape;
    try {
      type = this.root.lookupType(name);
    } catch (error) {
      throw new PayloadConverterError(`got a \`${name}\` protobuf message but the root has no such message type`, { cause: error });
    }
    // A view of this realm's Uint8Array: protobufjs readers check `instanceof Uint8Array`.
    return { type, data: new Uint8Array(payload.data.buffer, payload.data.byteOffset, payload.data.byteLength) };
  }
}

/** protobufjs messages ↔ `binary/protobuf` payloads (the message's wire encoding). */
export class ProtobufBinaryPayloadConverter extends ProtobufPayloadConverter {
  readonly encodingType = protobufEncodingTypes.binary;

  toPayload(value: unknown): Payload | undefined {
    const type = messageTypeOf(value);
    return type === undefined ? undefined : this.payload(type, type.encode(value).finish());
  }

  fromPayload<T = unknown>(payload: Payload): T {
    const { type, data } = this.messageType(payload);
    return withoutBuffers(type.decode(data)) as T;
  }
}

/** protobufjs messages ↔ `json/protobuf` payloads (the message's proto3 JSON). */
export class ProtobufJsonPayloadConverter extends ProtobufPayloadConverter {
  readonly encodingType = protobufEncodingTypes.json;

  toPayload(value: unknown): Payload | undefined {
    const type = messageTypeOf(value);
    return type === undefined ? undefined : this.payload(type, encodeUtf8(JSON.stringify(messageToJson(type, value))));
  }

  fromPayload<T = unknown>(payload: Payload): T {
    const { type, data } = this.messageType(payload);
    return withoutBuffers(messageFromJson(type, JSON.parse(decodeUtf8(data)) as Parameters<typeof messageFromJson>[1])) as T;
  }
}

export interface DefaultPayloadConverterWithProtobufsOptions {
  /** The protobufjs `Root` given to the two protobuf converters. */
  protobufRoot: object;
}

/**
 * The default converter plus protobufs, in the order the other Temporal SDKs use: null, binary,
 * `json/protobuf`, `binary/protobuf`, JSON. Messages are therefore written as `json/protobuf`.
 */
export class DefaultPayloadConverterWithProtobufs extends CompositePayloadConverter {
  constructor({ protobufRoot }: DefaultPayloadConverterWithProtobufsOptions) {
    super(
      new UndefinedPayloadConverter(),
      new BinaryPayloadConverter(),
      new ProtobufJsonPayloadConverter(protobufRoot),
      new ProtobufBinaryPayloadConverter(protobufRoot),
      new JsonPayloadConverter(),
    );
  }
}
