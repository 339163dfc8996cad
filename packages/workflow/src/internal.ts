// The sandbox entry point: the worker's generated bundle entry imports the user's workflows and calls
// `installWorkflowRuntime`, which makes the sandbox deterministic and exposes the bridge the worker
// drives (`globalThis.__kairos`). Not for workflow code.
import type { Activation, ActivationCompletion, QueryAnswer, QueryRequest } from '@kairos/sdk-common';
import { DeterminismViolationError } from './errors.js';
import { Activator, getActivator, maybeActivator, setActivator } from './runtime.js';
import { CancellationScope } from './cancellation-scope.js';
import { sleep } from './timers.js';

export interface SandboxBridge {
  activate(activation: Activation): void;
  tryUnblockConditions(): number;
  conclude(): ActivationCompletion;
  startQuery(request: QueryRequest): void;
  collectQueryAnswers(): QueryAnswer[];
}

function workflowNow(): number {
  return maybeActivator()?.now ?? 0;
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

  Math.random = () => getActivator().random();

  // setTimeout becomes a durable timer (each in its own scope, so that clearTimeout can cancel it).
  const timeouts = new Map<number, CancellationScope>();
  let nextTimeoutId = 1;
  const g = globalThis as Record<string, unknown>;
  g['setTimeout'] = (callback: (...args: unknown[]) => void, ms = 0, ...args: unknown[]): number => {
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
  };
  g['clearTimeout'] = (id: number | undefined): void => {
    if (id === undefined) return;
    timeouts.get(id)?.cancel();
    timeouts.delete(id);
  };

  // Garbage collection timing differs between runs, so code observing it cannot replay.
  for (const name of ['WeakRef', 'FinalizationRegistry'] as const) {
    const Forbidden = function (): never {
      throw new DeterminismViolationError(`${name} cannot be used in workflows because v8 GC is non-deterministic`);
    };
    Object.defineProperty(globalThis, name, { value: Forbidden, writable: false, configurable: false });
  }
}

export function installWorkflowRuntime(workflows: Readonly<Record<string, unknown>>): void {
  installGlobalOverrides();
  const bridge: SandboxBridge = {
    activate(activation) {
      if (maybeActivator() === undefined) setActivator(new Activator(workflows));
      getActivator().activate(activation);
    },
    tryUnblockConditions: () => getActivator().tryUnblockConditions(),
    conclude: () => getActivator().conclude(),
    startQuery: (request) => getActivator().startQuery(request),
    collectQueryAnswers: () => getActivator().collectQueryAnswers(),
  };
  (globalThis as { __kairos?: SandboxBridge }).__kairos = bridge;
}
