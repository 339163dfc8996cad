// `kairos schedule ...`: the temporal CLI's schedule commands. Create and update build the whole
// Schedule from flags (schedule-request.ts); toggle, trigger and backfill are PatchSchedule requests;
// describe, list and list-matching-times print what the server holds (schedule-describe.ts).
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import { addClientOptions, clientAction, type CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { describeSchedule, listMatchingTimes, listSchedules, type ListOptions } from './schedule-describe.js';
import { scheduleCall } from './schedule-call.js';
import {
  addOverlapPolicyOption,
  addScheduleIdOption,
  addScheduleOptions,
  fieldsFromFlags,
  overlapPolicyValue,
  parseTimestampFlag,
  protoTimestamp,
  scheduleFromFlags,
  searchAttributesFromFlags,
  type OverlapPolicyName,
  type ScheduleFlags,
} from './schedule-request.js';

type CreateScheduleRequest = temporal.api.workflowservice.v1.ICreateScheduleRequest;
type UpdateScheduleRequest = temporal.api.workflowservice.v1.IUpdateScheduleRequest;
type PatchScheduleRequest = temporal.api.workflowservice.v1.IPatchScheduleRequest;
type SchedulePatch = temporal.api.schedule.v1.ISchedulePatch;

const identity = (): string => `kairos-cli@${process.pid}`;

/** A one-line confirmation for people, or the same facts as one JSON object for scripts. */
function report(ctx: CommandContext, scheduleId: string, text: string, facts: Record<string, unknown>): void {
  if (ctx.out.isText) ctx.out.line(text);
  else ctx.out.json({ scheduleId, namespace: ctx.flags.namespace, ...facts });
}

async function patchSchedule(ctx: CommandContext, scheduleId: string, patch: Loose<SchedulePatch>): Promise<void> {
  const { workflowService } = await ctx.connect();
  const request: Loose<PatchScheduleRequest> = { namespace: ctx.flags.namespace, scheduleId, patch, identity: identity(), requestId: randomUUID() };
  await scheduleCall(ctx, scheduleId, 'PatchSchedule', () => workflowService.patchSchedule(request as PatchScheduleRequest));
}

export function addScheduleCommands(program: Command): void {
  const schedule = program.command('schedule').description('create, inspect and operate on schedules (workflows started at set times)');

  const create = schedule.command('create').description('create a schedule that starts a workflow at the times of its spec (--interval, --cron, --calendar)');
  clientAction<ScheduleFlags>(addClientOptions(addScheduleOptions(create, true)), async (ctx, options) => {
    const enums = (await ctx.proto()).temporal.api.enums.v1;
    // Built before connecting: a bad --input or --memo is reported without a round trip.
    const request: Loose<CreateScheduleRequest> = {
      namespace: ctx.flags.namespace,
      scheduleId: options.scheduleId,
      schedule: scheduleFromFlags(options, enums),
      identity: identity(),
      requestId: randomUUID(),
      memo: fieldsFromFlags(options.scheduleMemo, '--schedule-memo'),
      searchAttributes: searchAttributesFromFlags(options.scheduleSearchAttribute, '--schedule-search-attribute'),
    };
    const { workflowService } = await ctx.connect();
    await scheduleCall(ctx, options.scheduleId, 'CreateSchedule', () => workflowService.createSchedule(request as CreateScheduleRequest));
    report(ctx, options.scheduleId, `Schedule "${options.scheduleId}" created.`, { created: true });
  });

  const update = schedule
    .command('update')
    .description('replace a schedule\'s spec, action and policies with the ones given (flags left out take their defaults again; memo and search attributes are kept)');
  clientAction<ScheduleFlags>(addClientOptions(addScheduleOptions(update, false)), async (ctx, options) => {
    const enums = (await ctx.proto()).temporal.api.enums.v1;
    const request: Loose<UpdateScheduleRequest> = {
      namespace: ctx.flags.namespace,
      scheduleId: options.scheduleId,
      schedule: scheduleFromFlags(options, enums),
      identity: identity(),
      requestId: randomUUID(),
    };
    const { workflowService } = await ctx.connect();
    await scheduleCall(ctx, options.scheduleId, 'UpdateSchedule', () => workflowService.updateSchedule(request as UpdateScheduleRequest));
    report(ctx, options.scheduleId, `Schedule "${options.scheduleId}" updated.`, { updated: true });
  });

  const describe = schedule.command('describe').description('show a schedule: spec, policies, state, action, recent actions and upcoming runs');
  clientAction(addClientOptions(addScheduleIdOption(describe)), describeSchedule);

  const list = schedule
    .command('list')
    .description('list the schedules of a namespace')
    .option('-l, --long', 'also show each schedule\'s spec and notes')
    .option('--really-long', 'show everything a list entry holds, one block per schedule')
    .option('-q, --query <query>', 'list filter, e.g. "TemporalSchedulePaused = true"');
  clientAction<ListOptions>(addClientOptions(list), listSchedules);

  const remove = schedule.command('delete').description('delete a schedule (workflows it started keep running)');
  clientAction<{ scheduleId: string }>(addClientOptions(addScheduleIdOption(remove)), async (ctx, options) => {
    const { workflowService } = await ctx.connect();
    await scheduleCall(ctx, options.scheduleId, 'DeleteSchedule', () =>
      workflowService.deleteSchedule({ namespace: ctx.flags.namespace, scheduleId: options.scheduleId, identity: identity() }),
    );
    report(ctx, options.scheduleId, `Schedule "${options.scheduleId}" deleted.`, { deleted: true });
  });

  const toggle = schedule
    .command('toggle')
    .description('pause or unpause a schedule; --reason becomes its notes')
    .option('--pause', 'pause the schedule')
    .option('--unpause', 'unpause the schedule')
    .option('--reason <text>', 'why, recorded as the schedule\'s notes', '(no reason provided)');
  interface ToggleOptions {
    scheduleId: string;
    pause?: boolean;
    unpause?: boolean;
    reason: string;
  }
  clientAction<ToggleOptions>(addClientOptions(addScheduleIdOption(toggle)), async (ctx, options) => {
    if ((options.pause === true) === (options.unpause === true)) {
      throw new UsageError('exactly one of --pause or --unpause is required.');
    }
    const pause = options.pause === true;
    await patchSchedule(ctx, options.scheduleId, pause ? { pause: options.reason } : { unpause: options.reason });
    report(ctx, options.scheduleId, `Schedule "${options.scheduleId}" ${pause ? 'paused' : 'unpaused'}.`, { paused: pause, reason: options.reason });
  });

  const trigger = schedule.command('trigger').description('start the schedule\'s action now, whatever its spec says');
  clientAction<{ scheduleId: string; overlapPolicy: OverlapPolicyName }>(addClientOptions(addOverlapPolicyOption(addScheduleIdOption(trigger))), async (ctx, options) => {
    const enums = (await ctx.proto()).temporal.api.enums.v1;
    await patchSchedule(ctx, options.scheduleId, { triggerImmediately: { overlapPolicy: overlapPolicyValue(enums, options.overlapPolicy) } });
    report(ctx, options.scheduleId, `Trigger request sent to schedule "${options.scheduleId}".`, { overlapPolicy: options.overlapPolicy });
  });

  const backfill = schedule
    .command('backfill')
    .description('run the actions the spec gives between two times, as if they had come round (past or future); BufferAll or AllowAll run them all')
    .requiredOption('--start-time <time>', 'backfill start time (RFC 3339)', parseTimestampFlag)
    .requiredOption('--end-time <time>', 'backfill end time (RFC 3339)', parseTimestampFlag);
  interface RangeOptions {
    scheduleId: string;
    startTime: number;
    endTime: number;
  }
  clientAction<RangeOptions & { overlapPolicy: OverlapPolicyName }>(addClientOptions(addOverlapPolicyOption(addScheduleIdOption(backfill))), async (ctx, options) => {
    if (options.endTime < options.startTime) throw new UsageError('--end-time is before --start-time.');
    const enums = (await ctx.proto()).temporal.api.enums.v1;
    await patchSchedule(ctx, options.scheduleId, {
      backfillRequest: [
        { startTime: protoTimestamp(options.startTime), endTime: protoTimestamp(options.endTime), overlapPolicy: overlapPolicyValue(enums, options.overlapPolicy) },
      ],
    });
    const [start, end] = [new Date(options.startTime).toISOString(), new Date(options.endTime).toISOString()];
    report(ctx, options.scheduleId, `Backfill request sent to schedule "${options.scheduleId}" (${start} to ${end}).`, {
      startTime: start,
      endTime: end,
      overlapPolicy: options.overlapPolicy,
    });
  });

  const matching = schedule
    .command('list-matching-times')
    .description('list the times the schedule\'s spec matches between two times, without running anything')
    .requiredOption('--start-time <time>', 'start of the range (RFC 3339)', parseTimestampFlag)
    .requiredOption('--end-time <time>', 'end of the range (RFC 3339)', parseTimestampFlag);
  clientAction<RangeOptions>(addClientOptions(addScheduleIdOption(matching)), async (ctx, options) => {
    if (options.endTime < options.startTime) throw new UsageError('--end-time is before --start-time.');
    await listMatchingTimes(ctx, options);
  });
}
