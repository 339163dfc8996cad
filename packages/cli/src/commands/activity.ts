// `kairos activity ...`: the temporal CLI's commands on a workflow's activities. `complete` and `fail`
// answer for the worker (by workflow id and activity id); `pause`, `unpause`, `reset` and
// `update-options` are the operator's controls, applied to one activity (-a), every pending one of a
// type (--activity-type) or, where the server allows it, all of them (--match-all).
import type { Command } from 'commander';
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import { addClientOptions, clientAction, workflowSubject, type CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { durationMs, formatDuration, msToProtoDuration, parseDurationFlag, parseInteger } from '../format.js';
import { inputPayloads } from '../payloads.js';
import { messageToJson, reflected } from '../proto-json.js';

interface TargetOptions {
  workflowId: string;
  runId?: string;
  activityId?: string;
  activityType?: string;
  matchAll?: boolean;
  identity?: string;
}

const IDENTITY = `kairos-cli@${process.pid}`;

/** A duration flag as the generated request types take it. */
function jitter(ms: number): NonNullable<temporal.api.workflowservice.v1.IResetActivityRequest['jitter']> {
  return msToProtoDuration(ms) as unknown as NonNullable<temporal.api.workflowservice.v1.IResetActivityRequest['jitter']>;
}

function addTarget(command: Command, matchAll: boolean): Command {
  command
    .requiredOption('-w, --workflow-id <id>', 'workflow id')
    .option('-r, --run-id <id>', 'run id (default: the latest run)')
    .option('-a, --activity-id <id>', 'the activity id')
    .option('--activity-type <type>', 'every pending activity of this type')
    .option('--identity <identity>', 'identity of the operator', IDENTITY);
  if (matchAll) command.option('--match-all', 'every pending activity of the workflow');
  return command;
}

/** The request fields that choose the activities: exactly one of id, type and match-all. */
function selector(options: TargetOptions, matchAllField: 'matchAll' | 'unpauseAll' | null): Record<string, unknown> {
  const chosen = [options.activityId !== undefined, options.activityType !== undefined, options.matchAll === true].filter(Boolean).length;
  if (chosen !== 1) throw new UsageError(`name the activities: one of --activity-id, --activity-type${matchAllField ? ' or --match-all' : ''}.`);
  if (options.activityId !== undefined) return { id: options.activityId };
  if (options.activityType !== undefined) return { type: options.activityType };
  return { [matchAllField ?? 'matchAll']: true };
}

function subject(options: TargetOptions): string {
  const which = options.activityId !== undefined ? `activity ${options.activityId}` : options.activityType !== undefined ? `activities of type ${options.activityType}` : 'all activities';
  return `${which} of ${workflowSubject(options.workflowId, options.runId)}`;
}

function base(ctx: CommandContext, options: TargetOptions) {
  return { namespace: ctx.flags.namespace, execution: { workflowId: options.workflowId, runId: options.runId }, identity: options.identity ?? IDENTITY };
}

async function done(ctx: CommandContext, options: TargetOptions, verb: string): Promise<void> {
  if (ctx.out.isText) ctx.out.line(`${verb} ${subject(options)}.`);
  else ctx.out.json({ workflowId: options.workflowId, runId: options.runId ?? null, activityId: options.activityId ?? null, activityType: options.activityType ?? null, ok: true });
}

interface UpdateOptions extends TargetOptions {
  taskQueue?: string;
  scheduleToCloseTimeout?: number;
  scheduleToStartTimeout?: number;
  startToCloseTimeout?: number;
  heartbeatTimeout?: number;
  retryInitialInterval?: number;
  retryMaximumInterval?: number;
  retryBackoffCoefficient?: string;
  retryMaximumAttempts?: number;
  restoreOriginal?: boolean;
}

/** The options and update mask the flags given ask for. */
type ActivityOptions = Loose<temporal.api.activity.v1.IActivityOptions>;

function requestedOptions(options: UpdateOptions): { activityOptions: ActivityOptions; paths: string[] } {
  const activityOptions: ActivityOptions = {};
  const retryPolicy: Loose<temporal.api.common.v1.IRetryPolicy> = {};
  const paths: string[] = [];
  if (options.taskQueue !== undefined) {
    activityOptions.taskQueue = { name: options.taskQueue };
    paths.push('task_queue.name');
  }
  const durations = [
    ['scheduleToCloseTimeout', 'schedule_to_close_timeout'],
    ['scheduleToStartTimeout', 'schedule_to_start_timeout'],
    ['startToCloseTimeout', 'start_to_close_timeout'],
    ['heartbeatTimeout', 'heartbeat_timeout'],
  ] as const;
  for (const [field, path] of durations) {
    const ms = options[field];
    if (ms === undefined) continue;
    activityOptions[field] = msToProtoDuration(ms);
    paths.push(path);
  }
  if (options.retryInitialInterval !== undefined) {
    retryPolicy.initialInterval = msToProtoDuration(options.retryInitialInterval);
    paths.push('retry_policy.initial_interval');
  }
  if (options.retryMaximumInterval !== undefined) {
    retryPolicy.maximumInterval = msToProtoDuration(options.retryMaximumInterval);
    paths.push('retry_policy.maximum_interval');
  }
  if (options.retryBackoffCoefficient !== undefined) {
    const coefficient = Number(options.retryBackoffCoefficient);
    if (!Number.isFinite(coefficient)) throw new UsageError(`--retry-backoff-coefficient: "${options.retryBackoffCoefficient}" is not a number.`);
    retryPolicy.backoffCoefficient = coefficient;
    paths.push('retry_policy.backoff_coefficient');
  }
  if (options.retryMaximumAttempts !== undefined) {
    retryPolicy.maximumAttempts = options.retryMaximumAttempts;
    paths.push('retry_policy.maximum_attempts');
  }
  if (paths.some((p) => p.startsWith('retry_policy.'))) activityOptions.retryPolicy = retryPolicy;
  return { activityOptions, paths };
}

async function updateOptionsCommand(ctx: CommandContext, options: UpdateOptions): Promise<void> {
  const { activityOptions, paths } = requestedOptions(options);
  if (options.restoreOriginal && paths.length > 0) throw new UsageError('--restore-original cannot be used with options to change.');
  if (!options.restoreOriginal && paths.length === 0) throw new UsageError('name at least one option to change, or --restore-original.');
  const { workflowService } = await ctx.connect();
  const response = await ctx.call(subject(options), 'UpdateActivityOptions', () =>
    workflowService.updateActivityOptions({
      ...base(ctx, options),
      ...selector(options, 'matchAll'),
      ...(options.restoreOriginal ? { restoreOriginal: true } : { activityOptions: activityOptions as temporal.api.activity.v1.IActivityOptions, updateMask: { paths } }),
    }),
  );
  const updated = response.activityOptions ?? {};
  if (!ctx.out.isText) {
    const proto = await ctx.proto();
    ctx.out.json(messageToJson(reflected(proto.temporal.api.workflowservice.v1.UpdateActivityOptionsResponse), response) ?? {});
    return;
  }
  ctx.out.line(`Activity options of ${subject(options)} updated:`);
  const timeout = (d: ActivityOptions['heartbeatTimeout']) => formatDuration(durationMs(d));
  const retry = updated.retryPolicy ?? {};
  const rows: [string, string][] = [
    ['TaskQueue', updated.taskQueue?.name ?? ''],
    ['ScheduleToCloseTimeout', timeout(updated.scheduleToCloseTimeout)],
    ['ScheduleToStartTimeout', timeout(updated.scheduleToStartTimeout)],
    ['StartToCloseTimeout', timeout(updated.startToCloseTimeout)],
    ['HeartbeatTimeout', timeout(updated.heartbeatTimeout)],
    ['RetryInitialInterval', timeout(retry.initialInterval)],
    ['RetryMaximumInterval', timeout(retry.maximumInterval)],
    ['RetryBackoffCoefficient', String(retry.backoffCoefficient ?? 0)],
    ['RetryMaximumAttempts', String(retry.maximumAttempts ?? 0)],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  for (const [name, value] of rows) ctx.out.line(`  ${name.padEnd(width)}  ${value}`);
}

export function addActivityCommands(program: Command): void {
  const activity = program.command('activity').description("complete, fail and operate on a workflow's activities");

  const complete = addClientOptions(
    activity
      .command('complete')
      .description('complete a running activity with a result, for its worker')
      .requiredOption('-w, --workflow-id <id>', 'workflow id')
      .option('-r, --run-id <id>', 'run id (default: the latest run)')
      .requiredOption('-a, --activity-id <id>', 'the activity id')
      .requiredOption('--result <json>', 'the result, as JSON')
      .option('--identity <identity>', 'identity of the caller', IDENTITY),
  );
  clientAction<TargetOptions & { result: string }>(complete, async (ctx, options) => {
    const { workflowService } = await ctx.connect();
    const result = inputPayloads([options.result], undefined);
    await ctx.call(subject(options), 'RespondActivityTaskCompletedById', () =>
      workflowService.respondActivityTaskCompletedById({
        namespace: ctx.flags.namespace,
        workflowId: options.workflowId,
        runId: options.runId,
        activityId: options.activityId,
        result: { payloads: result },
        identity: options.identity,
      }),
    );
    await done(ctx, options, 'Completed');
  });

  const fail = addClientOptions(
    activity
      .command('fail')
      .description('fail a running activity, for its worker')
      .requiredOption('-w, --workflow-id <id>', 'workflow id')
      .option('-r, --run-id <id>', 'run id (default: the latest run)')
      .requiredOption('-a, --activity-id <id>', 'the activity id')
      .option('--reason <text>', 'the failure message', 'failed by kairos activity fail')
      .option('--detail <json>', 'failure details, as JSON')
      .option('--identity <identity>', 'identity of the caller', IDENTITY),
  );
  clientAction<TargetOptions & { reason: string; detail?: string }>(fail, async (ctx, options) => {
    const { workflowService } = await ctx.connect();
    const details = options.detail !== undefined ? { payloads: inputPayloads([options.detail], undefined) } : undefined;
    await ctx.call(subject(options), 'RespondActivityTaskFailedById', () =>
      workflowService.respondActivityTaskFailedById({
        namespace: ctx.flags.namespace,
        workflowId: options.workflowId,
        runId: options.runId,
        activityId: options.activityId,
        failure: { message: options.reason, source: 'kairos-cli', applicationFailureInfo: { type: 'CliFailure', ...(details ? { details } : {}) } },
        identity: options.identity,
      }),
    );
    await done(ctx, options, 'Failed');
  });

  const pause = addClientOptions(addTarget(activity.command('pause').description('stop new attempts of activities until they are unpaused'), false).option('--reason <text>', 'why'));
  clientAction<TargetOptions & { reason?: string }>(pause, async (ctx, options) => {
    const { workflowService } = await ctx.connect();
    await ctx.call(subject(options), 'PauseActivity', () => workflowService.pauseActivity({ ...base(ctx, options), ...selector(options, null), reason: options.reason ?? '' }));
    await done(ctx, options, 'Paused');
  });

  const unpause = addClientOptions(
    addTarget(activity.command('unpause').description('let paused activities run again'), true)
      .option('--reset-attempts', 'start again from attempt 1')
      .option('--reset-heartbeats', 'drop the heartbeat details')
      .option('--jitter <duration>', 'start within a random delay up to this', parseDurationFlag),
  );
  clientAction<TargetOptions & { resetAttempts?: boolean; resetHeartbeats?: boolean; jitter?: number }>(unpause, async (ctx, options) => {
    const { workflowService } = await ctx.connect();
    await ctx.call(subject(options), 'UnpauseActivity', () =>
      workflowService.unpauseActivity({
        ...base(ctx, options),
        ...selector(options, 'unpauseAll'),
        resetAttempts: options.resetAttempts === true,
        resetHeartbeat: options.resetHeartbeats === true,
        ...(options.jitter !== undefined ? { jitter: jitter(options.jitter) } : {}),
      }),
    );
    await done(ctx, options, 'Unpaused');
  });

  const reset = addClientOptions(
    addTarget(activity.command('reset').description('start activities again from attempt 1'), true)
      .option('--keep-paused', 'a paused activity stays paused')
      .option('--reset-heartbeats', 'drop the heartbeat details')
      .option('--jitter <duration>', 'start within a random delay up to this', parseDurationFlag)
      .option('--restore-original-options', 'also go back to the options the workflow scheduled it with'),
  );
  clientAction<TargetOptions & { keepPaused?: boolean; resetHeartbeats?: boolean; jitter?: number; restoreOriginalOptions?: boolean }>(reset, async (ctx, options) => {
    const { workflowService } = await ctx.connect();
    await ctx.call(subject(options), 'ResetActivity', () =>
      workflowService.resetActivity({
        ...base(ctx, options),
        ...selector(options, 'matchAll'),
        keepPaused: options.keepPaused === true,
        resetHeartbeat: options.resetHeartbeats === true,
        restoreOriginalOptions: options.restoreOriginalOptions === true,
        ...(options.jitter !== undefined ? { jitter: jitter(options.jitter) } : {}),
      }),
    );
    await done(ctx, options, 'Reset');
  });

  const update = addClientOptions(
    addTarget(activity.command('update-options').description("change pending activities' task queue, timeouts or retry policy"), true)
      .option('--task-queue <name>', 'task queue')
      .option('--schedule-to-close-timeout <duration>', 'schedule-to-close timeout', parseDurationFlag)
      .option('--schedule-to-start-timeout <duration>', 'schedule-to-start timeout', parseDurationFlag)
      .option('--start-to-close-timeout <duration>', 'start-to-close timeout', parseDurationFlag)
      .option('--heartbeat-timeout <duration>', 'heartbeat timeout', parseDurationFlag)
      .option('--retry-initial-interval <duration>', 'retry policy: first backoff', parseDurationFlag)
      .option('--retry-maximum-interval <duration>', 'retry policy: longest backoff', parseDurationFlag)
      .option('--retry-backoff-coefficient <number>', 'retry policy: backoff growth')
      .option('--retry-maximum-attempts <count>', 'retry policy: attempts (0 = unlimited)', parseInteger)
      .option('--restore-original', 'go back to the options the workflow scheduled it with'),
  );
  clientAction<UpdateOptions>(update, updateOptionsCommand);
}
