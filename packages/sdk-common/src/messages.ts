// Signal, query and update definitions: names with the argument and return types attached, shared by
// the workflow code that handles them and the client code that sends them.

export interface SignalDefinition<Args extends unknown[] = [], Name extends string = string> {
  type: 'signal';
  name: Name;
  /** Never set: carries the argument types. */
  readonly __signalArgs?: Args;
}

export interface QueryDefinition<Ret, Args extends unknown[] = [], Name extends string = string> {
  type: 'query';
  name: Name;
  /** Never set: carries the argument and return types. */
  readonly __queryTypes?: { args: Args; ret: Ret };
}

export interface UpdateDefinition<Ret, Args extends unknown[] = [], Name extends string = string> {
  type: 'update';
  name: Name;
  /** Never set: carries the argument and return types. */
  readonly __updateTypes?: { args: Args; ret: Ret };
}

export function defineSignal<Args extends unknown[] = [], Name extends string = string>(
  name: Name,
): SignalDefinition<Args, Name> {
  return { type: 'signal', name };
}

export function defineQuery<Ret, Args extends unknown[] = [], Name extends string = string>(
  name: Name,
): QueryDefinition<Ret, Args, Name> {
  return { type: 'query', name };
}

export function defineUpdate<Ret, Args extends unknown[] = [], Name extends string = string>(
  name: Name,
): UpdateDefinition<Ret, Args, Name> {
  return { type: 'update', name };
}

/** Any workflow function: async, with serialisable arguments. */
export type Workflow = (...args: never[]) => Promise<unknown>;

export type WorkflowResultType<W extends Workflow> = Awaited<ReturnType<W>>;

/** What happens to signal and update handlers still running when the workflow finishes. */
export const HandlerUnfinishedPolicy = {
  /** Log a warning (unless the workflow failed) and abandon the handler. The default. */
  WARN_AND_ABANDON: 'WARN_AND_ABANDON',
  /** Abandon the handler silently; an update's caller gets an error instead of its result. */
  ABANDON: 'ABANDON',
} as const;
export type HandlerUnfinishedPolicy = (typeof HandlerUnfinishedPolicy)[keyof typeof HandlerUnfinishedPolicy];

/** The update whose handler is running (`currentUpdateInfo()`). */
export interface UpdateInfo {
  readonly id: string;
  readonly name: string;
}
