/**
 * Workflow updates with the Kairos SDK against a Kairos server: accepted and completed, rejected by a
 * validator (no history events), failed by the handler, started with waitForStage ACCEPTED,
 * de-duplicated by update id, update-with-start, and histories with updates replayed across the SDKs.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApplicationFailure,
  WithStartWorkflowOperation,
  WorkflowUpdateFailedError,
  WorkflowUpdateStage,
  defineQuery,
  defineSignal,
  defineUpdate,
  type Client,
  type WorkflowHandle,
} from '@kairos/client';
import { Worker } from '@kairos/worker';
import { Worker as OfficialWorker, type WorkflowBundle as OfficialBundle } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import * as officialActivities from '../e2e/activities.js';
import { bundleWorkflows, connect, withWorker as withOfficialWorker, type Connections } from '../e2e/helpers/sdk.js';
import { eventTypes, OFFICIAL_TO_KAIROS, startSdkEnvironment, uniqueName, type SdkEnvironment } from './helpers.js';

const UPDATE_WORKFLOWS = path.join(import.meta.dirname, 'workflows/updates.ts');

// The definitions of workflows/updates.ts, from the client's side.
const addUpdate = defineUpdate<number, [number]>('add');
const refuseUpdate = defineUpdate<never, [string]>('refuse');
const greetLaterUpdate = defineUpdate<string, [string]>('greetLater');
const releaseSignal = defineSignal('release');
const finishSignal = defineSignal('finish');
const addCallsQuery = defineQuery<number>('addCalls');

let env: SdkEnvironment;
let client: Client;
let officialBundle: OfficialBundle;
let official: Connections;

beforeAll(async () => {
  env = await startSdkEnvironment(UPDATE_WORKFLOWS, OFFICIAL_TO_KAIROS);
  client = env.client;
  [officialBundle, official] = await Promise.all([bundleWorkflows(UPDATE_WORKFLOWS), connect(env.server.grpcAddress)]);
});

afterAll(async () => {
  await official?.close();
  await env?.close();
});

async function startCounter(taskQueue: string, initial = 0): Promise<WorkflowHandle<number>> {
  const handle = await client.workflow.start('updatableCounter', { taskQueue, workflowId: uniqueName('counter'), args: [initial] });
  return handle as WorkflowHandle as WorkflowHandle<number>;
}

async function finish(handle: WorkflowHandle<number>): Promise<number> {
  await handle.signal(finishSignal);
  return await handle.result();
}

function count(types: string[], type: string): number {
  return types.filter((t) => t === type).length;
}

describe('Kairos SDK updates', () => {
  it('accepts and completes an update, returning its result', async () => {
    await env.withWorker(async (taskQueue) => {
      const handle = await startCounter(taskQueue, 10);
      expect(await handle.executeUpdate(addUpdate, { args: [5] })).toBe(15);
      expect(await handle.executeUpdate(addUpdate, { args: [7] })).toBe(22);
      expect(await finish(handle)).toBe(22);
      const types = await eventTypes(handle);
      expect(count(types, 'WORKFLOW_EXECUTION_UPDATE_ACCEPTED')).toBe(2);
      expect(count(types, 'WORKFLOW_EXECUTION_UPDATE_COMPLETED')).toBe(2);
      // Each update's Accepted event directly follows the completion of the task that carried it.
      const accepted = types.indexOf('WORKFLOW_EXECUTION_UPDATE_ACCEPTED');
      expect(types[accepted - 1]).toBe('WORKFLOW_TASK_COMPLETED');
      expect(types[accepted + 1]).toBe('WORKFLOW_EXECUTION_UPDATE_COMPLETED');
      const history = await handle.fetchHistory();
      const completed = history.events?.find((e) => e.workflowExecutionUpdateCompletedEventAttributes)?.workflowExecutionUpdateCompletedEventAttributes;
      expect(completed?.outcome?.success?.payloads).toHaveLength(1);
    });
  });

  it('a validator rejection fails the call and writes no events', async () => {
    await env.withWorker(async (taskQueue) => {
      const handle = await startCounter(taskQueue, 1);
      expect(await handle.executeUpdate(addUpdate, { args: [1] })).toBe(2);
      const before = await eventTypes(handle);
      const error = await handle.executeUpdate(addUpdate, { args: [-3] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
      expect((error as WorkflowUpdateFailedError).cause).toBeInstanceOf(ApplicationFailure);
      expect((error as WorkflowUpdateFailedError).cause?.message).toBe('cannot add a negative number: -3');
      expect(await eventTypes(handle)).toEqual(before);
      expect(await handle.query(addCallsQuery)).toBe(1);
      expect(await finish(handle)).toBe(2);
    });
  });

  it('a handler failure surfaces as WorkflowUpdateFailedError with the failure as cause', async () => {
    await env.withWorker(async (taskQueue) => {
      const handle = await startCounter(taskQueue);
      const error = await handle.executeUpdate(refuseUpdate, { args: ['no'] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
      const cause = (error as WorkflowUpdateFailedError).cause;
      expect(cause).toBeInstanceOf(ApplicationFailure);
      expect((cause as ApplicationFailure).type).toBe('UpdateRefused');
      expect(cause?.message).toBe('refused: no');
      // Accepted, then completed with the failure: the workflow goes on.
      const types = await eventTypes(handle);
      expect(count(types, 'WORKFLOW_EXECUTION_UPDATE_ACCEPTED')).toBe(1);
      expect(count(types, 'WORKFLOW_EXECUTION_UPDATE_COMPLETED')).toBe(1);
      expect(await finish(handle)).toBe(0);
    });
  });

  it('startUpdate waiting for ACCEPTED returns a handle whose result() waits for the handler', async () => {
    await env.withWorker(async (taskQueue) => {
      const handle = await startCounter(taskQueue);
      const updateId = uniqueName('greet');
      const update = await handle.startUpdate(greetLaterUpdate, { args: ['Kairos'], updateId, waitForStage: WorkflowUpdateStage.ACCEPTED });
      expect(update.updateId).toBe(updateId);
      expect(update.workflowId).toBe(handle.workflowId);
      const types = await eventTypes(handle);
      expect(count(types, 'WORKFLOW_EXECUTION_UPDATE_ACCEPTED')).toBe(1);
      expect(count(types, 'WORKFLOW_EXECUTION_UPDATE_COMPLETED')).toBe(0);
      await handle.signal(releaseSignal);
      expect(await update.result()).toBe('Hello, Kairos!');
      // Any client can follow it by id.
      expect(await client.workflow.getHandle(handle.workflowId).getUpdateHandle<string>(updateId).result()).toBe('Hello, Kairos!');
      expect(await finish(handle)).toBe(0);
    });
  });

  it('de-duplicates updates by updateId', async () => {
    await env.withWorker(async (taskQueue) => {
      const handle = await startCounter(taskQueue, 100);
      const updateId = uniqueName('add');
      expect(await handle.executeUpdate(addUpdate, { args: [1], updateId })).toBe(101);
      expect(await handle.executeUpdate(addUpdate, { args: [1], updateId })).toBe(101);
      const again = await handle.startUpdate(addUpdate, { args: [1], updateId, waitForStage: WorkflowUpdateStage.ACCEPTED });
      expect(await again.result()).toBe(101);
      expect(await handle.query(addCallsQuery)).toBe(1);
      expect(count(await eventTypes(handle), 'WORKFLOW_EXECUTION_UPDATE_ACCEPTED')).toBe(1);
      expect(await finish(handle)).toBe(101);
    });
  });

  it('update-with-start starts the workflow with the update, and updates it when it runs', async () => {
    await env.withWorker(async (taskQueue) => {
      const workflowId = uniqueName('uws');
      const operation = () =>
        WithStartWorkflowOperation.create('updatableCounter', { workflowId, taskQueue, args: [40], workflowIdConflictPolicy: 'USE_EXISTING' });
      const first = operation();
      expect(await client.workflow.executeUpdateWithStart(addUpdate, { args: [1], startWorkflowOperation: first })).toBe(41);
      const handle = await first.workflowHandle();
      expect(handle.workflowId).toBe(workflowId);
      const second = operation();
      const update = await client.workflow.startUpdateWithStart(addUpdate, {
        args: [1],
        waitForStage: WorkflowUpdateStage.ACCEPTED,
        startWorkflowOperation: second,
      });
      expect(await update.result()).toBe(42);
      expect((await second.workflowHandle()).firstExecutionRunId).toBe(handle.firstExecutionRunId);
      expect(await finish(client.workflow.getHandle(workflowId) as WorkflowHandle as WorkflowHandle<number>)).toBe(42);
    });
  });
});

type History = temporal.api.history.v1.IHistory;

/** The scenario both SDKs' workers run for cross-replay: every kind of update outcome. */
async function exerciseCounter(
  start: () => Promise<{ workflowId: string }>,
  send: {
    execute(name: string, args: unknown[]): Promise<unknown>;
    startAccepted(name: string, args: unknown[]): Promise<{ result(): Promise<unknown> }>;
    signal(name: string): Promise<void>;
    result(): Promise<unknown>;
  },
): Promise<string> {
  const { workflowId } = await start();
  expect(await send.execute('add', [2])).toBe(2);
  const later = await send.startAccepted('greetLater', ['replay']);
  await expect(send.execute('add', [-1])).rejects.toThrow(/Workflow Update failed/);
  await expect(send.execute('refuse', ['x'])).rejects.toThrow(/Workflow Update failed/);
  await send.signal('release');
  expect(await later.result()).toBe('Hello, replay!');
  expect(await send.execute('add', [3])).toBe(5);
  await send.signal('finish');
  expect(await send.result()).toBe(5);
  return workflowId;
}

describe('cross-SDK replay of updates', () => {
  it('a history with updates written by the Kairos SDK replays in the official SDK (and in ours)', async () => {
    const history = await env.withWorker(async (taskQueue) => {
      let handle: WorkflowHandle<number> | undefined;
      await exerciseCounter(
        async () => (handle = await startCounter(taskQueue)),
        {
          execute: async (name, args) => await handle?.executeUpdate(name, { args }),
          startAccepted: async (name, args) => await (handle as WorkflowHandle<number>).startUpdate(name, { args, waitForStage: WorkflowUpdateStage.ACCEPTED }),
          signal: async (name) => await handle?.signal(name),
          result: async () => await handle?.result(),
        },
      );
      return await (handle as WorkflowHandle<number>).fetchHistory();
    });
    await OfficialWorker.runReplayHistory({ workflowBundle: officialBundle, replayName: 'kairos-updates' }, history as never, 'k-updates');
    await Worker.runReplayHistory({ workflowBundle: env.bundle }, history, 'k-updates');
  });

  it('a history with updates written by the official SDK replays in the Kairos SDK', async () => {
    const workflowId = await withOfficialWorker(
      { connection: official.nativeConnection, taskQueue: uniqueName('official'), workflowBundle: officialBundle, activities: officialActivities },
      async (worker) => {
        const taskQueue = worker.options.taskQueue;
        const id = uniqueName('o-counter');
        const handle = official.client.workflow.getHandle(id);
        return await exerciseCounter(
          async () => await official.client.workflow.start('updatableCounter', { taskQueue, workflowId: id, args: [0] }),
          {
            execute: async (name, args) => await handle.executeUpdate(name, { args: args as [unknown] }),
            startAccepted: async (name, args) => await handle.startUpdate(name, { args: args as [unknown], waitForStage: 'ACCEPTED' }),
            signal: async (name) => await handle.signal(name),
            result: async () => await handle.result(),
          },
        );
      },
    );
    const history: History = await client.workflow.getHandle(workflowId).fetchHistory();
    expect(history.events?.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toBe(true);
    await Worker.runReplayHistory({ workflowBundle: env.bundle }, history, workflowId);
  });
});
