// The sandbox entry point: the worker's generated bundle entry imports the user's workflows and calls
// `installWorkflowRuntime`, which makes the sandbox deterministic and exposes the bridge the worker
// drives (`globalThis.__kairos`). Not for workflow code.
//
// The worker evaluates the bundle once per run in one `node:vm` context shared by all runs (as the
// official SDK's reuseV8Context): each run gets its own instances of every module (workflow code's
// module state included), and the worker swaps each run's own globals in and out around its steps.
import type { Activation, ActivationCompletion, FailureConverter, PayloadConverter, QueryAnswer, QueryRequest } from '@kairos/sdk-common';
import { DeterminismViolationError, IllegalStateError } from './errors.js';
import { Activator, getActivator, maybeActivator, setActivator } from './runtime.js';
import { CancellationScope } from './cancellation-scope.js';
import { sleep } from './timers.js';
import type { WorkflowInterceptorsFactory } from './interceptors.js';

export interface SandboxBridge {
  activate(activation: Activation): void;
  tryUnblockConditions(): number;
  conclude(): ActivationCompletion;
  startQuery(request: QueryRequest): void;
  collectQueryAnswers(): QueryAnswer[];
  /** The run's side of the context-wide globals the overrides below dispatch to. */
  now(): number;
  random(): number;
  setTimeout(callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]): number;
  clearTimeout(id: number | undefined): void;
  forbidden(name: string): never;
}

/** Marks a context whose globals were already replaced (symbol keys are never swapped per run). */
const OVERRIDES_INSTALLED = Symbol.for('kairos.globalOverrides');

/**
 * The bridge of the run whose globals are in the context now. The worker evaluates this bundle once
 * per run in one shared context, so `globalThis.__kairos` is each run's own global, swapped in by the
 * worker around the run's steps; the overrides of Date, Math.random, setTimeout and the GC observers
 * are installed once per context and dispatch through it.
 */
function activeBridge(): SandboxBridge | undefined {
  return (globalThis as { __kairos?: SandboxBridge }).__kairos;
}

function requireBridge(): SandboxBridge {
  const bridge = activeBridge();
  if (bridge === undefined) throw new IllegalStateError('Workflow APIs can only be used in workflow code run by a Kairos worker');
  return bridge;
}

function workflowNow(): number {
  return activeBridge()?.now() ?? 0;
}

/** Date and Math.random read workflow time and the seeded generator; GC observers are removed. */
function installGlobalOverrides(): void {
  const OriginalDate = globalThis.Date;
  function DeterministicDate(this: unknown, ...args: unknown[]): Date | string {
    if (new.target === undefined) return new OriginalDate(workflowNow()).toString();
    const built = args.length === 0 ? [workflowNow()] : args;
    return Reflect.construct(OriginalDate, built, new.target) as Date;
  }
  DeterministicDate.prototype = OriginalDate.prototype;
  DeterministicDate.now = workflowNow;
  DeterministicDate.parse = OriginalDate.parse.bind(OriginalDate);
  DeterministicDate.UTC = OriginalDate.UTC.bind(OriginalDate);
  Object.defineProperty(OriginalDate.prototype, 'constructor', { value: DeterministicDate, writable: true, configurable: true });
  (globalThis as { Date: unknown }).Date = DeterministicDate;

  Math.random = () => requireBridge().random();

  const g = globalThis as Record<string, unknown>;
  g['setTimeout'] = (callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]): number =>
    requireBridge().setTimeout(callback, ms, ...args);
  g['clearTimeout'] = (id: number | undefined): void => requireBridge().clearTimeout(id);

  // Garbage collection timing differs between runs, so code observing it cannot replay.
  for (const name of ['WeakRef', 'FinalizationRegistry'] as const) {
    const Forbidden = function (): never {
      const bridge = activeBridge();
      if (bridge !== undefined) bridge.forbidden(name);
      throw new DeterminismViolationError(`${name} cannot be used in workflows because v8 GC is non-deterministic`);
    };
    Object.defineProperty(globalThis, name, { value: Forbidden, writable: false, configurable: false });
  }
  Object.defineProperty(globalThis, OVERRIDES_INSTALLED, { value: true });
}

/** setTimeout of one run: a durable timer, each in its own scope so that clearTimeout can cancel it. */
function durableTimeouts(): Pick<SandboxBridge, 'setTimeout' | 'clearTimeout'> {
  const timeouts = new Map<number, CancellationScope>();
  let nextTimeoutId = 1;
  return {
    setTimeout(callback, ms = 0, ...args) {
      const id = nextTimeoutId++;
      const scope = new CancellationScope({ cancellable: true });
      timeouts.set(id, scope);
      scope.run(() => sleep(Math.max(1, ms))).then(
        () => {
          timeouts.delete(id);
          callback(...args);
        },
        () => timeouts.delete(id),
      );
      return id;
    },
    clearTimeout(id) {
      if (id === undefined) return;
      timeouts.get(id)?.cancel();
      timeouts.delete(id);
    },
  };
}

/**
 * Called by the bundle's entry once per run: this evaluation's modules are that run's own.
 * `payloadConverter`: the export of the worker's `dataConverter.payloadConverterPath`, when it has one;
 * `interceptors`: the `interceptors` exports of the worker's `interceptors.workflowModules`.
 */
export function installWorkflowRuntime(
  workflows: Readonly<Record<string, unknown>>,
  payloadConverter?: PayloadConverter,
  interceptors: readonly WorkflowInterceptorsFactory[] = [],
  failureConverter?: FailureConverter,
): void {
  if (!(OVERRIDES_INSTALLED in globalThis)) installGlobalOverrides();
  const bridge: SandboxBridge = {
    activate(activation) {
      if (maybeActivator() === undefined) setActivator(new Activator(workflows, payloadConverter, interceptors, failureConverter));
      getActivator().activate(activation);
    },
    tryUnblockConditions: () => getActivator().tryUnblockConditions(),
    conclude: () => getActivator().conclude(),
    startQuery: (request) => getActivator().startQuery(request),
    collectQueryAnswers: () => getActivator().collectQueryAnswers(),
    now: () => maybeActivator()?.now ?? 0,
    random: () => getActivator().random(),
    ...durableTimeouts(),
    forbidden(name) {
      throw new DeterminismViolationError(`${name} cannot be used in workflows because v8 GC is non-deterministic`);
    },
  };
  (globalThis as { __kairos?: SandboxBridge }).__kairos = bridge;
}
