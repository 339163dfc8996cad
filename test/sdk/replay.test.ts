/**
 * Replay: changed workflow code is caught as nondeterminism (offline and in a live worker), and
 * histories cross between the SDKs: what the Kairos SDK wrote replays in the official SDK's replayer
 * and what the official worker wrote replays in ours, for the same workflow files.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@kairos/client';
import { api } from '@kairos/common';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { bundleWorkflowCode, historyFromJSON, NondeterminismError, Worker, type WorkflowBundle } from '@kairos/worker';
import { Worker as OfficialWorker, type WorkflowBundle as OfficialBundle } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import * as officialActivities from '../e2e/activities.js';
import { withWorker as withOfficialWorker, type Connections } from '../e2e/helpers/sdk.js';
import { addItemSignal, closeSignal } from './workflows/basics.js';
import { startCrossSdk, type CrossSdk } from './cross-sdk.js';
import { eventTypes, uniqueName, type SdkEnvironment } from './helpers.js';

const execFileAsync = promisify(execFile);
const CHANGED_WORKFLOWS = path.join(import.meta.dirname, 'workflows/changed.ts');

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

type History = temporal.api.history.v1.IHistory;

async function replayInOfficialSdk(workflowId: string, history: History): Promise<void> {
  // The official replayer takes the history as a protobufjs message or its JSON form.
  await OfficialWorker.runReplayHistory({ workflowBundle: officialBundle, replayName: 'kairos-cross-replay' }, history as never, workflowId);
}

describe('nondeterminism', () => {
  it('replaying a history with changed code names the event and the command that disagree', async () => {
    const history = await env.withWorker(async (taskQueue) => {
      const handle = await env.client.workflow.start('helloActivity', { taskQueue, workflowId: uniqueName('hello'), args: ['v1'] });
      await handle.result();
      return await handle.fetchHistory();
    });
    await Worker.runReplayHistory({ workflowBundle: env.bundle }, history);
    const error = await Worker.runReplayHistory({ workflowsPath: CHANGED_WORKFLOWS }, history, 'hello-v1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NondeterminismError);
    expect((error as Error).message).toMatch(
      /history event 5 ActivityTaskScheduled \{activityId: '1', activityType: 'greet'\} does not match the workflow code, which issued StartTimer \{timerId: '1'\}/,
    );
  });

  it('a worker running changed code fails the workflow task with NON_DETERMINISTIC_ERROR', async () => {
    const workflowId = uniqueName('timer');
    let handle: WorkflowHandle | undefined;
    const taskQueue = await env.withWorker(async (queue) => {
      handle = await env.client.workflow.start('timerWorkflow', { taskQueue: queue, workflowId, args: [600_000] });
      await waitUntil(async () => (await eventTypes(env.client.workflow.getHandle(workflowId))).includes('TIMER_STARTED'));
      return queue;
    });
    const changed = await bundleWorkflowCode({ workflowsPath: CHANGED_WORKFLOWS });
    const worker = await Worker.create({ connection: env.connection, taskQueue, workflowBundle: changed, logger: { warn: () => {}, error: () => {} } });
    await worker.runUntil(async () => {
      await handle?.signal('wake-up'); // any new event makes a workflow task, which replays the run
      await waitUntil(async () => (await eventTypes(env.client.workflow.getHandle(workflowId))).includes('WORKFLOW_TASK_FAILED'));
    });
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    const failed = (history.events ?? []).find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes;
    expect(failed?.cause).toBe(api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR);
    expect(failed?.failure?.message).toMatch(/TimerStarted \{timerId: '1'\}.*ScheduleActivityTask/);
    await env.client.workflow.getHandle(workflowId).terminate('test over');
  });
});

describe('histories from JSON', () => {
  it('replays the history file `kairos workflow show -o json` writes, also with short event type names', async () => {
    const workflowId = uniqueName('json');
    await env.withWorker(async (taskQueue) => {
      await env.client.workflow.execute('helloActivity', { taskQueue, workflowId, args: ['JSON'] });
    });
    const cli = path.join(import.meta.dirname, '../../packages/cli/bin/kairos.js');
    const { stdout } = await execFileAsync(process.execPath, [cli, 'workflow', 'show', '-w', workflowId, '--address', env.server.grpcAddress, '-o', 'json']);
    const history = historyFromJSON(stdout);
    expect(history.events).toHaveLength((await env.client.workflow.getHandle(workflowId).fetchHistory()).events?.length ?? -1);
    await Worker.runReplayHistory({ workflowBundle: env.bundle }, history, workflowId);
    // Some tools write enum values without their prefix, in PascalCase.
    const short = JSON.parse(stdout) as { events: Array<{ eventType: string }> };
    for (const event of short.events) {
      event.eventType = event.eventType.replace(/^EVENT_TYPE_/, '').toLowerCase().replace(/(^|_)([a-z])/g, (_m, _s: string, c: string) => c.toUpperCase());
    }
    expect(short.events[0]?.eventType).toBe('WorkflowExecutionStarted');
    await Worker.runReplayHistory({ workflowBundle: env.bundle }, historyFromJSON(short), workflowId);
  });
});

describe('cross-SDK replay', () => {
  it('histories written by the Kairos SDK replay in the official SDK', async () => {
    const runs = await env.withWorker(
      async (taskQueue) => {
        const hello = await env.client.workflow.start('greetingWorkflow', { taskQueue, workflowId: uniqueName('k-hello'), args: ['Kairos'] });
        const timer = await env.client.workflow.start('sleepWorkflow', { taskQueue, workflowId: uniqueName('k-timer'), args: [200] });
        const collector = await env.client.workflow.start('collectorWorkflow', { taskQueue, workflowId: uniqueName('k-collector') });
        const parent = await env.client.workflow.start('parentOfGreeting', { taskQueue, workflowId: uniqueName('k-parent'), args: ['Kairos'] });
        const countdown = await env.client.workflow.start('countdownToZero', { taskQueue, workflowId: uniqueName('k-countdown'), args: [2, 0] });
        const patchedRun = await env.client.workflow.start('patchedSleep', { taskQueue, workflowId: uniqueName('k-patched') });
        await collector.signal(addItemSignal, 'x');
        await collector.signal(closeSignal);
        expect(await hello.result()).toBe('Hello, Kairos!');
        expect(await timer.result()).toBeGreaterThanOrEqual(200);
        expect(await collector.result()).toEqual(['x']);
        expect(await parent.result()).toMatch(/^child says hello to Kairos/);
        expect(await countdown.result()).toBe(3);
        expect(await patchedRun.result()).toBe('patched');
        const child = env.client.workflow.getHandle(`${parent.workflowId}-child`);
        // The first run of the chain: its history ends with WorkflowExecutionContinuedAsNew.
        const firstRun = env.client.workflow.getHandle(countdown.workflowId, countdown.runId);
        return [hello, timer, collector, parent, child, firstRun, patchedRun];
      },
      { workflowBundle: sharedBundle },
    );
    for (const handle of runs) {
      const history = await handle.fetchHistory();
      await replayInOfficialSdk(handle.workflowId, history);
    }
    expect(runs).toHaveLength(7);
  });

  it('histories written by the official SDK replay in the Kairos SDK', async () => {
    const workflowIds = await withOfficialWorker(
      { connection: official.nativeConnection, taskQueue: uniqueName('official'), workflowBundle: officialBundle, activities: officialActivities },
      async (worker) => {
        const taskQueue = worker.options.taskQueue;
        const client = official.client.workflow;
        const hello = await client.start('greetingWorkflow', { taskQueue, workflowId: uniqueName('o-hello'), args: ['Temporal'] });
        const timer = await client.start('sleepWorkflow', { taskQueue, workflowId: uniqueName('o-timer'), args: [200] });
        const collector = await client.start('collectorWorkflow', { taskQueue, workflowId: uniqueName('o-collector') });
        const parent = await client.start('parentOfGreeting', { taskQueue, workflowId: uniqueName('o-parent'), args: ['Temporal'] });
        const countdown = await client.start('countdownToZero', { taskQueue, workflowId: uniqueName('o-countdown'), args: [2, 0] });
        const patchedRun = await client.start('patchedSleep', { taskQueue, workflowId: uniqueName('o-patched') });
        await collector.signal(addItemSignal.name, 'y');
        await collector.signal(closeSignal.name);
        expect(await hello.result()).toBe('Hello, Temporal!');
        expect(await timer.result()).toBeGreaterThanOrEqual(200);
        expect(await collector.result()).toEqual(['y']);
        expect(await parent.result()).toMatch(/^child says hello to Temporal/);
        expect(await countdown.result()).toBe(3);
        expect(await patchedRun.result()).toBe('patched');
        return [
          { workflowId: patchedRun.workflowId },
          { workflowId: hello.workflowId },
          { workflowId: timer.workflowId },
          { workflowId: collector.workflowId },
          { workflowId: parent.workflowId },
          { workflowId: `${parent.workflowId}-child` },
          { workflowId: countdown.workflowId, runId: countdown.firstExecutionRunId },
        ];
      },
    );
    const patchedHistory = await env.client.workflow.getHandle(workflowIds[0]?.workflowId ?? '').fetchHistory();
    // sdk-core records the patch with a marker and a TemporalChangeVersion upsert; both must replay.
    expect(patchedHistory.events?.some((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')).toBe(true);
    expect(patchedHistory.events?.some((e) => e.upsertWorkflowSearchAttributesEventAttributes)).toBe(true);
    for (const { workflowId, runId } of workflowIds) {
      const history = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
      await Worker.runReplayHistory({ workflowBundle: sharedBundle }, history, workflowId);
    }
  });
});

async function waitUntil(probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
