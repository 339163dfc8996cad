// Property-based model test of the pure history core: random sequences of what workers, clients and
// the timer queue can do to one run (signals, workflow-task polls/completions/failures/timeouts,
// activity polls/completions/failures, timer rows firing — in or out of order, stale or not) are
// applied through the harness; after every step the accumulated history must satisfy the sdk-core
// invariants and mutable state must agree with it.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { api } from '@kairos/common';
import { EventType, type Command, type HistoryEvent } from '../proto-types.js';
import { applicationFailure, cmd, EngineHarness } from './test-support/harness.js';
import { eventTypeName, eventTypeOf, isActivityCloseEvent, validateHistory, WORKFLOW_CLOSE_EVENTS } from './test-support/history-validator.js';

const E = EventType;

// ---------------------------------------------------------------- operations

type CommandSpec =
  | { readonly c: 'activity'; readonly scheduleToCloseS: number; readonly startToCloseS: number; readonly scheduleToStartS: number; readonly heartbeatS: number; readonly maxAttempts: number }
  | { readonly c: 'timer'; readonly seconds: number }
  | { readonly c: 'cancelTimer'; readonly pick: number }
  | { readonly c: 'cancelActivity'; readonly pick: number }
  | { readonly c: 'marker' }
  | { readonly c: 'complete' };

type Op =
  | { readonly k: 'signal' }
  | { readonly k: 'startWft' }
  | { readonly k: 'completeWft'; readonly commands: readonly CommandSpec[]; readonly force: boolean }
  /** Poll and complete in one go (the common case of a healthy worker). */
  | { readonly k: 'wftRound'; readonly commands: readonly CommandSpec[]; readonly force: boolean }
  | { readonly k: 'failWft' }
  | { readonly k: 'timeoutWft' }
  | { readonly k: 'startActivity'; readonly pick: number }
  | { readonly k: 'completeActivity'; readonly pick: number }
  | { readonly k: 'failActivity'; readonly pick: number; readonly nonRetryable: boolean; readonly nextRetryDelayS: number }
  | { readonly k: 'cancelActivity'; readonly pick: number }
  | { readonly k: 'heartbeat'; readonly pick: number }
  | { readonly k: 'retryActivity'; readonly pick: number }
  | { readonly k: 'fireTimerRow'; readonly pick: number }
  | { readonly k: 'fireDue' }
  | { readonly k: 'advance'; readonly seconds: number }
  | { readonly k: 'runTimeout' }
  | { readonly k: 'requestCancelWorkflow' }
  | { readonly k: 'terminate' };

const pick = fc.nat({ max: 1000 });

const commandArb: fc.Arbitrary<CommandSpec> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      c: fc.constant('activity' as const),
      scheduleToCloseS: fc.constantFrom(0, 0, 30, 300),
      startToCloseS: fc.constantFrom(0, 5, 10, 60),
      scheduleToStartS: fc.constantFrom(0, 0, 20),
      heartbeatS: fc.constantFrom(0, 0, 3),
      maxAttempts: fc.constantFrom(0, 1, 2, 3),
    }),
  },
  { weight: 6, arbitrary: fc.record({ c: fc.constant('timer' as const), seconds: fc.integer({ min: 1, max: 120 }) }) },
  { weight: 4, arbitrary: fc.record({ c: fc.constant('cancelTimer' as const), pick }) },
  { weight: 2, arbitrary: fc.record({ c: fc.constant('cancelActivity' as const), pick }) },
  { weight: 2, arbitrary: fc.record({ c: fc.constant('marker' as const) }) },
  { weight: 1, arbitrary: fc.record({ c: fc.constant('complete' as const) }) },
);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ k: 'signal' as const }) },
  { weight: 6, arbitrary: fc.constant({ k: 'startWft' as const }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('completeWft' as const), commands: fc.array(commandArb, { maxLength: 4 }), force: fc.boolean() }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('wftRound' as const), commands: fc.array(commandArb, { maxLength: 4 }), force: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ k: 'failWft' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'timeoutWft' as const }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('startActivity' as const), pick }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('completeActivity' as const), pick }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('failActivity' as const), pick, nonRetryable: fc.boolean(), nextRetryDelayS: fc.constantFrom(0, 0, 0, 2) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('cancelActivity' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('heartbeat' as const), pick }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('retryActivity' as const), pick }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('fireTimerRow' as const), pick }) },
  { weight: 1, arbitrary: fc.constant({ k: 'fireDue' as const }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('advance' as const), seconds: fc.integer({ min: 1, max: 90 }) }) },
  { weight: 1, arbitrary: fc.constant({ k: 'requestCancelWorkflow' as const }) },
  // Rare: they end the run.
  { weight: 1, arbitrary: fc.oneof({ weight: 1, arbitrary: fc.constant({ k: 'terminate' as const }) }, { weight: 1, arbitrary: fc.constant({ k: 'runTimeout' as const }) }, { weight: 4, arbitrary: fc.constant({ k: 'signal' as const }) }) },
);

const startArb = fc.record({
  workflowTaskTimeoutS: fc.constantFrom(0, 5, 10),
  runTimeoutS: fc.constantFrom(0, 0, 600, 3600),
});

function choose<T>(items: readonly T[], n: number): T | undefined {
  return items.length === 0 ? undefined : items[n % items.length];
}

// ---------------------------------------------------------------- the driver

class Driver {
  private seq = 0;
  constructor(readonly h: EngineHarness) {}

  private get started(): boolean {
    const wft = this.h.state.workflowTask;
    return this.h.running && wft !== null && wft.startedEventId > 0;
  }

  private activityIds(filter: (a: EngineHarness['state']['activities'][number]) => boolean): number[] {
    return Object.values(this.h.state.activities)
      .filter(filter)
      .map((a) => a.scheduledEventId)
      .sort((a, b) => a - b);
  }

  /** Timer ids a CancelTimer may name: pending timers and fired timers whose TimerFired is buffered. */
  private cancellableTimerIds(): string[] {
    const ids = Object.keys(this.h.state.timers);
    for (const b of this.h.state.buffered) if (b.eventType === E.EVENT_TYPE_TIMER_FIRED) ids.push(b.timerId);
    return ids.sort();
  }

  private buildCommands(specs: readonly CommandSpec[]): Command[] {
    const out: Command[] = [];
    const timerIds = this.cancellableTimerIds();
    const cancellable = this.activityIds((a) => !a.cancelRequested);
    let complete = false;
    for (const s of specs) {
      switch (s.c) {
        case 'activity': {
          const id = `a${++this.seq}`;
          const startToCloseMs = s.startToCloseS * 1000;
          const scheduleToCloseMs = s.scheduleToCloseS * 1000;
          // At least one of schedule-to-close / start-to-close must be set for a valid command.
          out.push(
            cmd.scheduleActivity(id, {
              ...(scheduleToCloseMs > 0 ? { scheduleToCloseMs } : {}),
              startToCloseMs: startToCloseMs > 0 || scheduleToCloseMs > 0 ? startToCloseMs : 10_000,
              ...(s.scheduleToStartS > 0 ? { scheduleToStartMs: s.scheduleToStartS * 1000 } : {}),
              ...(s.heartbeatS > 0 ? { heartbeatMs: s.heartbeatS * 1000 } : {}),
              retryPolicy: { maximumAttempts: s.maxAttempts, initialInterval: { seconds: 1 } },
            }),
          );
          break;
        }
        case 'timer':
          out.push(cmd.startTimer(`t${++this.seq}`, s.seconds * 1000));
          break;
        case 'cancelTimer': {
          const id = choose(timerIds, s.pick);
          if (id === undefined) break;
          timerIds.splice(timerIds.indexOf(id), 1);
          out.push(cmd.cancelTimer(id));
          break;
        }
        case 'cancelActivity': {
          const sid = choose(cancellable, s.pick);
          if (sid === undefined) break;
          cancellable.splice(cancellable.indexOf(sid), 1);
          out.push(cmd.requestCancelActivity(sid));
          break;
        }
        case 'marker':
          out.push(cmd.recordMarker(`m${++this.seq}`));
          break;
        case 'complete':
          complete = true;
          break;
      }
    }
    if (complete) out.push(cmd.completeWorkflow());
    return out;
  }

  apply(op: Op): void {
    const h = this.h;
    if (!h.running) return;
    switch (op.k) {
      case 'signal':
        h.signal('sig');
        return;
      case 'startWft':
        h.startWorkflowTask();
        return;
      case 'wftRound':
        if (!this.started) h.startWorkflowTask();
        if (!this.started) return;
        h.completeWorkflowTask(this.buildCommands(op.commands), { forceCreateNewWorkflowTask: op.force, token: this.token() });
        return;
      case 'completeWft':
        if (!this.started) return;
        h.completeWorkflowTask(this.buildCommands(op.commands), { forceCreateNewWorkflowTask: op.force, token: this.token() });
        return;
      case 'failWft':
        if (this.started) h.failWorkflowTask(undefined, undefined, { token: this.token() });
        return;
      case 'timeoutWft':
        h.timeOutWorkflowTask();
        return;
      case 'startActivity': {
        const sid = choose(this.activityIds((a) => a.phase === 'scheduled' && !a.awaitingRetry), op.pick);
        if (sid !== undefined) h.startActivity(sid);
        return;
      }
      case 'completeActivity': {
        const sid = choose(this.activityIds((a) => a.phase === 'started'), op.pick);
        if (sid !== undefined) h.completeActivity(sid);
        return;
      }
      case 'failActivity': {
        const sid = choose(this.activityIds((a) => a.phase === 'started'), op.pick);
        if (sid !== undefined) h.failActivity(sid, applicationFailure('boom', { nonRetryable: op.nonRetryable, ...(op.nextRetryDelayS > 0 ? { nextRetryDelayMs: op.nextRetryDelayS * 1000 } : {}) }));
        return;
      }
      case 'cancelActivity': {
        const sid = choose(this.activityIds((a) => a.phase === 'started' && a.cancelRequested), op.pick);
        if (sid !== undefined) h.cancelActivity(sid);
        return;
      }
      case 'heartbeat': {
        const sid = choose(this.activityIds((a) => a.phase === 'started'), op.pick);
        if (sid !== undefined) h.heartbeatActivity(sid);
        return;
      }
      case 'retryActivity': {
        const sid = choose(this.activityIds((a) => a.awaitingRetry), op.pick);
        if (sid !== undefined) h.fireActivityRetry(sid);
        return;
      }
      case 'fireTimerRow': {
        // Any durable row, in or out of time order, stale or not (the engine must re-validate it);
        // the run timeout has its own (rarer) operation.
        const row = choose(
          h.timerRows((t) => t.kind !== 'workflowRunTimeout'),
          op.pick,
        );
        if (row) h.fireTimer(row.taskId);
        return;
      }
      case 'fireDue':
        h.runUntil(h.nowMs);
        return;
      case 'advance':
        h.advance(op.seconds * 1000);
        return;
      case 'runTimeout':
        h.fireRunTimeout();
        return;
      case 'requestCancelWorkflow':
        h.requestCancelWorkflow();
        return;
      case 'terminate':
        h.terminate();
        return;
    }
  }

  /** The token of the started task as its poll returned it. */
  private token(): { scheduledEventId: number; attempt: number; startedEventId: number } {
    const wft = this.h.state.workflowTask!;
    return { scheduledEventId: wft.scheduledEventId, attempt: wft.attempt, startedEventId: wft.startedEventId };
  }
}

// ---------------------------------------------------------------- consistency of state and history

const HistoryEventType = api.history.v1.HistoryEvent;

function attr(e: HistoryEvent): Record<string, unknown> {
  for (const [k, v] of Object.entries(e)) if (k.endsWith('EventAttributes') && v) return v as Record<string, unknown>;
  return {};
}

/** Returns the problems found comparing mutable state, the timer table and the history. */
function checkConsistency(h: EngineHarness): string[] {
  const problems: string[] = [];
  const s = h.state;
  const events = h.history;
  const last = events[events.length - 1];
  const lastId = last ? Number(last.eventId) : 0;
  if (s.nextEventId !== lastId + 1) problems.push(`nextEventId ${s.nextEventId} but the last event is ${lastId}`);

  if (!h.running) {
    if (!last || !WORKFLOW_CLOSE_EVENTS.has(eventTypeOf(last))) problems.push('closed run whose last event is not a close event');
    if (s.workflowTask || Object.keys(s.activities).length || Object.keys(s.timers).length || s.buffered.length) problems.push('closed run with pending work in mutable state');
    if (h.timers.size > 0) problems.push(`closed run left timer rows: ${[...h.timers.values()].map((r) => r.task.kind).join(', ')}`);
    return problems;
  }

  // Replay the history into open activities / timers / workflow task.
  const openActivities = new Set<number>();
  const openTimers = new Set<string>();
  let pendingWft: { scheduledEventId: number; startedEventId: number } | null = null;
  let lastCompletedStarted = 0;
  for (const e of events) {
    const t = eventTypeOf(e);
    const a = attr(e);
    if (t === E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) openActivities.add(Number(e.eventId));
    else if (isActivityCloseEvent(t)) openActivities.delete(Number(a['scheduledEventId']));
    else if (t === E.EVENT_TYPE_TIMER_STARTED) openTimers.add(String(a['timerId']));
    else if (t === E.EVENT_TYPE_TIMER_FIRED || t === E.EVENT_TYPE_TIMER_CANCELED) openTimers.delete(String(a['timerId']));
    else if (t === E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED) pendingWft = { scheduledEventId: Number(e.eventId), startedEventId: 0 };
    else if (t === E.EVENT_TYPE_WORKFLOW_TASK_STARTED && pendingWft) pendingWft.startedEventId = Number(e.eventId);
    else if (t === E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED || t === E.EVENT_TYPE_WORKFLOW_TASK_FAILED || t === E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT) {
      if (t === E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) lastCompletedStarted = Number(a['startedEventId'] ?? 0);
      pendingWft = null;
    }
  }

  // Buffered events are known to state but not yet in history.
  const bufferedActivityCloses = new Set<number>();
  const bufferedTimerFired = new Set<string>();
  for (const b of s.buffered) {
    if (isActivityCloseEvent(b.eventType)) bufferedActivityCloses.add(b.scheduledEventId);
    if (b.eventType === E.EVENT_TYPE_TIMER_FIRED) bufferedTimerFired.add(b.timerId);
    const decoded = HistoryEventType.decode(b.event);
    if (Number(decoded.eventId ?? 0) !== 0) problems.push('a buffered event already has an id');
  }
  const expectedActivities = new Set([...Object.keys(s.activities).map(Number), ...bufferedActivityCloses]);
  if (!sameSet(openActivities, expectedActivities)) problems.push(`open activities in history [${[...openActivities]}] != pending+buffered [${[...expectedActivities]}]`);
  const expectedTimers = new Set([...Object.keys(s.timers), ...bufferedTimerFired]);
  if (!sameSet(openTimers, expectedTimers)) problems.push(`open timers in history [${[...openTimers]}] != pending+buffered [${[...expectedTimers]}]`);
  for (const [id, timer] of Object.entries(s.timers)) {
    if (!h.timers.has(timer.taskId)) problems.push(`user timer ${id} has no timer row`);
  }

  if (s.lastCompletedWftStartedEventId !== lastCompletedStarted) problems.push(`lastCompletedWftStartedEventId ${s.lastCompletedWftStartedEventId}, history says ${lastCompletedStarted}`);
  const wft = s.workflowTask;
  if (s.buffered.length > 0 && !(wft && wft.startedEventId > 0)) problems.push('events are buffered but no workflow task is started');
  if (!wft) {
    if (pendingWft) problems.push(`history has a pending workflow task ${pendingWft.scheduledEventId} that state does not`);
  } else if (!wft.transient) {
    if (!pendingWft || pendingWft.scheduledEventId !== wft.scheduledEventId || pendingWft.startedEventId !== wft.startedEventId) {
      problems.push(`state workflow task ${wft.scheduledEventId}/${wft.startedEventId} != history ${pendingWft ? `${pendingWft.scheduledEventId}/${pendingWft.startedEventId}` : 'none'}`);
    }
    if (wft.attempt !== 1) problems.push(`a non-transient workflow task has attempt ${wft.attempt}`);
  } else {
    if (pendingWft) problems.push('a transient workflow task while history has a pending one');
    if (wft.attempt < 2) problems.push('a transient workflow task with attempt 1');
    if (wft.scheduledEventId !== s.nextEventId) problems.push(`transient task scheduled id ${wft.scheduledEventId} != nextEventId ${s.nextEventId}`);
    if (wft.startedEventId !== 0 && wft.startedEventId !== wft.scheduledEventId + 1) problems.push('transient started id is not scheduled id + 1');
  }
  if (wft && wft.startedEventId > 0) {
    const poll = h.pollHistory();
    const pollProblems = validateHistory(poll);
    if (pollProblems.length) problems.push(`poll history invalid: ${pollProblems.join('; ')}`);
    const lastPolled = poll[poll.length - 1]!;
    if (eventTypeOf(lastPolled) !== E.EVENT_TYPE_WORKFLOW_TASK_STARTED || Number(lastPolled.eventId) !== wft.startedEventId) {
      problems.push(`poll history does not end with WorkflowTaskStarted ${wft.startedEventId}`);
    }
    const hasTimeoutRow = h.timerRows((t) => t.kind === 'workflowTaskTimeout' && t.scheduledEventId === wft.scheduledEventId && t.attempt === wft.attempt).length > 0;
    if (!hasTimeoutRow) problems.push('started workflow task has no start-to-close timer row');
  }

  // Liveness: every pending activity has a timer row or a dispatch that moves it on.
  for (const info of Object.values(s.activities)) {
    const rows = h.timerRows((t) => (t.kind === 'activityTimeout' || t.kind === 'activityRetry') && t.scheduledEventId === info.scheduledEventId);
    if (info.awaitingRetry && !rows.some((r) => r.task.kind === 'activityRetry' && r.task.attempt === info.attempt)) problems.push(`activity ${info.scheduledEventId} awaits a retry without a retry row`);
    if (info.phase === 'started' && info.startToCloseMs > 0 && !rows.some((r) => r.task.kind === 'activityTimeout' && r.task.attempt === info.attempt && r.task.timeoutType === 1)) {
      problems.push(`started activity ${info.scheduledEventId} has no start-to-close row`);
    }
    if (info.scheduleToCloseMs > 0 && !rows.some((r) => r.task.kind === 'activityTimeout' && r.task.timeoutType === 3)) problems.push(`activity ${info.scheduledEventId} has no schedule-to-close row`);
  }
  return problems;
}

function sameSet<T>(a: ReadonlySet<T>, b: ReadonlySet<T>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

function describeHistory(h: EngineHarness): string {
  return h.history.map((e) => `${Number(e.eventId)} ${eventTypeName(Number(e.eventType))}`).join('\n');
}

// ---------------------------------------------------------------- properties

describe('history engine core (property-based)', () => {
  it('every reachable history satisfies the sdk-core invariants and matches mutable state', () => {
    fc.assert(
      fc.property(startArb, fc.array(opArb, { minLength: 1, maxLength: 40, size: 'max' }), (start, ops) => {
        const h = EngineHarness.start({
          ...(start.workflowTaskTimeoutS > 0 ? { workflowTaskTimeoutMs: start.workflowTaskTimeoutS * 1000 } : {}),
          ...(start.runTimeoutS > 0 ? { runTimeoutMs: start.runTimeoutS * 1000 } : {}),
        });
        const driver = new Driver(h);
        expect(validateHistory(h.history)).toEqual([]);
        for (const [i, op] of ops.entries()) {
          driver.apply(op);
          const problems = [...validateHistory(h.history), ...checkConsistency(h)];
          if (problems.length > 0) {
            throw new Error(`after step ${i} (${JSON.stringify(op)}):\n  ${problems.join('\n  ')}\nhistory:\n${describeHistory(h)}`);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('a run driven by a well-behaved worker always reaches completion with a valid history', () => {
    // Whatever the worker does, answering every task and finally completing ends the run cleanly.
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 30, size: 'max' }), (ops) => {
        const h = EngineHarness.start();
        const driver = new Driver(h);
        for (const op of ops) driver.apply(op);
        for (let guard = 0; guard < 50 && h.running; guard++) {
          const wft = h.state.workflowTask;
          if (wft && wft.startedEventId > 0) {
            h.completeWorkflowTask([cmd.completeWorkflow()], { token: { scheduledEventId: wft.scheduledEventId, attempt: wft.attempt, startedEventId: wft.startedEventId } });
          } else if (wft) {
            h.startWorkflowTask();
          } else {
            h.signal('nudge');
          }
        }
        expect(h.running).toBe(false);
        expect([...validateHistory(h.history), ...checkConsistency(h)]).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });
});
