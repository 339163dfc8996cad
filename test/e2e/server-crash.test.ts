/**
 * Server crash recovery: with workflows waiting on timers, on running activities and on signals, the
 * server is SIGKILLed (while signals keep arriving) and restarted on the same database file. Then every
 * workflow completes, every acknowledged signal was seen exactly once, and no activity result was
 * applied twice. Run twice: with the SQLite connection on the main thread (the default) and on a
 * thread of its own (`--sqlite-thread`), whose acknowledgements must be just as durable.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityProbe, openGate } from './activities.js';
import { startEnvironment, type E2EEnvironment } from './helpers/environment.js';
import {
  EventType,
  eventsOfType,
  eventTypeNames,
  hasEvent,
  waitFor,
  waitForHistory,
  uniqueWorkflowId,
  type History,
  type HistoryRecorder,
} from './helpers/sdk.js';
import {
  addItemSignal,
  closeSignal,
  collectorWorkflow,
  gatedActivityWorkflow,
  sleepWorkflow,
} from './workflows/index.js';


/**
 * Sends `addItem` signals one after another (paced, so the history stays small) until stopped, and
 * records which calls the server acknowledged. The client retries failed calls with the same request
 * id, so a call that spans the crash may be applied before the kill and acknowledged after the restart.
 */
class SignalPump {
  readonly sent: string[] = [];
  readonly acknowledged: string[] = [];
  readonly failed: string[] = [];
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly handle: WorkflowHandle<typeof collectorWorkflow>,
    private readonly prefix: string,
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    for (let n = 0; !this.stopped; n++) {
      const item = `${this.prefix}-${n}`;
      this.sent.push(item);
      try {
        await this.handle.signal(addItemSignal, item);
        this.acknowledged.push(item);
      } catch {
        this.failed.push(item);
      }
      await delay(25);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

/** True if `items` appear in `sequence` in the same relative order. */
function isSubsequence(items: string[], sequence: string[]): boolean {
  let position = 0;
  for (const item of items) {
    position = sequence.indexOf(item, position);
    if (position < 0) return false;
    position++;
  }
  return true;
}

/** Each scheduled activity closed exactly once (one completion per scheduled event id). */
function activityClosesPerScheduled(history: History): number[] {
  const closeTypes = new Set([
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
  ]);
  const closes = (history.events ?? []).filter((event) => closeTypes.has(event.eventType!));
  return eventsOfType(history, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).map((scheduled) => {
    const id = String(scheduled.eventId);
    return closes.filter((event) => {
      const attributes =
        event.activityTaskCompletedEventAttributes ??
        event.activityTaskFailedEventAttributes ??
        event.activityTaskTimedOutEventAttributes ??
        event.activityTaskCanceledEventAttributes;
      return String(attributes?.scheduledEventId) === id;
    }).length;
  });
}

describe.each([
  { label: 'SQLite on the main thread', extraArgs: [] },
  { label: 'SQLite on its own thread', extraArgs: ['--sqlite-thread'] },
])('$label', ({ extraArgs }) => {
  let env: E2EEnvironment;
  let client: Client;
  let recorder: HistoryRecorder;

  beforeAll(async () => {
    env = await startEnvironment({ extraArgs });
    ({ client, recorder } = env);
  });

  afterAll(async () => {
    await env?.close();
  });

  it('recovers every workflow, acknowledged signal and activity result after a SIGKILL of the server', async () => {
    const { server } = env;
    await env.withTaskQueue('server-crash', async (taskQueue) => {
      // Timers: one due while the server is down, others after it is back.
      const timerDurations = [1_500, 3_000, 5_000];
      const timers = await Promise.all(
        timerDurations.map(async (ms, i) =>
          recorder.record(
            await client.workflow.start(sleepWorkflow, {
              taskQueue,
              workflowId: uniqueWorkflowId(`crash-timer-${i}`),
              args: [ms],
            }),
          ),
        ),
      );

      // Activities, held running at a gate until the test opens it.
      const activityKeys = [0, 1, 2, 3].map((i) => uniqueWorkflowId(`crash-activity-${i}`));
      const activityWorkflows = await Promise.all(
        activityKeys.map(async (key) =>
          recorder.record(
            await client.workflow.start(gatedActivityWorkflow, { taskQueue, workflowId: key, args: [key] }),
          ),
        ),
      );

      // Signal collectors, each with a few signals acknowledged well before the crash.
      const collectors = await Promise.all(
        [0, 1, 2].map(async (i) =>
          recorder.record(
            await client.workflow.start(collectorWorkflow, { taskQueue, workflowId: uniqueWorkflowId(`crash-collector-${i}`), memo: { collector: i } }),
          ),
        ),
      );
      const earlySignals = ['early-0', 'early-1', 'early-2'];
      for (const collector of collectors) {
        for (const item of earlySignals) await collector.signal(addItemSignal, item);
      }

      // Everything is in flight: timers started, activities running.
      await Promise.all(
        timers.map((handle) => waitForHistory(handle, (history) => hasEvent(history, EventType.EVENT_TYPE_TIMER_STARTED))),
      );
      await waitFor(() => activityKeys.every((key) => activityProbe.running.has(key)), {
        description: 'all gated activities to be running',
      });

      // Signals keep arriving across the crash.
      const pumps = collectors.map((collector, i) => new SignalPump(collector, `live-${i}`));
      await waitFor(() => pumps.every((pump) => pump.acknowledged.length >= 3), {
        description: 'every signal pump to have acknowledged signals',
      });

      await server.kill('SIGKILL');
      // These two activities finish while the server is down: the worker must get their results through.
      openGate(activityKeys[0]!);
      openGate(activityKeys[1]!);
      await server.restart();
      openGate(activityKeys[2]!);
      openGate(activityKeys[3]!);

      const acknowledgedAtRestart = pumps.map((pump) => pump.acknowledged.length);
      await waitFor(() => pumps.every((pump, i) => pump.acknowledged.length >= acknowledgedAtRestart[i]! + 3), {
        timeoutMs: 60_000,
        description: 'signals to be acknowledged again after the restart',
      });
      await Promise.all(pumps.map((pump) => pump.stop()));
      for (const collector of collectors) await collector.signal(closeSignal);

      // Every workflow completes.
      const timerResults = await Promise.all(timers.map((handle) => handle.result()));
      timerResults.forEach((elapsed, i) => expect(elapsed).toBeGreaterThanOrEqual(timerDurations[i]!));
      const activityResults = await Promise.all(activityWorkflows.map((handle) => handle.result()));
      expect(activityResults).toEqual(activityKeys.map((key) => `gate ${key} passed`));
      const received = await Promise.all(collectors.map((handle) => handle.result()));

      // Every acknowledged signal was seen, exactly once and in order; nothing was invented.
      received.forEach((items, i) => {
        const pump = pumps[i]!;
        const sent = [...earlySignals, ...pump.sent];
        const acknowledged = [...earlySignals, ...pump.acknowledged];
        expect(new Set(items).size, `duplicates in ${items.join(',')}`).toBe(items.length);
        expect(acknowledged.filter((item) => !items.includes(item)), 'acknowledged signals lost').toEqual([]);
        expect(isSubsequence(items, sent), `received out of order: ${items.join(',')}`).toBe(true);
      });

      // The memo and search attributes are stored in the run's listing columns only: a run loaded from
      // the database after the restart got them back, and kept them through its later transitions.
      for (const [i, collector] of collectors.entries()) {
        const described = await collector.describe();
        expect(described.memo).toEqual({ collector: i });
        expect(described.searchAttributes['BuildIds']).toContain('unversioned');
      }

      // Each timer fired once; each activity result was applied once.
      for (const handle of timers) {
        const history = await handle.fetchHistory();
        expect(eventsOfType(history, EventType.EVENT_TYPE_TIMER_FIRED), eventTypeNames(history).join(', ')).toHaveLength(1);
      }
      for (const handle of activityWorkflows) {
        const history = await handle.fetchHistory();
        expect(activityClosesPerScheduled(history), eventTypeNames(history).join(', ')).toEqual([1]);
        expect(eventsOfType(history, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)).toHaveLength(1);
      }
    });
  });

  it('replays every history of this file without nondeterminism', async () => {
    expect(recorder.size).toBeGreaterThan(0);
    expect(await recorder.replayAll(env.workflowBundle)).toEqual([]);
  });
});
