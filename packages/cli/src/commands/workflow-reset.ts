// `workflow reset`: ResetWorkflowExecution to a workflow-task event. With `--type` the event is found
// the way the temporal CLI finds it: FirstWorkflowTask is the first WorkflowTaskCompleted of the run,
// LastWorkflowTask the last one (either falls back to the event after the first WorkflowTaskScheduled
// when no task completed yet), LastContinuedAsNew the last WorkflowTaskCompleted of the run this one
// continued from (which becomes the run that is reset).
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import { workflowSubject, type CommandContext } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { longToNumber, type LongValue } from '../format.js';

export interface ResetOptions {
  workflowId: string;
  runId?: string;
  eventId?: number;
  type?: 'FirstWorkflowTask' | 'LastWorkflowTask' | 'LastContinuedAsNew';
  reason: string;
  reapplyType?: 'All' | 'Signal' | 'None';
  reapplyExclude?: string[];
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

async function readEvents(ctx: CommandContext, workflowId: string, runId: string | undefined, reverse: boolean, visit: (event: HistoryEvent) => boolean): Promise<void> {
  const { workflowService } = await ctx.connect();
  const execution = { workflowId, runId };
  const subject = workflowSubject(workflowId, runId);
  let nextPageToken: Uint8Array | undefined;
  do {
    const response = reverse
      ? await ctx.call(subject, 'GetWorkflowExecutionHistoryReverse', () =>
          workflowService.getWorkflowExecutionHistoryReverse({ namespace: ctx.flags.namespace, execution, nextPageToken }),
        )
      : await ctx.call(subject, 'GetWorkflowExecutionHistory', () =>
          workflowService.getWorkflowExecutionHistory({ namespace: ctx.flags.namespace, execution, nextPageToken }),
        );
    for (const event of response.history?.events ?? []) if (!visit(event)) return;
    nextPageToken = response.nextPageToken?.length ? response.nextPageToken : undefined;
  } while (nextPageToken !== undefined);
}

/** The reset point for `--type`: [run to reset, event id]. */
async function resetPoint(ctx: CommandContext, options: ResetOptions): Promise<[string | undefined, number]> {
  const { EventType } = (await ctx.proto()).temporal.api.enums.v1;
  const COMPLETED = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED;
  const SCHEDULED = EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED;
  const id = (event: HistoryEvent) => longToNumber(event.eventId as LongValue);
  let runId = options.runId;
  let eventId = 0;
  if (options.type === 'LastContinuedAsNew') {
    await readEvents(ctx, options.workflowId, runId, false, (event) => {
      runId = event.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
      return false;
    });
    if (runId === undefined) throw new CliError(`cannot use LastContinuedAsNew: ${workflowSubject(options.workflowId, options.runId)} did not continue from another run.`);
    await readEvents(ctx, options.workflowId, runId, false, (event) => {
      if (event.eventType === COMPLETED) eventId = id(event);
      return true;
    });
  } else {
    let firstScheduled = 0;
    await readEvents(ctx, options.workflowId, runId, options.type === 'LastWorkflowTask', (event) => {
      if (event.eventType === COMPLETED) {
        eventId = id(event);
        return false;
      }
      if (event.eventType === SCHEDULED && (firstScheduled === 0 || options.type === 'LastWorkflowTask')) firstScheduled = id(event);
      return true;
    });
    if (eventId === 0 && firstScheduled > 0) eventId = firstScheduled + 1;
  }
  if (eventId === 0) throw new CliError(`cannot find a workflow task to reset ${workflowSubject(options.workflowId, runId)} to.`);
  return [runId, eventId];
}

export async function resetWorkflow(ctx: CommandContext, options: ResetOptions): Promise<void> {
  if (options.eventId === undefined && options.type === undefined) throw new UsageError('give the reset point with --event-id or --type.');
  if (options.eventId !== undefined && options.type !== undefined) throw new UsageError('use either --event-id or --type, not both.');
  const [runId, eventId] = options.type !== undefined ? await resetPoint(ctx, options) : [options.runId, options.eventId ?? 0];
  const { enums } = (await ctx.proto()).temporal.api;
  const reapplyType = { All: enums.v1.ResetReapplyType.RESET_REAPPLY_TYPE_ALL_ELIGIBLE, Signal: enums.v1.ResetReapplyType.RESET_REAPPLY_TYPE_SIGNAL, None: enums.v1.ResetReapplyType.RESET_REAPPLY_TYPE_NONE };
  const exclude = (options.reapplyExclude ?? []).map((name) => {
    if (/^signal$/i.test(name)) return enums.v1.ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL;
    if (/^update$/i.test(name)) return enums.v1.ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE;
    throw new UsageError(`--reapply-exclude ${name}: allowed values are Signal, Update.`);
  });
  if (ctx.out.isText) ctx.out.line(`Resetting ${workflowSubject(options.workflowId, runId)} to event ID ${eventId}`);
  const { workflowService } = await ctx.connect();
  let user = 'unknown user';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): keep the placeholder.
  }
  const request: Loose<temporal.api.workflowservice.v1.IResetWorkflowExecutionRequest> = {
    namespace: ctx.flags.namespace,
    workflowExecution: { workflowId: options.workflowId, runId },
    reason: `${user}: ${options.reason}`,
    workflowTaskFinishEventId: eventId,
    requestId: randomUUID(),
    resetReapplyType: options.reapplyType ? reapplyType[options.reapplyType] : undefined,
    resetReapplyExcludeTypes: exclude,
  };
  const response = await ctx.call(workflowSubject(options.workflowId, runId), 'ResetWorkflowExecution', () =>
    workflowService.resetWorkflowExecution(request as temporal.api.workflowservice.v1.IResetWorkflowExecutionRequest),
  );
  if (ctx.out.isText) ctx.out.line(`New run: ${response.runId ?? ''}`);
  else ctx.out.json({ workflowId: options.workflowId, baseRunId: runId ?? null, eventId, runId: response.runId ?? '' });
}
