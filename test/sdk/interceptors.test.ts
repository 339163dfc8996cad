/**
 * Interceptors: activity interceptors in the worker, workflow interceptor modules bundled with the
 * workflows (test/sdk/workflows/interceptors.ts), client interceptors, and headers flowing between
 * them (client start -> workflow execute -> scheduled activities -> activity execute). Histories
 * written with interceptors replay in our worker and in the official SDK's (without interceptors).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, type WorkflowClientInterceptor } from '@kairos/client';
import { defaultPayloadConverter, type Headers } from '@kairos/sdk-common';
import { bundleWorkflowCode, Worker, type ActivityInterceptorsFactory, type WorkflowBundle } from '@kairos/worker';
import { Worker as OfficialWorker } from '@temporalio/worker';
import { startCrossSdk, type CrossSdk } from './cross-sdk.js';
import { OFFICIAL_TO_KAIROS, SHARED_WORKFLOWS, uniqueName } from './helpers.js';

const INTERCEPTORS = path.join(import.meta.dirname, 'workflows/interceptors.ts');
const UPDATE_WORKFLOWS = path.join(import.meta.dirname, 'workflows/updates.ts');

let cross: CrossSdk;
let bundle: WorkflowBundle;

beforeAll(async () => {
  [cross, bundle] = await Promise.all([
    startCrossSdk(),
    bundleWorkflowCode({ workflowsPath: SHARED_WORKFLOWS, aliases: OFFICIAL_TO_KAIROS, workflowInterceptorModules: [INTERCEPTORS] }),
  ]);
});

afterAll(async () => cross?.close());

function headerValues(headers: Headers): Record<string, unknown> {
  return Object.fromEntries(Object.entries(headers).map(([name, payload]) => [name, defaultPayloadConverter.fromPayload(payload)]));
}

/** An activity interceptor that records each execution's activity type, arguments and headers. */
function recordingActivityInterceptor(seen: { args: unknown[]; headers: Record<string, unknown> }[]): ActivityInterceptorsFactory {
  return () => ({
    inbound: {
      async execute(input, next) {
        seen.push({ args: input.args, headers: headerValues(input.headers) });
        return await next(input);
      },
    },
  });
}

/** A client interceptor that adds a `trace-id` header to starts and signals. */
function tracingClientInterceptor(traceId: string): WorkflowClientInterceptor {
  const header = defaultPayloadConverter.toPayload(traceId);
  return {
    async start(input, next) {
      return await next({ ...input, headers: { ...input.headers, 'trace-id': header } });
    },
    async signal(input, next) {
      return await next({ ...input, headers: { ...input.headers, 'trace-id': header } });
    },
    async startUpdate(input, next) {
      return await next({ ...input, headers: { ...input.headers, 'trace-id': header } });
    },
  };
}

describe('activity interceptors', () => {
  it('wrap every activity execution, can change its arguments, and are called in order', async () => {
    const calls: string[] = [];
    const upperCase: ActivityInterceptorsFactory = (ctx) => ({
      inbound: {
        async execute(input, next) {
          calls.push(`outer ${ctx.info.activityType}`);
          return await next({ ...input, args: input.args.map((arg) => (typeof arg === 'string' ? arg.toUpperCase() : arg)) });
        },
      },
    });
    const inner: ActivityInterceptorsFactory = () => ({
      inbound: {
        async execute(input, next) {
          calls.push(`inner ${JSON.stringify(input.args)}`);
          return `${String(await next(input))} (intercepted)`;
        },
      },
    });
    await cross.env.withWorker(
      async (taskQueue) => {
        const result = await cross.env.client.workflow.execute('greetingWorkflow', { taskQueue, workflowId: uniqueName('greet'), args: ['kairos'] });
        expect(result).toBe('Hello, KAIROS! (intercepted)');
      },
      { workflowBundle: cross.sharedBundle, interceptors: { activity: [upperCase, inner] } },
    );
    expect(calls).toEqual(['outer greet', 'inner ["KAIROS"]']);
  });
});

describe('workflow interceptors', () => {
  it('see execute and signals (inbound), activities and timers (outbound)', async () => {
    await cross.env.withWorker(
      async (taskQueue) => {
        const collector = await cross.env.client.workflow.start('collectorWorkflow', { taskQueue, workflowId: uniqueName('collector') });
        await collector.signal('addItem', 'a');
        await collector.signal('close');
        expect(await collector.result()).toEqual(['a']);
        // Asked after the run closed: the query replays the history with the interceptors.
        expect(await collector.query('interceptorLog')).toEqual([
          'execute collectorWorkflow trace=-',
          'signal addItem ["a"] trace=-',
          'signal close [] trace=-',
        ]);
        const sleeper = await cross.env.client.workflow.start('sleepWorkflow', { taskQueue, workflowId: uniqueName('sleep'), args: [10] });
        await sleeper.result();
        expect(await sleeper.query('interceptorLog')).toEqual(['execute sleepWorkflow trace=-', 'timer 10']);
      },
      { workflowBundle: bundle },
    );
  });

  it('are taken from interceptors.workflowModules when the worker bundles the workflows itself', async () => {
    const seen: { args: unknown[]; headers: Record<string, unknown> }[] = [];
    await cross.env.withWorker(
      async (taskQueue) => {
        const result = await cross.env.client.workflow.execute('greetingWorkflow', { taskQueue, workflowId: uniqueName('greet'), args: ['Kairos'] });
        expect(result).toBe('Hello, Kairos!');
      },
      {
        workflowBundle: undefined,
        workflowsPath: SHARED_WORKFLOWS,
        bundlerAliases: OFFICIAL_TO_KAIROS,
        interceptors: { workflowModules: [INTERCEPTORS], activity: [recordingActivityInterceptor(seen)] },
      },
    );
    // The outbound interceptor's headers reached the activity's interceptor.
    expect(seen).toEqual([{ args: ['Kairos'], headers: { 'trace-id': '-', 'workflow-type': 'greetingWorkflow' } }]);
  });
});

describe('client interceptors and headers end to end', () => {
  it("carry a client's trace id through the workflow to its activities and signals", async () => {
    const traceId = uniqueName('trace');
    const client = new Client({ connection: cross.env.connection, interceptors: { workflow: [tracingClientInterceptor(traceId)] } });
    const seen: { args: unknown[]; headers: Record<string, unknown> }[] = [];
    const history = await cross.env.withWorker(
      async (taskQueue) => {
        const greeting = await client.workflow.start('greetingWorkflow', { taskQueue, workflowId: uniqueName('greet'), args: ['Kairos'] });
        expect(await greeting.result()).toBe('Hello, Kairos!');
        expect(await greeting.query('interceptorLog')).toEqual([`execute greetingWorkflow trace=${traceId}`, 'activity greet']);
        const collector = await client.workflow.start('collectorWorkflow', { taskQueue, workflowId: uniqueName('collector') });
        await collector.signal('close');
        await collector.result();
        expect(await collector.query('interceptorLog')).toEqual([`execute collectorWorkflow trace=${traceId}`, `signal close [] trace=${traceId}`]);
        return await greeting.fetchHistory();
      },
      { workflowBundle: bundle, interceptors: { activity: [recordingActivityInterceptor(seen)] } },
    );
    expect(seen).toEqual([{ args: ['Kairos'], headers: { 'trace-id': traceId, 'workflow-type': 'greetingWorkflow' } }]);
    const events = history.events ?? [];
    const started = events[0]?.workflowExecutionStartedEventAttributes;
    expect(headerValues((started?.header?.fields ?? {}) as Headers)).toEqual({ 'trace-id': traceId });
    const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes)?.activityTaskScheduledEventAttributes;
    expect(headerValues((scheduled?.header?.fields ?? {}) as Headers)).toEqual({ 'trace-id': traceId, 'workflow-type': 'greetingWorkflow' });

    // The history replays with the interceptors, without them, and in the official SDK.
    await Worker.runReplayHistory({ workflowBundle: bundle }, history);
    await Worker.runReplayHistory({ workflowBundle: cross.sharedBundle }, history);
    await OfficialWorker.runReplayHistory({ workflowBundle: cross.officialBundle, replayName: 'kairos-interceptors' }, history as never);
  });

  it('carry headers on updates to the validator and the handler', async () => {
    const traceId = uniqueName('trace');
    const client = new Client({ connection: cross.env.connection, interceptors: { workflow: [tracingClientInterceptor(traceId)] } });
    const updatesBundle = await bundleWorkflowCode({ workflowsPath: UPDATE_WORKFLOWS, aliases: OFFICIAL_TO_KAIROS, workflowInterceptorModules: [INTERCEPTORS] });
    await cross.env.withWorker(
      async (taskQueue) => {
        const handle = await client.workflow.start('updatableCounter', { taskQueue, workflowId: uniqueName('counter'), args: [1] });
        expect(await handle.executeUpdate('add', { args: [2] })).toBe(3);
        // Answered by the cached run, which saw the live request's validator (a replay does not run it).
        expect(await handle.query('interceptorLog')).toEqual([
          `execute updatableCounter trace=${traceId}`,
          `validate add [2] trace=${traceId}`,
          `update add [2] trace=${traceId}`,
        ]);
        await expect(handle.executeUpdate('add', { args: [-1] })).rejects.toThrow('Workflow Update failed');
        await handle.signal('finish');
        expect(await handle.result()).toBe(3);
        expect(await handle.query('interceptorLog')).toEqual([
          `execute updatableCounter trace=${traceId}`,
          `update add [2] trace=${traceId}`,
          `signal finish [] trace=${traceId}`,
        ]);
      },
      { workflowBundle: updatesBundle },
    );
  });

  it('wrap query, describe, cancel and terminate calls', async () => {
    const calls: string[] = [];
    const recorder: WorkflowClientInterceptor = {
      async query(input, next) {
        calls.push(`query ${input.queryType}`);
        return await next(input);
      },
      async describe(input, next) {
        calls.push(`describe ${input.workflowExecution.workflowId === workflowId}`);
        return await next(input);
      },
      async cancel(input, next) {
        calls.push('cancel');
        return await next(input);
      },
      async terminate(input, next) {
        calls.push(`terminate ${input.reason}`);
        return await next(input);
      },
    };
    const workflowId = uniqueName('collector');
    const client = new Client({ connection: cross.env.connection, interceptors: { workflow: [recorder] } });
    await cross.env.withWorker(
      async (taskQueue) => {
        const handle = await client.workflow.start('collectorWorkflow', { taskQueue, workflowId });
        await handle.signal('addItem', 'x');
        expect(await handle.query('items')).toEqual(['x']);
        expect((await handle.describe()).status.name).toBe('RUNNING');
        await handle.cancel();
        const other = await client.workflow.start('collectorWorkflow', { taskQueue, workflowId: uniqueName('collector') });
        await other.terminate('done');
      },
      { workflowBundle: cross.sharedBundle },
    );
    expect(calls).toEqual(['query items', 'describe true', 'cancel', 'terminate done']);
  });
});
