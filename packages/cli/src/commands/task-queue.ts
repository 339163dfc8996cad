// `task-queue describe`: the pollers (workers) seen recently on a task queue, per task type, and its
// backlog. Temporal keeps workflow and activity tasks in separate queues of the same name; both are
// shown unless --task-queue-type picks one.
import type { Command } from 'commander';
import { addClientOptions, clientAction } from '../context.js';
import { collect, parseChoice } from '../flags.js';
import { isoTime, longToNumber, timeWithAge, type LongValue } from '../format.js';

const TASK_QUEUE_TYPES = ['workflow', 'activity'] as const;
type TaskQueueType = (typeof TASK_QUEUE_TYPES)[number];

interface PollerRow {
  taskQueueType: TaskQueueType;
  identity: string;
  lastAccessTime: string | undefined;
  ratePerSecond: number;
}

export function addTaskQueueCommands(program: Command): void {
  const taskQueue = program.command('task-queue').description('inspect task queues');
  const describe = taskQueue
    .command('describe')
    .description('show the workers polling a task queue and its backlog')
    .requiredOption('-t, --task-queue <name>', 'task queue name')
    .option('--task-queue-type <type>', 'workflow or activity; repeatable (default: both)', (value: string, previous: TaskQueueType[] | undefined) => collect(parseChoice(TASK_QUEUE_TYPES)(value), previous) as TaskQueueType[]);
  clientAction<{ taskQueue: string; taskQueueType?: TaskQueueType[] }>(addClientOptions(describe), async (ctx, options) => {
    const { workflowService } = await ctx.connect();
    const { TaskQueueType, TaskQueueKind } = (await ctx.proto()).temporal.api.enums.v1;
    const types = options.taskQueueType ?? [...TASK_QUEUE_TYPES];
    const pollers: PollerRow[] = [];
    const backlog: Record<string, number> = {};
    for (const type of types) {
      const response = await ctx.call(`task queue "${options.taskQueue}"`, 'DescribeTaskQueue', () =>
        workflowService.describeTaskQueue({
          namespace: ctx.flags.namespace,
          taskQueue: { name: options.taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
          taskQueueType: type === 'workflow' ? TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW : TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
          reportStats: true,
        }),
      );
      backlog[type] = longToNumber(response.stats?.approximateBacklogCount as LongValue);
      for (const poller of response.pollers ?? []) {
        pollers.push({
          taskQueueType: type,
          identity: poller.identity ?? '',
          lastAccessTime: isoTime(poller.lastAccessTime),
          ratePerSecond: poller.ratePerSecond ?? 0,
        });
      }
    }
    if (!ctx.out.isText) {
      ctx.out.json({ taskQueue: options.taskQueue, backlog, pollers });
      return;
    }
    ctx.out.heading(`Task queue ${options.taskQueue}`);
    ctx.out.keyValues(types.map((type) => [`Backlog (${type})`, String(backlog[type] ?? 0)] as const));
    ctx.out.line();
    if (pollers.length === 0) {
      ctx.out.line('No pollers: no worker has polled this task queue recently. Start a worker on it.');
      return;
    }
    ctx.out.table(
      [{ header: 'Type' }, { header: 'Identity' }, { header: 'LastAccessTime' }],
      pollers.map((poller) => [poller.taskQueueType, poller.identity, poller.lastAccessTime ? (timeWithAge({ seconds: Date.parse(poller.lastAccessTime) / 1000 }) ?? '') : '']),
    );
  });
}
