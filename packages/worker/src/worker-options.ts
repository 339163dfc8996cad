// Worker options as users write them, and their normalised form (defaults applied once, here).
import os from 'node:os';
import type { Connection } from '@kairos/client';
import { msFromDuration, type Duration } from '@kairos/sdk-common';
import type { WorkflowBundle } from './bundler.js';

export type ActivityFunction = (...args: never[]) => unknown;

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
  maxConcurrentWorkflowTaskExecutions?: number;
  maxConcurrentActivityTaskExecutions?: number;
  maxConcurrentWorkflowTaskPolls?: number;
  maxConcurrentActivityTaskPolls?: number;
  /** How long shutdown waits for running tasks before cancelling activities; default 10 s. */
  shutdownGraceTime?: Duration;
  /** Deadline of one workflow activation; default 5 s; KAIROS_WORKFLOW_DEBUG=1 turns it off. */
  workflowActivationTimeout?: Duration;
  /** Heartbeats reach the server at most this often when the activity has no heartbeat timeout; default 30 s. */
  defaultHeartbeatThrottleInterval?: Duration;
  /** Upper bound of the heartbeat throttle interval; default 60 s. */
  maxHeartbeatThrottleInterval?: Duration;
}

export interface CompiledWorkerOptions {
  readonly connection: Connection;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly identity: string;
  readonly activities: Readonly<Record<string, ActivityFunction>>;
  readonly maxConcurrentWorkflowTaskExecutions: number;
  readonly maxConcurrentActivityTaskExecutions: number;
  readonly maxConcurrentWorkflowTaskPolls: number;
  readonly maxConcurrentActivityTaskPolls: number;
  readonly shutdownGraceTimeMs: number;
  readonly activationTimeoutMs: number | undefined;
  readonly defaultHeartbeatThrottleIntervalMs: number;
  readonly maxHeartbeatThrottleIntervalMs: number;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const result = value ?? fallback;
  if (!Number.isInteger(result) || result < 1) throw new TypeError(`${name} must be a positive integer, got ${result}`);
  return result;
}

export function compileWorkerOptions(options: WorkerOptions): CompiledWorkerOptions {
  if (options.taskQueue === '') throw new TypeError('taskQueue must not be empty');
  const debug = ['1', 'true'].includes(process.env['KAIROS_WORKFLOW_DEBUG'] ?? '');
  return {
    connection: options.connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue,
    identity: options.identity ?? `${process.pid}@${os.hostname()}`,
    activities: Object.fromEntries(
      Object.entries(options.activities ?? {}).filter((entry): entry is [string, ActivityFunction] => typeof entry[1] === 'function'),
    ),
    maxConcurrentWorkflowTaskExecutions: positiveInteger('maxConcurrentWorkflowTaskExecutions', options.maxConcurrentWorkflowTaskExecutions, 40),
    maxConcurrentActivityTaskExecutions: positiveInteger('maxConcurrentActivityTaskExecutions', options.maxConcurrentActivityTaskExecutions, 100),
    maxConcurrentWorkflowTaskPolls: positiveInteger('maxConcurrentWorkflowTaskPolls', options.maxConcurrentWorkflowTaskPolls, 2),
    maxConcurrentActivityTaskPolls: positiveInteger('maxConcurrentActivityTaskPolls', options.maxConcurrentActivityTaskPolls, 2),
    shutdownGraceTimeMs: msFromDuration(options.shutdownGraceTime ?? '10s'),
    activationTimeoutMs: debug ? undefined : msFromDuration(options.workflowActivationTimeout ?? '5s'),
    defaultHeartbeatThrottleIntervalMs: msFromDuration(options.defaultHeartbeatThrottleInterval ?? '30s'),
    maxHeartbeatThrottleIntervalMs: msFromDuration(options.maxHeartbeatThrottleInterval ?? '60s'),
  };
}
