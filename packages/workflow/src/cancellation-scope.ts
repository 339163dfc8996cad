// Cancellation scopes, shaped like the official SDK's: a tree rooted at the workflow's root scope.
// Cancelling a scope cancels its cancellable descendants and every operation (timer, activity)
// started in them. The current scope follows async code through an AsyncLocalStorage the worker
// injects into the sandbox (one instance shared by all runs: a scope propagates only through its own
// run's promises); without one (plain unit tests), only the synchronous part of `run` sees it.
import { CancelledFailure, msFromDuration, type Duration } from '@kairos/sdk-common';
// A circular import (timers use scopes), fine because neither module uses the other at load time.
import { sleep } from './timers.js';

interface ScopeStorage {
  run<R>(scope: CancellationScope, fn: () => R): R;
  getStore(): CancellationScope | undefined;
}

interface AsyncLocalStorageLike {
  run<R>(store: unknown, fn: () => R): R;
  getStore(): unknown;
}

function createStorage(): ScopeStorage {
  // One storage for every run of the worker's shared context: each AsyncLocalStorage Node ever
  // enabled stays in its process-wide list and costs something on every promise of the process.
  const injected = (globalThis as { __kairosAsyncLocalStorage?: AsyncLocalStorageLike }).__kairosAsyncLocalStorage;
  if (injected !== undefined) {
    return {
      run: (scope, fn) => injected.run(scope, fn),
      getStore: () => injected.getStore() as CancellationScope | undefined,
    };
  }
  const stack: CancellationScope[] = [];
  return {
    run(scope, fn) {
      stack.push(scope);
      try {
        return fn();
      } finally {
        stack.pop();
      }
    },
    getStore: () => stack[stack.length - 1],
  };
}

let storage: ScopeStorage | undefined;
let rootScope: CancellationScope | undefined;

export interface CancellationScopeOptions {
  /** A non-cancellable scope ignores the cancellation of its parent (it can still be cancelled itself). */
  cancellable?: boolean;
  parent?: CancellationScope;
  timeout?: Duration;
}

export class CancellationScope {
  readonly cancellable: boolean;
  readonly parent: CancellationScope | undefined;
  readonly timeoutMs: number | undefined;
  /** Rejects with a CancelledFailure when this scope is cancelled. */
  readonly cancelRequested: Promise<never>;
  #cancelled = false;
  #reject!: (reason: CancelledFailure) => void;
  readonly #listeners = new Set<(reason: CancelledFailure) => void>();

  constructor(options: CancellationScopeOptions = {}) {
    this.cancellable = options.cancellable ?? true;
    this.timeoutMs = options.timeout === undefined ? undefined : msFromDuration(options.timeout);
    this.cancelRequested = new Promise<never>((_resolve, reject) => {
      this.#reject = reject;
    });
    // Nobody has to await cancelRequested; an unobserved rejection must not be reported.
    this.cancelRequested.catch(() => undefined);
    this.parent = options.parent ?? (rootScope === undefined ? undefined : CancellationScope.current());
    if (this.parent !== undefined && this.cancellable) {
      if (this.parent.consideredCancelled) this.cancel();
      else this.parent.onCancel((reason) => this.cancelWith(reason));
    }
  }

  /** True once this scope (or, for a cancellable scope, an ancestor) was cancelled. */
  get consideredCancelled(): boolean {
    return this.#cancelled;
  }

  /** Runs `fn` with this scope as the current one. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const store = storage ?? (storage = createStorage());
    return await store.run(this, () => this.runWithTimeout(fn));
  }

  private async runWithTimeout<T>(fn: () => Promise<T>): Promise<T> {
    if (this.timeoutMs === undefined) return await fn();
    // The timer lives in its own scope so that it can be cancelled once `fn` settles.
    const timerScope = new CancellationScope({ cancellable: true, parent: this });
    const timer = timerScope.run(() => sleep(this.timeoutMs ?? 0)).then(
      () => this.cancel(),
      () => undefined,
    );
    try {
      return await fn();
    } finally {
      timerScope.cancel();
      await timer;
    }
  }

  cancel(): void {
    this.cancelWith(new CancelledFailure('Cancellation scope cancelled'));
  }

  private cancelWith(reason: CancelledFailure): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#reject(reason);
    for (const listener of [...this.#listeners]) listener(reason);
    this.#listeners.clear();
  }

  /** Calls `listener` when this scope is cancelled; returns a function that unsubscribes. */
  onCancel(listener: (reason: CancelledFailure) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  static current(): CancellationScope {
    const current = storage?.getStore();
    if (current !== undefined) return current;
    if (rootScope === undefined) throw new Error('No workflow is running: there is no cancellation scope');
    return rootScope;
  }

  static async cancellable<T>(fn: () => Promise<T>): Promise<T> {
    return await new CancellationScope({ cancellable: true }).run(fn);
  }

  static async nonCancellable<T>(fn: () => Promise<T>): Promise<T> {
    return await new CancellationScope({ cancellable: false }).run(fn);
  }

  static async withTimeout<T>(timeout: Duration, fn: () => Promise<T>): Promise<T> {
    return await new CancellationScope({ cancellable: true, timeout }).run(fn);
  }
}

/** Called once per workflow run by the runtime. */
export function installRootScope(): CancellationScope {
  storage = createStorage();
  rootScope = undefined;
  rootScope = new CancellationScope({ cancellable: true });
  return rootScope;
}
