// Ending and rewinding workflows: `workflow cancel`, `terminate`, `delete` (one workflow by -w, or
// every workflow a --query matches, after a confirmation) and `workflow reset`.
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import type { Command} from 'commander';
import { Option } from 'commander';
import { addClientOptions, clientAction, workflowSubject, type CommandContext } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { collect } from '../flags.js';
import { parsePositiveInt } from '../format.js';
import { confirm } from './confirm.js';
import { resetWorkflow, type ResetOptions } from './workflow-reset.js';

interface TargetOptions {
  workflowId?: string;
  runId?: string;
  query?: string;
  reason?: string;
  yes?: boolean;
}

interface Target {
  workflowId: string;
  runId?: string;
}

function userName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown user';
  }
}

/** `-w` (with `-r`) or `-q` (with `--yes`), the temporal CLI's "single-workflow-or-batch". */
function addTargetOptions(command: Command): Command {
  return command
    .option('-w, --workflow-id <id>', 'workflow id (or use --query)')
    .option('-r, --run-id <id>', 'run id (only with --workflow-id)')
    .option('-q, --query <query>', 'act on every workflow this list filter matches (or use --workflow-id)')
    .option('--reason <text>', 'reason, recorded in the history')
    .option('-y, --yes', 'do not ask for confirmation (with --query)');
}

/**
 * The workflows a command acts on. With --query this lists matching open-or-closed executions and asks
 * before going on; the CLI then calls once per workflow and reports each outcome (a server-side batch
 * job, which `kairos batch` shows, is what StartBatchOperation starts).
 */
async function resolveTargets(ctx: CommandContext, options: TargetOptions, verb: string): Promise<Target[]> {
  if (options.workflowId && options.query) throw new UsageError('use either --workflow-id or --query, not both.');
  if (options.workflowId) return [{ workflowId: options.workflowId, runId: options.runId }];
  if (!options.query) throw new UsageError('either --workflow-id or --query is required.');
  if (options.runId) throw new UsageError('--run-id can only be used with --workflow-id.');
  const { workflowService } = await ctx.connect();
  const targets: Target[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await ctx.call(`namespace "${ctx.flags.namespace}"`, 'ListWorkflowExecutions', () =>
      workflowService.listWorkflowExecutions({ namespace: ctx.flags.namespace, query: options.query ?? '', pageSize: 1000, nextPageToken }),
    );
    for (const info of page.executions ?? []) targets.push({ workflowId: info.execution?.workflowId ?? '', runId: info.execution?.runId ?? undefined });
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken !== undefined);
  if (targets.length > 0 && !options.yes && !(await confirm(`${verb} ${targets.length} workflow execution(s) matching ${JSON.stringify(options.query)}?`))) {
    throw new CliError(`not confirmed: pass --yes to ${verb.toLowerCase()} the ${targets.length} matching workflow execution(s) without a prompt.`);
  }
  return targets;
}

/** Applies `act` to each target and reports each outcome; fails (exit 1) if any failed. */
async function forEachTarget(ctx: CommandContext, targets: Target[], done: string, act: (target: Target) => Promise<void>): Promise<void> {
  const results: { workflowId: string; runId: string | null; ok: boolean; error?: string }[] = [];
  for (const target of targets) {
    try {
      await act(target);
      results.push({ workflowId: target.workflowId, runId: target.runId ?? null, ok: true });
      if (ctx.out.isText) ctx.out.line(`${done} ${workflowSubject(target.workflowId, target.runId)}.`);
    } catch (error) {
      if (targets.length === 1) throw error;
      results.push({ workflowId: target.workflowId, runId: target.runId ?? null, ok: false, error: (error as Error).message });
      if (ctx.out.isText) ctx.out.line(ctx.out.style.red(`Failed: ${(error as Error).message}`));
    }
  }
  if (!ctx.out.isText) ctx.out.jsonList(results);
  if (ctx.out.isText && targets.length === 0) ctx.out.note('No workflow executions match the query.');
  const failed = results.filter((result) => !result.ok).length;
  if (failed > 0) throw new CliError(`${failed} of ${targets.length} workflow execution(s) failed.`);
}

export function addControlCommands(workflow: Command): void {
  const cancel = workflow.command('cancel').description('request cancellation of a workflow execution (its code can clean up)');
  clientAction<TargetOptions>(addClientOptions(addTargetOptions(cancel)), async (ctx, options) => {
    const targets = await resolveTargets(ctx, options, 'Cancel');
    const { workflowService } = await ctx.connect();
    await forEachTarget(ctx, targets, 'Cancellation requested for', (target) =>
      ctx.call(workflowSubject(target.workflowId, target.runId), 'RequestCancelWorkflowExecution', () =>
        workflowService.requestCancelWorkflowExecution({
          namespace: ctx.flags.namespace,
          workflowExecution: target,
          identity: `kairos-cli@${process.pid}`,
          requestId: randomUUID(),
          reason: options.reason,
        }),
      ).then(() => undefined),
    );
  });

  const terminate = workflow.command('terminate').description('end a workflow execution at once (its code gets no say)');
  clientAction<TargetOptions>(addClientOptions(addTargetOptions(terminate)), async (ctx, options) => {
    const targets = await resolveTargets(ctx, options, 'Terminate');
    const { workflowService } = await ctx.connect();
    await forEachTarget(ctx, targets, 'Terminated', (target) =>
      ctx.call(workflowSubject(target.workflowId, target.runId), 'TerminateWorkflowExecution', () =>
        workflowService.terminateWorkflowExecution({
          namespace: ctx.flags.namespace,
          workflowExecution: target,
          reason: options.reason ?? `terminated by ${userName()} with kairos`,
          identity: `kairos-cli@${process.pid}`,
        }),
      ).then(() => undefined),
    );
  });

  const remove = workflow.command('delete').description('delete a workflow execution and its history (a running one is terminated first)');
  clientAction<TargetOptions>(addClientOptions(addTargetOptions(remove)), async (ctx, options) => {
    const targets = await resolveTargets(ctx, options, 'Delete');
    const { workflowService } = await ctx.connect();
    await forEachTarget(ctx, targets, 'Deleted', (target) =>
      ctx.call(workflowSubject(target.workflowId, target.runId), 'DeleteWorkflowExecution', () =>
        workflowService.deleteWorkflowExecution({ namespace: ctx.flags.namespace, workflowExecution: target }),
      ).then(() => undefined),
    );
  });

  const reset = workflow
    .command('reset')
    .description('reset a workflow execution to a workflow task: a new run replays up to that point and continues')
    .requiredOption('-w, --workflow-id <id>', 'workflow id')
    .option('-r, --run-id <id>', 'run id (default: the latest run)')
    .option('-e, --event-id <id>', 'event id to reset to (a WorkflowTaskCompleted, -Failed or -TimedOut event)', parsePositiveInt)
    .addOption(new Option('-t, --type <type>', 'reset point by kind instead of --event-id').choices(['FirstWorkflowTask', 'LastWorkflowTask', 'LastContinuedAsNew']))
    .addOption(new Option('--reset-type <type>').choices(['FirstWorkflowTask', 'LastWorkflowTask', 'LastContinuedAsNew']).hideHelp())
    .requiredOption('--reason <text>', 'reason for the reset, recorded in the history')
    .addOption(new Option('--reapply-type <type>', 'events after the reset point to apply again (deprecated in temporal; use --reapply-exclude)').choices(['All', 'Signal', 'None']))
    .option('--reapply-exclude <type>', 'do not apply these again: Signal, Update; repeatable', collect);
  // --reset-type is the older spelling of --type (tctl's); both are accepted.
  clientAction<ResetOptions & { resetType?: ResetOptions['type'] }>(addClientOptions(reset), (ctx, options) => resetWorkflow(ctx, { ...options, type: options.type ?? options.resetType }));
}
