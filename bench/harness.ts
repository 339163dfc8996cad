/**
 * What the scenarios share: option parsing, the SDK runtime, a Kairos server in its own process (so its
 * RSS is its own), the official worker, bounded-concurrency loops, and clean-up that also runs when a
 * run fails or is interrupted.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import {
  bundleWorkflowCode,
  DefaultLogger,
  makeTelemetryFilterString,
  NativeConnection,
  Runtime,
  Worker,
  type InjectedSinks,
  type WorkerOptions,
} from '@temporalio/worker';
import type { Timestamp } from '@temporalio/common';
import { startKairos, type KairosServer, type StartKairosOptions } from '../test/e2e/helpers/server.js';
import * as activities from './activities.js';
import type { BenchSinks } from './workflows.js';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const WORKFLOWS_PATH = path.join(BENCH_DIR, 'workflows.ts');

export function positiveInteger(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new Error(`--${flag} must be a positive integer, got ${value}`);
  return parsed;
}

export function positiveNumber(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`--${flag} must be a positive number, got ${value}`);
  return parsed;
}

export function nonNegativeNumber(value: string, flag: string): number {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed) || parsed < 0) throw new Error(`--${flag} must be a number of zero or more, got ${value}`);
  return parsed;
}

export function integerList(value: string, flag: string): number[] {
  return value.split(',').map((part) => positiveInteger(part.trim(), flag, 0));
}

// ---- clean-up ------------------------------------------------------------------------------------

const cleanups = new Set<() => Promise<void>>();

/** Registers `fn` to run on SIGINT/SIGTERM (see run.ts); returns a function that unregisters it. */
export function onInterrupt(fn: () => Promise<void>): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

export async function runInterruptCleanups(): Promise<void> {
  for (const fn of [...cleanups].reverse()) await fn().catch(() => undefined);
  cleanups.clear();
}

// ---- server --------------------------------------------------------------------------------------

export interface BenchServer {
  readonly address: string;
  /** The server process (undefined for `--address`: then there is no RSS or database to read). */
  readonly kairos: KairosServer | undefined;
  stop(): Promise<void>;
}

/**
 * `kairos server start-dev --headless --db-filename <temp>` in a child process, with the namespace
 * rate limit lifted, or the server at `address` when given. Stopping kills the process and deletes the temp directory.
 */
export async function startBenchServer(address?: string, options: StartKairosOptions = {}): Promise<BenchServer> {
  if (address !== undefined) return { address, kairos: undefined, stop: async () => undefined };
  // Temporal's default namespace limit (frontend.namespaceRPS, 2,400 calls/s) would cap single-activity
  // near 480 workflows/s (five counted calls each); a benchmark of the server's speed lifts it.
  const kairos = await startKairos({ ...options, extraArgs: ['--dynamic-config-value', 'frontend.namespaceRPS=1000000', ...(options.extraArgs ?? [])] });
  const unregister = onInterrupt(() => kairos.stop());
  return {
    address: kairos.address,
    kairos,
    async stop() {
      unregister();
      await kairos.stop();
    },
  };
}

export interface ProcessMemory {
  readonly rssBytes: number;
  /** Peak RSS of the process so far (VmHWM). */
  readonly peakRssBytes: number;
}

/** Reads VmRSS/VmHWM from /proc/<pid>/status (Linux); NaN where it cannot. */
export function processMemory(pid: number | undefined): ProcessMemory {
  if (pid === undefined) return { rssBytes: Number.NaN, peakRssBytes: Number.NaN };
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
    return { rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM') };
  } catch {
    return { rssBytes: Number.NaN, peakRssBytes: Number.NaN };
  }
}

/** User + system CPU seconds a process has used so far (Linux /proc/<pid>/stat; NaN where it cannot). */
export function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticksPerSecond = 100; // USER_HZ, 100 on every Linux that Node supports
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return Number.NaN;
  }
}

export interface DatabaseSize {
  readonly fileBytes: number;
  readonly walBytes: number;
  /** File + WAL: the WAL holds committed pages not yet checkpointed into the file. */
  readonly totalBytes: number;
}

/** The size on disk of a SQLite database (NaN when there is no file, e.g. `--address`). */
export function databaseSize(dbFilename: string | undefined): DatabaseSize {
  const size = (file: string): number => (existsSync(file) ? statSync(file).size : 0);
  if (dbFilename === undefined || !existsSync(dbFilename)) return { fileBytes: Number.NaN, walBytes: Number.NaN, totalBytes: Number.NaN };
  const fileBytes = size(dbFilename);
  const walBytes = size(`${dbFilename}-wal`);
  return { fileBytes, walBytes, totalBytes: fileBytes + walBytes };
}

export const MB = 1024 * 1024;

// ---- SDK -----------------------------------------------------------------------------------------

let runtimeInstalled = false;

/** The SDK runtime can be installed once per process; `bench all` runs several scenarios in one. */
export function installRuntime(): void {
  if (runtimeInstalled) return;
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
  });
  runtimeInstalled = true;
}

let bundle: Promise<string> | undefined;

function workflowBundle(): Promise<string> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') }).then((b) => b.code);
  return bundle;
}

/** The sink callbacks of the bench workflows, each with the workflow id that called it. */
export type SinkHandlers = { [K in keyof BenchSinks['bench']]?: (workflowId: string, ...args: Parameters<BenchSinks['bench'][K]>) => void };

export interface BenchClient {
  readonly client: Client;
  /** A client on the worker's NativeConnection: the one that can start eagerly (requestEagerStart). */
  readonly nativeClient: Client;
  readonly worker: Worker;
  readonly taskQueue: string;
  close(): Promise<void>;
}

/**
 * A client and an official worker (default options unless `workerOptions` says otherwise) on a task
 * queue of its own, with the bench activities and workflows. Run the load inside `worker.runUntil`.
 */
export async function connectBench(
  address: string,
  taskQueue: string,
  handlers: SinkHandlers = {},
  workerOptions: Partial<WorkerOptions> = {},
): Promise<BenchClient> {
  installRuntime();
  const code = await workflowBundle();
  const connection = await Connection.connect({ address });
  let nativeConnection: NativeConnection | undefined;
  try {
    nativeConnection = await NativeConnection.connect({ address });
    const sinks: InjectedSinks<BenchSinks> = {
      bench: {
        parked: { fn: (info) => handlers.parked?.(info.workflowId) },
        resumed: { fn: (info) => handlers.resumed?.(info.workflowId) },
      },
    };
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue,
      workflowBundle: { code },
      activities,
      sinks,
      ...workerOptions,
    });
    const native = nativeConnection;
    return {
      client: new Client({ connection }),
      nativeClient: new Client({ connection: native }),
      worker,
      taskQueue,
      async close() {
        await connection.close();
        await native.close();
      },
    };
  } catch (error) {
    await connection.close();
    await nativeConnection?.close();
    throw error;
  }
}

// ---- load ----------------------------------------------------------------------------------------

/** Runs `task(0..count-1)` with at most `concurrency` in flight; resolves to the failures. */
export async function forEachConcurrently(count: number, concurrency: number, task: (index: number) => Promise<void>): Promise<number> {
  let next = 0;
  let failures = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      try {
        await task(index);
      } catch (error) {
        failures++;
        // The SDK's errors say "Failed to ..."; the server's reason is in `cause`.
        const cause = error instanceof Error && error.cause !== undefined ? ` (${String(error.cause)})` : '';
        if (failures <= 3) process.stderr.write(`task ${index} failed: ${String(error)}${cause}\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return failures;
}

/** Resolves once `done()` holds, checking every `everyMs`; rejects past `timeoutMs` with `what`. */
export async function waitFor(done: () => boolean, timeoutMs: number, what: string, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Milliseconds since the epoch of a history event's time. */
export function timestampMs(ts: Timestamp | null | undefined): number {
  if (ts === null || ts === undefined) return Number.NaN;
  return Number(ts.seconds ?? 0) * 1000 + (ts.nanos ?? 0) / 1e6;
}
