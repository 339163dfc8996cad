// What the history operations share: the engine, matching, queries and namespaces.
import type { WorkerDeployments } from '../deployments/registry.js';
import type { NexusEndpoints } from '../nexus/endpoints.js';
import type { NexusTasks } from '../nexus/nexus-tasks.js';
import type { ExecutionEngine } from './engine.js';
import type { Matching, QueueInfo, QueueKind } from '../matching/matching.js';
import type { OwnerOpArgs, OwnerOpName, OwnerOpResult } from './ops/external.js';
import type { QueryRegistry } from './queries.js';
import type { NamespaceRegistry } from '../namespace/registry.js';
import type { SearchAttributeRegistry } from '../visibility/search-attribute-registry.js';
import type { Logger } from '../logger.js';
import type { ExecutionKey } from '../persistence/store.js';
import type { MutableState } from './mutable-state.js';
import { NotFoundError } from '../errors.js';
import { isRunning } from './machines/workflow.js';

/**
 * What a cluster node adds (cluster/cluster-node.ts); null on a single node, where everything is local.
 */
export interface ClusterPeers {
  /**
   * Asks `node` for one of its tasks of this queue on behalf of a waiting poll: the node starts it as
   * the owner of its execution and answers with the poll response (null: none left); `more` tells
   * whether it has others.
   */
  takeFromPeer(node: string, kind: QueueKind, namespaceId: string, queue: string, poll: object): Promise<{ response: object | null; more: boolean }>;
  /** A task queue as every node sees it: pollers (by identity, latest poll) and backlog summed. */
  describeQueue(namespaceId: string, queue: string, kind: QueueKind): Promise<QueueInfo>;
  /** A sticky queue's worker shut down: the other nodes move the tasks they hold for it to normal queues. */
  announceStickyQueueGone(namespaceId: string, queue: string): void;
  /** Runs a transfer-task step on the node owning (namespaceId, workflowId): here directly, else by RPC. */
  runOnOwner<K extends OwnerOpName>(namespaceId: string, workflowId: string, op: K, args: OwnerOpArgs<K>): Promise<OwnerOpResult<K>>;
}

export interface HistoryContext {
  readonly engine: ExecutionEngine;
  readonly matching: Matching;
  readonly queries: QueryRegistry;
  readonly namespaces: NamespaceRegistry;
  readonly searchAttributes: SearchAttributeRegistry;
  readonly logger: Logger;
  /** Set on a cluster node (PostgreSQL); unset when this process owns every execution. */
  readonly cluster?: ClusterPeers | null;
  /** Worker Deployments (deployments/registry.ts); unset: every poll and task is unversioned. */
  readonly deployments?: WorkerDeployments | null;
  /** Nexus endpoints and the Nexus tasks waiting for workers (nexus/); unset: Nexus operations are refused. */
  readonly nexus?: { readonly endpoints: NexusEndpoints; readonly tasks: NexusTasks } | null;
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
