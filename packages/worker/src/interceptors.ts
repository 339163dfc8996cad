// Worker interceptors, shaped like the official worker's: activity interceptors run around every
// activity execution in the worker; workflow interceptors are modules bundled with the workflows.
import type { Context } from '@kairos/activity';
import { composeInterceptors, type Headers, type Next } from '@kairos/sdk-common';

export type { Headers, Next } from '@kairos/sdk-common';

/** Called for each activity execution with its context; returns that execution's interceptors. */
export type ActivityInterceptorsFactory = (ctx: Context) => ActivityInterceptors;

export interface ActivityInterceptors {
  inbound?: ActivityInboundCallsInterceptor;
  outbound?: ActivityOutboundCallsInterceptor;
}

export interface ActivityInboundCallsInterceptor {
  /** Wraps the activity function; resolves with its result. */
  execute?: (input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>) => Promise<unknown>;
}

export interface ActivityExecuteInput {
  readonly args: unknown[];
  /** The headers of the ScheduleActivityTask command (see the workflow outbound `scheduleActivity`). */
  readonly headers: Headers;
}

export type GetLogAttributesInput = Record<string, unknown>;

export interface ActivityOutboundCallsInterceptor {
  /** Accepted for compatibility; not called yet (`@kairos/activity` has no activity logger). */
  getLogAttributes?: (input: GetLogAttributesInput, next: Next<ActivityOutboundCallsInterceptor, 'getLogAttributes'>) => Record<string, unknown>;
}

export interface WorkerInterceptors {
  /** Factories of activity interceptors, called for each activity execution, first = outermost. */
  activity?: ActivityInterceptorsFactory[];
  /**
   * Modules bundled with the workflows, each exporting `interceptors`: a function returning
   * `{ inbound?, outbound?, internals? }` (see `WorkflowInterceptorsFactory` of `@kairos/workflow`).
   * Not used with a prebuilt `workflowBundle` (pass them to `bundleWorkflowCode`).
   */
  workflowModules?: string[];
}

/** Runs `fn` through the inbound `execute` chain of `factories` (called here, once per execution). */
export async function executeActivity(
  factories: readonly ActivityInterceptorsFactory[],
  context: Context,
  fn: (...args: never[]) => unknown,
  input: ActivityExecuteInput,
): Promise<unknown> {
  const inbound = factories.flatMap((factory) => factory(context).inbound ?? []);
  const execute = composeInterceptors<ActivityInboundCallsInterceptor, 'execute'>(inbound, 'execute', async (last) => await fn(...(last.args as never[])));
  return await execute(input);
}
