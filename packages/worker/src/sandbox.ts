// One workflow run's sandbox: a fresh `node:vm` context holding the bundled workflow code and the
// runtime of @kairos/workflow. The context has no Node built-ins (no require, process, timers,
// Buffer), no WebAssembly, no SharedArrayBuffer/Atomics; Date, Math.random, WeakRef and
// FinalizationRegistry are replaced by the runtime itself. Code generation from strings stays allowed:
// eval is deterministic, and the official worker's process-wide promise hook reads each promise's
// realm through `promise.constructor.constructor('return globalThis...')`, which must not throw in
// our contexts when both workers share a process.
//
// Each step is one `runInContext` call: with microtaskMode 'afterEvaluate' the context's promise jobs
// run before the call returns, so one call = one step of workflow progress, and the call's timeout
// bounds both the synchronous code and the promise jobs (the per-activation deadline).
import { AsyncLocalStorage } from 'node:async_hooks';
import vm from 'node:vm';
import type { Activation, ActivationCompletion, QueryAnswer, QueryRequest } from '@kairos/sdk-common';
import { ActivationDeadlineError } from './errors.js';
import type { WorkflowBundle } from './bundler.js';

const steps = {
  activate: new vm.Script('globalThis.__kairos.activate(globalThis.__kairosInput)', { filename: 'kairos:activate' }),
  unblock: new vm.Script('globalThis.__kairos.tryUnblockConditions()', { filename: 'kairos:unblock' }),
  conclude: new vm.Script('globalThis.__kairos.conclude()', { filename: 'kairos:conclude' }),
  startQuery: new vm.Script('globalThis.__kairos.startQuery(globalThis.__kairosInput)', { filename: 'kairos:query' }),
  collectQueryAnswers: new vm.Script('globalThis.__kairos.collectQueryAnswers()', { filename: 'kairos:query' }),
};

const REMOVED_GLOBALS = ['SharedArrayBuffer', 'Atomics', 'WebAssembly'];

/** Sandboxes by their context's global object, to find the owner of an unhandled rejection. */
const sandboxesByGlobal = new WeakMap<object, WorkflowSandbox>();
let rejectionListenerInstalled = false;

/**
 * Attributes an unhandled promise rejection to the sandbox whose code created the promise (its
 * constructor's realm) and records it there; returns false for promises of any other realm.
 */
export function routeUnhandledRejection(reason: unknown, promise: Promise<unknown>): boolean {
  let realmGlobal: unknown;
  try {
    // Function of the promise's own realm: evaluates in that realm (our contexts allow it).
    const RealmFunction = promise.constructor.constructor as FunctionConstructor;
    realmGlobal = RealmFunction('return globalThis')();
  } catch {
    return false;
  }
  const sandbox = typeof realmGlobal === 'object' && realmGlobal !== null ? sandboxesByGlobal.get(realmGlobal) : undefined;
  if (sandbox === undefined) return false;
  sandbox.recordUnhandledRejection(reason);
  return true;
}

/**
 * Without a listener, an unhandled rejection in workflow code would crash the worker process (Node's
 * default). With it, the rejection fails the workflow task instead, as in the official SDK. A
 * rejection from outside any sandbox is rethrown when nobody else listens, keeping Node's default.
 */
function installRejectionListener(): void {
  if (rejectionListenerInstalled) return;
  rejectionListenerInstalled = true;
  const listener = (reason: unknown, promise: Promise<unknown>): void => {
    if (routeUnhandledRejection(reason, promise)) return;
    if (process.listenerCount('unhandledRejection') === 1) throw reason;
  };
  process.on('unhandledRejection', listener);
}

/** Compiles a bundle once; every sandbox of the worker evaluates the same compiled script. */
export class CompiledBundle {
  readonly script: vm.Script;
  constructor(bundle: WorkflowBundle) {
    this.script = new vm.Script(bundle.code, { filename: 'kairos-workflow-bundle.js' });
  }
}

export interface SandboxOptions {
  /** Deadline of one step; undefined disables it (debugging with breakpoints). */
  readonly activationTimeoutMs: number | undefined;
  /** Prefix for console output of workflow code, e.g. `[hello(wf-1)]`. */
  readonly logPrefix: string;
}

export class WorkflowSandbox {
  private readonly context: vm.Context;
  private replaying = false;
  private unhandledRejection: unknown;
  private hasUnhandledRejection = false;
  private disposed = false;

  constructor(
    bundle: CompiledBundle,
    private readonly options: SandboxOptions,
  ) {
    this.context = vm.createContext(
      {},
      { codeGeneration: { strings: true, wasm: false }, microtaskMode: 'afterEvaluate', name: options.logPrefix },
    );
    const global = this.context as Record<string, unknown>;
    // Built-ins live on the context's own global object, not on the object we contextified.
    vm.runInContext(REMOVED_GLOBALS.map((name) => `delete globalThis.${name};`).join(''), this.context);
    // Lets cancellation scopes follow async workflow code (Node's ALS tracks promises of any context).
    global['__kairosAsyncLocalStorage'] = AsyncLocalStorage;
    global['console'] = this.makeConsole();
    installRejectionListener();
    sandboxesByGlobal.set(vm.runInContext('globalThis', this.context) as object, this);
    this.run(bundle.script, undefined);
  }

  recordUnhandledRejection(reason: unknown): void {
    if (this.hasUnhandledRejection) return;
    this.hasUnhandledRejection = true;
    this.unhandledRejection = reason;
  }

  /**
   * Node reports unhandled rejections only after the current macrotask, so the worker lets one pass
   * (`setImmediate`) after the activations of a task and then asks here.
   */
  async takeUnhandledRejection(): Promise<{ reason: unknown } | undefined> {
    await new Promise((resolve) => setImmediate(resolve));
    if (!this.hasUnhandledRejection) return undefined;
    return { reason: this.unhandledRejection };
  }

  private makeConsole(): Record<string, (...args: unknown[]) => void> {
    const forward =
      (method: 'log' | 'info' | 'warn' | 'error' | 'debug') =>
      (...args: unknown[]): void => {
        // Replayed code already logged the first time it ran.
        if (!this.replaying) console[method](this.options.logPrefix, ...args);
      };
    return { log: forward('log'), info: forward('info'), warn: forward('warn'), error: forward('error'), debug: forward('debug') };
  }

  /**
   * Ends the sandbox (its run left the workflow cache): nothing runs in it any more, and once the
   * worker drops it the context and everything the workflow held are garbage.
   */
  dispose(): void {
    this.disposed = true;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private run(script: vm.Script, input: unknown): unknown {
    if (this.disposed) throw new Error(`${this.options.logPrefix} workflow sandbox used after it was disposed`);
    const global = this.context as Record<string, unknown>;
    global['__kairosInput'] = input;
    try {
      const timeout = this.options.activationTimeoutMs;
      return script.runInContext(this.context, timeout === undefined ? {} : { timeout });
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
        throw new ActivationDeadlineError(
          `${this.options.logPrefix} workflow code ran for more than ${this.options.activationTimeoutMs} ms in one activation ` +
            '(a busy loop or a deadlock?); set KAIROS_WORKFLOW_DEBUG=1 to turn this deadline off while debugging',
          { cause: error },
        );
      }
      throw error;
    } finally {
      global['__kairosInput'] = undefined;
    }
  }

  /** Runs one activation to quiescence and returns the commands it produced. */
  activate(activation: Activation): ActivationCompletion {
    this.replaying = activation.isReplaying;
    this.run(steps.activate, activation);
    // A resolved condition lets code run that may satisfy further conditions: repeat until stable.
    while ((this.run(steps.unblock, undefined) as number) > 0) {
      // keep going
    }
    return this.run(steps.conclude, undefined) as ActivationCompletion;
  }

  query(request: QueryRequest): QueryAnswer {
    this.run(steps.startQuery, request);
    const answers = this.run(steps.collectQueryAnswers, undefined) as QueryAnswer[];
    const answer = answers[0];
    if (answer === undefined) throw new Error(`query ${request.queryType} produced no answer`);
    return answer;
  }
}
