/**
 * The `kairos schedule ...` commands, run as the real binary against a real server, with the official
 * SDK's worker running the workflows the schedules start: create (interval, cron, calendar), describe
 * and list in text and JSON, toggle, trigger, backfill, update, delete, and the errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, kairos, kairosJson, type CliRun } from './helpers/cli.js';
import { startEnvironment, type E2EEnvironment } from './helpers/environment.js';
import { uniqueWorkflowId, waitFor } from './helpers/sdk.js';

let env: E2EEnvironment;
let address: string[];

beforeAll(async () => {
  env = await startEnvironment();
  address = ['--address', env.server.address];
});

afterAll(async () => {
  await env?.close();
});

/** Runs kairos with --address of this file's server. */
const run = (...args: string[]) => kairos([...args, ...address]);
const json = <T>(...args: string[]) => kairosJson<T>([...args, ...address]);

/** Fails with what the command printed unless it exited 0. */
function ok(result: CliRun): CliRun {
  expect(result.code, describeRun(result)).toBe(0);
  return result;
}

interface Described {
  schedule: {
    spec?: {
      interval?: { interval: string; phase?: string }[];
      structuredCalendar?: Record<string, unknown>[];
      calendar?: Record<string, unknown>[];
      cronString?: string[];
      timezoneName?: string;
    };
    action: {
      startWorkflow: {
        workflowId: string;
        workflowType: { name: string };
        taskQueue: { name: string };
        input?: unknown[];
        memo?: { fields: Record<string, unknown> };
        workflowTaskTimeout?: string;
      };
    };
    policies?: { overlapPolicy?: string; catchupWindow?: string; pauseOnFailure?: boolean };
    state?: { paused?: boolean; notes?: string; limitedActions?: boolean; remainingActions?: number };
  };
  info: {
    actionCount?: number;
    recentActions?: { scheduleTime: string; actualTime: string; startWorkflowResult: { workflowId: string; runId: string } }[];
    futureActionTimes?: string[];
  };
  memo?: { fields: Record<string, unknown> };
}

const describeJson = (scheduleId: string) => json<Described>('schedule', 'describe', '-s', scheduleId);

const uniqueScheduleId = (label: string) => uniqueWorkflowId(`sched-${label}`);

/** Weekday (0 = Sunday), hour, minute and second of `iso` in time zone `tz`. */
function localTime(iso: string, tz: string): { weekday: number; hour: number; minute: number; second: number } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: tz, weekday: 'short', hour: 'numeric', minute: 'numeric', second: 'numeric', hourCycle: 'h23' })
      .formatToParts(new Date(iso))
      .map((part) => [part.type, part.value]),
  );
  return {
    weekday: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(parts['weekday'] ?? ''),
    hour: Number(parts['hour']),
    minute: Number(parts['minute']),
    second: Number(parts['second']),
  };
}

function expectUpcoming(times: string[] | undefined, matches: (iso: string) => boolean): void {
  expect(times?.length ?? 0).toBeGreaterThanOrEqual(3);
  const ms = (times ?? []).map((time) => Date.parse(time));
  expect(ms[0]).toBeGreaterThan(Date.now() - 60_000);
  expect([...ms].sort((a, b) => a - b)).toEqual(ms);
  for (const time of times ?? []) expect(matches(time), `upcoming time ${time}`).toBe(true);
}

const DAY = 86_400_000;
const HOUR = 3_600_000;

describe('schedule create and describe', () => {
  it('creates interval, cron and calendar schedules and describes them in text and JSON', async () => {
    const [byInterval, byCron, byCalendar] = [uniqueScheduleId('interval'), uniqueScheduleId('cron'), uniqueScheduleId('calendar')];
    const workflowId = uniqueWorkflowId('sched-wf');
    const created = ok(
      await run(
        'schedule', 'create', '-s', byInterval, '--interval', '10d/5h',
        '-w', workflowId, '--type', 'greetingWorkflow', '-t', 'sched-queue', '-i', '"Ada"',
        '--notes', 'made by the test', '--schedule-memo', 'team="payments"', '--memo', 'origin="cli"',
        '--catchup-window', '1h', '--execution-timeout', '5m',
      ),
    );
    expect(created.stdout).toBe(`Schedule "${byInterval}" created.\n`);
    const cronJson = await json<Record<string, unknown>>('schedule', 'create', '--schedule-id', byCron, '--cron', '30 12 * * Fri', '--type', 'greetingWorkflow', '--task-queue', 'sched-queue');
    expect(cronJson).toEqual({ scheduleId: byCron, namespace: 'default', created: true });
    ok(
      await run(
        'schedule', 'create', '-s', byCalendar, '--calendar', '{"hour":"2,4","dayOfWeek":"thu,fri"}', '--time-zone', 'America/New_York',
        '--name', 'greetingWorkflow', '-t', 'sched-queue', '--overlap-policy', 'bufferall', '--remaining-actions', '7', '--paused',
      ),
    );

    // Interval: the spec, the action, the policies and state as given, and times every 10 days + 5h.
    const [text, described] = await Promise.all([run('schedule', 'describe', '-s', byInterval), describeJson(byInterval)]);
    ok(text);
    expect(text.stdout).toMatch(/^Schedule:\n/);
    expect(text.stdout).toMatch(new RegExp(`ScheduleId\\s+${byInterval}\\n`));
    expect(text.stdout).toMatch(/Spec\s+interval 10d\/5h\n/);
    expect(text.stdout).toMatch(/OverlapPolicy\s+Skip\n/);
    expect(text.stdout).toMatch(/CatchupWindow\s+1h\n/);
    expect(text.stdout).toMatch(/Paused\s+false\n/);
    expect(text.stdout).toMatch(/Notes\s+made by the test\n/);
    expect(text.stdout).toMatch(/NextRunTime\s+\S+Z \(in /);
    expect(text.stdout).toMatch(/Memo\s+\{"team":"payments"\}/);
    expect(text.stdout).toMatch(new RegExp(`Action: start workflow\\n\\s+WorkflowId\\s+${workflowId}\\n\\s+Type\\s+greetingWorkflow\\n\\s+TaskQueue\\s+sched-queue\\n\\s+Args\\s+"Ada"`));
    expect(text.stdout).toMatch(/ExecutionTimeout\s+5m\n/);
    expect(text.stdout).toMatch(/TaskTimeout\s+10s\n/);
    expect(text.stdout).toMatch(/Recent Actions: 0\n/);
    expect(text.stdout).toMatch(/Upcoming Runs: \d+\n\s+\S+Z \(in /);

    expect(described.schedule.spec?.interval).toEqual([{ interval: `${(10 * DAY) / 1000}s`, phase: `${(5 * HOUR) / 1000}s` }]);
    expect(described.schedule.action.startWorkflow).toMatchObject({
      workflowId,
      workflowType: { name: 'greetingWorkflow' },
      taskQueue: { name: 'sched-queue' },
      input: ['Ada'],
      memo: { fields: { origin: 'cli' } },
      workflowTaskTimeout: '10s',
    });
    expect(described.schedule.policies).toMatchObject({ overlapPolicy: 'SCHEDULE_OVERLAP_POLICY_SKIP', catchupWindow: '3600s' });
    expect(described.schedule.state).toMatchObject({ notes: 'made by the test' });
    expect(described.schedule.state?.paused).toBeFalsy();
    expect(described.memo).toEqual({ fields: { team: 'payments' } });
    expect(described.info.recentActions ?? []).toEqual([]);
    expectUpcoming(described.info.futureActionTimes, (time) => (Date.parse(time) - 5 * HOUR) % (10 * DAY) === 0);

    // Cron: Fridays at 12:30 UTC, and the times list-matching-times gives for a past month.
    const cron = await describeJson(byCron);
    expectUpcoming(cron.info.futureActionTimes, (time) => {
      const local = localTime(time, 'UTC');
      return local.weekday === 5 && local.hour === 12 && local.minute === 30 && local.second === 0;
    });
    expect(cron.schedule.action.startWorkflow.workflowId).toMatch(/^[0-9a-f-]{36}$/);
    const matching = ok(await run('schedule', 'list-matching-times', '-s', byCron, '--start-time', '2025-01-01T00:00:00Z', '--end-time', '2025-01-31T23:59:59Z'));
    expect(matching.stdout.trim().split('\n')).toEqual(['Time', ...[3, 10, 17, 24, 31].map((day) => `2025-01-${String(day).padStart(2, '0')}T12:30:00.000Z`)]);

    // Calendar in a time zone: Thursdays and Fridays at 02:00 and 04:00 New York time; paused, limited.
    const [calendarText, calendar] = await Promise.all([run('schedule', 'describe', '-s', byCalendar), describeJson(byCalendar)]);
    expect(calendarText.stdout).toMatch(/Spec\s+calendar \{[^\n]*"hour":"2,4"[^\n]*\}\n/);
    expect(calendarText.stdout).toMatch(/TimeZoneName\s+America\/New_York\n/);
    expect(calendarText.stdout).toMatch(/OverlapPolicy\s+BufferAll\n/);
    expect(calendarText.stdout).toMatch(/Paused\s+true\n/);
    expect(calendarText.stdout).toMatch(/RemainingActions\s+7\n/);
    expect(calendar.schedule.spec?.timezoneName).toBe('America/New_York');
    expect(calendar.schedule.state).toMatchObject({ paused: true, limitedActions: true, remainingActions: 7 });
    expectUpcoming(calendar.info.futureActionTimes, (time) => {
      const local = localTime(time, 'America/New_York');
      return [4, 5].includes(local.weekday) && [2, 4].includes(local.hour) && local.minute === 0 && local.second === 0;
    });
  });
});

describe('schedule list', () => {
  it('lists schedules as a table, with --long and --really-long, as JSON, and by query', async () => {
    const [running, paused] = [uniqueScheduleId('list-running'), uniqueScheduleId('list-paused')];
    ok(await run('schedule', 'create', '-s', running, '--interval', '10d', '--type', 'greetingWorkflow', '-t', 'sched-queue', '--notes', 'listed'));
    ok(await run('operator', 'search-attribute', 'create', '--name', 'ScheduleTeam', '--type', 'Keyword'));
    ok(
      await run(
        'schedule', 'create', '-s', paused, '--cron', '0 0 1 1 *', '--type', 'greetingWorkflow', '-t', 'sched-queue', '--paused',
        '--schedule-memo', 'team="ops"', '--schedule-search-attribute', 'ScheduleTeam="ops"',
      ),
    );
    // The list is read from visibility, which may trail the create by a moment.
    const listed = await waitFor(async () => {
      const entries = await json<{ scheduleId: string; info?: { paused?: boolean; workflowType?: { name: string } } }[]>('schedule', 'list');
      const ids = entries.map((entry) => entry.scheduleId);
      return ids.includes(running) && ids.includes(paused) ? entries : undefined;
    }, { description: 'both schedules in schedule list' });
    expect(listed.find((entry) => entry.scheduleId === paused)).toMatchObject({ info: { paused: true, workflowType: { name: 'greetingWorkflow' } } });

    const [table, long, reallyLong, jsonl, query, byId, byTeam] = await Promise.all([
      run('schedule', 'list'),
      run('schedule', 'list', '--long'),
      run('schedule', 'list', '--really-long'),
      run('schedule', 'list', '-o', 'jsonl'),
      json<{ scheduleId: string }[]>('schedule', 'list', '--query', 'TemporalSchedulePaused = true'),
      run('schedule', 'list', '-q', `ScheduleId = '${running}'`),
      json<{ scheduleId: string; searchAttributes?: { indexedFields: Record<string, unknown> } }[]>('schedule', 'list', '-q', "ScheduleTeam = 'ops'"),
    ]);
    expect(ok(table).stdout.split('\n')[0]).toMatch(/^ScheduleId\s+WorkflowType\s+Paused\s+NextRunTime\s+LastRunTime$/);
    expect(table.stdout).toMatch(new RegExp(`${running}\\s+greetingWorkflow\\s+false\\s+\\S+Z`));
    expect(table.stdout).toMatch(new RegExp(`${paused}\\s+greetingWorkflow\\s+true`));
    expect(ok(long).stdout.split('\n')[0]).toMatch(/^ScheduleId\s+WorkflowType\s+Paused\s+NextRunTime\s+LastRunTime\s+Spec\s+Notes$/);
    expect(long.stdout).toMatch(new RegExp(`${running}\\s+greetingWorkflow\\s+false\\s+\\S+\\s+interval 10d\\s+listed`));
    expect(ok(reallyLong).stdout).toMatch(new RegExp(`ScheduleId\\s+${paused}\\nWorkflowType\\s+greetingWorkflow\\nSpec\\s+calendar \\{`));
    expect(reallyLong.stdout).toMatch(/Memo\s+\{"team":"ops"\}\nSearchAttributes\s+\{"ScheduleTeam":"ops"\}/);
    const lines = ok(jsonl).stdout.trim().split('\n').map((line) => JSON.parse(line) as { scheduleId: string });
    expect(lines.map((line) => line.scheduleId)).toEqual(expect.arrayContaining([running, paused]));
    expect(query.map((entry) => entry.scheduleId)).toContain(paused);
    expect(query.map((entry) => entry.scheduleId)).not.toContain(running);
    expect(byTeam).toEqual([expect.objectContaining({ scheduleId: paused, searchAttributes: { indexedFields: expect.objectContaining({ ScheduleTeam: 'ops' }) } })]);
    expect(ok(byId).stdout.trimEnd().split('\n')).toEqual([expect.stringMatching(/^ScheduleId\s/), expect.stringMatching(new RegExp(`^${running}\\s+greetingWorkflow\\s+false`))]);

    const none = ok(await run('schedule', 'list', '--query', 'TemporalSchedulePaused = true AND TemporalSchedulePaused = false'));
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/No schedules match .* in namespace "default"\./);
  });
});

describe('schedule toggle and trigger', () => {
  it('pauses and unpauses with a reason, and a trigger starts a workflow that completes', async () => {
    await env.withTaskQueue('cli-sched-trigger', async (taskQueue) => {
      const scheduleId = uniqueScheduleId('trigger');
      const workflowId = uniqueWorkflowId('sched-triggered');
      ok(await run('schedule', 'create', '-s', scheduleId, '--interval', '10d', '-w', workflowId, '--type', 'greetingWorkflow', '-t', taskQueue, '-i', '"Ada"'));

      const pausedRun = ok(await run('schedule', 'toggle', '-s', scheduleId, '--pause', '--reason', 'maintenance window'));
      expect(pausedRun.stdout).toBe(`Schedule "${scheduleId}" paused.\n`);
      const pausedText = ok(await run('schedule', 'describe', '-s', scheduleId));
      expect(pausedText.stdout).toMatch(/Paused\s+true\n/);
      expect(pausedText.stdout).toMatch(/Notes\s+maintenance window\n/);
      expect((await describeJson(scheduleId)).schedule.state).toMatchObject({ paused: true, notes: 'maintenance window' });

      const unpaused = await json<Record<string, unknown>>('schedule', 'toggle', '-s', scheduleId, '--unpause', '--reason', 'done');
      expect(unpaused).toEqual({ scheduleId, namespace: 'default', paused: false, reason: 'done' });
      const unpausedState = (await describeJson(scheduleId)).schedule.state;
      expect(unpausedState?.paused).toBeFalsy();
      expect(unpausedState?.notes).toBe('done');

      const triggered = ok(await run('schedule', 'trigger', '-s', scheduleId));
      expect(triggered.stdout).toBe(`Trigger request sent to schedule "${scheduleId}".\n`);
      const started = await waitFor(async () => {
        const actions = (await describeJson(scheduleId)).info.recentActions ?? [];
        return actions.length > 0 ? actions : undefined;
      }, { description: 'the triggered action in describe' });
      expect(started).toHaveLength(1);
      const startedId = started[0]?.startWorkflowResult.workflowId ?? '';
      expect(startedId.startsWith(`${workflowId}-`)).toBe(true);
      const result = await json<{ status: string; result: unknown }>('workflow', 'result', '-w', startedId);
      expect(result).toMatchObject({ status: 'Completed', result: 'Hello, Ada!' });

      const text = ok(await run('schedule', 'describe', '-s', scheduleId));
      expect(text.stdout).toMatch(/LastRunTime\s+\S+Z \(/);
      expect(text.stdout).toMatch(/ActionCounts\s+Total 1, MissedCatchupWindow 0, SkippedOverlap 0\n/);
      expect(text.stdout).toMatch(/Recent Actions: 1\nScheduleTime\s+ActualTime\s+WorkflowId\s+RunId\s+Status\n/);
      expect(text.stdout).toContain(startedId);
    });
  });
});

describe('schedule backfill', () => {
  it('runs the actions of a past range: every 10 days at 05:00 in February 2022 is three workflows', async () => {
    await env.withTaskQueue('cli-sched-backfill', async (taskQueue) => {
      const scheduleId = uniqueScheduleId('backfill');
      const workflowId = uniqueWorkflowId('sched-backfilled');
      ok(await run('schedule', 'create', '-s', scheduleId, '--interval', '10d/5h', '-w', workflowId, '--type', 'greetingWorkflow', '-t', taskQueue, '-i', '"Bo"'));
      const backfilled = ok(
        await run('schedule', 'backfill', '-s', scheduleId, '--start-time', '2022-02-02T00:00:00Z', '--end-time', '2022-02-28T00:00:00Z', '--overlap-policy', 'AllowAll'),
      );
      expect(backfilled.stdout).toBe(`Backfill request sent to schedule "${scheduleId}" (2022-02-02T00:00:00.000Z to 2022-02-28T00:00:00.000Z).\n`);

      const expected = ['2022-02-07T05:00:00Z', '2022-02-17T05:00:00Z', '2022-02-27T05:00:00Z'];
      const described = await waitFor(async () => {
        const current = await describeJson(scheduleId);
        return (current.info.recentActions?.length ?? 0) >= expected.length ? current : undefined;
      }, { description: 'three backfilled actions' });
      expect(described.info.actionCount).toBe(3);
      const actions = described.info.recentActions ?? [];
      expect(actions.map((action) => action.scheduleTime)).toEqual(expected.map((time) => time.replace('Z', '.000Z')));
      expect(actions.map((action) => action.startWorkflowResult.workflowId)).toEqual(expected.map((time) => `${workflowId}-${time}`));
      const results = await Promise.all(actions.map((action) => json<{ status: string; result: unknown }>('workflow', 'result', '-w', action.startWorkflowResult.workflowId)));
      for (const result of results) expect(result).toMatchObject({ status: 'Completed', result: 'Hello, Bo!' });

      // The workflows carry the schedule's id, as Temporal's do (TemporalScheduledById).
      const listed = await waitFor(async () => {
        const executions = await json<unknown[]>('workflow', 'list', '-q', `TemporalScheduledById = '${scheduleId}'`);
        return executions.length === expected.length ? executions : undefined;
      }, { description: 'the backfilled workflows in workflow list' });
      expect(listed).toHaveLength(3);

      const outOfOrder = await run('schedule', 'backfill', '-s', scheduleId, '--start-time', '2022-03-01T00:00:00Z', '--end-time', '2022-02-01T00:00:00Z');
      expect(outOfOrder.code).toBe(2);
      expect(outOfOrder.stderr).toContain('--end-time is before --start-time.');
    });
  });
});

describe('schedule update and delete', () => {
  it('replaces the whole schedule (keeping its memo), then deletes it', async () => {
    const scheduleId = uniqueScheduleId('update');
    ok(
      await run(
        'schedule', 'create', '-s', scheduleId, '--interval', '10d', '-w', 'before-update', '--type', 'greetingWorkflow', '-t', 'sched-queue',
        '--paused', '--notes', 'old notes', '--memo', 'k=1', '--schedule-memo', 'team="ops"',
      ),
    );
    const updated = ok(
      await run(
        'schedule', 'update', '-s', scheduleId, '--cron', '0 0 1 1 *', '-w', 'after-update', '--type', 'otherWorkflow', '-t', 'other-queue',
        '--overlap-policy', 'BufferAll', '-i', '{"n":1}',
      ),
    );
    expect(updated.stdout).toBe(`Schedule "${scheduleId}" updated.\n`);
    const described = await describeJson(scheduleId);
    expect(described.schedule.spec?.interval ?? []).toEqual([]);
    expect((described.schedule.spec?.structuredCalendar ?? described.schedule.spec?.calendar ?? []).length).toBe(1);
    expect(described.schedule.action.startWorkflow).toMatchObject({ workflowId: 'after-update', workflowType: { name: 'otherWorkflow' }, taskQueue: { name: 'other-queue' }, input: [{ n: 1 }] });
    expect(described.schedule.action.startWorkflow.memo).toBeUndefined();
    expect(described.schedule.policies?.overlapPolicy).toBe('SCHEDULE_OVERLAP_POLICY_BUFFER_ALL');
    // Not given again, so back to the defaults: running, no notes.
    expect(described.schedule.state?.paused).toBeFalsy();
    expect(described.schedule.state?.notes ?? '').toBe('');
    expect(described.memo).toEqual({ fields: { team: 'ops' } });
    expectUpcoming(described.info.futureActionTimes, (time) => /^\d{4}-01-01T00:00:00(\.000)?Z$/.test(time));

    const deleted = ok(await run('schedule', 'delete', '-s', scheduleId));
    expect(deleted.stdout).toBe(`Schedule "${scheduleId}" deleted.\n`);
    const gone = await run('schedule', 'describe', '-s', scheduleId);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(`Error: schedule "${scheduleId}" not found in namespace "default"`);
    expect(gone.stderr).toContain('`kairos schedule list`');
  });
});

describe('schedule errors', () => {
  it('exits 2 for a bad command line and 1 for a missing or duplicate schedule, with a message that says so', async () => {
    const scheduleId = uniqueScheduleId('dup');
    ok(await run('schedule', 'create', '-s', scheduleId, '--interval', '10d', '--type', 'greetingWorkflow', '-t', 'sched-queue'));
    const [noId, missing, duplicate, noToggle, badCalendar, badInterval, badTime, missingType, deleteMissing, triggerMissing] = await Promise.all([
      run('schedule', 'describe'),
      run('schedule', 'describe', '-s', 'no-such-schedule'),
      run('schedule', 'create', '-s', scheduleId, '--interval', '1h', '--type', 'greetingWorkflow', '-t', 'sched-queue'),
      run('schedule', 'toggle', '-s', scheduleId),
      run('schedule', 'create', '-s', 'x', '--calendar', '{"hours":"3"}', '--type', 'greetingWorkflow', '-t', 'q'),
      run('schedule', 'create', '-s', 'x', '--interval', '5x', '--type', 'greetingWorkflow', '-t', 'q'),
      run('schedule', 'backfill', '-s', scheduleId, '--start-time', 'yesterday', '--end-time', '2022-01-01T00:00:00Z'),
      run('schedule', 'create', '-s', 'x', '--interval', '1h', '-t', 'q'),
      run('schedule', 'delete', '-s', 'no-such-schedule'),
      run('schedule', 'trigger', '-s', 'no-such-schedule'),
    ]);
    expect(noId.code).toBe(2);
    expect(noId.stderr).toContain("required option '-s, --schedule-id <id>' not specified");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^Error: schedule "no-such-schedule" not found in namespace "default" \(.*\)\. Check the id, or list schedules with `kairos schedule list`\.\n$/);
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain(`schedule "${scheduleId}" already exists`);
    expect(noToggle.code).toBe(2);
    expect(noToggle.stderr).toContain('exactly one of --pause or --unpause is required.');
    expect(badCalendar.code).toBe(2);
    expect(badCalendar.stderr).toContain('Unknown calendar field "hours"');
    expect(badInterval.code).toBe(2);
    expect(badInterval.stderr).toContain("option '--interval <every[/offset]>' argument '5x' is invalid");
    expect(badTime.code).toBe(2);
    expect(badTime.stderr).toContain('Expected an RFC 3339 time');
    expect(missingType.code).toBe(2);
    expect(missingType.stderr).toContain("required option '--type <name>' not specified");
    for (const result of [deleteMissing, triggerMissing]) {
      expect(result.code, describeRun(result)).toBe(1);
      expect(result.stderr).toContain('schedule "no-such-schedule" not found');
    }
    // The duplicate did not replace the first schedule.
    expect((await describeJson(scheduleId)).schedule.spec?.interval).toEqual([{ interval: `${(10 * DAY) / 1000}s` }]);
  });
});
