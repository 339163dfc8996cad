// A real PostgreSQL for tests, started by the tests themselves (store tests, end-to-end suite).
//
// Where the server comes from, in order:
// 1. `KAIROS_TEST_DATABASE_URL` or `DATABASE_URL`: an existing server. Each `createDatabase` makes a
//    throwaway database there (the role needs CREATEDB) and `stop` drops them.
// 2. The machine's PostgreSQL binaries (`KAIROS_TEST_POSTGRES_BIN`, else Debian's
//    /usr/lib/postgresql/<newest>/bin, else `initdb` on PATH): a new cluster in a temporary directory,
//    listening only on a Unix socket in that directory (no TCP port, so parallel test files never
//    collide), removed on `stop`.
// initdb and postgres refuse to run as root; as root they run as the `postgres` OS user (created by
// Debian's postgresql packages; `.ci/run` installs them when missing).
//
// The server process is watched by a small shell that stops it (immediate shutdown) when its stdin closes,
// so a test runner killed without running its teardown does not leave a PostgreSQL behind.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface TestPostgres {
  /** How the server was obtained: 'url' (given), 'binaries' (started here). */
  readonly source: 'url' | 'binaries';
  /** URL of a maintenance database of that server (do not create tables in it). */
  readonly adminUrl: string;
  /** Creates an empty database and returns its URL; dropped (or removed with the cluster) by `stop`. */
  createDatabase(prefix?: string): Promise<string>;
  /** Stops the server started here (or drops the databases made on a given one); idempotent. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;
/** Any number works: the socket file is named after it, inside our own directory. */
const SOCKET_PORT = 5432;
const SUPERUSER = 'kairos';
const RUN_AS = 'postgres';

/** Starts (or connects to) a PostgreSQL as described above. */
export async function startTestPostgres(): Promise<TestPostgres> {
  const given = process.env.KAIROS_TEST_DATABASE_URL || process.env.DATABASE_URL;
  if (given) return withDatabases('url', given, () => Promise.resolve());
  const bin = findBinaries();
  if (bin === undefined) {
    throw new Error(
      'no PostgreSQL for the tests: set KAIROS_TEST_DATABASE_URL (or DATABASE_URL), or install PostgreSQL ' +
        '(Debian: apt-get install postgresql; or point KAIROS_TEST_POSTGRES_BIN at a bin directory with initdb and postgres)',
    );
  }
  const cluster = await startCluster(bin);
  return withDatabases('binaries', cluster.adminUrl, cluster.stop);
}

/** The URL of database `name` on the server of `url` (same host, port, user and parameters). */
export function databaseUrl(url: string, name: string): string {
  const parsed = new URL(url.replace('@/', '@localhost/'));
  parsed.pathname = `/${name}`;
  return url.includes('@/') ? parsed.toString().replace('@localhost/', '@/') : parsed.toString();
}

function withDatabases(source: TestPostgres['source'], adminUrl: string, stopServer: () => Promise<void>): TestPostgres {
  const created: string[] = [];
  let stopped: Promise<void> | undefined;
  const admin = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  return {
    source,
    adminUrl,
    async createDatabase(prefix = 'kairos_test') {
      const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${created.length}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
      // template0 with an explicit encoding and the C collation: byte-wise text order whatever the
      // server's default locale is.
      await admin((client) => client.query(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`));
      created.push(name);
      return databaseUrl(adminUrl, name);
    },
    stop() {
      stopped ??= (async () => {
        if (source === 'url' && created.length > 0) {
          await admin(async (client) => {
            for (const name of created) await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
          });
        }
        await stopServer();
      })();
      return stopped;
    },
  };
}

/** A directory holding initdb and postgres, or undefined. */
function findBinaries(): string | undefined {
  const has = (dir: string): boolean => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'));
  const configured = process.env.KAIROS_TEST_POSTGRES_BIN;
  if (configured) {
    if (!has(configured)) throw new Error(`KAIROS_TEST_POSTGRES_BIN=${configured} has no initdb and postgres`);
    return configured;
  }
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const version of versions) if (has(join(debian, version, 'bin'))) return join(debian, version, 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  const initdb = which.status === 0 ? which.stdout.trim() : '';
  return initdb ? initdb.slice(0, -'/initdb'.length) : undefined;
}

interface Cluster {
  readonly adminUrl: string;
  stop(): Promise<void>;
}

async function startCluster(bin: string): Promise<Cluster> {
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'kairos-pg-'));
  const data = join(dir, 'data');
  mkdirSync(data, { mode: 0o700 });
  let ownerIds: { uid: number; gid: number } | undefined;
  if (asRoot) {
    ownerIds = osUser(RUN_AS);
    chownSync(dir, ownerIds.uid, ownerIds.gid);
    chownSync(data, ownerIds.uid, ownerIds.gid);
  }
  const command = (argv: readonly string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', RUN_AS, '--', ...argv]] : [argv[0] ?? '', argv.slice(1)];

  const [initCmd, initArgs] = command([
    join(bin, 'initdb'), '-D', data, '-U', SUPERUSER, '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync',
  ]);
  const init = spawnSync(initCmd, initArgs, { encoding: 'utf8' });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status ?? init.signal}): ${init.stderr || init.stdout || String(init.error)}`);
  }

  // fsync and synchronous_commit stay at their durable defaults: the store refuses anything less.
  const serverArgs = [
    '-D', data, '-k', dir, '-p', String(SOCKET_PORT), '-c', "listen_addresses=", '-c', 'max_connections=200',
    '-c', 'shared_buffers=32MB', '-c', 'log_min_messages=warning',
  ];
  const watcher = `"$0" "$@" & pid=$!; read -r _; kill -QUIT "$pid"; wait "$pid"`;
  const [cmd, args] = command(['sh', '-c', watcher, join(bin, 'postgres'), ...serverArgs]);
  const child = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-8_000);
  });
  const adminUrl = `postgresql://${SUPERUSER}@/postgres?host=${encodeURIComponent(dir)}&port=${SOCKET_PORT}`;
  const stop = async (): Promise<void> => {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(adminUrl, child, () => log);
  } catch (error) {
    await stop();
    throw error;
  }
  return { adminUrl, stop };
}

function osUser(name: string): { uid: number; gid: number } {
  const id = (flag: string): number => {
    const result = spawnSync('id', [flag, name], { encoding: 'utf8' });
    if (result.status !== 0) {
      throw new Error(`running as root, PostgreSQL must run as the OS user '${name}', which does not exist (apt-get install postgresql creates it)`);
    }
    return Number(result.stdout.trim());
  };
  return { uid: id('-u'), gid: id('-g') };
}

async function waitUntilReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`postgres exited (${child.exitCode ?? child.signalCode}) while starting: ${log()}`);
    }
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections within ${START_TIMEOUT_MS} ms: ${log()}`, { cause: error });
    } finally {
      await client.end().catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Closes the watcher's stdin (immediate shutdown: the cluster is thrown away) and waits for it; SIGKILL after a deadline. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
