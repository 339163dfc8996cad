// The client of the server's HTTP API (Temporal's /api/v1 paths, proto3 JSON). Payloads are asked for
// in their full form (`+no-payload-shorthand`) so that the UI sees encodings, and an exported history
// is exactly what the SDK replayers read.
import type { BatchJob, BatchJobInfo, CountResponse, DescribeResponse, HistoryEvent, ListResponse, ListWorkersResponse, NamespaceList, Payloads, TaskQueueDescription, WorkerHeartbeat } from './types';

const MEDIA = 'application/json+no-payload-shorthand';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export async function call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers: { accept: MEDIA, ...(body === undefined ? {} : { 'content-type': MEDIA }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  const text = await res.text();
  let json: unknown = {};
  try {
    json = text === '' ? {} : JSON.parse(text);
  } catch {
    throw new ApiError(res.status, 2, `the server answered ${res.status} with something that is not JSON`);
  }
  if (!res.ok) {
    const error = json as { code?: number; message?: string };
    throw new ApiError(res.status, error.code ?? 2, error.message ?? `HTTP ${res.status}`);
  }
  return json as T;
}

const enc = encodeURIComponent;

export function query(params: Record<string, string | number | undefined>): string {
  const entries = Object.entries(params).filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== '');
  return entries.length === 0 ? '' : `?${entries.map(([k, v]) => `${enc(k)}=${enc(String(v))}`).join('&')}`;
}

export const api = {
  listNamespaces: () => call<NamespaceList>('GET', '/namespaces?pageSize=1000'),
  describeNamespace: (ns: string) => call<NamespaceList['namespaces'][number]>('GET', `/namespaces/${enc(ns)}`),

  listWorkflows: (ns: string, q: string, pageSize: number, nextPageToken?: string, signal?: AbortSignal) =>
    call<ListResponse>('GET', `/namespaces/${enc(ns)}/workflows${query({ query: q, pageSize, nextPageToken })}`, undefined, signal),
  countWorkflows: (ns: string, q: string, signal?: AbortSignal) =>
    call<CountResponse>('GET', `/namespaces/${enc(ns)}/workflow-count${query({ query: q })}`, undefined, signal),

  describeWorkflow: (ns: string, id: string, runId?: string) =>
    call<DescribeResponse>('GET', `/namespaces/${enc(ns)}/workflows/${enc(id)}${query({ 'execution.runId': runId })}`),

  historyPage: (ns: string, id: string, runId: string | undefined, nextPageToken?: string, signal?: AbortSignal) =>
    call<{ history?: { events?: HistoryEvent[] }; nextPageToken?: string }>(
      'GET',
      `/namespaces/${enc(ns)}/workflows/${enc(id)}/history${query({ 'execution.runId': runId, nextPageToken, maximumPageSize: 1000 })}`,
      undefined,
      signal,
    ),

  signal: (ns: string, id: string, runId: string | undefined, name: string, input: Payloads | undefined) =>
    call<object>('POST', `/namespaces/${enc(ns)}/workflows/${enc(id)}/signal/${enc(name)}`, {
      workflowExecution: { workflowId: id, runId },
      input,
      identity: 'kairos-ui',
      requestId: crypto.randomUUID(),
    }),

  query: (ns: string, id: string, runId: string | undefined, queryType: string, args: Payloads | undefined, signal?: AbortSignal) =>
    call<{ queryResult?: Payloads; queryRejected?: { status?: string } }>(
      'POST',
      `/namespaces/${enc(ns)}/workflows/${enc(id)}/query/${enc(queryType)}`,
      { execution: { workflowId: id, runId }, query: { queryType, queryArgs: args } },
      signal,
    ),

  cancel: (ns: string, id: string, runId: string | undefined, reason: string) =>
    call<object>('POST', `/namespaces/${enc(ns)}/workflows/${enc(id)}/cancel`, {
      workflowExecution: { workflowId: id, runId },
      identity: 'kairos-ui',
      requestId: crypto.randomUUID(),
      reason,
    }),

  terminate: (ns: string, id: string, runId: string | undefined, reason: string) =>
    call<object>('POST', `/namespaces/${enc(ns)}/workflows/${enc(id)}/terminate`, {
      workflowExecution: { workflowId: id, runId },
      reason,
      identity: 'kairos-ui',
    }),

  reset: (ns: string, id: string, runId: string | undefined, eventId: string, reason: string) =>
    call<{ runId?: string }>('POST', `/namespaces/${enc(ns)}/workflows/${enc(id)}/reset`, {
      workflowExecution: { workflowId: id, runId },
      workflowTaskFinishEventId: eventId,
      reason,
      requestId: crypto.randomUUID(),
    }),

  describeTaskQueue: (ns: string, name: string, type: 'TASK_QUEUE_TYPE_WORKFLOW' | 'TASK_QUEUE_TYPE_ACTIVITY') =>
    call<TaskQueueDescription>(
      'GET',
      `/namespaces/${enc(ns)}/task-queues/${enc(name)}${query({ taskQueueType: type, reportStats: 'true', includeTaskQueueStatus: 'true' })}`,
    ),

  /** Starts a batch job over the workflows `visibilityQuery` matches; `operation` is one of the request's operation fields. */
  startBatch: (ns: string, jobId: string, reason: string, visibilityQuery: string, operation: Record<string, unknown>) =>
    call<object>('POST', `/namespaces/${enc(ns)}/batch-operations/${enc(jobId)}`, { jobId, reason, visibilityQuery, ...operation }),
  listBatches: (ns: string, nextPageToken?: string, signal?: AbortSignal) =>
    call<{ operationInfo?: BatchJobInfo[]; nextPageToken?: string }>('GET', `/namespaces/${enc(ns)}/batch-operations${query({ pageSize: 100, nextPageToken })}`, undefined, signal),
  describeBatch: (ns: string, jobId: string, signal?: AbortSignal) => call<BatchJob>('GET', `/namespaces/${enc(ns)}/batch-operations/${enc(jobId)}`, undefined, signal),
  stopBatch: (ns: string, jobId: string, reason: string) =>
    call<object>('POST', `/namespaces/${enc(ns)}/batch-operations/${enc(jobId)}/stop`, { jobId, reason, identity: 'kairos-ui' }),

  /** Workers that heartbeat (docs/workers.md); `q` is the worker query language. */
  listWorkers: (ns: string, q: string, pageSize: number, nextPageToken?: string, signal?: AbortSignal) =>
    call<ListWorkersResponse>('GET', `/namespaces/${enc(ns)}/workers${query({ query: q, pageSize, nextPageToken })}`, undefined, signal),
  countWorkers: (ns: string, q: string, signal?: AbortSignal) => call<{ count?: string }>('GET', `/namespaces/${enc(ns)}/worker-count${query({ query: q })}`, undefined, signal),
  describeWorker: (ns: string, key: string, signal?: AbortSignal) =>
    call<{ workerInfo?: { workerHeartbeat?: WorkerHeartbeat } }>('GET', `/namespaces/${enc(ns)}/workers/describe/${enc(key)}`, undefined, signal),

  searchAttributes: (ns: string) =>
    call<{ customAttributes?: Record<string, string>; systemAttributes?: Record<string, string> }>('GET', `/namespaces/${enc(ns)}/search-attributes`),
};

/** Every event of a run, page by page; `onPage` sees the events so far (the UI renders while it loads). */
export async function fetchHistory(
  ns: string,
  id: string,
  runId: string | undefined,
  onPage: (events: HistoryEvent[], done: boolean) => void,
  signal: AbortSignal,
): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let token: string | undefined;
  do {
    const page = await api.historyPage(ns, id, runId, token, signal);
    for (const e of page.history?.events ?? []) events.push(e);
    token = page.nextPageToken || undefined;
    onPage(events, token === undefined);
  } while (token !== undefined && !signal.aborted);
  return events;
}
