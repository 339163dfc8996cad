// The server's own worker for batch jobs (docs/batch.md). A batch job is an ordinary workflow of type
// temporal-sys-batch-workflow-protobuf in the job's namespace, as on Temporal; this worker long-polls its
// task queue in every namespace through the same WorkflowService handlers a client calls, and plays both
// parts of Temporal's batcher:
// - the workflow: schedule the one activity; when it completes, record its counts in the memo and complete
//   with its result; when it fails for good, fail;
// - the activity: run the job (batch-job.ts), heartbeating its progress, so that after a crash the
//   activity's retry goes on from the last finished page.
// Everything durable is the workflow's history and the activity's heartbeat, kept by the engine.
import os from 'node:os';
import { api, msToDuration, type Loose } from '@kairos/common';
import type { temporal } from '@temporalio/proto';
import { GrpcCode, ServiceError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { NamespaceRegistry } from '../namespace/registry.js';
import type { WorkflowCaller } from '../schedules/scheduler.js';
import type { Payload } from '../proto-types.js';
import { BATCH_ACTIVITY_TYPE, BATCH_TASK_QUEUE, jsonPayload, MEMO_STATS, progressOf, type Progress } from './batch-rules.js';
import { decodeBatchInput } from './batch-input.js';
import { JobFailure, runJob, sleep, type JobSettings } from './batch-job.js';

type HistoryEvent = Loose<temporal.api.history.v1.IHistoryEvent>;
type Command = Loose<temporal.api.command.v1.ICommand>;

const EventType = api.enums.v1.EventType;
const CommandType = api.enums.v1.CommandType;
const NORMAL = api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL;

/** How often the set of namespaces polled is brought up to date with the registry. */
const RECONCILE_MS = 10_000;
/** Heartbeats: at least this often (the activity's heartbeat timeout is 10 s), and soon after progress. */
const HEARTBEAT_EVERY_MS = 2_500;
const PROGRESS_HEARTBEAT_MS = 500;
/** After a poll failed for a reason that may pass. */
const RETRY_POLL_MS = 1_000;
const DAY_MS = 24 * 3600 * 1000;

/** Temporal's batch activity options (service/worker/batcher/workflow.go). */
const ACTIVITY_OPTIONS = {
  scheduleToStartTimeout: msToDuration(5 * 60_000),
  startToCloseTimeout: msToDuration(20 * 365 * DAY_MS),
  heartbeatTimeout: msToDuration(10_000),
  retryPolicy: { initialInterval: msToDuration(10_000), backoffCoefficient: 1.7, maximumInterval: msToDuration(5 * 60_000), maximumAttempts: 0 },
};

export interface BatchWorkerSettings {
  /** worker.batcherRPS: each job's calls per second at most. */
  readonly rps: number;
  /** worker.batcherConcurrency: targets a job works on at once. */
  readonly concurrency: number;
}

export class BatchWorker {
  readonly identity = `${process.pid}@${os.hostname()}@`;
  private readonly pollers = new Map<string, AbortController>();
  private readonly stopping = new AbortController();
  private reconcileTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly call: WorkflowCaller,
    private readonly namespaces: NamespaceRegistry,
    private readonly logger: Logger,
    private readonly settings: BatchWorkerSettings,
  ) {}

  start(): void {
    this.reconcile();
    this.reconcileTimer = setInterval(() => this.reconcile(), RECONCILE_MS);
    this.reconcileTimer.unref();
  }

  stop(): void {
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    this.stopping.abort(new Error('server shutting down'));
    for (const poller of this.pollers.values()) poller.abort();
    this.pollers.clear();
  }

  /** Polls `namespace` if it does not already (a job was just started there). */
  ensure(namespace: string): void {
    if (this.stopping.signal.aborted || this.pollers.has(namespace)) return;
    const controller = new AbortController();
    this.pollers.set(namespace, controller);
    void this.pollLoop(namespace, 'workflow', controller.signal);
    void this.pollLoop(namespace, 'activity', controller.signal);
  }

  private reconcile(): void {
    const live = new Set(this.namespaces.list().filter((n) => n.state === api.enums.v1.NamespaceState.NAMESPACE_STATE_REGISTERED).map((n) => n.name));
    for (const name of live) this.ensure(name);
    for (const [name, controller] of this.pollers) {
      if (live.has(name)) continue;
      controller.abort();
      this.pollers.delete(name);
    }
  }

  private async pollLoop(namespace: string, kind: 'workflow' | 'activity', signal: AbortSignal): Promise<void> {
    const method = kind === 'workflow' ? 'PollWorkflowTaskQueue' : 'PollActivityTaskQueue';
    while (!signal.aborted) {
      try {
        const task = (await this.call(method, { namespace, taskQueue: { name: BATCH_TASK_QUEUE, kind: NORMAL }, identity: this.identity }, { signal })) as { taskToken?: Uint8Array | null };
        if (!task.taskToken || task.taskToken.length === 0) continue;
        if (kind === 'workflow') await this.workflowTask(namespace, task as WorkflowTask);
        else void this.activityTask(namespace, task as ActivityTask);
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof ServiceError && err.code === GrpcCode.NOT_FOUND) {
          // The namespace is gone; reconcile() forgets it.
          await sleep(RECONCILE_MS, signal);
          continue;
        }
        this.logger.warn('batch worker poll failed', { namespace, kind, error: String(err) });
        await sleep(RETRY_POLL_MS, signal);
      }
    }
  }

  // ---- the workflow ------------------------------------------------------------------------------

  private async workflowTask(namespace: string, task: WorkflowTask): Promise<void> {
    try {
      const events = await this.fullHistory(namespace, task);
      await this.call('RespondWorkflowTaskCompleted', { namespace, taskToken: task.taskToken, commands: decide(events), identity: this.identity });
    } catch (err) {
      // NOT_FOUND: the job was stopped meanwhile; anything else is retried by the task's timeout.
      if (!(err instanceof ServiceError && err.code === GrpcCode.NOT_FOUND)) this.logger.warn('batch workflow task failed', { namespace, error: String(err) });
    }
  }

  private async fullHistory(namespace: string, task: WorkflowTask): Promise<HistoryEvent[]> {
    const events = [...(task.history?.events ?? [])];
    let nextPageToken = task.nextPageToken && task.nextPageToken.length > 0 ? task.nextPageToken : null;
    while (nextPageToken) {
      const page = (await this.call('GetWorkflowExecutionHistory', { namespace, execution: task.workflowExecution, nextPageToken })) as {
        history?: { events?: HistoryEvent[] } | null;
        nextPageToken?: Uint8Array | null;
      };
      events.push(...(page.history?.events ?? []));
      nextPageToken = page.nextPageToken && page.nextPageToken.length > 0 ? page.nextPageToken : null;
    }
    return events;
  }

  // ---- the activity ------------------------------------------------------------------------------

  private async activityTask(namespace: string, task: ActivityTask): Promise<void> {
    const stop = new AbortController();
    const onStopping = () => stop.abort(this.stopping.signal.reason);
    this.stopping.signal.addEventListener('abort', onStopping, { once: true });
    let latest: Progress | null = null;
    let sent: Progress | null = null;
    let lastSentMs = 0;
    const sendHeartbeat = async () => {
      if (!latest || stop.signal.aborted) return;
      sent = latest;
      lastSentMs = Date.now();
      try {
        const answer = (await this.call('RecordActivityTaskHeartbeat', { namespace, taskToken: task.taskToken, details: { payloads: [jsonPayload(latest)] }, identity: this.identity })) as {
          cancelRequested?: boolean | null;
        };
        if (answer.cancelRequested) stop.abort(new Error('batch job canceled'));
      } catch (err) {
        // NOT_FOUND: the job was stopped (terminated) or this attempt timed out; a retry takes over.
        if (err instanceof ServiceError && err.code === GrpcCode.NOT_FOUND) stop.abort(new Error('batch job gone'));
      }
    };
    const ticker = setInterval(() => {
      if (latest !== sent ? Date.now() - lastSentMs >= PROGRESS_HEARTBEAT_MS : Date.now() - lastSentMs >= HEARTBEAT_EVERY_MS) void sendHeartbeat();
    }, PROGRESS_HEARTBEAT_MS);
    const respond = (method: string, body: object) => this.call(method, { namespace, taskToken: task.taskToken, identity: this.identity, ...body }).catch(() => undefined);
    try {
      const input = decodeBatchInput(task.input?.payloads?.[0]);
      const settings: JobSettings = {
        rps: jobRps(this.settings.rps, Number(input.request.maxOperationsPerSecond ?? 0)),
        concurrency: this.settings.concurrency,
        retries: 50,
        callTimeoutMs: 30_000,
      };
      const resumeFrom = progressOf(task.heartbeatDetails?.payloads?.[0]);
      const result = await runJob(
        {
          call: this.call,
          namespace,
          jobId: task.workflowExecution?.workflowId ?? input.request.jobId ?? '',
          kind: input.kind,
          request: input.request,
          workerIdentity: this.identity,
          settings,
          signal: stop.signal,
          heartbeat: (progress) => {
            latest = { ...progress };
          },
        },
        resumeFrom,
      );
      await respond('RespondActivityTaskCompleted', { result: { payloads: [jsonPayload(result)] } });
    } catch (err) {
      if (stop.signal.aborted) return;
      const nonRetryable = err instanceof JobFailure;
      await respond('RespondActivityTaskFailed', {
        failure: { message: err instanceof Error ? err.message : String(err), applicationFailureInfo: { type: nonRetryable ? err.type : 'Error', nonRetryable } },
        lastHeartbeatDetails: latest ? { payloads: [jsonPayload(latest)] } : null,
      });
      if (!nonRetryable) this.logger.warn('batch job attempt failed; it is retried', { namespace, jobId: task.workflowExecution?.workflowId, error: String(err) });
    } finally {
      clearInterval(ticker);
      this.stopping.signal.removeEventListener('abort', onStopping);
    }
  }
}

interface WorkflowTask {
  readonly taskToken: Uint8Array;
  readonly workflowExecution?: { workflowId?: string | null; runId?: string | null } | null;
  readonly history?: { events?: HistoryEvent[] } | null;
  readonly nextPageToken?: Uint8Array | null;
}

interface ActivityTask {
  readonly taskToken: Uint8Array;
  readonly workflowExecution?: { workflowId?: string | null; runId?: string | null } | null;
  readonly input?: { payloads?: Payload[] | null } | null;
  readonly heartbeatDetails?: { payloads?: Payload[] | null } | null;
}

/**
 * The job workflow's next commands from its history: schedule the activity (with the workflow's input)
 * once; on its completion, the counts into the memo and complete with its result; on its final failure
 * or time-out, fail. Nothing otherwise.
 */
export function decide(events: readonly HistoryEvent[]): Command[] {
  const started = events.find((e) => Number(e.eventType) === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
  const scheduled = events.find((e) => Number(e.eventType) === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
  if (!scheduled) {
    const lastEventId = Number(events.at(-1)?.eventId ?? 0);
    return [
      {
        commandType: CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
        scheduleActivityTaskCommandAttributes: {
          // The id of the event the activity is scheduled as (after this task's WorkflowTaskCompleted).
          activityId: String(lastEventId + 2),
          activityType: { name: BATCH_ACTIVITY_TYPE },
          taskQueue: { name: BATCH_TASK_QUEUE, kind: NORMAL },
          input: started?.workflowExecutionStartedEventAttributes?.input ?? null,
          ...ACTIVITY_OPTIONS,
        },
      },
    ];
  }
  const closed = [...events].reverse().find((e) =>
    [EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED, EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED].includes(
      Number(e.eventType),
    ),
  );
  if (!closed) return [];
  const type = Number(closed.eventType);
  if (type === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
    const result = closed.activityTaskCompletedEventAttributes?.result ?? null;
    const progress = progressOf(result?.payloads?.[0]) ?? { SuccessCount: 0, ErrorCount: 0 };
    return [
      {
        commandType: CommandType.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES,
        modifyWorkflowPropertiesCommandAttributes: { upsertedMemo: { fields: { [MEMO_STATS]: jsonPayload({ NumSuccess: progress.SuccessCount, NumFailure: progress.ErrorCount }) } } },
      },
      { commandType: CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION, completeWorkflowExecutionCommandAttributes: { result } },
    ];
  }
  const cause =
    closed.activityTaskFailedEventAttributes?.failure ??
    closed.activityTaskTimedOutEventAttributes?.failure ??
    ({ message: 'activity canceled', canceledFailureInfo: {} } as Loose<temporal.api.failure.v1.IFailure>);
  const attrs = closed.activityTaskFailedEventAttributes ?? closed.activityTaskTimedOutEventAttributes ?? null;
  return [
    {
      commandType: CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
      failWorkflowExecutionCommandAttributes: {
        failure: {
          message: 'activity error',
          cause,
          activityFailureInfo: {
            scheduledEventId: scheduled.eventId,
            startedEventId: attrs?.startedEventId ?? 0,
            identity: '',
            activityType: { name: BATCH_ACTIVITY_TYPE },
            activityId: scheduled.activityTaskScheduledEventAttributes?.activityId ?? '',
            retryState: attrs?.retryState ?? 0,
          },
        },
      },
    },
  ];
}

/** A job's rate: its request's max_operations_per_second when set and below the server's, else the server's. */
export function jobRps(serverRps: number, requested: number): number {
  return requested > 0 && requested < serverRps ? requested : serverRps;
}
