// The pure parts of the CLI's output: durations, payloads, proto JSON, event lines, tables and colour.
import { Writable } from 'node:stream';
import proto from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { formatDuration, parseDurationFlag, pascalEnumName } from '../src/format.js';
import { eventDetails, eventTypeTitle } from '../src/history-text.js';
import { Output, useColor, type Terminal } from '../src/output.js';
import { decodePayload, failureText, inputPayloads, jsonPayload } from '../src/payloads.js';
import { messageToJson, reflected } from '../src/proto-json.js';

function terminal(isTTY: boolean, env: Record<string, string> = {}): Terminal & { text(): string } {
  let text = '';
  const stdout = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    }),
    { isTTY },
  );
  return { stdout, stderr: stdout, env, text: () => text };
}

describe('durations', () => {
  it('parses the flag forms the temporal CLI accepts', () => {
    expect(parseDurationFlag('500ms')).toBe(500);
    expect(parseDurationFlag('10s')).toBe(10_000);
    expect(parseDurationFlag('1h30m')).toBe(5_400_000);
    expect(parseDurationFlag('3d')).toBe(259_200_000);
    expect(parseDurationFlag('2')).toBe(2000);
    expect(() => parseDurationFlag('10 parsecs')).toThrow(/Expected a duration/);
    expect(() => parseDurationFlag('5s!')).toThrow(/Expected a duration/);
  });

  it('prints the largest two units', () => {
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(1234)).toBe('1.23s');
    expect(formatDuration(245_000)).toBe('4m 5s');
    expect(formatDuration(3 * 86_400_000 + 4 * 3_600_000 + 5000)).toBe('3d 4h');
    expect(formatDuration(86_400_000)).toBe('1d');
  });

  it('turns enum constants into the words people read', () => {
    expect(pascalEnumName('WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW', 'WORKFLOW_EXECUTION_STATUS_')).toBe('ContinuedAsNew');
    expect(eventTypeTitle('EVENT_TYPE_ACTIVITY_TASK_SCHEDULED')).toBe('ActivityTaskScheduled');
  });
});

describe('payloads', () => {
  it('sends JSON inputs as json/plain and rejects what is not JSON as a usage error', () => {
    const [payload] = inputPayloads(['{"a": 1}'], undefined);
    expect(new TextDecoder().decode(payload?.metadata?.['encoding'])).toBe('json/plain');
    expect(decodePayload(payload)).toEqual({ a: 1 });
    expect(() => inputPayloads(['Ada'], undefined)).toThrow(UsageError);
    expect(() => inputPayloads(['1'], ['file.json'])).toThrow(/either --input or --input-file/);
  });

  it('shows binary payloads as metadata and base64 instead of guessing', () => {
    expect(decodePayload({ metadata: { encoding: new TextEncoder().encode('binary/null') } })).toBeNull();
    expect(decodePayload({ metadata: { encoding: new TextEncoder().encode('binary/plain') }, data: new Uint8Array([1, 2]) })).toEqual({
      metadata: { encoding: Buffer.from('binary/plain').toString('base64') },
      data: 'AQI=',
    });
  });

  it('writes a failure with its kind and causes', () => {
    expect(failureText({ message: 'activity failed', activityFailureInfo: { activityType: { name: 'charge' }, activityId: '3' }, cause: { message: 'card declined', applicationFailureInfo: { type: 'Declined', nonRetryable: true } } })).toBe(
      'activity failed [activity charge (id 3)]\ncaused by: card declined [ApplicationFailure Declined, non-retryable]',
    );
  });
});

describe('proto JSON', () => {
  const HistoryEvent = proto.temporal.api.history.v1.HistoryEvent;
  const encoded = HistoryEvent.encode(
    HistoryEvent.fromObject({
    eventId: 5,
    eventTime: { seconds: 1_700_000_000, nanos: 123_456_789 },
    eventType: proto.temporal.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    activityTaskScheduledEventAttributes: {
      activityId: '1',
      activityType: { name: 'greet' },
      taskQueue: { name: 'q' },
      input: { payloads: [jsonPayload('"Ada"')] },
      startToCloseTimeout: { seconds: 10 },
    },
    }),
  ).finish();
  const event = HistoryEvent.decode(encoded);

  it('is readable by default: decoded payloads, numbers, enum names, RFC 3339 and "10s"', () => {
    expect(messageToJson(reflected(HistoryEvent), event)).toEqual({
      eventId: 5,
      eventTime: '2023-11-14T22:13:20.123Z',
      eventType: 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED',
      activityTaskScheduledEventAttributes: { activityId: '1', activityType: { name: 'greet' }, taskQueue: { name: 'q' }, input: ['Ada'], startToCloseTimeout: '10s' },
    });
  });

  it('is proto3 JSON in exact mode (the history file format), which protobufjs reads back', () => {
    const exact = messageToJson(reflected(HistoryEvent), event, { exact: true }) as Record<string, unknown>;
    expect(exact).toMatchObject({ eventId: '5', eventTime: '2023-11-14T22:13:20.123456789Z' });
    const input = (exact['activityTaskScheduledEventAttributes'] as { input: { payloads: { data: string }[] } }).input;
    expect(input.payloads[0]?.data).toBe(Buffer.from('"Ada"').toString('base64'));
  });

  it('picks the attributes a person scans for in `workflow show`', () => {
    expect(eventDetails(messageToJson(reflected(HistoryEvent), event) as Record<string, unknown>)).toBe('activityId=1  activityType=greet  taskQueue=q  input="Ada"');
  });
});

describe('output', () => {
  it('pads table columns and right-aligns numbers', () => {
    const term = terminal(false);
    new Output('text', false, term).table([{ header: 'Name' }, { header: 'Count', align: 'right' }], [['a', '1'], ['longer', '100']]);
    expect(term.text()).toBe('Name    Count\na           1\nlonger    100\n');
  });

  it('colours only a terminal without NO_COLOR, unless told', () => {
    expect(useColor('auto', terminal(true))).toBe(true);
    expect(useColor('auto', terminal(false))).toBe(false);
    expect(useColor('auto', terminal(true, { NO_COLOR: '1' }))).toBe(false);
    expect(useColor('always', terminal(false))).toBe(true);
    expect(useColor('never', terminal(true))).toBe(false);
  });

  it('writes json as one document and jsonl as one record per line', () => {
    const json = terminal(false);
    new Output('json', false, json).jsonList([{ a: 1 }]);
    expect(JSON.parse(json.text())).toEqual([{ a: 1 }]);
    const jsonl = terminal(false);
    new Output('jsonl', false, jsonl).jsonList([{ a: 1 }, { a: 2 }]);
    expect(jsonl.text()).toBe('{"a":1}\n{"a":2}\n');
  });
});
