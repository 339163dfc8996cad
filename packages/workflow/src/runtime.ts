// The workflow runtime that lives inside the sandbox: one Activator per workflow run. The worker
// hands it activations (jobs derived from history); it runs the workflow code, collects the commands
// the code issued, and resolves the promises the code waits on. It never talks to the server and
// never looks at history: matching commands against history is the worker's job.
//
// An activation runs in steps, each one a separate call from the worker so that the sandbox's
// microtask queue drains in between: activate (jobs, then the workflow function on the first one),
// tryUnblockConditions (repeated until nothing unblocks), conclude (hand over the commands).
import {
  DefaultFailureConverter,
  composeInterceptors,
  defaultPayloadConverter,
  fromPayloads,
  HandlerUnfinishedPolicy,
  isCancellation,
  TemporalFailure,
  type Activation,
  type ActivationCompletion,
  type ActivationJob,
  type FailureConverter,
  type Headers,
  type Payload,
  type PayloadConverter,
  type ProtoFailure,
  type QueryAnswer,
  type QueryRequest,
  type WorkflowCommand,
  type WorkflowInfo,
} from '@kairos/sdk-common';
import { installRootScope, type CancellationScope } from './cancellation-scope.js';
import { ContinueAsNew, IllegalStateError, LocalActivityDoBackoff, WorkflowExecutionAlreadyStartedError } from './errors.js';
import { log } from './logger.js';
import { QueryRunner } from './queries.js';
import { seededRandom } from './random.js';
import { UpdateRunner } from './updates.js';
import { buildWorkflowInfo } from './workflow-info.js';
import type {
  WorkflowInboundCallsInterceptor,
  WorkflowInterceptorsFactory,
  WorkflowInternalsInterceptor,
  WorkflowOutboundCallsInterceptor,
} from './interceptors.js';

type Handler = (...args: unknown[]) => unknown;

interface Pending {
  resolve(value: unknown): void;
  reject(reason: unknown): void;
}

/**
 * Job order inside one activation, as sdk-core sorts it: start, patches, signals and updates (in
 * their order of arrival), then the rest.
 */
function jobRank(job: ActivationJob): number {
  switch (job.kind) {
    case 'initialize':
      return 0;
    case 'notifyHasPatch':
      return 1;
    case 'signal':
    case 'doUpdate':
      return 3;
    default:
      return 4;
  }
}

export class Activator {
  info: WorkflowInfo | undefined;
  now = 0;
  random: () => number = () => 0.5;
  readonly nextSeq = { activity: 1, timer: 1, condition: 1, childWorkflow: 1, cancelWorkflow: 1, signalWorkflow: 1 };
  private commands: WorkflowCommand[] = [];
  completed = false;
  workflowCancelRequested = false;
  private taskFailure: ProtoFailure | undefined;
  readonly activities = new Map<number, Pending & { activityType: string }>();
  readonly timers = new Map<number, Pending>();
  /** Child workflows waiting to start (resolved with the run id) and to finish, by seq. */
  readonly childStarts = new Map<number, Pending>();
  readonly childResults = new Map<number, Pending>();
  /** Cancellation requests to other workflows waiting for the server's answer, by seq. */
  readonly cancelRequests = new Map<number, Pending>();
  /** Signals to other workflows waiting for the server's answer, by seq. */
  readonly signalRequests = new Map<number, Pending>();
  /** Patches whose marker is in the history being replayed, and patches this run has marked. */
  readonly knownPatches = new Set<string>();
  readonly sentPatches = new Set<string>();
  readonly conditions = new Map<number, { fn: () => boolean; resolve: () => void }>();
  readonly signalHandlers = new Map<string, Handler>();
  readonly queryHandlers = new Map<string, Handler>();
  /** `setDefaultSignalHandler`: gets signals with no handler of their own, name first. */
  defaultSignalHandler: ((signalName: string, ...args: unknown[]) => unknown) | undefined;
  /** `setDefaultQueryHandler`: answers queries with no handler of their own, name first. */
  defaultQueryHandler: ((queryName: string, ...args: unknown[]) => unknown) | undefined;
  readonly updates = new UpdateRunner(this);
  /** Unfinished-handler policies set with `setHandler(signal, handler, { unfinishedPolicy })`. */
  readonly signalPolicies = new Map<string, HandlerUnfinishedPolicy>();
  /** Signal handlers that returned a promise which has not settled yet (for allHandlersFinished). */
  readonly inProgressSignals = new Map<number, { name: string; unfinishedPolicy: HandlerUnfinishedPolicy }>();
  private signalExecutions = 0;
  private warnedUnfinishedHandlers = false;
  private readonly bufferedSignals: { signalName: string; args: Payload[]; headers: Headers }[] = [];
  /** This run's interceptors, made by the interceptor modules' factories when the run initializes. */
  readonly interceptors: {
    inbound: WorkflowInboundCallsInterceptor[];
    outbound: WorkflowOutboundCallsInterceptor[];
    internals: WorkflowInternalsInterceptor[];
  } = { inbound: [], outbound: [], internals: [] };
  private readonly queries: QueryRunner;
  rootScope: CancellationScope | undefined;

  /** `converter`: the worker's custom payload converter (`dataConverter.payloadConverterPath`), loaded in the bundle. */
  constructor(
    private readonly workflows: Readonly<Record<string, unknown>>,
    readonly converter: PayloadConverter = defaultPayloadConverter,
    private readonly interceptorFactories: readonly WorkflowInterceptorsFactory[] = [],
    /** The worker's `dataConverter.failureConverterPath` export, loaded in the bundle. */
    readonly failureConverter: FailureConverter = new DefaultFailureConverter(),
  ) {
    this.queries = new QueryRunner(converter, failureConverter);
  }

  activate(activation: Activation): void {
    const first = activation.jobs.find((job) => job.kind === 'initialize');
    // Interceptors exist once the run knows its info (a factory may read workflowInfo()).
    if (first !== undefined && this.info === undefined) {
      this.info = buildWorkflowInfo(first.info, this.converter);
      for (const factory of this.interceptorFactories) {
        const made = factory();
        this.interceptors.inbound.push(...(made.inbound ?? []));
        this.interceptors.outbound.push(...(made.outbound ?? []));
        this.interceptors.internals.push(...(made.internals ?? []));
      }
    }
    composeInterceptors(this.interceptors.internals, 'activate', ({ activation: a }) => this.activateJobs(a))({ activation });
  }

  private activateJobs(activation: Activation): void {
    this.now = activation.timestampMs;
    const jobs = [...activation.jobs].sort((a, b) => jobRank(a) - jobRank(b));
    const first = jobs[0];
    const start = first?.kind === 'initialize' ? (jobs.shift() as typeof first) : undefined;
    if (start !== undefined) this.initialize(start);
    const info = this.requireInfo();
    info.historyLength = activation.historyLength;
    info.unsafe.isReplaying = activation.isReplaying;
    for (const job of jobs) {
      this.handleJob(job);
      this.tryUnblockConditions();
    }
    if (start !== undefined) {
      this.startWorkflow(start);
      this.tryUnblockConditions();
    }
  }

  private initialize(job: ActivationJob & { kind: 'initialize' }): void {
    this.info ??= buildWorkflowInfo(job.info, this.converter);
    this.random = seededRandom(job.randomnessSeed);
    this.rootScope = installRootScope();
  }

  private startWorkflow(job: ActivationJob & { kind: 'initialize' }): void {
    const type = job.info.workflowType;
    const fn = this.workflows[type];
    if (typeof fn !== 'function') {
      const known = Object.keys(this.workflows).filter((k) => typeof this.workflows[k] === 'function');
      this.failTask(new TypeError(`Workflow type '${type}' is not registered on this worker; known types: [${known.join(', ')}]`));
      return;
    }
    const args = fromPayloads(this.converter, job.args);
    const scope = this.requireRootScope();
    const execute = composeInterceptors(this.interceptors.inbound, 'execute', async (input) => await (fn as Handler)(...input.args));
    scope.run(() => execute({ args, headers: job.headers })).then(
      (result) => this.completeWorkflow(result),
      (error: unknown) => this.handleWorkflowError(error),
    );
  }

  private handleJob(job: ActivationJob): void {
    switch (job.kind) {
      case 'initialize':
        throw new IllegalStateError('initialize job must come first in an activation');
      case 'signal': {
        const handler = this.signalHandlerFor(job.signalName);
        if (handler === undefined) this.bufferedSignals.push({ signalName: job.signalName, args: job.args, headers: job.headers });
        else this.callSignalHandler(handler, job);
        return;
      }
      case 'cancelWorkflow':
        this.workflowCancelRequested = true;
        this.requireRootScope().cancel();
        return;
      case 'resolveActivity': {
        const pending = this.activities.get(job.seq);
        if (pending === undefined) return; // already settled locally (e.g. cancelled with TRY_CANCEL)
        this.activities.delete(job.seq);
        const { resolution } = job;
        if (resolution.status === 'completed') {
          pending.resolve(resolution.result === undefined ? undefined : this.converter.fromPayload(resolution.result));
        } else {
          pending.reject(this.failureConverter.failureToError(resolution.failure, this.converter));
        }
        return;
      }
      case 'resolveLocalActivity': {
        const pending = this.activities.get(job.seq);
        if (pending === undefined) return;
        this.activities.delete(job.seq);
        const { resolution } = job;
        if (resolution.status === 'completed') {
          pending.resolve(resolution.result === undefined ? undefined : this.converter.fromPayload(resolution.result));
        } else if (resolution.status === 'backoff') {
          pending.reject(new LocalActivityDoBackoff(resolution.attempt, resolution.backoffMs, resolution.originalScheduleTimeMs));
        } else {
          pending.reject(this.failureConverter.failureToError(resolution.failure, this.converter));
        }
        return;
      }
      case 'fireTimer': {
        const pending = this.timers.get(job.seq);
        this.timers.delete(job.seq);
        pending?.resolve(undefined);
        return;
      }
      case 'resolveChildStart': {
        const pending = this.childStarts.get(job.seq);
        this.childStarts.delete(job.seq);
        if (job.resolution.status === 'started') {
          pending?.resolve(job.resolution.runId);
        } else {
          // The child never ran, so its result can never come either.
          const error = new WorkflowExecutionAlreadyStartedError(
            `Workflow execution already started (cause: ${job.resolution.cause})`,
            job.resolution.workflowId,
            job.resolution.workflowType,
          );
          pending?.reject(error);
          this.childResults.get(job.seq)?.reject(error);
          this.childResults.delete(job.seq);
        }
        return;
      }
      case 'resolveChild': {
        const pending = this.childResults.get(job.seq);
        this.childResults.delete(job.seq);
        if (pending === undefined) return;
        const { resolution } = job;
        if (resolution.status === 'completed') {
          pending.resolve(resolution.result === undefined ? undefined : this.converter.fromPayload(resolution.result));
        } else {
          pending.reject(this.failureConverter.failureToError(resolution.failure, this.converter));
        }
        return;
      }
      case 'resolveRequestCancelExternal':
        this.settle(this.cancelRequests, job.seq, job.failure);
        return;
      case 'resolveSignalExternal':
        this.settle(this.signalRequests, job.seq, job.failure);
        return;
      case 'notifyHasPatch':
        this.knownPatches.add(job.patchId);
        return;
      case 'doUpdate':
        this.updates.doUpdate(job);
        return;
    }
  }

  private settle(pending: Map<number, Pending>, seq: number, failure: ProtoFailure | undefined): void {
    const entry = pending.get(seq);
    pending.delete(seq);
    if (failure === undefined) entry?.resolve(undefined);
    else entry?.reject(this.failureConverter.failureToError(failure, this.converter));
  }

  private callSignalHandler(handler: Handler, signal: { signalName: string; args: Payload[]; headers: Headers }): void {
    try {
      const input = { signalName: signal.signalName, args: fromPayloads(this.converter, signal.args), headers: signal.headers };
      const result = this.interceptors.inbound.some((i) => i.handleSignal !== undefined)
        ? composeInterceptors(this.interceptors.inbound, 'handleSignal', async (last) => {
            await handler(...last.args);
          })(input)
        : handler(...input.args);
      if (result instanceof Promise) {
        const execution = ++this.signalExecutions;
        const unfinishedPolicy = this.signalPolicies.get(signal.signalName) ?? HandlerUnfinishedPolicy.WARN_AND_ABANDON;
        this.inProgressSignals.set(execution, { name: signal.signalName, unfinishedPolicy });
        void result.catch((error: unknown) => this.handleWorkflowError(error)).finally(() => this.inProgressSignals.delete(execution));
      }
    } catch (error) {
      this.handleWorkflowError(error);
    }
  }

  /** The signal's own handler, else the default handler bound to the signal's name. */
  private signalHandlerFor(signalName: string): Handler | undefined {
    const own = this.signalHandlers.get(signalName);
    if (own !== undefined) return own;
    const fallback = this.defaultSignalHandler;
    return fallback === undefined ? undefined : (...args: unknown[]) => fallback(signalName, ...args);
  }

  /**
   * Delivers, in arrival order, the buffered signals that now have a handler: after `setHandler` for
   * one name, or after `setDefaultSignalHandler` (then all of them, as the official SDK does).
   */
  flushBufferedSignals(): void {
    for (let i = 0; i < this.bufferedSignals.length; ) {
      const signal = this.bufferedSignals[i];
      const handler = signal === undefined ? undefined : this.signalHandlerFor(signal.signalName);
      if (signal !== undefined && handler !== undefined) {
        this.bufferedSignals.splice(i, 1);
        this.callSignalHandler(handler, signal);
      } else {
        i++;
      }
    }
  }

  /** Resolves every condition whose predicate holds; returns how many were resolved. */
  tryUnblockConditions(): number {
    let unblocked = 0;
    for (;;) {
      const before = unblocked;
      for (const [seq, condition] of this.conditions) {
        if (condition.fn()) {
          this.conditions.delete(seq);
          condition.resolve();
          unblocked++;
        }
      }
      if (unblocked === before) return unblocked;
    }
  }

  pushCommand(command: WorkflowCommand): void {
    if (this.completed) return;
    this.commands.push(command);
  }

  /** Removes a command issued in this activation (not sent yet); true if it was there. */
  withdrawCommand(kind: WorkflowCommand['kind'], seq: number): boolean {
    const index = this.commands.findIndex((c) => c.kind === kind && 'seq' in c && c.seq === seq);
    if (index < 0) return false;
    this.commands.splice(index, 1);
    return true;
  }

  private completeWorkflow(result: unknown): void {
    if (this.completed) return;
    this.pushCommand({ kind: 'completeWorkflow', result: this.converter.toPayload(result) });
    this.completed = true;
  }

  handleWorkflowError(error: unknown): void {
    if (this.completed) return;
    if (error instanceof ContinueAsNew) {
      this.pushCommand(error.command);
    } else if (this.workflowCancelRequested && isCancellation(error)) {
      this.pushCommand({ kind: 'cancelWorkflow' });
    } else if (error instanceof TemporalFailure) {
      this.pushCommand({ kind: 'failWorkflow', failure: this.failureConverter.errorToFailure(error, this.converter) });
    } else {
      // Like the official SDK: an error that is not a TemporalFailure is a bug, so the workflow task
      // fails (and is retried after a fix) instead of the workflow.
      this.failTask(error);
      return;
    }
    this.completed = true;
  }

  failTask(error: unknown): void {
    this.taskFailure ??= this.failureConverter.errorToFailure(error, this.converter);
  }

  conclude(): ActivationCompletion {
    this.updates.rejectBuffered();
    this.warnIfUnfinishedHandlers();
    const completion: ActivationCompletion = { commands: this.commands };
    if (this.taskFailure !== undefined) completion.taskFailure = this.taskFailure;
    this.commands = [];
    this.taskFailure = undefined;
    return composeInterceptors(this.interceptors.internals, 'concludeActivation', (output) => output)(completion);
  }

  /**
   * When this activation finishes the run (completes, continues as new or is cancelled; not when it
   * fails) while signal or update handlers still run, logs the official SDK's TMPRL1102 warning for
   * those whose policy is WARN_AND_ABANDON.
   */
  private warnIfUnfinishedHandlers(): void {
    if (this.warnedUnfinishedHandlers || !this.completed || this.taskFailure !== undefined) return;
    if (!this.commands.some((c) => c.kind === 'completeWorkflow' || c.kind === 'continueAsNew' || c.kind === 'cancelWorkflow')) return;
    this.warnedUnfinishedHandlers = true;
    const warnable = <T extends { unfinishedPolicy: HandlerUnfinishedPolicy }>(list: Iterable<T>): T[] =>
      [...list].filter((ex) => ex.unfinishedPolicy === HandlerUnfinishedPolicy.WARN_AND_ABANDON);
    const updates = warnable(this.updates.inProgressUpdates());
    if (updates.length > 0) log.warn(unfinishedUpdatesMessage(updates.map(({ id, name }) => ({ name, id }))));
    const signals = warnable(this.inProgressSignals.values());
    if (signals.length > 0) {
      const counts = new Map<string, number>();
      for (const { name } of signals) counts.set(name, (counts.get(name) ?? 0) + 1);
      log.warn(unfinishedSignalsMessage([...counts].map(([name, count]) => ({ name, count }))));
    }
  }

  startQuery(request: QueryRequest): void {
    this.queries.start(request, this.queryHandlers, this.defaultQueryHandler, this.interceptors.inbound);
  }

  collectQueryAnswers(): QueryAnswer[] {
    return this.queries.collect();
  }

  requireInfo(): WorkflowInfo {
    if (this.info === undefined) throw new IllegalStateError('workflow has not been initialized');
    return this.info;
  }

  requireRootScope(): CancellationScope {
    if (this.rootScope === undefined) throw new IllegalStateError('workflow has not been initialized');
    return this.rootScope;
  }
}

const WAIT_HINT = 'You can wait for all update and signal handlers to complete by using `await workflow.condition(workflow.allHandlersFinished)`.';

function unfinishedUpdatesMessage(updates: { name: string; id: string }[]): string {
  return (
    '[TMPRL1102] Workflow finished while an update handler was still running. This may have interrupted work that the update handler was doing, ' +
    "and the client that sent the update will receive a 'workflow execution already completed' RPCError instead of the update result. " +
    `${WAIT_HINT} Alternatively, if both you and the clients sending the update are okay with interrupting running handlers when the workflow finishes, ` +
    'and causing clients to receive errors, then you can disable this warning by passing an option when setting the handler: ' +
    '`workflow.setHandler(myUpdate, myUpdateHandler, {unfinishedPolicy: HandlerUnfinishedPolicy.ABANDON});`. ' +
    `The following updates were unfinished (and warnings were not disabled for their handler): ${JSON.stringify(updates)}`
  );
}

function unfinishedSignalsMessage(signals: { name: string; count: number }[]): string {
  return (
    '[TMPRL1102] Workflow finished while a signal handler was still running. This may have interrupted work that the signal handler was doing. ' +
    `${WAIT_HINT} Alternatively, if both you and the clients sending the update are okay with interrupting running handlers when the workflow finishes, ` +
    'then you can disable this warning by passing an option when setting the handler: ' +
    '`workflow.setHandler(mySignal, mySignalHandler, {unfinishedPolicy: HandlerUnfinishedPolicy.ABANDON});`. ' +
    `The following signals were unfinished (and warnings were not disabled for their handler): ${JSON.stringify(signals)}`
  );
}

let current: Activator | undefined;

export function setActivator(activator: Activator | undefined): void {
  current = activator;
}

export function getActivator(): Activator {
  if (current === undefined) {
    throw new IllegalStateError('Workflow APIs can only be used in workflow code run by a Kairos worker');
  }
  return current;
}

export function maybeActivator(): Activator | undefined {
  return current;
}

