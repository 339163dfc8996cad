/**
 * The Web UI in a real browser (system Chromium through playwright-core) against a real Kairos server,
 * with workflows run by the official SDK worker: the list and its filters, a workflow's summary,
 * history, timeline, call stack and queries, a signal and a termination through the UI's dialogs, task
 * queues and namespaces. Screenshots of the main screens go to docs/images/.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { Worker } from '@temporalio/worker';
// Test-only reach into the server's source: its proto3 JSON codec is not part of its public API.
import { lookupType } from '../../packages/server/src/frontend/proto-codec.js';
import { jsonToMessage, type JsonType } from '../../packages/server/src/http/proto-json.js';
import { bundleWorkflows, connect, uniqueTaskQueue, waitFor, type Connections } from '../e2e/helpers/sdk.js';
import * as activities from './activities.js';
import { launchBrowser, screenshot, type TestBrowser } from './helpers/browser.js';
import { startUiServer, type UiServer } from './helpers/server.js';
import { approvalWorkflow, failingOrderWorkflow, orderWorkflow, parentWorkflow } from './workflows/index.js';

const WORKFLOWS = path.join(path.dirname(new URL(import.meta.url).pathname), 'workflows/index.ts');

let server: UiServer;
let sdk: Connections;
let worker: Worker;
let workerRun: Promise<void>;
let browser: TestBrowser;
let page: Page;
const taskQueue = uniqueTaskQueue('ui');

beforeAll(async () => {
  const [started, bundle] = await Promise.all([startUiServer(), bundleWorkflows(WORKFLOWS)]);
  server = started;
  sdk = await connect(server.address);
  worker = await Worker.create({ connection: sdk.nativeConnection, taskQueue, workflowBundle: bundle, activities, shutdownGraceTime: '1s' });
  workerRun = worker.run();
  browser = await launchBrowser();
  page = await browser.newPage();

  const workflow = sdk.client.workflow;
  for (const n of [1, 2, 3]) {
    await workflow.execute(orderWorkflow, { taskQueue, workflowId: `order-100${n}`, args: [{ id: `order-100${n}`, amount: 20 * n }] });
  }
  await expect(workflow.execute(failingOrderWorkflow, { taskQueue, workflowId: 'order-2001', args: [{ id: 'order-2001', amount: 99 }] })).rejects.toThrow();
  await workflow.execute(parentWorkflow, { taskQueue, workflowId: 'batch-1', args: [['A-1', 'A-2']] });
  for (const id of ['approval-1', 'approval-2']) {
    const handle = await workflow.start(approvalWorkflow, { taskQueue, workflowId: id, args: [{ id }] });
    // Once the first workflow task is done the run is blocked on the signal and can answer queries.
    await waitFor(async () => (await handle.query<string>('status')) === 'waiting for approval', { description: `${id} to wait` });
  }
}, 180_000);

afterAll(async () => {
  await browser?.close();
  worker?.shutdown();
  await workerRun?.catch(() => undefined);
  await sdk?.close();
  await server?.stop();
});

const listUrl = (query = '') => `${server.uiUrl}/namespaces/default/workflows${query}`;
const workflowUrl = (id: string, query = '') => `${server.uiUrl}/namespaces/default/workflows/${encodeURIComponent(id)}${query}`;
const rows = () => page.locator('table.workflows tbody tr');

describe('workflow list', () => {
  it('lists the workflows with counts per status', async () => {
    await page.goto(listUrl());
    await page.locator('tr[data-workflow-id="order-1001"]').waitFor();
    await expect.poll(() => page.locator('[data-status="Running"] b').textContent()).toBe('2');
    expect(await page.locator('[data-status="Failed"] b').textContent()).toBe('1');
    expect(await page.locator('[data-status="Completed"] b').textContent()).toBe('6'); // 3 orders, the batch and its 2 children
    await screenshot(page, 'workflow-list');
  });

  it('filters by status, type, id prefix and a raw query', async () => {
    await page.goto(listUrl());
    await page.locator('[data-status="Running"]').click();
    await expect.poll(() => rows().count()).toBe(2);
    expect(page.url()).toContain('status=Running');

    await page.goto(listUrl());
    await page.locator('.filter-bar').getByLabel('Workflow type').fill('orderWorkflow');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => rows().count()).toBe(5); // 3 orders + 2 children

    await page.locator('.filter-bar').getByLabel('Workflow ID').fill('child-');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => rows().count()).toBe(2);

    await page.goto(listUrl(`?raw=1&query=${encodeURIComponent("WorkflowId = 'order-1002'")}`));
    await expect.poll(() => rows().count()).toBe(1);
    expect(await rows().first().getAttribute('data-workflow-id')).toBe('order-1002');
  });

  it('jumps to a pasted workflow id', async () => {
    await page.goto(listUrl());
    await page.getByLabel('Jump to workflow id').fill('order-1003');
    await page.getByLabel('Jump to workflow id').press('Enter');
    await page.waitForURL(/\/workflows\/order-1003$/);
    await page.getByText('receipt-order-1003-60.00').first().waitFor();
  });
});

describe('workflow page', () => {
  it('opens a workflow from the list and reads its history', async () => {
    await page.goto(listUrl());
    await page.locator('tr[data-workflow-id="order-1001"] a').click();
    await page.waitForURL(/\/workflows\/order-1001\//);
    await page.locator('.summary').getByText('orderWorkflow').waitFor();
    await page.locator('.io').getByText('receipt-order-1001-20.00').waitFor();
    // Compact: one row per activity and timer.
    const history = page.locator('[data-testid="history-scroll"]');
    await history.getByText('reserveStock').waitFor();
    await history.getByText('chargeCard').waitFor();
    await screenshot(page, 'workflow-history');

    await page.getByRole('tab', { name: 'Full' }).click();
    await history.getByText('ActivityTaskCompleted').first().waitFor();
    await history.locator('[data-event-id="1"]').click();
    await page.locator('aside.detail').getByText('"id": "order-1001"').waitFor();
    await screenshot(page, 'workflow-event-detail');

    await page.getByRole('tab', { name: /^Timeline/ }).click();
    await page.locator('.timeline-row').first().waitFor();
    expect(await page.locator('.timeline-row').count()).toBe(3); // two activities and the timer
    await screenshot(page, 'workflow-timeline');
  });

  it('shows a failure readably', async () => {
    await page.goto(workflowUrl('order-2001'));
    await page.locator('.failure').getByText('card declined for order order-2001').first().waitFor();
    await page.locator('.failure').getByText('PaymentDeclined').first().waitFor();
    await screenshot(page, 'workflow-failed');
  });

  it('links a parent to its children and back, and draws their graph', async () => {
    await page.goto(workflowUrl('batch-1'));
    await page.locator('.children').getByText('child-A-1').click();
    await page.waitForURL(/\/workflows\/child-A-1\//);
    await page.locator('.summary').getByText('batch-1').waitFor();

    await page.goto(workflowUrl('order-1001', '?tab=graph'));
    await page.locator('[data-testid="graph"]').getByText('reserveStock').waitFor();
    await page.goto(workflowUrl('batch-1', '?tab=graph'));
    const graph = page.locator('[data-testid="graph"]');
    await graph.getByText('child-A-2').waitFor();
    await screenshot(page, 'workflow-graph');
    await graph.getByText('child-A-2').click();
    await page.waitForURL(/\/workflows\/child-A-2\//);
  });

  it('shows the call stack and answers a query of a running workflow', async () => {
    await page.goto(workflowUrl('approval-1', '?tab=stack'));
    const stack = page.locator('[data-testid="stack-trace"] pre.stack');
    await stack.waitFor();
    expect(await stack.textContent()).toMatch(/approvalWorkflow|condition/);
    await page.locator('[data-testid="waiting-on"]').waitFor();
    await screenshot(page, 'workflow-call-stack');

    await page.getByRole('tab', { name: 'Queries' }).click();
    await page.getByLabel('Query type').fill('status');
    await page.getByRole('button', { name: 'Query', exact: true }).click();
    await page.locator('.panel pre.json').getByText('waiting for approval').waitFor();
  });

  it('sends a signal through the dialog', async () => {
    await page.goto(workflowUrl('approval-1'));
    await page.getByRole('button', { name: 'Signal' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Signal name').fill('approve');
    await dialog.getByLabel('Signal input').fill('{"approver": "ada"}');
    await screenshot(page, 'workflow-signal-dialog');
    await dialog.getByRole('button', { name: 'Send signal' }).click();
    await page.locator('.workflow-title .badge', { hasText: 'Completed' }).waitFor();
    expect(await sdk.client.workflow.getHandle('approval-1').result()).toBe('request approval-1 approved by ada');
    await page.locator('[data-testid="history-scroll"]').getByText('approve').first().waitFor();
  });

  it('terminates after confirmation', async () => {
    await page.goto(workflowUrl('approval-2'));
    await page.getByRole('button', { name: 'Terminate' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Reason').fill('not needed any more');
    await dialog.getByRole('button', { name: 'Terminate' }).click();
    await page.locator('.workflow-title .badge', { hasText: 'Terminated' }).waitFor();
    const described = await sdk.client.workflow.getHandle('approval-2').describe();
    expect(described.status.name).toBe('TERMINATED');
    await page.locator('.io').getByText('not needed any more').waitFor();
  });

  it('resets a run to a workflow task after confirmation', async () => {
    const before = await sdk.client.workflow.getHandle('order-1003').describe();
    await page.goto(workflowUrl('order-1003'));
    await page.getByRole('button', { name: 'Reset' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Reset point').selectOption('4'); // the first workflow task
    await dialog.getByLabel('Reason').fill('replay the order');
    await dialog.getByRole('button', { name: 'Reset' }).click();
    await page.waitForURL((url) => /\/workflows\/order-1003\/[0-9a-f-]{36}$/.test(url.pathname) && !url.pathname.endsWith(before.runId));
    // The new run picks up from event 4 with the worker and completes again.
    await page.locator('.workflow-title .badge', { hasText: 'Completed' }).waitFor({ timeout: 30_000 });
    expect((await sdk.client.workflow.getHandle('order-1003').describe()).runId).not.toBe(before.runId);
  });

  it('says clearly that no worker can answer the call stack', async () => {
    await sdk.client.workflow.start(approvalWorkflow, { taskQueue: 'nobody-polls-this', workflowId: 'orphan-1', args: [{ id: 'orphan-1' }] });
    await page.goto(workflowUrl('orphan-1', '?tab=stack'));
    await page.getByRole('alert').getByText('No worker is polling task queue "nobody-polls-this"').waitFor();
  });

  it('exports a history and imports it again', async () => {
    await page.goto(workflowUrl('order-1002'));
    await page.locator('[data-testid="event-count"]', { hasText: /^\d+ events$/ }).waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export JSON' }).click()]);
    const file = path.join(os.tmpdir(), `kairos-ui-export-${process.pid}.json`);
    await download.saveAs(file);
    const exported = JSON.parse(readFileSync(file, 'utf8')) as { events: Array<{ eventType: string; eventTime: string }> };
    expect(exported.events[0]?.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_STARTED');
    expect(exported.events[0]?.eventTime).toMatch(/Z$/);
    // The export is what the SDK's replayer reads (proto3 JSON, full payloads). The SDK's own
    // historyFromJSON fails in this install (@temporalio/common nests protobufjs 8 while the proto
    // root is built with 7: "type must be a Type"), so the server's proto3 JSON reader decodes it.
    const History = lookupType('temporal.api.history.v1.History') as unknown as JsonType;
    const history = jsonToMessage(History, exported, { payloadShorthand: false });
    await Worker.runReplayHistory({ workflowBundle: await bundleWorkflows(WORKFLOWS) }, history);

    await page.goto(`${server.uiUrl}/import`);
    await page.getByLabel('History JSON file').setInputFiles(file);
    await page.locator('[data-testid="event-count"]', { hasText: `${exported.events.length} events` }).waitFor();
  });
});

describe('task queues and namespaces', () => {
  it('shows the pollers of a task queue', async () => {
    await page.goto(`${server.uiUrl}/namespaces/default/task-queues`);
    const card = page.locator(`[data-task-queue="${taskQueue}"]`);
    await card.locator('tbody tr').first().waitFor();
    expect(await card.textContent()).toMatch(/Workflow/);
    expect(await card.textContent()).toMatch(/Activity/);
    await page.locator('[data-task-queue="nobody-polls-this"] .warning').waitFor();
    await screenshot(page, 'task-queues');
  });

  it('lists the namespaces', async () => {
    await page.goto(`${server.uiUrl}/namespaces`);
    await page.locator('table').getByText('default', { exact: true }).waitFor();
    await screenshot(page, 'namespaces');
  });
});

describe('batch operations', () => {
  it('terminates every running workflow of a filter as a batch job, and shows the job\'s progress', async () => {
    const ids = ['bulk-1', 'bulk-2', 'bulk-3'];
    for (const id of ids) await sdk.client.workflow.start(approvalWorkflow, { taskQueue, workflowId: id, args: [{ id }] });
    await page.goto(listUrl('?id=bulk-'));
    await expect.poll(() => page.locator('[data-status="Running"] b').textContent()).toBe('3');
    await page.getByRole('button', { name: 'Batch…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('(3 now)').waitFor();
    await dialog.getByLabel('Reason').fill('bulk clean-up');
    await dialog.getByRole('button', { name: 'Start' }).click();
    await page.waitForURL(/\/namespaces\/default\/batch-operations\/[0-9a-f-]{36}$/);
    await page.locator('.badge', { hasText: 'Completed' }).waitFor();
    expect(await page.locator('[data-count="completed"]').textContent()).toBe('3');
    expect(await page.locator('[data-count="failed"]').textContent()).toBe('0');
    expect(await page.textContent('main')).toContain('bulk clean-up');
    await screenshot(page, 'batch-operation');
    for (const id of ids) expect((await sdk.client.workflow.getHandle(id).describe()).status.name).toBe('TERMINATED');

    const jobId = decodeURIComponent(page.url().split('/').pop() ?? '');
    await page.getByRole('link', { name: 'All batch operations' }).click();
    const row = page.locator(`tr[data-job-id="${jobId}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain('Terminate workflow');
    // The job itself is not among the workflows.
    await page.goto(listUrl(`?id=${jobId}`));
    await page.locator('.empty', { hasText: 'No workflows match' }).waitFor();
  });
});
