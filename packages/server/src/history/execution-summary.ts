// The visibility summary of a run as a transition writes it, and whether it changed since the last one.
//
// Most transitions (a task scheduled, started, completed; a timer set or fired) move only the three
// counters. When the engine knows the summary stored with the version a transition starts from (it wrote
// it, or read it with the state), it compares, and marks the write `listingUnchanged` so the store
// rewrites only the state and the counters.
import type { ExecutionSummary } from '../persistence/store.js';
import { indexSearchAttributes } from '../visibility/search-attribute-values.js';
import type { MutableState } from './mutable-state.js';

export interface SummaryOfTransition {
  readonly summary: ExecutionSummary;
  /** Every field but the counters equals `previous`'s (false when there was no previous to compare). */
  readonly listingUnchanged: boolean;
}

/** The summary of `state`; `previous` (the summary of the version it was loaded at) when known. */
export function summarizeRun(state: MutableState, previous: ExecutionSummary | undefined): SummaryOfTransition {
  const closed = state.closeTimeMs > 0;
  // One literal with every field (no spreads: Node 20's V8 builds spread-then-more objects slowly).
  const listing: Listing = {
    workflowType: state.workflowType,
    taskQueue: state.taskQueue,
    status: state.status,
    startTimeMs: state.startTimeMs,
    executionTimeMs: state.executionTimeMs,
    closeTimeMs: closed ? state.closeTimeMs : null,
    executionDurationMs: closed ? Math.max(0, state.closeTimeMs - state.executionTimeMs) : null,
    parentWorkflowId: state.parent?.workflowId ?? null,
    parentRunId: state.parent?.runId ?? null,
    // The run at the top of its tree (rootExecutionOf, without building an object on every transition).
    // A standalone Nexus operation has none: the column holds its service, for list queries (Service="...").
    rootWorkflowId: state.parent ? (state.parent.rootWorkflowId ?? state.parent.workflowId) : state.standaloneNexus ? (state.nexusOperations?.[1]?.service ?? '') : state.workflowId,
    rootRunId: state.parent ? (state.parent.rootRunId ?? state.parent.runId) : state.runId,
    memo: state.memo,
    searchAttributes: state.searchAttributes,
  };
  const listingUnchanged = previous !== undefined && sameListing(previous, listing);
  const summary: ExecutionSummary = {
    workflowType: listing.workflowType,
    taskQueue: listing.taskQueue,
    status: listing.status,
    startTimeMs: listing.startTimeMs,
    executionTimeMs: listing.executionTimeMs,
    closeTimeMs: listing.closeTimeMs,
    historyLength: state.nextEventId - 1,
    historySizeBytes: state.historySizeBytes,
    stateTransitionCount: state.stateTransitionCount,
    executionDurationMs: listing.executionDurationMs,
    parentWorkflowId: listing.parentWorkflowId,
    parentRunId: listing.parentRunId,
    rootWorkflowId: listing.rootWorkflowId,
    rootRunId: listing.rootRunId,
    memo: listing.memo,
    searchAttributes: listing.searchAttributes,
    // Unchanged search attributes index to the same values: reuse them rather than decode again.
    searchAttributeValues: listingUnchanged ? previous.searchAttributeValues : indexSearchAttributes(state.searchAttributes),
  };
  return { summary, listingUnchanged };
}

type Listing = Omit<ExecutionSummary, 'historyLength' | 'historySizeBytes' | 'stateTransitionCount' | 'searchAttributeValues'>;

function sameListing(a: Listing, b: Listing): boolean {
  return (
    a.status === b.status &&
    a.closeTimeMs === b.closeTimeMs &&
    a.executionDurationMs === b.executionDurationMs &&
    a.startTimeMs === b.startTimeMs &&
    a.executionTimeMs === b.executionTimeMs &&
    a.workflowType === b.workflowType &&
    a.taskQueue === b.taskQueue &&
    a.parentWorkflowId === b.parentWorkflowId &&
    a.parentRunId === b.parentRunId &&
    a.rootWorkflowId === b.rootWorkflowId &&
    a.rootRunId === b.rootRunId &&
    sameBytes(a.memo, b.memo) &&
    sameBytes(a.searchAttributes, b.searchAttributes)
  );
}

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
