// `operator nexus endpoint create|get|list|update|delete`: Nexus endpoints by name, with the temporal
// CLI's flags (--name, --target-namespace, --target-task-queue, --target-url, --description).
import type { Command } from 'commander';
import type { temporal } from '@temporalio/proto';
import { addClientOptions, clientAction, type CommandContext } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { confirm } from './confirm.js';

type Endpoint = temporal.api.nexus.v1.IEndpoint;

interface TargetOptions {
  name: string;
  targetNamespace?: string;
  targetTaskQueue?: string;
  targetUrl?: string;
  description?: string;
}

function addTargetOptions(command: Command): Command {
  return command
    .requiredOption('--name <name>', 'endpoint name')
    .option('--target-namespace <namespace>', 'namespace whose workers serve the endpoint')
    .option('--target-task-queue <queue>', 'task queue those workers poll')
    .option('--target-url <url>', 'an external Nexus server instead of workers')
    .option('--description <text>', 'description (stored as a JSON string)');
}

function target(options: TargetOptions, previous?: temporal.api.nexus.v1.IEndpointTarget | null): temporal.api.nexus.v1.IEndpointTarget {
  if (options.targetUrl) {
    if (options.targetNamespace || options.targetTaskQueue) throw new UsageError('give either --target-url or --target-namespace with --target-task-queue, not both.');
    return { external: { url: options.targetUrl } };
  }
  if (options.targetNamespace || options.targetTaskQueue) {
    const worker = previous?.worker;
    const namespace = options.targetNamespace ?? worker?.namespace;
    const taskQueue = options.targetTaskQueue ?? worker?.taskQueue;
    if (!namespace || !taskQueue) throw new UsageError('a worker target needs both --target-namespace and --target-task-queue.');
    return { worker: { namespace, taskQueue } };
  }
  if (previous) return previous;
  throw new UsageError('give a target: --target-namespace and --target-task-queue, or --target-url.');
}

function description(text: string | undefined): temporal.api.common.v1.IPayload | undefined {
  if (text === undefined) return undefined;
  return { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(text)) };
}

function descriptionText(payload: temporal.api.common.v1.IPayload | null | undefined): string | undefined {
  if (!payload?.data) return undefined;
  const raw = Buffer.from(payload.data).toString('utf8');
  try {
    const value = JSON.parse(raw) as unknown;
    return typeof value === 'string' ? value : raw;
  } catch {
    return raw;
  }
}

function targetText(endpoint: Endpoint): string {
  const t = endpoint.spec?.target;
  if (t?.worker) return `${t.worker.namespace}/${t.worker.taskQueue}`;
  return t?.external?.url ?? '';
}

function toJson(endpoint: Endpoint): object {
  return {
    id: endpoint.id,
    version: Number(endpoint.version ?? 0),
    name: endpoint.spec?.name,
    description: descriptionText(endpoint.spec?.description),
    target: endpoint.spec?.target?.worker ? { worker: endpoint.spec.target.worker } : { external: endpoint.spec?.target?.external },
    urlPrefix: endpoint.urlPrefix,
  };
}

/** The endpoint of this name, or a not-found error. */
async function byName(ctx: CommandContext, name: string): Promise<Endpoint> {
  const { operatorService } = await ctx.connect();
  const response = await ctx.call(`Nexus endpoint "${name}"`, 'ListNexusEndpoints', () => operatorService.listNexusEndpoints({ name }));
  const found = response.endpoints?.[0];
  if (!found) throw new CliError(`Nexus endpoint "${name}" not found.`);
  return found;
}

function print(ctx: CommandContext, endpoint: Endpoint): void {
  if (!ctx.out.isText) return ctx.out.json(toJson(endpoint));
  ctx.out.keyValues([
    ['Name', endpoint.spec?.name ?? ''],
    ['Id', endpoint.id ?? ''],
    ['Version', String(Number(endpoint.version ?? 0))],
    ['Target', targetText(endpoint)],
    ['Description', descriptionText(endpoint.spec?.description)],
    ['UrlPrefix', endpoint.urlPrefix ?? ''],
  ]);
}

export function addNexusEndpointCommands(operator: Command): void {
  const group = operator.command('nexus').description('manage Nexus endpoints').command('endpoint').description('create, show, list, update and delete Nexus endpoints');

  const create = addClientOptions(addTargetOptions(group.command('create').description('create a Nexus endpoint')));
  clientAction<TargetOptions>(create, async (ctx, options) => {
    const spec = { name: options.name, target: target(options), description: description(options.description) };
    const { operatorService } = await ctx.connect();
    const { endpoint } = await ctx.call(`Nexus endpoint "${options.name}"`, 'CreateNexusEndpoint', () => operatorService.createNexusEndpoint({ spec }));
    if (ctx.out.isText) ctx.out.line(`Endpoint ${options.name} created (id ${endpoint?.id ?? ''}).`);
    else ctx.out.json(toJson(endpoint ?? {}));
  });

  const get = addClientOptions(group.command('get').description('show a Nexus endpoint').requiredOption('--name <name>', 'endpoint name'));
  clientAction<{ name: string }>(get, async (ctx, options) => print(ctx, await byName(ctx, options.name)));

  const list = addClientOptions(group.command('list').description('list Nexus endpoints'));
  clientAction(list, async (ctx) => {
    const { operatorService } = await ctx.connect();
    const endpoints: Endpoint[] = [];
    let nextPageToken: Uint8Array | undefined;
    do {
      const page = await ctx.call('Nexus endpoints', 'ListNexusEndpoints', () => operatorService.listNexusEndpoints({ pageSize: 100, nextPageToken }));
      endpoints.push(...(page.endpoints ?? []));
      nextPageToken = page.nextPageToken && page.nextPageToken.length > 0 ? page.nextPageToken : undefined;
    } while (nextPageToken);
    if (!ctx.out.isText) return ctx.out.jsonList(endpoints.map(toJson));
    ctx.out.table([{ header: 'Name' }, { header: 'Target' }, { header: 'Id' }], endpoints.map((e) => [e.spec?.name ?? '', targetText(e), e.id ?? '']));
  });

  const update = addClientOptions(addTargetOptions(group.command('update').description('change a Nexus endpoint\'s target or description')).option('--unset-description', 'remove the description'));
  clientAction<TargetOptions & { unsetDescription?: boolean }>(update, async (ctx, options) => {
    const current = await byName(ctx, options.name);
    const spec = {
      name: options.name,
      target: target(options, current.spec?.target),
      description: options.unsetDescription ? undefined : (description(options.description) ?? current.spec?.description ?? undefined),
    };
    const { operatorService } = await ctx.connect();
    const { endpoint } = await ctx.call(`Nexus endpoint "${options.name}"`, 'UpdateNexusEndpoint', () => operatorService.updateNexusEndpoint({ id: current.id, version: current.version, spec }));
    if (ctx.out.isText) ctx.out.line(`Endpoint ${options.name} updated.`);
    else ctx.out.json(toJson(endpoint ?? {}));
  });

  const remove = addClientOptions(group.command('delete').description('delete a Nexus endpoint').requiredOption('--name <name>', 'endpoint name').option('-y, --yes', 'do not ask for confirmation'));
  clientAction<{ name: string; yes?: boolean }>(remove, async (ctx, options) => {
    const current = await byName(ctx, options.name);
    if (!options.yes && !(await confirm(`Delete Nexus endpoint ${options.name}?`))) throw new CliError('not confirmed: pass --yes to delete without a prompt.');
    const { operatorService } = await ctx.connect();
    await ctx.call(`Nexus endpoint "${options.name}"`, 'DeleteNexusEndpoint', () => operatorService.deleteNexusEndpoint({ id: current.id, version: current.version }));
    if (ctx.out.isText) ctx.out.line(`Endpoint ${options.name} deleted.`);
    else ctx.out.json({ name: options.name, deleted: true });
  });
}
