// `operator namespace create|describe|list|update`, `operator search-attribute create|list|remove`, and
// `operator nexus endpoint ...` (nexus-endpoint.ts).
import type { Command } from 'commander';
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import { addClientOptions, clientAction, type CommandContext } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { collect, parseChoice, parseKeyJsonPairs } from '../flags.js';
import { constantCase, durationMs, formatDuration, msToProtoDuration, parseDurationFlag, pascalEnumName } from '../format.js';
import { messageToJson, reflected } from '../proto-json.js';
import { confirm } from './confirm.js';
import { addNexusEndpointCommands } from './nexus-endpoint.js';

type NamespaceDescription = temporal.api.workflowservice.v1.IDescribeNamespaceResponse;

const SEARCH_ATTRIBUTE_TYPES = ['Text', 'Keyword', 'Int', 'Double', 'Bool', 'Datetime', 'KeywordList'] as const;
const DEFAULT_RETENTION = '72h'; // the temporal CLI's default for `namespace create`

interface NamespaceOptions {
  description?: string;
  email?: string;
  retention?: number;
  data?: string[];
  namespaceId?: string;
}

/** The namespace a command names: the positional argument, or -n/TEMPORAL_NAMESPACE when given. */
function namespaceName(command: Command, args: string[], allowDefault: boolean): string {
  const positional = args[0];
  if (positional) return positional;
  const source = command.getOptionValueSource('namespace');
  if (!allowDefault && (source === 'default' || source === undefined)) {
    throw new UsageError(`name the namespace: kairos operator namespace ${command.name()} <name> (or --namespace <name>).`);
  }
  return String(command.opts()['namespace']);
}

function addNamespaceSettings(command: Command, retentionDefault?: string): Command {
  command.option('--description <text>', 'namespace description').option('--email <address>', 'owner email');
  if (retentionDefault) command.option('--retention <duration>', 'how long closed workflows are kept (at least 24h)', parseDurationFlag, parseDurationFlag(retentionDefault));
  else command.option('--retention <duration>', 'how long closed workflows are kept (at least 24h)', parseDurationFlag);
  return command.option('--data <key=json>', 'namespace data entry; repeatable', collect);
}

function printNamespace(ctx: CommandContext, description: NamespaceDescription, proto: Awaited<ReturnType<CommandContext['proto']>>): void {
  const info = description.namespaceInfo ?? {};
  const data = Object.entries(info.data ?? {});
  ctx.out.keyValues([
    ['Name', info.name ?? ''],
    ['Id', info.id ?? ''],
    ['State', pascalEnumName(proto.temporal.api.enums.v1.NamespaceState[info.state ?? 0], 'NAMESPACE_STATE_')],
    ['Description', info.description ?? undefined],
    ['OwnerEmail', info.ownerEmail ?? undefined],
    ['Retention', formatDuration(durationMs(description.config?.workflowExecutionRetentionTtl))],
    ['Data', data.length > 0 ? data.map(([key, value]) => `${key}=${value}`).join('\n') : undefined],
  ]);
}

function addNamespaceCommands(operator: Command): void {
  const namespace = operator.command('namespace').description('create, describe, list and update namespaces');

  const create = addClientOptions(addNamespaceSettings(namespace.command('create').description('register a namespace').argument('[name]', 'namespace name (or --namespace)'), DEFAULT_RETENTION));
  clientAction<NamespaceOptions>(create, async (ctx, options, args) => {
    const name = namespaceName(create, args, false);
    const { workflowService } = await ctx.connect();
    const request: Loose<temporal.api.workflowservice.v1.IRegisterNamespaceRequest> = {
      namespace: name,
      description: options.description,
      ownerEmail: options.email,
      workflowExecutionRetentionPeriod: msToProtoDuration(options.retention ?? 0),
      data: parseKeyJsonPairs(options.data, '--data'),
    };
    await ctx.call(`namespace "${name}"`, 'RegisterNamespace', () => workflowService.registerNamespace(request as temporal.api.workflowservice.v1.IRegisterNamespaceRequest));
    if (ctx.out.isText) ctx.out.line(`Namespace ${name} created.`);
    else ctx.out.json({ namespace: name });
  });

  const describe = addClientOptions(namespace.command('describe').description('show a namespace').argument('[name]', 'namespace name (or --namespace)').option('--namespace-id <id>', 'namespace id'));
  clientAction<NamespaceOptions>(describe, async (ctx, options, args) => {
    const name = options.namespaceId ? undefined : namespaceName(describe, args, true);
    const { workflowService } = await ctx.connect();
    const proto = await ctx.proto();
    const response = await ctx.call(`namespace "${name ?? options.namespaceId}"`, 'DescribeNamespace', () => workflowService.describeNamespace({ namespace: name, id: options.namespaceId }));
    if (ctx.out.isText) printNamespace(ctx, response, proto);
    else ctx.out.json(messageToJson(reflected(proto.temporal.api.workflowservice.v1.DescribeNamespaceResponse), response));
  });

  const list = addClientOptions(namespace.command('list').description('list namespaces'));
  clientAction(list, async (ctx) => {
    const { workflowService } = await ctx.connect();
    const proto = await ctx.proto();
    const namespaces: NamespaceDescription[] = [];
    let nextPageToken: Uint8Array | undefined;
    do {
      const page = await ctx.call('namespaces', 'ListNamespaces', () => workflowService.listNamespaces({ pageSize: 100, nextPageToken }));
      namespaces.push(...(page.namespaces ?? []));
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken !== undefined);
    if (!ctx.out.isText) {
      ctx.out.jsonList(namespaces.map((item) => messageToJson(reflected(proto.temporal.api.workflowservice.v1.DescribeNamespaceResponse), item)));
      return;
    }
    ctx.out.table(
      [{ header: 'Name' }, { header: 'State' }, { header: 'Retention' }, { header: 'Description' }],
      namespaces.map((item) => [
        item.namespaceInfo?.name ?? '',
        pascalEnumName(proto.temporal.api.enums.v1.NamespaceState[item.namespaceInfo?.state ?? 0], 'NAMESPACE_STATE_'),
        formatDuration(durationMs(item.config?.workflowExecutionRetentionTtl)),
        item.namespaceInfo?.description ?? '',
      ]),
    );
  });

  const update = addClientOptions(addNamespaceSettings(namespace.command('update').description('change a namespace').argument('[name]', 'namespace name (or --namespace)')));
  clientAction<NamespaceOptions>(update, async (ctx, options, args) => {
    const name = namespaceName(update, args, false);
    const data = parseKeyJsonPairs(options.data, '--data');
    if (options.description === undefined && options.email === undefined && options.retention === undefined && Object.keys(data).length === 0) {
      throw new UsageError('nothing to update: give --description, --email, --retention or --data.');
    }
    const { workflowService } = await ctx.connect();
    const proto = await ctx.proto();
    const request: Loose<temporal.api.workflowservice.v1.IUpdateNamespaceRequest> = {
      namespace: name,
      updateInfo: { description: options.description, ownerEmail: options.email, data },
      config: options.retention === undefined ? undefined : { workflowExecutionRetentionTtl: msToProtoDuration(options.retention) },
    };
    const response = await ctx.call(`namespace "${name}"`, 'UpdateNamespace', () => workflowService.updateNamespace(request as temporal.api.workflowservice.v1.IUpdateNamespaceRequest));
    if (ctx.out.isText) {
      ctx.out.line(`Namespace ${name} updated.`);
      printNamespace(ctx, response, proto);
    } else ctx.out.json(messageToJson(reflected(proto.temporal.api.workflowservice.v1.UpdateNamespaceResponse), response));
  });
}

function addSearchAttributeCommands(operator: Command): void {
  const group = operator.command('search-attribute').description('create, list and remove custom search attributes');

  const create = addClientOptions(
    group
      .command('create')
      .description('register custom search attributes')
      .requiredOption('--name <name>', 'attribute name; repeatable', collect)
      .requiredOption('--type <type>', `attribute type (${SEARCH_ATTRIBUTE_TYPES.join(', ')}); once for all names or once per --name`, (value: string, previous: string[] | undefined) => [...(previous ?? []), parseChoice(SEARCH_ATTRIBUTE_TYPES)(value)]),
  );
  clientAction<{ name: string[]; type: string[] }>(create, async (ctx, options) => {
    if (options.type.length !== 1 && options.type.length !== options.name.length) throw new UsageError('give one --type for all names, or one --type per --name.');
    const { operatorService } = await ctx.connect();
    const { IndexedValueType } = (await ctx.proto()).temporal.api.enums.v1;
    const attributes = Object.fromEntries(
      options.name.map((name, i) => {
        const type = options.type[options.type.length === 1 ? 0 : i] ?? 'Keyword';
        return [name, IndexedValueType[`INDEXED_VALUE_TYPE_${constantCase(type)}` as keyof typeof IndexedValueType]];
      }),
    );
    await ctx.call(`search attribute ${options.name.join(', ')}`, 'AddSearchAttributes', () => operatorService.addSearchAttributes({ namespace: ctx.flags.namespace, searchAttributes: attributes }));
    if (ctx.out.isText) ctx.out.line(`Search attribute(s) ${options.name.join(', ')} added to namespace ${ctx.flags.namespace}.`);
    else ctx.out.json({ namespace: ctx.flags.namespace, added: options.name });
  });

  const list = addClientOptions(group.command('list').description('list the search attributes of a namespace (custom and system)'));
  clientAction(list, async (ctx) => {
    const { operatorService } = await ctx.connect();
    const { IndexedValueType } = (await ctx.proto()).temporal.api.enums.v1;
    const response = await ctx.call(`namespace "${ctx.flags.namespace}"`, 'ListSearchAttributes', () => operatorService.listSearchAttributes({ namespace: ctx.flags.namespace }));
    const typeName = (type: number) => pascalEnumName(IndexedValueType[type], 'INDEXED_VALUE_TYPE_');
    const rows = [
      ...Object.entries(response.customAttributes ?? {}).map(([name, type]) => ({ name, type: typeName(type), kind: 'custom' })),
      ...Object.entries(response.systemAttributes ?? {}).map(([name, type]) => ({ name, type: typeName(type), kind: 'system' })),
    ].sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
    if (!ctx.out.isText) ctx.out.jsonList(rows);
    else ctx.out.table([{ header: 'Name' }, { header: 'Type' }, { header: 'Kind' }], rows.map((row) => [row.name, row.type, row.kind]));
  });

  const remove = addClientOptions(
    group.command('remove').description('remove custom search attributes').requiredOption('--name <name>', 'attribute name; repeatable', collect).option('-y, --yes', 'do not ask for confirmation'),
  );
  clientAction<{ name: string[]; yes?: boolean }>(remove, async (ctx, options) => {
    if (!options.yes && !(await confirm(`Remove search attribute(s) ${options.name.join(', ')} from namespace ${ctx.flags.namespace}?`))) {
      throw new CliError('not confirmed: pass --yes to remove without a prompt.');
    }
    const { operatorService } = await ctx.connect();
    await ctx.call(`search attribute ${options.name.join(', ')}`, 'RemoveSearchAttributes', () => operatorService.removeSearchAttributes({ namespace: ctx.flags.namespace, searchAttributes: options.name }));
    if (ctx.out.isText) ctx.out.line(`Search attribute(s) ${options.name.join(', ')} removed from namespace ${ctx.flags.namespace}.`);
    else ctx.out.json({ namespace: ctx.flags.namespace, removed: options.name });
  });
}

export function addOperatorCommands(program: Command): void {
  const operator = program.command('operator').description('manage namespaces, search attributes and Nexus endpoints');
  addNamespaceCommands(operator);
  addSearchAttributeCommands(operator);
  addNexusEndpointCommands(operator);
}
