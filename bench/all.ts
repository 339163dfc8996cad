/**
 * all: every scenario once with small settings (a smoke run of a few minutes), then one summary
 * table in which each throughput is also shown as a fraction of the machine's ceiling measured by
 * `limits` in the same run.
 *
 *   npm run bench -- all [--with-large]
 *
 * `--with-large` adds cold-start on a 100,000-event database (built once and cached). A scenario
 * that fails is reported and the others still run; the exit code is then 1.
 */
import { parseArgs } from 'node:util';
import { finish, formatNumber, printGrid, type ScenarioResult } from './report.js';
import type { Limits } from './limits.js';

const SCENARIO = 'all';

interface Step {
  readonly name: string;
  readonly args: readonly string[];
  readonly load: () => Promise<{ run(args: string[]): Promise<ScenarioResult> }>;
}

function steps(withLarge: boolean): Step[] {
  return [
    { name: 'limits', args: ['--seconds', '2'], load: () => import('./limits.js') },
    { name: 'single-activity', args: ['--workflows', '100', '--sweep', '1,20'], load: () => import('./single-activity.js') },
    { name: 'single-activity', args: ['--rate', '20', '--duration', '5'], load: () => import('./single-activity.js') },
    { name: 'activity-chain', args: ['--workflows', '20', '--concurrency', '5', '--sample', '10'], load: () => import('./activity-chain.js') },
    { name: 'timers', args: ['--workflows', '500', '--max', '10', '--window', '15', '--burst', '500', '--sample', '200'], load: () => import('./timers.js') },
    { name: 'signals', args: ['--signals', '1000', '--updates', '100'], load: () => import('./signals.js') },
    { name: 'idle', args: ['--workflows', '1000', '--settle', '1'], load: () => import('./idle.js') },
    { name: 'cluster', args: ['--nodes', '1,2', '--workflows', '60', '--concurrency', '10'], load: () => import('./cluster.js') },
    { name: 'cold-start', args: ['--runs', '3', ...(withLarge ? ['--events', '100000'] : ['--skip-large'])], load: () => import('./cold-start.js') },
  ];
}

export async function run(args: string[]): Promise<ScenarioResult> {
  const { values } = parseArgs({ args, options: { 'with-large': { type: 'boolean' } }, strict: true });
  const results: ScenarioResult[] = [];
  const failures: Array<{ scenario: string; error: string }> = [];
  const startedAt = performance.now();
  for (const step of steps(values['with-large'] === true)) {
    process.stdout.write(`\n=== ${step.name} ${step.args.join(' ')} ===\n`);
    try {
      const scenario = await step.load();
      results.push(await scenario.run([...step.args]));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`${step.name} failed: ${message}\n`);
      failures.push({ scenario: step.name, error: message });
      process.exitCode = 1;
    }
  }

  const limits = results.find((r) => r.scenario === 'limits')?.figures as Partial<Limits> | undefined;
  const rows = results.flatMap((result) =>
    result.headlines.map((h) => {
      const ceiling = h.ceiling === undefined ? undefined : limits?.[h.ceiling];
      return {
        scenario: result.scenario,
        figure: h.label,
        value: h.value,
        unit: h.unit,
        ceiling: h.ceiling ?? null,
        ceilingValue: ceiling ?? null,
        fraction: ceiling === undefined ? null : h.value / ceiling,
      };
    }),
  );
  process.stdout.write(`\n=== summary (${((performance.now() - startedAt) / 1000).toFixed(0)} s) ===\n\n`);
  printGrid(
    ['scenario', 'figure', 'value', 'unit', 'vs ceiling', 'fraction'],
    rows.map((r) => [
      r.scenario,
      r.figure,
      r.value,
      r.unit,
      r.ceiling === null ? '' : `${r.ceiling} ${formatNumber(r.ceilingValue ?? Number.NaN)}`,
      r.fraction === null ? '' : `${(r.fraction * 100).toFixed(1)} %`,
    ]),
  );
  for (const failure of failures) process.stdout.write(`FAILED ${failure.scenario}: ${failure.error}\n`);
  return finish(
    SCENARIO,
    args,
    { steps: steps(values['with-large'] === true).map((s) => `${s.name} ${s.args.join(' ')}`) },
    { summary: rows, failures, files: results.map((r) => r.file) },
    [],
  );
}
