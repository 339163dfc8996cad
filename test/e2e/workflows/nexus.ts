/**
 * Nexus operations called from workflows (test/e2e/nexus.test.ts): the service the suite's handlers
 * serve, the caller workflows, and the workflow an asynchronous operation runs.
 */
import * as nexus from 'nexus-rpc';
import * as wf from '@temporalio/workflow';

export const greetingService = nexus.service('greetingService', {
  /** Answers at once (a synchronous operation). */
  greet: nexus.operation<string, string>(),
  /** Runs `nexusGreeter` (an asynchronous operation, completed by the run's close). */
  greetLater: nexus.operation<string, string>(),
  /** Fails with an operation error. */
  refuse: nexus.operation<string, string>(),
  /** Starts `nexusBlocker`, which waits until it is canceled. */
  block: nexus.operation<string, string>(),
  /** Starts `nexusWaiter`, which answers once it is signaled `go`. */
  greetOnSignal: nexus.operation<string, string>(),
});

export const goSignal = wf.defineSignal('go');

export async function nexusCaller(endpoint: string, operation: 'greet' | 'greetLater' | 'refuse' | 'greetOnSignal', name: string): Promise<string> {
  const client = wf.createNexusServiceClient({ endpoint, service: greetingService });
  return await client.executeOperation(operation, name, { scheduleToCloseTimeout: '60s' });
}

/** Calls an operation with a short schedule-to-close timeout (its endpoint's queue has no worker). */
export async function nexusTimeoutCaller(endpoint: string): Promise<string> {
  const client = wf.createNexusServiceClient({ endpoint, service: greetingService });
  return await client.executeOperation('greet', 'nobody', { scheduleToCloseTimeout: '12s' });
}

/** Starts the blocking operation, then cancels it once it has started; reports how it ended. */
export async function nexusCanceller(endpoint: string, name: string): Promise<string> {
  const client = wf.createNexusServiceClient({ endpoint, service: greetingService });
  try {
    await wf.CancellationScope.cancellable(async () => {
      const handle = await client.startOperation('block', name, { cancellationType: 'WAIT_CANCELLATION_COMPLETED' });
      wf.CancellationScope.current().cancel();
      await handle.result();
    });
    return 'completed';
  } catch (err) {
    return wf.isCancellation(err) ? 'canceled' : `failed: ${(err as Error).message}`;
  }
}

export async function nexusGreeter(name: string): Promise<string> {
  await wf.sleep(10);
  return `later, ${name}`;
}

export async function nexusBlocker(): Promise<string> {
  await wf.condition(() => false);
  return 'unreachable';
}

export async function nexusWaiter(name: string): Promise<string> {
  let go = false;
  wf.setHandler(goSignal, () => void (go = true));
  await wf.condition(() => go);
  return `go, ${name}`;
}
