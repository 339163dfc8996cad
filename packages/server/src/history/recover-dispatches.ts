// Rebuilds the in-memory task queues from the database: tasks are references to mutable state.
import type { Store } from '../persistence/store.js';
import type { Matching } from '../matching/matching.js';
import { decodeMutableState } from './state-codec.js';
import { activityPriorityKey } from './machines/activity.js';
import { taskDirective } from './versioning.js';

/**
 * Re-queues every workflow/activity task that was scheduled but not started when the server stopped
 * (of `shardIds` only: a cluster node taking shards over).
 */
export async function recoverDispatches(store: Store, matching: Matching, shardIds?: readonly number[]): Promise<void> {
  for (const row of await store.listExecutionsNeedingDispatch(shardIds)) {
    const state = decodeMutableState(row.state, row.key, row);
    const key = row.key;
    const wft = state.workflowTask;
    // A sticky worker does not outlive the server's restart in matching's eyes: use the normal queue.
    const directive = taskDirective(state);
    if (wft && wft.startedEventId === 0) matching.addWorkflowTask(wft.sticky ? state.taskQueue : wft.taskQueue, { key, scheduledEventId: wft.scheduledEventId, attempt: wft.attempt, priorityKey: state.priorityKey ?? 0, ...directive });
    for (const a of Object.values(state.activities)) {
      if (a.phase === 'scheduled' && !a.awaitingRetry) matching.addActivityTask(a.taskQueue, { key, scheduledEventId: a.scheduledEventId, attempt: a.attempt, priorityKey: activityPriorityKey(state, a), ...directive });
    }
  }
}
