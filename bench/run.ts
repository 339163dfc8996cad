/**
 * Benchmark dispatcher: `npm run bench -- <scenario> [options]`, e.g.
 * `npm run bench -- single-activity --workflows 500 --concurrency 50`.
 */
interface Scenario {
  run(args: string[]): Promise<void>;
}

const scenarios: Record<string, () => Promise<Scenario>> = {
  'single-activity': () => import('./single-activity.js'),
  visibility: () => import('./visibility.js'),
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

// The SDK runtime keeps native handles open after everything closed; exit explicitly once done.
main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
