// Reading a run's history in pages: the rest of a poll's history, or the whole of it when a sticky
// (partial) task arrives for a run this worker no longer has.
import type { temporal } from '@temporalio/proto';
import { int64ToNumber } from '@kairos/sdk-common';
import type { RunIdentity } from './replay/history-replayer.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type PollResponse = temporal.api.workflowservice.v1.IPollWorkflowTaskQueueResponse;

/** The part of WorkflowService this needs. */
interface HistoryService {
  getWorkflowExecutionHistory(request: temporal.api.workflowservice.v1.IGetWorkflowExecutionHistoryRequest): Promise<temporal.api.workflowservice.v1.IGetWorkflowExecutionHistoryResponse>;
}

/** Appends every page after `nextPageToken` to `events` (a null or empty token: none). */
async function readPages(service: HistoryService, namespace: string, run: RunIdentity, events: HistoryEvent[], nextPageToken: Uint8Array | null | undefined): Promise<HistoryEvent[]> {
  let token = nextPageToken;
  while (token !== undefined && token !== null && token.length > 0) {
    const page = await service.getWorkflowExecutionHistory({ namespace, execution: { workflowId: run.workflowId, runId: run.runId }, nextPageToken: token });
    events.push(...(page.history?.events ?? []));
    token = page.nextPageToken;
  }
  return events;
}

/** The poll's history: its first page, and the pages after it. */
export function pollHistory(service: HistoryService, namespace: string, task: PollResponse, run: RunIdentity): Promise<HistoryEvent[]> {
  return readPages(service, namespace, run, [...(task.history?.events ?? [])], task.nextPageToken);
}

/**
 * The full history for a partial (sticky) one whose run is not cached: read from the first event,
 * then the poll's own events past what was read (a transient or speculative task's Scheduled and
 * Started events exist only in the poll response).
 */
export async function fullHistory(service: HistoryService, namespace: string, run: RunIdentity, partial: readonly HistoryEvent[]): Promise<HistoryEvent[]> {
  const first = await service.getWorkflowExecutionHistory({ namespace, execution: { workflowId: run.workflowId, runId: run.runId } });
  const events = await readPages(service, namespace, run, [...(first.history?.events ?? [])], first.nextPageToken);
  const last = events.length === 0 ? 0 : int64ToNumber(events[events.length - 1]?.eventId);
  events.push(...partial.filter((event) => int64ToNumber(event.eventId) > last));
  return events;
}
