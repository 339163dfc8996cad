/**
 * Visibility through the official SDK: search attributes registered with the operator service and with
 * `start-dev --search-attribute`, typed values set at start and by upsert, `client.workflow.list()` and
 * `count()` (with GROUP BY ExecutionStatus) over system and custom attributes, and INVALID_ARGUMENT for
 * bad queries and unregistered attributes.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client, WorkflowExecutionInfo, WorkflowHandle } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';
import type { WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKairos, type KairosServer } from './helpers/server.js';
import { bundleWorkflows, connect, enums, HistoryRecorder, uniqueTaskQueue, waitFor, withWorker, type Connections } from './helpers/sdk.js';
import { finishSignal, STAGE, upsertUnregisteredWorkflow, visibilityParentWorkflow, visibilityWorkflow } from './workflows/visibility.js';

const WORKFLOWS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'workflows/visibility.ts');
const IndexedValueType = enums.IndexedValueType;

const CUSTOMER = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);
const AMOUNT = defineSearchAttributeKey('Amount', SearchAttributeType.DOUBLE);
const PRIORITY = defineSearchAttributeKey('Priority', SearchAttributeType.INT);
const VIP = defineSearchAttributeKey('Vip', SearchAttributeType.BOOL);
const DUE = defineSearchAttributeKey('Due', SearchAttributeType.DATETIME);
const TAGS = defineSearchAttributeKey('Tags', SearchAttributeType.KEYWORD_LIST);
const NOTES = defineSearchAttributeKey('Notes', SearchAttributeType.TEXT);

let server: KairosServer;
let sdk: Connections;
let client: Client;
let bundle: WorkflowBundle;
const recorder = new HistoryRecorder();

beforeAll(async () => {
  [server, bundle] = await Promise.all([startKairos({ extraArgs: ['--search-attribute', 'Stage=Keyword'] }), bundleWorkflows(WORKFLOWS)]);
  sdk = await connect(server.address);
  client = sdk.client;
  await sdk.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: {
      CustomerId: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      Amount: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
      Priority: IndexedValueType.INDEXED_VALUE_TYPE_INT,
      Vip: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
      Due: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
      Tags: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
      Notes: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
    },
  });
});

afterAll(async () => {
  await sdk?.close();
  await server?.stop();
});

/** The gRPC status code an SDK error carries (on itself or its cause). */
function grpcCode(error: unknown): number | undefined {
  for (let e: unknown = error; typeof e === 'object' && e !== null; e = (e as { cause?: unknown }).cause) {
    if (typeof (e as { code?: unknown }).code === 'number') return (e as { code: number }).code;
  }
  return undefined;
}

function grpcMessage(error: unknown): string {
  const messages: string[] = [];
  for (let e: unknown = error; typeof e === 'object' && e !== null; e = (e as { cause?: unknown }).cause) {
    messages.push(String((e as { details?: unknown }).details ?? (e as Error).message));
  }
  return messages.join(' / ');
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error,
  );
}

async function list(query: string, pageSize?: number): Promise<WorkflowExecutionInfo[]> {
  const runs: WorkflowExecutionInfo[] = [];
  for await (const run of client.workflow.list({ query, ...(pageSize ? { pageSize } : {}) })) runs.push(run);
  return runs;
}

describe('search attribute registry', () => {
  it('lists what the operator service and start-dev registered, and refuses conflicts and reserved names', async () => {
    const listed = await sdk.connection.operatorService.listSearchAttributes({ namespace: 'default' });
    expect(listed.customAttributes).toMatchObject({
      CustomerId: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      Tags: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
      Stage: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    });
    expect(listed.systemAttributes).toMatchObject({ WorkflowId: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, BuildIds: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST });
    const all = await sdk.connection.workflowService.getSearchAttributes({});
    expect(all.keys).toMatchObject({ CustomerId: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, ExecutionStatus: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD });

    const register = (name: string, type: number) => sdk.connection.operatorService.addSearchAttributes({ namespace: 'default', searchAttributes: { [name]: type } });
    await register('CustomerId', IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD);
    expect(grpcCode(await failure(register('CustomerId', IndexedValueType.INDEXED_VALUE_TYPE_INT)))).toBe(6);
    const reserved = await failure(register('WorkflowId', IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD));
    expect([grpcCode(reserved), grpcMessage(reserved)]).toEqual([3, expect.stringContaining('Search attribute WorkflowId is reserved by system.')]);
  });
});

describe('list and count', () => {
  const started = new Date();
  let taskQueue = '';
  let handles: WorkflowHandle[] = [];
  const inQueue = (query: string): string => `TaskQueue = '${taskQueue}' AND (${query})`;
  const ids = async (query: string): Promise<string[]> => (await list(inQueue(query))).map((run) => run.workflowId).sort();

  it('finds runs by system and custom search attributes, typed, in list order and across pages', async () => {
    taskQueue = uniqueTaskQueue('visibility');
    await withWorker({ connection: sdk.nativeConnection, taskQueue, workflowBundle: bundle }, async () => {
      const customers = [
        { id: 'c-1', amount: 5, priority: 1, vip: true, tags: ['red'], notes: 'Urgent: call back', wait: false },
        { id: 'c-2', amount: 20.5, priority: 2, vip: false, tags: ['red', 'blue'], notes: 'standard order', wait: false },
        { id: 'c-3', amount: 99, priority: 3, vip: true, tags: ['green'], notes: 'gift wrap', wait: false },
        { id: 'c-4', amount: 15, priority: 4, vip: false, tags: ['blue'], notes: 'urgent delivery', wait: true },
        { id: 'c-5', amount: 0.5, priority: 5, vip: false, tags: ['green', 'red'], notes: 'none', wait: true },
      ];
      handles = [];
      for (const c of customers) {
        const typedSearchAttributes = new TypedSearchAttributes([
          { key: CUSTOMER, value: c.id },
          { key: AMOUNT, value: c.amount },
          { key: PRIORITY, value: c.priority },
          { key: VIP, value: c.vip },
          { key: DUE, value: new Date(Date.UTC(2030, 0, c.priority)) },
          { key: TAGS, value: c.tags },
          { key: NOTES, value: c.notes },
        ]);
        const workflowId = `vis-${c.id}-${taskQueue}`;
        handles.push(recorder.record(await client.workflow.start(visibilityWorkflow, { taskQueue, workflowId, args: [c.wait], typedSearchAttributes, memo: { customer: c.id } })));
      }
      for (const handle of handles.slice(0, 3)) expect(await handle.result()).toBe('done');
      for (const handle of handles.slice(3)) {
        await waitFor(async () => (await handle.describe()).typedSearchAttributes.get(STAGE) === 'upserted', { description: 'the upsert' });
      }
      const id = (n: number): string => handles[n - 1]?.workflowId ?? '';

      const [c2] = await list(inQueue("CustomerId = 'c-2'"));
      expect(c2?.workflowId).toBe(id(2));
      expect(c2?.memo).toEqual({ customer: 'c-2' });
      expect(c2?.status.name).toBe('COMPLETED');
      const typed = c2?.typedSearchAttributes;
      expect([typed?.get(AMOUNT), typed?.get(PRIORITY), typed?.get(VIP), typed?.get(TAGS), typed?.get(NOTES), typed?.get(STAGE)]).toEqual([
        20.5, 2, false, ['red', 'blue'], 'standard order', 'upserted',
      ]);
      expect(typed?.get(DUE)).toEqual(new Date(Date.UTC(2030, 0, 2)));

      expect(await ids('Amount > 10')).toEqual([id(2), id(3), id(4)].sort());
      expect(await ids("Tags = 'red'")).toEqual([id(1), id(2), id(5)].sort());
      expect(await ids("Tags IN ('blue', 'green') AND Vip = true")).toEqual([id(3)]);
      expect(await ids("Notes = 'urgent'")).toEqual([id(1), id(4)].sort());
      expect(await ids("Due < '2030-01-03T00:00:00Z' OR Priority BETWEEN 4 AND 4")).toEqual([id(1), id(2), id(4)].sort());
      expect(await ids("ExecutionStatus = 'Running'")).toEqual([id(4), id(5)].sort());
      expect(await ids('CloseTime IS NOT NULL AND NOT Priority = 1')).toEqual([id(2), id(3)].sort());
      expect(await ids(`WorkflowId STARTS_WITH 'vis-c-' AND StartTime >= '${started.toISOString()}' AND HistoryLength > 0`)).toHaveLength(5);
      expect(await ids("Stage = 'upserted' AND WorkflowType = 'visibilityWorkflow'")).toHaveLength(5);

      // Open runs first (newest start first), then closed ones by close time, newest first.
      const ordered = await list(`TaskQueue = '${taskQueue}'`, 2);
      expect(ordered.map((run) => run.workflowId).slice(0, 2)).toEqual([id(5), id(4)]);
      const closeTimes = ordered.slice(2).map((run) => run.closeTime?.getTime() ?? 0);
      expect(closeTimes).toEqual([...closeTimes].sort((a, b) => b - a));

      expect((await client.workflow.count(`TaskQueue = '${taskQueue}'`)).count).toBe(5);
      const grouped = await client.workflow.count(`TaskQueue = '${taskQueue}' GROUP BY ExecutionStatus`);
      expect(grouped.count).toBe(5);
      const groups = grouped.groups.map((group) => [JSON.stringify(group.groupValues), group.count]).sort();
      expect(groups).toEqual([
        [JSON.stringify([['Completed']]), 3],
        [JSON.stringify([['Running']]), 2],
      ]);

      for (const handle of handles.slice(3)) await handle.signal(finishSignal);
      for (const handle of handles.slice(3)) expect(await handle.result()).toBe('done');
      expect((await client.workflow.count(`TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Completed'`)).count).toBe(5);
    });
  });

  it('shows typed search attributes from start and upsert in describe', async () => {
    const described = await (handles[0] ?? client.workflow.getHandle('missing')).describe();
    expect(described.typedSearchAttributes.get(CUSTOMER)).toBe('c-1');
    expect(described.typedSearchAttributes.get(TAGS)).toEqual(['red']);
    expect(described.typedSearchAttributes.get(STAGE)).toBe('upserted');
    expect(described.searchAttributes['Due']).toEqual([new Date(Date.UTC(2030, 0, 1))]);
  });
});

describe('parent and root', () => {
  it('finds a child by ParentWorkflowId, with its parent execution; a top-level run is its own root', async () => {
    const taskQueue = uniqueTaskQueue('vis-child');
    await withWorker({ connection: sdk.nativeConnection, taskQueue, workflowBundle: bundle }, async () => {
      const childId = `vis-child-${taskQueue}`;
      const parent = recorder.record(await client.workflow.start(visibilityParentWorkflow, { taskQueue, workflowId: `vis-parent-${taskQueue}`, args: [childId] }));
      expect(await parent.result()).toBe('done');
      const [child] = await list(`ParentWorkflowId = '${parent.workflowId}'`);
      expect(child?.workflowId).toBe(childId);
      expect(child?.parentExecution).toEqual({ workflowId: parent.workflowId, runId: (await parent.describe()).runId });
      const [top] = await list(`RootWorkflowId = '${parent.workflowId}' AND ParentWorkflowId IS NULL`);
      expect(top?.rootExecution?.workflowId).toBe(parent.workflowId);
      recorder.record(client.workflow.getHandle(childId));
    });
  });
});

describe('bad input', () => {
  it.each([
    ["Nope = 'x'", "column name 'Nope' is not a valid search attribute"],
    ['CustomerId = ', 'unexpected end of query at position 14'],
    ['ExecutionStatus = Running', "unexpected token 'Running' at position 19"],
    ["Tags > 'x'", "operator '>' not supported for KeywordList type search attribute 'Tags'"],
    ["Amount = 'lots'", 'invalid value for search attribute Amount of type Double'],
    ['ORDER BY StartTime', "'ORDER BY' clause"],
  ])('refuses the query %j with INVALID_ARGUMENT', async (query, message) => {
    for (const call of [client.workflow.count(query), list(query)]) {
      const error = await failure(call);
      expect(grpcCode(error), grpcMessage(error)).toBe(3);
      expect(grpcMessage(error)).toContain(`invalid query: `);
      expect(grpcMessage(error)).toContain(message);
    }
  });

  it('refuses to start a workflow with an unregistered or mistyped search attribute', async () => {
    const taskQueue = uniqueTaskQueue('vis-bad');
    const unregistered = defineSearchAttributeKey('Unregistered', SearchAttributeType.KEYWORD);
    type StartOptions = Pick<Parameters<typeof client.workflow.start<typeof visibilityWorkflow>>[1], 'typedSearchAttributes' | 'searchAttributes'>;
    const start = (options: StartOptions) =>
      client.workflow.start(visibilityWorkflow, { taskQueue, workflowId: `vis-bad-${Math.random()}`, args: [false], ...options });
    const unknown = await failure(start({ typedSearchAttributes: [{ key: unregistered, value: 'x' }] }));
    expect([grpcCode(unknown), grpcMessage(unknown)]).toEqual([3, expect.stringContaining('search attribute Unregistered is not defined')]);
    const mistyped = await failure(start({ searchAttributes: { Priority: ['high'] } }));
    expect([grpcCode(mistyped), grpcMessage(mistyped)]).toEqual([3, expect.stringContaining('invalid value for search attribute Priority of type Int')]);
    expect((await client.workflow.count(`TaskQueue = '${taskQueue}'`)).count).toBe(0);
  });
});

describe('upserts', () => {
  it('fails the workflow task that upserts an unregistered attribute, naming it', async () => {
    const taskQueue = uniqueTaskQueue('vis-upsert-bad');
    await withWorker({ connection: sdk.nativeConnection, taskQueue, workflowBundle: bundle }, async () => {
      const handle = await client.workflow.start(upsertUnregisteredWorkflow, { taskQueue, workflowId: `vis-upsert-bad-${Math.random()}` });
      const failed = await waitFor(async () => {
        const events = (await handle.fetchHistory()).events ?? [];
        return events.find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes ?? undefined;
      }, { description: 'the failed workflow task' });
      expect(failed.cause).toBe(enums.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES);
      expect(failed.failure?.message).toContain('search attribute NeverRegistered is not defined');
      await handle.terminate('test over');
    });
  });
});

describe('replay', () => {
  it('replays every history this file produced', async () => {
    expect(await recorder.replayAll(bundle)).toEqual([]);
  });
});
