// Messages to a running workflow: `workflow signal`, `workflow query`, `workflow stack` (the
// `__stack_trace` query every SDK answers) and `workflow update execute|start|result|describe`.
import { randomUUID } from 'node:crypto';
import type { Command} from 'commander';
import { Option } from 'commander';
import type { temporal } from '@temporalio/proto';
import { addClientOptions, clientAction, workflowSubject, type CommandContext } from '../context.js';
import { CliError, GRPC_STATUS, OutcomeError, grpcCode } from '../errors.js';
import { addAliasedOption, addPayloadInput, addWorkflowReference, aliasedValue } from '../flags.js';
import { formatDuration, parseDurationFlag, pascalEnumName } from '../format.js';
import { decodePayloads, failureText, inputPayloads, type FailureLike } from '../payloads.js';
import { messageToJson, reflected } from '../proto-json.js';

const DEFAULT_QUERY_TIMEOUT_MS = 15_000;

interface MessageOptions {
  workflowId: string;
  runId?: string;
  name?: string;
  type?: string;
  input?: string[];
  inputFile?: string[];
}

function single(values: unknown[]): unknown {
  return values.length === 1 ? values[0] : values;
}

async function signalCommand(ctx: CommandContext, options: MessageOptions): Promise<void> {
  const name = aliasedValue(options as unknown as Record<string, unknown>, 'name', 'type', '--name <name>');
  const input = inputPayloads(options.input, options.inputFile);
  const { workflowService } = await ctx.connect();
  await ctx.call(workflowSubject(options.workflowId, options.runId), 'SignalWorkflowExecution', () =>
    workflowService.signalWorkflowExecution({
      namespace: ctx.flags.namespace,
      workflowExecution: { workflowId: options.workflowId, runId: options.runId },
      signalName: name,
      input: input.length > 0 ? { payloads: input } : undefined,
      identity: `kairos-cli@${process.pid}`,
      requestId: randomUUID(),
    }),
  );
  if (ctx.out.isText) ctx.out.line(`Signal ${name} sent to ${workflowSubject(options.workflowId, options.runId)}.`);
  else ctx.out.json({ workflowId: options.workflowId, runId: options.runId ?? null, signal: name });
}

/** Runs a query with a deadline; on timeout, names the task queue whose workers did not answer. */
async function runQuery(ctx: CommandContext, options: MessageOptions & { rejectCondition?: string; timeout?: number }, queryType: string): Promise<unknown> {
  const input = inputPayloads(options.input, options.inputFile);
  const connected = await ctx.connect();
  const { enums } = (await ctx.proto()).temporal.api;
  const subject = workflowSubject(options.workflowId, options.runId);
  const timeout = options.timeout ?? DEFAULT_QUERY_TIMEOUT_MS;
  const rejectCondition =
    options.rejectCondition === 'not_open'
      ? enums.v1.QueryRejectCondition.QUERY_REJECT_CONDITION_NOT_OPEN
      : options.rejectCondition === 'not_completed_cleanly'
        ? enums.v1.QueryRejectCondition.QUERY_REJECT_CONDITION_NOT_COMPLETED_CLEANLY
        : undefined;
  let response: temporal.api.workflowservice.v1.IQueryWorkflowResponse;
  try {
    response = await connected.withDeadline(timeout, () =>
      connected.workflowService.queryWorkflow({
        namespace: ctx.flags.namespace,
        execution: { workflowId: options.workflowId, runId: options.runId },
        query: { queryType, queryArgs: input.length > 0 ? { payloads: input } : undefined },
        queryRejectCondition: rejectCondition,
      }),
    );
  } catch (error) {
    if (grpcCode(error) !== GRPC_STATUS.DEADLINE_EXCEEDED) return await ctx.call(subject, 'QueryWorkflow', () => Promise.reject(error));
    const described = await ctx.call(subject, 'DescribeWorkflowExecution', () =>
      connected.workflowService.describeWorkflowExecution({ namespace: ctx.flags.namespace, execution: { workflowId: options.workflowId, runId: options.runId } }),
    );
    const queue = described.workflowExecutionInfo?.taskQueue ?? '?';
    throw new CliError(
      `no worker answered the ${queryType} query on ${subject} within ${formatDuration(timeout)}: is a worker polling task queue "${queue}" running? ` +
        `(\`kairos task-queue describe -t ${queue}\` lists its pollers)`,
    );
  }
  if (response.queryRejected) {
    const status = pascalEnumName(enums.v1.WorkflowExecutionStatus[response.queryRejected.status ?? 0], 'WORKFLOW_EXECUTION_STATUS_');
    throw new CliError(`the query was rejected: ${subject} is ${status} (--reject-condition ${options.rejectCondition ?? ''})`);
  }
  return single(decodePayloads(response.queryResult));
}

function addQueryOptions(command: Command): Command {
  return command
    .addOption(new Option('--reject-condition <condition>', 'reject the query when the workflow is...').choices(['not_open', 'not_completed_cleanly']))
    .option('--timeout <duration>', `how long to wait for a worker to answer (default ${DEFAULT_QUERY_TIMEOUT_MS / 1000}s)`, parseDurationFlag);
}

async function updateCommand(ctx: CommandContext, options: MessageOptions & { updateId?: string; firstExecutionRunId?: string }, stage: 'accepted' | 'completed'): Promise<void> {
  const name = aliasedValue(options as unknown as Record<string, unknown>, 'name', 'type', '--name <name>');
  const input = inputPayloads(options.input, options.inputFile);
  const { workflowService } = await ctx.connect();
  const { enums } = (await ctx.proto()).temporal.api;
  const Stage = enums.v1.UpdateWorkflowExecutionLifecycleStage;
  const updateId = options.updateId ?? randomUUID();
  const waitStage = stage === 'accepted' ? Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED : Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED;
  const subject = workflowSubject(options.workflowId, options.runId);
  const progress = ctx.out.progress(() => `waiting for update ${name} (${updateId}) on ${subject} to be ${stage}`);
  let response: temporal.api.workflowservice.v1.IUpdateWorkflowExecutionResponse;
  try {
    // The server answers with the stage reached after its long-poll interval; ask again (same update
    // id, so it is the same update) until the wanted stage is reached.
    do {
      response = await ctx.call(subject, 'UpdateWorkflowExecution', () =>
        workflowService.updateWorkflowExecution({
          namespace: ctx.flags.namespace,
          workflowExecution: { workflowId: options.workflowId, runId: options.runId },
          firstExecutionRunId: options.firstExecutionRunId,
          waitPolicy: { lifecycleStage: waitStage },
          request: { meta: { updateId, identity: `kairos-cli@${process.pid}` }, input: { name, args: input.length > 0 ? { payloads: input } : undefined } },
        }),
      );
    } while (!response.outcome && (response.stage ?? 0) < waitStage);
  } finally {
    progress.stop();
  }
  await reportUpdate(ctx, options.workflowId, updateId, name, response.outcome, response.stage ?? 0);
}

async function reportUpdate(
  ctx: CommandContext,
  workflowId: string,
  updateId: string,
  name: string | undefined,
  outcome: temporal.api.update.v1.IOutcome | null | undefined,
  stage: number,
): Promise<void> {
  const proto = await ctx.proto();
  const stageName = pascalEnumName(proto.temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage[stage], 'UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_');
  const result = outcome?.success ? single(decodePayloads(outcome.success)) : undefined;
  if (!ctx.out.isText) {
    ctx.out.json({
      workflowId,
      updateId,
      ...(name === undefined ? {} : { name }),
      stage: stageName,
      ...(outcome?.success ? { result } : {}),
      ...(outcome?.failure ? { failure: messageToJson(reflected(proto.temporal.api.failure.v1.Failure), outcome.failure) } : {}),
    });
  } else {
    ctx.out.keyValues([
      ['UpdateId', updateId],
      ['Name', name],
      ['Stage', stageName],
      ['Result', outcome?.success ? JSON.stringify(result) : undefined],
      ['Failure', outcome?.failure ? failureText(outcome.failure as FailureLike) : undefined],
    ]);
  }
  if (outcome?.failure) throw new OutcomeError(`update ${updateId} failed`);
}

async function pollUpdate(ctx: CommandContext, options: { workflowId: string; runId?: string; updateId: string }, wait: boolean): Promise<void> {
  const { workflowService } = await ctx.connect();
  const Stage = (await ctx.proto()).temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage;
  const waitStage = wait ? Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED : Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_UNSPECIFIED;
  let response: temporal.api.workflowservice.v1.IPollWorkflowExecutionUpdateResponse;
  do {
    response = await ctx.call(`update "${options.updateId}" of ${workflowSubject(options.workflowId, options.runId)}`, 'PollWorkflowExecutionUpdate', () =>
      workflowService.pollWorkflowExecutionUpdate({
        namespace: ctx.flags.namespace,
        updateRef: { workflowExecution: { workflowId: options.workflowId, runId: options.runId }, updateId: options.updateId },
        identity: `kairos-cli@${process.pid}`,
        waitPolicy: { lifecycleStage: waitStage },
      }),
    );
  } while (wait && !response.outcome);
  await reportUpdate(ctx, options.workflowId, options.updateId, undefined, response.outcome, response.stage ?? 0);
}

export function addMessageCommands(workflow: Command): void {
  const signal = workflow.command('signal').description('send a signal to a workflow execution');
  addAliasedOption(signal, '--name <name>', '--type', 'signal name (required)');
  clientAction(addClientOptions(addPayloadInput(addWorkflowReference(signal))), signalCommand);

  const query = workflow.command('query').description('query a workflow execution and print the answer');
  addAliasedOption(query, '--name <name>', '--type', 'query name (required)');
  clientAction<MessageOptions & { rejectCondition?: string; timeout?: number }>(addClientOptions(addQueryOptions(addPayloadInput(addWorkflowReference(query)))), async (ctx, options) => {
    const name = aliasedValue(options as unknown as Record<string, unknown>, 'name', 'type', '--name <name>');
    const result = await runQuery(ctx, options, name);
    if (ctx.out.isText) ctx.out.line(JSON.stringify(result, null, 2));
    else ctx.out.json({ queryType: name, queryResult: result });
  });

  const stack = workflow.command('stack').description('print the call stack of a workflow execution (the __stack_trace query; needs a running worker)');
  clientAction<MessageOptions & { rejectCondition?: string; timeout?: number }>(addClientOptions(addQueryOptions(addWorkflowReference(stack))), async (ctx, options) => {
    const result = await runQuery(ctx, { ...options, input: [], inputFile: [] }, '__stack_trace');
    if (ctx.out.isText) ctx.out.line(typeof result === 'string' ? result.trimEnd() : JSON.stringify(result, null, 2));
    else ctx.out.json({ stackTrace: result });
  });

  const update = workflow.command('update').description('send and inspect workflow updates');
  const updateStarting = (command: Command): Command => {
    addAliasedOption(command, '--name <name>', '--type', 'update handler name (required)');
    return addClientOptions(
      addPayloadInput(addWorkflowReference(command))
        .option('--update-id <id>', 'update id (default: a random UUID); the same id is the same update')
        .option('--first-execution-run-id <id>', 'send to the latest run of the chain started by this run'),
    );
  };
  clientAction(updateStarting(update.command('execute').description('send an update and wait for its result (exit 1 if it fails)')), (ctx, options: MessageOptions & { updateId?: string }) =>
    updateCommand(ctx, options, 'completed'),
  );
  const start = update.command('start').description('send an update and wait until it is accepted or rejected');
  start.addOption(new Option('--wait-for-stage <stage>', 'stage to wait for').choices(['accepted']).makeOptionMandatory());
  clientAction(updateStarting(start), (ctx, options: MessageOptions & { updateId?: string }) => updateCommand(ctx, options, 'accepted'));
  const targeting = (command: Command): Command => addClientOptions(addWorkflowReference(command).requiredOption('--update-id <id>', 'update id'));
  clientAction(targeting(update.command('result').description('wait for an update to complete and print its result')), (ctx, options: { workflowId: string; runId?: string; updateId: string }) =>
    pollUpdate(ctx, options, true),
  );
  clientAction(targeting(update.command('describe').description('show the stage (and outcome, once completed) of an update')), (ctx, options: { workflowId: string; runId?: string; updateId: string }) =>
    pollUpdate(ctx, options, false),
  );
}
