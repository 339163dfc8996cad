import { describe, expect, it } from 'vitest';
import { eventSummary, groupEvents, openWork, resetPoints, timelineSpans } from './history';
import { decodePayload, jsonPayload, payloadValues } from './payloads';
import { buildQuery } from './listQuery';
import type { HistoryEvent } from './types';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const ev = (id: number, type: string, attributes: Record<string, unknown> = {}): HistoryEvent => {
  const key = `${type.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())}EventAttributes`;
  return { eventId: String(id), eventTime: at(id), eventType: `EVENT_TYPE_${type}`, [key]: attributes };
};

const history: HistoryEvent[] = [
  ev(1, 'WORKFLOW_EXECUTION_STARTED', { workflowType: { name: 'order' }, input: { payloads: [jsonPayload({ id: 7 })] } }),
  ev(2, 'WORKFLOW_TASK_SCHEDULED'),
  ev(3, 'WORKFLOW_TASK_STARTED', { scheduledEventId: '2' }),
  ev(4, 'WORKFLOW_TASK_COMPLETED', { scheduledEventId: '2', startedEventId: '3' }),
  ev(5, 'ACTIVITY_TASK_SCHEDULED', { activityId: '1', activityType: { name: 'charge' } }),
  ev(6, 'TIMER_STARTED', { timerId: 't1', startToFireTimeout: '60s' }),
  ev(7, 'ACTIVITY_TASK_STARTED', { scheduledEventId: '5' }),
  ev(8, 'ACTIVITY_TASK_COMPLETED', { scheduledEventId: '5', startedEventId: '7', result: { payloads: [jsonPayload('ok')] } }),
  ev(9, 'WORKFLOW_EXECUTION_SIGNALED', { signalName: 'approve', input: { payloads: [jsonPayload(true)] } }),
  ev(10, 'WORKFLOW_TASK_SCHEDULED'),
];

describe('history model', () => {
  it('groups an activity and a timer into one row each and leaves workflow tasks out', () => {
    const groups = groupEvents(history);
    expect(groups.map((g) => [g.category, g.label, g.events.length])).toEqual([
      ['workflow', 'order', 1],
      ['activity', 'charge', 3],
      ['timer', 'Timer t1 (60s)', 1],
      ['signal', 'approve', 1],
    ]);
  });

  it('turns closed groups into spans and sees what the run waits on', () => {
    const groups = groupEvents(history);
    const spans = timelineSpans(groups);
    expect(spans.map((s) => [s.label, s.end !== undefined])).toEqual([
      ['charge', true],
      ['Timer t1 (60s)', false],
    ]);
    const open = openWork(history, groups);
    expect(open.timers).toEqual([{ id: '6', timerId: 't1', firesAt: Date.parse(at(6)) + 60_000 }]);
    expect(open.activities).toEqual([]);
    expect(open.workflowTask).toBe(true);
    expect(open.closed).toBe(false);
    expect(resetPoints(history)).toEqual(['4']);
  });

  it('summarises events with their decoded payloads', () => {
    expect(eventSummary(history[0] ?? {})).toBe('order · input {"id":7}');
    expect(eventSummary(history[8] ?? {})).toBe('approve · input true');
  });
});

describe('payloads', () => {
  it('decodes JSON, null and opaque payloads', () => {
    expect(payloadValues({ payloads: [jsonPayload({ a: 'ü' })] })).toEqual([{ a: 'ü' }]);
    expect(decodePayload({ metadata: { encoding: btoa('binary/null') } })).toEqual({ kind: 'null' });
    expect(decodePayload({ metadata: { encoding: btoa('binary/encrypted') }, data: btoa('xyz') })).toEqual({ kind: 'opaque', encoding: 'binary/encrypted', bytes: 3 });
  });
});

describe('list filters', () => {
  it('writes the list query, quoting values', () => {
    const now = Date.UTC(2026, 0, 2);
    expect(buildQuery({ status: 'Running', type: "it's", id: 'order-', range: '24h' }, true, now)).toBe(
      "ExecutionStatus = 'Running' AND WorkflowType = 'it\\'s' AND WorkflowId STARTS_WITH 'order-' AND StartTime > '2026-01-01T00:00:00.000Z'",
    );
    expect(buildQuery({ status: 'Running', type: '', id: '', range: '' }, false)).toBe('');
  });
});
