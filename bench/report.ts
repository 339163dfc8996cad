/** Shared benchmark reporting: percentiles, a printed table and a JSON file under bench/results/. */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');

/** Nearest-rank percentile of an ascending-sorted array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export interface Distribution {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** p50/p95/p99/max of unsorted samples (the array is sorted in place). */
export function distribution(samples: number[]): Distribution {
  samples.sort((a, b) => a - b);
  return {
    count: samples.length,
    p50: percentile(samples, 50),
    p95: percentile(samples, 95),
    p99: percentile(samples, 99),
    max: samples.at(-1) ?? Number.NaN,
  };
}

export function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    model: cpus[0]?.model ?? 'unknown',
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    // A loaded machine gives slower, noisier figures: keep the load next to them.
    loadAverage: os.loadavg().map((load) => Number(load.toFixed(2))),
  };
}

export function printTable(rows: [string, string | number][]): void {
  const width = Math.max(...rows.map(([label]) => label.length));
  for (const [label, value] of rows) {
    process.stdout.write(`${label.padEnd(width)}  ${typeof value === 'number' ? formatNumber(value) : value}\n`);
  }
}

/** A table with a header row: one column per header, numbers right-aligned. */
export function printGrid(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): void {
  const cells = [headers, ...rows.map((row) => row.map((cell) => (typeof cell === 'number' ? formatNumber(cell) : cell)))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => String(row[column] ?? '').length)));
  for (const [index, row] of cells.entries()) {
    const line = widths.map((width, column) => {
      const cell = String(row[column] ?? '');
      // Headers follow their column: right-aligned over numbers.
      return typeof rows[Math.max(0, index - 1)]?.[column] === 'number' ? cell.padStart(width) : cell.padEnd(width);
    });
    process.stdout.write(`${line.join('  ').trimEnd()}\n`);
  }
}

export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return '–';
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

/** Writes `bench/results/<scenario>-<timestamp>.json` and returns its path. */
export function writeResult(scenario: string, report: Record<string, unknown>): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const timestamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = path.join(RESULTS_DIR, `${scenario}-${timestamp}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

/**
 * A figure worth a line in `bench all`'s summary. `ceiling` names the `limits` figure it is compared
 * with, so the summary can show what fraction of the machine's ceiling a scenario reached.
 */
export interface Headline {
  readonly label: string;
  readonly value: number;
  readonly unit: string;
  readonly ceiling?: 'sqliteCommitsPerSecond' | 'sqliteBatchedRowsPerSecond' | 'grpcCallsPerSecond';
}

export interface ScenarioResult {
  readonly scenario: string;
  readonly file: string;
  readonly headlines: readonly Headline[];
  readonly figures: Record<string, unknown>;
}

/** Writes the JSON report of a scenario (machine, settings, figures), says where, and returns the result. */
export function finish(
  scenario: string,
  args: readonly string[],
  settings: Record<string, unknown>,
  figures: Record<string, unknown>,
  headlines: readonly Headline[],
): ScenarioResult {
  const file = writeResult(scenario, {
    scenario,
    date: new Date().toISOString(),
    command: `npm run bench -- ${[scenario, ...args].join(' ')}`,
    machine: machine(),
    settings,
    figures,
  });
  process.stdout.write(`\nresults written to ${path.relative(process.cwd(), file)}\n`);
  return { scenario, file, headlines, figures };
}
