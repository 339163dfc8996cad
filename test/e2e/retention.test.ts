/**
 * Deleting runs: DeleteWorkflowExecution (closed and running runs) and the namespace retention that
 * deletes closed runs. The retention test runs the server in this process on a clock it can move
 * forward by a day.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '@kairos/server';
import type { Clock } from '@kairos/server';
import { connect, uniqueWorkflowId, waitFor, type Connections } from './helpers/sdk.js';

/** Real time plus an offset that a test can move forward; callbacks due after a jump fire at once. */
class JumpingClock implements Clock {
  private offsetMs = 0;
  private readonly pending = new Set<{ atMs: number; fn: () => void; handle: NodeJS.Timeout }>();

  now(): number {
    return Date.now() + this.offsetMs;
  }

  schedule(atMs: number, fn: () => void): () => void {
    const entry = {
      atMs,
      fn,
      handle: setTimeout(() => {
        this.pending.delete(entry);
        fn();
      }, Math.min(Math.max(0, atMs - this.now()), 2_147_483_647)),
    };
    this.pending.add(entry);
    return () => {
      clearTimeout(entry.handle);
      this.pending.delete(entry);
    };
  }

  jump(ms: number): void {
    this.offsetMs += ms;
    for (const entry of [...this.pending]) {
      if (entry.atMs > this.now()) continue;
      clearTimeout(entry.handle);
      this.pending.delete(entry);
      entry.fn();
    }
  }
}

let clock: JumpingClock;
let server: RunningServer;
let sdk: Connections;

beforeAll(async () => {
  clock = new JumpingClock();
  server = await startServer({
    ip: '127.0.0.1',
    port: 0,
    dbFilename: ':memory:',
    namespaces: ['default'],
    searchAttributes: new Map(),
    logLevel: 'warn',
    logFormat: 'text',
    dynamicConfig: new Map(),
    headless: true,
    uiPort: undefined,
    httpPort: undefined,
    metricsPort: undefined,
    clock,
  });
  sdk = await connect(server.grpcAddress);
});

afterAll(async () => {
  await sdk?.close();
  await server?.close();
});

const start = (workflowId: string) => sdk.client.workflow.start('neverPolled', { taskQueue: 'nobody-polls', workflowId });

describe('DeleteWorkflowExecution', () => {
  it('deletes a closed run: describe, history and list no longer find it', async () => {
    const handle = await start(uniqueWorkflowId('delete-closed'));
    await handle.terminate('closing it');
    await sdk.connection.workflowService.deleteWorkflowExecution({ namespace: 'default', workflowExecution: { workflowId: handle.workflowId } });
    await expect(handle.describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    expect((await sdk.client.workflow.count(`WorkflowId = '${handle.workflowId}'`)).count).toBe(0);
  });

  it('terminates and deletes a running run', async () => {
    const handle = await start(uniqueWorkflowId('delete-running'));
    await sdk.connection.workflowService.deleteWorkflowExecution({ namespace: 'default', workflowExecution: { workflowId: handle.workflowId, runId: handle.firstExecutionRunId } });
    await expect(handle.describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    // The id is free again.
    const again = await start(handle.workflowId);
    expect(again.firstExecutionRunId).not.toBe(handle.firstExecutionRunId);
    await again.terminate('test over');
  });

  it('answers NOT_FOUND for a workflow that does not exist', async () => {
    const err = await sdk.connection.workflowService
      .deleteWorkflowExecution({ namespace: 'default', workflowExecution: { workflowId: uniqueWorkflowId('nobody') } })
      .catch((e: unknown) => e as { code?: number });
    expect((err as { code?: number }).code).toBe(5 /* NOT_FOUND */);
  });
});

describe('retention', () => {
  it('deletes a closed run once the namespace retention (24 h) has passed, and keeps running ones', async () => {
    const closed = await start(uniqueWorkflowId('retention-closed'));
    const running = await start(uniqueWorkflowId('retention-running'));
    await closed.terminate('closing it');
    clock.jump(23 * 3600 * 1000);
    expect((await closed.describe()).status.name).toBe('TERMINATED');
    clock.jump(2 * 3600 * 1000);
    await waitFor(async () => {
      try {
        await closed.describe();
        return false;
      } catch (err) {
        return err instanceof WorkflowNotFoundError;
      }
    }, { description: 'the closed run deleted' });
    expect((await running.describe()).status.name).toBe('RUNNING');
    await running.terminate('test over');
  });
});
