// The PostgreSQL store against a real PostgreSQL that this file starts (test-postgres.ts): the shared
// conformance suite (one fresh schema per store), then what is PostgreSQL's own: durability settings,
// migrations, and two stores (two nodes) writing the same database.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConditionFailedError, DurabilityError, PersistenceError } from '../errors.js';
import { runStoreConformance } from '../store-conformance.js';
import { NO_VISIBILITY_EXTRAS } from '../store-conformance-visibility.js';
import type { Store, TransitionWrite } from '../store.js';
import { migrate, migrations, schemaVersion, type Migration } from './migrations.js';
import { assertDurableSettings, PostgresStore } from './postgres-store.js';
import { startTestPostgres, type TestPostgres } from './test-postgres.js';

let server: TestPostgres | undefined;
let url = '';
let schemaCount = 0;
const schemas = new Map<Store, string>();

beforeAll(async () => {
  server = await startTestPostgres();
  url = await server.createDatabase('kairos_store');
}, 120_000);
afterAll(async () => server?.stop(), 60_000);

const newSchema = (): string => `store_${++schemaCount}`;
const openSchema = async (schema: string): Promise<PostgresStore> => {
  const store = await PostgresStore.open({ url, schema, poolSize: 4 });
  schemas.set(store, schema);
  return store;
};

runStoreConformance('postgres', () => openSchema(newSchema()), {
  reopen: (closed) => openSchema(schemas.get(closed) ?? 'unknown_store'),
});

/** A client on the test database, search_path at `schema`, for looking behind the store's back. */
async function withClient<T>(schema: string, work: (client: pg.Client) => Promise<T>, options = ''): Promise<T> {
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema} ${options}` });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function start(workflowId: string, expectedVersion = 0): TransitionWrite {
  const key = { namespaceId: 'ns', workflowId, runId: `${workflowId}-run` };
  const summary = { workflowType: 'T', taskQueue: 'q', status: 1, startTimeMs: 1, executionTimeMs: 1, closeTimeMs: null, historyLength: 1 };
  return {
    executions: [{
      key, expectedVersion, newVersion: expectedVersion + 1, state: new Uint8Array([expectedVersion]), needsDispatch: false,
      summary: { ...summary, ...NO_VISIBILITY_EXTRAS }, events: [{ eventId: expectedVersion + 1, data: new Uint8Array([1]) }],
      ...(expectedVersion === 0 ? { setCurrent: { expectedCurrentRunId: null } } : {}),
    }],
    timersToAdd: [],
    timersToDelete: [],
  };
}

describe('PostgresStore durability settings', () => {
  it('runs its sessions with synchronous_commit=on on a server with fsync=on, in its own schema', async () => {
    const schema = newSchema();
    const store = await openSchema(schema);
    try {
      expect(await store.settings()).toMatchObject({ synchronousCommit: 'on', fsync: 'on', schema, schemaVersion: migrations.length });
    } finally {
      await store.close();
    }
  });

  it('forces synchronous_commit=on over a database default of off', async () => {
    const name = await server?.createDatabase('kairos_async');
    if (name === undefined) throw new Error('no server');
    const admin = new pg.Client({ connectionString: name });
    await admin.connect();
    await admin.query(`ALTER DATABASE ${new URL(name.replace('@/', '@x/')).pathname.slice(1)} SET synchronous_commit = off`);
    await admin.end();
    const store = await PostgresStore.open({ url: name });
    try {
      expect((await store.settings()).synchronousCommit).toBe('on');
    } finally {
      await store.close();
    }
  });

  it('refuses a session that would not be durable, and a URL whose options turn it off', async () => {
    await withClient('public', async (client) => {
      await client.query('SET synchronous_commit = off');
      await expect(assertDurableSettings(client, 'test db')).rejects.toThrow(DurabilityError);
      await expect(assertDurableSettings(client, 'test db')).rejects.toThrow(/synchronous_commit is off on test db/);
      await client.query('SET synchronous_commit = local');
      await expect(assertDurableSettings(client, 'test db')).rejects.toThrow(DurabilityError);
      await client.query('SET synchronous_commit = on');
      await assertDurableSettings(client, 'test db');
    });
    const separator = url.includes('?') ? '&' : '?';
    const asyncUrl = `${url}${separator}options=${encodeURIComponent('-c synchronous_commit=off')}`;
    await expect(PostgresStore.open({ url: asyncUrl, schema: newSchema() })).rejects.toThrow(DurabilityError);
  });

  it('names the database, never the password, when it cannot connect', async () => {
    const unreachable = 'postgresql://kairos:secret@127.0.0.1:1/nowhere?connect_timeout=2';
    const error = await PostgresStore.open({ url: unreachable }).catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(PersistenceError);
    expect(String(error)).toContain('nowhere on 127.0.0.1:1');
    expect(String(error)).not.toContain('secret');
  });
});

describe('PostgresStore errors', () => {
  it('fails only the write PostgreSQL cannot store (text with NUL), and commits the others of its batch', async () => {
    const store = await openSchema(newSchema());
    try {
      const results = await store.commitBatch([start('before'), start('nul\u0000id'), start('after')]);
      expect(results.map((result) => result?.name ?? 'ok')).toEqual(['ok', 'PersistenceError', 'ok']);
      expect(results[1]?.message).toMatch(/0x00/);
      const listed = await store.listExecutions({ namespaceId: 'ns', filter: null, pageSize: 10, after: null });
      expect(listed.executions.map((run) => run.key.workflowId).sort()).toEqual(['after', 'before']);
    } finally {
      await store.close();
    }
  });

  it('rejects every call on a closed store with a PersistenceError', async () => {
    const store = await openSchema(newSchema());
    await store.close();
    await expect(store.commitBatch([start('late')])).rejects.toBeInstanceOf(PersistenceError);
    await expect(store.getCurrentRun('ns', 'late')).rejects.toBeInstanceOf(PersistenceError);
    await expect(store.listExecutions({ namespaceId: 'ns', filter: null, pageSize: 10, after: null })).rejects.toBeInstanceOf(PersistenceError);
  });
});

describe('PostgresStore migrations', () => {
  const tables = (client: pg.Client, schema: string) =>
    client.query<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [schema]);

  it('re-opening an up-to-date schema changes nothing', async () => {
    const schema = newSchema();
    await (await openSchema(schema)).close();
    await withClient(schema, async (client) => {
      const before = (await tables(client, schema)).rows;
      expect(await migrate(client, 'test')).toEqual({ fromVersion: migrations.length, toVersion: migrations.length });
      expect((await tables(client, schema)).rows).toEqual(before);
      expect((await client.query('SELECT version FROM schema_version ORDER BY 1')).rows.map((r: { version: number }) => r.version))
        .toEqual(migrations.map((m) => m.version));
    });
  });

  it('applies each migration in its own transaction and resumes after a failed one', async () => {
    const schema = newSchema();
    await (await openSchema(schema)).close();
    await withClient(schema, async (client) => {
      const broken: Migration = {
        version: migrations.length + 1,
        description: 'fails halfway',
        async up(connection) {
          await connection.query('CREATE TABLE half_done (x integer)');
          throw new Error('boom');
        },
      };
      await expect(migrate(client, 'test', [...migrations, broken])).rejects.toThrow('boom');
      expect(await schemaVersion(client)).toBe(migrations.length);
      expect((await tables(client, schema)).rows.map((r) => r.table_name)).not.toContain('half_done');
      const fixed: Migration = { ...broken, up: async (connection) => void (await connection.query('CREATE TABLE half_done (x integer)')) };
      expect(await migrate(client, 'test', [...migrations, fixed])).toEqual({ fromVersion: migrations.length, toVersion: migrations.length + 1 });
    });
  });

  it('migrates once when several stores open a new schema at the same time', async () => {
    const schema = newSchema();
    const stores = await Promise.all([openSchema(schema), openSchema(schema), openSchema(schema)]);
    await Promise.all(stores.map((store) => store.close()));
    await withClient(schema, async (client) => {
      expect((await client.query('SELECT COUNT(*)::int AS n FROM schema_version')).rows).toEqual([{ n: migrations.length }]);
    });
  });

  it('refuses a schema from a newer Kairos', async () => {
    const schema = newSchema();
    await (await openSchema(schema)).close();
    await withClient(schema, (client) => client.query("INSERT INTO schema_version (version, description) VALUES (99, 'from the future')"));
    await expect(openSchema(schema)).rejects.toThrow(/has schema version 99/);
  });
});

describe('PostgresStore with two nodes on one database', () => {
  it('lets exactly one of two writers that read the same version win', async () => {
    const schema = newSchema();
    const [one, two] = await Promise.all([openSchema(schema), openSchema(schema)]);
    try {
      await one.commit(start('shared'));
      for (let round = 1; round <= 20; round++) {
        const results = await Promise.allSettled([one.commit(start('shared', round)), two.commit(start('shared', round))]);
        const won = results.filter((result) => result.status === 'fulfilled');
        const lost = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect(lost[0]).toBeInstanceOf(ConditionFailedError);
      }
      const key = { namespaceId: 'ns', workflowId: 'shared', runId: 'shared-run' };
      expect((await two.getExecution(key))?.version).toBe(21);
      expect(await one.readEvents(key, 1, 100, 100)).toHaveLength(21);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it('starts a workflow id once when two nodes start it at the same time', async () => {
    const schema = newSchema();
    const [one, two] = await Promise.all([openSchema(schema), openSchema(schema)]);
    try {
      const racing = (store: Store, runId: string) => {
        const write = start('once');
        const [execution] = write.executions;
        if (!execution) throw new Error('unreachable');
        return store.commit({ ...write, executions: [{ ...execution, key: { ...execution.key, runId } }] });
      };
      const results = await Promise.allSettled([racing(one, 'run-a'), racing(two, 'run-b')]);
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      const current = await one.getCurrentRun('ns', 'once');
      const loser = current?.runId === 'run-a' ? 'run-b' : 'run-a';
      expect(await two.getExecution({ namespaceId: 'ns', workflowId: 'once', runId: loser })).toBeNull();
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });
});
