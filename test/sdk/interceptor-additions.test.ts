/**
 * Interceptor hooks added to match the official SDK: the workflow outbound `scheduleLocalActivity`
 * (its headers reach the worker's activity interceptors) and the client's `startUpdateWithStart`.
 */
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Client, WithStartWorkflowOperation, type WorkflowClientInterceptor } from '@kairos/client';
import { defaultPayloadConverter, type Headers } from '@kairos/sdk-common';
import { Worker, type ActivityInterceptorsFactory } from '@kairos/worker';
import { seenAttributesUpdate } from './fixtures/start-attributes-workflows.js';
import { startSdkEnvironment, uniqueName, type SdkEnvironment } from './helpers.js';

const LOCAL_ACTIVITY_WORKFLOWS = path.join(import.meta.dirname, 'fixtures/local-activity-interceptor-workflows.ts');
const LOCAL_ACTIVITY_INTERCEPTOR = path.join(import.meta.dirname, 'fixtures/local-activity-interceptor.ts');
const UPDATE_WORKFLOWS = path.join(import.meta.dirname, 'fixtures/start-attributes-workflows.ts');

let env: SdkEnvironment;

beforeAll(async () => {
  env = await startSdkEnvironment();
});

afterAll(async () => env?.close());

function headerValues(headers: Headers): Record<string, unknown> {
  return Object.fromEntries(Object.entries(headers).map(([name, payload]) => [name, defaultPayloadConverter.fromPayload(payload)]));
}

it('a workflow outbound scheduleLocalActivity interceptor sees the schedule and its headers reach the activity interceptors', async () => {
  const seenHeaders: Record<string, unknown>[] = [];
  const recordHeaders: ActivityInterceptorsFactory = () => ({
    inbound: {
      async execute(input, next) {
        seenHeaders.push(headerValues(input.headers));
        return await next(input);
      },
    },
  });
  const taskQueue = uniqueName('la-interceptor');
  const worker = await Worker.create({
    connection: env.connection,
    taskQueue,
    workflowsPath: LOCAL_ACTIVITY_WORKFLOWS,
    activities: { shout: async (text: string) => await Promise.resolve(text.toUpperCase()) },
    interceptors: { workflowModules: [LOCAL_ACTIVITY_INTERCEPTOR], activity: [recordHeaders] },
    shutdownGraceTime: '2s',
  });
  const result = await worker.runUntil(async () =>
    await env.client.workflow.execute('localActivityThroughInterceptor', { taskQueue, workflowId: uniqueName('la-interceptor'), args: ['hi'] }),
  );
  expect(result).toEqual({ result: 'HI', intercepted: ['shout ["hi"] attempt=1 seq=1'] });
  expect(seenHeaders).toEqual([{ 'la-trace': 'from-workflow' }]);
});

it('a client startUpdateWithStart interceptor wraps update-with-start and can add headers', async () => {
  const calls: string[] = [];
  const interceptor: WorkflowClientInterceptor = {
    async startUpdateWithStart(input, next) {
      calls.push(`${input.workflowType} ${input.updateName} ${input.workflowStartOptions.workflowId}`);
      const output = await next({ ...input, updateHeaders: { ...input.updateHeaders, 'trace-id': defaultPayloadConverter.toPayload('t-1') } });
      calls.push(`done ${output.updateId} outcome=${output.updateOutcome === undefined ? 'none' : 'present'}`);
      return output;
    },
  };
  const client = new Client({ connection: env.connection, interceptors: { workflow: [interceptor] } });
  await env.withWorker(
    async (taskQueue) => {
      const workflowId = uniqueName('uws-interceptor');
      const operation = WithStartWorkflowOperation.create('readStartAttributes', { taskQueue, workflowId, workflowIdConflictPolicy: 'FAIL' });
      const seen = await client.workflow.executeUpdateWithStart(seenAttributesUpdate, { startWorkflowOperation: operation, updateId: 'u-1' });
      expect(seen).toMatchObject({ tier: null });
      expect(calls).toEqual([`readStartAttributes seenAttributes ${workflowId}`, 'done u-1 outcome=present']);
      expect((await operation.workflowHandle()).workflowId).toBe(workflowId);
    },
    { workflowsPath: UPDATE_WORKFLOWS, workflowBundle: undefined },
  );
});
