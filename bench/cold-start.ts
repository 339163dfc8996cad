/**
 * cold-start: time from spawning `kairos server start-dev` (packages/cli/bin/kairos.js) until it
 * answers GetSystemInfo, on an empty database and on one of ~1 million events.
 *
 *   npm run bench -- cold-start [--runs 5] [--events 1000000] [--skip-large] [--rebuild] [--cache-dir DIR]
 *
 * Each run spawns a fresh process (`--headless`, a free port, `--db-filename`), polls the port with
 * TCP connects every 2 ms, then calls GetSystemInfo on a fresh channel; "ready" is when that answer
 * arrived. "banner" is when the server printed its `Kairos Server:` line. A reference row times
 * `kairos --version` (Node + the CLI, no server): the floor of any start.
 *
 * The bin runs the CLI from its prebuilt bundle (packages/cli/dist, docs/adr/0005-cli-bundle.md), which
 * this scenario brings up to date before timing (saying so in its output), so that no run pays for a
 * build; with KAIROS_NO_BUNDLE=1 in the environment every run goes through tsx instead, as before.
 *
 * Empty: a new file per run (the server creates the schema). Large: built once (bench/large-db.ts, a
 * few minutes) and cached as `<cache-dir>/cold-start-<events>.db` (default bench/results/cache, not
 * committed); each run starts on a fresh copy of it, so runs do not change each other's input. The
 * copy was just written, so the OS page cache is warm: this is a process cold start, not a disk one.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { findFreePort, KAIROS_BIN, REPO_ROOT } from '../test/e2e/helpers/server.js';
import { rawClient, unaryCall } from './grpc-raw.js';
import { databaseSize, MB, onInterrupt, positiveInteger, processMemory } from './harness.js';
import { buildLargeDatabase } from './large-db.js';
import { distribution, finish, printGrid, RESULTS_DIR, type Distribution, type ScenarioResult } from './report.js';

const SCENARIO = 'cold-start';
const GET_SYSTEM_INFO = '/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo';
const DEADLINE_MS = 120_000;

interface Start {
  readonly readyMs: number;
  readonly bannerMs: number;
  readonly rssMB: number;
}

interface Case {
  readonly database: string;
  readonly databaseMB: number;
  readonly readyMs: Distribution;
  readonly bannerMs: Distribution;
  readonly rssMB: number;
}

export async function run(args: string[]): Promise<ScenarioResult> {
  const { values } = parseArgs({
    args,
    options: {
      runs: { type: 'string' },
      events: { type: 'string' },
      'skip-large': { type: 'boolean' },
      rebuild: { type: 'boolean' },
      'cache-dir': { type: 'string' },
    },
    strict: true,
  });
  const runs = positiveInteger(values.runs, 'runs', 5);
  const events = positiveInteger(values.events, 'events', 1_000_000);
  const cacheDir = path.resolve(values['cache-dir'] ?? path.join(RESULTS_DIR, 'cache'));
  const cached = path.join(cacheDir, `cold-start-${events}.db`);

  const bin = prepareBin();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kairos-bench-cold-start-'));
  const unregister = onInterrupt(async () => rmSync(dir, { recursive: true, force: true }));
  const cases: Case[] = [];
  let versionMs: Distribution;
  let built: Record<string, unknown> | undefined;
  try {
    const version: number[] = [];
    for (let i = 0; i < runs; i++) version.push(await timeVersion());
    versionMs = distribution(version);
    cases.push(await measureCase('empty', runs, (i) => path.join(dir, `empty-${i}.db`)));
    if (!values['skip-large']) {
      if (values.rebuild || !existsSync(cached)) {
        process.stdout.write(`building a ${events}-event database into ${cached} (once) ...\n`);
        const t0 = performance.now();
        const written = await buildLargeDatabase(cached, events);
        built = { ...written, seconds: (performance.now() - t0) / 1000 };
        process.stdout.write(`built: ${written.events} events in ${written.executions} copied runs (+ 3,000 open ones), ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
      }
      cases.push(
        await measureCase(`${events} events`, runs, (i) => {
          const copy = path.join(dir, `large-${i}.db`);
          copyFileSync(cached, copy);
          return copy;
        }),
      );
    }
  } finally {
    unregister();
    rmSync(dir, { recursive: true, force: true });
  }

  process.stdout.write(`scenario ${SCENARIO}, ${runs} runs each (ms), bin: ${bin}\n\n`);
  printGrid(
    ['database', 'size MB', 'ready p50', 'ready max', 'banner p50', 'RSS MB'],
    [
      ['(kairos --version, no server)', Number.NaN, versionMs.p50, versionMs.max, Number.NaN, Number.NaN],
      ...cases.map((c) => [c.database, c.databaseMB, c.readyMs.p50, c.readyMs.max, c.bannerMs.p50, c.rssMB]),
    ],
  );
  const large = cases[1];
  return finish(
    SCENARIO,
    args,
    { runs, events, skipLarge: values['skip-large'] === true, cache: cached, bin, command: 'node packages/cli/bin/kairos.js server start-dev --headless --ip 127.0.0.1 --port <free> --db-filename <file>' },
    { versionMs, cases, ...(built ? { built } : {}) },
    [
      { label: 'cold start ms, empty database (p50)', value: cases[0]?.readyMs.p50 ?? Number.NaN, unit: 'ms' },
      ...(large ? [{ label: `cold start ms, ${large.database} (p50)`, value: large.readyMs.p50, unit: 'ms' }] : []),
    ],
  );
}

/** Brings the CLI bundle up to date before any run is timed; says which way the bin will start. */
function prepareBin(): string {
  const disabled = process.env['KAIROS_NO_BUNDLE'];
  if (disabled !== undefined && disabled !== '' && disabled !== '0') return 'TypeScript sources through tsx (KAIROS_NO_BUNDLE)';
  const script = path.join(REPO_ROOT, 'packages/cli/scripts/build-bundle.mjs');
  // A source saved within a second of the build is not recorded as built (it may have changed while
  // esbuild read it): build again until the bundle is recorded as up to date.
  for (let attempt = 1; ; attempt++) {
    const built = spawnSync(process.execPath, [script], { cwd: REPO_ROOT, encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`building the CLI bundle failed:\n${built.stdout}${built.stderr}`);
    process.stdout.write(`before timing: ${built.stdout}`);
    if (spawnSync(process.execPath, [script, '--check'], { cwd: REPO_ROOT }).status === 0) break;
    if (attempt === 3) throw new Error('the CLI bundle is still stale after 3 builds (are its sources being edited?)');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1_100);
  }
  return 'prebuilt bundle (brought up to date before timing)';
}

async function measureCase(database: string, runs: number, prepare: (run: number) => string): Promise<Case> {
  const starts: Start[] = [];
  let databaseMB = Number.NaN;
  for (let i = 0; i < runs; i++) {
    const file = prepare(i);
    starts.push(await timeStart(file));
    databaseMB = databaseSize(file).totalBytes / MB;
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
  }
  return {
    database,
    databaseMB,
    readyMs: distribution(starts.map((s) => s.readyMs)),
    bannerMs: distribution(starts.map((s) => s.bannerMs)),
    rssMB: distribution(starts.map((s) => s.rssMB)).p50,
  };
}

async function timeVersion(): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [KAIROS_BIN, '--version'], { cwd: REPO_ROOT, stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return performance.now() - t0;
}

/** One start: spawn, wait for the port, call GetSystemInfo, then stop the server (always). */
async function timeStart(dbFilename: string): Promise<Start> {
  const port = await findFreePort();
  const args = ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port), '--db-filename', dbFilename, '--log-level', 'warn'];
  const t0 = performance.now();
  const child = spawn(process.execPath, [KAIROS_BIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let bannerMs = Number.NaN;
  const onOutput = (chunk: Buffer): void => {
    if (Number.isNaN(bannerMs) && /Server:\s+\S+:\d+/.test((output += chunk.toString()))) bannerMs = performance.now() - t0;
    output = output.slice(-4_000);
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  const unregister = onInterrupt(stop);
  try {
    const deadline = t0 + DEADLINE_MS;
    while (!(await canConnect(port))) {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${output}`);
      if (performance.now() > deadline) throw new Error(`server not listening after ${DEADLINE_MS} ms:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const client = rawClient(`127.0.0.1:${port}`);
    try {
      await unaryCall(client, GET_SYSTEM_INFO, Buffer.alloc(0), DEADLINE_MS);
    } finally {
      client.close();
    }
    const readyMs = performance.now() - t0;
    return { readyMs, bannerMs, rssMB: processMemory(child.pid).rssBytes / MB };
  } finally {
    unregister();
    await stop();
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
