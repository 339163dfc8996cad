/**
 * visibility: list and count latency over N stored executions (default 10,000), with system and custom
 * search attributes. The executions are written straight through the store (fast), then a Kairos server
 * is started on that SQLite file and each query is timed two ways: in process (compile + store call,
 * "store") and as a gRPC round trip with the official client's connection ("rpc").
 *
 *   npm run bench -- visibility [--executions 10000] [--iterations 30]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Connection } from '@temporalio/client';
import { SqliteStore } from '../packages/server/src/persistence/sqlite/sqlite-store.js';
import type { ExecutionSummary, Store, TransitionWrite } from '../packages/server/src/persistence/store.js';
import type { VisibilityCursor } from '../packages/server/src/persistence/visibility.js';
import { SearchAttributesCodec, MemoCodec } from '../packages/server/src/proto-types.js';
import { createLogger } from '../packages/server/src/logger.js';
import { startServer } from '../packages/server/src/server.js';
import { compileQuery } from '../packages/server/src/visibility/query/compile.js';
import { indexSearchAttributes } from '../packages/server/src/visibility/search-attribute-values.js';
import type { SearchAttributeTypeName } from '../packages/server/src/visibility/search-attributes.js';
import { machine, percentile, printTable, writeResult } from './report.js';

const SCENARIO = 'visibility';
const NAMESPACE = 'default';
const CUSTOM: ReadonlyMap<string, SearchAttributeTypeName> = new Map([
  ['CustomerId', 'Keyword'],
  ['Region', 'Keyword'],
  ['Amount', 'Double'],
  ['Priority', 'Int'],
  ['Tags', 'KeywordList'],
  ['Notes', 'Text'],
]);
const REGIONS = ['eu', 'us', 'apac', 'latam', 'mea'];
const TYPES = ['OrderWorkflow', 'PaymentWorkflow', 'ShippingWorkflow', 'RefundWorkflow', 'ReportWorkflow'];
const TAGS = ['vip', 'gift', 'express', 'bulk', 'fragile', 'promo'];
const NOTES = ['refund requested', 'call customer back', 'standard order', 'address changed', 'gift wrap please'];
const BASE_MS = Date.UTC(2025, 0, 1);

interface QuerySpec {
  readonly label: string;
  readonly kind: 'list' | 'count';
  readonly query: string;
  /** List only: time the page after this many pages (keyset paging). */
  readonly skipPages?: number;
}

const QUERIES: readonly QuerySpec[] = [
  { label: 'list all, first page', kind: 'list', query: '' },
  { label: 'list all, page 50', kind: 'list', query: '', skipPages: 49 },
  { label: 'list running', kind: 'list', query: "ExecutionStatus = 'Running'" },
  { label: 'list type + status', kind: 'list', query: "WorkflowType = 'OrderWorkflow' AND ExecutionStatus = 'Completed'" },
  { label: 'list one customer', kind: 'list', query: "CustomerId = 'customer-42'" },
  { label: 'list amount + region', kind: 'list', query: "Amount > 900 AND Region = 'eu'" },
  { label: 'list tag', kind: 'list', query: "Tags = 'vip'" },
  { label: 'list text word', kind: 'list', query: "Notes = 'refund'" },
  { label: 'list time + prefix', kind: 'list', query: `StartTime > '${new Date(BASE_MS + 3_600_000).toISOString()}' AND WorkflowId STARTS_WITH 'wf-5'` },
  { label: 'count all', kind: 'count', query: '' },
  { label: 'count by status', kind: 'count', query: 'GROUP BY ExecutionStatus' },
  { label: 'count one customer', kind: 'count', query: "CustomerId = 'customer-42'" },
  { label: 'count range + tags', kind: 'count', query: "Amount BETWEEN 100 AND 200 AND Tags IN ('vip', 'gift')" },
  { label: 'count running by status', kind: 'count', query: "ExecutionStatus = 'Running' OR Priority >= 4 GROUP BY ExecutionStatus" },
];

function positiveInteger(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new Error(`--${flag} must be a positive integer, got ${value}`);
  return parsed;
}

function json(value: unknown, type: SearchAttributeTypeName) {
  return { metadata: { encoding: Buffer.from('json/plain'), type: Buffer.from(type) }, data: Buffer.from(JSON.stringify(value)) };
}

/** One stored run: a realistic state blob, summary columns and encoded search attributes and memo. */
function execution(namespaceId: string, i: number): TransitionWrite {
  const status = i % 10 < 2 ? 1 : i % 10 === 9 ? 3 : 2;
  const startTimeMs = BASE_MS + i * 1_000;
  const closeTimeMs = status === 1 ? null : startTimeMs + 500 + (i % 7) * 100;
  const encoded = SearchAttributesCodec.encode({
    indexedFields: {
      CustomerId: json(`customer-${i % 1_000}`, 'Keyword'),
      Region: json(REGIONS[i % REGIONS.length], 'Keyword'),
      Amount: json((i * 7.31) % 1_000, 'Double'),
      Priority: json((i % 5) + 1, 'Int'),
      Tags: json([TAGS[i % TAGS.length], TAGS[(i * 3) % TAGS.length]], 'KeywordList'),
      Notes: json(NOTES[i % NOTES.length], 'Text'),
    },
  }).finish();
  const summary: ExecutionSummary = {
    workflowType: TYPES[i % TYPES.length] ?? 'OrderWorkflow',
    taskQueue: `queue-${i % 3}`,
    status,
    startTimeMs,
    executionTimeMs: startTimeMs,
    closeTimeMs,
    historyLength: 11 + (i % 20),
    historySizeBytes: 2_000 + (i % 500),
    stateTransitionCount: 6 + (i % 10),
    executionDurationMs: closeTimeMs === null ? null : closeTimeMs - startTimeMs,
    parentWorkflowId: null,
    parentRunId: null,
    rootWorkflowId: `wf-${i}`,
    rootRunId: `run-${i}`,
    memo: MemoCodec.encode({ fields: { note: json(`memo ${i}`, 'Keyword') } }).finish(),
    searchAttributes: encoded,
    searchAttributeValues: indexSearchAttributes(encoded),
  };
  const key = { namespaceId, workflowId: `wf-${i}`, runId: `run-${String(i).padStart(6, '0')}` };
  const write = { key, expectedVersion: 0, newVersion: 1, state: randomBytes(1_200), summary, needsDispatch: false, events: [] };
  return { executions: [{ ...write, setCurrent: { expectedCurrentRunId: null } }], timersToAdd: [], timersToDelete: [] };
}

async function populate(store: Store, namespaceId: string, count: number): Promise<number> {
  const startedAt = performance.now();
  for (let first = 0; first < count; first += 500) {
    const batch = Array.from({ length: Math.min(500, count - first) }, (_, j) => execution(namespaceId, first + j));
    const results = await store.commitBatch(batch);
    const failed = results.find((result) => result !== null);
    if (failed) throw failed;
  }
  await store.addSearchAttributes(namespaceId, [...CUSTOM].map(([name, type]) => ({ name, type })));
  return performance.now() - startedAt;
}

async function time(iterations: number, run: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < 3; i++) await run();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await run();
    samples.push(performance.now() - t0);
  }
  return samples.sort((a, b) => a - b);
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { executions: { type: 'string' }, iterations: { type: 'string' } }, strict: true });
  const executions = positiveInteger(values.executions, 'executions', 10_000);
  const iterations = positiveInteger(values.iterations, 'iterations', 30);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kairos-bench-visibility-'));
  const dbFilename = path.join(dir, 'kairos.db');
  const results: Array<Record<string, unknown>> = [];
  let populateMs = 0;
  try {
    // The namespace id is assigned by the registry: start a server once to create `default`.
    const first = await startServer(serverOptions(dbFilename));
    await first.close();
    let store = SqliteStore.open({ filename: dbFilename });
    const namespace = (await store.listNamespaces()).find((row) => row.name === NAMESPACE);
    if (namespace === undefined) throw new Error('namespace default was not created');
    populateMs = await populate(store, namespace.id, executions);
    await store.close();

    const server = await startServer(serverOptions(dbFilename));
    const connection = await Connection.connect({ address: server.grpcAddress });
    try {
      for (const spec of QUERIES) {
        const call = await rpcQuery(connection, spec);
        const rpc = await time(iterations, call);
        results.push({ label: spec.label, kind: spec.kind, query: spec.query, returned: await call(), rpcMs: stats(rpc) });
      }
    } finally {
      await connection.close();
      await server.close();
    }
    // The server holds the file exclusively: the in-process round reopens it once the server is closed.
    store = SqliteStore.open({ filename: dbFilename });
    try {
      for (const [index, spec] of QUERIES.entries()) {
        const local = await time(iterations, await storeQuery(store, namespace.id, spec));
        Object.assign(results[index] ?? {}, { storeMs: stats(local) });
      }
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const rows: [string, string | number][] = [
    ['scenario', SCENARIO],
    ['executions', executions],
    ['iterations per query', iterations],
    ['populate s', populateMs / 1000],
  ];
  process.stdout.write(`${rows.map(([k, v]) => `${k}: ${typeof v === 'number' ? Number(v.toFixed(2)) : v}`).join('\n')}\n\n`);
  printTable([['query (returned)', 'store p50 / p99 ms   rpc p50 / p99 ms'] as [string, string]].concat(
    results.map((r) => {
      const s = r['storeMs'] as { p50: number; p99: number };
      const g = r['rpcMs'] as { p50: number; p99: number };
      return [`${String(r['label'])} (${String(r['returned'])})`, `${fmt(s.p50)} / ${fmt(s.p99)}   ${fmt(g.p50)} / ${fmt(g.p99)}`];
    }),
  ));
  const file = writeResult(SCENARIO, {
    scenario: SCENARIO,
    date: new Date().toISOString(),
    command: `npm run bench -- ${[SCENARIO, ...args].join(' ')}`,
    machine: machine(),
    settings: { executions, iterations, pageSize: 100, database: 'SQLite file in a temp directory (WAL, synchronous=FULL)' },
    figures: { populateSeconds: populateMs / 1000, queries: results },
  });
  process.stdout.write(`\nresults written to ${path.relative(process.cwd(), file)}\n`);
}

function serverOptions(dbFilename: string) {
  return {
    ip: '127.0.0.1',
    port: 0,
    dbFilename,
    namespaces: [NAMESPACE],
    logLevel: 'warn' as const,
    logFormat: 'text' as const,
    dynamicConfig: new Map<string, unknown>(),
    searchAttributes: new Map<string, SearchAttributeTypeName>(),
    headless: true,
    uiPort: undefined,
    httpPort: undefined,
    metricsPort: undefined,
    logger: createLogger({ level: 'warn', format: 'text' }),
  };
}

/**
 * The timed call of one query through gRPC, resolving to how many runs it returned (or counted). For a
 * deep page, the pages before it are fetched once, untimed, and only the page itself is timed.
 */
async function rpcQuery(connection: Connection, spec: QuerySpec): Promise<() => Promise<number>> {
  const service = connection.workflowService;
  if (spec.kind === 'count') return async () => Number((await service.countWorkflowExecutions({ namespace: NAMESPACE, query: spec.query })).count);
  const page = (nextPageToken?: Uint8Array) => service.listWorkflowExecutions({ namespace: NAMESPACE, query: spec.query, pageSize: 100, nextPageToken });
  let token: Uint8Array | undefined;
  for (let skipped = 0; skipped < (spec.skipPages ?? 0); skipped++) token = (await page(token)).nextPageToken;
  return async () => (await page(token)).executions.length;
}

/** The same query in process: compile, then the store call (the cursor of a deep page found untimed). */
async function storeQuery(store: Store, namespaceId: string, spec: QuerySpec): Promise<() => Promise<number>> {
  const compile = () => compileQuery(spec.query, CUSTOM, spec.kind);
  if (spec.kind === 'count') {
    return async () => {
      const { filter, groupByStatus } = compile();
      return (await store.countExecutions({ namespaceId, filter, groupByStatus })).count;
    };
  }
  let after: VisibilityCursor | null = null;
  for (let skipped = 0; skipped < (spec.skipPages ?? 0); skipped++) {
    after = (await store.listExecutions({ namespaceId, filter: compile().filter, pageSize: 100, after })).next;
  }
  const cursor = after;
  return async () => (await store.listExecutions({ namespaceId, filter: compile().filter, pageSize: 100, after: cursor })).executions.length;
}

function stats(sorted: number[]): { p50: number; p99: number; max: number } {
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? Number.NaN };
}

function fmt(ms: number): string {
  return ms.toFixed(2).padStart(7);
}
