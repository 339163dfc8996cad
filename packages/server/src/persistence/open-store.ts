// Chooses and opens the store backend for a server process. SQLite (an embedded file) is the default;
// a database URL selects PostgreSQL. Other backends plug in here so that server.ts stays backend-agnostic.
import { describeUrl } from './postgres/connection.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import { ThreadedSqliteStore } from './sqlite/threaded-store.js';
import type { Store } from './store.js';

export interface StoreOptions {
  /** Path of the SQLite database file, or ':memory:'. Ignored when `databaseUrl` is set. */
  readonly dbFilename: string;
  /**
   * A PostgreSQL URL (postgres://user:password@host:port/database, or postgresql://...?host=/socket/dir):
   * when set, the store is PostgreSQL (schema created and migrated at open, synchronous_commit=on checked).
   */
  readonly databaseUrl?: string | undefined;
  /** PostgreSQL: end sessions idle inside a transaction this long (a cluster node's lease time). */
  readonly idleInTransactionTimeoutMs?: number | undefined;
  /** SQLite: the connection on a thread of its own (sqlite/threaded-store.ts). */
  readonly sqliteThread?: boolean | undefined;
}

export async function openStore(options: StoreOptions): Promise<Store> {
  if (options.databaseUrl) {
    const idle = options.idleInTransactionTimeoutMs;
    return PostgresStore.open({ url: options.databaseUrl, ...(idle !== undefined ? { idleInTransactionTimeoutMs: idle } : {}) });
  }
  if (options.sqliteThread === true) return ThreadedSqliteStore.open({ filename: options.dbFilename });
  return Promise.resolve(SqliteStore.open({ filename: options.dbFilename }));
}

/** Where the store keeps its data, for banners and logs: the file, or the database without its password. */
export function describeStoreLocation(options: StoreOptions): string {
  return options.databaseUrl ? `PostgreSQL database ${describeUrl(options.databaseUrl)}` : options.dbFilename;
}
