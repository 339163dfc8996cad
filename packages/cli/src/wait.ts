// Waiting for a workflow to close, shared by `workflow execute` and `workflow result`. The wait is a
// long poll of the close event (GetWorkflowExecutionHistory with the CLOSE_EVENT filter and
// waitNewEvent): the server answers when the run closes or after its long-poll interval, and the loop
// asks again. Like the SDKs' `result()`, the wait follows the run chain through continue-as-new and
// workflow retries, so the outcome is that of the last run; a cron run's completion ends the wait.
import type { temporal } from '@temporalio/proto';
import type { CommandContext } from './context.js';
import { workflowSubject } from './context.js';
import { OutcomeError } from './errors.js';
import { formatDuration, pascalEnumName, timestampMs } from './format.js';
import { decodePayloads, failureText, payloadsText, type FailureLike } from './payloads.js';
import { messageToJson, reflected } from './proto-json.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export interface Outcome {
  readonly workflowId: string;
  readonly runId: string;
  /** Completed, Failed, Canceled, Terminated, TimedOut. */
  readonly status: string;
  readonly closeEvent: HistoryEvent;
  readonly closeTimeMs: number | undefined;
}

/** The run a close event hands over to, when the chain goes on (continue-as-new or a retry). */
function nextRunId(event: HistoryEvent): string | undefined {
  const next =
    event.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ??
    event.workflowExecutionFailedEventAttributes?.newExecutionRunId ??
    event.workflowExecutionTimedOutEventAttributes?.newExecutionRunId;
  return next ? next : undefined;
}

export async function waitForOutcome(ctx: CommandContext, workflowId: string, firstRunId: string, label: string): Promise<Outcome> {
  const { workflowService } = await ctx.connect();
  const proto = await ctx.proto();
  const { EventType, HistoryEventFilterType } = proto.temporal.api.enums.v1;
  const started = Date.now();
  let runId = firstRunId;
  const progress = ctx.out.progress(() => `${label} workflow ${workflowId} (run ${runId}) to close · ${Math.floor((Date.now() - started) / 1000)}s`);
  try {
    let nextPageToken: Uint8Array | undefined;
    for (;;) {
      const response = await ctx.call(workflowSubject(workflowId, runId), 'GetWorkflowExecutionHistory', () =>
        workflowService.getWorkflowExecutionHistory({
          namespace: ctx.flags.namespace,
          execution: { workflowId, runId },
          waitNewEvent: true,
          historyEventFilterType: HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
          skipArchival: true,
          nextPageToken,
        }),
      );
      const event = response.history?.events?.at(-1);
      if (event === undefined) {
        nextPageToken = response.nextPageToken?.length ? response.nextPageToken : undefined;
        continue;
      }
      const following = nextRunId(event);
      if (following !== undefined) {
        runId = following;
        nextPageToken = undefined;
        continue;
      }
      const typeName = EventType[event.eventType ?? 0] ?? '';
      return {
        workflowId,
        runId,
        status: pascalEnumName(typeName, 'EVENT_TYPE_WORKFLOW_EXECUTION_'),
        closeEvent: event,
        closeTimeMs: timestampMs(event.eventTime),
      };
    }
  } finally {
    progress.stop();
  }
}

/** The result (or failure, or reason) of a close event as JSON. */
export async function outcomeJson(ctx: CommandContext, outcome: Outcome): Promise<Record<string, unknown>> {
  const proto = await ctx.proto();
  const { Failure } = proto.temporal.api.failure.v1;
  const event = outcome.closeEvent;
  const json: Record<string, unknown> = { workflowId: outcome.workflowId, runId: outcome.runId, status: outcome.status };
  const completed = event.workflowExecutionCompletedEventAttributes;
  if (completed) {
    const values = decodePayloads(completed.result);
    json['result'] = values.length <= 1 ? (values[0] ?? null) : values;
  }
  const failure = event.workflowExecutionFailedEventAttributes?.failure;
  if (failure) json['failure'] = messageToJson(reflected(Failure), failure);
  const terminated = event.workflowExecutionTerminatedEventAttributes;
  if (terminated) json['reason'] = terminated.reason ?? '';
  const canceled = event.workflowExecutionCanceledEventAttributes;
  if (canceled?.details?.payloads?.length) json['details'] = decodePayloads(canceled.details);
  return json;
}

/** Prints the outcome (text or JSON) and throws an OutcomeError unless the workflow completed. */
export async function reportOutcome(ctx: CommandContext, outcome: Outcome, extra: Record<string, unknown> = {}, startMs?: number): Promise<void> {
  const { out } = ctx;
  if (!out.isText) {
    out.json({ ...extra, ...(await outcomeJson(ctx, outcome)) });
  } else {
    const event = outcome.closeEvent;
    const status = outcome.status === 'Completed' ? out.style.green(outcome.status) : out.style.red(outcome.status);
    const terminated = event.workflowExecutionTerminatedEventAttributes;
    out.heading('Results:');
    out.keyValues([
      ['RunId', outcome.runId],
      ['Status', status],
      ['Result', event.workflowExecutionCompletedEventAttributes ? payloadsText(event.workflowExecutionCompletedEventAttributes.result) : undefined],
      ['Failure', event.workflowExecutionFailedEventAttributes ? failureText(event.workflowExecutionFailedEventAttributes.failure as FailureLike) : undefined],
      ['Reason', terminated ? terminated.reason || '(none)' : undefined],
      ['Details', event.workflowExecutionCanceledEventAttributes?.details?.payloads?.length ? payloadsText(event.workflowExecutionCanceledEventAttributes.details) : undefined],
      ['RunTime', startMs !== undefined && outcome.closeTimeMs !== undefined ? formatDuration(outcome.closeTimeMs - startMs) : undefined],
    ]);
  }
  if (outcome.status !== 'Completed') {
    throw new OutcomeError(`${workflowSubject(outcome.workflowId, outcome.runId)} ended ${outcome.status.toLowerCase()}`);
  }
}
