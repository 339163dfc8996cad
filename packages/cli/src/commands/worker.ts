// `worker list|describe|count`: the workers the server hears heartbeats from (docs/workers.md), with the
// temporal CLI's flags and columns.
import type { Command } from 'commander';
import proto, { type temporal } from '@temporalio/proto';
import { addClientOptions, clientAction } from '../context.js';
import { CliError } from '../errors.js';
import { durationMs, formatDuration, longToNumber, pascalEnumName, timeWithAge } from '../format.js';
import { messageToJson, reflected } from '../proto-json.js';

type Heartbeat = temporal.api.worker.v1.IWorkerHeartbeat;

const { WorkerStatus } = proto.temporal.api.enums.v1;
const WORKER_INFO = reflected(proto.temporal.api.worker.v1.WorkerInfo);

/** `Running`, `ShuttingDown`, ...: the names the worker query language compares with. */
function statusName(status: number | null | undefined): string {
  return pascalEnumName(WorkerStatus[status ?? 0], 'WORKER_STATUS_');
}

function deployment(h: Heartbeat): string {
  const name = h.deploymentVersion?.deploymentName ?? '';
  const build = h.deploymentVersion?.buildId ?? '';
  return name && build ? `${name}@${build}` : name || build;
}

function elapsed(h: Heartbeat): string {
  return h.elapsedSinceLastHeartbeat ? formatDuration(durationMs(h.elapsedSinceLastHeartbeat)) : '';
}

function slots(info: temporal.api.worker.v1.IWorkerSlotsInfo | null | undefined): string | undefined {
  if (!info) return undefined;
  const used = info.currentUsedSlots ?? 0;
  const available = info.currentAvailableSlots ?? 0;
  return `${used} used, ${available} available (${info.slotSupplierKind || 'unknown'}); ${info.totalProcessedTasks ?? 0} processed, ${info.totalFailedTasks ?? 0} failed`;
}

function pollers(info: temporal.api.worker.v1.IWorkerPollerInfo | null | undefined): string | undefined {
  if (!info) return undefined;
  const last = timeWithAge(info.lastSuccessfulPollTime);
  return `${info.currentPollers ?? 0} polling${info.isAutoscaling ? ' (autoscaling)' : ''}${last ? `, last task ${last}` : ''}`;
}

function percent(value: number | null | undefined): string | undefined {
  return value === null || value === undefined ? undefined : `${(value * 100).toFixed(1)}%`;
}

const queryOption = (c: Command) => c.option('-q, --query <query>', "a worker query, e.g. TaskQueue = 'orders' AND Status = 'Running' (docs/workers.md)", '');

export function addWorkerCommands(program: Command): void {
  const worker = program.command('worker').description('list and describe the workers that report heartbeats');

  const list = addClientOptions(
    queryOption(worker.command('list').description('list workers, by instance key'))
      .option('--limit <n>', 'show at most this many', (v) => Number.parseInt(v, 10))
      .option('--include-system-workers', "include the server's own workers"),
  );
  clientAction<{ query: string; limit?: number; includeSystemWorkers?: boolean }>(list, async (ctx, options) => {
    const { workflowService } = await ctx.connect();
    const workers: Heartbeat[] = [];
    let nextPageToken: Uint8Array | undefined;
    do {
      const page = await ctx.call(`namespace "${ctx.flags.namespace}"`, 'ListWorkers', () =>
        workflowService.listWorkers({ namespace: ctx.flags.namespace, query: options.query, nextPageToken, includeSystemWorkers: options.includeSystemWorkers === true }),
      );
      for (const info of page.workersInfo ?? []) if (info.workerHeartbeat) workers.push(info.workerHeartbeat);
      nextPageToken = page.nextPageToken && page.nextPageToken.length > 0 ? page.nextPageToken : undefined;
    } while (nextPageToken && (options.limit === undefined || workers.length < options.limit));
    const shown = options.limit === undefined ? workers : workers.slice(0, options.limit);
    if (!ctx.out.isText) return ctx.out.jsonList(shown.map((h) => messageToJson(WORKER_INFO, { workerHeartbeat: h })));
    if (shown.length === 0) return ctx.out.note('No workers. SDK workers report a heartbeat about once a minute.');
    ctx.out.table(
      [{ header: 'Worker Instance Key' }, { header: 'Status' }, { header: 'Task Queue' }, { header: 'Identity' }, { header: 'Host' }, { header: 'Deployment' }, { header: 'Heartbeat' }, { header: 'Elapsed' }],
      shown.map((h) => [h.workerInstanceKey ?? '', statusName(h.status), h.taskQueue ?? '', h.workerIdentity ?? '', h.hostInfo?.hostName ?? '', deployment(h), timeWithAge(h.heartbeatTime) ?? '', elapsed(h)]),
    );
  });

  const describe = addClientOptions(worker.command('describe').description("show a worker's latest heartbeat").requiredOption('--worker-instance-key <key>', 'the worker instance key (from worker list)'));
  clientAction<{ workerInstanceKey: string }>(describe, async (ctx, options) => {
    const { workflowService } = await ctx.connect();
    const answer = await ctx.call(`worker "${options.workerInstanceKey}"`, 'DescribeWorker', () =>
      workflowService.describeWorker({ namespace: ctx.flags.namespace, workerInstanceKey: options.workerInstanceKey }),
    );
    const h = answer.workerInfo?.workerHeartbeat;
    if (!h) throw new CliError(`the server answered no heartbeat for worker "${options.workerInstanceKey}"`);
    if (!ctx.out.isText) return ctx.out.json(messageToJson(WORKER_INFO, answer.workerInfo));
    ctx.out.keyValues([
      ['Worker Instance Key', h.workerInstanceKey ?? ''],
      ['Identity', h.workerIdentity || undefined],
      ['Status', statusName(h.status)],
      ['Task Queue', h.taskQueue || undefined],
      ['Deployment', deployment(h) || undefined],
      ['SDK', [h.sdkName, h.sdkVersion].filter(Boolean).join(' ') || undefined],
      ['Start Time', timeWithAge(h.startTime)],
      ['Heartbeat Time', timeWithAge(h.heartbeatTime)],
      ['Since Last Heartbeat', elapsed(h) || undefined],
      ['Host', h.hostInfo?.hostName || undefined],
      ['Process Id', h.hostInfo?.processId || undefined],
      ['Grouping Key', h.hostInfo?.workerGroupingKey || undefined],
      ['Host CPU', percent(h.hostInfo?.currentHostCpuUsage)],
      ['Host Memory', percent(h.hostInfo?.currentHostMemUsage)],
      ['Workflow Task Slots', slots(h.workflowTaskSlotsInfo)],
      ['Activity Task Slots', slots(h.activityTaskSlotsInfo)],
      ['Local Activity Slots', slots(h.localActivitySlotsInfo)],
      ['Nexus Task Slots', slots(h.nexusTaskSlotsInfo)],
      ['Workflow Pollers', pollers(h.workflowPollerInfo)],
      ['Sticky Pollers', pollers(h.workflowStickyPollerInfo)],
      ['Activity Pollers', pollers(h.activityPollerInfo)],
      ['Nexus Pollers', pollers(h.nexusPollerInfo)],
      ['Sticky Cache', h.currentStickyCacheSize === undefined && h.totalStickyCacheHit === undefined ? undefined : `${h.currentStickyCacheSize ?? 0} cached, ${h.totalStickyCacheHit ?? 0} hits, ${h.totalStickyCacheMiss ?? 0} misses`],
      ['Plugins', h.plugins?.length ? h.plugins.map((p) => (p.version ? `${p.name}@${p.version}` : p.name)).join(', ') : undefined],
    ]);
  });

  const count = addClientOptions(queryOption(worker.command('count').description('count workers')).option('--include-system-workers', "include the server's own workers"));
  clientAction<{ query: string; includeSystemWorkers?: boolean }>(count, async (ctx, options) => {
    const { workflowService } = await ctx.connect();
    const answer = await ctx.call(`namespace "${ctx.flags.namespace}"`, 'CountWorkers', () =>
      workflowService.countWorkers({ namespace: ctx.flags.namespace, query: options.query, includeSystemWorkers: options.includeSystemWorkers === true }),
    );
    const total = longToNumber(answer.count);
    if (ctx.out.isText) ctx.out.line(`Total: ${total}`);
    else ctx.out.json({ count: total });
  });
}
