/**
 * A 50,000-event history in the browser: the page opens, the whole history arrives page by page,
 * and the virtualised list scrolls to the end. The times are measured and printed (and recorded in
 * docs/ui.md); they are not asserted beyond the test timeout, so a slow machine does not fail it.
 *
 * The history is written by the official SDK worker: 25 workflow tasks of 1,995 upsertMemo commands,
 * each command one WorkflowPropertiesModified event (see longHistoryWorkflow for the arithmetic).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { bundleWorkflows, connect, uniqueTaskQueue, withWorker, type Connections } from '../e2e/helpers/sdk.js';
import * as activities from './activities.js';
import { launchBrowser, screenshot, type TestBrowser } from './helpers/browser.js';
import { startUiServer, type UiServer } from './helpers/server.js';
import { longHistoryWorkflow } from './workflows/index.js';

const TARGET_EVENTS = 50_000;
const BATCHES = 25;
const PER_BATCH = 1995; // 5 + 25 * 1995 + 5 * 24 = 50,000
const WORKFLOW_ID = 'large-history';
const WORKFLOWS = path.join(path.dirname(new URL(import.meta.url).pathname), 'workflows/index.ts');

let server: UiServer;
let sdk: Connections;
let browser: TestBrowser;
let page: Page;
const figures: Record<string, number> = {};

beforeAll(async () => {
  const [started, bundle] = await Promise.all([startUiServer(), bundleWorkflows(WORKFLOWS)]);
  server = started;
  sdk = await connect(server.address);
  browser = await launchBrowser();
  page = await browser.newPage();

  const t0 = Date.now();
  const taskQueue = uniqueTaskQueue('ui-large');
  await withWorker({ connection: sdk.nativeConnection, taskQueue, workflowBundle: bundle, activities }, () =>
    sdk.client.workflow.execute(longHistoryWorkflow, { taskQueue, workflowId: WORKFLOW_ID, args: [BATCHES, PER_BATCH], workflowTaskTimeout: '60s' }),
  );
  figures['write the 50,000-event history (ms)'] = Date.now() - t0;
}, 300_000);

afterAll(async () => {
  console.log(`\n50,000-event history in the browser (${new Date().toISOString()}):`);
  console.table(figures);
  await browser?.close();
  await sdk?.close();
  await server?.stop();
});

const scroller = () => page.locator('[data-testid="history-scroll"]');

describe('a 50,000-event history', () => {
  it('opens, loads completely, scrolls to the end and filters', async () => {
    const described = await sdk.client.workflow.getHandle(WORKFLOW_ID).describe();
    expect(described.historyLength).toBe(TARGET_EVENTS);

    const t0 = Date.now();
    await page.goto(`${server.uiUrl}/namespaces/default/workflows/${WORKFLOW_ID}?view=full`);
    await scroller().locator('[data-event-id="1"]').waitFor();
    figures['first rows shown (ms)'] = Date.now() - t0;
    await page.locator('[data-testid="event-count"]', { hasText: /^50,000 events$/ }).waitFor({ timeout: 120_000 });
    figures['all 50,000 events loaded (ms)'] = Date.now() - t0;

    // Jump to the end: only the rows in sight exist, so the last event renders at once.
    const t1 = Date.now();
    await scroller().evaluate((el) => {
      el.scrollTop = el.scrollHeight;
    });
    await scroller().locator(`[data-event-id="${TARGET_EVENTS}"]`).waitFor();
    figures['scroll to the last event (ms)'] = Date.now() - t1;
    expect(await scroller().locator('.event-row').count()).toBeLessThan(200);

    // Scroll through the whole list in 200 steps of two frames each: the mean time per step is what
    // a user dragging the scrollbar feels (two frames are 33 ms at 60 Hz).
    const stepMs = await scroller().evaluate(async (el) => {
      // Runs in the page; the test's tsconfig has no DOM library, so the frame callback is typed here.
      const win = globalThis as unknown as { requestAnimationFrame(cb: () => void): number };
      const nextFrame = (cb: () => void): number => win.requestAnimationFrame(cb);
      const steps = 200;
      const start = performance.now();
      for (let i = 0; i <= steps; i++) {
        el.scrollTop = (el.scrollHeight * i) / steps;
        await new Promise<void>((resolve) => nextFrame(() => nextFrame(resolve)));
      }
      return (performance.now() - start) / steps;
    });
    figures['mean time per scroll step (ms)'] = Math.round(stepMs * 10) / 10;

    const t2 = Date.now();
    await page.getByRole('tab', { name: 'Compact' }).click();
    await scroller().locator('.event-row').first().waitFor();
    figures['switch to the compact view (ms)'] = Date.now() - t2;

    const t3 = Date.now();
    await page.getByLabel('Filter events').fill('{"step":40000}');
    await expect.poll(() => scroller().locator('.event-row').count(), { timeout: 60_000 }).toBe(1);
    figures['filter the 50,000 events (ms)'] = Date.now() - t3;
    await page.getByLabel('Filter events').fill('');
    await scroller().locator('.event-row').nth(5).waitFor();
    await screenshot(page, 'large-history');
  });
});
