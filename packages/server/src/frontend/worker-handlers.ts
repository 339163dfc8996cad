// Worker heartbeats and the worker listing: RecordWorkerHeartbeat, ListWorkers, CountWorkers,
// DescribeWorker, as Temporal's frontend and matching serve them (docs/workers.md). The worker
// commands calls (FetchWorkerConfig, UpdateWorkerConfig) answer as Temporal's do with the feature off.
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import { GrpcCode, InvalidArgumentError, NotFoundError, ServiceError } from '../errors.js';
import type { NamespaceRegistry } from '../namespace/registry.js';
import { compileWorkerQuery } from '../workers/worker-query.js';
import type { WorkerEntry, WorkerRegistry } from '../workers/worker-registry.js';
import type { ServiceHandlers } from './grpc-server.js';
import { requireString } from './validation.js';

type Heartbeat = temporal.api.worker.v1.IWorkerHeartbeat;

export interface WorkerHandlerOptions {
  /** frontend.WorkerHeartbeatsEnabled (Temporal's default: on). Off, heartbeats are accepted and dropped. */
  readonly heartbeatsEnabled: boolean;
  /** Every node's workers (a cluster asks its peers); unset: this node's registry. */
  readonly allEntries?: (namespaceId: string) => Promise<WorkerEntry[]>;
}

/** ListWorkers' next_page_token: the last worker instance key of the page, as Temporal encodes it. */
function encodeToken(lastKey: string): Uint8Array {
  return Buffer.from(JSON.stringify({ l: lastKey }), 'utf8');
}

function decodeToken(token: Uint8Array | null | undefined): string | null {
  if (!token || token.length === 0) return null;
  try {
    const parsed = JSON.parse(Buffer.from(token).toString('utf8')) as { l?: unknown };
    if (typeof parsed === 'object' && parsed !== null && (parsed.l === undefined || typeof parsed.l === 'string')) return parsed.l ?? '';
  } catch {
    // answered below
  }
  throw new InvalidArgumentError('invalid next_page_token');
}

function listInfo(h: Heartbeat): Loose<temporal.api.worker.v1.IWorkerListInfo> {
  return {
    workerInstanceKey: h.workerInstanceKey,
    workerIdentity: h.workerIdentity,
    taskQueue: h.taskQueue,
    deploymentVersion: h.deploymentVersion,
    sdkName: h.sdkName,
    sdkVersion: h.sdkVersion,
    status: h.status,
    startTime: h.startTime,
    hostName: h.hostInfo?.hostName,
    workerGroupingKey: h.hostInfo?.workerGroupingKey,
    processId: h.hostInfo?.processId,
    plugins: h.plugins,
    drivers: h.drivers,
  };
}

const byKey = (a: WorkerEntry, b: WorkerEntry): number => {
  const x = a.heartbeat.workerInstanceKey ?? '';
  const y = b.heartbeat.workerInstanceKey ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
};

export function workerHandlers(namespaces: NamespaceRegistry, registry: WorkerRegistry, options: WorkerHandlerOptions): ServiceHandlers {
  const ns = (name: string | null | undefined) => namespaces.get(requireString(name, 'Namespace'));
  const allEntries = options.allEntries ?? ((namespaceId: string) => Promise.resolve(registry.entries(namespaceId)));

  /** The namespace's workers the query selects, by instance key. */
  async function matching(namespaceId: string, query: string, includeSystem: boolean): Promise<WorkerEntry[]> {
    const filter = compileWorkerQuery(query);
    const entries = await allEntries(namespaceId);
    return entries.filter((e) => (includeSystem || !e.system) && filter(e.heartbeat)).sort(byKey);
  }

  return {
    async RecordWorkerHeartbeat(request) {
      const req = request as temporal.api.workflowservice.v1.IRecordWorkerHeartbeatRequest;
      if (!options.heartbeatsEnabled) return {};
      registry.record(ns(req.namespace).id, req.workerHeartbeat ?? []);
      return {} satisfies Loose<temporal.api.workflowservice.v1.IRecordWorkerHeartbeatResponse>;
    },

    async ListWorkers(request) {
      const req = request as temporal.api.workflowservice.v1.IListWorkersRequest;
      const namespace = ns(req.namespace);
      const after = decodeToken(req.nextPageToken);
      let workers = await matching(namespace.id, req.query ?? '', req.includeSystemWorkers === true);
      if (after !== null) workers = workers.filter((e) => (e.heartbeat.workerInstanceKey ?? '') > after);
      const pageSize = req.pageSize ?? 0;
      const page = pageSize > 0 ? workers.slice(0, pageSize) : workers;
      const last = page.at(-1);
      const more = page.length < workers.length && last !== undefined;
      return {
        workersInfo: page.map((e) => ({ workerHeartbeat: e.heartbeat })),
        workers: page.map((e) => listInfo(e.heartbeat)),
        nextPageToken: more ? encodeToken(last.heartbeat.workerInstanceKey ?? '') : null,
      } satisfies Loose<temporal.api.workflowservice.v1.IListWorkersResponse>;
    },

    async CountWorkers(request) {
      const req = request as temporal.api.workflowservice.v1.ICountWorkersRequest;
      const namespace = ns(req.namespace);
      const workers = await matching(namespace.id, req.query ?? '', req.includeSystemWorkers === true);
      return { count: workers.length } satisfies Loose<temporal.api.workflowservice.v1.ICountWorkersResponse>;
    },

    async DescribeWorker(request) {
      const req = request as temporal.api.workflowservice.v1.IDescribeWorkerRequest;
      const namespace = ns(req.namespace);
      const key = req.workerInstanceKey ?? '';
      // On a cluster, another node may hold a later heartbeat of the worker than this one.
      const entry = options.allEntries ? (await options.allEntries(namespace.id)).find((e) => e.heartbeat.workerInstanceKey === key) : registry.get(namespace.id, key);
      if (!entry) throw new NotFoundError(`Worker ${key} not found`);
      return { workerInfo: { workerHeartbeat: entry.heartbeat } } satisfies Loose<temporal.api.workflowservice.v1.IDescribeWorkerResponse>;
    },

    // Worker commands (a server-side cancel of an activity on its worker): off, as in Temporal by default.
    async FetchWorkerConfig() {
      throw new ServiceError(GrpcCode.UNIMPLEMENTED, 'FetchWorkerConfig command is not enabled.');
    },

    async UpdateWorkerConfig() {
      throw new ServiceError(GrpcCode.UNIMPLEMENTED, 'UpdateWorkerConfig command is not enabled.');
    },
  };
}
