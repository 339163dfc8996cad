/**
 * Benchmark dispatcher: `npm run bench -- <scenario> [options]`, e.g.
 * `npm run bench -- single-activity --workflows 500 --concurrency 50`. See bench/README.md.
 */
import { runInterruptCleanups } from './harness.js';

interface Scenario {
  run(args: string[]): Promise<unknown>;
}

const scenarios: Record<string, () => Promise<Scenario>> = {
  'single-activity': () => import('./single-activity.js'),
  'activity-chain': () => import('./activity-chain.js'),
  timers: () => import('./timers.js'),
  signals: () => import('./signals.js'),
  idle: () => import('./idle.js'),
  'cold-start': () => import('./cold-start.js'),
  limits: () => import('./limits.js'),
  visibility: () => import('./visibility.js'),
  'history-read': () => import('./history-read.js'),
  cluster: () => import('./cluster.js'),
  'sdk-worker': () => import('./sdk-worker.js'),
  peers: () => import('./peers.js'),
  all: () => import('./all.js'),
};

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const load = name === undefined ? undefined : scenarios[name];
  if (load === undefined) {
    process.stderr.write(
      `usage: npm run bench -- <scenario> [options]\nscenarios: ${Object.keys(scenarios).join(', ')}\n`,
    );
    process.exitCode = 2;
    return;
  }
  const scenario = await load();
  await scenario.run(args);
}

// Ctrl-C or a kill must not leave servers running or temp databases behind: the scenarios register
// what to undo (harness.onInterrupt), and the servers' own exit hook kills what is left.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: cleaning up\n`);
    void runInterruptCleanups().finally(() => process.exit(130));
  });
}

// The SDK runtime keeps native handles open after everything closed; exit explicitly once done.
main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
