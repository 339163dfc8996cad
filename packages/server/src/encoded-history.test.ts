// Answers carrying stored event bytes: written as they are, and read back as the same messages the
// decoded events give.
import { describe, expect, it } from 'vitest';
import { encodeMessage, lookupType } from './frontend/proto-codec.js';
import { encodedHistory } from './encoded-history.js';
import { EventType, HistoryEventCodec, type HistoryEvent } from './proto-types.js';

const events: HistoryEvent[] = [
  {
    eventId: 1,
    eventTime: { seconds: 1_700_000_000, nanos: 5 },
    eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
    workflowExecutionStartedEventAttributes: { workflowType: { name: 'Greet' }, taskQueue: { name: 'q' }, input: { payloads: [{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"x"'.repeat(100)) }] } },
  },
  { eventId: 2, eventTime: { seconds: 1_700_000_001 }, eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, workflowTaskScheduledEventAttributes: { taskQueue: { name: 'q' }, attempt: 1 } },
];
const stored = events.map((e) => HistoryEventCodec.encode(e).finish());
const transient: HistoryEvent = { eventId: 3, eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, workflowTaskStartedEventAttributes: { scheduledEventId: 2, identity: 'w' } };

/** Encodes `answer` twice, once with stored bytes and once with decoded events, and decodes both. */
function bothWays(typeName: string, answer: (history: object) => object): { spliced: unknown; plain: unknown; bytes: Buffer } {
  const type = lookupType(typeName);
  const bytes = encodeMessage(type, answer(encodedHistory(stored, [transient])));
  const plainBytes = encodeMessage(type, answer({ events: [...events, transient] }));
  return { spliced: type.decode(bytes), plain: type.decode(plainBytes), bytes };
}

describe('encoded history', () => {
  it('GetWorkflowExecutionHistory: the stored events and the extra ones decode as the same answer', () => {
    const { spliced, plain } = bothWays('temporal.api.workflowservice.v1.GetWorkflowExecutionHistoryResponse', (history) => ({ history, nextPageToken: Buffer.from([1, 2]), archived: false }));
    expect(spliced).toEqual(plain);
    expect((spliced as { history: { events: unknown[] } }).history.events).toHaveLength(3);
  });

  it('a workflow task, also nested one level down (eager start, the next task of a completion)', () => {
    const task = (history: object): object => ({ taskToken: Buffer.from('t'), workflowType: { name: 'Greet' }, startedEventId: 3, attempt: 1, history });
    const poll = bothWays('temporal.api.workflowservice.v1.PollWorkflowTaskQueueResponse', task);
    expect(poll.spliced).toEqual(poll.plain);
    const start = bothWays('temporal.api.workflowservice.v1.StartWorkflowExecutionResponse', (history) => ({ runId: 'r', started: true, eagerWorkflowTask: task(history) }));
    expect(start.spliced).toEqual(start.plain);
    expect((start.spliced as { eagerWorkflowTask: { history: { events: unknown[] } } }).eagerWorkflowTask.history.events).toHaveLength(3);
    const completed = bothWays('temporal.api.workflowservice.v1.RespondWorkflowTaskCompletedResponse', (history) => ({ workflowTask: task(history), activityTasks: [] }));
    expect(completed.spliced).toEqual(completed.plain);
  });

  it('writes the stored bytes verbatim, not a decoded and re-encoded copy of them', () => {
    // An unknown field (999 = 1) survives only if the bytes are not decoded: protobufjs drops it.
    const marked = Buffer.concat([stored[0]!, Buffer.from([0xb8, 0x3e, 0x01])]);
    for (const typeName of ['GetWorkflowExecutionHistoryResponse', 'PollWorkflowTaskQueueResponse']) {
      const bytes = encodeMessage(lookupType(`temporal.api.workflowservice.v1.${typeName}`), { history: encodedHistory([marked]) });
      expect(bytes.includes(marked)).toBe(true);
    }
    const start = encodeMessage(lookupType('temporal.api.workflowservice.v1.StartWorkflowExecutionResponse'), { runId: 'r', eagerWorkflowTask: { history: encodedHistory([marked]) } });
    expect(start.includes(marked)).toBe(true);
  });

  it('reads as decoded events for anyone else (the HTTP API, tests), decoding them once', () => {
    const history = encodedHistory(stored);
    expect(history.events).toEqual(stored.map((b) => HistoryEventCodec.decode(b)));
    expect(history.events).toBe(history.events);
    expect(Object.keys(history)).toEqual(['events']);
  });

  it('an empty history, and events longer than one varint byte of length', () => {
    const type = lookupType('temporal.api.workflowservice.v1.GetWorkflowExecutionHistoryResponse');
    const empty = type.decode(encodeMessage(type, { history: encodedHistory([]) })) as { history?: { events: unknown[] } };
    expect(empty.history?.events ?? []).toEqual([]);
    const big: HistoryEvent = { eventId: 1, eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, workflowExecutionSignaledEventAttributes: { signalName: 's'.repeat(70_000) } };
    const decoded = type.decode(encodeMessage(type, { history: encodedHistory([HistoryEventCodec.encode(big).finish()]) })) as { history: { events: Array<{ workflowExecutionSignaledEventAttributes: { signalName: string } }> } };
    expect(decoded.history.events[0]?.workflowExecutionSignaledEventAttributes.signalName).toHaveLength(70_000);
  });
});
