/**
 * @kairos/testing: the time-skipping environment (Kairos serving Temporal's TestService in-process),
 * the wall-clock one, and MockActivityEnvironment.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Context } from '@kairos/activity';
import { CancelledFailure } from '@kairos/sdk-common';
import { MockActivityEnvironment, TestWorkflowEnvironment } from '@kairos/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundle } from '@kairos/worker';
import { uniqueName } from './helpers.js';
import type { TestingActivities } from './testing/workflows.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const DAY = 24 * 3600_000;

let bundle: WorkflowBundle;
beforeAll(async () => {
  bundle = await bundleWorkflowCode({ workflowsPath: path.join(here, 'testing/workflows.ts') });
});

describe('TestWorkflowEnvironment.createTimeSkipping', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await TestWorkflowEnvironment.createTimeSkipping();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  async function withWorker<R>(fn: (taskQueue: string) => Promise<R>): Promise<R> {
    const taskQueue = uniqueName('testing');
    const activities: TestingActivities = {
      async takeVirtualTime(ms) {
        await env.sleep(ms);
        return 'done';
      },
    };
    const worker = await Worker.create({ connection: env.connection, taskQueue, workflowBundle: bundle, activities, shutdownGraceTime: '1s' });
    return await worker.runUntil(() => fn(taskQueue));
  }

  it('runs a workflow that sleeps 30 days in well under a second', async () => {
    await withWorker(async (taskQueue) => {
      const before = await env.currentTimeMs();
      const wallStart = performance.now();
      const slept = await env.client.workflow.execute('sleeper', { taskQueue, workflowId: uniqueName('sleeper'), args: [30 * DAY] });
      const wallMs = performance.now() - wallStart;
      expect(slept).toBeGreaterThanOrEqual(30 * DAY);
      expect(wallMs).toBeLessThan(1000);
      expect(await env.currentTimeMs()).toBeGreaterThanOrEqual(before + 30 * DAY);
    });
  });

  it('keeps time locked outside result(): a started workflow waits on the wall clock', async () => {
    await withWorker(async (taskQueue) => {
      const handle = await env.client.workflow.start('sleeper', { taskQueue, workflowId: uniqueName('sleeper'), args: [DAY] });
      const before = await env.currentTimeMs();
      // The workflow task runs (time locked), then only the 1-day timer is left: time must not jump.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await env.currentTimeMs()) - before).toBeLessThan(DAY);
      expect(await handle.result()).toBeGreaterThanOrEqual(DAY);
    });
  });

  it('fires activity timeouts in virtual time', async () => {
    await withWorker(async (taskQueue) => {
      const wallStart = performance.now();
      const outcome = await env.client.workflow.execute('activityTimeout', { taskQueue, workflowId: uniqueName('timeout') });
      expect(outcome).toBe('START_TO_CLOSE');
      expect(performance.now() - wallStart).toBeLessThan(5000);
    });
  });

  it('lets an activity take long in virtual time while the workflow races a timer', async () => {
    await withWorker(async (taskQueue) => {
      expect(await env.client.workflow.execute('raceActivityAndTimer', { taskQueue, workflowId: uniqueName('race') })).toBe('timer');
    });
  });

  it('env.sleep advances time', async () => {
    const before = await env.currentTimeMs();
    const wallStart = performance.now();
    await env.sleep('7 days');
    expect(performance.now() - wallStart).toBeLessThan(1000);
    const after = await env.currentTimeMs();
    expect(after - before).toBeGreaterThanOrEqual(7 * DAY);
    expect(after - before).toBeLessThan(7 * DAY + 60_000);
  });

  it('env.sleep lets a started workflow timer fire', async () => {
    await withWorker(async (taskQueue) => {
      const handle = await env.client.workflow.start('sleeper', { taskQueue, workflowId: uniqueName('sleeper'), args: [3 * DAY] });
      await env.sleep(4 * DAY);
      const description = await handle.describe();
      expect(description.status.name).toBe('COMPLETED');
    });
  });
});

describe('TestWorkflowEnvironment.createLocal', () => {
  it('runs on the wall clock', async () => {
    const env = await TestWorkflowEnvironment.createLocal();
    try {
      expect(env.supportsTimeSkipping).toBe(false);
      const before = await env.currentTimeMs();
      expect(Math.abs(before - Date.now())).toBeLessThan(1000);
      await env.sleep(20);
      expect(await env.currentTimeMs()).toBeGreaterThanOrEqual(before + 20);
    } finally {
      await env.teardown();
    }
  });
});

describe('MockActivityEnvironment', () => {
  it('runs an activity with a context and reports its heartbeats', async () => {
    const env = new MockActivityEnvironment({ attempt: 3 });
    const heartbeats: unknown[] = [];
    env.on('heartbeat', (details) => heartbeats.push(details));
    const result = await env.run(async (n: number) => {
      const context = Context.current();
      for (let i = 1; i <= n; i++) context.heartbeat(i);
      return `attempt ${context.info.attempt}`;
    }, 3);
    expect(result).toBe('attempt 3');
    expect(heartbeats).toEqual([1, 2, 3]);
  });

  it('cancels the running activity', async () => {
    const env = new MockActivityEnvironment();
    const running = env.run(async () => {
      await Context.current().sleep('1 hour');
      return 'slept';
    });
    env.cancel();
    const error = await running.catch((err: unknown) => err);
    expect(error).toBeInstanceOf(CancelledFailure);
    expect((error as CancelledFailure).message).toBe('CANCELLED');
    expect(env.context.cancellationSignal.aborted).toBe(true);
  });
});
