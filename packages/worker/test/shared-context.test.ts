/**
 * Runs of one worker share a `node:vm` context: each must still see only its own module state,
 * globals, workflow clock and random numbers, interleaved task by task with other runs.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { temporal } from '@temporalio/proto';
import { api } from '@kairos/common';
import { defaultPayloadConverter, type ActivationCompletion } from '@kairos/sdk-common';
import { bundleWorkflowCode } from '../src/bundler.js';
import { HistoryReplayer } from '../src/replay/history-replayer.js';
import { CompiledBundle, WorkflowSandbox } from '../src/sandbox.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const EventType = api.enums.v1.EventType;

let bundle: CompiledBundle;

beforeAll(async () => {
  bundle = new CompiledBundle(await bundleWorkflowCode({ workflowsPath: path.join(import.meta.dirname, 'fixtures/isolation.ts') }));
});

const event = (eventId: number, eventType: number, seconds: number, attributes: Record<string, unknown> = {}): HistoryEvent =>
  ({ eventId, eventType, eventTime: { seconds, nanos: 0 }, ...attributes }) as unknown as HistoryEvent;

function firstTask(tag: string, seconds: number): HistoryEvent[] {
  const input = { payloads: [defaultPayloadConverter.toPayload(tag)] };
  return [
    event(1, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, seconds, {
      workflowExecutionStartedEventAttributes: { workflowType: { name: 'globalsAcrossTasks' }, taskQueue: { name: 'q' }, input },
    }),
    event(2, EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, seconds, { workflowTaskScheduledEventAttributes: {} }),
    event(3, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, seconds, { workflowTaskStartedEventAttributes: { scheduledEventId: 2 } }),
  ];
}

function secondTask(seconds: number): HistoryEvent[] {
  return [
    event(4, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, seconds, { workflowTaskCompletedEventAttributes: { scheduledEventId: 2, startedEventId: 3 } }),
    event(5, EventType.EVENT_TYPE_TIMER_STARTED, seconds, { timerStartedEventAttributes: { timerId: '1', startedEventId: 4 } }),
    event(6, EventType.EVENT_TYPE_TIMER_FIRED, seconds, { timerFiredEventAttributes: { timerId: '1', startedEventId: 5 } }),
    event(7, EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, seconds, { workflowTaskScheduledEventAttributes: {} }),
    event(8, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, seconds, { workflowTaskStartedEventAttributes: { scheduledEventId: 7 } }),
  ];
}

function newReplayer(runId: string): HistoryReplayer {
  return new HistoryReplayer(new WorkflowSandbox(bundle, { activationTimeoutMs: 5_000, logPrefix: `[${runId}]` }), {
    namespace: 'default',
    workflowId: `wf-${runId}`,
    runId,
  });
}

function result(completion: ActivationCompletion | undefined): Record<string, unknown> {
  const command = completion?.commands[0];
  if (command?.kind !== 'completeWorkflow' || command.result === undefined) throw new Error(`not completed: ${JSON.stringify(completion)}`);
  return defaultPayloadConverter.fromPayload(command.result) as Record<string, unknown>;
}

describe('runs sharing the worker context', () => {
  it('see only their own globals, module state, clock and random numbers, across interleaved tasks', () => {
    const a = newReplayer('run-a');
    const b = newReplayer('run-b');
    a.replay(firstTask('a', 1_700_000_000));
    b.replay(firstTask('b', 1_800_000_000));
    const endB = result(b.replay(secondTask(1_800_000_005)).live);
    const endA = result(a.replay(secondTask(1_700_000_005)).live);
    expect(endA).toMatchObject({ seenAtStart: null, seenAtEnd: 'a', runsOfThisModule: 1, now: 1_700_000_005_000, weakRef: 'DeterminismViolationError' });
    expect(endB).toMatchObject({ seenAtStart: null, seenAtEnd: 'b', runsOfThisModule: 1, now: 1_800_000_005_000, weakRef: 'DeterminismViolationError' });

    // The same run replayed from scratch draws the same numbers; another run id draws others.
    const again = newReplayer('run-a');
    again.replay(firstTask('a', 1_700_000_000));
    expect(result(again.replay(secondTask(1_700_000_005)).live)).toEqual(endA);
    expect(endB['randomAtStart']).not.toBe(endA['randomAtStart']);
  });

  it('do not keep the globals of a disposed run', () => {
    const a = newReplayer('run-a');
    a.replay(firstTask('a', 1_700_000_000));
    (a as unknown as { sandbox: WorkflowSandbox }).sandbox.dispose();
    const b = newReplayer('run-b');
    b.replay(firstTask('b', 1_800_000_000));
    expect(result(b.replay(secondTask(1_800_000_005)).live)).toMatchObject({ seenAtStart: null, seenAtEnd: 'b' });
  });
});
