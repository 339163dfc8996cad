import { afterEach, describe, expect, it, vi } from 'vitest';
import { CompiledBundle, WorkflowSandbox, routeUnhandledRejection } from './sandbox.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** A sandbox whose "bundle" hands one promise of its own realm out through the injected console. */
function sandboxWithPromise(): { sandbox: WorkflowSandbox; promise: Promise<unknown> } {
  const logged: unknown[] = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    logged.push(args[1]);
  });
  const bundle = new CompiledBundle({ code: 'console.log(new Promise(() => {})); globalThis.__kairos = {};' });
  const sandbox = new WorkflowSandbox(bundle, { activationTimeoutMs: 1_000, logPrefix: '[test]' });
  return { sandbox, promise: logged[0] as Promise<unknown> };
}

describe('unhandled rejections in workflow code', () => {
  it('are attributed to the sandbox whose realm created the promise', async () => {
    const { sandbox, promise } = sandboxWithPromise();
    const other = sandboxWithPromise().sandbox;
    const reason = new Error('forgotten promise');
    expect(routeUnhandledRejection(reason, promise)).toBe(true);
    expect(await sandbox.takeUnhandledRejection()).toEqual({ reason });
    expect(await other.takeUnhandledRejection()).toBeUndefined();
  });

  it('leave promises of the host realm alone', () => {
    const hostPromise = new Promise<void>(() => undefined);
    expect(routeUnhandledRejection(new Error('not ours'), hostPromise)).toBe(false);
  });
});
