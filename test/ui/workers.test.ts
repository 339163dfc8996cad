/**
 * The Workers pages in a real browser against a real Kairos server (docs/workers.md): heartbeats
 * recorded with the official client's RecordWorkerHeartbeat, then the list (rows, the Running filter,
 * a query the server refuses), a worker's page with every part of its heartbeat, a missing worker, the
 * task queue page's workers, and a server started with frontend.WorkerHeartbeatsEnabled=false. A
 * screenshot of the list goes to docs/images/workers.png.
 */
import Long from 'long';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { temporal } from '@temporalio/proto';
import { connect, uniqueTaskQueue, type Connections } from '../e2e/helpers/sdk.js';
import { launchBrowser, screenshot, type TestBrowser } from './helpers/browser.js';
import { startUiServer, type UiServer } from './helpers/server.js';

const RUNNING = 1;
const SHUTTING_DOWN = 2;

let server: UiServer;
let sdk: Connections;
let browser: TestBrowser;
let page: Page;
const orders = uniqueTaskQueue('ui-orders');
const billing = uniqueTaskQueue('ui-billing');

const seconds = (ms: number) => ({ seconds: Long.fromNumber(Math.floor(ms / 1000)) });

function heartbeat(key: string, taskQueue: string, overrides: Partial<temporal.api.worker.v1.IWorkerHeartbeat> = {}): temporal.api.worker.v1.IWorkerHeartbeat {
  return {
    workerInstanceKey: key,
    workerIdentity: `4242@host-a-${key}`,
    taskQueue,
    sdkName: 'temporal-typescript',
    sdkVersion: '1.14.0',
    status: RUNNING,
    hostInfo: { hostName: 'host-a', processId: '4242', workerGroupingKey: 'group-1', currentHostCpuUsage: 0.25, currentHostMemUsage: 0.5 },
    startTime: seconds(Date.now() - 3_600_000),
    heartbeatTime: seconds(Date.now()),
    ...overrides,
  };
}

const FULL = heartbeat('worker-a', orders, {
  deploymentVersion: { deploymentName: 'orders', buildId: 'v42' },
  elapsedSinceLastHeartbeat: { seconds: Long.fromNumber(60) },
  workflowTaskSlotsInfo: { currentAvailableSlots: 98, currentUsedSlots: 2, slotSupplierKind: 'Fixed', totalProcessedTasks: 1234, totalFailedTasks: 5, lastIntervalProcessedTasks: 17, lastIntervalFailureTasks: 1 },
  activityTaskSlotsInfo: { currentAvailableSlots: 100, currentUsedSlots: 0, slotSupplierKind: 'ResourceBased', totalProcessedTasks: 321 },
  workflowPollerInfo: { currentPollers: 3, lastSuccessfulPollTime: seconds(Date.now() - 2000), isAutoscaling: true },
  activityPollerInfo: { currentPollers: 5 },
  totalStickyCacheHit: 90,
  totalStickyCacheMiss: 10,
  currentStickyCacheSize: 7,
  plugins: [{ name: 'my-plugin', version: '0.3.1' }],
});

beforeAll(async () => {
  server = await startUiServer();
  sdk = await connect(server.address);
  browser = await launchBrowser();
  page = await browser.newPage();
  await sdk.connection.workflowService.recordWorkerHeartbeat({
    namespace: 'default',
    identity: 'ui-test',
    workerHeartbeat: [
      FULL,
      heartbeat('worker-b', orders, { workerIdentity: '77@host-b', hostInfo: { hostName: 'host-b', processId: '77' }, sdkName: 'temporal-python', sdkVersion: '1.9.0' }),
      heartbeat('worker-c', billing, { status: SHUTTING_DOWN, deploymentVersion: { buildId: 'b7' } }),
    ],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await sdk?.close();
  await server?.stop();
});

const listUrl = (query = '') => `${server.uiUrl}/namespaces/default/workers${query}`;
const row = (key: string) => page.locator(`table.workers tr[data-worker-key="${key}"]`);
const rows = () => page.locator('table.workers tbody tr');

describe('worker list', () => {
  it('is in the navigation and lists the workers with their heartbeat', async () => {
    await page.goto(`${server.uiUrl}/namespaces/default/workflows`);
    await page.locator('nav').getByRole('link', { name: 'Workers' }).click();
    await page.waitForURL(/\/namespaces\/default\/workers$/);
    await row('worker-c').waitFor();
    expect(await rows().count()).toBe(3);

    const a = row('worker-a');
    expect(await a.locator('td').allTextContents()).toEqual([
      'Running',
      'worker-a',
      orders,
      '4242@host-a-worker-a',
      'host-a (pid 4242)',
      'temporal-typescript 1.14.0',
      'orders@v42',
      expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.000$/),
      expect.stringMatching(/ago$/),
    ]);
    expect(await row('worker-c').locator('.badge').textContent()).toBe('Shutting down');
    expect(await row('worker-c').locator('td').nth(6).textContent()).toBe('b7');
    expect(await row('worker-b').locator('td').nth(5).textContent()).toBe('temporal-python 1.9.0');
    expect(await page.locator('[data-filter="All"] b').textContent()).toBe('3');
    expect(await page.locator('[data-filter="Running"] b').textContent()).toBe('2');
    await screenshot(page, 'workers');
  });

  it('filters on running workers and on a typed query, and shows the error of a bad one', async () => {
    await page.goto(listUrl());
    await row('worker-c').waitFor();
    await page.locator('[data-filter="Running"]').click();
    await expect.poll(() => rows().count()).toBe(2);
    expect(await row('worker-c').count()).toBe(0);
    expect(await page.getByLabel('Worker query').inputValue()).toBe("WorkerStatus = 'Running'");
    expect(new URL(page.url()).searchParams.get('query')).toBe("WorkerStatus = 'Running'");

    await page.getByLabel('Worker query').fill(`TaskQueue = '${billing}'`);
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await expect.poll(() => rows().count()).toBe(1);
    await row('worker-c').waitFor();

    await page.getByLabel('Worker query').fill('TaskQueue = ');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'malformed query' }).waitFor();

    await page.getByLabel('Worker query').fill("TaskQueue = 'nobody'");
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.locator('.empty', { hasText: 'workerHeartbeatInterval' }).waitFor();
    expect(await page.getByRole('alert').count()).toBe(0);

    await page.locator('[data-filter="All"]').click();
    await expect.poll(() => rows().count()).toBe(3);
  });
});

describe('worker page', () => {
  it('shows every part of the heartbeat', async () => {
    await page.goto(listUrl());
    await row('worker-a').getByRole('link', { name: 'worker-a' }).click();
    await page.waitForURL(/\/workers\/worker-a$/);
    const identity = page.getByTestId('worker-identity');
    await identity.waitFor();
    const text = (id: string) => page.getByTestId(id).textContent();
    expect(await identity.textContent()).toContain('4242@host-a-worker-a');
    expect(await identity.textContent()).toContain('Host CPU25.0%');
    expect(await identity.textContent()).toContain('Host memory50.0%');
    expect(await identity.textContent()).toContain('group-1');
    expect(await text('worker-deployment')).toContain('orders@v42');
    expect(await text('worker-times')).toContain('Since the heartbeat before1m 0s');
    expect(await page.locator('[data-slots="workflowTaskSlotsInfo"] td').allTextContents()).toEqual(['Workflow tasks', '2', '98', 'Fixed', '1234', '5', '17', '1']);
    expect(await page.locator('[data-slots="nexusTaskSlotsInfo"] td').allTextContents()).toEqual(['Nexus tasks', 'not reported']);
    const pollers = await page.locator('[data-pollers="workflowPollerInfo"] td').allTextContents();
    expect(pollers[1]).toBe('3');
    expect(pollers[2]).toMatch(/ago$/);
    expect(pollers[3]).toBe('yes');
    expect(await text('worker-sticky-cache')).toContain('Hit rate90.0%');
    expect(await text('worker-plugins')).toContain('my-plugin 0.3.1');
    await screenshot(page, 'worker');
  });

  it('says when a worker is not known', async () => {
    await page.goto(`${listUrl()}/no-such-worker`);
    await page.getByTestId('worker-not-found').filter({ hasText: 'forgotten after 5 minutes' }).waitFor();
  });

  it('lists the workers of a task queue on its page', async () => {
    await page.goto(`${server.uiUrl}/namespaces/default/task-queues/${encodeURIComponent(orders)}`);
    const workers = page.getByTestId('queue-workers');
    await workers.waitFor();
    expect(await workers.getByRole('link').count()).toBe(2);
    await workers.getByRole('link', { name: /77@host-b/ }).click();
    await page.waitForURL(/\/workers\/worker-b$/);
    await page.getByTestId('worker-identity').filter({ hasText: 'temporal-python 1.9.0' }).waitFor();
  });
});

describe('with heartbeats off', () => {
  it('says that the server keeps none', async () => {
    const off = await startUiServer(['--dynamic-config-value', 'frontend.WorkerHeartbeatsEnabled=false']);
    try {
      await page.goto(`${off.uiUrl}/namespaces/default/workers`);
      await page.getByTestId('workers-disabled').filter({ hasText: 'frontend.WorkerHeartbeatsEnabled=false' }).waitFor();
      expect(await page.locator('table.workers').count()).toBe(0);
    } finally {
      await off.stop();
    }
  }, 60_000);
});
