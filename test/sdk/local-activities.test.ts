/**
 * Local activities: run by the Kairos worker inside the workflow task, retried there, recorded as
 * sdk-core's `core_local_activity` markers, never run again on replay, and histories cross between
 * the SDKs both ways.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker, type WorkflowBundle } from '@kairos/worker';
import { Worker as OfficialWorker, type WorkflowBundle as OfficialBundle } from '@temporalio/worker';
import * as officialActivities from '../e2e/activities.js';
import { withWorker as withOfficialWorker, type Connections } from '../e2e/helpers/sdk.js';
import { activityLog } from './activities.js';
import { startCrossSdk, type CrossSdk } from './cross-sdk.js';
import { eventTypes, uniqueName, type SdkEnvironment } from './helpers.js';

let env: SdkEnvironment;
let sharedBundle: WorkflowBundle;
let officialBundle: OfficialBundle;
let official: Connections;
let cross: CrossSdk | undefined;

beforeAll(async () => {
  cross = await startCrossSdk();
  ({ env, sharedBundle, officialBundle, official } = cross);
});

afterAll(async () => cross?.close());

const EXPECTED = ['Hello, local!', 'attempts 3', 'InvalidInputError: no way', 'Hello, after timer!'];

function markers(history: Awaited<ReturnType<ReturnType<SdkEnvironment['client']['workflow']['getHandle']>['fetchHistory']>>) {
  return (history.events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity');
}

describe.each([
  { label: 'with the workflow cache', maxCachedWorkflows: undefined },
  { label: 'without it (every task replays)', maxCachedWorkflows: 0 },
])('local activities $label', ({ maxCachedWorkflows }) => {
  it('returns results, retries in the worker, surfaces a non-retryable failure, and does not run again on replay', async () => {
    const key = uniqueName('la');
    const workflowId = uniqueName('k-la');
    const result = await env.withWorker(
      async (taskQueue) => await env.client.workflow.execute('localActivityWorkflow', { taskQueue, workflowId, args: [key] }),
      { workflowBundle: sharedBundle, ...(maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows }) },
    );
    expect(result).toEqual(EXPECTED);
    // Each attempt ran once: the task after the timer replayed (or continued) without running them again.
    expect(activityLog.attempts.get(`${key}-flaky`)).toEqual([1, 2, 3]);
    expect(activityLog.attempts.get(`${key}-fail`)).toEqual([1]);
    const handle = env.client.workflow.getHandle(workflowId);
    const types = await eventTypes(handle);
    expect(types).not.toContain('ACTIVITY_TASK_SCHEDULED');
    expect(types.filter((t) => t === 'MARKER_RECORDED')).toHaveLength(4);
    const history = await handle.fetchHistory();
    const failed = markers(history)[2]?.markerRecordedEventAttributes;
    expect(failed?.failure?.applicationFailureInfo?.type).toBe('InvalidInputError');
    expect(failed?.details?.['result']).toBeUndefined();
    await Worker.runReplayHistory({ workflowBundle: sharedBundle }, history, workflowId);
    expect(activityLog.attempts.get(`${key}-flaky`)).toEqual([1, 2, 3]);
  });
});

describe('local activity backoff', () => {
  it('waits on a durable timer when the backoff exceeds localRetryThreshold', async () => {
    const key = uniqueName('la-backoff');
    const workflowId = uniqueName('k-la-backoff');
    const result = await env.withWorker(
      async (taskQueue) => await env.client.workflow.execute('localActivityWithTimerBackoff', { taskQueue, workflowId, args: [key] }),
      { workflowBundle: sharedBundle },
    );
    expect(result).toBe(3);
    expect(activityLog.attempts.get(key)).toEqual([1, 2, 3]);
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    const data = markers(history).map((e) => JSON.parse(Buffer.from(e.markerRecordedEventAttributes?.details?.['data']?.payloads?.[0]?.data ?? []).toString()) as { backoff: unknown; attempt: number });
    expect(data.map((d) => [d.attempt, d.backoff !== null])).toEqual([[1, true], [2, true], [3, false]]);
    expect((history.events ?? []).filter((e) => e.timerStartedEventAttributes)).toHaveLength(2);
    await Worker.runReplayHistory({ workflowBundle: sharedBundle }, history, workflowId);
    await OfficialWorker.runReplayHistory({ workflowBundle: officialBundle, replayName: 'la-backoff' }, history as never, workflowId);
  });
});

describe('cross-SDK replay of local activities', () => {
  it('a history written by the Kairos worker replays in the official SDK', async () => {
    const workflowId = uniqueName('k-la-cross');
    await env.withWorker(
      async (taskQueue) => await env.client.workflow.execute('localActivityWorkflow', { taskQueue, workflowId, args: [uniqueName('x')] }),
      { workflowBundle: sharedBundle },
    );
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    await OfficialWorker.runReplayHistory({ workflowBundle: officialBundle, replayName: 'kairos-la' }, history as never, workflowId);
  });

  it('a history written by the official worker replays in the Kairos SDK', async () => {
    const workflowId = uniqueName('o-la-cross');
    await withOfficialWorker(
      { connection: official.nativeConnection, taskQueue: uniqueName('official-la'), workflowBundle: officialBundle, activities: officialActivities },
      async (worker) => {
        const result = await official.client.workflow.execute('localActivityWorkflow', { taskQueue: worker.options.taskQueue, workflowId, args: [uniqueName('y')] });
        expect(result).toEqual(EXPECTED);
      },
    );
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    expect(markers(history)).toHaveLength(4);
    const before = activityLog.attempts.size;
    await Worker.runReplayHistory({ workflowBundle: sharedBundle }, history, workflowId);
    expect(activityLog.attempts.size).toBe(before);
  });
});
