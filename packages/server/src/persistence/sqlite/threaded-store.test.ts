import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConditionFailedError, DatabaseLockedError, PersistenceError } from '../errors.js';
import { start } from '../store-conformance-support.js';
import { runStoreConformance } from '../store-conformance.js';
import type { Store } from '../store.js';
import { SqliteStore } from './sqlite-store.js';
import { errorFromPayload, errorToPayload } from './store-thread.js';
import { ThreadedSqliteStore } from './threaded-store.js';

let dir = '';
let fileCount = 0;
const files = new Map<Store, string>();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kairos-sqlite-thread-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const newFile = (): string => join(dir, `store-${++fileCount}.db`);
const openFile = async (filename: string): Promise<Store> => {
  const store = await ThreadedSqliteStore.open({ filename });
  files.set(store, filename);
  return store;
};

runStoreConformance('sqlite file on its own thread', () => openFile(newFile()), {
  reopen: (closed) => openFile(files.get(closed) ?? 'unknown store'),
});

describe('ThreadedSqliteStore', () => {
  it('refuses a file another connection holds, with the same error class as SqliteStore', async () => {
    const filename = newFile();
    const holder = SqliteStore.open({ filename });
    try {
      const refused = await ThreadedSqliteStore.open({ filename }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(DatabaseLockedError);
      expect((refused as Error).message).toContain(filename);
    } finally {
      await holder.close();
    }
  });

  it('gives a lost race back as ConditionFailedError with its expected and found values, in a batch and alone', async () => {
    const store = await ThreadedSqliteStore.open({ filename: ':memory:' });
    try {
      const first = start({ namespaceId: 'ns', workflowId: 'wf', runId: 'r1' });
      const [ok, again] = await store.commitBatch([first, first]);
      expect(ok).toBeNull();
      expect(again).toBeInstanceOf(ConditionFailedError);
      const alone = await store.commit(first).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(alone).toBeInstanceOf(ConditionFailedError);
      expect(alone).toMatchObject({ name: 'ConditionFailedError' });
    } finally {
      await store.close();
    }
  });

  it('keeps data committed before close, and rejects calls once closed', async () => {
    const filename = newFile();
    const store = await ThreadedSqliteStore.open({ filename });
    const k = { namespaceId: 'ns', workflowId: 'wf', runId: 'r1' };
    await store.commit(start(k));
    await store.close();
    await store.close();
    await expect(store.getExecution(k)).rejects.toThrow(/closed/);
    const reopened = SqliteStore.open({ filename });
    try {
      expect((await reopened.getExecution(k))?.version).toBe(1);
    } finally {
      await reopened.close();
    }
  });

  it('carries persistence error classes, codes and causes across the thread boundary', () => {
    const cause = Object.assign(new Error('disk I/O error'), { name: 'SqliteError', code: 'SQLITE_IOERR' });
    const back = errorFromPayload(errorToPayload(new PersistenceError('commit failed', { cause })));
    expect(back).toBeInstanceOf(PersistenceError);
    expect(back.cause).toMatchObject({ name: 'SqliteError', code: 'SQLITE_IOERR', message: 'disk I/O error' });
    const conflict = errorFromPayload(errorToPayload(new ConditionFailedError('lost', 3, null)));
    expect(conflict).toMatchObject({ expected: 3, found: null });
  });

  it('does not keep an idle process alive', async () => {
    const child = await runChild(newFile(), 'exit');
    expect(child).toMatchObject({ stdout: 'committed 20\n', stderr: '', code: 0 });
  });

  it('loses nothing it acknowledged when the process is killed', async () => {
    const filename = newFile();
    const child = await runChild(filename, 'hold');
    expect(child).toMatchObject({ stdout: 'committed 20\n', signal: 'SIGKILL' });
    const reopened = SqliteStore.open({ filename });
    try {
      for (let i = 1; i <= 20; i++) {
        expect((await reopened.getExecution({ namespaceId: 'ns', workflowId: `wf-${i}`, runId: `run-${i}` }))?.version).toBe(1);
      }
    } finally {
      await reopened.close();
    }
  });
});

/**
 * A process that opens the threaded store, commits 20 runs as one batch and reports; then either lets
 * its event loop empty (`exit`: it must end by itself) or is killed by this test once it reported (`hold`).
 */
const CHILD_SCRIPT = `
const [storeUrl, filename, mode] = process.argv.slice(2);
const { ThreadedSqliteStore } = await import(storeUrl);
const store = await ThreadedSqliteStore.open({ filename });
const bytes = (text) => new TextEncoder().encode(text);
const summary = { workflowType: 'T', taskQueue: 'q', status: 1, startTimeMs: 1, executionTimeMs: 1, closeTimeMs: null,
  historyLength: 1, historySizeBytes: 0, stateTransitionCount: 1, executionDurationMs: null, parentWorkflowId: null,
  parentRunId: null, rootWorkflowId: null, rootRunId: null, memo: null, searchAttributes: null, searchAttributeValues: null };
const writes = [];
for (let i = 1; i <= 20; i++) {
  const key = { namespaceId: 'ns', workflowId: 'wf-' + i, runId: 'run-' + i };
  writes.push({ executions: [{ key, expectedVersion: 0, newVersion: 1, state: bytes('state ' + i), needsDispatch: true, summary,
    events: [{ eventId: 1, data: bytes('event ' + i) }], setCurrent: { expectedCurrentRunId: null } }],
    timersToAdd: [], timersToDelete: [] });
}
const failed = (await store.commitBatch(writes)).filter((e) => e !== null);
process.stdout.write('committed ' + (writes.length - failed.length) + '\\n');
if (mode === 'hold') setInterval(() => {}, 1 << 30);
`;

interface ChildResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

function runChild(filename: string, mode: 'exit' | 'hold'): Promise<ChildResult> {
  const script = join(dir, 'child.mjs');
  writeFileSync(script, CHILD_SCRIPT);
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const child = spawn(process.execPath, ['--import', tsx, script, moduleUrl('./threaded-store.ts'), filename, mode], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (mode === 'hold' && stdout.endsWith('\n')) child.kill('SIGKILL');
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const deadline = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      resolve({ stdout, stderr, code, signal });
    });
  });
}

function moduleUrl(relative: string): string {
  return new URL(relative, import.meta.url).href;
}
