// Chooses and opens the store backend for a server process. SQLite (an embedded file) is the default;
// other backends plug in here so that server.ts stays backend-agnostic.
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

export interface StoreOptions {
  /** Path of the SQLite database file, or ':memory:'. */
  readonly dbFilename: string;
}

export async function openStore(options: StoreOptions): Promise<Store> {
  return Promise.resolve(SqliteStore.open({ filename: options.dbFilename }));
}
