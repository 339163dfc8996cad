// With sticky execution the workflow pollers poll two queues, the normal one and the worker's own
// sticky queue, and share the workflow-task slots (a poll holds a slot until its task is done, so a
// task is never taken without room to run it). Left alone, the pollers of one kind could hold every
// slot in long polls while work waits on the other queue. sdk-core's rule, applied before a poller
// takes a slot:
//   - a kind with no poll under way may always start one;
//   - a kind may not start a poll that would leave no slot for the other kind's first one;
//   - otherwise polls start while the polls under way hold fewer than all the slots.
// A poller that may not start waits until a poll ends.
export type WorkflowQueueKind = 'normal' | 'sticky';

export class WorkflowPollBalance {
  private readonly active: Record<WorkflowQueueKind, number> = { normal: 0, sticky: 0 };
  private waiters: Array<() => void> = [];

  constructor(private readonly slots: number) {}

  private allowed(kind: WorkflowQueueKind): boolean {
    const mine = this.active[kind];
    const other = this.active[kind === 'normal' ? 'sticky' : 'normal'];
    if (mine === 0) return true;
    if (other === 0 && mine + 1 >= this.slots) return false;
    return mine + other < this.slots;
  }

  /** Waits for this kind's turn to poll; the returned function ends the poll (call it exactly once). */
  async begin(kind: WorkflowQueueKind, signal: AbortSignal): Promise<() => void> {
    while (!this.allowed(kind)) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          this.waiters = this.waiters.filter((w) => w !== wake);
          reject(signal.reason);
        };
        const wake = (): void => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        if (signal.aborted) {
          reject(signal.reason);
          return;
        }
        signal.addEventListener('abort', onAbort, { once: true });
        this.waiters.push(wake);
      });
    }
    this.active[kind]++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.active[kind]--;
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    };
  }
}
