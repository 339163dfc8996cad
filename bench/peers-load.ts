/**
 * The job every row of the `peers` scenario runs, and how a peer's child process reports it: a
 * closed loop of `count` workflows with `concurrency` in flight, each timed from its start call to its
 * result reaching the caller. Kept free of SDK imports so the peers' child processes load only their
 * own framework.
 */
import { distribution, type Distribution } from './report.js';

export interface LoadFigures {
  readonly completed: number;
  readonly failed: number;
  readonly wallSeconds: number;
  readonly workflowsPerSecond: number;
  readonly latencyMs: Distribution;
  /** The first few failures, for the report. */
  readonly errors: readonly string[];
}

/** Runs `execute(0..count-1)` with `concurrency` lanes; each call starts one workflow and awaits its result. */
export async function closedLoop(count: number, concurrency: number, execute: (index: number) => Promise<void>): Promise<LoadFigures> {
  const latencies: number[] = [];
  const errors: string[] = [];
  let failed = 0;
  let next = 0;
  const startedAt = performance.now();
  const lane = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      const t0 = performance.now();
      try {
        await execute(index);
        latencies.push(performance.now() - t0);
      } catch (error) {
        failed++;
        if (errors.length < 3) errors.push(error instanceof Error ? error.message : String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  const wallSeconds = (performance.now() - startedAt) / 1000;
  return { completed: latencies.length, failed, wallSeconds, workflowsPerSecond: latencies.length / wallSeconds, latencyMs: distribution(latencies), errors };
}

/** What a peer's child process prints as its last stdout line: `RESULT <json>`. */
export interface ChildReport {
  readonly load: LoadFigures;
  /** What the peer stores and how durably, as the child found it (e.g. PostgreSQL's fsync setting). */
  readonly durability: Record<string, string>;
  readonly setupSeconds: number;
  /** CPU seconds used during the measured loop, by part (this process, the database's backends...). */
  readonly cpuSeconds: Record<string, number>;
}

export const RESULT_PREFIX = 'RESULT ';

export function printChildReport(report: ChildReport): void {
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(report)}\n`);
}

/** CPU seconds of this process so far (user + system). */
export function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** Settings a child gets as its one argument (JSON). */
export interface ChildSettings {
  readonly workflows: number;
  readonly concurrency: number;
  /** DBOS: the system database URL; Vercel Workflow: a temp directory for the build and the world's data. */
  readonly target: string;
}
