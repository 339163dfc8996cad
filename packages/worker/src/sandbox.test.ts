import { afterEach, describe, expect, it, vi } from 'vitest';
import { CompiledBundle, WorkflowSandbox, routeUnhandledRejection } from './sandbox.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * Two runs of one bundle (one shared context) whose "bundle" hands a promise of the context's realm
 * out through the injected console when activated.
 */
function twoRuns(): { runs: WorkflowSandbox[]; promises: Promise<unknown>[] } {
  const promises: Promise<unknown>[] = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    promises.push(args[1] as Promise<unknown>);
  });
  const bundle = new CompiledBundle({
    code: 'globalThis.__kairos = { activate() { console.log(new Promise(() => {})); }, tryUnblockConditions: () => 0, conclude: () => ({ commands: [] }) };',
  });
  const runs = [0, 1].map((i) => new WorkflowSandbox(bundle, { activationTimeoutMs: 1_000, logPrefix: `[test-${i}]` }));
  return { runs, promises };
}

const activation = { timestampMs: 0, isReplaying: false, historyLength: 3, jobs: [] };

describe('unhandled rejections in workflow code', () => {
  it('are attributed to the run holding the shared context', async () => {
    const { runs, promises } = twoRuns();
    const [first, second] = runs as [WorkflowSandbox, WorkflowSandbox];
    const reason = new Error('forgotten promise');
    // Both ask for the context at once: the second waits until Node had its chance to report.
    await Promise.all([
      first.runExclusive(() => {
        first.activate(activation);
        expect(routeUnhandledRejection(reason, promises[0] as Promise<unknown>)).toBe(true);
      }),
      second.runExclusive(() => second.activate(activation)),
    ]);
    expect(first.takeUnhandledRejection()).toEqual({ reason });
    expect(second.takeUnhandledRejection()).toBeUndefined();
  });

  it('leave promises of the host realm alone', () => {
    const hostPromise = new Promise<void>(() => undefined);
    expect(routeUnhandledRejection(new Error('not ours'), hostPromise)).toBe(false);
  });
});
