// Nexus RPCs: the endpoint registry on OperatorService, and the worker side of Nexus tasks on
// WorkflowService (PollNexusTaskQueue, RespondNexusTaskCompleted, RespondNexusTaskFailed).
import type { temporal } from '@temporalio/proto';
import type { HistoryContext } from '../history/service-context.js';
import { pollBudgetMs } from '../matching/matching.js';
import { decodeTaskToken, encodeTaskToken } from '../history/task-token.js';
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import type { NexusEndpoints } from '../nexus/endpoints.js';
import type { NexusTasks } from '../nexus/nexus-tasks.js';
import type { ServiceHandlers } from './grpc-server.js';
import { requireString } from './validation.js';
import { takeFromPeer } from './task-handlers.js';

export function nexusEndpointHandlers(endpoints: NexusEndpoints): ServiceHandlers {
  return {
    async CreateNexusEndpoint(request) {
      const req = request as temporal.api.operatorservice.v1.ICreateNexusEndpointRequest;
      return { endpoint: await endpoints.create(req.spec) };
    },
    async UpdateNexusEndpoint(request) {
      const req = request as temporal.api.operatorservice.v1.IUpdateNexusEndpointRequest;
      return { endpoint: await endpoints.update(req.id, Number(req.version ?? 0), req.spec) };
    },
    async DeleteNexusEndpoint(request) {
      const req = request as temporal.api.operatorservice.v1.IDeleteNexusEndpointRequest;
      await endpoints.delete(req.id, Number(req.version ?? 0));
      return {};
    },
    async GetNexusEndpoint(request) {
      const req = request as temporal.api.operatorservice.v1.IGetNexusEndpointRequest;
      return { endpoint: await endpoints.get(req.id) };
    },
    async ListNexusEndpoints(request) {
      const req = request as temporal.api.operatorservice.v1.IListNexusEndpointsRequest;
      return endpoints.list(req.pageSize ?? 0, req.nextPageToken, req.name ?? '');
    },
  };
}

export function nexusTaskHandlers(
  ctx: HistoryContext,
  tasks: NexusTasks,
  recordHeartbeats?: (namespaceId: string, heartbeats: readonly temporal.api.worker.v1.IWorkerHeartbeat[]) => void,
): ServiceHandlers {
  const ns = (name: string | null | undefined) => ctx.namespaces.get(requireString(name, 'Namespace'));
  const clock = ctx.engine.clock;

  /** The pending task a worker's token names (in the namespace it says). */
  function taskOf(namespaceName: string | null | undefined, token: Uint8Array | null | undefined): string {
    const namespace = ns(namespaceName);
    const decoded = decodeTaskToken(token);
    if (decoded.k !== 'nex' || decoded.ns !== namespace.id) throw new InvalidArgumentError('Error deserializing task token.');
    return decoded.tid;
  }

  return {
    async PollNexusTaskQueue(request, call) {
      const req = request as temporal.api.workflowservice.v1.IPollNexusTaskQueueRequest;
      const namespace = ns(req.namespace);
      const queue = requireString(req.taskQueue?.name, 'TaskQueue');
      // A Nexus poll may carry its worker's heartbeats (the proto allows it; Temporal records them).
      if (req.workerHeartbeat?.length) recordHeartbeats?.(namespace.id, req.workerHeartbeat);
      const endMs = clock.now() + pollBudgetMs(clock.now(), call.deadlineMs);
      for (;;) {
        const entry = await ctx.matching.pollNexusTaskQueue(namespace.id, queue, Math.max(0, endMs - clock.now()), call.signal, req.identity ?? '');
        if (entry === null) return {};
        if (entry.kind === 'remote') {
          // Cluster: the task waits on the node whose run dispatched it.
          const response = await takeFromPeer(ctx, 'nexus', namespace.id, queue, entry.node, req, call.signal);
          if (response) return response;
          continue;
        }
        const response = nexusPollResponse(tasks, entry.taskId);
        if (!response) continue;
        if (call.signal.aborted) {
          // The poller left while the task was handed over: the next poll takes it.
          tasks.unclaim(entry.taskId);
          ctx.matching.addNexusTask(namespace.id, queue, entry.taskId);
          return {};
        }
        return response;
      }
    },

    async RespondNexusTaskCompleted(request) {
      const req = request as temporal.api.workflowservice.v1.IRespondNexusTaskCompletedRequest;
      const id = taskOf(req.namespace, req.taskToken);
      if (!req.response?.startOperation && !req.response?.cancelOperation) throw new InvalidArgumentError('Response is not set on request.');
      if (!tasks.respond(id, { kind: 'response', response: req.response })) throw new NotFoundError('nexus task not found or already expired');
      return {};
    },

    async RespondNexusTaskFailed(request) {
      const req = request as temporal.api.workflowservice.v1.IRespondNexusTaskFailedRequest;
      const id = taskOf(req.namespace, req.taskToken);
      if (!req.error && !req.failure) throw new InvalidArgumentError('Failure is not set on request.');
      if (!tasks.respond(id, { kind: 'handlerError', error: req.error ?? null, failure: req.failure ?? null })) {
        throw new NotFoundError('nexus task not found or already expired');
      }
      return {};
    },
  };
}

/** Hands the waiting Nexus task `taskId` to a poll: its answer, or null when it expired meanwhile. */
export function nexusPollResponse(tasks: NexusTasks, taskId: string): object | null {
  const task = tasks.claim(taskId);
  if (!task) return null;
  return { taskToken: encodeTaskToken({ k: 'nex', ns: task.namespaceId, tid: task.id, cns: task.origin.namespaceId, cwid: task.origin.workflowId }), request: task.request };
}
