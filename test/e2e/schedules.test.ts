/**
 * Schedules through the official client: create, describe, list, update, pause and unpause, trigger,
 * backfill, overlap policies, pause on failure, matching times and delete, against the workflows a
 * worker of the suite runs.
 */
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleHandle } from '@temporalio/client';
import Long from 'long';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnvironment, type E2EEnvironment } from './helpers/environment.js';
import { uniqueWorkflowId, waitFor } from './helpers/sdk.js';
import { failingWorkflow, scheduledSleeper, scheduledWorkflow, type ScheduledRun } from './workflows/index.js';

let env: E2EEnvironment;
let client: Client;

beforeAll(async () => {
  env = await startEnvironment();
  ({ client } = env);
});

afterAll(async () => {
  await env?.close();
});

/** Deletes the schedule after `fn`, whatever happens. */
async function withSchedule<R>(handle: ScheduleHandle, fn: (handle: ScheduleHandle) => Promise<R>): Promise<R> {
  try {
    return await fn(handle);
  } finally {
    await handle.delete().catch(() => undefined);
  }
}

describe('a schedule on an interval', () => {
  it('starts workflows on time, hands each the previous result, and takes updates', async () => {
    await env.withTaskQueue('sched-interval', async (taskQueue) => {
      const scheduleId = uniqueWorkflowId('sched-interval');
      const workflowId = uniqueWorkflowId('sched-wf');
      const handle = await client.schedule.create({
        scheduleId,
        spec: { intervals: [{ every: '2s' }] },
        action: { type: 'startWorkflow', workflowId, workflowType: scheduledWorkflow, args: ['one'], taskQueue },
        policies: { overlap: ScheduleOverlapPolicy.BUFFER_ONE },
        memo: { team: 'payments' },
      });
      await withSchedule(handle, async () => {
        const described = await handle.describe();
        expect(described.scheduleId).toBe(scheduleId);
        expect(described.action).toMatchObject({ type: 'startWorkflow', workflowId, workflowType: 'scheduledWorkflow', taskQueue, args: ['one'] });
        expect(described.spec.intervals).toMatchObject([{ every: 2000 }]);
        expect(described.policies).toMatchObject({ overlap: 'BUFFER_ONE', catchupWindow: 365 * 24 * 3600 * 1000, pauseOnFailure: false });
        expect(described.state.paused).toBe(false);
        expect(described.memo).toEqual({ team: 'payments' });
        expect(described.info.nextActionTimes).toHaveLength(10);
        const gaps = described.info.nextActionTimes.slice(1).map((t, i) => t.getTime() - described.info.nextActionTimes[i]!.getTime());
        expect(new Set(gaps)).toEqual(new Set([2000]));
        expect(described.info.nextActionTimes[0]!.getTime() % 2000).toBe(0);

        const listed: string[] = [];
        for await (const summary of client.schedule.list()) listed.push(summary.scheduleId);
        expect(listed).toContain(scheduleId);

        // Two actions, each run completed, the second handed the first one's result.
        const runs = await waitFor(async () => {
          const d = await handle.describe();
          return d.info.recentActions.length >= 2 && d.info.runningActions.length === 0 ? d.info.recentActions : undefined;
        }, { timeoutMs: 15_000, intervalMs: 250 });
        const first = runs[0]!.action.workflow;
        const second = runs[1]!.action.workflow;
        expect(first.workflowId).toMatch(new RegExp(`^${workflowId}-\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$`));
        const firstResult = (await client.workflow.getHandle(first.workflowId).result()) as ScheduledRun;
        expect(firstResult).toMatchObject({ arg: 'one', scheduledById: scheduleId });
        const secondResult = (await client.workflow.getHandle(second.workflowId).result()) as ScheduledRun;
        expect(secondResult.previous).toMatchObject({ arg: 'one' });
        const startedBy = await client.workflow.getHandle(first.workflowId).describe();
        expect(startedBy.searchAttributes['TemporalScheduledById']).toEqual([scheduleId]);
        expect((startedBy.searchAttributes['TemporalScheduledStartTime'] as Date[])[0]!.toISOString()).toBe(first.workflowId.slice(workflowId.length + 1).replace('Z', '.000Z'));

        // An update takes effect for the next action and bumps the update time.
        await handle.update((previous) => ({ ...previous, action: { ...previous.action, args: ['two'] } }));
        const afterUpdate = await handle.describe();
        expect(afterUpdate.action).toMatchObject({ args: ['two'] });
        expect(afterUpdate.info.lastUpdatedAt).toBeInstanceOf(Date);
        const updatedRun = await waitFor(async () => {
          for (const action of (await handle.describe()).info.recentActions) {
            const result = (await client.workflow.getHandle(action.action.workflow.workflowId).result()) as ScheduledRun;
            if (result.arg === 'two') return result;
          }
          return undefined;
        }, { timeoutMs: 15_000, intervalMs: 250 });
        expect(updatedRun.arg).toBe('two');
      });
      await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    });
  });
});

describe('schedule controls', () => {
  it('refuses a second schedule with the same id', async () => {
    const scheduleId = uniqueWorkflowId('sched-dup');
    const options = {
      scheduleId,
      spec: { intervals: [{ every: 3_600_000 }] },
      action: { type: 'startWorkflow' as const, workflowType: 'scheduledWorkflow', taskQueue: 'nowhere' },
      state: { paused: true },
    };
    const handle = await client.schedule.create(options);
    await withSchedule(handle, async () => {
      await expect(client.schedule.create(options)).rejects.toBeInstanceOf(ScheduleAlreadyRunning);
    });
  });

  it('pauses and unpauses with notes, and triggers while paused', async () => {
    await env.withTaskQueue('sched-trigger', async (taskQueue) => {
      const handle = await client.schedule.create({
        scheduleId: uniqueWorkflowId('sched-trigger'),
        spec: { intervals: [{ every: '1m' }] },
        action: { type: 'startWorkflow', workflowType: scheduledWorkflow, args: ['t'], taskQueue },
        state: { paused: true },
      });
      await withSchedule(handle, async () => {
        const state = async () => (await handle.describe()).state;
        expect(await state()).toMatchObject({ paused: true, note: '' });
        await handle.pause('custom note1');
        expect(await state()).toMatchObject({ paused: true, note: 'custom note1' });
        await handle.unpause();
        expect(await state()).toMatchObject({ paused: false, note: 'Unpaused via TypeScript SDK"' });
        await handle.pause();
        expect(await state()).toMatchObject({ paused: true, note: 'Paused via TypeScript SDK"' });

        await handle.trigger();
        await new Promise((resolve) => setTimeout(resolve, 1100));
        await handle.trigger();
        const described = await waitFor(async () => {
          const d = await handle.describe();
          return d.info.numActionsTaken === 2 ? d : undefined;
        }, { timeoutMs: 10_000, intervalMs: 250 });
        expect(described.state.paused).toBe(true);
        expect(described.info.recentActions).toHaveLength(2);
      });
    });
  });

  it('backfills past ranges, start inclusive, whatever the pause', async () => {
    await env.withTaskQueue('sched-backfill', async (taskQueue) => {
      const handle = await client.schedule.create({
        scheduleId: uniqueWorkflowId('sched-backfill'),
        spec: { intervals: [{ every: '1m' }] },
        action: { type: 'startWorkflow', workflowType: scheduledWorkflow, args: ['b'], taskQueue },
        state: { paused: true },
      });
      await withSchedule(handle, async () => {
        const minute = 60_000;
        const base = Math.floor(Date.now() / minute) * minute - 30 * minute;
        await handle.backfill([
          { start: new Date(base - 3 * 365 * 24 * 60 * minute), end: new Date(base - 3 * 365 * 24 * 60 * minute + 2 * minute), overlap: ScheduleOverlapPolicy.ALLOW_ALL },
          { start: new Date(base), end: new Date(base + 90_000), overlap: ScheduleOverlapPolicy.ALLOW_ALL },
        ]);
        const described = await waitFor(async () => {
          const d = await handle.describe();
          return d.info.numActionsTaken === 5 ? d : undefined;
        }, { timeoutMs: 10_000, intervalMs: 250 });
        // Allow-all runs are not tracked as running.
        expect(described.info.runningActions).toEqual([]);
        const scheduled = described.info.recentActions.map((a) => a.scheduledAt.getTime());
        expect(scheduled.slice(-2)).toEqual([base, base + minute]);
      });
    });
  });

  it('skips starts while a run is going, and terminates it for a trigger that says so', async () => {
    await env.withTaskQueue('sched-overlap', async (taskQueue) => {
      const handle = await client.schedule.create({
        scheduleId: uniqueWorkflowId('sched-overlap'),
        spec: { intervals: [{ every: '1s' }] },
        action: { type: 'startWorkflow', workflowType: scheduledSleeper, args: [60_000], taskQueue },
        policies: { overlap: ScheduleOverlapPolicy.SKIP },
      });
      await withSchedule(handle, async () => {
        const skipping = await waitFor(async () => {
          const d = await handle.describe();
          return d.info.numActionsSkippedOverlap >= 2 ? d : undefined;
        }, { timeoutMs: 10_000, intervalMs: 250 });
        expect(skipping.info.numActionsTaken).toBe(1);
        expect(skipping.info.runningActions).toHaveLength(1);
        const first = skipping.info.runningActions[0]!.workflow;

        await handle.pause('hold');
        await handle.trigger(ScheduleOverlapPolicy.TERMINATE_OTHER);
        const replaced = await waitFor(async () => {
          const d = await handle.describe();
          return d.info.numActionsTaken === 2 && d.info.runningActions.length === 1 ? d : undefined;
        }, { timeoutMs: 10_000, intervalMs: 250 });
        expect(replaced.info.runningActions[0]!.workflow.workflowId).not.toBe(first.workflowId);
        const terminated = await client.workflow.getHandle(first.workflowId).describe();
        expect(terminated.status.name).toBe('TERMINATED');
        await client.workflow.getHandle(replaced.info.runningActions[0]!.workflow.workflowId).terminate('test over');
      });
    });
  });

  it('pauses itself when a run fails, with pause on failure', async () => {
    await env.withTaskQueue('sched-failure', async (taskQueue) => {
      const handle = await client.schedule.create({
        scheduleId: uniqueWorkflowId('sched-failure'),
        spec: { intervals: [{ every: '1h' }] },
        action: { type: 'startWorkflow', workflowType: failingWorkflow, args: ['broken'], taskQueue },
        policies: { pauseOnFailure: true },
        state: { paused: true },
      });
      await withSchedule(handle, async () => {
        await handle.unpause('go');
        // Not allow-all (the client's default for a trigger): allow-all runs are not watched.
        await handle.trigger(ScheduleOverlapPolicy.BUFFER_ONE);
        const paused = await waitFor(async () => {
          const d = await handle.describe();
          return d.state.paused ? d : undefined;
        }, { timeoutMs: 10_000, intervalMs: 250 });
        const failed = paused.info.recentActions[0]!.action.workflow.workflowId;
        expect(paused.state.note).toBe(`paused due to workflow failure: ${failed}: broken`);
      });
    });
  });
});

describe('specs', () => {
  it('describes crons and calendars as calendars, and lists matching times', async () => {
    const handle = await client.schedule.create({
      scheduleId: uniqueWorkflowId('sched-cron'),
      spec: { cronExpressions: ['0 12 * * MON-WED,FRI'], timezone: 'Europe/Paris' },
      action: { type: 'startWorkflow', workflowType: 'scheduledWorkflow', taskQueue: 'nowhere' },
      state: { paused: true },
    });
    await withSchedule(handle, async () => {
      const described = await handle.describe();
      expect(described.spec.timezone).toBe('Europe/Paris');
      expect(described.spec.calendars).toHaveLength(1);
      expect(described.spec.calendars![0]).toMatchObject({ hour: [{ start: 12, end: 12, step: 1 }], minute: [{ start: 0, end: 0, step: 1 }] });
      const start = Date.UTC(2030, 0, 7); // a Monday
      const raw = await client.workflowService.listScheduleMatchingTimes({
        namespace: 'default',
        scheduleId: handle.scheduleId,
        startTime: { seconds: Long.fromNumber(start / 1000) },
        endTime: { seconds: Long.fromNumber(start / 1000 + 7 * 24 * 3600) },
      });
      const times = raw.startTime!.map((t) => new Date(Number(t.seconds) * 1000).toISOString());
      // Noon in Paris is 11:00 UTC in winter: Monday, Tuesday, Wednesday and Friday.
      expect(times).toEqual(['2030-01-07T11:00:00.000Z', '2030-01-08T11:00:00.000Z', '2030-01-09T11:00:00.000Z', '2030-01-11T11:00:00.000Z']);
    });
  });

  it('refuses a bad spec with INVALID_ARGUMENT', async () => {
    // Raw: the client checks cron strings itself before sending them.
    await expect(
      client.workflowService.createSchedule({
        namespace: 'default',
        scheduleId: uniqueWorkflowId('sched-bad'),
        requestId: uniqueWorkflowId('req'),
        schedule: {
          spec: { cronString: ['61 * * * *'] },
          action: { startWorkflow: { workflowId: 'x', workflowType: { name: 'scheduledWorkflow' }, taskQueue: { name: 'nowhere' } } },
        },
      }),
    ).rejects.toMatchObject({ code: 3 });
  });
});

describe('listing schedules', () => {
  it('filters by schedule id, pause and custom search attributes, and pages', async () => {
    const prefix = uniqueWorkflowId('sched-list');
    // Keyword (2); registering it again is a no-op.
    await client.connection.operatorService.addSearchAttributes({ namespace: 'default', searchAttributes: { CustomKeywordField: 2 } });
    const handles = await Promise.all(
      [0, 1, 2].map((i) =>
        client.schedule.create({
          scheduleId: `${prefix}-${i}`,
          spec: { intervals: [{ every: 3_600_000 }] },
          action: { type: 'startWorkflow', workflowType: 'scheduledWorkflow', taskQueue: 'nowhere' },
          state: { paused: i === 0 },
          searchAttributes: { CustomKeywordField: [i === 2 ? 'other' : 'some-value'] },
        }),
      ),
    );
    try {
      const ids = async (query: string, pageSize?: number) => {
        const out: string[] = [];
        for await (const summary of client.schedule.list({ query, pageSize })) out.push(summary.scheduleId);
        return out.sort();
      };
      expect(await ids(`ScheduleId STARTS_WITH "${prefix}"`, 1)).toEqual([`${prefix}-0`, `${prefix}-1`, `${prefix}-2`]);
      expect(await ids(`ScheduleId STARTS_WITH "${prefix}" AND CustomKeywordField = "some-value"`)).toEqual([`${prefix}-0`, `${prefix}-1`]);
      expect(await ids(`ScheduleId STARTS_WITH "${prefix}" AND TemporalSchedulePaused = true`)).toEqual([`${prefix}-0`]);
      // CountSchedules counts what the same query lists.
      const count = async (query: string) => Number((await client.workflowService.countSchedules({ namespace: 'default', query })).count);
      expect(await count(`ScheduleId STARTS_WITH "${prefix}"`)).toBe(3);
      expect(await count(`ScheduleId STARTS_WITH "${prefix}" AND CustomKeywordField = "some-value"`)).toBe(2);
      const summaries: Array<{ id: string; paused: boolean; next: number }> = [];
      for await (const s of client.schedule.list({ query: `ScheduleId = "${prefix}-1"` })) summaries.push({ id: s.scheduleId, paused: s.state.paused, next: s.info.nextActionTimes.length });
      expect(summaries).toEqual([{ id: `${prefix}-1`, paused: false, next: 5 }]);
      const bad = await ids('NoSuchAttribute = "x"').catch((err: unknown) => err as Error & { cause?: { code?: number; details?: string } });
      expect(bad).toMatchObject({ cause: { code: 3, details: expect.stringMatching(/NoSuchAttribute/) as unknown } });
    } finally {
      await Promise.all(handles.map((h) => h.delete()));
    }
  });
});
