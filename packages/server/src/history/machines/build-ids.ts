// The BuildIds and BinaryChecksums search attributes: the builds of the workers that completed a run's
// workflow tasks, which Temporal keeps on every workflow task completion (for its reachability queries
// and its auto-reset points) and which SDKs read back in DescribeWorkflowExecution. BuildIds holds
// `unversioned` first for an unversioned worker (the sentinel), then `unversioned:<build id>` for each
// build its version stamp named; a versioned stamp adds `versioned:<build id>`. BinaryChecksums holds
// the binary checksums completions reported (the TypeScript SDK sends its build id there), the last 20.
import type { HistoryEvent, Payload } from '../../proto-types.js';
import { SearchAttributesCodec } from '../../proto-types.js';
import type { MutableState } from '../mutable-state.js';
import { ContentMemo } from '../../content-memo.js';

type WorkerVersionStamp = NonNullable<HistoryEvent['workflowTaskCompletedEventAttributes']>['workerVersion'];

export const BUILD_IDS = 'BuildIds';
const BINARY_CHECKSUMS = 'BinaryChecksums';
const UNVERSIONED = 'unversioned';
/** Temporal keeps this many auto-reset points, and one checksum for each (history.maxAutoResetPoints). */
const MAX_CHECKSUMS = 20;
/** Temporal's default limit on one search attribute value (limit.searchAttributesSizeOfValue). */
const MAX_VALUE_BYTES = 2048;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Search attributes already known to hold a given build entry and checksum: most completions change nothing. */
const known = new ContentMemo<true>(256, 4096);

/**
 * Adds the completing worker's build to BuildIds and its checksum to BinaryChecksums; the state's search
 * attributes change only when a list does.
 */
export function recordBuildId(state: MutableState, stamp: WorkerVersionStamp | undefined, binaryChecksum = ''): void {
  const entry = stampEntry(stamp);
  const seen = `${entry}\n${binaryChecksum}`;
  const current = state.searchAttributes;
  if (current && known.get(current, seen)) return;
  const fields: Record<string, Payload> = current ? { ...(SearchAttributesCodec.decode(current).indexedFields ?? {}) } : {};
  let changed = false;
  const existing = readList(fields[BUILD_IDS]);
  const next = withEntry(existing, entry, !stamp?.useVersioning);
  if (!sameList(existing, next)) {
    fields[BUILD_IDS] = keywordList(trimmed(next));
    changed = true;
  }
  if (binaryChecksum !== '') {
    const checksums = readList(fields[BINARY_CHECKSUMS]);
    if (!checksums.includes(binaryChecksum)) {
      fields[BINARY_CHECKSUMS] = keywordList([...checksums, binaryChecksum].slice(-MAX_CHECKSUMS));
      changed = true;
    }
  }
  if (changed) state.searchAttributes = SearchAttributesCodec.encode({ indexedFields: fields }).finish();
  if (state.searchAttributes) known.set(state.searchAttributes, true, seen);
}

function stampEntry(stamp: WorkerVersionStamp | undefined): string {
  const buildId = stamp?.buildId ?? '';
  if (buildId === '') return '';
  return `${stamp?.useVersioning ? 'versioned' : UNVERSIONED}:${buildId}`;
}

/** The sentinel first (for an unversioned worker), then the builds already seen, then this one if new. */
function withEntry(existing: readonly string[], entry: string, unversioned: boolean): string[] {
  const next = unversioned ? [UNVERSIONED] : [];
  for (const value of existing) {
    if (value !== UNVERSIONED && !value.startsWith('assigned:') && !value.startsWith('pinned:')) next.push(value);
  }
  if (entry !== '' && !existing.includes(entry)) next.push(entry);
  return next;
}

/** Drops the oldest builds (never the sentinel) until the value fits, as Temporal does. */
function trimmed(values: string[]): string[] {
  const list = [...values];
  while (list.length > 0 && encoder.encode(JSON.stringify(list)).length > MAX_VALUE_BYTES) {
    list.splice(list[0] === UNVERSIONED && list.length > 1 ? 1 : 0, 1);
  }
  return list;
}

function readList(payload: Payload | undefined): string[] {
  if (!payload?.data || payload.data.length === 0) return [];
  try {
    const value: unknown = JSON.parse(decoder.decode(payload.data));
    if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
    return typeof value === 'string' ? [value] : [];
  } catch {
    return [];
  }
}

function keywordList(values: readonly string[]): Payload {
  return {
    metadata: { encoding: encoder.encode('json/plain'), type: encoder.encode('KeywordList') },
    data: encoder.encode(JSON.stringify(values)),
  };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Search attributes a new run (continue-as-new, retry, cron) does not inherit: they describe the old run's workers. */
export function withoutWorkerAttributes(fields: Record<string, Payload> | null | undefined): Record<string, Payload> {
  const copy = { ...(fields ?? {}) };
  delete copy[BUILD_IDS];
  delete copy[BINARY_CHECKSUMS];
  // A new run's versioning attributes come from its own versioning (history/versioning.ts).
  for (const name of ['TemporalWorkerDeployment', 'TemporalWorkerDeploymentVersion', 'TemporalWorkflowVersioningBehavior', 'TemporalUsedWorkerDeploymentVersions']) delete copy[name];
  return copy;
}
