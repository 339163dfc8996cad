import { describe, expect, it } from 'vitest';
import { lookupType } from '../frontend/proto-codec.js';
import { jsonToMessage, JsonShapeError, messageToJson, type JsonType } from './proto-json.js';

const type = (name: string): JsonType => lookupType(name) as unknown as JsonType;
const HistoryEvent = type('temporal.api.history.v1.HistoryEvent');
const SignalRequest = type('temporal.api.workflowservice.v1.SignalWorkflowExecutionRequest');
const longform = { payloadShorthand: false };
const shorthand = { payloadShorthand: true };

const jsonPayload = (value: unknown) => ({
  metadata: { encoding: Buffer.from('json/plain') },
  data: Buffer.from(JSON.stringify(value)),
});

describe('proto3 JSON of Temporal messages', () => {
  const event = HistoryEvent.fromObject({
    eventId: 7,
    eventTime: { seconds: 1_700_000_000, nanos: 120_000_000 },
    eventType: 10,
    taskId: '1048576',
    activityTaskScheduledEventAttributes: {
      activityId: '1',
      activityType: { name: 'greet' },
      input: { payloads: [jsonPayload({ name: 'Kairos' })] },
      startToCloseTimeout: { seconds: 10, nanos: 500_000_000 },
    },
  });

  it('writes enums as names, int64 as strings, well-known types as strings and leaves defaults out', () => {
    const json = messageToJson(HistoryEvent, event, longform);
    expect(json).toMatchObject({
      eventId: '7',
      eventTime: '2023-11-14T22:13:20.12Z',
      eventType: 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED',
      taskId: '1048576',
      activityTaskScheduledEventAttributes: {
        activityId: '1',
        startToCloseTimeout: '10.5s',
        input: { payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') } }] },
      },
    });
    expect(json).not.toHaveProperty('version');
    expect(json).not.toHaveProperty('workerMayIgnore');
  });

  it('round-trips through JSON in both payload forms', () => {
    for (const options of [longform, shorthand]) {
      const json = JSON.parse(JSON.stringify(messageToJson(HistoryEvent, event, options))) as unknown;
      const back = jsonToMessage(HistoryEvent, json, options);
      expect(messageToJson(HistoryEvent, back, longform)).toEqual(messageToJson(HistoryEvent, event, longform));
    }
  });

  it('writes json/plain payloads as bare values in shorthand, and others as messages', () => {
    const json = messageToJson(HistoryEvent, event, shorthand);
    expect(json['activityTaskScheduledEventAttributes']).toMatchObject({ input: [{ name: 'Kairos' }] });
    const binary = HistoryEvent.fromObject({
      eventId: 1,
      activityTaskScheduledEventAttributes: { input: { payloads: [{ metadata: { encoding: Buffer.from('binary/plain') }, data: Buffer.from([1, 2]) }] } },
    });
    const attrs = messageToJson(HistoryEvent, binary, shorthand)['activityTaskScheduledEventAttributes'];
    expect(attrs).toEqual({ input: { payloads: [{ metadata: { encoding: 'YmluYXJ5L3BsYWlu' }, data: 'AQI=' }] } });
  });

  it('reads snake_case keys, query-string scalars and shorthand payloads into a request', () => {
    const message = jsonToMessage(
      SignalRequest,
      { namespace: 'default', workflow_execution: { workflowId: 'w' }, signalName: 's', input: [1, 'two'] },
      shorthand,
    ) as { workflowExecution: { workflowId: string }; input: { payloads: Array<{ data: Uint8Array }> } };
    expect(message.workflowExecution.workflowId).toBe('w');
    expect(message.input.payloads.map((p) => Buffer.from(p.data).toString())).toEqual(['1', '"two"']);
  });

  it('names the field of a malformed value', () => {
    expect(() => jsonToMessage(HistoryEvent, { eventTime: 'yesterday' }, longform)).toThrow(JsonShapeError);
    expect(() => jsonToMessage(HistoryEvent, { eventTime: 'yesterday' }, longform)).toThrow(/eventTime/);
    expect(() => jsonToMessage(HistoryEvent, [], longform)).toThrow(/expected a JSON object/);
  });
});

describe('bytes given as plain arrays', () => {
  it('writes an empty array for a bytes field as nothing, and a filled one as base64', () => {
    const Response = type('temporal.api.workflowservice.v1.GetWorkflowExecutionHistoryResponse');
    expect(messageToJson(Response, Response.fromObject({ nextPageToken: [] }), longform)).toEqual({});
    expect(messageToJson(Response, Response.fromObject({ nextPageToken: [1, 2] }), longform)).toEqual({ nextPageToken: 'AQI=' });
  });
});
