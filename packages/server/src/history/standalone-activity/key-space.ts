// Standalone activities (StartActivityExecution) and standalone Nexus operations
// (StartNexusOperationExecution) are runs of their own kinds. Each namespace keeps each kind in a key
// space of its own: their execution keys carry the namespace's id with a suffix, so an
// activity id never meets a workflow id (Temporal keeps the two id spaces apart too), workflow listings
// and counts never see them, and everything keyed by execution (the engine's cache and locks, timers,
// group commit, crash recovery, cluster shards) serves them unchanged. What is shared with the
// namespace's workflows reads the owner's id back: task queues, retention, search attributes.

const SUFFIX = '/activities';
const NEXUS_SUFFIX = '/nexus-operations';

/** The namespace id under which a namespace's standalone activities are stored. */
export function activityKeySpace(namespaceId: string): string {
  return namespaceId + SUFFIX;
}

/** The namespace id under which a namespace's standalone Nexus operations are stored. */
export function nexusOperationKeySpace(namespaceId: string): string {
  return namespaceId + NEXUS_SUFFIX;
}

/** The namespace an execution key's namespace id belongs to (itself for workflows). */
export function ownerNamespaceId(keyNamespaceId: string): string {
  if (keyNamespaceId.endsWith(SUFFIX)) return keyNamespaceId.slice(0, -SUFFIX.length);
  if (keyNamespaceId.endsWith(NEXUS_SUFFIX)) return keyNamespaceId.slice(0, -NEXUS_SUFFIX.length);
  return keyNamespaceId;
}

/** The key of a standalone activity's ActivityInfo in its run's `activities`. */
export const STANDALONE_ACTIVITY_SLOT = 1;
