// Workflow updates inside the sandbox, with the official SDK's semantics. For each update request
// (a `doUpdate` job) in one activation:
//
//   no handler yet      -> buffered; delivered when `setHandler` registers one, or rejected at the
//                          end of the activation ("No registered handler for update: <name>")
//   validator throws    -> rejected (a Rejection message: nothing is written to history)
//   otherwise           -> accepted at once (its command goes before anything the handler issues),
//                          then the handler runs; its result, or a TemporalFailure it throws,
//                          completes the update; any other error fails the workflow *task*
//
// The validator runs only for live requests: on replay the history already says the update was
// accepted, and the validator is read-only by contract.
import {
  ApplicationFailure,
  composeInterceptors,
  type FailureConverter,
  fromPayloads,
  HandlerUnfinishedPolicy,
  TemporalFailure,
  type ActivationJob,
  type PayloadConverter,
  type ProtoFailure,
  type UpdateInfo,
  type WorkflowCommand,
} from '@kairos/sdk-common';
import { CancellationScope } from './cancellation-scope.js';
import type { WorkflowInboundCallsInterceptor } from './interceptors.js';

/**
 * The update each handler's scope runs for. A handler runs in its own cancellation scope (a child of
 * the root scope, so it is cancelled with the workflow as before); the scope follows the handler's
 * async code, so `currentUpdateInfo()` finds the info by walking up from the current scope.
 */
const updateScopes = new WeakMap<CancellationScope, UpdateInfo>();

/** The update whose handler the calling code runs in, or undefined outside update handlers. */
export function currentUpdateInfo(): UpdateInfo | undefined {
  let scope: CancellationScope | undefined;
  try {
    scope = CancellationScope.current();
  } catch {
    return undefined;
  }
  for (; scope !== undefined; scope = scope.parent) {
    const info = updateScopes.get(scope);
    if (info !== undefined) return info;
  }
  return undefined;
}

type DoUpdateJob = ActivationJob & { kind: 'doUpdate' };
type Handler = (...args: unknown[]) => unknown;

export interface UpdateHandlerEntry {
  handler: Handler;
  validator: Handler | undefined;
  unfinishedPolicy: HandlerUnfinishedPolicy;
}

interface UpdateExecution extends UpdateInfo {
  readonly unfinishedPolicy: HandlerUnfinishedPolicy;
}

/** What the runner needs from the activator. */
export interface UpdateHost {
  readonly converter: PayloadConverter;
  readonly failureConverter: FailureConverter;
  readonly interceptors: { readonly inbound: readonly WorkflowInboundCallsInterceptor[] };
  pushCommand(command: WorkflowCommand): void;
  failTask(error: unknown): void;
  requireRootScope(): CancellationScope;
}

export class UpdateRunner {
  readonly handlers = new Map<string, UpdateHandlerEntry>();
  /** `setDefaultUpdateHandler`: runs updates with no handler of their own, name first (no validator). */
  private defaultHandler: ((updateName: string, ...args: unknown[]) => unknown) | undefined;
  private buffered: DoUpdateJob[] = [];
  /** Accepted updates whose handler has not returned yet, by protocol instance id. */
  private readonly inProgress = new Map<string, UpdateExecution>();

  constructor(private readonly host: UpdateHost) {}

  get inProgressCount(): number {
    return this.inProgress.size;
  }

  inProgressUpdates(): IterableIterator<UpdateExecution> {
    return this.inProgress.values();
  }

  private entryFor(name: string): UpdateHandlerEntry | undefined {
    const own = this.handlers.get(name);
    if (own !== undefined) return own;
    const fallback = this.defaultHandler;
    if (fallback === undefined) return undefined;
    return { handler: (...args: unknown[]) => fallback(name, ...args), validator: undefined, unfinishedPolicy: HandlerUnfinishedPolicy.WARN_AND_ABANDON };
  }

  doUpdate(job: DoUpdateJob): void {
    const entry = this.entryFor(job.name);
    if (entry === undefined) {
      this.buffered.push(job);
      return;
    }
    let args: unknown[];
    try {
      // The validator and the handler each get their own decoded copy of the arguments.
      if (job.runValidator) {
        const { validator } = entry;
        const validate = composeInterceptors(this.host.interceptors.inbound, 'validateUpdate', (input) => {
          validator?.(...input.args);
        });
        validate({ updateId: job.updateId, name: job.name, args: fromPayloads(this.host.converter, job.args), headers: job.headers });
      }
      args = fromPayloads(this.host.converter, job.args);
    } catch (error) {
      this.reject(job.protocolInstanceId, error);
      return;
    }
    const id = job.protocolInstanceId;
    this.host.pushCommand({ kind: 'acceptUpdate', protocolInstanceId: id });
    this.inProgress.set(id, { id: job.updateId, name: job.name, unfinishedPolicy: entry.unfinishedPolicy });
    const scope = new CancellationScope({ cancellable: true, parent: this.host.requireRootScope() });
    updateScopes.set(scope, { id: job.updateId, name: job.name });
    const handle = composeInterceptors(this.host.interceptors.inbound, 'handleUpdate', async (input) => await entry.handler(...input.args));
    const intercepted = this.host.interceptors.inbound.some((i) => i.handleUpdate !== undefined);
    const running = scope.run(async () =>
      intercepted ? await handle({ updateId: job.updateId, name: job.name, args, headers: job.headers }) : await entry.handler(...args),
    );
    void running
      .then(
        (value) => this.complete(id, { result: this.host.converter.toPayload(value) }),
        (error: unknown) => {
          if (error instanceof TemporalFailure) this.complete(id, { failure: this.host.failureConverter.errorToFailure(error, this.host.converter) });
          else this.host.failTask(error);
        },
      )
      .catch((error: unknown) => this.host.failTask(error))
      .finally(() => this.inProgress.delete(id));
  }

  setHandler(name: string, entry: UpdateHandlerEntry | undefined): void {
    if (entry === undefined) {
      this.handlers.delete(name);
      return;
    }
    this.handlers.set(name, entry);
    this.deliverBuffered();
  }

  setDefaultHandler(handler: ((updateName: string, ...args: unknown[]) => unknown) | undefined): void {
    this.defaultHandler = handler;
    this.deliverBuffered();
  }

  /** Runs, in arrival order, the buffered requests that now have a handler. */
  private deliverBuffered(): void {
    const waiting = this.buffered.filter((job) => this.entryFor(job.name) !== undefined);
    this.buffered = this.buffered.filter((job) => this.entryFor(job.name) === undefined);
    for (const job of waiting) this.doUpdate(job);
  }

  /** End of an activation: requests still without a handler are rejected, as the official SDK does. */
  rejectBuffered(): void {
    const jobs = this.buffered;
    this.buffered = [];
    for (const job of jobs) {
      this.reject(job.protocolInstanceId, ApplicationFailure.nonRetryable(`No registered handler for update: ${job.name}`));
    }
  }

  private reject(protocolInstanceId: string, error: unknown): void {
    const failure: ProtoFailure = this.host.failureConverter.errorToFailure(error, this.host.converter);
    this.host.pushCommand({ kind: 'rejectUpdate', protocolInstanceId, failure });
  }

  private complete(protocolInstanceId: string, outcome: { result: ReturnType<PayloadConverter['toPayload']> } | { failure: ProtoFailure }): void {
    this.host.pushCommand({ kind: 'completeUpdate', protocolInstanceId, outcome });
  }
}
