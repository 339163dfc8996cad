// The scheduler over a real store, with virtual time and a WorkflowService fake that keeps workflows
// in a map: catch-up after downtime (and the catchup window), restart from the store, a start repeated
// after a failed write, and overlap policies waiting on a watched run.
import { api } from '@kairos/common';
import { afterEach, describe, expect, it } from 'vitest';
import { GrpcCode, ServiceError } from '../errors.js';
import { createLogger } from '../logger.js';
import { SqliteStore } from '../persistence/sqlite/sqlite-store.js';
import type { ScheduleRow, Store } from '../persistence/store.js';
import { ManualClock } from '../timers/test-support/timer-fakes.js';
import { decodeScheduleRecord } from './schedule-record.js';
import { Scheduler, type WorkflowCaller } from './scheduler.js';

const Policy = api.enums.v1.ScheduleOverlapPolicy;
const EventType = api.enums.v1.EventType;
const T0 = Date.UTC(2030, 0, 1);
const MINUTE = 60_000;
const logger = createLogger({ level: 'never', format: 'json' });

interface FakeRun {
  readonly workflowId: string;
  readonly requestId: string;
  status: 'running' | 'completed';
  readonly closed: Array<() => void>;
}

/** Workflows as the scheduler sees them through the WorkflowService. */
class FakeWorkflows {
  readonly runs = new Map<string, FakeRun>();
  /** Workflows complete as soon as they start. */
  completeAtOnce = true;
  /** Workflow ids whose next start fails as if their shard were away. */
  readonly unavailableOnce = new Set<string>();

  readonly call: WorkflowCaller = async (method, request, options) => {
    const req = request as Record<string, unknown> & { workflowId?: string; requestId?: string; execution?: { workflowId: string }; workflowExecution?: { workflowId: string } };
    switch (method) {
      case 'StartWorkflowExecution': {
        if (this.unavailableOnce.delete(req.workflowId!)) throw new ServiceError(GrpcCode.UNAVAILABLE, 'shard moving');
        const existing = this.runs.get(req.workflowId!);
        if (existing) {
          if (existing.requestId === req.requestId) return { runId: `run-${req.workflowId}`, started: false };
          throw new ServiceError(GrpcCode.ALREADY_EXISTS, 'Workflow execution is already running.');
        }
        this.runs.set(req.workflowId!, { workflowId: req.workflowId!, requestId: req.requestId!, status: this.completeAtOnce ? 'completed' : 'running', closed: [] });
        return { runId: `run-${req.workflowId}`, started: true };
      }
      case 'GetWorkflowExecutionHistory': {
        const run = this.runs.get(req.execution!.workflowId);
        if (!run) throw new ServiceError(GrpcCode.NOT_FOUND, 'not found');
        if (run.status === 'running' && req['waitNewEvent']) {
          await new Promise<void>((resolve) => {
            run.closed.push(resolve);
            options?.signal?.addEventListener('abort', () => resolve());
          });
        }
        if (run.status === 'running') return { history: { events: [] } };
        return { history: { events: [{ eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, workflowExecutionCompletedEventAttributes: { result: null } }] } };
      }
      case 'TerminateWorkflowExecution':
        this.complete(req.workflowExecution!.workflowId);
        return {};
      default:
        throw new Error(`unexpected ${method}`);
    }
  };

  complete(workflowId: string): void {
    const run = this.runs.get(workflowId)!;
    run.status = 'completed';
    for (const wake of run.closed.splice(0)) wake();
  }

  ids(): string[] {
    return [...this.runs.keys()].sort();
  }
}

const stores: Store[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

function setup(options: { store?: Store; clock?: ManualClock; workflows?: FakeWorkflows } = {}) {
  const store = options.store ?? SqliteStore.open({ filename: ':memory:' });
  if (!options.store) stores.push(store);
  const clock = options.clock ?? new ManualClock(T0);
  const workflows = options.workflows ?? new FakeWorkflows();
  const scheduler = new Scheduler(store, clock, logger, workflows.call);
  return { store, clock, workflows, scheduler };
}

const KEY = { namespaceId: 'ns-id', scheduleId: 'every-minute' };

function everyMinute(overlapPolicy: number, catchupWindowS?: number) {
  return {
    ...KEY,
    namespaceName: 'default',
    schedule: {
      spec: { interval: [{ interval: { seconds: 60 } }] },
      action: { startWorkflow: { workflowId: 'job', workflowType: { name: 'job' }, taskQueue: { name: 'q' } } },
      policies: { overlapPolicy, ...(catchupWindowS ? { catchupWindow: { seconds: catchupWindowS } } : {}) },
    },
    initialPatch: null,
    memo: null,
    searchAttributes: null,
  };
}

async function stored(store: Store) {
  const row = (await store.getSchedule(KEY.namespaceId, KEY.scheduleId)) as ScheduleRow;
  return decodeScheduleRecord(row.data);
}

describe('Scheduler', () => {
  it('takes each spec time once, with the workflow id suffixed by the nominal time', async () => {
    const { scheduler, clock, workflows, store } = setup();
    await scheduler.create(everyMinute(Policy.SCHEDULE_OVERLAP_POLICY_SKIP));
    await clock.advanceTo(T0 + 3 * MINUTE + 500);
    expect(workflows.ids()).toEqual(['job-2030-01-01T00:01:00Z', 'job-2030-01-01T00:02:00Z', 'job-2030-01-01T00:03:00Z']);
    const record = await stored(store);
    expect(record.actionCount).toBe(3);
    expect(record.recentActions.map((a) => a.scheduleTimeMs)).toEqual([T0 + MINUTE, T0 + 2 * MINUTE, T0 + 3 * MINUTE]);
    scheduler.stop();
  });

  it('catches up after downtime from the store, within the catchup window only', async () => {
    const first = setup();
    await first.scheduler.create(everyMinute(Policy.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL, 150));
    // The process dies: its timers go with it. Five minutes pass.
    first.scheduler.stop();
    const clock = new ManualClock(T0 + 5 * MINUTE + 500);
    const second = setup({ store: first.store, clock, workflows: first.workflows });
    await second.scheduler.resume();
    await clock.advanceTo(T0 + 5 * MINUTE + 1000);
    // 00:01 and 00:02 are more than 150 s late: missed. 00:03 to 00:05 are started, one after another.
    expect(first.workflows.ids()).toEqual(['job-2030-01-01T00:03:00Z', 'job-2030-01-01T00:04:00Z', 'job-2030-01-01T00:05:00Z']);
    const record = await stored(first.store);
    expect(record).toMatchObject({ actionCount: 3, missedCatchupWindow: 2, overlapSkipped: 0, buffered: [] });
    second.scheduler.stop();
  });

  it('repeats a start whose write failed without starting a second workflow', async () => {
    const { store, clock, workflows } = setup();
    let failNext = false;
    const flaky: Store = Object.create(store) as Store;
    flaky.putSchedule = async (row, expected) => {
      if (failNext) {
        failNext = false;
        throw new Error('disk full');
      }
      return store.putSchedule(row, expected);
    };
    const scheduler = new Scheduler(flaky, clock, logger, workflows.call);
    await scheduler.create(everyMinute(Policy.SCHEDULE_OVERLAP_POLICY_SKIP));
    failNext = true;
    await clock.advanceTo(T0 + MINUTE + 500);
    // The start went out, its record did not: the retry a second later finds the same run.
    expect((await stored(store)).actionCount).toBe(0);
    await clock.advanceTo(T0 + MINUTE + 2000);
    expect(workflows.ids()).toEqual(['job-2030-01-01T00:01:00Z']);
    const record = await stored(store);
    expect(record.actionCount).toBe(1);
    expect(record.recentActions).toHaveLength(1);
    scheduler.stop();
  });

  it('keeps the starts after one that failed for a passing reason, and takes them all', async () => {
    const first = setup();
    await first.scheduler.create(everyMinute(Policy.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL));
    first.scheduler.stop();
    first.workflows.unavailableOnce.add('job-2030-01-01T00:02:00Z');
    const clock = new ManualClock(T0 + 3 * MINUTE + 500);
    const second = setup({ store: first.store, clock, workflows: first.workflows });
    await second.scheduler.resume();
    await clock.advanceTo(T0 + 3 * MINUTE + 500);
    expect(first.workflows.ids()).toEqual(['job-2030-01-01T00:01:00Z']);
    expect((await stored(first.store)).buffered.map((b) => b.nominalMs)).toEqual([T0 + 2 * MINUTE, T0 + 3 * MINUTE]);
    await clock.advanceTo(T0 + 3 * MINUTE + 2000);
    expect(first.workflows.ids()).toEqual(['job-2030-01-01T00:01:00Z', 'job-2030-01-01T00:02:00Z', 'job-2030-01-01T00:03:00Z']);
    expect(await stored(first.store)).toMatchObject({ actionCount: 3, buffered: [] });
    second.scheduler.stop();
  });

  it('buffers one start behind a running workflow and takes it when that one closes', async () => {
    const { scheduler, clock, workflows, store } = setup();
    workflows.completeAtOnce = false;
    await scheduler.create(everyMinute(Policy.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE));
    await clock.advanceTo(T0 + 3 * MINUTE + 500);
    expect(workflows.ids()).toEqual(['job-2030-01-01T00:01:00Z']);
    expect(await stored(store)).toMatchObject({ actionCount: 1, overlapSkipped: 1, buffered: [{ nominalMs: T0 + 2 * MINUTE }] });
    // The watched run closes: the buffered start goes at once, not at the next spec time.
    workflows.complete('job-2030-01-01T00:01:00Z');
    await clock.advanceTo(T0 + 3 * MINUTE + 600);
    expect(workflows.ids()).toEqual(['job-2030-01-01T00:01:00Z', 'job-2030-01-01T00:02:00Z']);
    expect(await stored(store)).toMatchObject({ actionCount: 2, buffered: [], running: [{ workflowId: 'job-2030-01-01T00:02:00Z' }] });
    scheduler.stop();
  });

  it('terminates the running workflow for terminate-other, then starts', async () => {
    const { scheduler, clock, workflows, store } = setup();
    workflows.completeAtOnce = false;
    await scheduler.create(everyMinute(Policy.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER));
    await clock.advanceTo(T0 + 2 * MINUTE + 500);
    expect(workflows.ids()).toEqual(['job-2030-01-01T00:01:00Z', 'job-2030-01-01T00:02:00Z']);
    expect(workflows.runs.get('job-2030-01-01T00:01:00Z')!.status).toBe('completed');
    expect(await stored(store)).toMatchObject({ actionCount: 2, running: [{ workflowId: 'job-2030-01-01T00:02:00Z' }] });
    scheduler.stop();
  });

  it('takes no scheduled action while paused or out of remaining actions, but manual ones', async () => {
    const { scheduler, clock, workflows, store } = setup();
    const input = everyMinute(Policy.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL);
    await scheduler.create({ ...input, schedule: { ...input.schedule, state: { limitedActions: true, remainingActions: 1 } } });
    await clock.advanceTo(T0 + 3 * MINUTE + 500);
    expect(workflows.ids()).toEqual(['job-2030-01-01T00:01:00Z']);
    await scheduler.patch(KEY, { triggerImmediately: {}, pause: 'stop' });
    expect(workflows.ids()).toHaveLength(2);
    const record = await stored(store);
    expect(record.schedule.state).toMatchObject({ paused: true, notes: 'stop', limitedActions: true });
    expect(Number(record.schedule.state?.remainingActions)).toBe(0);
    scheduler.stop();
  });
});
