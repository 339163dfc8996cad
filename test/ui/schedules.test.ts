/**
 * The Schedules pages in a real browser against a real Kairos server: schedules created with the
 * official client's ScheduleClient, their workflows run by the SDK worker. The list (spec in words,
 * search, empty state), a schedule's page (policies, action input decoded, upcoming runs), and its
 * actions through the UI's dialogs: pause and unpause, trigger now (a run appears and completes),
 * backfill, delete; a missing schedule shows the server's error. A screenshot of each page goes to
 * docs/images/.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { ScheduleNotFoundError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { bundleWorkflows, connect, uniqueTaskQueue, waitFor, type Connections } from '../e2e/helpers/sdk.js';
import * as activities from './activities.js';
import { launchBrowser, screenshot, type TestBrowser } from './helpers/browser.js';
import { startUiServer, type UiServer } from './helpers/server.js';
import { orderWorkflow } from './workflows/index.js';

const WORKFLOWS = path.join(path.dirname(new URL(import.meta.url).pathname), 'workflows/index.ts');

let server: UiServer;
let sdk: Connections;
let worker: Worker;
let workerRun: Promise<void>;
let browser: TestBrowser;
let page: Page;
const taskQueue = uniqueTaskQueue('ui-schedules');

beforeAll(async () => {
  const [started, bundle] = await Promise.all([startUiServer(), bundleWorkflows(WORKFLOWS)]);
  server = started;
  sdk = await connect(server.address);
  worker = await Worker.create({ connection: sdk.nativeConnection, taskQueue, workflowBundle: bundle, activities, shutdownGraceTime: '1s' });
  workerRun = worker.run();
  browser = await launchBrowser();
  page = await browser.newPage();

  const schedules = sdk.client.schedule;
  await schedules.create({
    scheduleId: 'orders-every-2m',
    spec: { intervals: [{ every: '2m' }] },
    action: { type: 'startWorkflow', workflowType: orderWorkflow, args: [{ id: 'sched-order', amount: 42 }], taskQueue, workflowId: 'sched-order' },
  });
  await schedules.create({
    scheduleId: 'noon-report',
    spec: { calendars: [{ hour: 12, dayOfWeek: ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'FRIDAY'], comment: 'the noon report' }] },
    action: { type: 'startWorkflow', workflowType: orderWorkflow, args: [{ id: 'noon', amount: 7 }], taskQueue, workflowId: 'noon-report-run' },
    policies: { catchupWindow: '10 minutes', pauseOnFailure: true },
    state: { note: 'created by the browser test' },
  });
  await schedules.create({
    scheduleId: 'nightly-cleanup',
    spec: { cronExpressions: ['0 3 * * *'] },
    action: { type: 'startWorkflow', workflowType: orderWorkflow, args: [{ id: 'cleanup', amount: 1 }], taskQueue, workflowId: 'nightly-cleanup-run' },
    state: { paused: true, note: 'not yet' },
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  worker?.shutdown();
  await workerRun?.catch(() => undefined);
  await sdk?.close();
  await server?.stop();
});

const listUrl = (query = '') => `${server.uiUrl}/namespaces/default/schedules${query}`;
const scheduleUrl = (id: string) => `${server.uiUrl}/namespaces/default/schedules/${encodeURIComponent(id)}`;
const row = (id: string) => page.locator(`table.schedules tr[data-schedule-id="${id}"]`);
const rows = () => page.locator('table.schedules tbody tr');
const dialog = () => page.getByRole('dialog');

describe('schedule list', () => {
  it('is in the navigation and lists the schedules with their spec in words', async () => {
    await page.goto(`${server.uiUrl}/namespaces/default/workflows`);
    await page.locator('nav').getByRole('link', { name: 'Schedules' }).click();
    await page.waitForURL(/\/namespaces\/default\/schedules$/);
    await row('noon-report').waitFor();
    expect(await rows().count()).toBe(3);

    const every2m = row('orders-every-2m');
    expect(await every2m.textContent()).toContain('every 2 minutes');
    expect(await every2m.textContent()).toContain('orderWorkflow');
    expect(await every2m.locator('.badge').first().textContent()).toBe('Running');
    expect(await row('noon-report').locator('.schedule-spec').textContent()).toBe('at 12:00 on Mon–Wed, Fri');
    expect(await row('nightly-cleanup').locator('.schedule-spec').textContent()).toBe('at 03:00 every day');
    expect(await row('nightly-cleanup').locator('.badge').first().textContent()).toBe('Paused');
    await screenshot(page, 'schedule-list');
  });

  it('filters by schedule id and says when nothing matches', async () => {
    await page.goto(listUrl());
    await row('noon-report').waitFor();
    await page.getByLabel('Schedule ID').fill('NOON');
    await expect.poll(() => rows().count()).toBe(1);
    expect(page.url()).toContain('id=NOON');
    await page.getByLabel('Schedule ID').fill('no-such-schedule');
    await expect.poll(() => rows().count()).toBe(0);
    await page.locator('.empty', { hasText: 'No schedule ID contains' }).waitFor();
  });
});

describe('schedule page', () => {
  it('shows the spec, the policies, the action with its input decoded and the upcoming runs', async () => {
    await page.goto(listUrl());
    await row('noon-report').getByRole('link', { name: 'noon-report' }).click();
    await page.waitForURL(/\/schedules\/noon-report$/);
    const summary = page.getByTestId('schedule-summary');
    expect(await page.getByTestId('schedule-spec').textContent()).toBe('at 12:00 on Mon–Wed, Fri');
    expect(await summary.textContent()).toMatch(/Overlap policySkip/);
    expect(await summary.textContent()).toContain('10 minutes');
    expect(await page.getByTestId('schedule-notes').textContent()).toBe('created by the browser test');
    // The structured calendar as stored: one row, each field as the SDK wrote it.
    const calendar = page.getByTestId('schedule-spec-detail').locator('tbody tr');
    expect(await calendar.count()).toBe(1);
    expect(await calendar.locator('td').allTextContents()).toEqual(['0', '0', '12', '*', '*', 'Mon, Tue, Wed, Fri', '*', 'at 12:00 on Mon–Wed, Fri', 'the noon report']);
    const action = page.getByTestId('schedule-action');
    expect(await action.textContent()).toContain('orderWorkflow');
    expect(await action.textContent()).toContain(taskQueue);
    await action.locator('pre.json', { hasText: '"amount": 7' }).waitFor();
    expect(await page.getByTestId('upcoming-runs').locator('tr').count()).toBeGreaterThan(0);
  });

  it('pauses and unpauses with a reason', async () => {
    const handle = sdk.client.schedule.getHandle('noon-report');
    await page.goto(scheduleUrl('noon-report'));
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await dialog().getByLabel('Reason').fill('maintenance window');
    await dialog().getByRole('button', { name: 'Pause', exact: true }).click();
    await page.locator('.workflow-title .badge', { hasText: 'Paused' }).waitFor();
    await page.getByTestId('paused-note').getByText('maintenance window').waitFor();
    let described = await handle.describe();
    expect(described.state.paused).toBe(true);
    expect(described.state.note).toBe('maintenance window');

    await page.getByRole('button', { name: 'Unpause', exact: true }).click();
    await dialog().getByLabel('Reason').fill('window over');
    await dialog().getByRole('button', { name: 'Unpause', exact: true }).click();
    await page.locator('.workflow-title .badge', { hasText: 'Running' }).waitFor();
    described = await handle.describe();
    expect(described.state.paused).toBe(false);
    expect(described.state.note).toBe('window over');
  });

  it('triggers a run now, which the worker completes', async () => {
    await page.goto(scheduleUrl('noon-report'));
    await page.getByRole('button', { name: 'Trigger now' }).click();
    await dialog().getByRole('button', { name: 'Trigger', exact: true }).click();
    const recent = page.getByTestId('recent-runs');
    const run = recent.locator('tr[data-workflow-id^="noon-report-run-"]').first();
    await run.waitFor({ timeout: 30_000 });
    await run.locator('.badge', { hasText: 'Completed' }).waitFor({ timeout: 30_000 });
    expect((await sdk.client.schedule.getHandle('noon-report').describe()).info.numActionsTaken).toBe(1);
    await screenshot(page, 'schedule');

    // The list shows it as the schedule's last run, linked to its workflow.
    await page.goto(listUrl());
    await row('noon-report').locator('a', { hasText: /^noon-report-run-/ }).waitFor();
    await page.goto(scheduleUrl('noon-report'));
    await run.getByRole('link').click();
    await page.waitForURL(/\/workflows\/noon-report-run-[^/]+\/[0-9a-f-]{36}$/);
    await page.locator('.workflow-title .badge', { hasText: 'Completed' }).waitFor();
    await page.locator('.io').getByText('receipt-noon-7.00').waitFor();
  });

  it('backfills the runs of a past range', async () => {
    const handle = sdk.client.schedule.getHandle('orders-every-2m');
    const before = (await handle.describe()).info.numActionsTaken;
    await page.goto(scheduleUrl('orders-every-2m'));
    await page.getByRole('button', { name: 'Backfill' }).click();
    // Ten minutes back from now, written as the browser's datetime-local inputs hold it (local time).
    const [start, end] = await page.evaluate(() => {
      const local = (ms: number) => {
        const d = new Date(ms);
        const pad = (n: number) => String(n).padStart(2, '0');
        return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
      };
      return [local(Date.now() - 10 * 60_000), local(Date.now())];
    });
    await dialog().getByLabel('Backfill start').fill(start);
    await dialog().getByLabel('Backfill end').fill(end);
    await dialog().getByLabel('Overlap policy').selectOption({ label: 'Allow all' });
    const preview = dialog().getByTestId('backfill-preview');
    await preview.getByText(/^\d+ runs? in this range/).waitFor();
    const expected = Number(/^(\d+)/.exec((await preview.textContent()) ?? '')?.[1]);
    expect(expected).toBeGreaterThanOrEqual(4); // every 2 minutes over 10 minutes, boundaries aside
    await dialog().getByRole('button', { name: 'Backfill', exact: true }).click();
    await dialog().waitFor({ state: 'detached' });
    await waitFor(async () => (await handle.describe()).info.numActionsTaken >= before + expected, { description: 'the backfilled runs', timeoutMs: 30_000, intervalMs: 250 });
    await expect.poll(() => page.getByTestId('recent-runs').locator('tbody tr').count(), { timeout: 15_000 }).toBeGreaterThanOrEqual(Math.min(expected, 10));
  });

  it('deletes after confirmation', async () => {
    await page.goto(scheduleUrl('nightly-cleanup'));
    await page.getByRole('button', { name: 'Delete' }).click();
    await dialog().getByText('nightly-cleanup').waitFor();
    await dialog().getByRole('button', { name: 'Delete', exact: true }).click();
    await page.waitForURL(/\/namespaces\/default\/schedules$/);
    await row('noon-report').waitFor();
    expect(await row('nightly-cleanup').count()).toBe(0);
    await expect(sdk.client.schedule.getHandle('nightly-cleanup').describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  });

  it("shows the server's error for a schedule that does not exist", async () => {
    await page.goto(scheduleUrl('no-such-schedule'));
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toMatch(/not found|does not exist|no such/i);
  });
});
