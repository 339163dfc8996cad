// Opening the connection pool of the PostgreSQL backend, and checking it is what Kairos relies on.
//
// Every connection of the pool asks for `synchronous_commit=on` in its startup packet, which outranks
// postgresql.conf and ALTER DATABASE/ROLE settings: a COMMIT returns only once its WAL is flushed, so
// nothing acknowledged is lost if the database server crashes. Open then reads the settings back
// (a URL may carry its own `options`, which replace ours) and refuses a session that would not be
// durable, and a server running with fsync=off.

import pg from 'pg';
import { DurabilityError, PersistenceError } from '../errors.js';
import { migrate, withMigrationLock } from './migrations.js';

export interface PostgresConnectionOptions {
  /** postgres://user:password@host:port/database?... (libpq-style parameters as node-postgres reads them). */
  readonly url: string;
  /** The schema holding Kairos' tables, created when missing; the URL's default search_path when unset. */
  readonly schema?: string;
  /** Most connections open at once. */
  readonly poolSize?: number;
  /**
   * PostgreSQL ends a session that sits idle inside a transaction this long (cluster nodes: a paused
   * process must not keep its shard rows locked against the node taking them over).
   */
  readonly idleInTransactionTimeoutMs?: number;
}

/** synchronous_commit values that wait for the local WAL flush (and for standbys, when configured). */
const DURABLE_SYNCHRONOUS_COMMIT = new Set(['on', 'remote_write', 'remote_apply']);
/** Generated columns (12); jsonb casts to float8/boolean (11). */
const MINIMUM_SERVER_VERSION = 120000;
export const DEFAULT_POOL_SIZE = 10;
const CONNECTION_TIMEOUT_MS = 30_000;
const INT8_OID = 20;
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** bigint columns (times, versions, counts) as JS numbers: all of them stay below 2^53. */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? Number : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/** The database a URL points at, for messages: host and database, never the password. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url.replace('@/', '@localhost/'));
    const host = parsed.searchParams.get('host') ?? parsed.host;
    return `${parsed.pathname.slice(1) || '(default database)'} on ${host}`;
  } catch {
    return 'the configured PostgreSQL database';
  }
}

/** Opens the pool, checks durability, creates the schema if needed and migrates it. */
export async function openPool(options: PostgresConnectionOptions): Promise<pg.Pool> {
  const label = describeUrl(options.url);
  const schema = options.schema;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new PersistenceError(`schema name ${JSON.stringify(schema)} is not allowed: use lower-case letters, digits and _`);
  }
  const startup = ['-c synchronous_commit=on', ...(schema === undefined ? [] : [`-c search_path=${schema}`])];
  const idleLimit = options.idleInTransactionTimeoutMs;
  if (idleLimit !== undefined) startup.push(`-c idle_in_transaction_session_timeout=${Math.max(1, Math.round(idleLimit))}`);
  const pool = new pg.Pool({
    connectionString: options.url,
    options: startup.join(' '),
    max: options.poolSize ?? DEFAULT_POOL_SIZE,
    // Bounds both opening a connection and waiting for a free one: a database that cannot be reached
    // fails the operation (and the RPC) instead of hanging it.
    connectionTimeoutMillis: CONNECTION_TIMEOUT_MS,
    keepAlive: true,
    application_name: 'kairos',
    types,
  });
  // An idle connection that the server closes (restart, admin kill) is dropped from the pool; without
  // a listener its error would crash the process. The next query opens a new connection.
  pool.on('error', () => undefined);
  try {
    const client = await checkout(pool);
    try {
      await assertDurableSettings(client, label);
      // Under the migration lock: concurrent CREATE SCHEMA IF NOT EXISTS can still collide.
      await withMigrationLock(client, async () => {
        if (schema === undefined) return;
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
        const current = await client.query<{ schema: string | null }>('SELECT current_schema() AS schema');
        if (current.rows[0]?.schema !== schema) {
          throw new PersistenceError(`${label}: search_path is not ${schema} (does the URL set options=-c search_path=...?)`);
        }
      });
      await migrate(client, label);
    } finally {
      client.release();
    }
    return pool;
  } catch (error) {
    await pool.end().catch(() => undefined);
    if (error instanceof PersistenceError) throw error;
    throw new PersistenceError(`cannot open PostgreSQL database ${label}: ${errorMessage(error)}`, { cause: error });
  }
}

const guarded = new WeakSet<pg.PoolClient>();

/**
 * A client of the pool for a multi-statement unit of work. The pool listens for errors of idle clients
 * only; a checked-out client whose connection drops between two queries would otherwise raise an
 * uncaught exception. (The next query on it fails, and that failure is what callers handle.)
 */
export async function checkout(pool: pg.Pool): Promise<pg.PoolClient> {
  const client = await pool.connect();
  if (!guarded.has(client)) {
    guarded.add(client);
    client.on('error', () => undefined);
  }
  return client;
}

/** Throws DurabilityError unless the session commits durably on a server that fsyncs. */
export async function assertDurableSettings(client: pg.ClientBase, label: string): Promise<void> {
  const result = await client.query<{ synchronous_commit: string; fsync: string; version: string }>(
    `SELECT current_setting('synchronous_commit') AS synchronous_commit, current_setting('fsync') AS fsync,
       current_setting('server_version_num') AS version`,
  );
  const settings = result.rows[0];
  if (settings === undefined) throw new PersistenceError(`${label}: could not read the server settings`);
  if (Number(settings.version) < MINIMUM_SERVER_VERSION) {
    throw new PersistenceError(`${label}: PostgreSQL ${settings.version} is too old, Kairos needs 12 or newer`);
  }
  if (!DURABLE_SYNCHRONOUS_COMMIT.has(settings.synchronous_commit)) {
    throw new DurabilityError(
      `PostgreSQL synchronous_commit is ${settings.synchronous_commit} on ${label}, Kairos requires on ` +
        '(or remote_write/remote_apply): anything less can lose acknowledged commits when the database server crashes',
    );
  }
  if (settings.fsync !== 'on') {
    throw new DurabilityError(`PostgreSQL fsync is ${settings.fsync} on ${label}: a crash of that server can lose or corrupt committed data`);
  }
}

/**
 * Whether an error thrown while applying one transition inside a batch belongs to that transition alone
 * (its savepoint is rolled back, the batch goes on) rather than to the connection or the server (the
 * whole batch is rolled back and fails). Ours (PersistenceError, e.g. a lost version race) and bad input
 * are the write's: SQLSTATE class 22 (data exception: a value out of range, text PostgreSQL cannot store
 * such as NUL), 23 (integrity constraint) and 54000 (a row too large to index), and serialization errors
 * thrown before anything is sent. Anything else (connection lost, deadlock, server shutting down, disk
 * full, ...) fails the batch.
 */
export function isWriteLocalError(error: unknown): error is Error {
  if (error instanceof PersistenceError) return true;
  if (error instanceof pg.DatabaseError) {
    const code = error.code ?? '';
    return code.startsWith('22') || code.startsWith('23') || code === '54000';
  }
  return error instanceof TypeError || error instanceof RangeError;
}

/** A driver error as a PersistenceError (kept as its cause), for callers that expect our types. */
export function persistenceError(error: unknown, what: string): Error {
  if (error instanceof PersistenceError) return error;
  return new PersistenceError(`${what}: ${errorMessage(error)}`, { cause: error });
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
