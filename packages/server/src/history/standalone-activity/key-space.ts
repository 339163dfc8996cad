// Standalone activities (StartActivityExecution) are runs of their own kind. Each namespace keeps them
// in a key space of their own: their execution keys carry the namespace's id with a suffix, so an
// activity id never meets a workflow id (Temporal keeps the two id spaces apart too), workflow listings
// and counts never see them, and everything keyed by execution (the engine's cache and locks, timers,
// group commit, crash recovery, cluster shards) serves them unchanged. What is shared with the
// namespace's workflows reads the owner's id back: task queues, retention, search attributes.

const SUFFIX = '/activities';

/** The namespace id under which a namespace's standalone activities are stored. */
export function activityKeySpace(namespaceId: string): string {
  return namespaceId + SUFFIX;
}

/** The namespace an execution key's namespace id belongs to (itself for workflows). */
export function ownerNamespaceId(keyNamespaceId: string): string {
  return keyNamespaceId.endsWith(SUFFIX) ? keyNamespaceId.slice(0, -SUFFIX.length) : keyNamespaceId;
}

/** The key of a standalone activity's ActivityInfo in its run's `activities`. */
export const STANDALONE_ACTIVITY_SLOT = 1;
