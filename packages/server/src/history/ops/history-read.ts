// GetWorkflowExecutionHistory (+Reverse): pagination with an opaque token, the `wait_new_event` long
// poll used by clients waiting for a result, and the close-event filter.
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import { HistoryEventCodec, HistoryEventFilterType } from '../../proto-types.js';
import { InvalidArgumentError } from '../../errors.js';
import type { NamespaceRecord } from '../../namespace/registry.js';
import { isRunning } from '../machines/workflow.js';
import { requireState, resolveRun, type HistoryContext } from '../service-context.js';
import { LIMITS } from '../../limits.js';
import { encodedHistory } from '../../encoded-history.js';

type HistoryRequest = Loose<temporal.api.workflowservice.v1.IGetWorkflowExecutionHistoryRequest>;
type HistoryResponse = Loose<temporal.api.workflowservice.v1.IGetWorkflowExecutionHistoryResponse>;
type ReverseRequest = Loose<temporal.api.workflowservice.v1.IGetWorkflowExecutionHistoryReverseRequest>;

/** Temporal's history long-poll interval (history.longPollExpirationInterval). */
const HISTORY_LONG_POLL_MS = 20_000;

interface PageToken {
  rid: string;
  next: number;
}

function encodeToken(t: PageToken): Uint8Array {
  return Buffer.from(JSON.stringify(t), 'utf8');
}

function decodeToken(bytes: Uint8Array | null | undefined): PageToken | null {
  if (!bytes || bytes.length === 0) return null;
  try {
    const v = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<PageToken>;
    if (typeof v.rid === 'string' && typeof v.next === 'number') return { rid: v.rid, next: v.next };
  } catch {
    // fall through
  }
  throw new InvalidArgumentError('Invalid NextPageToken.');
}

function pageSize(requested: number | null | undefined): number {
  return requested && requested > 0 && requested <= LIMITS.historyMaxPageSize ? requested : LIMITS.historyMaxPageSize;
}

export async function getHistory(ctx: HistoryContext, ns: NamespaceRecord, req: HistoryRequest, deadlineMs: number | undefined, signal: AbortSignal): Promise<HistoryResponse> {
  const exec = req.execution;
  if (!exec?.workflowId) throw new InvalidArgumentError('WorkflowId is not set on request.');
  const token = decodeToken(req.nextPageToken);
  const key = await resolveRun(ctx, ns.id, exec.workflowId, token?.rid ?? exec.runId);
  if (token && exec.runId && token.rid !== exec.runId) throw new InvalidArgumentError('Invalid NextPageToken.');
  let state = requireState(await ctx.engine.read(key), key);
  const now = ctx.engine.clock.now();
  const waitMs = Math.max(0, Math.min(HISTORY_LONG_POLL_MS, (deadlineMs ?? Infinity) - now - 1000));
  const from = token?.next ?? 1;

  // Wake-ups come for any change of the run (an update rejected, a heartbeat): wait on until there is
  // something to return or the long poll is over.
  const closeOnly = req.historyEventFilterType === HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT;
  const waitEndMs = now + waitMs;
  while (req.waitNewEvent && isRunning(state) && (closeOnly || state.nextEventId <= from) && ctx.engine.clock.now() < waitEndMs && !signal.aborted) {
    // The state as committed comes with the wake-up: no load and decode per change of a busy run.
    state = (await ctx.engine.waitForChange(key, waitEndMs - ctx.engine.clock.now(), signal)) ?? requireState(await ctx.engine.read(key), key);
  }

  if (req.historyEventFilterType === HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT) {
    if (isRunning(state)) {
      return { history: { events: [] }, nextPageToken: req.waitNewEvent ? encodeToken({ rid: key.runId, next: state.nextEventId }) : null, archived: false };
    }
    const last = await ctx.engine.readEncodedEvents(key, state.nextEventId - 1, state.nextEventId);
    return { history: encodedHistory(last), nextPageToken: null, archived: false };
  }

  const rows = await ctx.engine.readEncodedEvents(key, from, state.nextEventId, pageSize(req.maximumPageSize));
  const next = from + rows.length;
  let nextPageToken: Uint8Array | null = null;
  if (next < state.nextEventId || (req.waitNewEvent && isRunning(state))) nextPageToken = encodeToken({ rid: key.runId, next });
  // The stored bytes go out as they are (decoded only for a reader of `events`, such as the HTTP API).
  return { history: encodedHistory(rows), nextPageToken, archived: false };
}

export async function getHistoryReverse(ctx: HistoryContext, ns: NamespaceRecord, req: ReverseRequest): Promise<Loose<temporal.api.workflowservice.v1.IGetWorkflowExecutionHistoryReverseResponse>> {
  const exec = req.execution;
  if (!exec?.workflowId) throw new InvalidArgumentError('WorkflowId is not set on request.');
  const token = decodeToken(req.nextPageToken);
  const key = await resolveRun(ctx, ns.id, exec.workflowId, token?.rid ?? exec.runId);
  const state = requireState(await ctx.engine.read(key), key);
  const before = token?.next ?? state.nextEventId;
  const rows = await ctx.engine.store.readEventsReverse(key, before, pageSize(req.maximumPageSize));
  const events = rows.map((r) => HistoryEventCodec.decode(r));
  const lowest = events.length > 0 ? Number(events[events.length - 1]!.eventId) : 1;
  return { history: { events }, nextPageToken: lowest > 1 ? encodeToken({ rid: key.runId, next: lowest }) : null };
}
