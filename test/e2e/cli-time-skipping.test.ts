/**
 * `@temporalio/testing`'s TestWorkflowEnvironment.createTimeSkipping with Kairos as its time-skipping
 * test server: the environment launches `<executable> <port>` (the Java test server's command line),
 * here a script running `kairos server start-dev --time-skipping`, and talks to its TestService.
 * A 30-day workflow sleep must complete at once through `env.client`, and `env.sleep` must skip time.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as activities from './activities.js';
import { KAIROS_BIN } from './helpers/server.js';
import { bundleWorkflows, installQuietRuntime, uniqueTaskQueue, uniqueWorkflowId, withWorker } from './helpers/sdk.js';
import { sleepWorkflow } from './workflows/index.js';

const DAY = 24 * 3600_000;
let env: TestWorkflowEnvironment | undefined;
let dir: string | undefined;
let workflowBundle: WorkflowBundle;

beforeAll(async () => {
  installQuietRuntime();
  workflowBundle = await bundleWorkflows();
  dir = mkdtempSync(join(tmpdir(), 'kairos-time-skipping-'));
  // The Java test server's command line is `<binary> <port>`; exec keeps the pid the environment kills.
  const script = join(dir, 'kairos-test-server');
  writeFileSync(
    script,
    `#!/bin/sh\nexec "${process.execPath}" "${KAIROS_BIN}" server start-dev --time-skipping --headless --ip 127.0.0.1 --db-filename :memory: --log-level error --port "$1"\n`,
  );
  chmodSync(script, 0o755);
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: script } } });
});

afterAll(async () => {
  await env?.teardown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('runs a 30-day sleep at once through the official time-skipping client', async () => {
  const testEnv = env!;
  expect(testEnv.supportsTimeSkipping).toBe(true);
  const taskQueue = uniqueTaskQueue('time-skipping');
  const before = await testEnv.currentTimeMs();
  const wallStart = Date.now();
  const slept = await withWorker({ connection: testEnv.nativeConnection, taskQueue, workflowBundle, activities }, async () =>
    testEnv.client.workflow.execute(sleepWorkflow, { taskQueue, workflowId: uniqueWorkflowId('time-skipping'), args: [30 * DAY] }),
  );
  expect(slept).toBeGreaterThanOrEqual(30 * DAY);
  expect(Date.now() - wallStart).toBeLessThan(10_000);
  expect((await testEnv.currentTimeMs()) - before).toBeGreaterThanOrEqual(30 * DAY);
});

it('skips time with env.sleep', async () => {
  const testEnv = env!;
  const before = await testEnv.currentTimeMs();
  await testEnv.sleep('3 days');
  expect((await testEnv.currentTimeMs()) - before).toBeGreaterThanOrEqual(3 * DAY);
});
