/**
 * Starts a Kairos dev server as a child process for end-to-end tests.
 *
 * Every test file starts its own server on a free port with its own SQLite file under the system temp
 * directory, and stops it (deleting the file) in `afterAll`. `kill` + `restart` let a test crash the
 * server and bring it back on the same port and database file.
 *
 * Set `KAIROS_E2E_SERVER_BIN=temporal` (or any path to a `temporal` CLI binary) to run the same suite
 * against the real Temporal dev server; both print a `... Server:  host:port` banner once they listen.
 *
 * Set `KAIROS_TEST_DB=postgres` to run it on PostgreSQL: each server then gets a fresh database
 * (`--database-url`) on a PostgreSQL that this test file starts once and stops after its last server
 * (persistence/postgres/test-postgres.ts: `KAIROS_TEST_DATABASE_URL`/`DATABASE_URL`, else the machine's
 * PostgreSQL binaries). A test that passes its own `dbFilename` keeps SQLite.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestPostgres, type TestPostgres } from '@kairos/server/test-postgres';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const KAIROS_BIN = path.join(REPO_ROOT, 'packages/cli/bin/kairos.js');

const BANNER = /Server:\s+(\S+:\d+)/;
const STARTUP_DEADLINE_MS = 45_000;
const STOP_DEADLINE_MS = 15_000;
const OUTPUT_TAIL_CHARS = 8_000;

export interface StartKairosOptions {
  /** Use this database file instead of a fresh one in a temp directory (the caller owns the file). */
  dbFilename?: string;
  /** Passed as `--log-level`; defaults to `warn`. */
  logLevel?: string;
  /** More `server start-dev` flags, e.g. `['--search-attribute', 'Stage=Keyword']`. */
  extraArgs?: readonly string[];
}

export interface KairosServer {
  /** `host:port` to give to `Connection.connect` / `NativeConnection.connect`. */
  readonly address: string;
  readonly port: number;
  /** The SQLite file, or (KAIROS_TEST_DB=postgres) the URL of the server's PostgreSQL database. */
  readonly dbFilename: string;
  /** The pid of the current server process (changes on restart). */
  readonly pid: number | undefined;
  /** Sends `signal` to the server and waits until the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port and database file (stopping it first if it runs). */
  restart(): Promise<void>;
  /** Stops the server (SIGTERM, then SIGKILL past a deadline) and deletes the temporary database. */
  stop(): Promise<void>;
  /** The last few kilobytes of the server's stdout and stderr, for failure messages. */
  output(): string;
}

/** Children still alive when the test process exits are killed, so a crashed test leaves no server behind. */
const liveChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      if (address === null || typeof address === 'string') {
        probe.close();
        reject(new Error('could not determine a free port'));
        return;
      }
      const { port } = address;
      probe.close(() => resolve(port));
    });
  });
}

/** Where a server keeps its state: a SQLite file, or a PostgreSQL database. */
type Database = { readonly kind: 'sqlite'; readonly filename: string } | { readonly kind: 'postgres'; readonly url: string };

function databaseArgs(database: Database): string[] {
  return database.kind === 'sqlite' ? ['--db-filename', database.filename] : ['--database-url', database.url];
}

/** Which backend servers use unless a test names a file: KAIROS_TEST_DB=postgres or sqlite (the default). */
export function defaultBackend(): Database['kind'] {
  const chosen = process.env['KAIROS_TEST_DB'] ?? 'sqlite';
  if (chosen !== 'sqlite' && chosen !== 'postgres') throw new Error(`KAIROS_TEST_DB=${chosen}: expected sqlite or postgres`);
  return chosen;
}

/**
 * The PostgreSQL of this test file, started on first use and stopped when the last server using it
 * stops (a crashed test file's PostgreSQL stops by itself: see test-postgres.ts).
 */
let sharedPostgres: { server: Promise<TestPostgres>; users: number } | undefined;

function acquirePostgres(): Promise<TestPostgres> {
  sharedPostgres ??= { server: startTestPostgres(), users: 0 };
  sharedPostgres.users++;
  return sharedPostgres.server;
}

async function releasePostgres(): Promise<void> {
  const shared = sharedPostgres;
  if (shared === undefined || --shared.users > 0) return;
  sharedPostgres = undefined;
  await (await shared.server).stop();
}

function serverCommand(port: number, database: Database, logLevel: string, extraArgs: readonly string[]): { command: string; args: string[] } {
  const serverArgs = [
    'server',
    'start-dev',
    '--port',
    String(port),
    '--ip',
    '127.0.0.1',
    '--headless',
    ...databaseArgs(database),
    '--log-level',
    logLevel,
    ...extraArgs,
  ];
  const alternative = process.env['KAIROS_E2E_SERVER_BIN'];
  if (alternative !== undefined && alternative !== '') return { command: alternative, args: serverArgs };
  return { command: process.execPath, args: [KAIROS_BIN, ...serverArgs] };
}

class OutputTail {
  private text = '';
  append(chunk: string): void {
    this.text = (this.text + chunk).slice(-OUTPUT_TAIL_CHARS);
  }
  toString(): string {
    return this.text;
  }
}

interface RunningProcess {
  child: ChildProcess;
  exited: Promise<void>;
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Spawns the server and resolves once it printed its banner. Rejects (and kills the child) if the
 * process exits first or the deadline passes, quoting the server's output.
 */
async function spawnServer(
  port: number,
  database: Database,
  logLevel: string,
  stdout: OutputTail,
  stderr: OutputTail,
  extraArgs: readonly string[] = [],
): Promise<RunningProcess> {
  const { command, args } = serverCommand(port, database, logLevel, extraArgs);
  const child = spawn(command, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  liveChildren.add(child);
  const exited = waitForExit(child).then(() => {
    liveChildren.delete(child);
  });
  child.stderr?.setEncoding('utf8');
  child.stdout?.setEncoding('utf8');

  const describe = (why: string): Error =>
    new Error(`${why}\ncommand: ${command} ${args.join(' ')}\n--- server stderr ---\n${stderr.toString()}\n--- server stdout ---\n${stdout.toString()}`);
  await waitForBanner(child, BANNER, STARTUP_DEADLINE_MS, (stream, chunk) => (stream === 'stdout' ? stdout : stderr).append(chunk), describe);
  return { child, exited };
}

/**
 * Resolves once `child` prints a line matching `banner` (on stdout or stderr: other dev servers log it to
 * stderr). Every chunk of output is handed to `record`, before and after. Rejects (and SIGKILLs the child)
 * when it exits or cannot be spawned first, or after `deadlineMs`, with `describe(why)`.
 */
export function waitForBanner(
  child: ChildProcess,
  banner: RegExp,
  deadlineMs: number,
  record: (stream: 'stdout' | 'stderr', chunk: string) => void,
  describe: (why: string) => Error,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('error', onError);
      if (error === undefined) resolve();
      else {
        child.kill('SIGKILL');
        reject(error);
      }
    };
    const timer = setTimeout(() => finish(describe(`no banner within ${deadlineMs} ms`)), deadlineMs);
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      finish(describe(`exited before it was ready (code ${String(code)}, signal ${String(signal)})`));
    const onError = (error: Error): void => finish(describe(`could not spawn: ${error.message}`));
    child.once('exit', onExit);
    child.once('error', onError);
    const watch = (stream: 'stdout' | 'stderr') => {
      let pending = '';
      return (chunk: string): void => {
        record(stream, chunk);
        if (settled) return;
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        if (lines.some((line) => banner.test(line))) finish();
      };
    };
    child.stdout?.on('data', watch('stdout'));
    child.stderr?.on('data', watch('stderr'));
  });
}

export async function startKairos(options: StartKairosOptions = {}): Promise<KairosServer> {
  let tempDir: string | undefined;
  let database: Database;
  let usesPostgres = false;
  if (options.dbFilename !== undefined) {
    database = { kind: 'sqlite', filename: options.dbFilename };
  } else if (defaultBackend() === 'postgres') {
    usesPostgres = true;
    try {
      database = { kind: 'postgres', url: await (await acquirePostgres()).createDatabase('kairos_e2e') };
    } catch (error) {
      await releasePostgres();
      throw error;
    }
  } else {
    tempDir = mkdtempSync(path.join(os.tmpdir(), 'kairos-e2e-'));
    database = { kind: 'sqlite', filename: path.join(tempDir, 'kairos.db') };
  }
  const cleanUp = async (): Promise<void> => {
    if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
    if (usesPostgres) {
      usesPostgres = false;
      await releasePostgres();
    }
  };
  const logLevel = options.logLevel ?? 'warn';
  const stdout = new OutputTail();
  const stderr = new OutputTail();

  // A free port can be taken by someone else between probing and binding; try a few.
  let port = 0;
  let running: RunningProcess | undefined;
  let lastError: unknown;
  for (let attempt = 0; attempt < 3 && running === undefined; attempt++) {
    port = await findFreePort();
    try {
      running = await spawnServer(port, database, logLevel, stdout, stderr, options.extraArgs);
    } catch (error) {
      lastError = error;
      if (!/EADDRINUSE|address already in use/i.test(stderr.toString())) break;
    }
  }
  if (running === undefined) {
    await cleanUp();
    throw lastError;
  }

  let current: RunningProcess | undefined = running;

  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    const proc = current;
    if (proc === undefined) return;
    proc.child.kill(signal);
    await proc.exited;
    current = undefined;
  };

  const terminate = async (): Promise<void> => {
    const proc = current;
    if (proc === undefined) return;
    proc.child.kill('SIGTERM');
    const timer = setTimeout(() => proc.child.kill('SIGKILL'), STOP_DEADLINE_MS);
    await proc.exited;
    clearTimeout(timer);
    current = undefined;
  };

  return {
    address: `127.0.0.1:${port}`,
    port,
    dbFilename: database.kind === 'sqlite' ? database.filename : database.url,
    get pid() {
      return current?.child.pid;
    },
    kill,
    async restart() {
      await terminate();
      current = await spawnServer(port, database, logLevel, stdout, stderr, options.extraArgs);
    },
    async stop() {
      await terminate();
      await cleanUp();
    },
    output() {
      return `--- server stderr ---\n${stderr.toString()}\n--- server stdout ---\n${stdout.toString()}`;
    },
  };
}
