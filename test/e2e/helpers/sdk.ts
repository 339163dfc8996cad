/**
 * Official Temporal SDK plumbing for the end-to-end suite: one quiet Runtime per process, client and
 * worker connections, one workflow bundle per test file, workers scoped to a callback, and a recorder
 * that replays every history a test file produced.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import {
  bundleWorkflowCode,
  DefaultLogger,
  IllegalStateError,
  makeTelemetryFilterString,
  NativeConnection,
  Runtime,
  Worker,
  type WorkerOptions,
  type WorkflowBundle,
} from '@temporalio/worker';
// CommonJS whose exports are built at run time: import it whole (named ESM imports fail in Node).
import proto from '@temporalio/proto';
import type { temporal } from '@temporalio/proto';

export const WORKFLOWS_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), '../workflows/index.ts');

/** Temporal's API enums (EventType, RetryState, TimeoutType, ...). */
export const enums = proto.temporal.api.enums.v1;
export const EventType = enums.EventType;
export type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
export type History = temporal.api.history.v1.IHistory;

let runtimeInstalled = false;

/** Installs a Runtime that only reports warnings and errors. Safe to call many times. */
export function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  try {
    Runtime.install({
      logger: new DefaultLogger('WARN'),
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
    });
  } catch (error) {
    // Another module of this process installed it first; keep theirs.
    if (!(error instanceof IllegalStateError)) throw error;
  }
  runtimeInstalled = true;
}

export interface Connections {
  connection: Connection;
  client: Client;
  nativeConnection: NativeConnection;
  close(): Promise<void>;
}

export async function connect(address: string, namespace = 'default'): Promise<Connections> {
  installQuietRuntime();
  const connection = await Connection.connect({ address });
  const nativeConnection = await NativeConnection.connect({ address });
  const client = new Client({ connection, namespace });
  return {
    connection,
    client,
    nativeConnection,
    async close() {
      await Promise.allSettled([connection.close(), nativeConnection.close()]);
    },
  };
}

/** Bundles `test/e2e/workflows/index.ts` (slow: do it once per test file). */
export async function bundleWorkflows(workflowsPath = WORKFLOWS_PATH): Promise<WorkflowBundle> {
  installQuietRuntime();
  const bundle = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
  return { code: bundle.code };
}

/** A task queue name no other test uses. */
export function uniqueTaskQueue(label: string): string {
  return `e2e-${label}-${randomUUID().slice(0, 8)}`;
}

export function uniqueWorkflowId(label: string): string {
  return `${label}-${randomUUID()}`;
}

export type TestWorkerOptions = Omit<WorkerOptions, 'workflowsPath' | 'workflowBundle' | 'connection'> & {
  connection: NativeConnection;
  workflowBundle: WorkflowBundle;
};

/** Runs a worker while `fn` runs; the worker is shut down when `fn` settles, and `fn`'s outcome is returned. */
export async function withWorker<R>(options: TestWorkerOptions, fn: (worker: Worker) => Promise<R>): Promise<R> {
  installQuietRuntime();
  const worker = await Worker.create({ shutdownGraceTime: '2s', ...options });
  return await worker.runUntil(() => fn(worker));
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Shown in the error when the deadline passes. */
  description?: string;
}

/**
 * Polls `probe` until it returns a value other than `undefined`/`false`, and returns that value.
 * Errors thrown by `probe` count as "not yet" until the deadline, then the last one is reported.
 */
export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  options: WaitOptions = {},
): Promise<T> {
  const { timeoutMs = 30_000, intervalMs = 50, description = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const suffix = lastError === undefined ? '' : `; last error: ${String(lastError)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}${suffix}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export function events(history: History): HistoryEvent[] {
  return history.events ?? [];
}

export function eventsOfType(history: History, type: temporal.api.enums.v1.EventType): HistoryEvent[] {
  return events(history).filter((event) => event.eventType === type);
}

export function eventTypeName(event: HistoryEvent): string {
  return EventType[event.eventType ?? 0] ?? String(event.eventType);
}

/** Event type names in order, without the `EVENT_TYPE_` prefix: handy in assertion messages. */
export function eventTypeNames(history: History): string[] {
  return events(history).map((event) => eventTypeName(event).replace(/^EVENT_TYPE_/, ''));
}

/** Waits until the workflow's history satisfies `predicate` and returns that history. */
export async function waitForHistory(
  handle: WorkflowHandle,
  predicate: (history: History) => boolean,
  options: WaitOptions = {},
): Promise<History> {
  let last: History | undefined;
  try {
    return await waitFor(
      async () => {
        last = await handle.fetchHistory();
        return predicate(last) ? last : undefined;
      },
      { intervalMs: 100, ...options },
    );
  } catch (error) {
    const seen = last === undefined ? '(none fetched)' : eventTypeNames(last).join(', ');
    throw new Error(`${(error as Error).message}; history of ${handle.workflowId}: ${seen}`);
  }
}

export function hasEvent(history: History, type: temporal.api.enums.v1.EventType): boolean {
  return events(history).some((event) => event.eventType === type);
}

/** True once the history contains an event of `type` after which a workflow task was completed. */
export function processedAfter(history: History, type: temporal.api.enums.v1.EventType): boolean {
  const list = events(history);
  const index = list.findIndex((event) => event.eventType === type);
  if (index < 0) return false;
  return list.slice(index + 1).some((event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
}

/**
 * Collects the workflows a test file started, so that the file can replay all their histories with
 * the same bundle at the end: any nondeterminism in what the server wrote shows up there.
 */
export class HistoryRecorder {
  private readonly handles: WorkflowHandle[] = [];

  record<H extends WorkflowHandle>(handle: H): H {
    this.handles.push(handle);
    return handle;
  }

  get size(): number {
    return this.handles.length;
  }

  /** Fetches every recorded history and replays it; resolves to the failures (empty when all replayed). */
  async replayAll(workflowBundle: WorkflowBundle): Promise<string[]> {
    installQuietRuntime();
    const histories: { workflowId: string; history: History }[] = [];
    for (const handle of this.handles) {
      histories.push({ workflowId: handle.workflowId, history: await handle.fetchHistory() });
    }
    const failures: string[] = [];
    if (histories.length === 0) return failures;
    const results = Worker.runReplayHistories({ workflowBundle, replayName: 'e2e-replay' }, histories);
    for await (const result of results) {
      if (result.error !== undefined) {
        failures.push(`${result.workflowId}: ${result.error.name}: ${result.error.message}`);
      }
    }
    return failures;
  }
}
