// How Worker Deployments reach the rest of the server: matching routes tasks by the registry's routing
// and the runs' versioning, moves waiting tasks when a routing changes, and tells the registry about a
// version's queues; the engine asks whether a run keeps its sticky queue and whether a pinned run's
// task queue now routes elsewhere (ARCHITECTURE.md, "Worker Deployments").
import type { ExecutionEngine } from '../history/engine.js';
import type { MutableState } from '../history/mutable-state.js';
import { BEHAVIOR_PINNED, effectiveVersioning } from '../history/versioning.js';
import { versionedQueueName, type Matching } from '../matching/matching.js';
import type { Store } from '../persistence/store.js';
import { compileQuery } from '../visibility/query/compile.js';
import type { SearchAttributeRegistry } from '../visibility/search-attribute-registry.js';
import { versionKey, type WorkerDeployments } from './registry.js';

export function wireDeployments(deployments: WorkerDeployments, engine: ExecutionEngine, matching: Matching, store: Store, searchAttributes: SearchAttributeRegistry): void {
  matching.router = (kind, namespaceId, taskQueue, workflowId, version, useRamping) => {
    // A pinned run's task goes to its version when the version serves this task queue; otherwise (an
    // activity on a queue the version does not poll) it is routed as an unpinned run's, as Temporal does.
    if (version !== undefined && deployments.hasTaskQueue(namespaceId, version, taskQueue, kind)) return versionedQueueName(taskQueue, version);
    const target = deployments.target(namespaceId, taskQueue, kind, workflowId, useRamping);
    return target === null ? taskQueue : versionedQueueName(taskQueue, target);
  };
  deployments.onRoutingChange = (namespaceId, queues) => {
    for (const q of queues) matching.reroute(q.kind, namespaceId, q.taskQueue);
  };
  deployments.queueActivity = (namespaceId, taskQueue, kind, version) => {
    const info = matching.queueInfo(namespaceId, versionedQueueName(taskQueue, version), kind);
    return { recentPollers: info.pollers.length > 0, backlog: info.backlog };
  };
  deployments.countPinnedRunning = async (namespaceId, version) => {
    const query = `TemporalWorkerDeploymentVersion = '${version.replaceAll("'", "\\'")}' AND TemporalWorkflowVersioningBehavior = 'Pinned' AND ExecutionStatus = 'Running'`;
    const { filter } = compileQuery(query, searchAttributes.custom(namespaceId), 'count');
    return (await store.countExecutions({ namespaceId, filter, groupByStatus: false })).count;
  };
  engine.targetVersionChanged = (state) => {
    if (!state.versioning) return false;
    const e = effectiveVersioning(state);
    if (e.behavior !== BEHAVIOR_PINNED) return false;
    return deployments.target(state.namespaceId, state.taskQueue, 'workflow', state.workflowId) !== versionKey(e.deploymentName, e.buildId);
  };
}

/**
 * Whether a run's next task may go to the sticky queue of the worker that ran its last one: always for
 * a pinned run; for another, only while its task queue still routes it to that worker's version (an
 * auto-upgrading run moves to the new current version through the normal queue).
 */
export function stickyKeepsVersion(deployments: WorkerDeployments, state: MutableState): boolean {
  const v = state.versioning;
  if (!v) return deployments.target(state.namespaceId, state.taskQueue, 'workflow', state.workflowId) === null;
  const e = effectiveVersioning(state);
  if (e.behavior === BEHAVIOR_PINNED) return true;
  const runVersion = v.buildId !== '' && v.behavior !== 0 ? versionKey(v.deploymentName, v.buildId) : null;
  return deployments.target(state.namespaceId, state.taskQueue, 'workflow', state.workflowId, v.useRamping) === runVersion;
}
