/**
 * Protobuf payload converters: protobufjs messages round-trip through `binary/protobuf` and
 * `json/protobuf` payloads, the payloads are the ones the official SDK's converters write and read,
 * and a workflow and an activity receive and return messages through a `payloadConverterPath`.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type protobufjs from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@kairos/client';
import { Worker } from '@kairos/worker';
import {
  DefaultPayloadConverterWithProtobufs,
  ProtobufBinaryPayloadConverter,
  ProtobufJsonPayloadConverter,
  decodeUtf8,
  type Payload,
  type PayloadConverterWithEncoding,
} from '@kairos/sdk-common';
import {
  ProtobufBinaryPayloadConverter as OfficialBinary,
  ProtobufJsonPayloadConverter as OfficialJson,
} from '@temporalio/common/lib/protobufs.js';
import { Item, Order, Receipt, descriptor, root } from './fixtures/protobuf-messages.js';
import { startSdkEnvironment, uniqueName, type SdkEnvironment } from './helpers.js';

const WORKFLOWS = path.join(import.meta.dirname, 'fixtures/protobuf-workflows.ts');
const CONVERTER = path.join(import.meta.dirname, 'fixtures/protobuf-converter.ts');

// The official converters get a root from their own protobufjs (8.x); ours is protobufjs/light 7.x.
const officialProtobuf = createRequire(createRequire(import.meta.url).resolve('@temporalio/common'))('protobufjs') as typeof protobufjs;
const officialRoot = officialProtobuf.Root.fromJSON(descriptor);
const OfficialOrder = officialRoot.lookupType('kairos.test.Order');

const orderFields = {
  id: 'order-1',
  quantity: '9007199254740993',
  price: 12.5,
  tags: ['a', 'b'],
  blob: Uint8Array.from([0, 1, 2, 250, 255]),
  status: 2,
  placed_at: { seconds: 1_700_000_000, nanos: 123_000_000 },
  item: { sku: 'sku-1', count: 3 },
  attributes: { colour: 'red', size: 'L' },
  cash: true,
  note: { value: 'leave at door' },
  ttl: { seconds: 90, nanos: 500_000 },
  extra: { fields: { n: { numberValue: 1.5 }, s: { stringValue: 'x' }, list: { listValue: { values: [{ boolValue: true }, { nullValue: 0 }] } } } },
};

/** A message as a comparable plain object (64-bit integers as strings, bytes as arrays). */
function plain(type: { toObject(m: never, o: object): object }, message: unknown): unknown {
  return JSON.parse(JSON.stringify(type.toObject(message as never, { longs: String, enums: String, bytes: Array, oneofs: true })));
}

function encodingOf(payload: Payload): Record<string, string> {
  return Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, decodeUtf8(v)]));
}

describe('protobuf payload converters', () => {
  const ours: Array<[string, PayloadConverterWithEncoding, PayloadConverterWithEncoding]> = [
    ['binary/protobuf', new ProtobufBinaryPayloadConverter(root), new OfficialBinary(officialRoot) as unknown as PayloadConverterWithEncoding],
    ['json/protobuf', new ProtobufJsonPayloadConverter(root), new OfficialJson(officialRoot) as unknown as PayloadConverterWithEncoding],
  ];

  for (const [encoding, converter, official] of ours) {
    it(`${encoding}: round-trips a message`, () => {
      const message = Order.fromObject(orderFields);
      const payload = converter.toPayload(message);
      expect(payload && encodingOf(payload)).toEqual({ encoding, messageType: 'kairos.test.Order' });
      const back = converter.fromPayload<{ $type: unknown; blob: unknown }>(payload as Payload);
      expect(back.$type).toBe(Order);
      expect(Object.prototype.toString.call(back.blob)).toBe('[object Uint8Array]');
      expect(plain(Order, back)).toEqual(plain(Order, message));
      expect(converter.toPayload({ not: 'a message' })).toBeUndefined();
    });

    it(`${encoding}: the official SDK reads our payloads and we read its`, () => {
      const message = Order.fromObject(orderFields);
      const officialMessage = OfficialOrder.fromObject(orderFields);
      const fromOurs = official.fromPayload(converter.toPayload(message) as Payload);
      expect(plain(OfficialOrder, fromOurs)).toEqual(plain(Order, message));
      const officialPayload = official.toPayload(officialMessage) as Payload;
      expect(encodingOf(officialPayload)).toEqual({ encoding, messageType: 'kairos.test.Order' });
      expect(plain(Order, converter.fromPayload(officialPayload))).toEqual(plain(Order, message));
      // Same bytes on the wire, so payloads are interchangeable in histories too.
      const ourData = (converter.toPayload(message) as Payload).data ?? new Uint8Array();
      if (encoding === 'json/protobuf') expect(JSON.parse(decodeUtf8(ourData))).toEqual(JSON.parse(decodeUtf8(officialPayload.data ?? new Uint8Array())));
      else expect(Buffer.from(ourData)).toEqual(Buffer.from(officialPayload.data ?? new Uint8Array()));
    });
  }

  it('writes proto3 JSON: JSON names, 64-bit strings, base64 bytes, enum names, well-known types', () => {
    const payload = new ProtobufJsonPayloadConverter(root).toPayload(Order.fromObject(orderFields)) as Payload;
    expect(JSON.parse(decodeUtf8(payload.data ?? new Uint8Array()))).toEqual({
      id: 'order-1',
      quantity: '9007199254740993',
      price: 12.5,
      tags: ['a', 'b'],
      blob: 'AAEC+v8=',
      status: 'STATUS_SHIPPED',
      placedAt: '2023-11-14T22:13:20.123Z',
      item: { sku: 'sku-1', count: 3 },
      attributes: { colour: 'red', size: 'L' },
      cash: true,
      note: 'leave at door',
      ttl: '90.000500s',
      extra: { n: 1.5, s: 'x', list: [true, null] },
    });
  });

  it('DefaultPayloadConverterWithProtobufs writes messages as json/protobuf and other values as before', () => {
    const converter = new DefaultPayloadConverterWithProtobufs({ protobufRoot: root });
    const payload = converter.toPayload(Item.create({ sku: 'x', count: 1 }));
    expect(encodingOf(payload).encoding).toBe('json/protobuf');
    expect(plain(Item, converter.fromPayload(payload))).toEqual({ sku: 'x', count: 1 });
    expect(encodingOf(converter.toPayload({ a: 1 })).encoding).toBe('json/plain');
    expect(encodingOf(converter.toPayload(undefined)).encoding).toBe('binary/null');
    expect(encodingOf(converter.toPayload(new Uint8Array([1]))).encoding).toBe('binary/plain');
    expect(converter.fromPayload(converter.toPayload({ a: 1 }))).toEqual({ a: 1 });
    expect(() => new ProtobufBinaryPayloadConverter({})).toThrow(/protobufjs Root/);
    expect(() => new ProtobufBinaryPayloadConverter().fromPayload(new ProtobufBinaryPayloadConverter().toPayload(Item.create({})) as Payload)).toThrow(/no protobufjs root/);
  });
});

describe('protobufs in workflows and activities', () => {
  let env: SdkEnvironment;

  beforeAll(async () => {
    env = await startSdkEnvironment();
  });

  afterAll(async () => {
    await env?.close();
  });

  it('a workflow and an activity receive and return messages through payloadConverterPath', async () => {
    const payloadConverter = new DefaultPayloadConverterWithProtobufs({ protobufRoot: root });
    const client = new Client({ connection: env.connection, dataConverter: { payloadConverter } });
    const taskQueue = uniqueName('protobuf');
    const seen: string[] = [];
    const worker = await Worker.create({
      connection: env.connection,
      taskQueue,
      workflowsPath: WORKFLOWS,
      dataConverter: { payloadConverterPath: CONVERTER },
      shutdownGraceTime: '2s',
      activities: {
        async priceOrder(order: unknown): Promise<unknown> {
          const message = order as { $type?: { fullName?: string }; price: number; quantity: { toString(): string }; item?: { sku: string; count: number } | null };
          seen.push(`${message.$type?.fullName ?? 'plain'}:${message.item?.sku ?? ''}`);
          return await Promise.resolve(Receipt.create({ total: message.price * Number(message.quantity.toString()) }));
        },
      },
    });
    const handle = await worker.runUntil(async () => {
      const started = await client.workflow.start('protobufOrderWorkflow', { taskQueue, workflowId: uniqueName('protobuf'), args: [Order.fromObject({ ...orderFields, quantity: 4 })] });
      const receipt = await started.result();
      expect((receipt as { $type?: unknown }).$type).toBe(Receipt);
      expect(plain(Receipt, receipt)).toEqual({
        order_id: 'order-1',
        total: 50,
        items: [{ sku: 'order-is-message:true', count: 1 }, { sku: 'receipt-is-message:true' }, { sku: 'sku-1' }],
      });
      return started;
    });
    expect(seen).toEqual(['.kairos.test.Order:from-workflow']);
    const history = await env.client.workflow.getHandle(handle.workflowId).fetchHistory();
    const events = history.events ?? [];
    const started = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes)?.activityTaskScheduledEventAttributes?.input?.payloads?.[0];
    const completed = events.find((e) => e.workflowExecutionCompletedEventAttributes)?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0];
    expect([started, scheduled, completed].map((p) => encodingOf(p as Payload))).toEqual([
      { encoding: 'json/protobuf', messageType: 'kairos.test.Order' },
      { encoding: 'json/protobuf', messageType: 'kairos.test.Order' },
      { encoding: 'json/protobuf', messageType: 'kairos.test.Receipt' },
    ]);
  });
});
