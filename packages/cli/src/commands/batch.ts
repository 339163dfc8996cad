// `batch list|describe|terminate`: the server's batch jobs (StartBatchOperation starts them: the Web UI,
// the temporal CLI's `--query` commands and the SDKs' WorkflowService), with the temporal CLI's flags.
import type { Command } from 'commander';
import { temporal } from '@temporalio/proto';
import { addClientOptions, clientAction } from '../context.js';
import { CliError } from '../errors.js';
import { isoTime, longToNumber, pascalEnumName, timeWithAge } from '../format.js';
import { confirm } from './confirm.js';

const { BatchOperationState, BatchOperationType } = temporal.api.enums.v1;

function stateName(state: number | null | undefined): string {
  return pascalEnumName(BatchOperationState[state ?? 0], 'BATCH_OPERATION_STATE_');
}

function typeName(type: number | null | undefined): string {
  return pascalEnumName(BatchOperationType[type ?? 0], 'BATCH_OPERATION_TYPE_');
}

export function addBatchCommands(program: Command): void {
  const batch = program.command('batch').description('list, describe and stop the server\'s batch jobs');

  const list = addClientOptions(batch.command('list').description('list batch jobs, running ones first').option('--limit <n>', 'show at most this many', (v) => Number.parseInt(v, 10)));
  clientAction<{ limit?: number }>(list, async (ctx, options) => {
    const { workflowService } = await ctx.connect();
    const jobs: temporal.api.batch.v1.IBatchOperationInfo[] = [];
    let nextPageToken: Uint8Array | undefined;
    do {
      const page = await ctx.call(`namespace "${ctx.flags.namespace}"`, 'ListBatchOperations', () =>
        workflowService.listBatchOperations({ namespace: ctx.flags.namespace, pageSize: 1000, nextPageToken }),
      );
      jobs.push(...(page.operationInfo ?? []));
      nextPageToken = page.nextPageToken && page.nextPageToken.length > 0 ? page.nextPageToken : undefined;
    } while (nextPageToken && (options.limit === undefined || jobs.length < options.limit));
    const shown = options.limit === undefined ? jobs : jobs.slice(0, options.limit);
    if (!ctx.out.isText) {
      return ctx.out.jsonList(shown.map((j) => ({ jobId: j.jobId, state: stateName(j.state), operationType: typeName(j.operationType), startTime: isoTime(j.startTime), closeTime: isoTime(j.closeTime) })));
    }
    if (shown.length === 0) return ctx.out.note('No batch jobs.');
    ctx.out.table(
      [{ header: 'Job Id' }, { header: 'State' }, { header: 'Type' }, { header: 'Start Time' }, { header: 'Close Time' }],
      shown.map((j) => [j.jobId ?? '', stateName(j.state), typeName(j.operationType), timeWithAge(j.startTime) ?? '', timeWithAge(j.closeTime) ?? '']),
    );
  });

  const describe = addClientOptions(batch.command('describe').description('show a batch job and its progress').requiredOption('--job-id <id>', 'the batch job id'));
  clientAction<{ jobId: string }>(describe, async (ctx, options) => {
    const { workflowService } = await ctx.connect();
    const job = await ctx.call(`batch job "${options.jobId}"`, 'DescribeBatchOperation', () => workflowService.describeBatchOperation({ namespace: ctx.flags.namespace, jobId: options.jobId }));
    const counts = { total: longToNumber(job.totalOperationCount), completed: longToNumber(job.completeOperationCount), failed: longToNumber(job.failureOperationCount) };
    if (!ctx.out.isText) {
      return ctx.out.json({
        jobId: job.jobId,
        state: stateName(job.state),
        operationType: typeName(job.operationType),
        reason: job.reason,
        identity: job.identity,
        query: job.query || undefined,
        executions: job.executions?.length ? job.executions.map((e) => ({ id: e.businessId, runId: e.runId || undefined })) : undefined,
        startTime: isoTime(job.startTime),
        closeTime: isoTime(job.closeTime),
        totalOperationCount: counts.total,
        completeOperationCount: counts.completed,
        failureOperationCount: counts.failed,
      });
    }
    ctx.out.keyValues([
      ['Job Id', job.jobId ?? ''],
      ['State', stateName(job.state)],
      ['Type', typeName(job.operationType)],
      ['Reason', job.reason ?? ''],
      ['Identity', job.identity || undefined],
      ['Query', job.query || undefined],
      ['Executions', job.executions?.length ? job.executions.map((e) => e.businessId).join(', ') : undefined],
      ['Start Time', timeWithAge(job.startTime)],
      ['Close Time', timeWithAge(job.closeTime)],
      ['Total', String(counts.total)],
      ['Completed', String(counts.completed)],
      ['Failed', String(counts.failed)],
    ]);
  });

  const terminate = addClientOptions(
    batch
      .command('terminate')
      .description('stop a running batch job (what it did so far stays done)')
      .requiredOption('--job-id <id>', 'the batch job id')
      .requiredOption('--reason <text>', 'why, recorded on the job')
      .option('-y, --yes', 'do not ask for confirmation'),
  );
  clientAction<{ jobId: string; reason: string; yes?: boolean }>(terminate, async (ctx, options) => {
    if (!options.yes && !(await confirm(`Stop batch job ${options.jobId}?`))) throw new CliError('not confirmed: pass --yes to stop the job without a prompt.');
    const { workflowService } = await ctx.connect();
    await ctx.call(`batch job "${options.jobId}"`, 'StopBatchOperation', () =>
      workflowService.stopBatchOperation({ namespace: ctx.flags.namespace, jobId: options.jobId, reason: options.reason, identity: `kairos-cli@${process.pid}` }),
    );
    if (ctx.out.isText) ctx.out.line(`Batch job ${options.jobId} stopped.`);
    else ctx.out.json({ jobId: options.jobId, stopped: true });
  });
}
