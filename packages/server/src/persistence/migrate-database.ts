// `kairos server migrate`: brings a database's schema up to this build's version without starting a
// server, and reports what it did. (Servers also migrate when they open a database, under the same
// lock; running this first lets an operator upgrade the schema as a separate, observable step.)
import pg from 'pg';
import Database from 'better-sqlite3';
import { assertDurableSettings, describeUrl } from './postgres/connection.js';
import { migrate as migratePostgres, migrations as postgresMigrations, schemaVersion as postgresSchemaVersion } from './postgres/migrations.js';
import { migrations as sqliteMigrations, schemaVersion as sqliteSchemaVersion } from './sqlite/migrations.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

export interface MigrationReport {
  /** The database, for messages (never a password). */
  readonly database: string;
  readonly fromVersion: number;
  readonly toVersion: number;
  /** The newest version this build knows. */
  readonly latestVersion: number;
}

/** Migrates (or, with `dryRun`, only inspects) the PostgreSQL database at `databaseUrl`, or the SQLite file. */
export async function migrateDatabase(target: { databaseUrl?: string | undefined; dbFilename?: string | undefined }, dryRun = false): Promise<MigrationReport> {
  if (target.databaseUrl) {
    const label = describeUrl(target.databaseUrl);
    const client = new pg.Client({ connectionString: target.databaseUrl, application_name: 'kairos-migrate' });
    await client.connect();
    try {
      await assertDurableSettings(client, label);
      const latestVersion = postgresMigrations.length;
      if (dryRun) {
        const version = await postgresSchemaVersion(client);
        return { database: `PostgreSQL database ${label}`, fromVersion: version, toVersion: version, latestVersion };
      }
      const result = await migratePostgres(client, label);
      return { database: `PostgreSQL database ${label}`, ...result, latestVersion };
    } finally {
      await client.end();
    }
  }
  const filename = target.dbFilename;
  if (!filename) throw new Error('name a database: a PostgreSQL URL or a SQLite file');
  const latestVersion = sqliteMigrations.length;
  const before = (() => {
    try {
      const db = new Database(filename, { fileMustExist: true, readonly: true });
      try {
        return sqliteSchemaVersion(db);
      } finally {
        db.close();
      }
    } catch {
      return 0; // no file yet
    }
  })();
  if (dryRun) return { database: `SQLite file ${filename}`, fromVersion: before, toVersion: before, latestVersion };
  // Opening the store migrates it (and checks it is not in use by a running server).
  const store = SqliteStore.open({ filename });
  const after = store.settings().schemaVersion;
  await store.close();
  return { database: `SQLite file ${filename}`, fromVersion: before, toVersion: after, latestVersion };
}
