// Time skipping for a server started with `timeSkipping` (docs/sdk.md "Testing"): the clock every
// component reads, the TestService handlers, and the link that tells the clock which runs have work
// in progress (time never jumps while a workflow task or an activity is outstanding).
import type { ExecutionEngine } from '../history/engine.js';
import { keyString } from '../history/engine.js';
import type { MutableState } from '../history/mutable-state.js';
import type { ServiceHandlers } from '../frontend/grpc-server.js';
import { testServiceHandlers } from '../frontend/test-service-handlers.js';
import { TimeSkippingClock, type TimeSkippingClockOptions } from './skipping-clock.js';

/** WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING. */
const RUNNING = 1;

/**
 * Whether a run has work that can make progress without time passing: a workflow task scheduled or
 * started, or an activity scheduled or started (one waiting for its retry backoff does not count: that
 * wait is what time may skip). As in Temporal's Java test server.
 */
export function hasOutstandingWork(state: MutableState): boolean {
  if (state.status !== RUNNING) return false;
  if (state.workflowTask) return true;
  return Object.values(state.activities).some((a) => !a.awaitingRetry);
}

export class TimeSkipping {
  readonly clock: TimeSkippingClock;
  readonly testService: ServiceHandlers;

  /** Starts locked (one lock, as Temporal's test server does): a client unlocks while it waits for a result. */
  constructor(options: TimeSkippingClockOptions = {}) {
    this.clock = new TimeSkippingClock(options);
    this.testService = testServiceHandlers(this.clock);
  }

  /**
   * Follows the engine's commits to know which runs have outstanding work. Closed runs are kept (no
   * retention timer): a jump of virtual time must not delete the run a test is about to inspect.
   */
  attach(engine: ExecutionEngine): void {
    engine.onCommitted = (state) => this.clock.setOutstandingWork(keyString(state), hasOutstandingWork(state));
    engine.retentionMsFor = null;
  }

  close(): void {
    this.clock.close();
  }
}
