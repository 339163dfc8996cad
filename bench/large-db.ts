/**
 * Builds a SQLite database of about `events` history events for cold-start, shaped like a real one:
 *
 * 1. A Kairos server (own process) with the official worker runs real workflows into it: 20 completed
 *    10-activity chains (the templates), 1,000 workflows parked on a signal, 1,000 sleeping on a
 *    30-day timer (rows the timer queue loads at start) and 1,000 started on a queue no worker polls
 *    (workflow tasks that start-up must re-queue).
 * 2. With the server stopped, the completed templates are copied through the store (state, summary
 *    and events as the server wrote them, under new ids) until the database holds `events` events.
 *    Copies are closed runs, so the server reads them only when asked: their cost at start is that of
 *    a large file.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { SqliteStore } from '../packages/server/src/persistence/sqlite/sqlite-store.js';
import type { ExecutionListing, TransitionWrite } from '../packages/server/src/persistence/store.js';
import { connectBench, forEachConcurrently, startBenchServer, waitFor } from './harness.js';
import { activityChainWorkflow, parkedWorkflow, sleepUntilWorkflow } from './workflows.js';

const TEMPLATES = 20;
const OPEN_OF_EACH_KIND = 1_000;
const COMPLETED = 2; // WorkflowExecutionStatus COMPLETED

export async function buildLargeDatabase(filename: string, events: number): Promise<{ events: number; executions: number }> {
  mkdirSync(path.dirname(filename), { recursive: true });
  const building = `${filename}.building`;
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${building}${suffix}`, { force: true });
  try {
    await runRealWorkflows(building);
    const written = await copyTemplates(building, events);
    for (const suffix of ['-wal', '-shm']) if (existsSync(`${building}${suffix}`)) throw new Error(`${building}${suffix} left after close`);
    renameSync(building, filename);
    return written;
  } catch (error) {
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${building}${suffix}`, { force: true });
    throw error;
  }
}

async function runRealWorkflows(dbFilename: string): Promise<void> {
  const server = await startBenchServer(undefined, { dbFilename });
  try {
    let parked = 0;
    const bench = await connectBench(server.address, `bench-large-db-${randomUUID().slice(0, 8)}`, { parked: () => void parked++ });
    try {
      const { client, taskQueue } = bench;
      await bench.worker.runUntil(async () => {
        await forEachConcurrently(TEMPLATES, 10, async (i) => {
          await client.workflow.execute(activityChainWorkflow, { taskQueue, workflowId: `template-${i}`, args: [10] });
        });
        const monthAhead = Date.now() + 30 * 24 * 3600 * 1000;
        const failed = await forEachConcurrently(OPEN_OF_EACH_KIND * 2, 50, async (i) => {
          if (i % 2 === 0) await client.workflow.start(parkedWorkflow, { taskQueue, workflowId: `parked-${i}` });
          else await client.workflow.start(sleepUntilWorkflow, { taskQueue, workflowId: `sleeping-${i}`, args: [monthAhead + i] });
        });
        if (failed > 0) throw new Error(`${failed} workflows failed to start`);
        await waitFor(() => parked >= OPEN_OF_EACH_KIND * 2, 600_000, 'the open workflows to park', 100);
      });
      await forEachConcurrently(OPEN_OF_EACH_KIND, 50, async (i) => {
        await client.workflow.start(parkedWorkflow, { taskQueue: `${taskQueue}-unpolled`, workflowId: `queued-${i}` });
      });
    } finally {
      await bench.close();
    }
  } finally {
    // The file stays: a server started on a file it was given leaves it in place.
    await server.stop();
  }
}

async function copyTemplates(dbFilename: string, target: number): Promise<{ events: number; executions: number }> {
  const store = SqliteStore.open({ filename: dbFilename });
  try {
    const namespace = (await store.listNamespaces()).find((row) => row.name === 'default');
    if (namespace === undefined) throw new Error('namespace default is missing');
    const listings: ExecutionListing[] = [];
    const page = await store.listExecutions({ namespaceId: namespace.id, filter: null, pageSize: 10_000, after: null });
    listings.push(...page.executions.filter((e) => e.summary.status === COMPLETED));
    if (listings.length === 0) throw new Error('no completed template executions');
    const templates = await Promise.all(
      listings.map(async (listing) => {
        const row = await store.getExecution(listing.key);
        if (row === null) throw new Error(`template ${listing.key.workflowId} vanished`);
        const events = await store.readEvents(listing.key, 1, Number.MAX_SAFE_INTEGER, 100_000);
        return { listing, state: row.state, events: events.map((data, i) => ({ eventId: i + 1, data })) };
      }),
    );
    let events = 0;
    let executions = 0;
    while (events < target) {
      const batch: TransitionWrite[] = [];
      for (let i = 0; i < 200 && events < target; i++) {
        const template = templates[executions % templates.length]!;
        const key = { namespaceId: namespace.id, workflowId: `copy-${executions}`, runId: randomUUID() };
        const summary = { ...template.listing.summary, rootWorkflowId: key.workflowId, rootRunId: key.runId };
        batch.push({
          executions: [{ key, expectedVersion: 0, newVersion: 1, state: template.state, summary, needsDispatch: false, events: template.events, setCurrent: { expectedCurrentRunId: null } }],
          timersToAdd: [],
          timersToDelete: [],
        });
        events += template.events.length;
        executions++;
      }
      const failed = (await store.commitBatch(batch)).find((result) => result !== null);
      if (failed) throw failed;
    }
    return { events, executions };
  } finally {
    await store.close();
  }
}
