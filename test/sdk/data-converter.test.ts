/**
 * Data converters: a payload codec (AES-GCM) on our client and worker encrypts every payload that
 * reaches the server (and failure messages, with encodeCommonAttributes), everything still works end
 * to end, and the official SDK with the same codec reads and writes the same payloads. A custom
 * payload converter is used by the client, the workflow code (bundled in the sandbox) and activities.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, DefaultFailureConverter, WorkflowFailedError, type WorkflowHandle } from '@kairos/client';
import { api } from '@kairos/common';
import { ApplicationFailure, Context } from '@kairos/activity';
import { bundleWorkflowCode, Worker, type WorkflowBundle } from '@kairos/worker';
import { Client as OfficialClient } from '@temporalio/client';
import { DefaultFailureConverter as OfficialFailureConverter } from '@temporalio/common';
import type { WorkflowBundle as OfficialBundle } from '@temporalio/worker';
import { bundleWorkflows, connect, withWorker as withOfficialWorker, type Connections } from '../e2e/helpers/sdk.js';
import { EncryptionCodec } from './data-converter/codec.js';
import { payloadConverter } from './data-converter/custom-converter.js';
import { echoUpdate, finishSignal, noteSignal, notesQuery } from './workflows/data-converter.js';
import { OFFICIAL_TO_KAIROS, startSdkEnvironment, uniqueName, type SdkEnvironment } from './helpers.js';

const WORKFLOWS = path.join(import.meta.dirname, 'workflows/data-converter.ts');
const CUSTOM_CONVERTER = path.join(import.meta.dirname, 'data-converter/custom-converter.ts');
const SECRET = 'sekrit-7f3a';

const codec = new EncryptionCodec();
const dataConverter = { payloadCodecs: [codec], failureConverter: new DefaultFailureConverter({ encodeCommonAttributes: true }) };

const activities = {
  async greetAfterRetry(name: string): Promise<{ greeting: string; heartbeat: unknown; failedBefore: boolean }> {
    const { attempt, heartbeatDetails } = Context.current().info;
    if (attempt === 1) {
      Context.current().heartbeat({ progress: `heartbeat-${SECRET}` });
      throw ApplicationFailure.retryable(`activity-failure-${SECRET}`, 'Flaky', { detail: `activity-detail-${SECRET}` });
    }
    return { greeting: `Hello, ${name}`, heartbeat: heartbeatDetails, failedBefore: attempt > 1 };
  },
  async echo(text: string): Promise<string> {
    return await Promise.resolve(`echoed ${text}`);
  },
};

let env: SdkEnvironment;
let bundle: WorkflowBundle;
let officialBundle: OfficialBundle;
let official: Connections;
let client: Client;

beforeAll(async () => {
  env = await startSdkEnvironment();
  [bundle, officialBundle, official] = await Promise.all([
    bundleWorkflowCode({ workflowsPath: WORKFLOWS, aliases: OFFICIAL_TO_KAIROS }),
    bundleWorkflows(WORKFLOWS),
    connect(env.server.grpcAddress),
  ]);
  client = new Client({ connection: env.connection, dataConverter });
});

afterAll(async () => {
  await official?.close();
  await env?.close();
});

async function withCodecWorker<R>(fn: (taskQueue: string) => Promise<R>): Promise<R> {
  const taskQueue = uniqueName('codec');
  const worker = await Worker.create({ connection: env.connection, taskQueue, workflowBundle: bundle, activities, dataConverter, shutdownGraceTime: '2s' });
  return await worker.runUntil(() => fn(taskQueue));
}

/** The run's history as the server stores it, serialised: what must not contain any plaintext. */
async function rawHistory(handle: WorkflowHandle): Promise<Buffer> {
  const history = await env.client.workflow.getHandle(handle.workflowId).fetchHistory();
  return Buffer.from(api.history.v1.History.encode(history).finish());
}

function encodingsOf(payloads: Array<{ metadata?: Record<string, Uint8Array> | null }> | null | undefined): string[] {
  return (payloads ?? []).map((p) => Buffer.from(p.metadata?.['encoding'] ?? new Uint8Array()).toString());
}

describe('payload codec', () => {
  it('a workflow with an activity, heartbeat, failure and retry, signal, query, update and memo works, and the server sees only ciphertext', async () => {
    const { handle, result, queried, updated } = await withCodecWorker(async (taskQueue) => {
      const started = await client.workflow.start('everyPayload', {
        taskQueue,
        workflowId: uniqueName('every'),
        args: [`input-${SECRET}`],
        memo: { note: `memo-${SECRET}` },
      });
      await started.signal(noteSignal, `signal-${SECRET}`);
      const updateResult = await started.executeUpdate(echoUpdate, { args: [`update-${SECRET}`] });
      const queryResult = await started.query(notesQuery);
      await started.signal(finishSignal);
      return { handle: started, result: await started.result(), queried: queryResult, updated: updateResult };
    });
    expect(result).toEqual({
      greeting: `Hello, input-${SECRET}`,
      heartbeat: { progress: `heartbeat-${SECRET}` },
      memo: { note: `memo-${SECRET}` },
      notes: [`signal-${SECRET}`],
    });
    expect(queried).toEqual([`signal-${SECRET}`]);
    expect(updated).toBe(`echo: update-${SECRET}`);
    expect((await handle.describe()).memo).toEqual({ note: `memo-${SECRET}` });

    const raw = await rawHistory(handle);
    expect(raw.includes(SECRET)).toBe(false);
    const history = await env.client.workflow.getHandle(handle.workflowId).fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    expect(encodingsOf(started?.input?.payloads)).toEqual(['binary/encrypted']);
    expect(encodingsOf(Object.values(started?.memo?.fields ?? {}))).toEqual(['binary/encrypted']);
    // The activity's first attempt failed: its failure (message included) is encrypted as well.
    const failedAttempt = history.events?.find((e) => e.activityTaskStartedEventAttributes?.lastFailure)?.activityTaskStartedEventAttributes?.lastFailure;
    if (failedAttempt) expect(failedAttempt.message).toBe('Encoded failure');
    expect(codec.counts.encoded).toBeGreaterThan(0);
    expect(codec.counts.decoded).toBeGreaterThan(0);
    // A plain client reads the encrypted payloads as what they are: unknown encodings.
    await expect(env.client.workflow.getHandle(handle.workflowId).result()).rejects.toThrow(/unknown payload encoding: binary\/encrypted/);
  });

  it('a workflow failure comes back decoded, its message and details encrypted on the server', async () => {
    const { handle, error } = await withCodecWorker(async (taskQueue) => {
      const started = await client.workflow.start('failsWithSecret', { taskQueue, workflowId: uniqueName('fails'), args: [SECRET] });
      return { handle: started, error: await started.result().catch((e: unknown) => e) };
    });
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause.message).toBe(`failure-message-${SECRET}`);
    expect(cause.type).toBe('SecretError');
    expect(cause.details).toEqual([{ detail: `failure-detail-${SECRET}` }]);
    const raw = await rawHistory(handle);
    expect(raw.includes(SECRET)).toBe(false);
    const history = await env.client.workflow.getHandle(handle.workflowId).fetchHistory();
    const failure = history.events?.find((e) => e.workflowExecutionFailedEventAttributes)?.workflowExecutionFailedEventAttributes?.failure;
    expect(failure?.message).toBe('Encoded failure');
    expect(encodingsOf(failure?.encodedAttributes ? [failure.encodedAttributes] : [])).toEqual(['binary/encrypted']);
  });

  it('replays an encoded history given the codec', async () => {
    const handle = await withCodecWorker(async (taskQueue) => {
      const started = await client.workflow.start('echoThroughActivity', { taskQueue, workflowId: uniqueName('replay'), args: [SECRET] });
      await started.result();
      return started;
    });
    const history = await env.client.workflow.getHandle(handle.workflowId).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: bundle, dataConverter: { payloadCodecs: [codec] } }, history, handle.workflowId);
  });
});

describe('payload codec across the SDKs', () => {
  const officialDataConverter = {
    payloadCodecs: [codec],
    failureConverter: new OfficialFailureConverter({ encodeCommonAttributes: true }),
  } as const;

  it('the official client starts a workflow on our worker and reads its result and a failure', async () => {
    const officialClient = new OfficialClient({ connection: official.connection, dataConverter: officialDataConverter as never });
    const { result, error } = await withCodecWorker(async (taskQueue) => {
      const echoed = await officialClient.workflow.execute('echoThroughActivity', {
        taskQueue,
        workflowId: uniqueName('official-client'),
        args: [`cross-${SECRET}`],
        memo: { from: `official-${SECRET}` },
      });
      const failed = await officialClient.workflow
        .execute('failsWithSecret', { taskQueue, workflowId: uniqueName('official-fails'), args: [SECRET] })
        .catch((e: unknown) => e);
      return { result: echoed, error: failed };
    });
    expect(result).toEqual({ echoed: `echoed cross-${SECRET}`, memo: { from: `official-${SECRET}` } });
    const cause = (error as { cause?: { message?: string; details?: unknown[] } }).cause;
    expect(cause?.message).toBe(`failure-message-${SECRET}`);
    expect(cause?.details).toEqual([{ detail: `failure-detail-${SECRET}` }]);
  });

  it('our client reads a workflow the official worker ran with the same codec', async () => {
    const taskQueue = uniqueName('official-worker');
    const { result, handle } = await withOfficialWorker(
      {
        connection: official.nativeConnection,
        taskQueue,
        workflowBundle: officialBundle,
        activities: { echo: activities.echo },
        dataConverter: officialDataConverter as never,
      },
      async () => {
        const started = await client.workflow.start('echoThroughActivity', {
          taskQueue,
          workflowId: uniqueName('official-run'),
          args: [`official-${SECRET}`],
          memo: { from: `kairos-${SECRET}` },
        });
        return { handle: started, result: await started.result() };
      },
    );
    expect(result).toEqual({ echoed: `echoed official-${SECRET}`, memo: { from: `kairos-${SECRET}` } });
    expect((await rawHistory(handle)).includes(SECRET)).toBe(false);
    // The history the official worker wrote replays in ours.
    const history = await env.client.workflow.getHandle(handle.workflowId).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: bundle, dataConverter: { payloadCodecs: [codec] } }, history, handle.workflowId);
  });
});

describe('custom payload converter', () => {
  it('the client, the workflow code and activities use it', async () => {
    const customClient = new Client({ connection: env.connection, dataConverter: { payloadConverter } });
    const taskQueue = uniqueName('custom');
    const worker = await Worker.create({
      connection: env.connection,
      taskQueue,
      workflowsPath: WORKFLOWS,
      bundlerAliases: OFFICIAL_TO_KAIROS,
      activities,
      dataConverter: { payloadConverterPath: CUSTOM_CONVERTER },
      shutdownGraceTime: '2s',
    });
    const handle = await worker.runUntil(async () => {
      const started = await customClient.workflow.start('echoThroughActivity', { taskQueue, workflowId: uniqueName('custom'), args: ['plain text'] });
      expect(await started.result()).toEqual({ echoed: 'echoed plain text', memo: {} });
      return started;
    });
    const history = await env.client.workflow.getHandle(handle.workflowId).fetchHistory();
    const events = history.events ?? [];
    const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes)?.activityTaskScheduledEventAttributes;
    const completed = events.find((e) => e.activityTaskCompletedEventAttributes)?.activityTaskCompletedEventAttributes;
    // Written by the client, the workflow code in the sandbox and the activity worker respectively.
    expect(encodingsOf(events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads)).toEqual(['text/prefixed']);
    expect(encodingsOf(scheduled?.input?.payloads)).toEqual(['text/prefixed']);
    expect(encodingsOf(completed?.result?.payloads)).toEqual(['text/prefixed']);
    expect(Buffer.from(completed?.result?.payloads?.[0]?.data ?? new Uint8Array()).toString()).toBe('custom:echoed plain text');
  });
});
