// `workflow list`, `workflow count` and `workflow describe`: visibility and one execution's summary.
// Text output is a table or a key/value block; `-o json` is the response in proto JSON with payloads
// decoded (the temporal CLI's shape, so `jq '.[].execution.workflowId'` works on both).
import type { Command } from 'commander';
import type { temporal } from '@temporalio/proto';
import { addClientOptions, clientAction, workflowSubject, type CommandContext } from '../context.js';
import { addWorkflowReference } from '../flags.js';
import { formatDuration, longToNumber, parsePositiveInt, pascalEnumName, timeWithAge, timestampMs, type LongValue } from '../format.js';
import type { Style } from '../output.js';
import { decodePayload, failureText, payloadsText, type FailureLike, type PayloadLike } from '../payloads.js';
import { messageToJson, reflected } from '../proto-json.js';

type ExecutionInfo = temporal.api.workflow.v1.IWorkflowExecutionInfo;

const LIST_PAGE_SIZE = 100;

export function statusName(proto: Awaited<ReturnType<CommandContext['proto']>>, status: number | null | undefined): string {
  return pascalEnumName(proto.temporal.api.enums.v1.WorkflowExecutionStatus[status ?? 0], 'WORKFLOW_EXECUTION_STATUS_');
}

export function colorStatus(style: Style, status: string): string {
  switch (status) {
    case 'Running':
      return style.cyan(status);
    case 'Completed':
      return style.green(status);
    case 'Canceled':
      return style.yellow(status);
    case 'ContinuedAsNew':
      return style.magenta(status);
    default:
      return style.red(status);
  }
}

/** "2026-01-02 03:04:05" (UTC): compact enough for a table column. */
function tableTime(ts: { seconds?: LongValue; nanos?: number | null } | null | undefined): string {
  const ms = timestampMs(ts);
  return ms === undefined || ms === 0 ? '' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

function fieldsJson(fields: Record<string, PayloadLike> | null | undefined): string | undefined {
  const entries = Object.entries(fields ?? {});
  if (entries.length === 0) return undefined;
  return JSON.stringify(Object.fromEntries(entries.map(([key, payload]) => [key, decodePayload(payload)])));
}

async function listCommand(ctx: CommandContext, options: { query?: string; limit?: number; pageSize?: number }): Promise<void> {
  const { workflowService } = await ctx.connect();
  const proto = await ctx.proto();
  const limit = options.limit ?? Infinity;
  const infos: ExecutionInfo[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const response = await ctx.call(`namespace "${ctx.flags.namespace}"`, 'ListWorkflowExecutions', () =>
      workflowService.listWorkflowExecutions({
        namespace: ctx.flags.namespace,
        query: options.query ?? '',
        pageSize: Math.min(options.pageSize ?? LIST_PAGE_SIZE, Number.isFinite(limit) ? limit : LIST_PAGE_SIZE),
        nextPageToken,
      }),
    );
    infos.push(...(response.executions ?? []));
    nextPageToken = response.nextPageToken?.length ? response.nextPageToken : undefined;
  } while (nextPageToken !== undefined && infos.length < limit);
  const shown = infos.slice(0, limit);
  if (!ctx.out.isText) {
    ctx.out.jsonList(shown.map((info) => messageToJson(reflected(proto.temporal.api.workflow.v1.WorkflowExecutionInfo), info)));
    return;
  }
  if (shown.length === 0) {
    ctx.out.note(`No workflow executions${options.query ? ` match ${JSON.stringify(options.query)}` : ''} in namespace "${ctx.flags.namespace}".`);
    return;
  }
  ctx.out.table(
    [{ header: 'Status' }, { header: 'WorkflowId' }, { header: 'Type' }, { header: 'StartTime' }, { header: 'CloseTime' }],
    shown.map((info) => [
      colorStatus(ctx.out.style, statusName(proto, info.status)),
      info.execution?.workflowId ?? '',
      info.type?.name ?? '',
      tableTime(info.startTime),
      tableTime(info.closeTime),
    ]),
  );
}

async function countCommand(ctx: CommandContext, options: { query?: string }): Promise<void> {
  const { workflowService } = await ctx.connect();
  const proto = await ctx.proto();
  const response = await ctx.call(`namespace "${ctx.flags.namespace}"`, 'CountWorkflowExecutions', () =>
    workflowService.countWorkflowExecutions({ namespace: ctx.flags.namespace, query: options.query ?? '' }),
  );
  if (!ctx.out.isText) {
    ctx.out.json(messageToJson(reflected(proto.temporal.api.workflowservice.v1.CountWorkflowExecutionsResponse), response) ?? {});
    return;
  }
  ctx.out.line(`Total: ${longToNumber(response.count as LongValue)}`);
  const groups = response.groups ?? [];
  if (groups.length > 0) {
    ctx.out.table(
      [{ header: 'Group' }, { header: 'Count', align: 'right' }],
      groups.map((group) => [(group.groupValues ?? []).map((value) => String(decodePayload(value))).join(', '), String(longToNumber(group.count as LongValue))]),
    );
  }
}

async function describeCommand(ctx: CommandContext, options: { workflowId: string; runId?: string }): Promise<void> {
  const { workflowService } = await ctx.connect();
  const proto = await ctx.proto();
  const subject = workflowSubject(options.workflowId, options.runId);
  const execution = { workflowId: options.workflowId, runId: options.runId };
  const response = await ctx.call(subject, 'DescribeWorkflowExecution', () =>
    workflowService.describeWorkflowExecution({ namespace: ctx.flags.namespace, execution }),
  );
  const info = response.workflowExecutionInfo ?? {};
  const status = statusName(proto, info.status);
  // A closed run's outcome is in its close event; fetch just that one.
  let closeEvent: temporal.api.history.v1.IHistoryEvent | undefined;
  if (status !== 'Running') {
    const history = await ctx.call(subject, 'GetWorkflowExecutionHistory', () =>
      workflowService.getWorkflowExecutionHistory({
        namespace: ctx.flags.namespace,
        execution: { workflowId: options.workflowId, runId: info.execution?.runId },
        historyEventFilterType: proto.temporal.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
      }),
    );
    closeEvent = history.history?.events?.at(-1) ?? undefined;
  }
  if (!ctx.out.isText) {
    const json = messageToJson(reflected(proto.temporal.api.workflowservice.v1.DescribeWorkflowExecutionResponse), response) as Record<string, unknown>;
    const completed = closeEvent?.workflowExecutionCompletedEventAttributes;
    if (completed) json['result'] = messageToJson(reflected(proto.temporal.api.common.v1.Payloads), completed.result ?? {});
    const failed = closeEvent?.workflowExecutionFailedEventAttributes;
    if (failed?.failure) json['failure'] = messageToJson(reflected(proto.temporal.api.failure.v1.Failure), failed.failure);
    ctx.out.json(json);
    return;
  }
  const { out } = ctx;
  const startMs = timestampMs(info.startTime);
  const closeMs = timestampMs(info.closeTime);
  out.heading('Execution Info:');
  out.keyValues([
    ['WorkflowId', info.execution?.workflowId ?? ''],
    ['RunId', info.execution?.runId ?? ''],
    ['Type', info.type?.name ?? ''],
    ['Namespace', ctx.flags.namespace],
    ['TaskQueue', info.taskQueue ?? ''],
    ['Status', colorStatus(out.style, status)],
    ['StartTime', timeWithAge(info.startTime)],
    ['ExecutionTime', timestampMs(info.executionTime) !== startMs ? timeWithAge(info.executionTime) : undefined],
    ['CloseTime', closeMs ? timeWithAge(info.closeTime) : undefined],
    ['RunTime', startMs !== undefined && closeMs ? formatDuration(closeMs - startMs) : undefined],
    ['HistoryLength', String(longToNumber(info.historyLength as LongValue))],
    ['HistorySize', `${longToNumber(info.historySizeBytes as LongValue)} bytes`],
    ['Parent', info.parentExecution?.workflowId ? `${info.parentExecution.workflowId} (run ${info.parentExecution.runId ?? ''})` : undefined],
    ['Memo', fieldsJson(info.memo?.fields as Record<string, PayloadLike> | undefined)],
    ['SearchAttributes', fieldsJson(info.searchAttributes?.indexedFields as Record<string, PayloadLike> | undefined)],
    ['Result', closeEvent?.workflowExecutionCompletedEventAttributes ? payloadsText(closeEvent.workflowExecutionCompletedEventAttributes.result) : undefined],
    ['Failure', closeEvent?.workflowExecutionFailedEventAttributes ? failureText(closeEvent.workflowExecutionFailedEventAttributes.failure as FailureLike) : undefined],
    ['Reason', closeEvent?.workflowExecutionTerminatedEventAttributes?.reason ?? undefined],
  ]);
  const activities = response.pendingActivities ?? [];
  out.line();
  out.heading(`Pending Activities: ${activities.length}`);
  if (activities.length > 0) {
    out.table(
      [{ header: 'ActivityId' }, { header: 'Type' }, { header: 'State' }, { header: 'Attempt', align: 'right' }, { header: 'LastHeartbeat' }, { header: 'LastFailure' }],
      activities.map((activity) => [
        activity.activityId ?? '',
        activity.activityType?.name ?? '',
        pascalEnumName(proto.temporal.api.enums.v1.PendingActivityState[activity.state ?? 0], 'PENDING_ACTIVITY_STATE_'),
        String(activity.attempt ?? 1),
        tableTime(activity.lastHeartbeatTime),
        activity.lastFailure?.message ?? '',
      ]),
    );
  }
  const children = response.pendingChildren ?? [];
  out.line();
  out.heading(`Pending Child Workflows: ${children.length}`);
  if (children.length > 0) {
    out.table(
      [{ header: 'WorkflowId' }, { header: 'RunId' }, { header: 'Type' }],
      children.map((child) => [child.workflowId ?? '', child.runId ?? '', child.workflowTypeName ?? '']),
    );
  }
  const task = response.pendingWorkflowTask;
  if (task) {
    out.line();
    out.heading('Pending Workflow Task:');
    out.keyValues([
      ['State', pascalEnumName(proto.temporal.api.enums.v1.PendingWorkflowTaskState[task.state ?? 0], 'PENDING_WORKFLOW_TASK_STATE_')],
      ['Attempt', String(task.attempt ?? 1)],
      ['Scheduled', timeWithAge(task.scheduledTime)],
    ]);
  }
}

export function addDescribeCommands(workflow: Command): void {
  const list = workflow
    .command('list')
    .description('list workflow executions, optionally matching a list filter')
    .option('-q, --query <query>', "list filter, e.g. \"WorkflowType = 'hello' AND ExecutionStatus = 'Running'\"")
    .option('--limit <n>', 'show at most this many executions', parsePositiveInt)
    .option('--page-size <n>', 'executions fetched per request', parsePositiveInt);
  clientAction(addClientOptions(list), listCommand);

  const count = workflow
    .command('count')
    .description('count workflow executions, optionally matching a list filter (GROUP BY ExecutionStatus works)')
    .option('-q, --query <query>', 'list filter');
  clientAction(addClientOptions(count), countCommand);

  const describe = workflow.command('describe').description('show a workflow execution: status, times, pending activities and children, result');
  clientAction(addClientOptions(addWorkflowReference(describe)), describeCommand);
}
