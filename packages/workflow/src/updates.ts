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
  errorToFailure,
  fromPayloads,
  TemporalFailure,
  type ActivationJob,
  type PayloadConverter,
  type ProtoFailure,
  type WorkflowCommand,
} from '@kairos/sdk-common';
import type { WorkflowInboundCallsInterceptor } from './interceptors.js';

type DoUpdateJob = ActivationJob & { kind: 'doUpdate' };
type Handler = (...args: unknown[]) => unknown;

export interface UpdateHandlerEntry {
  handler: Handler;
  validator: Handler | undefined;
}

/** What the runner needs from the activator. */
export interface UpdateHost {
  readonly converter: PayloadConverter;
  readonly interceptors: { readonly inbound: readonly WorkflowInboundCallsInterceptor[] };
  pushCommand(command: WorkflowCommand): void;
  failTask(error: unknown): void;
}

export class UpdateRunner {
  readonly handlers = new Map<string, UpdateHandlerEntry>();
  private buffered: DoUpdateJob[] = [];
  /** Accepted updates whose handler has not returned yet, by protocol instance id. */
  private readonly inProgress = new Map<string, string>();

  constructor(private readonly host: UpdateHost) {}

  get inProgressCount(): number {
    return this.inProgress.size;
  }

  doUpdate(job: DoUpdateJob): void {
    const entry = this.handlers.get(job.name);
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
    this.inProgress.set(id, job.name);
    let running: Promise<unknown>;
    try {
      const handle = composeInterceptors(this.host.interceptors.inbound, 'handleUpdate', async (input) => await entry.handler(...input.args));
      running = this.host.interceptors.inbound.some((i) => i.handleUpdate !== undefined)
        ? handle({ updateId: job.updateId, name: job.name, args, headers: job.headers })
        : Promise.resolve(entry.handler(...args));
    } catch (error) {
      running = Promise.reject(error);
    }
    void running
      .then(
        (value) => this.complete(id, { result: this.host.converter.toPayload(value) }),
        (error: unknown) => {
          if (error instanceof TemporalFailure) this.complete(id, { failure: errorToFailure(error, this.host.converter) });
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
    const waiting = this.buffered.filter((job) => job.name === name);
    this.buffered = this.buffered.filter((job) => job.name !== name);
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
    const failure: ProtoFailure = errorToFailure(error, this.host.converter);
    this.host.pushCommand({ kind: 'rejectUpdate', protocolInstanceId, failure });
  }

  private complete(protocolInstanceId: string, outcome: { result: ReturnType<PayloadConverter['toPayload']> } | { failure: ProtoFailure }): void {
    this.host.pushCommand({ kind: 'completeUpdate', protocolInstanceId, outcome });
  }
}
