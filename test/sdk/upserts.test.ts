/**
 * Search attribute and memo upserts from workflow code: the commands reach the server (describe and
 * list see them), workflowInfo() follows them, and histories with upserts cross between the SDKs.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { api } from '@kairos/common';
import { Worker, type WorkflowBundle } from '@kairos/worker';
import { Worker as OfficialWorker, type WorkflowBundle as OfficialBundle } from '@temporalio/worker';
import * as officialActivities from '../e2e/activities.js';
import { withWorker as withOfficialWorker, type Connections } from '../e2e/helpers/sdk.js';
import { startCrossSdk, type CrossSdk } from './cross-sdk.js';
import { uniqueName, type SdkEnvironment } from './helpers.js';

let env: SdkEnvironment;
let sharedBundle: WorkflowBundle;
let officialBundle: OfficialBundle;
let official: Connections;
let cross: CrossSdk | undefined;

beforeAll(async () => {
  cross = await startCrossSdk();
  ({ env, sharedBundle, officialBundle, official } = cross);
  // The attribute the shared workflow upserts.
  await official.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: { CrossStage: api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD },
  });
});

afterAll(async () => cross?.close());

const START_MEMO = { note: 'start', gone: 1, kept: true };
const EXPECTED = { searchAttributes: ['upserted'], memo: { note: 'changed', kept: true } };

it('upserts search attributes and memo: describe, list and workflowInfo() see them; the history replays in the official SDK', async () => {
  const workflowId = uniqueName('k-upsert');
  const result = await env.withWorker(
    async (taskQueue) => await env.client.workflow.execute('upsertingWorkflow', { taskQueue, workflowId, memo: START_MEMO }),
    { workflowBundle: sharedBundle, maxCachedWorkflows: 0 },
  );
  expect(result).toEqual(EXPECTED);
  const handle = env.client.workflow.getHandle(workflowId);
  expect((await handle.describe()).memo).toEqual(EXPECTED.memo);
  const raw = await env.connection.workflowService.describeWorkflowExecution({ namespace: 'default', execution: { workflowId } });
  const stage = raw.workflowExecutionInfo?.searchAttributes?.indexedFields?.['CrossStage'];
  expect(Buffer.from(stage?.data ?? []).toString()).toBe('["upserted"]');
  const listed: string[] = [];
  for await (const execution of env.client.workflow.list({ query: `CrossStage = 'upserted' AND WorkflowId = '${workflowId}'` })) listed.push(execution.workflowId);
  expect(listed).toEqual([workflowId]);
  const history = await handle.fetchHistory();
  const types = (history.events ?? []).map((e) => e.eventType);
  expect(types).toContain(api.enums.v1.EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES);
  expect(types).toContain(api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED);
  await Worker.runReplayHistory({ workflowBundle: sharedBundle }, history, workflowId);
  await OfficialWorker.runReplayHistory({ workflowBundle: officialBundle, replayName: 'kairos-upsert' }, history as never, workflowId);
});

it('a history with upserts written by the official worker replays in the Kairos SDK', async () => {
  const workflowId = uniqueName('o-upsert');
  await withOfficialWorker(
    { connection: official.nativeConnection, taskQueue: uniqueName('official-upsert'), workflowBundle: officialBundle, activities: officialActivities },
    async (worker) => {
      const result = await official.client.workflow.execute('upsertingWorkflow', { taskQueue: worker.options.taskQueue, workflowId, memo: START_MEMO });
      expect(result).toEqual(EXPECTED);
    },
  );
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  await Worker.runReplayHistory({ workflowBundle: sharedBundle }, history, workflowId);
});
