// Workflow sandboxes: one `node:vm` context per compiled bundle, shared by every run of the worker
// (the official SDK's reuseV8Context). A fresh context per run cost about 200 KB of V8 heap (the
// context's built-ins alone about 140 KB) plus its share of Node's bookkeeping; in the shared one a
// run costs its own module instances (the bundle is wrapped in a function the context calls once per
// run: every module of the bundle, workflow code included, is evaluated again for the run) and its
// own globals. The context has no Node built-ins (no require, process, timers, Buffer), no
// WebAssembly, no SharedArrayBuffer/Atomics; Date, Math.random, WeakRef and FinalizationRegistry are
// replaced once by the runtime, and dispatch to the run whose globals are in the context.
//
// Globals: after the context is set up, the names of its global object are the shared ones. Every
// other global (`__kairos`, the run's bridge, and whatever the workflow code assigns to globalThis)
// belongs to a run: when another run takes the context, they are moved into the previous run's bag
// and deleted, and the new run's bag is put back. The swap happens only when the run changes.
//
// Code generation from strings stays allowed: eval is deterministic, and the official worker's
// process-wide promise hook reads each promise's realm through
// `promise.constructor.constructor('return globalThis...')`, which must not throw in our contexts when
// both workers share a process.
//
// Each step is one `runInContext` call: with microtaskMode 'afterEvaluate' the context's promise jobs
// run before the call returns, so one call = one step of workflow progress, and the call's timeout
// bounds both the synchronous code and the promise jobs (the per-activation deadline).
//
// Unhandled rejections: all runs share one realm, so a rejection is attributed to the run that holds
// the context (`runExclusive`: a task's activations, then one macrotask for Node to report what they
// left unhandled), or else to the run whose globals are in.
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

/** Shared contexts by their global object, to find the owner of an unhandled rejection. */
const contextsByGlobal = new WeakMap<object, SharedWorkflowContext>();
let rejectionListenerInstalled = false;

/**
 * Attributes an unhandled promise rejection to the run that holds the shared context whose code
 * created the promise (its constructor's realm) and records it there; returns false for promises of
 * any other realm.
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
  const shared = typeof realmGlobal === 'object' && realmGlobal !== null ? contextsByGlobal.get(realmGlobal) : undefined;
  if (shared === undefined) return false;
  shared.rejectionOwner()?.recordUnhandledRejection(reason);
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

/** Moves the run's own globals out of the context (into the returned bag) and puts a bag back. */
const GLOBALS_HELPER = `(function (shared) {
  return {
    take() {
      const bag = {};
      for (const name of Object.getOwnPropertyNames(globalThis)) {
        if (shared.has(name)) continue;
        const descriptor = Object.getOwnPropertyDescriptor(globalThis, name);
        if (descriptor === undefined || !descriptor.configurable) continue;
        Object.defineProperty(bag, name, descriptor);
        delete globalThis[name];
      }
      return bag;
    },
    put(bag) {
      Object.defineProperties(globalThis, Object.getOwnPropertyDescriptors(bag));
    },
  };
})`;

/** The context every run of one compiled bundle runs in. */
class SharedWorkflowContext {
  readonly context: vm.Context;
  private readonly globals: { take(): object; put(bag: object): void };
  private readonly newRunModules: () => void;
  /** The run whose globals are in the context (undefined: none). */
  private active: WorkflowSandbox | undefined;
  /** The run holding the context for a task (see `runExclusive`). */
  private holder: WorkflowSandbox | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(script: vm.Script) {
    this.context = vm.createContext({}, { codeGeneration: { strings: true, wasm: false }, microtaskMode: 'afterEvaluate', name: 'kairos-workflows' });
    const global = this.context as Record<string, unknown>;
    // Built-ins live on the context's own global object, not on the object we contextified.
    vm.runInContext(REMOVED_GLOBALS.map((name) => `delete globalThis.${name};`).join(''), this.context);
    // Lets cancellation scopes follow async workflow code (Node's ALS tracks promises of any context).
    // One instance for all runs: Node keeps every ALS it ever enabled and visits each on every promise.
    global['__kairosAsyncLocalStorage'] = new AsyncLocalStorage();
    global['console'] = this.makeConsole();
    global['__kairosInput'] = undefined;
    // Replaced by the runtime's durable timers on the first run; shared names from the start.
    global['setTimeout'] = undefined;
    global['clearTimeout'] = undefined;
    const makeModules = script.runInContext(this.context) as () => void;
    global['__kairosNewRun'] = makeModules;
    const sharedNames = vm.runInContext('new Set(Object.getOwnPropertyNames(globalThis))', this.context) as Set<string>;
    this.globals = (vm.runInContext(GLOBALS_HELPER, this.context) as (names: Set<string>) => SharedWorkflowContext['globals'])(sharedNames);
    this.newRunModules = makeModules;
    installRejectionListener();
    contextsByGlobal.set(vm.runInContext('globalThis', this.context) as object, this);
  }

  private makeConsole(): Record<string, (...args: unknown[]) => void> {
    const forward =
      (method: 'log' | 'info' | 'warn' | 'error' | 'debug') =>
      (...args: unknown[]): void => {
        // Replayed code already logged the first time it ran.
        const run = this.active;
        if (run !== undefined && !run.isReplaying) console[method](run.logPrefix, ...args);
      };
    return { log: forward('log'), info: forward('info'), warn: forward('warn'), error: forward('error'), debug: forward('debug') };
  }

  /** Puts `run`'s globals in the context (the previous run's go to its bag). */
  enter(run: WorkflowSandbox): void {
    if (this.active === run) return;
    this.leave();
    this.active = run;
    this.globals.put(run.globalsBag);
  }

  /** Moves the globals of the run in the context out to its bag. */
  leave(): void {
    const previous = this.active;
    if (previous === undefined) return;
    this.active = undefined;
    previous.globalsBag = this.globals.take();
  }

  isActive(run: WorkflowSandbox): boolean {
    return this.active === run;
  }

  /** Evaluates a fresh copy of the bundle's modules for `run`, with its globals in. */
  createModules(run: WorkflowSandbox): void {
    this.enter(run);
    vm.runInContext('globalThis.__kairosNewRun()', this.context);
  }

  rejectionOwner(): WorkflowSandbox | undefined {
    return this.holder ?? this.active;
  }

  async runExclusive<T>(run: WorkflowSandbox, fn: () => T): Promise<T> {
    const previous = this.queue;
    let release!: () => void;
    this.queue = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    this.holder = run;
    try {
      const result = fn();
      // Node reports unhandled rejections only after the current macrotask.
      await new Promise((resolve) => setImmediate(resolve));
      return result;
    } finally {
      this.holder = undefined;
      release();
    }
  }
}

/** Compiles a bundle once; every run of the worker evaluates its modules in one shared context. */
export class CompiledBundle {
  readonly script: vm.Script;
  private shared: SharedWorkflowContext | undefined;
  constructor(bundle: WorkflowBundle) {
    // A function the context calls once per run: each call evaluates every module of the bundle anew.
    this.script = new vm.Script(`(function kairosWorkflowModules() {\n${bundle.code}\n})`, { filename: 'kairos-workflow-bundle.js' });
  }

  /** The context the bundle's runs share (created with the first run). */
  get context(): SharedWorkflowContext {
    this.shared ??= new SharedWorkflowContext(this.script);
    return this.shared;
  }
}

export interface SandboxOptions {
  /** Deadline of one step; undefined disables it (debugging with breakpoints). */
  readonly activationTimeoutMs: number | undefined;
  /** Prefix for console output of workflow code, e.g. `[hello(wf-1)]`. */
  readonly logPrefix: string;
}

/** One workflow run in the bundle's shared context: its module instances and globals. */
export class WorkflowSandbox {
  private readonly shared: SharedWorkflowContext;
  /** The run's own globals while another run is in the context (see SharedWorkflowContext). */
  globalsBag: object = {};
  private replaying = false;
  private unhandledRejection: unknown;
  private hasUnhandledRejection = false;
  private disposed = false;

  constructor(
    bundle: CompiledBundle,
    private readonly options: SandboxOptions,
  ) {
    this.shared = bundle.context;
    this.shared.createModules(this);
  }

  get logPrefix(): string {
    return this.options.logPrefix;
  }

  get isReplaying(): boolean {
    return this.replaying;
  }

  recordUnhandledRejection(reason: unknown): void {
    if (this.hasUnhandledRejection) return;
    this.hasUnhandledRejection = true;
    this.unhandledRejection = reason;
  }

  /**
   * Runs `fn` (activations of this run) holding the shared context, then lets one macrotask pass so
   * that Node reports any promise rejection they left unhandled, to this run; other runs wait.
   */
  runExclusive<T>(fn: () => T): Promise<T> {
    return this.shared.runExclusive(this, fn);
  }

  /** An unhandled rejection reported while this run held the context (see `runExclusive`). */
  takeUnhandledRejection(): { reason: unknown } | undefined {
    if (!this.hasUnhandledRejection) return undefined;
    return { reason: this.unhandledRejection };
  }

  /**
   * Ends the run (it left the workflow cache): nothing runs for it any more, its globals leave the
   * context, and once the worker drops it everything the workflow held is garbage.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.shared.isActive(this)) this.shared.leave();
    this.globalsBag = {};
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private run(script: vm.Script, input: unknown): unknown {
    if (this.disposed) throw new Error(`${this.options.logPrefix} workflow sandbox used after it was disposed`);
    this.shared.enter(this);
    const global = this.shared.context as Record<string, unknown>;
    global['__kairosInput'] = input;
    try {
      const timeout = this.options.activationTimeoutMs;
      return script.runInContext(this.shared.context, timeout === undefined ? {} : { timeout });
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
