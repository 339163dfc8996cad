// `workflow show`: a run's event history. Text is one line per event; `-o json` is the history file
// format of Temporal's tools, `{"events": [...]}` in plain proto3 JSON (so `Worker.runReplayHistory`
// with `historyFromJSON` accepts it); `-o jsonl` is one event per line in the same format.
// `--follow` keeps long-polling for new events until the run closes.
import type { Command } from 'commander';
import type { temporal } from '@temporalio/proto';
import { addClientOptions, clientAction, workflowSubject, type CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { addWorkflowReference } from '../flags.js';
import { isoTime, longToNumber, type LongValue } from '../format.js';
import { eventDetails, eventTypeTitle } from '../history-text.js';
import { messageToJson, reflected } from '../proto-json.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

interface ShowOptions {
  workflowId: string;
  runId?: string;
  follow?: boolean;
  reverse?: boolean;
}

const TYPE_COLUMN = 34;

/** Pages through the history (forwards, backwards, or following), handing each page to `onPage`. */
async function readHistory(ctx: CommandContext, options: ShowOptions, onPage: (events: HistoryEvent[]) => Promise<void>): Promise<void> {
  const { workflowService } = await ctx.connect();
  const subject = workflowSubject(options.workflowId, options.runId);
  const execution = { workflowId: options.workflowId, runId: options.runId };
  let nextPageToken: Uint8Array | undefined;
  do {
    if (options.reverse) {
      const response = await ctx.call(subject, 'GetWorkflowExecutionHistoryReverse', () =>
        workflowService.getWorkflowExecutionHistoryReverse({ namespace: ctx.flags.namespace, execution, nextPageToken }),
      );
      await onPage(response.history?.events ?? []);
      nextPageToken = response.nextPageToken?.length ? response.nextPageToken : undefined;
    } else {
      const response = await ctx.call(subject, 'GetWorkflowExecutionHistory', () =>
        workflowService.getWorkflowExecutionHistory({
          namespace: ctx.flags.namespace,
          execution,
          nextPageToken,
          waitNewEvent: options.follow === true,
          skipArchival: true,
        }),
      );
      await onPage(response.history?.events ?? []);
      nextPageToken = response.nextPageToken?.length ? response.nextPageToken : undefined;
    }
  } while (nextPageToken !== undefined);
}

async function showCommand(ctx: CommandContext, options: ShowOptions): Promise<void> {
  if (options.follow && options.reverse) throw new UsageError('--follow and --reverse cannot be combined.');
  const proto = await ctx.proto();
  const { EventType } = proto.temporal.api.enums.v1;
  const { out } = ctx;
  const eventType = reflected(proto.temporal.api.history.v1.HistoryEvent);

  if (out.format === 'json') {
    // One document: gather every page first.
    const events: unknown[] = [];
    await readHistory(ctx, options, async (page) => void events.push(...page.map((event) => messageToJson(eventType, event, { exact: true }))));
    out.line(JSON.stringify({ events }, null, 2));
    return;
  }
  if (out.format === 'jsonl') {
    await readHistory(ctx, options, async (page) => {
      for (const event of page) out.line(JSON.stringify(messageToJson(eventType, event, { exact: true })));
    });
    return;
  }

  out.line(out.style.bold(`${'ID'.padStart(5)}  ${'Time'.padEnd(24)}  ${'Type'.padEnd(TYPE_COLUMN)}  Details`));
  let count = 0;
  await readHistory(ctx, options, async (page) => {
    for (const event of page) {
      count++;
      const title = eventTypeTitle(EventType[event.eventType ?? 0] ?? String(event.eventType));
      const styled = /Failed|TimedOut|Terminated/.test(title) ? out.style.red(title) : /Completed$/.test(title) ? out.style.green(title) : title;
      const details = eventDetails(messageToJson(eventType, event) as Record<string, unknown>);
      const pad = ' '.repeat(Math.max(0, TYPE_COLUMN - title.length));
      out.line(`${String(longToNumber(event.eventId as LongValue)).padStart(5)}  ${(isoTime(event.eventTime) ?? '').padEnd(24)}  ${styled}${pad}  ${details}`.trimEnd());
    }
  });
  if (count === 0) out.note('The history is empty.');
}

export function addShowCommand(workflow: Command): void {
  const show = workflow
    .command('show')
    .description('show the event history of a workflow execution (-o json writes a history file the SDK replayers accept)')
    .option('-f, --follow', 'keep printing new events until the run closes')
    .option('--reverse', 'newest event first');
  clientAction(addClientOptions(addWorkflowReference(show)), showCommand);
}
