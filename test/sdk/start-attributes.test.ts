/**
 * Search attributes and memo set at start: our client's `searchAttributes` (untyped lists) and
 * `typedSearchAttributes` reach the server exactly as the official client writes them, describe()
 * decodes them like the official client's, list() finds the run by a custom Keyword attribute, and
 * child workflows and continue-as-new set their own.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TypedSearchAttributes, WithStartWorkflowOperation } from '@kairos/client';
import { api } from '@kairos/common';
import { encodeUnifiedSearchAttributes, type Payload } from '@kairos/sdk-common';
import type { WorkflowBundle } from '@kairos/worker';
import { encodeUnifiedSearchAttributes as officialEncode } from '@temporalio/common/lib/converter/payload-search-attributes.js';
import { defineSearchAttributeKey as officialKey, SearchAttributeType as OfficialType } from '@temporalio/common';
import { connect, type Connections } from '../e2e/helpers/sdk.js';
import { scoreKey, seenAttributesUpdate, tierKey } from './fixtures/start-attributes-workflows.js';
import { addSearchAttributes, startSdkEnvironment, uniqueName, type SdkEnvironment } from './helpers.js';

const WORKFLOWS = path.join(import.meta.dirname, 'fixtures/start-attributes-workflows.ts');
const when = new Date('2031-05-06T07:08:09.000Z');

let env: SdkEnvironment;
let bundle: WorkflowBundle;
let official: Connections;

beforeAll(async () => {
  env = await startSdkEnvironment(WORKFLOWS);
  bundle = env.bundle;
  official = await connect(env.server.grpcAddress);
  const { IndexedValueType } = api.enums.v1;
  await addSearchAttributes(env, {
    StartTier: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    StartScore: IndexedValueType.INDEXED_VALUE_TYPE_INT,
    StartWhen: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    StartTags: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
    StartLegacy: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  });
});

afterAll(async () => {
  await official?.close();
  await env?.close();
});

const whenKey = { name: 'StartWhen', type: 'DATETIME' } as const;
const tagsKey = { name: 'StartTags', type: 'KEYWORD_LIST' } as const;

function readable(fields: Record<string, Payload>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(fields).map(([name, p]) => [
      name,
      { data: Buffer.from(p.data ?? []).toString(), metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString()])) },
    ]),
  );
}

describe('search attributes and memo at start', () => {
  it('encode to the payloads the official SDK makes (before the server types untyped ones)', () => {
    const untyped = { StartLegacy: ['old'], StartTier: ['loses'], StartWhen: [when] };
    const typed = [
      { key: tierKey, value: 'gold' },
      { key: whenKey, value: when },
      { key: tagsKey, value: ['a'] },
      { key: scoreKey, value: null },
    ];
    expect(readable(encodeUnifiedSearchAttributes(untyped, typed as never))).toEqual(readable(officialEncode(untyped, typed as never) as Record<string, Payload>));
  });

  it('are stored as the official client stores them; describe() (ours and official) and list() see them', async () => {
    const workflowId = uniqueName('start-sa');
    const officialId = uniqueName('start-sa-official');
    const typed = [
      { key: tierKey, value: 'gold' },
      { key: scoreKey, value: 42 },
      { key: whenKey, value: when },
      { key: tagsKey, value: ['a', 'b'] },
    ];
    const memo = { owner: 'ops', nested: { n: 1 } };
    // No worker: the runs stay open, which is all describe and list need.
    const handle = await env.client.workflow.start('readStartAttributes', {
      taskQueue: uniqueName('no-worker'),
      workflowId,
      typedSearchAttributes: new TypedSearchAttributes(typed),
      searchAttributes: { StartLegacy: ['old'], StartTier: ['overridden by the typed value'] },
      memo,
    });
    await official.client.workflow.start('readStartAttributes', {
      taskQueue: uniqueName('no-worker'),
      workflowId: officialId,
      typedSearchAttributes: [
        { key: officialKey('StartTier', OfficialType.KEYWORD), value: 'gold' },
        { key: officialKey('StartScore', OfficialType.INT), value: 42 },
        { key: officialKey('StartWhen', OfficialType.DATETIME), value: when },
        { key: officialKey('StartTags', OfficialType.KEYWORD_LIST), value: ['a', 'b'] },
      ],
      searchAttributes: { StartLegacy: ['old'] },
      memo,
    });

    // The same payloads (data and metadata) as the official client's.
    const rawFields = async (id: string): Promise<Record<string, unknown>> => {
      const raw = await env.connection.workflowService.describeWorkflowExecution({ namespace: 'default', execution: { workflowId: id } });
      const fields = raw.workflowExecutionInfo?.searchAttributes?.indexedFields ?? {};
      return Object.fromEntries(
        Object.entries(fields).map(([name, p]) => [
          name,
          { data: Buffer.from(p.data ?? []).toString(), metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString()])) },
        ]),
      );
    };
    const ours = await rawFields(workflowId);
    expect(ours).toEqual(await rawFields(officialId));
    expect(ours['StartTier']).toEqual({ data: '"gold"', metadata: { encoding: 'json/plain', type: 'Keyword' } });
    // The server adds the registered type to untyped values, as Temporal's does.
    expect(ours['StartLegacy']).toEqual({ data: '["old"]', metadata: { encoding: 'json/plain', type: 'Keyword' } });

    const described = await handle.describe();
    const officialDescribed = await official.client.workflow.getHandle(workflowId).describe();
    expect(described.memo).toEqual(memo);
    expect(officialDescribed.memo).toEqual(memo);
    expect(described.searchAttributes).toEqual(officialDescribed.searchAttributes);
    expect(described.searchAttributes['StartWhen']).toEqual([when]);
    expect(described.typedSearchAttributes.getAll()).toEqual(officialDescribed.typedSearchAttributes.getAll());
    expect(described.typedSearchAttributes.get(tierKey)).toBe('gold');
    expect(described.typedSearchAttributes.get(scoreKey)).toBe(42);
    expect(described.typedSearchAttributes.get(whenKey)).toEqual(when);
    expect(described.typedSearchAttributes.get(tagsKey)).toEqual(['a', 'b']);

    const listed: Array<{ id: string; tier: string | undefined; memo: unknown }> = [];
    for await (const execution of env.client.workflow.list({ query: `StartTier = 'gold' AND StartLegacy = 'old'` })) {
      listed.push({ id: execution.workflowId, tier: execution.typedSearchAttributes.get(tierKey), memo: execution.memo });
    }
    expect(listed.sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      [workflowId, officialId].sort().map((id) => ({ id, tier: 'gold', memo })),
    );
    await handle.terminate();
    await official.client.workflow.getHandle(officialId).terminate();
  });

  it('signalWithStart and update-with-start set them too', async () => {
    const signalId = uniqueName('swS-sa');
    const handle = await env.client.workflow.signalWithStart('readStartAttributes', {
      taskQueue: uniqueName('no-worker'),
      workflowId: signalId,
      signal: 'anything',
      typedSearchAttributes: [{ key: tierKey, value: 'signalled' }],
      memo: { via: 'signalWithStart' },
    });
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(tierKey)).toBe('signalled');
    expect(described.memo).toEqual({ via: 'signalWithStart' });
    await handle.terminate();

    await env.withWorker(
      async (taskQueue) => {
        const updateId = uniqueName('uws-sa');
        const operation = WithStartWorkflowOperation.create('readStartAttributes', {
          taskQueue,
          workflowId: updateId,
          workflowIdConflictPolicy: 'FAIL',
          typedSearchAttributes: [{ key: tierKey, value: 'updated' }],
          memo: { via: 'updateWithStart' },
        });
        const seen = await env.client.workflow.executeUpdateWithStart(seenAttributesUpdate, { startWorkflowOperation: operation });
        expect(seen).toMatchObject({ tier: 'updated', memo: { via: 'updateWithStart' } });
        await (await operation.workflowHandle()).result();
      },
      { workflowBundle: bundle },
    );
  });

  it('workflowInfo() of the run sees them', async () => {
    const seen = await env.withWorker(
      async (taskQueue) =>
        await env.client.workflow.execute('readStartAttributes', {
          taskQueue,
          workflowId: uniqueName('start-sa-info'),
          typedSearchAttributes: [{ key: tierKey, value: 'silver' }],
          searchAttributes: { StartScore: [5] },
          memo: { k: 'v' },
        }),
      { workflowBundle: bundle },
    );
    // The untyped StartScore reaches the typed view too: the server typed it by its registration.
    expect(seen).toEqual({ tier: 'silver', score: 5, untyped: { StartTier: ['silver'], StartScore: [5] }, memo: { k: 'v' } });
  });

  it('a child workflow and continue-as-new set their own', async () => {
    await env.withWorker(
      async (taskQueue) => {
        const parentId = uniqueName('sa-parent');
        const child = await env.client.workflow.execute('parentSettingChildAttributes', { taskQueue, workflowId: parentId });
        expect(child).toEqual({ tier: 'child', score: 3, untyped: { StartTier: ['child'], StartScore: [3] }, memo: { from: 'parent' } });
        const childDescribed = await env.client.workflow.getHandle(`${parentId}-child`).describe();
        expect(childDescribed.typedSearchAttributes.get(tierKey)).toBe('child');

        const continuedId = uniqueName('sa-can');
        const continued = await env.client.workflow.execute('continueWithAttributes', {
          taskQueue,
          workflowId: continuedId,
          args: [0],
          typedSearchAttributes: [{ key: tierKey, value: 'first' }],
          memo: { round: 0 },
        });
        expect(continued).toEqual({ tier: 'continued', score: 2, untyped: { StartTier: ['continued'], StartScore: [2] }, memo: { round: 1 } });
      },
      { workflowBundle: bundle },
    );
  });
});
