/**
 * One worker in a process of its own, so the sdk-worker scenario can read its RSS alone:
 * `tsx bench/sdk/worker-child.ts <official|kairos|kairos-nocache> <address> <taskQueue>` (kairos-nocache:
 * `maxCachedWorkflows: 0`, every task replays). Prints `ready` once polling, and stops (draining) when
 * stdin closes.
 */
import { fileURLToPath } from 'node:url';

const [kind, address = '', taskQueue = ''] = process.argv.slice(2);
if ((kind !== 'official' && kind !== 'kairos' && kind !== 'kairos-nocache') || address === '' || taskQueue === '') {
  process.stderr.write('usage: worker-child.ts <official|kairos|kairos-nocache> <address> <taskQueue>\n');
  process.exit(2);
}
const workflowsPath = fileURLToPath(new URL('./workflows.ts', import.meta.url));
const activities = { noop: async (): Promise<void> => undefined };

async function main(): Promise<void> {
  let run: (until: Promise<void>) => Promise<void>;
  if (kind === 'official') {
    const { DefaultLogger, NativeConnection, Runtime, Worker } = await import('@temporalio/worker');
    Runtime.install({ logger: new DefaultLogger('WARN') });
    const connection = await NativeConnection.connect({ address });
    const worker = await Worker.create({ connection, taskQueue, workflowsPath, activities });
    run = (until) => worker.runUntil(until);
  } else {
    const { Connection } = await import('@kairos/client');
    const { Worker } = await import('@kairos/worker');
    const connection = await Connection.connect({ address });
    const worker = await Worker.create({
      connection,
      taskQueue,
      workflowsPath,
      activities,
      bundlerAliases: { '@temporalio/workflow': '@kairos/workflow' },
      ...(kind === 'kairos-nocache' ? { maxCachedWorkflows: 0 } : {}),
    });
    run = (until) => worker.runUntil(until);
  }
  const stdinClosed = new Promise<void>((resolve) => {
    process.stdin.on('end', () => resolve());
    process.stdin.on('close', () => resolve());
    process.stdin.resume();
  });
  // Give the pollers a moment to be in place before the parent starts the load.
  setTimeout(() => process.stdout.write('ready\n'), 300);
  await run(stdinClosed);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`worker failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
