// The Worker: polls a task queue for workflow and activity tasks and runs them, each kind with its
// own concurrency slots and pollers. With the workflow cache on, some workflow pollers poll the
// worker's own sticky queue (`<identity>-<uuid>`) instead, sharing the workflow slots with the
// normal queue's pollers (poll-balance.ts). Lifecycle: INITIALIZED → RUNNING (run) → STOPPING
// (shutdown: polls are aborted, no new task starts, running ones drain; after the grace time running
// activities are cancelled; then ShutdownWorker tells the server the worker and its sticky queue are
// gone, so that its tasks move to the normal queue at once) → STOPPED (run resolves). While it runs,
// the worker reports itself in heartbeats when the server keeps them (worker-heartbeat.ts).
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import type { temporal } from '@temporalio/proto';
import { ServiceError } from '@kairos/client';
import { bundleWorkflowCode, type WorkflowBundle } from './bundler.js';
import { ActivityTaskHandler } from './activity-task-handler.js';
import { IllegalWorkerStateError } from './errors.js';
import { consoleLogger, type WorkerLogger } from './logger.js';
import { runReplayHistory, type ReplayHistoryOptions } from './replayer.js';
import { CompiledBundle } from './sandbox.js';
import { Slots } from './slots.js';
import { WorkflowPollBalance, type WorkflowQueueKind } from './poll-balance.js';
import type { WorkflowCacheStats } from './workflow-cache.js';
import { WorkflowTaskHandler } from './workflow-task-handler.js';
import { compileWorkerOptions, type CompiledWorkerOptions, type WorkerOptions } from './worker-options.js';
import { PollerStats, TaskStats, WorkerHeartbeats } from './worker-heartbeat.js';
import { api } from '@kairos/common';
import { msToProtoDuration, type FailureConverter, type PayloadConverter } from '@kairos/sdk-common';

/** The `payloadConverter` export of the module at `dataConverter.payloadConverterPath`, for activities. */
export async function loadPayloadConverter(modulePath: string | undefined): Promise<PayloadConverter | undefined> {
  if (modulePath === undefined) return undefined;
  const loaded = (await import(pathToFileURL(path.resolve(modulePath)).href)) as { payloadConverter?: PayloadConverter };
  const converter = loaded.payloadConverter;
  if (typeof converter?.toPayload !== 'function' || typeof converter.fromPayload !== 'function') {
    throw new TypeError(`the module at payloadConverterPath (${modulePath}) does not export a payloadConverter`);
  }
  return converter;
}

/** The `failureConverter` export of the module at `dataConverter.failureConverterPath`, for activities. */
export async function loadFailureConverter(modulePath: string | undefined): Promise<FailureConverter | undefined> {
  if (modulePath === undefined) return undefined;
  const loaded = (await import(pathToFileURL(path.resolve(modulePath)).href)) as { failureConverter?: FailureConverter };
  const converter = loaded.failureConverter;
  if (typeof converter?.errorToFailure !== 'function' || typeof converter.failureToError !== 'function') {
    throw new TypeError(`the module at failureConverterPath (${modulePath}) does not export a failureConverter`);
  }
  return converter;
}

/**
 * Fails worker creation early, as the official worker does, when the namespace does not exist; answers
 * whether the server keeps worker heartbeats there (the namespace's `workerHeartbeats` capability).
 */
async function checkNamespace(options: CompiledWorkerOptions): Promise<boolean> {
  try {
    const described = await options.connection.workflowService.describeNamespace({ namespace: options.namespace });
    return described.namespaceInfo?.capabilities?.workerHeartbeats === true;
  } catch (error) {
    if (error instanceof ServiceError && error.code === grpc.status.NOT_FOUND) {
      throw new IllegalWorkerStateError(`namespace '${options.namespace}' does not exist on the server`, { cause: error });
    }
    // Servers without DescribeNamespace are still usable.
    if (!(error instanceof ServiceError && error.code === grpc.status.UNIMPLEMENTED)) throw error;
    return false;
  }
}

export type WorkerState = 'INITIALIZED' | 'RUNNING' | 'STOPPING' | 'STOPPED';

/** sdk-core's long-poll deadline: the server answers empty before it (at 60 s). */
const POLL_DEADLINE_MS = 70_000;
const POLL_ERROR_BACKOFF_MS = 1_000;

export class Worker {
  private stateValue: WorkerState = 'INITIALIZED';
  private readonly stopPolling = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly workflowTasks: WorkflowTaskHandler | undefined;
  private readonly activityTasks: ActivityTaskHandler | undefined;
  /** This worker's sticky queue; undefined when the workflow cache is off or there are no workflows. */
  readonly stickyQueue: string | undefined;
  /** Names this worker (and its heartbeats) to the server. */
  readonly workerInstanceKey = randomUUID();
  private readonly stats = {
    workflowTasks: new TaskStats(() => this.workflowTasks?.failedTasks ?? 0),
    activityTasks: new TaskStats(() => this.activityTasks?.failedTasks ?? 0),
    workflowPollers: new PollerStats(),
    stickyPollers: new PollerStats(),
    activityPollers: new PollerStats(),
  };
  private readonly heartbeats: WorkerHeartbeats;

  private constructor(
    readonly options: CompiledWorkerOptions,
    bundle: CompiledBundle | undefined,
    private readonly logger: WorkerLogger,
    private readonly serverKeepsHeartbeats: boolean,
  ) {
    if (bundle !== undefined) {
      if (options.maxCachedWorkflows > 0) this.stickyQueue = `${options.identity}-${randomUUID()}`;
      this.workflowTasks = new WorkflowTaskHandler(options, bundle, logger, () => this.stickyAttributes());
    }
    if (Object.keys(options.activities).length > 0) this.activityTasks = new ActivityTaskHandler(options, logger);
    const { connection, namespace, identity, taskQueue } = options;
    this.heartbeats = new WorkerHeartbeats(
      {
        connection,
        namespace,
        identity,
        taskQueue,
        workerInstanceKey: this.workerInstanceKey,
        ...this.stats,
        cacheStats: () => this.workflowCacheStats,
        shuttingDown: () => this.stateValue !== 'RUNNING',
        logger,
      },
      options.workerHeartbeatIntervalMs,
    );
  }

  /** Creates a worker; bundles `workflowsPath` (esbuild) when given. */
  static async create(options: WorkerOptions & { logger?: WorkerLogger }): Promise<Worker> {
    const compiled = compileWorkerOptions(
      options,
      await loadPayloadConverter(options.dataConverter?.payloadConverterPath),
      await loadFailureConverter(options.dataConverter?.failureConverterPath),
    );
    let bundle: WorkflowBundle | undefined = options.workflowBundle;
    if (bundle === undefined && options.workflowsPath !== undefined) {
      bundle = await bundleWorkflowCode({
        workflowsPath: options.workflowsPath,
        aliases: options.bundlerAliases,
        payloadConverterPath: compiled.payloadConverterPath,
        failureConverterPath: compiled.failureConverterPath,
        workflowInterceptorModules: compiled.interceptors.workflowModules,
      });
    }
    if (bundle === undefined && Object.keys(compiled.activities).length === 0) {
      throw new TypeError('a worker needs workflows (workflowsPath or workflowBundle) or activities');
    }
    const serverKeepsHeartbeats = await checkNamespace(compiled);
    return new Worker(compiled, bundle === undefined ? undefined : new CompiledBundle(bundle), options.logger ?? consoleLogger, serverKeepsHeartbeats);
  }

  /** Replays one history with the given workflows; throws (e.g. NondeterminismError) if it does not replay. */
  static async runReplayHistory(options: ReplayHistoryOptions, history: temporal.api.history.v1.IHistory, workflowId?: string): Promise<void> {
    await runReplayHistory(options, history, workflowId);
  }

  get state(): WorkerState {
    return this.stateValue;
  }

  /** Counters of the workflow cache and sticky execution (see WorkflowCacheStats). */
  get workflowCacheStats(): WorkflowCacheStats | undefined {
    return this.workflowTasks?.cacheStats();
  }

  /** What completions carry to keep a run's next task on this worker: nothing once shutdown began. */
  private stickyAttributes(): temporal.api.taskqueue.v1.IStickyExecutionAttributes | undefined {
    if (this.stickyQueue === undefined || this.stateValue !== 'RUNNING') return undefined;
    return {
      workerTaskQueue: { name: this.stickyQueue, kind: api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_STICKY, normalName: this.options.taskQueue },
      // protobufjs takes a number where the generated types say Long.
      scheduleToStartTimeout: msToProtoDuration(this.options.stickyQueueScheduleToStartTimeoutMs) as unknown as temporal.api.taskqueue.v1.IStickyExecutionAttributes['scheduleToStartTimeout'],
    };
  }

  /** Polls and runs tasks until `shutdown` is called and the running tasks have drained. */
  async run(): Promise<void> {
    if (this.stateValue !== 'INITIALIZED') throw new IllegalWorkerStateError(`run() called in state ${this.stateValue}`);
    this.stateValue = 'RUNNING';
    const loops: Promise<void>[] = [];
    const { options } = this;
    if (this.workflowTasks !== undefined) {
      const handler = this.workflowTasks;
      const slots = new Slots(options.maxConcurrentWorkflowTaskExecutions);
      this.stats.workflowTasks.slots = slots;
      const balance = new WorkflowPollBalance(slots.capacity);
      const queues: Array<[WorkflowQueueKind, number]> = [
        ['normal', options.normalQueuePollers],
        ['sticky', this.stickyQueue === undefined ? 0 : options.stickyQueuePollers],
      ];
      for (const [queue, pollers] of queues) {
        const request = this.workflowPollRequest(queue);
        for (let i = 0; i < pollers; i++) {
          loops.push(
            this.pollLoop(
              slots,
              'workflow',
              this.stats.workflowTasks,
              queue === 'normal' ? this.stats.workflowPollers : this.stats.stickyPollers,
              async (signal) => {
                const task = await options.connection.workflowServiceWith({ signal, deadlineMs: Date.now() + POLL_DEADLINE_MS }).pollWorkflowTaskQueue(request);
                return task.taskToken.length === 0 ? undefined : () => handler.handle(task);
              },
              (signal) => balance.begin(queue, signal),
            ),
          );
        }
      }
    }
    if (this.activityTasks !== undefined) {
      const handler = this.activityTasks;
      const slots = new Slots(options.maxConcurrentActivityTaskExecutions);
      this.stats.activityTasks.slots = slots;
      for (let i = 0; i < options.maxConcurrentActivityTaskPolls; i++) {
        loops.push(
          this.pollLoop(slots, 'activity', this.stats.activityTasks, this.stats.activityPollers, async (signal) => {
            const task = await options.connection.workflowServiceWith({ signal, deadlineMs: Date.now() + POLL_DEADLINE_MS }).pollActivityTaskQueue(this.pollRequest());
            return task.taskToken.length === 0 ? undefined : () => handler.handle(task);
          }),
        );
      }
    }
    this.heartbeats.start(this.serverKeepsHeartbeats);
    await Promise.all(loops);
    // Polling stopped: let running tasks finish, cancelling activities once the grace time is over.
    const grace = setTimeout(() => this.activityTasks?.cancelAll(), this.options.shutdownGraceTimeMs);
    try {
      await Promise.allSettled([...this.inFlight]);
      this.heartbeats.stop();
      await this.shutdownWorker();
    } finally {
      clearTimeout(grace);
      this.workflowTasks?.clearCache();
      this.stateValue = 'STOPPED';
    }
  }

  /**
   * As the official worker does: tells the server this worker is gone, with its last heartbeat. Tasks
   * waiting on its sticky queue go to the normal queue now rather than after their schedule-to-start
   * timeout.
   */
  private async shutdownWorker(): Promise<void> {
    const types = api.enums.v1.TaskQueueType;
    try {
      await this.options.connection.workflowServiceWith({ deadlineMs: Date.now() + 5_000 }).shutdownWorker({
        namespace: this.options.namespace,
        stickyTaskQueue: this.stickyQueue ?? '',
        identity: this.options.identity,
        reason: 'graceful shutdown',
        workerInstanceKey: this.workerInstanceKey,
        taskQueue: this.options.taskQueue,
        taskQueueTypes: [...(this.workflowTasks ? [types.TASK_QUEUE_TYPE_WORKFLOW] : []), ...(this.activityTasks ? [types.TASK_QUEUE_TYPE_ACTIVITY] : [])],
        workerHeartbeat: this.serverKeepsHeartbeats ? this.heartbeats.snapshot() : null,
      });
    } catch (error) {
      // Older servers lack ShutdownWorker: their sticky tasks time out to the normal queue instead.
      if (!(error instanceof ServiceError && error.code === grpc.status.UNIMPLEMENTED)) {
        this.logger.warn('ShutdownWorker failed', { error: String(error) });
      }
    }
  }

  private pollRequest() {
    return {
      namespace: this.options.namespace,
      taskQueue: { name: this.options.taskQueue, kind: api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      identity: this.options.identity,
      workerInstanceKey: this.workerInstanceKey,
    };
  }

  private workflowPollRequest(queue: WorkflowQueueKind) {
    if (queue === 'normal' || this.stickyQueue === undefined) return this.pollRequest();
    return {
      namespace: this.options.namespace,
      taskQueue: { name: this.stickyQueue, kind: api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_STICKY, normalName: this.options.taskQueue },
      identity: this.options.identity,
      workerInstanceKey: this.workerInstanceKey,
    };
  }

  /**
   * One poller: take a slot, long-poll, hand the task to a handler that runs in the background and
   * frees the slot when done. Errors back off; an aborted poll ends the loop.
   */
  private async pollLoop(
    slots: Slots,
    kind: string,
    taskStats: TaskStats,
    pollers: PollerStats,
    poll: (signal: AbortSignal) => Promise<(() => Promise<void>) | undefined>,
    turn: (signal: AbortSignal) => Promise<() => void> = async () => () => {},
  ): Promise<void> {
    const signal = this.stopPolling.signal;
    while (!signal.aborted) {
      let release: () => void;
      let endPoll: () => void;
      try {
        endPoll = await turn(signal);
      } catch {
        return; // shutting down
      }
      try {
        release = await slots.acquire(signal);
      } catch {
        endPoll();
        return; // shutting down
      }
      try {
        pollers.current++;
        let run: (() => Promise<void>) | undefined;
        try {
          run = await poll(signal);
        } finally {
          pollers.current--;
        }
        endPoll();
        if (run === undefined) {
          release();
          continue;
        }
        pollers.lastSuccessMs = Date.now();
        taskStats.running++;
        const task = run()
          .catch((error: unknown) => this.logger.error(`${kind} task failed`, { error: String(error) }))
          .finally(() => {
            taskStats.running--;
            taskStats.processed++;
            release();
            this.inFlight.delete(task);
          });
        this.inFlight.add(task);
      } catch (error) {
        endPoll();
        release();
        if (signal.aborted) return;
        this.logger.warn(`${kind} poll failed`, { error: String(error) });
        await new Promise((resolve) => setTimeout(resolve, POLL_ERROR_BACKOFF_MS));
      }
    }
  }

  /** Stops polling; `run` resolves once running tasks have finished. */
  shutdown(): void {
    if (this.stateValue === 'STOPPED' || this.stateValue === 'STOPPING') return;
    this.stateValue = this.stateValue === 'INITIALIZED' ? 'STOPPED' : 'STOPPING';
    this.stopPolling.abort(new Error('worker shutting down'));
  }

  /** Runs the worker until `fnOrPromise` settles, then shuts down and returns its outcome. */
  async runUntil<R>(fnOrPromise: Promise<R> | (() => Promise<R>)): Promise<R> {
    const running = this.run();
    try {
      return await (typeof fnOrPromise === 'function' ? fnOrPromise() : fnOrPromise);
    } finally {
      this.shutdown();
      await running;
    }
  }
}
