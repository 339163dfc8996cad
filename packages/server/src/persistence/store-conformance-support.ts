// The fixtures of the Store conformance suite (store-conformance.ts): keys, writes, transitions and
// timers as a transition would build them, and the readings its cases compare.
import { expect } from 'vitest';
import { ConditionFailedError, PersistenceError } from './errors.js';
import type { ExecutionKey, ExecutionSummary, ExecutionWrite, Store, TimerTaskRow, TransitionWrite } from './store.js';
import { NO_VISIBILITY_EXTRAS } from './store-conformance-visibility.js';

// WorkflowExecutionStatus values.
export const RUNNING = 1;
export const COMPLETED = 2;
export const EVERYTHING = Number.MAX_SAFE_INTEGER;

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

export const texts = (list: readonly Uint8Array[]): string[] => list.map((b) => new TextDecoder().decode(b));

export function key(workflowId: string, runId = `${workflowId}-run`, namespaceId = 'ns-1'): ExecutionKey {
  return { namespaceId, workflowId, runId };
}

export interface WriteOptions {
  readonly events?: readonly number[];
  readonly summary?: Partial<ExecutionSummary>;
  readonly needsDispatch?: boolean;
  readonly setCurrent?: ExecutionWrite['setCurrent'];
  readonly state?: string;
}

export function write(k: ExecutionKey, expectedVersion: number, options: WriteOptions = {}): ExecutionWrite {
  const newVersion = expectedVersion + 1;
  return {
    key: k,
    expectedVersion,
    newVersion,
    state: bytes(options.state ?? `${k.runId} v${newVersion}`),
    summary: {
      workflowType: 'Greet',
      taskQueue: 'greetings',
      status: RUNNING,
      startTimeMs: 1_000,
      executionTimeMs: 1_000,
      closeTimeMs: null,
      historyLength: options.events?.at(-1) ?? 0,
      ...NO_VISIBILITY_EXTRAS,
      ...options.summary,
    },
    needsDispatch: options.needsDispatch ?? false,
    events: (options.events ?? []).map((eventId) => ({ eventId, data: bytes(`${k.runId} e${eventId}`) })),
    ...(options.setCurrent ? { setCurrent: options.setCurrent } : {}),
  };
}

export function transition(
  executions: ExecutionWrite[],
  timersToAdd: TimerTaskRow[] = [],
  timerIdsToDelete: string[] = [],
  timerKey: ExecutionKey | undefined = executions[0]?.key,
): TransitionWrite {
  const timersToDelete = timerIdsToDelete.map((taskId) => {
    if (!timerKey) throw new Error('timers to delete need their run key');
    return { key: timerKey, taskId };
  });
  return { executions, timersToAdd, timersToDelete };
}

export function timer(taskId: string, fireAtMs: number, k: ExecutionKey): TimerTaskRow {
  return { taskId, fireAtMs, key: k, data: bytes(`timer ${taskId}`) };
}

/** A new run made current, with events 1..2, as StartWorkflowExecution would write it. */
export function start(k: ExecutionKey, options: WriteOptions = {}): TransitionWrite {
  return transition([write(k, 0, { events: [1, 2], setCurrent: { expectedCurrentRunId: null }, ...options })]);
}

/** Everything a store holds about some runs, to prove a failed commit changed nothing. */
export async function snapshot(store: Store, ...keys: ExecutionKey[]): Promise<unknown> {
  const runs = await Promise.all(
    keys.map(async (k) => {
      const row = await store.getExecution(k);
      return {
        execution: row && { state: texts([row.state]), version: row.version },
        events: texts(await store.readEvents(k, 1, EVERYTHING, 1_000)),
        current: await store.getCurrentRun(k.namespaceId, k.workflowId),
      };
    }),
  );
  const timers = await store.listTimerTasks(EVERYTHING, 1_000);
  const dispatch = await store.listExecutionsNeedingDispatch();
  const listed = await store.listExecutions({ namespaceId: 'ns-1', filter: null, pageSize: 1_000, after: null });
  return { runs, timers: timers.map((t) => t.taskId), dispatch: dispatch.map((r) => r.key.runId), listed };
}

export async function expectConflict(
  promise: Promise<unknown>,
  conflict?: { expected: string | number | null; found: string | number | null },
): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ConditionFailedError);
  if (conflict) expect(error).toMatchObject(conflict);
}

/** One word per commitBatch result, so a whole batch's outcome reads as one array. */
export function outcomes(results: ReadonlyArray<Error | null>): string[] {
  return results.map((error) => {
    if (error === null) return 'ok';
    if (error instanceof ConditionFailedError) return `conflict ${String(error.expected)}/${String(error.found)}`;
    return error instanceof PersistenceError ? 'persistence error' : `unexpected ${error.name}`;
  });
}
