// Workflow interceptors, shaped like the official SDK's: a module named in the worker's
// `interceptors.workflowModules` exports `interceptors`, a factory the runtime calls once per run
// (after the run's info is known). Inbound interceptors wrap calls into the workflow (execute,
// signals, queries, updates), outbound ones wrap what the workflow asks of the server (activities,
// timers, children, signals, continue-as-new); each method gets `(input, next)`, the first
// interceptor of a list being the outermost.
import type { ActivationCompletion, Activation, Headers, Next } from '@kairos/sdk-common';
import type { ActivityOptions } from './activities.js';
import type { LocalActivityOptions } from './local-activities.js';
import type { ChildWorkflowOptions } from './child-workflows.js';
import type { ContinueAsNewOptions } from './workflow-api.js';

export type { Headers, Next } from '@kairos/sdk-common';

export type WorkflowInterceptorsFactory = () => WorkflowInterceptors;

export interface WorkflowInterceptors {
  inbound?: WorkflowInboundCallsInterceptor[];
  outbound?: WorkflowOutboundCallsInterceptor[];
  internals?: WorkflowInternalsInterceptor[];
}

export interface WorkflowInboundCallsInterceptor {
  /** Wraps the workflow function; resolves with the workflow's result. */
  execute?: (input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>) => Promise<unknown>;
  handleSignal?: (input: SignalInput, next: Next<WorkflowInboundCallsInterceptor, 'handleSignal'>) => Promise<void>;
  handleQuery?: (input: QueryInput, next: Next<WorkflowInboundCallsInterceptor, 'handleQuery'>) => Promise<unknown>;
  handleUpdate?: (input: UpdateInput, next: Next<WorkflowInboundCallsInterceptor, 'handleUpdate'>) => Promise<unknown>;
  /** Runs only for live update requests (not on replay), as the validator itself. */
  validateUpdate?: (input: UpdateInput, next: Next<WorkflowInboundCallsInterceptor, 'validateUpdate'>) => void;
}

export interface WorkflowExecuteInput {
  readonly args: unknown[];
  /** The headers of the start request (WorkflowExecutionStarted's `header`). */
  readonly headers: Headers;
}

export interface SignalInput {
  readonly signalName: string;
  readonly args: unknown[];
  readonly headers: Headers;
}

export interface QueryInput {
  readonly queryId: string;
  readonly queryName: string;
  readonly args: unknown[];
  readonly headers: Headers;
}

export interface UpdateInput {
  readonly updateId: string;
  readonly name: string;
  readonly args: unknown[];
  readonly headers: Headers;
}

export interface WorkflowOutboundCallsInterceptor {
  scheduleActivity?: (input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>) => Promise<unknown>;
  /** One schedule of a local activity (again after each durable backoff, with the next attempt). */
  scheduleLocalActivity?: (input: LocalActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleLocalActivity'>) => Promise<unknown>;
  startTimer?: (input: TimerInput, next: Next<WorkflowOutboundCallsInterceptor, 'startTimer'>) => Promise<void>;
  signalWorkflow?: (input: SignalWorkflowInput, next: Next<WorkflowOutboundCallsInterceptor, 'signalWorkflow'>) => Promise<void>;
  /** Resolves with two promises: the child's run id once started, and its result. */
  startChildWorkflowExecution?: (
    input: StartChildWorkflowExecutionInput,
    next: Next<WorkflowOutboundCallsInterceptor, 'startChildWorkflowExecution'>,
  ) => Promise<[Promise<string>, Promise<unknown>]>;
  continueAsNew?: (input: ContinueAsNewInput, next: Next<WorkflowOutboundCallsInterceptor, 'continueAsNew'>) => Promise<never>;
}

export interface ActivityInput {
  readonly activityType: string;
  readonly args: unknown[];
  readonly options: ActivityOptions;
  /** Written to the ScheduleActivityTask command's `header`; the activity's interceptors read them. */
  readonly headers: Headers;
  readonly seq: number;
}

export interface LocalActivityInput {
  readonly activityType: string;
  readonly args: unknown[];
  readonly options: LocalActivityOptions;
  /** Passed to the worker's activity interceptors (the local activity never reaches the server). */
  readonly headers: Headers;
  readonly seq: number;
  readonly attempt: number;
  readonly originalScheduleTime?: Date | undefined;
}

export interface TimerInput {
  readonly durationMs: number;
  readonly seq: number;
}

export interface SignalWorkflowInput {
  readonly seq: number;
  readonly signalName: string;
  readonly args: unknown[];
  readonly headers: Headers;
  readonly target:
    | { readonly type: 'external'; readonly workflowExecution: { readonly workflowId: string; readonly runId?: string | undefined } }
    | { readonly type: 'child'; readonly childWorkflowId: string };
}

export interface StartChildWorkflowExecutionInput {
  readonly workflowType: string;
  readonly options: ChildWorkflowOptions & { workflowId: string };
  readonly headers: Headers;
  readonly seq: number;
}

export interface ContinueAsNewInput {
  readonly args: unknown[];
  readonly headers: Headers;
  readonly options: ContinueAsNewOptions & { workflowType: string };
}

/**
 * Hooks into the runtime itself. Unlike the official SDK's (sdk-core's protobuf activations), the
 * activation and the commands are this SDK's own data shapes (`@kairos/sdk-common`'s activation.ts).
 */
export interface WorkflowInternalsInterceptor {
  activate?: (input: ActivateInput, next: Next<WorkflowInternalsInterceptor, 'activate'>) => void;
  concludeActivation?: (
    input: ConcludeActivationInput,
    next: Next<WorkflowInternalsInterceptor, 'concludeActivation'>,
  ) => ConcludeActivationOutput;
}

export interface ActivateInput {
  readonly activation: Activation;
}

export type ConcludeActivationInput = ActivationCompletion;
export type ConcludeActivationOutput = ActivationCompletion;
