/**
 * peers: one job — N workflows of exactly one no-op step (activity) each, closed loop with C in
 * flight, every state change durable — run one after another, on one machine in one bench run, by:
 *
 * - the Kairos server (start-dev, SQLite, own process) with the official `@temporalio/worker`;
 * - the Kairos server with the Kairos SDK's worker (`@kairos/worker`);
 * - the reference Temporal dev server with the official worker, when a `temporal` binary is on PATH
 *   or at TEMPORAL_CLI_PATH (`temporal server start-dev --headless --port P --db-filename F`);
 * - DBOS Transact (`@dbos-inc/dbos-sdk`): one registered workflow calling one registered step, its
 *   system database on a PostgreSQL started for the run (bench/peers-dbos.ts, own process);
 * - the Vercel Workflow DevKit (`workflow`, local world): one "use workflow" function calling one
 *   "use step" function, compiled by the DevKit's standalone builder (bench/peers-vercel.ts, own process).
 *
 * Each row: workflows/s, p50/p95/p99 start-to-result latency, and both as a ratio to the first row
 * (Kairos + official worker); CPU seconds of the row's processes during the measured loop. One
 * unmeasured workflow warms each row up first. Every process shares this machine's cores.
 *
 *   npm run bench -- peers --workflows 300 --concurrency 20 [--rows kairos-official,kairos-sdk,temporal,dbos,vercel]
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { startTestPostgres, type TestPostgres } from '@kairos/server/test-postgres';
import { REPO_ROOT } from '../test/e2e/helpers/server.js';
import { BENCH_DIR, onInterrupt, positiveInteger, processCpuSeconds, startBenchServer } from './harness.js';
import { closedLoop, ownCpuSeconds, RESULT_PREFIX, type ChildReport, type ChildSettings, type LoadFigures } from './peers-load.js';
import { startTemporalDevServer, temporalBinary } from './peers-temporal.js';
import { finish, formatNumber, printGrid, type Headline, type ScenarioResult } from './report.js';
import { startWorker, stopWorker } from './sdk/worker-control.js';
import { singleActivityWorkflow } from './sdk/workflows.js';

const SCENARIO = 'peers';
const ROWS = ['kairos-official', 'kairos-sdk', 'temporal', 'dbos', 'vercel'] as const;
type RowId = (typeof ROWS)[number];
const CHILD_DEADLINE_MS = 15 * 60_000;

interface Row {
  readonly id: RowId;
  readonly system: string;
  readonly durability: Record<string, string>;
  /** Undefined when the row did not run; `note` says why. */
  readonly load?: LoadFigures;
  readonly cpuSeconds?: Record<string, number>;
  readonly note?: string;
  /** The machine's 1-minute load average when the row started: other work on the machine skews a row. */
  readonly loadBefore?: number;
}

export async function run(args: string[]): Promise<ScenarioResult> {
  const { values } = parseArgs({ args, options: { workflows: { type: 'string' }, concurrency: { type: 'string' }, rows: { type: 'string' } }, strict: true });
  const workflows = positiveInteger(values.workflows, 'workflows', 300);
  const concurrency = positiveInteger(values.concurrency, 'concurrency', 20);
  const selected = new Set((values.rows ?? ROWS.join(',')).split(',').map((r) => r.trim()));
  for (const id of selected) if (!(ROWS as readonly string[]).includes(id)) throw new Error(`--rows: unknown row ${id} (rows: ${ROWS.join(', ')})`);
  const temporal = temporalBinary();
  const job = { workflows, concurrency };

  const rows: Row[] = [];
  const attempt = async (id: RowId, system: string, durability: Record<string, string>, measure: () => Promise<Omit<Row, 'id' | 'system' | 'durability'> & { durability?: Record<string, string> }>): Promise<void> => {
    if (!selected.has(id)) return;
    const loadBefore = Number((os.loadavg()[0] ?? Number.NaN).toFixed(2));
    process.stdout.write(`[${SCENARIO}] ${system} (load average ${loadBefore}) ...\n`);
    try {
      const measured = await measure();
      rows.push({ id, system, ...measured, durability: { ...durability, ...measured.durability }, loadBefore });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`${system} failed: ${message}\n`);
      rows.push({ id, system, durability, note: `failed: ${message.split('\n')[0]}`, loadBefore });
      process.exitCode = 1;
    }
  };

  const kairosDurability = { store: 'SQLite file in a temp directory (WAL, synchronous=FULL: every commit waits for fsync)' };
  await attempt('kairos-official', 'Kairos server + official Temporal worker', kairosDurability, () => kairosRow('official', job));
  await attempt('kairos-sdk', 'Kairos server + Kairos worker', kairosDurability, () => kairosRow('kairos', job));
  if (temporal === undefined) {
    if (selected.has('temporal')) rows.push({ id: 'temporal', system: 'Temporal dev server + official worker', durability: {}, note: 'not present (no `temporal` on PATH, TEMPORAL_CLI_PATH unset)' });
  } else {
    await attempt('temporal', `Temporal dev server (${temporal.version}) + official worker`, { store: 'SQLite file in a temp directory (start-dev defaults, no --sqlite-pragma)' }, () => temporalRow(temporal.path, job));
  }
  await attempt('dbos', 'DBOS Transact (in-process executor)', {}, () => dbosRow(job));
  await attempt('vercel', 'Vercel Workflow DevKit, local world', {}, () => childRow('peers-vercel.ts', job, mkdtempSync(path.join(os.tmpdir(), 'kairos-bench-vercel-'))));

  const baseline = rows.find((r) => r.id === 'kairos-official')?.load;
  const ratio = (value: number | undefined, base: number | undefined): number => (value !== undefined && base !== undefined && base > 0 ? value / base : Number.NaN);
  process.stdout.write(`\nscenario ${SCENARIO}: ${workflows} workflows of one no-op step each, ${concurrency} in flight, one row after another on this machine (${os.cpus().length} cores shared by every process)\n\n`);
  printGrid(
    ['system', 'completed', 'failed', 'workflows/s', '× wf/s', 'p50 ms', 'p95 ms', 'p99 ms', '× p50', 'CPU ms/workflow', 'load avg', 'note'],
    rows.map((r) => {
      const cpu = r.cpuSeconds === undefined ? Number.NaN : Object.values(r.cpuSeconds).reduce((a, b) => a + b, 0);
      return [
        r.system,
        r.load?.completed ?? Number.NaN,
        r.load?.failed ?? Number.NaN,
        r.load?.workflowsPerSecond ?? Number.NaN,
        ratio(r.load?.workflowsPerSecond, baseline?.workflowsPerSecond),
        r.load?.latencyMs.p50 ?? Number.NaN,
        r.load?.latencyMs.p95 ?? Number.NaN,
        r.load?.latencyMs.p99 ?? Number.NaN,
        ratio(r.load?.latencyMs.p50, baseline?.latencyMs.p50),
        r.load === undefined ? Number.NaN : (cpu * 1000) / r.load.completed,
        r.load === undefined ? Number.NaN : (r.loadBefore ?? Number.NaN),
        r.note ?? '',
      ];
    }),
  );
  process.stdout.write('\n× = ratio to the first row (Kairos server + official worker); CPU = all processes of the row during the loop; load avg = 1-minute load when the row started.\nDurability of each row:\n');
  for (const r of rows) process.stdout.write(`  ${r.system}: ${Object.entries(r.durability).map(([k, v]) => `${k} ${v}`).join('; ') || '–'}\n`);
  const versions = peerVersions(temporal?.version);
  process.stdout.write(`versions: ${Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(', ')}\n`);

  const headlines: Headline[] = rows
    .filter((r) => r.id !== 'kairos-official' && r.load !== undefined)
    .map((r) => ({ label: `${r.system} / Kairos + official worker, workflows/s`, value: ratio(r.load?.workflowsPerSecond, baseline?.workflowsPerSecond), unit: '×' }));
  if (baseline !== undefined) headlines.unshift({ label: 'Kairos + official worker, workflows/s (one-step workflows)', value: baseline.workflowsPerSecond, unit: '/s', ceiling: 'sqliteCommitsPerSecond' });
  const settings = {
    workflows,
    concurrency,
    job: 'closed loop; each workflow runs one no-op step/activity; latency from the start call to the result at the caller; one unmeasured warm-up workflow per row',
    processes: {
      temporalRows: 'server (own process) + worker (bench/sdk/worker-child.ts, own process, default options) + official client in the bench process',
      dbos: 'one process: DBOS executor and caller (DBOS is a library); PostgreSQL (own processes, fsync on)',
      vercel: 'one process: DevKit runtime, local world, the flow/step routes (node:http) and the caller',
    },
    temporalBinary: temporal?.path ?? 'not present',
    versions,
  };
  const result = finish(SCENARIO, args, settings, { rows: rows.map((r) => ({ ...r, ratioWorkflowsPerSecond: ratio(r.load?.workflowsPerSecond, baseline?.workflowsPerSecond), ratioP50: ratio(r.load?.latencyMs.p50, baseline?.latencyMs.p50) })) }, headlines);
  if (rows.some((r) => (r.load?.failed ?? 0) > 0)) process.exitCode = 1;
  return result;
}

// ---- Temporal-protocol rows ----------------------------------------------------------------------

type Job = { readonly workflows: number; readonly concurrency: number };

async function kairosRow(worker: 'official' | 'kairos', job: Job): Promise<Omit<Row, 'id' | 'system' | 'durability'>> {
  const server = await startBenchServer();
  try {
    return await temporalProtocolRow(server.address, server.kairos?.pid, worker, job);
  } finally {
    await server.stop();
  }
}

async function temporalRow(binary: string, job: Job): Promise<Omit<Row, 'id' | 'system' | 'durability'>> {
  const server = await startTemporalDevServer(binary);
  const unregister = onInterrupt(() => server.stop());
  try {
    return await temporalProtocolRow(server.address, server.pid, 'official', job);
  } finally {
    unregister();
    await server.stop();
  }
}

/** The official client in this process, the worker in its own, against the server at `address`. */
async function temporalProtocolRow(address: string, serverPid: number | undefined, kind: 'official' | 'kairos', job: Job): Promise<Omit<Row, 'id' | 'system' | 'durability'>> {
  const taskQueue = `bench-${SCENARIO}-${kind}-${randomUUID().slice(0, 8)}`;
  const worker = await startWorker(kind, address, taskQueue);
  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection });
    const execute = async (index: number | 'warmup'): Promise<void> => {
      await client.workflow.execute(singleActivityWorkflow, { taskQueue, workflowId: `${taskQueue}-${index}` });
    };
    await execute('warmup');
    const before = { server: processCpuSeconds(serverPid), worker: processCpuSeconds(worker.pid), client: ownCpuSeconds() };
    const load = await closedLoop(job.workflows, job.concurrency, execute);
    const cpuSeconds = {
      server: processCpuSeconds(serverPid) - before.server,
      worker: processCpuSeconds(worker.pid) - before.worker,
      'bench client': ownCpuSeconds() - before.client,
    };
    return { load, cpuSeconds };
  } finally {
    await connection.close();
    await stopWorker(worker);
  }
}


// ---- peers in child processes --------------------------------------------------------------------

async function dbosRow(job: Job): Promise<ReturnType<typeof fromChild>> {
  let postgres: TestPostgres | undefined;
  const unregister = onInterrupt(async () => postgres?.stop());
  try {
    postgres = await startTestPostgres();
    // DBOS parses the URL with WHATWG URL, which refuses a user without a host: name one; the
    // `host` parameter (the Unix socket directory) still decides where pg connects.
    const url = (await postgres.createDatabase('kairos_bench_dbos')).replace('@/', '@localhost/');
    return await childRow('peers-dbos.ts', job, url);
  } finally {
    unregister();
    await postgres?.stop();
  }
}

/** Runs bench/<script> with the job and `target`, and returns what it reported on its last RESULT line. */
async function childRow(script: string, job: Job, target: string): Promise<ReturnType<typeof fromChild>> {
  const settings: ChildSettings = { ...job, target };
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(BENCH_DIR, script), JSON.stringify(settings)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const kill = async (): Promise<void> => void child.kill('SIGKILL');
  const unregister = onInterrupt(kill);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  try {
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => void kill(), CHILD_DEADLINE_MS);
      child.once('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    const line = stdout.split('\n').reverse().find((l) => l.startsWith(RESULT_PREFIX));
    if (code !== 0 || line === undefined) throw new Error(`${script} exited with ${code}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`);
    return fromChild(JSON.parse(line.slice(RESULT_PREFIX.length)) as ChildReport);
  } finally {
    unregister();
    // The Vercel row's target is a temp directory (its build and data); DBOS's is a database URL.
    if (path.isAbsolute(target)) rmSync(target, { recursive: true, force: true });
  }
}

function fromChild(report: ChildReport): { load: LoadFigures; cpuSeconds: Record<string, number>; durability: Record<string, string>; note: string } {
  return { load: report.load, cpuSeconds: report.cpuSeconds, durability: report.durability, note: `setup ${formatNumber(report.setupSeconds)} s (not measured)` };
}

// ---- versions ------------------------------------------------------------------------------------

function packageVersion(name: string, dir = path.join(REPO_ROOT, 'node_modules', name)): string {
  try {
    return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: string }).version ?? '?';
  } catch {
    return 'not installed';
  }
}

function peerVersions(temporalVersion: string | undefined): Record<string, string> {
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' });
  return {
    kairos: `${packageVersion('@kairos/server', path.join(REPO_ROOT, 'packages', 'server'))} (${commit.status === 0 ? commit.stdout.trim() : 'no git'})`,
    '@kairos/worker': packageVersion('@kairos/worker', path.join(REPO_ROOT, 'packages', 'worker')),
    '@temporalio/worker': packageVersion('@temporalio/worker'),
    '@temporalio/client': packageVersion('@temporalio/client'),
    temporal: temporalVersion ?? 'not present',
    '@dbos-inc/dbos-sdk': packageVersion('@dbos-inc/dbos-sdk'),
    workflow: packageVersion('workflow'),
    '@workflow/core': packageVersion('@workflow/core'),
    '@workflow/world-local': packageVersion('@workflow/world-local'),
    '@workflow/builders': packageVersion('@workflow/builders'),
    node: process.version,
  };
}
