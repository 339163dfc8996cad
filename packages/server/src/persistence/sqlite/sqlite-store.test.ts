import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseLockedError, DurabilityError, PersistenceError } from '../errors.js';
import { runStoreConformance } from '../store-conformance.js';
import type { Store } from '../store.js';
import { migrate, migrations, schemaVersion, type Migration } from './migrations.js';
import { assertDurablePragmas, prepareStatements, SqliteStore } from './sqlite-store.js';
import { prepareRegistryStatements } from './visibility-store.js';

let dir = '';
let fileCount = 0;
const files = new Map<Store, string>();
const children: ChildProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kairos-sqlite-'));
  writeFileSync(join(dir, 'child.mjs'), CHILD_SCRIPT);
});
afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const newFile = (): string => join(dir, `store-${++fileCount}.db`);
const openFile = (filename: string): Promise<Store> => {
  const store = SqliteStore.open({ filename });
  files.set(store, filename);
  return Promise.resolve(store);
};

runStoreConformance('sqlite file', () => openFile(newFile()), {
  reopen: (closed) => openFile(files.get(closed) ?? 'unknown store'),
});
runStoreConformance('sqlite :memory:', () => Promise.resolve(SqliteStore.open({ filename: ':memory:' })));

/** A store-opening process: `try` opens and closes; `hold` commits 20 starts, reports, and waits to be killed. */
const CHILD_SCRIPT = `
const [storeUrl, filename, mode] = process.argv.slice(2);
const { SqliteStore } = await import(storeUrl);
const report = (message) => process.stdout.write(JSON.stringify(message) + '\\n');
const startedAt = performance.now();
let store;
try {
  store = SqliteStore.open({ filename });
} catch (error) {
  report({ event: 'refused', name: error.name, message: error.message, ms: performance.now() - startedAt });
  process.exit(0);
}
if (mode === 'try') {
  await store.close();
  report({ event: 'opened' });
  process.exit(0);
}
const bytes = (text) => new TextEncoder().encode(text);
for (let i = 1; i <= 20; i++) {
  const key = { namespaceId: 'ns', workflowId: 'wf-' + i, runId: 'run-' + i };
  await store.commit({
    executions: [{
      key, expectedVersion: 0, newVersion: 1, state: bytes('state ' + i), needsDispatch: true,
      summary: { workflowType: 'T', taskQueue: 'q', status: 1, startTimeMs: i, executionTimeMs: i, closeTimeMs: null,
        historyLength: 1, historySizeBytes: 0, stateTransitionCount: 1, executionDurationMs: null, parentWorkflowId: null,
        parentRunId: null, rootWorkflowId: null, rootRunId: null, memo: null, searchAttributes: null,
        searchAttributeValues: null },
      events: [{ eventId: 1, data: bytes('event ' + i) }], setCurrent: { expectedCurrentRunId: null },
    }],
    timersToAdd: [{ taskId: 'timer-' + i, fireAtMs: i, key, data: bytes('timer ' + i) }],
    timersToDelete: [],
  });
}
report({ event: 'committed', pid: process.pid });
setInterval(() => {}, 1 << 30);
`;

interface ChildReport {
  readonly event: 'refused' | 'opened' | 'committed';
  readonly name?: string;
  readonly message?: string;
  readonly ms?: number;
}

/** Starts the child script and resolves with its first report (or rejects with its stderr). */
function startChild(filename: string, mode: 'try' | 'hold'): { child: ChildProcess; report: Promise<ChildReport> } {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const storeUrl = new URL('./sqlite-store.ts', import.meta.url).href;
  const child = spawn(process.execPath, ['--import', tsx, join(dir, 'child.mjs'), storeUrl, filename, mode], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const report = new Promise<ChildReport>((resolveReport, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n') && line) resolveReport(JSON.parse(line) as ChildReport);
    });
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code, signal) => {
      reject(new Error(`child exited (${code ?? signal}) without a report: ${stderr}`));
    });
  });
  return { child, report };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveExit) => child.once('exit', () => resolveExit()));
}

/** A file that exists and is fully migrated, so a later open has nothing to write. */
async function existingFile(): Promise<string> {
  const filename = newFile();
  await SqliteStore.open({ filename }).close();
  return filename;
}

describe('SqliteStore durability settings', () => {
  it('runs a file in WAL mode with synchronous=FULL, an exclusive lock and a busy timeout', async () => {
    const filename = newFile();
    const store = SqliteStore.open({ filename });
    expect(store.settings()).toEqual({
      journalMode: 'wal',
      synchronous: 2,
      lockingMode: 'exclusive',
      busyTimeoutMs: 5_000,
      schemaVersion: migrations.length,
    });
    // The wal-index lives in process memory: no -shm file that a crash could leave behind.
    expect(existsSync(`${filename}-shm`)).toBe(false);
    await store.close();
    expect(existsSync(`${filename}-wal`) ? statSync(`${filename}-wal`).size : 0).toBe(0);
  });

  it('sets synchronous=FULL on :memory: too', async () => {
    const store = SqliteStore.open({ filename: ':memory:' });
    expect(store.settings()).toMatchObject({ journalMode: 'memory', synchronous: 2, lockingMode: 'exclusive' });
    await store.close();
  });

  it('refuses a connection that would not be durable (the driver default on a WAL file is NORMAL)', async () => {
    const db = new Database(await existingFile());
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(1);
      expect(() => assertDurablePragmas(db, 'test.db', false)).toThrow(DurabilityError);
      expect(() => assertDurablePragmas(db, 'test.db', false)).toThrow(/synchronous is 1 on test\.db/);
      db.pragma('synchronous = FULL');
      assertDurablePragmas(db, 'test.db', false);
      db.pragma('journal_mode = DELETE');
      expect(() => assertDurablePragmas(db, 'test.db', false)).toThrow(/journal_mode is delete/);
    } finally {
      db.close();
    }
  });

  it('answers every query from an index, without a full scan or a sort', () => {
    const db = new Database(':memory:');
    migrate(db, ':memory:');
    for (const [name, statement] of Object.entries({ ...prepareStatements(db), ...prepareRegistryStatements(db) })) {
      if (statement.source.trimStart().startsWith('INSERT')) continue;
      // Reads the whole table by design (the scheduler loads every schedule at start-up), in key order.
      if (name === 'listAllSchedules') continue;
      // Planning needs values bound, not meaningful ones.
      const named = Object.fromEntries(Array.from(statement.source.matchAll(/@(\w+)/g), (m) => [m[1], 0]));
      const params = named.namespaceId === undefined ? Array.from(statement.source.matchAll(/\?/g), () => 0) : [named];
      const plan = db.prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${statement.source}`).all(...params);
      const unindexed = plan.map((row) => row.detail).filter((detail) => /TEMP B-TREE|^SCAN \w+$/.test(detail));
      expect(unindexed, name).toEqual([]);
    }
    db.close();
  });
});

describe('SqliteStore single ownership of a file', () => {
  it('refuses a second open in the same process, quickly, and names the holder', async () => {
    const filename = await existingFile();
    const store = SqliteStore.open({ filename });
    const startedAt = performance.now();
    expect(() => SqliteStore.open({ filename })).toThrow(DatabaseLockedError);
    expect(performance.now() - startedAt).toBeLessThan(1_000);
    const second = (): SqliteStore => SqliteStore.open({ filename });
    expect(second).toThrow(`database file ${filename} is in use by another Kairos server`);
    if (process.platform === 'linux') expect(second).toThrow(`(this process, pid ${process.pid})`);
    await store.close();
    await SqliteStore.open({ filename }).close();
  });

  it('refuses another process while this one holds the file, and lets it in after close', async () => {
    const filename = await existingFile();
    const store = SqliteStore.open({ filename });
    const refused = await startChild(filename, 'try').report;
    expect(refused).toMatchObject({ event: 'refused', name: 'DatabaseLockedError' });
    expect(refused.message).toContain(`database file ${filename} is in use by another Kairos server`);
    if (process.platform === 'linux') expect(refused.message).toContain(`(pid ${process.pid})`);
    expect(refused.ms).toBeLessThan(1_000);
    await store.close();
    expect(await startChild(filename, 'try').report).toMatchObject({ event: 'opened' });
  });

  it('opens, without cleanup, a file whose holder was SIGKILLed, and keeps its commits', async () => {
    const filename = newFile();
    const { child, report } = startChild(filename, 'hold');
    expect(await report).toMatchObject({ event: 'committed' });
    expect(() => SqliteStore.open({ filename })).toThrow(DatabaseLockedError);
    if (process.platform === 'linux') expect(() => SqliteStore.open({ filename })).toThrow(`(pid ${child.pid})`);
    // The commits sit in the WAL, not yet checkpointed: the next open must recover them from it.
    expect(statSync(`${filename}-wal`).size).toBeGreaterThan(0);
    child.kill('SIGKILL');
    await exited(child);
    expect(child.signalCode).toBe('SIGKILL');

    const store = SqliteStore.open({ filename });
    const dispatch = await store.listExecutionsNeedingDispatch();
    const workflowIds = Array.from({ length: 20 }, (_, i) => `wf-${i + 1}`);
    expect(dispatch.map((row) => row.key.workflowId).sort()).toEqual(workflowIds.sort());
    expect(await store.getCurrentRun('ns', 'wf-20')).toMatchObject({ runId: 'run-20' });
    const seventh = { namespaceId: 'ns', workflowId: 'wf-7', runId: 'run-7' };
    expect(await store.readEvents(seventh, 1, 2, 10)).toEqual([Buffer.from('event 7')]);
    expect(await store.listTimerTasks(100, 100)).toHaveLength(20);
    await store.close();
    const db = new Database(filename);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });
});

describe('SqliteStore migrations', () => {
  type SchemaRow = { type: string; name: string; sql: string | null };
  const schema = (db: Database.Database): SchemaRow[] =>
    db.prepare<[], SchemaRow>('SELECT type, name, sql FROM sqlite_schema ORDER BY name').all();

  it('re-opening an up-to-date file changes nothing', async () => {
    const filename = await existingFile();
    const db = new Database(filename);
    const before = schema(db);
    expect(migrate(db, filename)).toEqual({ fromVersion: migrations.length, toVersion: migrations.length });
    expect(schema(db)).toEqual(before);
    expect(db.prepare('SELECT version FROM schema_version').pluck().all()).toEqual(migrations.map((m) => m.version));
    db.close();
    await SqliteStore.open({ filename }).close();
    const again = new Database(filename);
    expect(schema(again)).toEqual(before);
    again.close();
  });

  it('applies each migration in its own transaction and resumes after a failed one', () => {
    const db = new Database(':memory:');
    const broken: Migration = {
      version: migrations.length + 1,
      description: 'fails halfway',
      up(connection) {
        connection.exec('CREATE TABLE half_done (x INTEGER)');
        throw new Error('boom');
      },
    };
    expect(() => migrate(db, ':memory:', [...migrations, broken])).toThrow('boom');
    expect(schemaVersion(db)).toBe(migrations.length);
    expect(schema(db).map((row) => row.name)).not.toContain('half_done');
    const fixed: Migration = { ...broken, up: (connection) => connection.exec('CREATE TABLE half_done (x INTEGER)') };
    const applied = migrate(db, ':memory:', [...migrations, fixed]);
    expect(applied).toEqual({ fromVersion: migrations.length, toVersion: migrations.length + 1 });
    db.close();
  });

  it('refuses a file from a newer schema, and leaves it unlocked', async () => {
    const filename = await existingFile();
    const db = new Database(filename);
    db.prepare('INSERT INTO schema_version (version, description) VALUES (99, ?)').run('from the future');
    db.close();
    expect(() => SqliteStore.open({ filename })).toThrow(PersistenceError);
    expect(() => SqliteStore.open({ filename })).toThrow(`database file ${filename} has schema version 99`);
    const cleanup = new Database(filename);
    cleanup.prepare('DELETE FROM schema_version WHERE version = 99').run();
    cleanup.close();
    await SqliteStore.open({ filename }).close();
  });
});
