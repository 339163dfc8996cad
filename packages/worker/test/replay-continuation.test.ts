/**
 * A replayer keeps its place between workflow tasks (the workflow cache): a later batch of events
 * (a sticky task's partial history) continues the run, its command events are checked against what
 * the live task sent, and a batch that does not continue the run is refused.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { temporal } from '@temporalio/proto';
import { api } from '@kairos/common';
import { bundleWorkflowCode } from '../src/bundler.js';
import { NondeterminismError } from '../src/errors.js';
import { HistoryReplayer } from '../src/replay/history-replayer.js';
import { CompiledBundle, WorkflowSandbox } from '../src/sandbox.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const EventType = api.enums.v1.EventType;
const run = { namespace: 'default', workflowId: 'wf', runId: 'run-1' };

let bundle: CompiledBundle;

beforeAll(async () => {
  bundle = new CompiledBundle(await bundleWorkflowCode({ workflowsPath: path.join(import.meta.dirname, 'fixtures/two-timers.ts') }));
});

function newReplayer(): HistoryReplayer {
  return new HistoryReplayer(new WorkflowSandbox(bundle, { activationTimeoutMs: 5_000, logPrefix: '[test]' }), run);
}

const time = { seconds: 1_700_000_000, nanos: 0 };
/** An event as protobufjs decodes it, with numbers where the generated types say Long. */
const event = (eventId: number, eventType: number, attributes: Record<string, unknown> = {}): HistoryEvent =>
  ({ eventId, eventType, eventTime: time, ...attributes }) as unknown as HistoryEvent;

/** Events 1-3: the run starts and its first workflow task is started. */
const firstTask = [
  event(1, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, {
    workflowExecutionStartedEventAttributes: { workflowType: { name: 'twoTimers' }, taskQueue: { name: 'q' }, input: { payloads: [] } },
  }),
  event(2, EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, { workflowTaskScheduledEventAttributes: {} }),
  event(3, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, { workflowTaskStartedEventAttributes: { scheduledEventId: 2 } }),
];

/** Events 4-8, what a sticky poll carries next: the first task's outcome, the timer firing, the next task. */
function secondTask(commandEvent: HistoryEvent): HistoryEvent[] {
  return [
    event(4, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, { workflowTaskCompletedEventAttributes: { scheduledEventId: 2, startedEventId: 3 } }),
    commandEvent,
    event(6, EventType.EVENT_TYPE_TIMER_FIRED, { timerFiredEventAttributes: { timerId: '1', startedEventId: 5 } }),
    event(7, EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, { workflowTaskScheduledEventAttributes: {} }),
    event(8, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, { workflowTaskStartedEventAttributes: { scheduledEventId: 7 } }),
  ];
}

const timerStarted = event(5, EventType.EVENT_TYPE_TIMER_STARTED, { timerStartedEventAttributes: { timerId: '1', startedEventId: 4 } });

describe('a replayer continued with the next events', () => {
  it('runs the next task on the live workflow, the same commands as a replay from the first event', () => {
    const cached = newReplayer();
    expect(cached.replay(firstTask).live?.commands).toEqual([expect.objectContaining({ kind: 'startTimer', seq: 1 })]);
    expect(cached.lastLiveStartedEventId).toBe(3);
    expect(cached.nextEventId).toBe(4);
    const continued = cached.replay(secondTask(timerStarted)).live;
    expect(continued?.commands).toEqual([expect.objectContaining({ kind: 'startTimer', seq: 2 })]);
    expect(cached.lastLiveStartedEventId).toBe(8);

    const replayed = newReplayer().replay([...firstTask, ...secondTask(timerStarted)]).live;
    expect(replayed?.commands).toEqual(continued?.commands);
  });

  it('checks the new command events against what the live task sent', () => {
    const cached = newReplayer();
    cached.replay(firstTask);
    const activity = event(5, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, {
      activityTaskScheduledEventAttributes: { activityId: '1', activityType: { name: 'greet' } },
    });
    expect(() => cached.replay(secondTask(activity))).toThrow(NondeterminismError);
    const again = newReplayer();
    again.replay(firstTask);
    expect(() => again.replay(secondTask(activity))).toThrow(/history event 5 ActivityTaskScheduled .* issued StartTimer \{timerId: '1'\}/);
  });

  it('refuses events that do not continue the run', () => {
    const cached = newReplayer();
    cached.replay(firstTask);
    expect(() => cached.replay(secondTask(timerStarted).slice(1))).toThrow(/continues at event 5, expected event 4/);
  });
});
