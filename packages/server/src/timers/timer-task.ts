// The kinds of durable timer the engine sets. Every timer carries what identifies the state it was set
// for (scheduled event id, attempt, timer id), and the engine re-validates it when it fires: a timer
// that no longer matches mutable state is dropped (at-least-once timers, effectively-once effects).

export type TimerTask =
  | { readonly kind: 'workflowTaskTimeout'; readonly scheduledEventId: number; readonly attempt: number }
  /** A workflow task waited on a sticky queue too long (machines/sticky.ts). */
  | { readonly kind: 'stickyScheduleToStartTimeout'; readonly scheduledEventId: number; readonly attempt: number }
  | {
      readonly kind: 'activityTimeout';
      readonly scheduledEventId: number;
      readonly attempt: number;
      /** TimeoutType enum value. */
      readonly timeoutType: number;
    }
  | { readonly kind: 'activityRetry'; readonly scheduledEventId: number; readonly attempt: number }
  | { readonly kind: 'userTimer'; readonly timerId: string; readonly startedEventId: number }
  | { readonly kind: 'workflowRunTimeout' }
  | { readonly kind: 'workflowExecutionTimeout' }
  | { readonly kind: 'workflowBackoff' }
  /** The namespace retention of a closed run elapsed: delete it. */
  | { readonly kind: 'deleteExecution' }
  // Transfer tasks: due at once, they carry an effect to another execution (at least once; the
  // receiving side is idempotent). They are not tracked in mutable state and survive the run's close.
  | { readonly kind: 'startChild'; readonly initiatedEventId: number }
  | { readonly kind: 'externalRequest'; readonly initiatedEventId: number }
  | { readonly kind: 'notifyParent' }
  | { readonly kind: 'parentClosePolicy'; readonly initiatedEventId: number; readonly workflowId: string; readonly runId: string; readonly namespaceId: string; readonly policy: number }
  // Nexus operations (history/machines/nexus-operation.ts): an attempt to start or cancel one runs from
  // a row due at once that stays until the attempt's outcome is recorded (history/ops/nexus-invocation.ts).
  | { readonly kind: 'nexusInvoke'; readonly scheduledEventId: number }
  | { readonly kind: 'nexusCancel'; readonly scheduledEventId: number }
  | { readonly kind: 'nexusBackoff'; readonly scheduledEventId: number; readonly attempt: number }
  | { readonly kind: 'nexusCancelBackoff'; readonly scheduledEventId: number; readonly attempt: number }
  | { readonly kind: 'nexusTimeout'; readonly scheduledEventId: number; readonly timeoutType: number }
  /** A closed run's completion callbacks are delivered (history/ops/callbacks.ts). */
  | { readonly kind: 'deliverCallbacks' };

export type TransferTask = Extract<TimerTask, { kind: 'startChild' | 'externalRequest' | 'notifyParent' | 'parentClosePolicy' }>;

export function isTransferTask(task: TimerTask): task is TransferTask {
  return task.kind === 'startChild' || task.kind === 'externalRequest' || task.kind === 'notifyParent' || task.kind === 'parentClosePolicy';
}

export function encodeTimerTask(task: TimerTask): Uint8Array {
  // An allocation of its own, not a slice of Buffer's shared pool: the timer queue keeps up to its
  // window's rows in memory, and each pooled slice would keep a whole 8 KiB slab alive.
  const json = JSON.stringify(task);
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(json));
  bytes.write(json);
  return bytes;
}

export function decodeTimerTask(data: Uint8Array): TimerTask {
  return JSON.parse(Buffer.from(data).toString('utf8')) as TimerTask;
}

/**
 * Memory-only timers are never written to the store: only the timer queue holds them. That suits a
 * timer whose loss on restart changes nothing. The one kind so far is the sticky schedule-to-start
 * timeout: after a restart no sticky queue is known, and the dispatch recovery sends every waiting task
 * to its normal queue anyway (history/recover-dispatches.ts). Their ids start with this prefix, so that
 * deleting one never touches the store.
 */
const MEMORY_ONLY_PREFIX = 'm~';

export function isMemoryOnlyTimerId(taskId: string): boolean {
  return taskId.startsWith(MEMORY_ONLY_PREFIX);
}

let lastMs = 0;
let seq = 0;
/** Unique, roughly time-ordered ids for timer tasks ("<ms base36>-<seq>-<random>", prefixed when memory-only). */
export function newTimerTaskId(nowMs: number, memoryOnly = false): string {
  if (nowMs === lastMs) seq++;
  else {
    lastMs = nowMs;
    seq = 0;
  }
  return `${memoryOnly ? MEMORY_ONLY_PREFIX : ''}${nowMs.toString(36)}-${seq.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
