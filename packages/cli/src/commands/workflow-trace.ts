// `workflow trace`: a workflow and its child workflows as a tree with each one's status. Children are
// found in the parent's history (StartChildWorkflowExecutionInitiated, then ChildWorkflowExecution-
// Started with the child's run id) and each is described for its current status, down to --depth.
// Unlike the temporal CLI's live view, this prints the tree once (run it again to refresh).
import type { Command } from 'commander';
import { addClientOptions, clientAction, workflowSubject, type CommandContext } from '../context.js';
import { addWorkflowReference } from '../flags.js';
import { formatDuration, parseInteger, timestampMs } from '../format.js';
import { colorStatus, statusName } from './workflow-describe.js';

interface TraceNode {
  workflowId: string;
  runId: string;
  type: string;
  status: string;
  durationMs?: number;
  children: TraceNode[];
}

interface ChildRef {
  workflowId: string;
  runId?: string;
  type: string;
}

async function childrenOf(ctx: CommandContext, workflowId: string, runId: string): Promise<ChildRef[]> {
  const { workflowService } = await ctx.connect();
  const { EventType } = (await ctx.proto()).temporal.api.enums.v1;
  const children = new Map<string, ChildRef>();
  let nextPageToken: Uint8Array | undefined;
  do {
    const response = await ctx.call(workflowSubject(workflowId, runId), 'GetWorkflowExecutionHistory', () =>
      workflowService.getWorkflowExecutionHistory({ namespace: ctx.flags.namespace, execution: { workflowId, runId }, nextPageToken }),
    );
    for (const event of response.history?.events ?? []) {
      if (event.eventType === EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED) {
        const attributes = event.startChildWorkflowExecutionInitiatedEventAttributes;
        const id = attributes?.workflowId ?? '';
        children.set(id, { workflowId: id, type: attributes?.workflowType?.name ?? '' });
      } else if (event.eventType === EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED) {
        const attributes = event.childWorkflowExecutionStartedEventAttributes;
        const id = attributes?.workflowExecution?.workflowId ?? '';
        children.set(id, { workflowId: id, runId: attributes?.workflowExecution?.runId ?? undefined, type: attributes?.workflowType?.name ?? children.get(id)?.type ?? '' });
      } else if (event.eventType === EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED) {
        children.delete(event.startChildWorkflowExecutionFailedEventAttributes?.workflowId ?? '');
      }
    }
    nextPageToken = response.nextPageToken?.length ? response.nextPageToken : undefined;
  } while (nextPageToken !== undefined);
  return [...children.values()];
}

async function trace(ctx: CommandContext, ref: ChildRef, depth: number): Promise<TraceNode> {
  const { workflowService } = await ctx.connect();
  const proto = await ctx.proto();
  const described = await ctx.call(workflowSubject(ref.workflowId, ref.runId), 'DescribeWorkflowExecution', () =>
    workflowService.describeWorkflowExecution({ namespace: ctx.flags.namespace, execution: { workflowId: ref.workflowId, runId: ref.runId } }),
  );
  const info = described.workflowExecutionInfo ?? {};
  const runId = info.execution?.runId ?? ref.runId ?? '';
  const start = timestampMs(info.startTime);
  const close = timestampMs(info.closeTime);
  const node: TraceNode = {
    workflowId: ref.workflowId,
    runId,
    type: info.type?.name ?? ref.type,
    status: statusName(proto, info.status),
    ...(start !== undefined && close ? { durationMs: close - start } : {}),
    children: [],
  };
  if (depth !== 0) {
    for (const child of await childrenOf(ctx, ref.workflowId, runId)) {
      node.children.push(
        child.runId === undefined
          ? { workflowId: child.workflowId, runId: '', type: child.type, status: 'Starting', children: [] }
          : await trace(ctx, child, depth - 1),
      );
    }
  }
  return node;
}

function printTree(ctx: CommandContext, node: TraceNode, prefix: string, last: boolean, root: boolean): void {
  const { style } = ctx.out;
  const branch = root ? '' : last ? '└── ' : '├── ';
  const took = node.durationMs !== undefined ? style.dim(` ${formatDuration(node.durationMs)}`) : '';
  ctx.out.line(`${prefix}${branch}${colorStatus(style, node.status)}  ${style.bold(node.type)}  ${node.workflowId}${style.dim(` (run ${node.runId})`)}${took}`);
  const childPrefix = root ? prefix : `${prefix}${last ? '    ' : '│   '}`;
  node.children.forEach((child, i) => printTree(ctx, child, childPrefix, i === node.children.length - 1, false));
}

export function addTraceCommand(workflow: Command): void {
  const command = workflow
    .command('trace')
    .description('show a workflow and its child workflows as a tree with their status')
    .option('--depth <n>', 'how many levels of children to follow (-1: all)', parseInteger, -1);
  clientAction<{ workflowId: string; runId?: string; depth: number }>(addClientOptions(addWorkflowReference(command)), async (ctx, options) => {
    const tree = await trace(ctx, { workflowId: options.workflowId, runId: options.runId, type: '' }, options.depth);
    if (ctx.out.isText) printTree(ctx, tree, '', true, true);
    else ctx.out.json(tree);
  });
}
