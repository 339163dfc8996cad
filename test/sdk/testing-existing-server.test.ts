/**
 * TestWorkflowEnvironment.createFromExistingServer: connects to a server that already runs (here one
 * this file starts), without time skipping; teardown closes the connection and leaves the server up.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestWorkflowEnvironment } from '@kairos/testing';
import { Worker } from '@kairos/worker';
import { startSdkEnvironment, uniqueName, type SdkEnvironment } from './helpers.js';
import type { TestingActivities } from './testing/workflows.js';

const WORKFLOWS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testing/workflows.ts');

let server: SdkEnvironment;

beforeAll(async () => {
  server = await startSdkEnvironment(WORKFLOWS);
});

afterAll(async () => {
  await server?.close();
});

describe('TestWorkflowEnvironment.createFromExistingServer', () => {
  it('runs workflows on the existing server, on the wall clock, and teardown leaves the server running', async () => {
    const env = await TestWorkflowEnvironment.createFromExistingServer({ address: server.server.grpcAddress, namespace: 'default' });
    try {
      expect(env.supportsTimeSkipping).toBe(false);
      expect(env.address).toBe(server.server.grpcAddress);
      expect(env.namespace).toBe('default');
      const taskQueue = uniqueName('existing');
      const activities: TestingActivities = {
        takeVirtualTime: async () => await Promise.resolve('done'),
      };
      const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: server.bundle, activities, shutdownGraceTime: '1s' });
      const workflowId = uniqueName('sleeper');
      const slept = await worker.runUntil(() => env.client.workflow.execute('sleeper', { taskQueue, workflowId, args: [50] }));
      expect(slept).toBeGreaterThanOrEqual(50);
      // The server time is the wall clock.
      expect(Math.abs((await env.currentTimeMs()) - Date.now())).toBeLessThan(1_000);
      // The workflow ran on the existing server: its own client sees it.
      expect((await server.client.workflow.getHandle(workflowId).describe()).status.name).toBe('COMPLETED');
    } finally {
      await env.teardown();
    }
    // The server still answers after teardown.
    const again = await TestWorkflowEnvironment.createFromExistingServer({ address: server.server.grpcAddress });
    try {
      expect(await again.client.workflow.count()).toMatchObject({ count: expect.any(Number) as number });
    } finally {
      await again.teardown();
    }
  });
});
