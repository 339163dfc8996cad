/**
 * A custom failure converter: the worker loads `dataConverter.failureConverterPath` for activities and
 * bundles it into the workflow sandbox; the client takes `dataConverter.failureConverter`. Messages
 * reach the server only as the converter wrote them and read right again where it reads them back.
 */
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Client, WorkflowFailedError } from '@kairos/client';
import { api } from '@kairos/common';
import { ApplicationFailure } from '@kairos/activity';
import { Worker } from '@kairos/worker';
import { failureConverter } from './fixtures/reversing-failure-converter.js';
import { startSdkEnvironment, uniqueName, type SdkEnvironment } from './helpers.js';

const WORKFLOWS = path.join(import.meta.dirname, 'fixtures/failure-converter-workflows.ts');
const CONVERTER = path.join(import.meta.dirname, 'fixtures/reversing-failure-converter.ts');

let env: SdkEnvironment;

beforeAll(async () => {
  env = await startSdkEnvironment();
});

afterAll(async () => env?.close());

const activities = {
  async failWith(text: string): Promise<void> {
    await Promise.resolve();
    throw ApplicationFailure.nonRetryable(`activity ${text}`, 'Secret');
  },
};

async function withConverterWorker<R>(fn: (taskQueue: string) => Promise<R>): Promise<R> {
  const taskQueue = uniqueName('failure-converter');
  const worker = await Worker.create({
    connection: env.connection,
    taskQueue,
    workflowsPath: WORKFLOWS,
    activities,
    dataConverter: { failureConverterPath: CONVERTER },
    shutdownGraceTime: '2s',
  });
  return await worker.runUntil(() => fn(taskQueue));
}

it("a failed activity's message round-trips through the converter into workflow code, and the server sees it only encoded", async () => {
  const workflowId = uniqueName('fc-activity');
  const seen = await withConverterWorker(
    async (taskQueue) => await env.client.workflow.execute('catchesActivityFailure', { taskQueue, workflowId, args: ['sekrit'] }),
  );
  expect(seen).toBe('caught: activity sekrit');
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  const failed = history.events?.find((e) => e.eventType === api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED);
  expect(failed?.activityTaskFailedEventAttributes?.failure?.message).toBe('reversed:tirkes ytivitca');
  expect(Buffer.from(api.history.v1.HistoryEvent.encode(failed ?? {}).finish()).toString()).not.toContain('activity sekrit');
});

it("the client's failureConverter reads a workflow failure the worker's converter wrote", async () => {
  const converting = new Client({ connection: env.connection, dataConverter: { failureConverter } });
  await withConverterWorker(async (taskQueue) => {
    const workflowId = uniqueName('fc-workflow');
    const failure = await converting.workflow.execute('failsWorkflow', { taskQueue, workflowId, args: ['sekrit'] }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause).toMatchObject({ message: 'workflow sekrit', type: 'Secret' });
    // Without the converter the client sees what the server stores.
    const plain = await env.client.workflow.result(workflowId).catch((error: unknown) => error);
    expect((plain as WorkflowFailedError).cause?.message).toBe('reversed:tirkes wolfkrow');
  });
});
