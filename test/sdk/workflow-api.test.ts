/**
 * Workflow API: currentUpdateInfo() inside and outside update handlers, the unfinished-handler
 * warning and HandlerUnfinishedPolicy.ABANDON, and typed search attributes (read at start, upserted
 * with typed pairs, stored on the server with their types).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { api } from '@kairos/common';
import { WorkflowUpdateStage } from '@kairos/client';
import type { WorkflowBundle } from '@kairos/worker';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { connect, type Connections } from '../e2e/helpers/sdk.js';
import { finish, slowSignal, slowUpdate, whoAmI } from './fixtures/workflow-api-workflows.js';
import { addSearchAttributes, startSdkEnvironment, uniqueName, type SdkEnvironment } from './helpers.js';

const WORKFLOWS = path.join(import.meta.dirname, 'fixtures/workflow-api-workflows.ts');

let env: SdkEnvironment;
let bundle: WorkflowBundle;
let official: Connections;

beforeAll(async () => {
  env = await startSdkEnvironment(WORKFLOWS);
  bundle = env.bundle;
  official = await connect(env.server.grpcAddress);
  const { IndexedValueType } = api.enums.v1;
  await addSearchAttributes(env, {
    ApiStage: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    ApiCount: IndexedValueType.INDEXED_VALUE_TYPE_INT,
    ApiWhen: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    ApiLabels: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
  });
});

afterAll(async () => {
  await official?.close();
  await env?.close();
});

describe('currentUpdateInfo', () => {
  it('is the running update inside its handler (across awaits and scopes) and undefined outside', async () => {
    await env.withWorker(
      async (taskQueue) => {
        const handle = await env.client.workflow.start('updateInfoWorkflow', { taskQueue, workflowId: uniqueName('update-info') });
        const updateId = uniqueName('upd');
        const seen = await handle.executeUpdate(whoAmI, { updateId });
        const expected = { id: updateId, name: 'whoAmI' };
        expect(seen).toEqual({ before: expected, afterSleep: expected, nested: expected, viaInfo: expected });
        await handle.signal(finish);
        expect(await handle.result()).toEqual({ outside: true, outsideViaInfo: true });
      },
      { workflowBundle: bundle },
    );
  });
});

describe('unfinished handlers', () => {
  async function runWithPolicy(policy: 'WARN_AND_ABANDON' | 'ABANDON'): Promise<string[]> {
    const warnings: string[] = [];
    const spy = vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
      warnings.push(args.map(String).join(' '));
    });
    try {
      await env.withWorker(
        async (taskQueue) => {
          const handle = await env.client.workflow.start('unfinishedHandlersWorkflow', { taskQueue, workflowId: uniqueName('unfinished'), args: [policy] });
          await handle.signal(slowSignal);
          await handle.startUpdate(slowUpdate, { waitForStage: WorkflowUpdateStage.ACCEPTED, updateId: 'slow-1' });
          expect(await handle.result()).toBe('done with false');
        },
        { workflowBundle: bundle },
      );
    } finally {
      spy.mockRestore();
    }
    return warnings.filter((w) => w.includes('TMPRL1102'));
  }

  it('WARN_AND_ABANDON (the default) logs a warning naming the unfinished update and signal', async () => {
    const warnings = await runWithPolicy('WARN_AND_ABANDON');
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('update handler was still running');
    expect(warnings[0]).toContain('[{"name":"slowUpdate","id":"slow-1"}]');
    expect(warnings[1]).toContain('signal handler was still running');
    expect(warnings[1]).toContain('[{"name":"slowSignal","count":1}]');
  });

  it('ABANDON logs nothing', async () => {
    expect(await runWithPolicy('ABANDON')).toEqual([]);
  });
});

describe('typed search attributes', () => {
  it('workflowInfo().typedSearchAttributes has the start attributes and follows typed upserts', async () => {
    await env.withWorker(
      async (taskQueue) => {
        const workflowId = uniqueName('typed-sa');
        // Our client does not set search attributes at start yet: the official client does.
        const handle = await official.client.workflow.start('typedSearchAttributesWorkflow', {
          taskQueue,
          workflowId,
          typedSearchAttributes: [
            { key: defineSearchAttributeKey('ApiStage', SearchAttributeType.KEYWORD), value: 'started' },
            { key: defineSearchAttributeKey('ApiCount', SearchAttributeType.INT), value: 7 },
            { key: defineSearchAttributeKey('ApiLabels', SearchAttributeType.KEYWORD_LIST), value: ['a'] },
          ],
        });
        const result = await handle.result();
        expect(result).toEqual({
          start: { stage: 'started', count: 7, when: null, labels: ['a'] },
          after: { stage: 'upserted', count: null, when: '2030-01-02T03:04:05.000Z', labels: ['x', 'y'] },
          untyped: { ApiStage: ['upserted'], ApiWhen: ['2030-01-02T03:04:05.000Z'], ApiLabels: ['x', 'y'] },
        });
        const described = await official.client.workflow.getHandle(workflowId).describe();
        expect(described.typedSearchAttributes.get(defineSearchAttributeKey('ApiStage', SearchAttributeType.KEYWORD))).toBe('upserted');
        expect(described.typedSearchAttributes.get(defineSearchAttributeKey('ApiCount', SearchAttributeType.INT))).toBeUndefined();
        expect(described.typedSearchAttributes.get(defineSearchAttributeKey('ApiWhen', SearchAttributeType.DATETIME))?.toISOString()).toBe('2030-01-02T03:04:05.000Z');
        expect(described.typedSearchAttributes.get(defineSearchAttributeKey('ApiLabels', SearchAttributeType.KEYWORD_LIST))).toEqual(['x', 'y']);
      },
      { workflowBundle: bundle },
    );
  });
});
