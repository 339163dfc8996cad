// Which shard an execution belongs to, and which live node each shard should belong to.
//
// A shard is a fixed slice of the workflow-id space: every run of one workflow id (its current-run row,
// all its runs, their events and timers) lives in one shard, so a transition never spans two shards.
// The shard count is fixed for the life of a database (changing it would move rows between shards).
import { ownerNamespaceId } from '../history/standalone-activity/key-space.js';
import { createHash } from 'node:crypto';

export const DEFAULT_SHARD_COUNT = 64;

/** FNV-1a over UTF-8: stable across processes and versions (never change it: rows store its result). */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** The shard (0 .. shardCount-1) of every run of `workflowId` in `namespaceId`. */
export function shardOf(namespaceId: string, workflowId: string, shardCount: number): number {
  // A standalone activity lives on the shard a workflow of its id would: requests name its namespace.
  return fnv1a(`${ownerNamespaceId(namespaceId)}\u0000${workflowId}`) % shardCount;
}

/** Rendezvous weight of a node for a shard: a well-mixed hash, so shards spread evenly. */
function weight(nodeId: string, shardId: number): bigint {
  return createHash('sha256').update(`${nodeId}\u0000${shardId}`).digest().readBigUInt64BE(0);
}

/**
 * The node each shard should belong to, among `nodeIds` (rendezvous hashing: the node with the highest
 * weight for the shard). When a node joins or leaves, only the shards it gains or held move.
 */
export function assignShards(shardCount: number, nodeIds: readonly string[]): string[] {
  const nodes = [...new Set(nodeIds)].sort();
  const owners: string[] = [];
  for (let shard = 0; shard < shardCount; shard++) {
    let best = '';
    let bestWeight = -1n;
    for (const node of nodes) {
      const w = weight(node, shard);
      if (w > bestWeight) {
        best = node;
        bestWeight = w;
      }
    }
    owners.push(best);
  }
  return owners;
}
