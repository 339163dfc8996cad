// What the history operations share: the engine, matching, queries and namespaces.
import type { ExecutionEngine } from './engine.js';
import type { Matching } from '../matching/matching.js';
import type { QueryRegistry } from './queries.js';
import type { NamespaceRegistry } from '../namespace/registry.js';
import type { SearchAttributeRegistry } from '../visibility/search-attribute-registry.js';
import type { Logger } from '../logger.js';
import type { ExecutionKey } from '../persistence/store.js';
import type { MutableState } from './mutable-state.js';
import { NotFoundError } from '../errors.js';
import { isRunning } from './machines/workflow.js';

export interface HistoryContext {
  readonly engine: ExecutionEngine;
  readonly matching: Matching;
  readonly queries: QueryRegistry;
  readonly namespaces: NamespaceRegistry;
  readonly searchAttributes: SearchAttributeRegistry;
  readonly logger: Logger;
}

export const WORKFLOW_NOT_FOUND = 'workflow execution not found';
export const WORKFLOW_COMPLETED = 'workflow execution already completed';

/** Resolves (workflowId, runId?) to a run; an empty run id means the current run. */
export async function resolveRun(ctx: HistoryContext, namespaceId: string, workflowId: string, runId: string | null | undefined): Promise<ExecutionKey> {
  if (runId) return { namespaceId, workflowId, runId };
  const current = await ctx.engine.store.getCurrentRun(namespaceId, workflowId);
  if (!current) throw new NotFoundError(`${WORKFLOW_NOT_FOUND} for ID: ${workflowId}`);
  return { namespaceId, workflowId, runId: current.runId };
}

export function requireState(state: MutableState | null, key: ExecutionKey): MutableState {
  if (!state) throw new NotFoundError(`${WORKFLOW_NOT_FOUND} for ID: ${key.workflowId}`);
  return state;
}

export function requireRunning(state: MutableState | null, key: ExecutionKey): MutableState {
  const s = requireState(state, key);
  if (!isRunning(s)) throw new NotFoundError(WORKFLOW_COMPLETED);
  return s;
}
