// The worker's heartbeats (docs/workers.md): when the namespace advertises `workerHeartbeats`, the
// worker sends RecordWorkerHeartbeat every `workerHeartbeatInterval` (60 s by default, as the official
// SDK's Runtime does) with its slots, pollers and sticky cache, and its last heartbeat (SHUTTING_DOWN)
// with ShutdownWorker. What the server keeps is what `kairos worker list` and the Web UI show.
import os from 'node:os';
import * as grpc from '@grpc/grpc-js';
import type { temporal } from '@temporalio/proto';
import { ServiceError, type Connection } from '@kairos/client';
import type { Slots } from './slots.js';
import type { WorkflowCacheStats } from './workflow-cache.js';
import type { WorkerLogger } from './logger.js';

type Heartbeat = temporal.api.worker.v1.IWorkerHeartbeat;

export const SDK_NAME = 'kairos-typescript';
export const SDK_VERSION = '0.1.0';
const STATUS_RUNNING = 1;
const STATUS_SHUTTING_DOWN = 2;

/** Polls in flight and when one last brought a task, for one kind of poller. */
export class PollerStats {
  current = 0;
  lastSuccessMs: number | undefined;

  info(): temporal.api.worker.v1.IWorkerPollerInfo {
    return { currentPollers: this.current, lastSuccessfulPollTime: this.lastSuccessMs === undefined ? null : timestamp(this.lastSuccessMs), isAutoscaling: false };
  }
}

/** A task type's slots and how many of its tasks ran and failed, in all and since the last heartbeat. */
export class TaskStats {
  slots: Slots | undefined;
  /** Tasks running now (slots a poller holds while it waits count as neither used nor available). */
  running = 0;
  processed = 0;
  private reportedProcessed = 0;
  private reportedFailed = 0;

  constructor(private readonly failedSoFar: () => number) {}

  info(): temporal.api.worker.v1.IWorkerSlotsInfo {
    const failed = this.failedSoFar();
    return {
      currentAvailableSlots: (this.slots?.capacity ?? 0) - (this.slots?.used ?? 0),
      currentUsedSlots: this.running,
      slotSupplierKind: 'Fixed',
      totalProcessedTasks: this.processed,
      totalFailedTasks: failed,
      lastIntervalProcessedTasks: this.processed - this.reportedProcessed,
      lastIntervalFailureTasks: failed - this.reportedFailed,
    };
  }

  /** The last heartbeat reached the server: the next interval counts from here. */
  reported(): void {
    this.reportedProcessed = this.processed;
    this.reportedFailed = this.failedSoFar();
  }
}

export interface HeartbeatSource {
  readonly connection: Connection;
  readonly namespace: string;
  readonly identity: string;
  readonly taskQueue: string;
  readonly workerInstanceKey: string;
  readonly workflowTasks: TaskStats;
  readonly activityTasks: TaskStats;
  readonly workflowPollers: PollerStats;
  readonly stickyPollers: PollerStats;
  readonly activityPollers: PollerStats;
  readonly cacheStats: () => WorkflowCacheStats | undefined;
  /** Shutdown began: heartbeats say SHUTTING_DOWN while the worker drains. */
  readonly shuttingDown: () => boolean;
  readonly logger: WorkerLogger;
}

type Timestamp = NonNullable<Heartbeat['startTime']>;

/** Milliseconds as a Timestamp or Duration (protobufjs takes a number where the generated types say Long). */
function timestamp(ms: number): Timestamp {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) } as unknown as Timestamp;
}

export class WorkerHeartbeats {
  private startMs: number | undefined;
  private lastSentMs: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly source: HeartbeatSource,
    private readonly intervalMs: number,
  ) {}

  /** Starts sending (the worker began polling) when the server keeps heartbeats and an interval is set. */
  start(serverKeepsHeartbeats: boolean): void {
    this.startMs ??= Date.now();
    if (!serverKeepsHeartbeats || this.intervalMs <= 0 || this.timer !== undefined) return;
    this.timer = setInterval(() => void this.send(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** The heartbeat as of now; `elapsed_since_last_heartbeat` counts from the last one sent. */
  snapshot(): Heartbeat {
    const s = this.source;
    const now = Date.now();
    const cache = s.cacheStats();
    const elapsedMs = this.lastSentMs === undefined ? undefined : now - this.lastSentMs;
    return {
      workerInstanceKey: s.workerInstanceKey,
      workerIdentity: s.identity,
      hostInfo: { hostName: os.hostname(), processId: String(process.pid), currentHostCpuUsage: hostCpu(), currentHostMemUsage: 1 - os.freemem() / os.totalmem() },
      taskQueue: s.taskQueue,
      sdkName: SDK_NAME,
      sdkVersion: SDK_VERSION,
      status: s.shuttingDown() ? STATUS_SHUTTING_DOWN : STATUS_RUNNING,
      startTime: timestamp(this.startMs ?? now),
      heartbeatTime: timestamp(now),
      elapsedSinceLastHeartbeat: elapsedMs === undefined ? null : timestamp(elapsedMs),
      workflowTaskSlotsInfo: s.workflowTasks.info(),
      activityTaskSlotsInfo: s.activityTasks.info(),
      workflowPollerInfo: s.workflowPollers.info(),
      workflowStickyPollerInfo: s.stickyPollers.info(),
      activityPollerInfo: s.activityPollers.info(),
      totalStickyCacheHit: cache?.tasksOnCachedRuns ?? 0,
      totalStickyCacheMiss: cache?.fullReplays ?? 0,
      currentStickyCacheSize: cache?.cachedRuns ?? 0,
    };
  }

  /** Marks a heartbeat as delivered (sent alone or with ShutdownWorker). */
  delivered(): void {
    this.lastSentMs = Date.now();
    this.source.workflowTasks.reported();
    this.source.activityTasks.reported();
  }

  private async send(): Promise<void> {
    const s = this.source;
    try {
      await s.connection.workflowServiceWith({ deadlineMs: Date.now() + 10_000 }).recordWorkerHeartbeat({ namespace: s.namespace, identity: s.identity, workerHeartbeat: [this.snapshot()] });
      this.delivered();
    } catch (error) {
      // A server without the call will not gain it: stop asking, as sdk-core does.
      if (error instanceof ServiceError && error.code === grpc.status.UNIMPLEMENTED) this.stop();
      else if (!this.stopped) s.logger.warn('RecordWorkerHeartbeat failed', { error: String(error) });
    }
  }
}

let lastCpu: { idle: number; total: number } | undefined;

/** The host's CPU use (0–1) since the previous reading (since boot at the first). */
function hostCpu(): number {
  let idle = 0;
  let total = 0;
  for (const cpu of os.cpus()) {
    idle += cpu.times.idle;
    total += cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq + cpu.times.idle;
  }
  const previous = lastCpu ?? { idle: 0, total: 0 };
  lastCpu = { idle, total };
  const spent = total - previous.total;
  return spent > 0 ? 1 - (idle - previous.idle) / spent : 0;
}
