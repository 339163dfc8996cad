/**
 * limits: the machine's ceilings, measured in the same run as the scenarios they are compared with.
 *
 *   npm run bench -- limits [--seconds 3] [--batch 100] [--concurrency 64]
 *
 * - SQLite (better-sqlite3, WAL, synchronous=FULL, a file in a temp directory): commits/s with one
 *   ~200-byte insert per transaction (every commit waits for its fsync), and rows/s with `--batch`
 *   inserts per transaction (what group commit can reach). Per-commit latency p50/p99.
 * - gRPC: unary calls/s of an echo service (raw 100-byte messages, no protobuf) over loopback with
 *   @grpc/grpc-js, the server in its own process as the Kairos server is; once with one call in
 *   flight (latency) and once with `--concurrency` in flight (throughput).
 * A Kairos transition costs at least one commit share and an RPC costs at least one echo: the
 * scenarios' figures divided by these say how close the server gets to the hardware.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { BENCH_DIR, onInterrupt, positiveInteger, positiveNumber } from './harness.js';
import { ECHO_METHOD, rawClient, unaryCall } from './grpc-raw.js';
import { distribution, finish, printTable, type Distribution, type ScenarioResult } from './report.js';

const SCENARIO = 'limits';

export interface Limits {
  readonly sqliteCommitsPerSecond: number;
  readonly sqliteCommitMs: Distribution;
  readonly sqliteBatchedRowsPerSecond: number;
  readonly sqliteBatchedCommitsPerSecond: number;
  readonly grpcCallsPerSecond: number;
  readonly grpcSerialCallsPerSecond: number;
  readonly grpcCallMs: Distribution;
}

export async function run(args: string[]): Promise<ScenarioResult> {
  const { values } = parseArgs({
    args,
    options: { seconds: { type: 'string' }, batch: { type: 'string' }, concurrency: { type: 'string' } },
    strict: true,
  });
  const seconds = positiveNumber(values.seconds, 'seconds', 3);
  const batch = positiveInteger(values.batch, 'batch', 100);
  const concurrency = positiveInteger(values.concurrency, 'concurrency', 64);

  const sqlite = measureSqlite(seconds, batch);
  const grpc = await measureGrpc(seconds, concurrency);
  const limits: Limits = { ...sqlite, ...grpc };
  printTable([
    ['scenario', SCENARIO],
    ['SQLite commits/s (1 insert per fsync)', limits.sqliteCommitsPerSecond],
    ['SQLite commit p50 / p99 ms', `${limits.sqliteCommitMs.p50.toFixed(2)} / ${limits.sqliteCommitMs.p99.toFixed(2)}`],
    [`SQLite rows/s (${batch} per commit)`, limits.sqliteBatchedRowsPerSecond],
    [`SQLite commits/s (${batch} per commit)`, limits.sqliteBatchedCommitsPerSecond],
    [`gRPC echo calls/s (${concurrency} in flight)`, limits.grpcCallsPerSecond],
    ['gRPC echo calls/s (1 in flight)', limits.grpcSerialCallsPerSecond],
    ['gRPC echo p50 / p99 ms (1 in flight)', `${limits.grpcCallMs.p50.toFixed(3)} / ${limits.grpcCallMs.p99.toFixed(3)}`],
  ]);
  return finish(
    SCENARIO,
    args,
    { seconds, batch, concurrency, sqlite: 'better-sqlite3, WAL, synchronous=FULL, temp file, ~200-byte rows', grpc: '@grpc/grpc-js echo server in a child process, 127.0.0.1, 100-byte raw messages' },
    { ...limits },
    [
      { label: 'SQLite commits/s (fsync each)', value: limits.sqliteCommitsPerSecond, unit: '/s' },
      { label: `SQLite rows/s (${batch} per commit)`, value: limits.sqliteBatchedRowsPerSecond, unit: '/s' },
      { label: 'gRPC unary calls/s (loopback)', value: limits.grpcCallsPerSecond, unit: '/s' },
    ],
  );
}

/** Runs `step` for `seconds`, returning how many times it ran and each run's milliseconds. */
function timeLoop(seconds: number, step: () => void): { count: number; elapsedMs: number; samples: number[] } {
  const samples: number[] = [];
  const startedAt = performance.now();
  const until = startedAt + seconds * 1000;
  let now = startedAt;
  while (now < until) {
    step();
    const after = performance.now();
    samples.push(after - now);
    now = after;
  }
  return { count: samples.length, elapsedMs: now - startedAt, samples };
}

function measureSqlite(seconds: number, batch: number): Pick<Limits, 'sqliteCommitsPerSecond' | 'sqliteCommitMs' | 'sqliteBatchedRowsPerSecond' | 'sqliteBatchedCommitsPerSecond'> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kairos-bench-limits-'));
  const db = new Database(path.join(dir, 'limits.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    // The driver's build defaults WAL to NORMAL (no fsync per commit): make sure FULL took.
    const synchronous: unknown = db.pragma('synchronous', { simple: true });
    if (synchronous !== 2) throw new Error(`synchronous is ${String(synchronous)}, expected 2 (FULL)`);
    db.exec('CREATE TABLE rows (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)');
    const insert = db.prepare('INSERT INTO rows (payload) VALUES (?)');
    const payload = randomBytes(200);
    const single = db.transaction(() => insert.run(payload));
    const many = db.transaction(() => {
      for (let i = 0; i < batch; i++) insert.run(payload);
    });
    timeLoop(0.2, () => single()); // warm the file and the page cache
    const one = timeLoop(seconds, () => single());
    const batched = timeLoop(seconds, () => many());
    return {
      sqliteCommitsPerSecond: one.count / (one.elapsedMs / 1000),
      sqliteCommitMs: distribution(one.samples),
      sqliteBatchedCommitsPerSecond: batched.count / (batched.elapsedMs / 1000),
      sqliteBatchedRowsPerSecond: (batched.count * batch) / (batched.elapsedMs / 1000),
    };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measureGrpc(seconds: number, concurrency: number): Promise<Pick<Limits, 'grpcCallsPerSecond' | 'grpcSerialCallsPerSecond' | 'grpcCallMs'>> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(BENCH_DIR, 'echo-server.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const stopChild = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  const unregister = onInterrupt(stopChild);
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        const match = /^port (\d+)$/.exec(line);
        if (match) resolve(Number(match[1]));
      });
      child.once('exit', (code) => reject(new Error(`echo server exited (code ${String(code)}) before listening`)));
    });
    const client = rawClient(`127.0.0.1:${port}`);
    try {
      const message = randomBytes(100);
      const call = (): Promise<Buffer> => unaryCall(client, ECHO_METHOD, message);
      for (let i = 0; i < 500; i++) await call(); // connection set-up and JIT warm-up
      const samples: number[] = [];
      let until = performance.now() + seconds * 1000;
      let startedAt = performance.now();
      while (performance.now() < until) {
        const t0 = performance.now();
        await call();
        samples.push(performance.now() - t0);
      }
      const serialSeconds = (performance.now() - startedAt) / 1000;
      let calls = 0;
      startedAt = performance.now();
      until = startedAt + seconds * 1000;
      const lane = async (): Promise<void> => {
        while (performance.now() < until) {
          await call();
          calls++;
        }
      };
      await Promise.all(Array.from({ length: concurrency }, lane));
      const parallelSeconds = (performance.now() - startedAt) / 1000;
      return { grpcSerialCallsPerSecond: samples.length / serialSeconds, grpcCallMs: distribution(samples), grpcCallsPerSecond: calls / parallelSeconds };
    } finally {
      client.close();
    }
  } finally {
    unregister();
    await stopChild();
  }
}
