// Worker options as users write them, and their normalised form (defaults applied once, here).
import os from 'node:os';
import v8 from 'node:v8';
import type { Connection } from '@kairos/client';
import {
  DefaultFailureConverter,
  defaultPayloadConverter,
  msFromDuration,
  type Duration,
  type FailureConverter,
  type LoadedDataConverter,
  type PayloadCodec,
  type PayloadConverter,
} from '@kairos/sdk-common';
import type { WorkflowBundle } from './bundler.js';
import type { ActivityInterceptorsFactory, WorkerInterceptors } from './interceptors.js';

export type ActivityFunction = (...args: never[]) => unknown;

/** The worker's `dataConverter` option, as the official worker's; see docs/sdk.md, "Data converters". */
export interface DataConverter {
  /**
   * A module exporting `payloadConverter`: bundled with the workflows (so it must be sandbox-safe:
   * no Node built-ins) and imported by the worker for activities.
   */
  payloadConverterPath?: string;
  /** Applied in order on encode, in reverse order on decode, outside the sandbox. */
  payloadCodecs?: PayloadCodec[];
  /**
   * A module exporting `failureConverter` (a FailureConverter): bundled with the workflows like
   * `payloadConverterPath` (so sandbox-safe) and imported by the worker for activities.
   */
  failureConverterPath?: string;
  /**
   * `new DefaultFailureConverter({ encodeCommonAttributes: true })` hides failure messages and stack
   * traces in a payload (a Kairos extra; `failureConverterPath` wins when both are given).
   */
  failureConverter?: DefaultFailureConverter;
}

export interface WorkerOptions {
  connection: Connection;
  namespace?: string;
  taskQueue: string;
  /** A module exporting the workflow functions; bundled with esbuild when the worker is created. */
  workflowsPath?: string;
  /** A prebuilt bundle (see `bundleWorkflowCode`); alternative to `workflowsPath`. */
  workflowBundle?: WorkflowBundle;
  /** Module aliases for bundling, e.g. `{ '@temporalio/workflow': '@kairos/workflow' }`. */
  bundlerAliases?: Record<string, string>;
  /** Activity functions by name; an activities module (`import * as activities`) works as it is. */
  activities?: object;
  identity?: string;
  dataConverter?: DataConverter;
  /**
   * At most this many workflow tasks run at once; default 40. With the workflow cache on it is at
   * least 2 (one slot for each of the normal and the sticky queue's pollers), as in the official SDK.
   */
  maxConcurrentWorkflowTaskExecutions?: number;
  maxConcurrentActivityTaskExecutions?: number;
  /** Workflow-task pollers; with the cache on they are split between the normal and the sticky queue. */
  maxConcurrentWorkflowTaskPolls?: number;
  maxConcurrentActivityTaskPolls?: number;
  /**
   * Live workflow runs the worker keeps between their workflow tasks (sticky execution): the next task
   * of a cached run carries only its new events and continues the run where it stopped, instead of
   * replaying its history. 0 turns the cache and sticky execution off. Default as in the official SDK
   * (one context per run): 250 per GiB of V8 heap beyond the first 400 MiB, at least 10.
   */
  maxCachedWorkflows?: number;
  /**
   * How long a task waits on this worker's sticky queue before the server gives it to any worker
   * (with the full history) instead; default 10 s.
   */
  stickyQueueScheduleToStartTimeout?: Duration;
  /** Share of the workflow-task pollers that poll the normal queue when the cache is on; default 0.2 (at least one). */
  nonStickyToStickyPollRatio?: number;
  /** Activity interceptors and workflow interceptor modules; see docs/sdk.md, "Interceptors". */
  interceptors?: WorkerInterceptors;
  /** How long shutdown waits for running tasks before cancelling activities; default 10 s. */
  shutdownGraceTime?: Duration;
  /** Deadline of one workflow activation; default 5 s; KAIROS_WORKFLOW_DEBUG=1 turns it off. */
  workflowActivationTimeout?: Duration;
  /** Heartbeats reach the server at most this often when the activity has no heartbeat timeout; default 30 s. */
  defaultHeartbeatThrottleInterval?: Duration;
  /** Upper bound of the heartbeat throttle interval; default 60 s. */
  maxHeartbeatThrottleInterval?: Duration;
  /**
   * How often the worker reports itself to the server (RecordWorkerHeartbeat, shown by `kairos worker
   * list`), when the server keeps worker heartbeats; default 60 s, 0 turns it off. The official SDK
   * sets this per Runtime (`Runtime.install({ workerHeartbeatInterval })`).
   */
  workerHeartbeatInterval?: Duration;
}

export interface CompiledWorkerOptions {
  readonly connection: Connection;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly identity: string;
  readonly activities: Readonly<Record<string, ActivityFunction>>;
  /** Its payload converter is the one of `payloadConverterPath` (loaded by Worker.create) or the default. */
  readonly dataConverter: LoadedDataConverter;
  readonly payloadConverterPath: string | undefined;
  readonly failureConverterPath: string | undefined;
  readonly interceptors: { readonly activity: readonly ActivityInterceptorsFactory[]; readonly workflowModules: readonly string[] };
  readonly maxConcurrentWorkflowTaskExecutions: number;
  readonly maxConcurrentActivityTaskExecutions: number;
  readonly maxConcurrentWorkflowTaskPolls: number;
  readonly maxConcurrentActivityTaskPolls: number;
  /** 0: no cache, no sticky queue. */
  readonly maxCachedWorkflows: number;
  readonly stickyQueueScheduleToStartTimeoutMs: number;
  /** Pollers of the normal queue and of the sticky queue (0 when the cache is off); together maxConcurrentWorkflowTaskPolls. */
  readonly normalQueuePollers: number;
  readonly stickyQueuePollers: number;
  readonly shutdownGraceTimeMs: number;
  readonly activationTimeoutMs: number | undefined;
  readonly defaultHeartbeatThrottleIntervalMs: number;
  readonly maxHeartbeatThrottleIntervalMs: number;
  readonly workerHeartbeatIntervalMs: number;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const result = value ?? fallback;
  if (!Number.isInteger(result) || result < 1) throw new TypeError(`${name} must be a positive integer, got ${result}`);
  return result;
}

/** The official SDK's default for workers with one V8 context per run. */
function defaultMaxCachedWorkflows(): number {
  const heapMiB = v8.getHeapStatistics().heap_size_limit / (1024 * 1024);
  return Math.max(Math.floor((Math.max(heapMiB - 400, 0) * 250) / 1024), 10);
}

/** sdk-core's split: a `ratio` share of the pollers (at least one) polls the normal queue, the rest (at least one) the sticky queue. */
function splitPollers(pollers: number, ratio: number, sticky: boolean): { normal: number; sticky: number } {
  if (!sticky) return { normal: pollers, sticky: 0 };
  const normal = Math.max(Math.floor(pollers * ratio), 1);
  return { normal, sticky: Math.max(pollers - normal, 1) };
}

/** `payloadConverter`: the export of `dataConverter.payloadConverterPath`, which the caller imported. */
export function compileWorkerOptions(
  options: WorkerOptions,
  payloadConverter: PayloadConverter = defaultPayloadConverter,
  failureConverter?: FailureConverter,
): CompiledWorkerOptions {
  if (options.taskQueue === '') throw new TypeError('taskQueue must not be empty');
  const debug = ['1', 'true'].includes(process.env['KAIROS_WORKFLOW_DEBUG'] ?? '');
  const maxCachedWorkflows = options.maxCachedWorkflows ?? defaultMaxCachedWorkflows();
  if (!Number.isInteger(maxCachedWorkflows) || maxCachedWorkflows < 0) {
    throw new TypeError(`maxCachedWorkflows must be a non-negative integer, got ${maxCachedWorkflows}`);
  }
  const ratio = options.nonStickyToStickyPollRatio ?? 0.2;
  if (!(ratio > 0 && ratio <= 1)) throw new TypeError(`nonStickyToStickyPollRatio must be in (0, 1], got ${ratio}`);
  const workflowSlots = positiveInteger('maxConcurrentWorkflowTaskExecutions', options.maxConcurrentWorkflowTaskExecutions, 40);
  const workflowPollers = positiveInteger('maxConcurrentWorkflowTaskPolls', options.maxConcurrentWorkflowTaskPolls, 2);
  const pollers = splitPollers(workflowPollers, ratio, maxCachedWorkflows > 0);
  return {
    connection: options.connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue,
    identity: options.identity ?? `${process.pid}@${os.hostname()}`,
    activities: Object.fromEntries(
      Object.entries(options.activities ?? {}).filter((entry): entry is [string, ActivityFunction] => typeof entry[1] === 'function'),
    ),
    dataConverter: {
      payloadConverter,
      payloadCodecs: [...(options.dataConverter?.payloadCodecs ?? [])],
      failureConverter: failureConverter ?? options.dataConverter?.failureConverter ?? new DefaultFailureConverter(),
    },
    payloadConverterPath: options.dataConverter?.payloadConverterPath,
    failureConverterPath: options.dataConverter?.failureConverterPath,
    interceptors: {
      activity: [...(options.interceptors?.activity ?? [])],
      workflowModules: [...(options.interceptors?.workflowModules ?? [])],
    },
    maxConcurrentWorkflowTaskExecutions: maxCachedWorkflows > 0 ? Math.max(workflowSlots, 2) : workflowSlots,
    maxConcurrentActivityTaskExecutions: positiveInteger('maxConcurrentActivityTaskExecutions', options.maxConcurrentActivityTaskExecutions, 100),
    maxConcurrentWorkflowTaskPolls: pollers.normal + pollers.sticky,
    maxConcurrentActivityTaskPolls: positiveInteger('maxConcurrentActivityTaskPolls', options.maxConcurrentActivityTaskPolls, 2),
    maxCachedWorkflows,
    stickyQueueScheduleToStartTimeoutMs: msFromDuration(options.stickyQueueScheduleToStartTimeout ?? '10s'),
    normalQueuePollers: pollers.normal,
    stickyQueuePollers: pollers.sticky,
    shutdownGraceTimeMs: msFromDuration(options.shutdownGraceTime ?? '10s'),
    workerHeartbeatIntervalMs: msFromDuration(options.workerHeartbeatInterval ?? '60s'),
    activationTimeoutMs: debug ? undefined : msFromDuration(options.workflowActivationTimeout ?? '5s'),
    defaultHeartbeatThrottleIntervalMs: msFromDuration(options.defaultHeartbeatThrottleInterval ?? '30s'),
    maxHeartbeatThrottleIntervalMs: msFromDuration(options.maxHeartbeatThrottleInterval ?? '60s'),
  };
}
