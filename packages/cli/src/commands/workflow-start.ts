// `workflow start`, `workflow execute` and `workflow result`. Start sends StartWorkflowExecution as the
// temporal CLI does (JSON inputs as json/plain payloads, search attributes and memo as JSON values);
// execute and result then wait for the run chain to close (see wait.ts) and exit 1 unless it completed.
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import { addClientOptions, clientAction, workflowSubject, type CommandContext } from '../context.js';
import { addAliasedOption, addPayloadInput, addWorkflowReference, aliasedValue, collect, parseChoice, parseKeyJsonPairs } from '../flags.js';
import { constantCase, msToProtoDuration, parseDurationFlag } from '../format.js';
import { decodePayloads, inputPayloads, jsonPayload } from '../payloads.js';
import { reportOutcome, waitForOutcome } from '../wait.js';

type StartRequest = temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest;

const REUSE_POLICIES = ['AllowDuplicate', 'AllowDuplicateFailedOnly', 'RejectDuplicate', 'TerminateIfRunning'] as const;
const CONFLICT_POLICIES = ['Fail', 'UseExisting', 'TerminateExisting'] as const;

interface StartOptions {
  workflowId?: string;
  type?: string;
  name?: string;
  taskQueue: string;
  input?: string[];
  inputFile?: string[];
  runTimeout?: number;
  executionTimeout?: number;
  taskTimeout?: number;
  searchAttribute?: string[];
  memo?: string[];
  cron?: string;
  startDelay?: number;
  idReusePolicy?: (typeof REUSE_POLICIES)[number];
  idConflictPolicy?: (typeof CONFLICT_POLICIES)[number];
  failExisting?: boolean;
}

/** The temporal CLI's "shared-workflow-start" + "workflow-start" + "payload-input" flags. */
function addStartOptions(command: Command): Command {
  command.option('-w, --workflow-id <id>', 'workflow id (default: a random UUID)');
  addAliasedOption(command, '--type <name>', '--name', 'workflow type name (required)');
  command
    .requiredOption('-t, --task-queue <name>', 'task queue of the workflow')
    .option('--run-timeout <duration>', 'fail a run that lasts longer than this (e.g. 30s, 5m)', parseDurationFlag)
    .option('--execution-timeout <duration>', 'fail the execution (all runs) past this', parseDurationFlag)
    .option('--task-timeout <duration>', 'workflow task start-to-close timeout (default 10s)', parseDurationFlag)
    .option('--search-attribute <key=json>', 'search attribute, value as JSON; repeatable', collect)
    .option('--memo <key=json>', 'memo entry, value as JSON; repeatable', collect)
    .option('--cron <schedule>', 'cron schedule (Kairos accepts a seconds field and @every 10s)')
    .option('--start-delay <duration>', 'wait this long before the first workflow task', parseDurationFlag)
    .option('--id-reuse-policy <policy>', `id reuse policy: ${REUSE_POLICIES.join(', ')}`, parseChoice(REUSE_POLICIES))
    .option('--id-conflict-policy <policy>', `id conflict policy: ${CONFLICT_POLICIES.join(', ')}`, parseChoice(CONFLICT_POLICIES))
    .option('--fail-existing', 'fail if a workflow with this id is running (the default conflict policy)');
  return addClientOptions(addPayloadInput(command));
}

interface Started {
  workflowId: string;
  runId: string;
  type: string;
  taskQueue: string;
  /** False when an id conflict policy of UseExisting returned the running workflow. */
  started: boolean;
  args: unknown[];
}

async function startWorkflow(ctx: CommandContext, options: StartOptions): Promise<Started> {
  const type = aliasedValue(options as unknown as Record<string, unknown>, 'type', 'name', '--type <name>');
  const input = inputPayloads(options.input, options.inputFile);
  const searchAttributes = parseKeyJsonPairs(options.searchAttribute, '--search-attribute');
  const memo = parseKeyJsonPairs(options.memo, '--memo');
  const workflowId = options.workflowId ?? randomUUID();
  const { workflowService } = await ctx.connect();
  const { enums } = (await ctx.proto()).temporal.api;
  const duration = (ms: number | undefined) => (ms === undefined ? undefined : msToProtoDuration(ms));
  const request: Loose<StartRequest> = {
    namespace: ctx.flags.namespace,
    workflowId,
    workflowType: { name: type },
    taskQueue: { name: options.taskQueue, kind: enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    input: input.length > 0 ? { payloads: input } : undefined,
    workflowRunTimeout: duration(options.runTimeout),
    workflowExecutionTimeout: duration(options.executionTimeout),
    workflowTaskTimeout: duration(options.taskTimeout),
    workflowStartDelay: duration(options.startDelay),
    cronSchedule: options.cron,
    identity: `kairos-cli@${process.pid}`,
    requestId: randomUUID(),
    memo: Object.keys(memo).length > 0 ? { fields: Object.fromEntries(Object.entries(memo).map(([k, v]) => [k, jsonPayload(v)])) } : undefined,
    searchAttributes:
      Object.keys(searchAttributes).length > 0
        ? { indexedFields: Object.fromEntries(Object.entries(searchAttributes).map(([k, v]) => [k, jsonPayload(v)])) }
        : undefined,
    workflowIdReusePolicy: options.idReusePolicy
      ? enums.v1.WorkflowIdReusePolicy[`WORKFLOW_ID_REUSE_POLICY_${constantCase(options.idReusePolicy)}` as keyof typeof enums.v1.WorkflowIdReusePolicy]
      : undefined,
    workflowIdConflictPolicy: options.idConflictPolicy
      ? enums.v1.WorkflowIdConflictPolicy[`WORKFLOW_ID_CONFLICT_POLICY_${constantCase(options.idConflictPolicy)}` as keyof typeof enums.v1.WorkflowIdConflictPolicy]
      : options.failExisting
        ? enums.v1.WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL
        : undefined,
  };
  const response = await ctx.call(workflowSubject(workflowId), 'StartWorkflowExecution', () =>
    workflowService.startWorkflowExecution(request as StartRequest),
  );
  return {
    workflowId,
    runId: response.runId ?? '',
    type,
    taskQueue: options.taskQueue,
    started: response.started !== false,
    args: decodePayloads({ payloads: input }),
  };
}

function printStarted(ctx: CommandContext, started: Started): void {
  ctx.out.heading(started.started ? 'Running execution:' : 'Already running (id conflict policy UseExisting):');
  ctx.out.keyValues([
    ['WorkflowId', started.workflowId],
    ['RunId', started.runId],
    ['Type', started.type],
    ['Namespace', ctx.flags.namespace],
    ['TaskQueue', started.taskQueue],
    ['Args', started.args.length > 0 ? JSON.stringify(started.args) : undefined],
  ]);
}

function startedJson(ctx: CommandContext, started: Started): Record<string, unknown> {
  return {
    workflowId: started.workflowId,
    runId: started.runId,
    type: started.type,
    namespace: ctx.flags.namespace,
    taskQueue: started.taskQueue,
    started: started.started,
  };
}

export function addStartCommands(workflow: Command): void {
  const start = workflow.command('start').description('start a workflow execution and print its ids');
  clientAction<StartOptions>(addStartOptions(start), async (ctx, options) => {
    const started = await startWorkflow(ctx, options);
    if (ctx.out.isText) printStarted(ctx, started);
    else ctx.out.json(startedJson(ctx, started));
  });

  const execute = workflow.command('execute').description('start a workflow execution and wait for its result (exit 1 unless it completes)');
  clientAction<StartOptions>(addStartOptions(execute), async (ctx, options) => {
    const startMs = Date.now();
    const started = await startWorkflow(ctx, options);
    if (ctx.out.isText) {
      printStarted(ctx, started);
      ctx.out.line();
    }
    const outcome = await waitForOutcome(ctx, started.workflowId, started.runId, 'waiting for');
    await reportOutcome(ctx, outcome, ctx.out.isText ? {} : startedJson(ctx, started), startMs);
  });

  const result = workflow.command('result').description('wait for a workflow execution to close and print its result (exit 1 unless it completed)');
  clientAction<{ workflowId: string; runId?: string }>(addClientOptions(addWorkflowReference(result)), async (ctx, options) => {
    const { workflowService } = await ctx.connect();
    // Describe first: it names the run to wait for and reports an unknown id at once.
    const described = await ctx.call(workflowSubject(options.workflowId, options.runId), 'DescribeWorkflowExecution', () =>
      workflowService.describeWorkflowExecution({ namespace: ctx.flags.namespace, execution: { workflowId: options.workflowId, runId: options.runId } }),
    );
    const runId = described.workflowExecutionInfo?.execution?.runId ?? options.runId ?? '';
    const outcome = await waitForOutcome(ctx, options.workflowId, runId, 'waiting for');
    await reportOutcome(ctx, outcome);
  });
}
