// Worker-facing RPCs: long polls for workflow/activity tasks and their completions.
import { randomUUID } from 'node:crypto';
import { msToDuration, msToTimestamp } from '@kairos/common';
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import { encodeTaskToken } from '../history/task-token.js';
import type { HistoryContext } from '../history/service-context.js';
import { recordWorkflowTaskStarted, resetStickiness, respondWorkflowTaskCompleted, respondWorkflowTaskFailed, workflowTaskPollResponse } from '../history/ops/workflow-task.js';
import { resolveRun } from '../history/service-context.js';
import { heartbeatActivity, recordActivityTaskStarted, resolveActivityTarget, respondActivity, type ActivityTarget } from '../history/ops/activity-task.js';
import { pauseActivities, resetActivities, unpauseActivities, updateActivityOptions } from '../history/ops/activity-operator.js';
import { pollBudgetMs, versionedQueueName, type QueueKind, type RemoteHint, type StoredQueueKind, type WorkflowQueueEntry } from '../matching/matching.js';
import { TaskQueueKind } from '../proto-types.js';
import type { CallContext, ServiceHandlers, UnaryHandler } from './grpc-server.js';
import { requireString } from './validation.js';
import { WorkerPolls } from './worker-polls.js';
import { InvalidArgumentError, ShardUnavailableError } from '../errors.js';
import { versionKey } from '../deployments/registry.js';

/** WorkerVersioningMode.WORKER_VERSIONING_MODE_VERSIONED. */
const WORKER_VERSIONING_MODE_VERSIONED = 2;

type PollWorkflowResponse = Loose<temporal.api.workflowservice.v1.IPollWorkflowTaskQueueResponse>;

/** The fields shared by the activity heartbeat/respond requests (by token and by id). */
type ActivityRequest = temporal.api.workflowservice.v1.IRespondActivityTaskCompletedByIdRequest &
  temporal.api.workflowservice.v1.IRespondActivityTaskFailedRequest &
  temporal.api.workflowservice.v1.IRespondActivityTaskCanceledRequest &
  temporal.api.workflowservice.v1.IRecordActivityTaskHeartbeatRequest;

const heartbeat = (ctx: HistoryContext, target: ActivityTarget, req: ActivityRequest) => heartbeatActivity(ctx, target, req.details, req.identity ?? '');
const completed = (ctx: HistoryContext, target: ActivityTarget, req: ActivityRequest) =>
  respondActivity(ctx, target, { kind: 'completed', result: req.result, identity: req.identity ?? '' });
const canceled = (ctx: HistoryContext, target: ActivityTarget, req: ActivityRequest) =>
  respondActivity(ctx, target, { kind: 'canceled', details: req.details, identity: req.identity ?? '' });
async function failed(ctx: HistoryContext, target: ActivityTarget, req: ActivityRequest): Promise<object> {
  await respondActivity(ctx, target, { kind: 'failed', failure: req.failure ?? { message: '' }, identity: req.identity ?? '', lastHeartbeatDetails: req.lastHeartbeatDetails });
  return { failures: [] };
}

export interface TaskHandlerOptions {
  /** `frontend.enableCancelWorkerPollsOnShutdown`: ShutdownWorker answers the worker's outstanding polls. */
  readonly cancelPollsOnShutdown?: boolean;
  /** Keeps a worker's heartbeat (ShutdownWorker carries the worker's last one); unset: dropped. */
  readonly recordHeartbeats?: (namespaceId: string, heartbeats: readonly temporal.api.worker.v1.IWorkerHeartbeat[]) => void;
  /** host:port of this server's gRPC port, the owner ListTaskQueuePartitions names (known once bound). */
  readonly hostAddress?: () => string;
}

/** The task queue types of a ShutdownWorker request whose polls it ends (none given: both). */
function shutdownKinds(types: readonly number[] | null | undefined): Set<QueueKind> {
  const kinds = new Set<QueueKind>();
  for (const type of types ?? []) {
    if (type === 1 /* WORKFLOW */) kinds.add('workflow');
    else if (type === 2 /* ACTIVITY */) kinds.add('activity');
  }
  return types && types.length > 0 ? kinds : new Set<QueueKind>(['workflow', 'activity']);
}

export function taskHandlers(ctx: HistoryContext, options: TaskHandlerOptions = {}): ServiceHandlers {
  const ns = (name: string | null | undefined) => ctx.namespaces.get(requireString(name, 'Namespace'));
  const clock = ctx.engine.clock;
  // Tracked only when ShutdownWorker may cancel them: an untracked poll costs nothing extra.
  const workerPolls = options.cancelPollsOnShutdown ? new WorkerPolls() : null;
  const trackPoll = (namespaceId: string, workerInstanceKey: string | null | undefined, queue: string, kind: QueueKind, call: CallContext) =>
    workerPolls?.track(namespaceId, workerInstanceKey ?? '', queue, kind, call.signal) ?? { signal: call.signal, done: () => undefined };

  async function pollWorkflow(request: unknown, call: CallContext): Promise<PollWorkflowResponse> {
    const req = request as temporal.api.workflowservice.v1.IPollWorkflowTaskQueueRequest;
    const namespace = ns(req.namespace);
    const queue = requireString(req.taskQueue?.name, 'TaskQueue');
    const endMs = clock.now() + pollBudgetMs(clock.now(), call.deadlineMs);
    const polled = polledQueue(ctx, namespace.id, queue, req.taskQueue?.kind ?? 0, 'workflow', req.deploymentOptions);
    const physical = typeof polled === 'string' ? polled : await polled;
    const poll = trackPoll(namespace.id, req.workerInstanceKey, queue, 'workflow', call);
    try {
      for (;;) {
        const entry = await ctx.matching.pollWorkflowTaskQueue(namespace.id, physical, Math.max(0, endMs - clock.now()), poll.signal, req.identity ?? '');
        if (!entry) return {};
        if (entry.kind === 'remote') {
          const response = await takeFromPeer(ctx, 'workflow', namespace.id, physical, entry.node, req, poll.signal);
          if (response) return response;
          continue;
        }
        // Started for this poll by the transition that scheduled it: it is this worker's now, even when
        // the worker is shutting down (it finishes what its polls bring).
        if (entry.kind === 'started') return workflowTaskPollResponse(ctx, entry.state, queue);
        if (poll.signal.aborted) {
          // The poller left (or its worker is shutting down) while the task was handed over: give it to the next one.
          requeueEntry(ctx, queue, entry);
          return {};
        }
        const response = await orSkipMoved(serveWorkflowEntry(ctx, entry, req));
        if (response) return response;
      }
    } finally {
      poll.done();
    }
  }

  /** The by-token and by-id variants of an activity RPC differ only in how the activity is found. */
  function activityCall(useToken: boolean, act: (c: HistoryContext, target: ActivityTarget, req: ActivityRequest) => Promise<object>): UnaryHandler {
    return async (request) => {
      const req = request as ActivityRequest;
      const target = await resolveActivityTarget(ctx, ns(req.namespace), req, useToken);
      return act(ctx, target, req);
    };
  }

  return {
    PollWorkflowTaskQueue: pollWorkflow,

    async PollActivityTaskQueue(request, call) {
      const req = request as temporal.api.workflowservice.v1.IPollActivityTaskQueueRequest;
      const namespace = ns(req.namespace);
      const queue = requireString(req.taskQueue?.name, 'TaskQueue');
      const limit = req.taskQueueMetadata?.maxTasksPerSecond;
      const maxTasksPerSecond = limit ? Number(limit.value ?? 0) : undefined;
      const endMs = clock.now() + pollBudgetMs(clock.now(), call.deadlineMs);
      const polled = polledQueue(ctx, namespace.id, queue, req.taskQueue?.kind ?? 0, 'activity', req.deploymentOptions);
      const physical = typeof polled === 'string' ? polled : await polled;
      const poll = trackPoll(namespace.id, req.workerInstanceKey, queue, 'activity', call);
      try {
        for (;;) {
          const entry = await ctx.matching.pollActivityTaskQueue(namespace.id, physical, Math.max(0, endMs - clock.now()), poll.signal, req.identity ?? '', maxTasksPerSecond);
          if (!entry) return {};
          if (entry.kind === 'remote') {
            const response = await takeFromPeer(ctx, 'activity', namespace.id, physical, entry.node, req, poll.signal);
            if (response) return response;
            continue;
          }
          if (poll.signal.aborted) {
            ctx.matching.addActivityTask(queue, entry.ref);
            return {};
          }
          const response = await orSkipMoved(recordActivityTaskStarted(ctx, namespace, entry.ref, req, randomUUID(), queue));
          if (response) return response;
        }
      } finally {
        poll.done();
      }
    },

    async RespondWorkflowTaskCompleted(request) {
      const req = request as temporal.api.workflowservice.v1.IRespondWorkflowTaskCompletedRequest;
      return respondWorkflowTaskCompleted(ctx, ns(req.namespace), req);
    },

    async RespondWorkflowTaskFailed(request) {
      const req = request as temporal.api.workflowservice.v1.IRespondWorkflowTaskFailedRequest;
      return respondWorkflowTaskFailed(ctx, ns(req.namespace), req);
    },

    RecordActivityTaskHeartbeat: activityCall(true, heartbeat),
    RecordActivityTaskHeartbeatById: activityCall(false, heartbeat),
    RespondActivityTaskCompleted: activityCall(true, completed),
    RespondActivityTaskCompletedById: activityCall(false, completed),
    RespondActivityTaskFailed: activityCall(true, failed),
    RespondActivityTaskFailedById: activityCall(false, failed),
    RespondActivityTaskCanceled: activityCall(true, canceled),
    RespondActivityTaskCanceledById: activityCall(false, canceled),

    async DescribeTaskQueue(request) {
      const req = request as temporal.api.workflowservice.v1.IDescribeTaskQueueRequest;
      const namespace = ns(req.namespace);
      const queue = requireString(req.taskQueue?.name, 'TaskQueue');
      const kind = req.taskQueueType === 2 /* ACTIVITY */ ? 'activity' : req.taskQueueType === 3 /* NEXUS */ ? 'nexus' : 'workflow';
      const info = ctx.cluster ? await ctx.cluster.describeQueue(namespace.id, queue, kind) : ctx.matching.queueInfo(namespace.id, queue, kind);
      // Temporal reports 100,000 tasks/s for a queue without a limit.
      const ratePerSecond = info.ratePerSecond ?? 100_000;
      return {
        pollers: info.pollers.map((p) => ({ identity: p.identity, lastAccessTime: msToTimestamp(p.lastAccessMs), ratePerSecond })),
        stats: req.reportStats ? { approximateBacklogCount: info.backlog, approximateBacklogAge: msToDuration(0), tasksAddRate: 0, tasksDispatchRate: 0 } : null,
        taskQueueStatus: req.includeTaskQueueStatus ? { backlogCountHint: info.backlog, ratePerSecond } : null,
      };
    },

    // A Kairos task queue is one partition, held by the node that serves the call (a cluster node
    // matches the polls it holds itself). Temporal names partition 0 by the queue's own name.
    async ListTaskQueuePartitions(request) {
      const req = request as temporal.api.workflowservice.v1.IListTaskQueuePartitionsRequest;
      ns(req.namespace);
      const queue = requireString(req.taskQueue?.name, 'TaskQueue');
      const partitions = [{ key: queue, ownerHostName: options.hostAddress?.() ?? '' }];
      return { activityTaskQueuePartitions: partitions, workflowTaskQueuePartitions: partitions };
    },

    async ShutdownWorker(request) {
      const req = request as temporal.api.workflowservice.v1.IShutdownWorkerRequest;
      const namespace = ns(req.namespace);
      if (req.workerHeartbeat) options.recordHeartbeats?.(namespace.id, [req.workerHeartbeat]);
      // As Temporal: only with both the worker's instance key and its task queue.
      if (workerPolls && req.workerInstanceKey && req.taskQueue) {
        const queues = new Set([req.taskQueue, ...(req.stickyTaskQueue ? [req.stickyTaskQueue] : [])]);
        workerPolls.cancel(namespace.id, req.workerInstanceKey, queues, shutdownKinds(req.taskQueueTypes));
      }
      // Tasks waiting for the departed worker go to the normal queue now, not after their timeout.
      if (req.stickyTaskQueue) {
        for (const ref of ctx.matching.shutdownStickyQueue(namespace.id, req.stickyTaskQueue)) await resetStickiness(ctx, ref.key, ref.scheduledEventId);
        ctx.cluster?.announceStickyQueueGone(namespace.id, req.stickyTaskQueue);
      }
      return {};
    },

    async PauseActivity(request) {
      const req = request as temporal.api.workflowservice.v1.IPauseActivityRequest;
      return pauseActivities(ctx, ns(req.namespace), req);
    },

    async UnpauseActivity(request) {
      const req = request as temporal.api.workflowservice.v1.IUnpauseActivityRequest;
      return unpauseActivities(ctx, ns(req.namespace), req);
    },

    async ResetActivity(request) {
      const req = request as temporal.api.workflowservice.v1.IResetActivityRequest;
      return resetActivities(ctx, ns(req.namespace), req);
    },

    async UpdateActivityOptions(request) {
      const req = request as temporal.api.workflowservice.v1.IUpdateActivityOptionsRequest;
      return updateActivityOptions(ctx, ns(req.namespace), req);
    },

    async ResetStickyTaskQueue(request) {
      const req = request as temporal.api.workflowservice.v1.IResetStickyTaskQueueRequest;
      const namespace = ns(req.namespace);
      const workflowId = requireString(req.execution?.workflowId, 'WorkflowId');
      await resetStickiness(ctx, await resolveRun(ctx, namespace.id, workflowId, req.execution?.runId));
      return {};
    },
  };
}

/**
 * The physical queue a poll waits on: its task queue's own, or, for a worker of a Worker Deployment
 * version (VERSIONED mode, normal queues), that version's part of it. A version's first poll on a
 * task queue registers the version there (deployments/registry.ts) before it waits, as Temporal's does.
 */
function polledQueue(ctx: HistoryContext, namespaceId: string, queue: string, queueKind: number, kind: StoredQueueKind, options: temporal.api.deployment.v1.IWorkerDeploymentOptions | null | undefined): string | Promise<string> {
  if (!options || options.workerVersioningMode !== WORKER_VERSIONING_MODE_VERSIONED) return queue;
  const deploymentName = options.deploymentName ?? '';
  const buildId = options.buildId ?? '';
  if (deploymentName === '' || buildId === '') throw new InvalidArgumentError('Deployment name and build id must be set together.');
  // A sticky queue belongs to one worker: it is not split by version.
  if (queueKind === TaskQueueKind.TASK_QUEUE_KIND_STICKY || !ctx.deployments) return queue;
  const physical = versionedQueueName(queue, versionKey(deploymentName, buildId));
  if (ctx.deployments.isRegistered(namespaceId, queue, kind, deploymentName, buildId)) return physical;
  return ctx.deployments.register(namespaceId, queue, kind, deploymentName, buildId).then(() => physical);
}

/** Puts a workflow-queue entry back for the next poll (its poller left before it was handed over). */
function requeueEntry(ctx: HistoryContext, queue: string, entry: Exclude<WorkflowQueueEntry, RemoteHint>): void {
  if (entry.kind === 'query') ctx.matching.addQueryTask(queue, entry.queryId, entry.key, entry.expiresAtMs, entry);
  else ctx.matching.addWorkflowTask(queue, entry.ref);
}

/**
 * Turns a workflow-queue entry of this node into the poll's answer: a started workflow task, or a
 * stand-alone query task; null when the entry went stale meanwhile (the caller polls on).
 */
export async function serveWorkflowEntry(ctx: HistoryContext, entry: Exclude<WorkflowQueueEntry, RemoteHint>, req: temporal.api.workflowservice.v1.IPollWorkflowTaskQueueRequest): Promise<PollWorkflowResponse | null> {
  if (entry.kind === 'task') return recordWorkflowTaskStarted(ctx, entry.ref, req, randomUUID());
  const pending = ctx.queries.get(entry.queryId);
  if (!pending) return null;
  const state = await ctx.engine.read(entry.key);
  if (!state) return null;
  const events = await ctx.engine.readEvents(entry.key, 1, state.nextEventId);
  return {
    taskToken: encodeTaskToken({ k: 'qry', qid: entry.queryId, ns: entry.key.namespaceId, wid: entry.key.workflowId }),
    workflowExecution: { workflowId: state.workflowId, runId: state.runId },
    workflowType: { name: state.workflowType },
    previousStartedEventId: state.lastCompletedWftStartedEventId,
    startedEventId: 0,
    attempt: 1,
    history: { events },
    query: pending.query,
    workflowExecutionTaskQueue: { name: state.taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
  };
}

/**
 * Cluster mode: a poll here got a hint that `node` holds tasks of this queue; asks it for one (it
 * starts the task, as the owner of its execution, and answers with the poll response). Null when the
 * node had none left (another poll was quicker) or could not be reached.
 */
export async function takeFromPeer(
  ctx: HistoryContext,
  kind: QueueKind,
  namespaceId: string,
  queue: string,
  node: string,
  req: object,
  signal: AbortSignal,
): Promise<object | null> {
  ctx.matching.hintTaken(kind, namespaceId, queue, node);
  if (!ctx.cluster || signal.aborted) return null;
  try {
    const { response, more } = await ctx.cluster.takeFromPeer(node, kind, namespaceId, queue, req);
    if (more) ctx.matching.addRemoteHint(kind, namespaceId, queue, node);
    return response;
  } catch (err) {
    ctx.logger.debug('taking a task from a peer failed', { node, queue, error: String(err) });
    return null;
  }
}

/** A task whose shard moved to another node meanwhile is skipped (its new owner queues it there). */
async function orSkipMoved<T>(serving: Promise<T | null>): Promise<T | null> {
  try {
    return await serving;
  } catch (err) {
    if (err instanceof ShardUnavailableError) return null;
    throw err;
  }
}
