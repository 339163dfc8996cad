// The rest of the workflow-facing API: handlers, info, uuid4, continue-as-new.
import {
  composeInterceptors,
  encodeUnifiedSearchAttributes,
  HandlerUnfinishedPolicy,
  toPayloads,
  msOptionalFromDuration,
  type Duration,
  type QueryDefinition,
  type SearchAttributePair,
  type SearchAttributes,
  type SignalDefinition,
  type TypedSearchAttributes,
  type UpdateDefinition,
  type Workflow,
  type WorkflowInfo,
} from '@kairos/sdk-common';
import { ContinueAsNew } from './errors.js';
import { getActivator, maybeActivator } from './runtime.js';

type SignalHandler<Args extends unknown[]> = (...args: Args) => void | Promise<void>;
type QueryHandler<Ret, Args extends unknown[]> = (...args: Args) => Ret;
type UpdateHandler<Ret, Args extends unknown[]> = (...args: Args) => Ret | Promise<Ret>;

export interface UpdateHandlerOptions<Args extends unknown[]> {
  /**
   * Runs before the handler, read-only and synchronous; throwing rejects the update (nothing is
   * written to history). Not run on replay.
   */
  validator?: (...args: Args) => void;
  description?: string;
  /** What to do if the workflow finishes while this handler runs (default: WARN_AND_ABANDON). */
  unfinishedPolicy?: HandlerUnfinishedPolicy;
}

export interface SignalHandlerOptions {
  description?: string;
  /** What to do if the workflow finishes while this handler runs (default: WARN_AND_ABANDON). */
  unfinishedPolicy?: HandlerUnfinishedPolicy;
}

/** Sets (or, with `undefined`, removes) the handler of a signal, query or update. */
export function setHandler<Args extends unknown[]>(
  definition: SignalDefinition<Args>,
  handler: SignalHandler<Args> | undefined,
  options?: SignalHandlerOptions,
): void;
export function setHandler<Ret, Args extends unknown[]>(
  definition: QueryDefinition<Ret, Args>,
  handler: QueryHandler<Ret, Args> | undefined,
): void;
export function setHandler<Ret, Args extends unknown[]>(
  definition: UpdateDefinition<Ret, Args>,
  handler: UpdateHandler<Ret, Args> | undefined,
  options?: UpdateHandlerOptions<Args>,
): void;
export function setHandler(
  definition: SignalDefinition<unknown[]> | QueryDefinition<unknown, unknown[]> | UpdateDefinition<unknown, unknown[]>,
  handler: ((...args: never[]) => unknown) | undefined,
  options?: UpdateHandlerOptions<never[]> | SignalHandlerOptions,
): void {
  const activator = getActivator();
  if (definition.type === 'update') {
    const entry =
      handler === undefined
        ? undefined
        : {
            handler: handler as (...args: unknown[]) => unknown,
            validator: (options as UpdateHandlerOptions<never[]> | undefined)?.validator as ((...args: unknown[]) => void) | undefined,
            unfinishedPolicy: options?.unfinishedPolicy ?? HandlerUnfinishedPolicy.WARN_AND_ABANDON,
          };
    activator.updates.setHandler(definition.name, entry);
    return;
  }
  const map = definition.type === 'signal' ? activator.signalHandlers : activator.queryHandlers;
  if (handler === undefined) {
    map.delete(definition.name);
    return;
  }
  map.set(definition.name, handler as (...args: unknown[]) => unknown);
  if (definition.type === 'signal') {
    activator.signalPolicies.set(definition.name, options?.unfinishedPolicy ?? HandlerUnfinishedPolicy.WARN_AND_ABANDON);
    activator.flushBufferedSignals();
  }
}

/** Handles signals whose name has no handler of its own: `(signalName, ...args)`. */
export type DefaultSignalHandler = (signalName: string, ...args: unknown[]) => void | Promise<void>;
/** Handles updates whose name has no handler of its own: `(updateName, ...args)`. */
export type DefaultUpdateHandler = (updateName: string, ...args: unknown[]) => Promise<unknown> | unknown;
/** Answers queries whose name has no handler of its own: `(queryName, ...args)`. */
export type DefaultQueryHandler = (queryName: string, ...args: unknown[]) => unknown;

/**
 * Sets (or, with `undefined`, removes) the handler of signals that have no handler of their own.
 * Signals that arrived before any handler was set are delivered to it at once, in arrival order.
 */
export function setDefaultSignalHandler(handler: DefaultSignalHandler | undefined): void {
  const activator = getActivator();
  activator.defaultSignalHandler = handler;
  if (handler !== undefined) activator.flushBufferedSignals();
}

/**
 * Sets (or removes) the handler of updates that have no handler of their own. It has no validator;
 * updates waiting in the current activation are run by it.
 */
export function setDefaultUpdateHandler(handler: DefaultUpdateHandler | undefined): void {
  getActivator().updates.setDefaultHandler(handler);
}

/** Sets (or removes) the handler of queries that have no handler of their own (nor a built-in one). */
export function setDefaultQueryHandler(handler: DefaultQueryHandler | undefined): void {
  getActivator().defaultQueryHandler = handler;
}

/**
 * True when no update handler and no async signal handler is still running: wait on it before
 * returning so that no accepted update is left unfinished, e.g.
 * `await condition(allHandlersFinished)`.
 */
export function allHandlersFinished(): boolean {
  const activator = getActivator();
  return activator.updates.inProgressCount === 0 && activator.inProgressSignals.size === 0;
}

export function workflowInfo(): WorkflowInfo {
  return getActivator().requireInfo();
}

export { currentUpdateInfo } from './updates.js';

/** True when called from workflow code run by a worker. */
export function inWorkflowContext(): boolean {
  return maybeActivator() !== undefined;
}

/** A random (version 4) UUID drawn from the workflow's seeded generator: the same on every replay. */
export function uuid4(): string {
  const bytes: number[] = [];
  for (let i = 0; i < 16; i++) bytes.push(Math.floor(Math.random() * 256));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export interface ContinueAsNewOptions {
  workflowType?: string;
  taskQueue?: string;
  workflowRunTimeout?: Duration;
  workflowTaskTimeout?: Duration;
  /** The new run's memo; absent, it keeps this run's. */
  memo?: Record<string, unknown>;
  /** @deprecated as in the official SDK: prefer `typedSearchAttributes`. Absent (both), the new run keeps this run's. */
  searchAttributes?: SearchAttributes;
  /** Wins over `searchAttributes` for an attribute both name. */
  typedSearchAttributes?: SearchAttributePair[] | TypedSearchAttributes;
}

/** Returns a function that ends this run and starts a new one of the chain with the given arguments. */
export function makeContinueAsNewFunc<F extends Workflow>(
  options: ContinueAsNewOptions = {},
): (...args: Parameters<F>) => Promise<never> {
  return async (...args: Parameters<F>): Promise<never> => {
    const activator = getActivator();
    const info = activator.requireInfo();
    const continueAsNewCall = composeInterceptors(activator.interceptors.outbound, 'continueAsNew', (input) => {
      throw new ContinueAsNew({
        kind: 'continueAsNew',
        args: toPayloads(activator.converter, input.args),
        headers: input.headers,
        options: {
          workflowType: input.options.workflowType,
          taskQueue: input.options.taskQueue ?? info.taskQueue,
          runTimeoutMs: msOptionalFromDuration(input.options.workflowRunTimeout),
          taskTimeoutMs: msOptionalFromDuration(input.options.workflowTaskTimeout),
          memo:
            input.options.memo === undefined
              ? undefined
              : Object.fromEntries(Object.entries(input.options.memo).map(([k, v]) => [k, activator.converter.toPayload(v)])),
          searchAttributes:
            input.options.searchAttributes === undefined && input.options.typedSearchAttributes === undefined
              ? undefined
              : encodeUnifiedSearchAttributes(input.options.searchAttributes, input.options.typedSearchAttributes),
        },
      });
    });
    return await continueAsNewCall({ args, headers: {}, options: { ...options, workflowType: options.workflowType ?? info.workflowType } });
  };
}

export async function continueAsNew<F extends Workflow>(...args: Parameters<F>): Promise<never> {
  return await makeContinueAsNewFunc<F>()(...args);
}
