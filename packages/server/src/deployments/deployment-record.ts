// What the store keeps of one Worker Deployment (worker versioning v3): its routing config (current
// version, ramp), its identities and conflict token, and every version with its status, times, task
// queues and metadata. One record per deployment, serialized as JSON (metadata payloads as their
// encoded bytes in base64), in a row of the schedules table (registry.ts).
//
// Also the pure rules about names and version strings (docs: Temporal's worker_versioning package).
import { api } from '@kairos/common';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, ResourceExhaustedError, type ErrorDetail } from '../errors.js';
import { farmFingerprint32 } from '../schedules/farmhash.js';

export type DeploymentQueueKind = 'workflow' | 'activity';

/**
 * A version's lifecycle: INACTIVE until it first becomes current or ramping; CURRENT / RAMPING while
 * routing names it; DRAINING once routing stops naming it, until no running workflow is pinned to it;
 * then DRAINED. Re-activation (current or ramping again) starts over from CURRENT / RAMPING.
 */
export type VersionStatus = 'inactive' | 'current' | 'ramping' | 'draining' | 'drained';

export interface DrainageRecord {
  status: 'draining' | 'drained';
  lastChangedMs: number;
  lastCheckedMs: number;
}

export interface VersionTaskQueueRecord {
  name: string;
  kind: DeploymentQueueKind;
}

export interface VersionRecord {
  buildId: string;
  createTimeMs: number;
  status: VersionStatus;
  /** The ramp's percentage while this version is the ramping one; 0 otherwise. */
  rampPercentage: number;
  currentSinceMs: number | null;
  rampingSinceMs: number | null;
  /** Last time currentSince, rampingSince or rampPercentage changed. */
  routingUpdateMs: number | null;
  firstActivationMs: number | null;
  lastCurrentMs: number | null;
  lastDeactivationMs: number | null;
  drainage: DrainageRecord | null;
  /** In registration order. */
  taskQueues: VersionTaskQueueRecord[];
  /** Metadata entries: key -> encoded temporal.api.common.v1.Payload in base64. */
  metadata: Record<string, string>;
  lastModifierIdentity: string;
}

/** A ramp: to a version (`buildId`) or to unversioned (`buildId` null, percentage > 0). */
export interface RampRecord {
  buildId: string | null;
  percentage: number;
}

export interface RoutingRecord {
  /** null: unversioned. */
  currentBuildId: string | null;
  /** null: no ramp. */
  ramp: RampRecord | null;
  currentChangedMs: number | null;
  rampChangedMs: number | null;
  rampPercentageChangedMs: number | null;
  /** +1 on every change of routing. */
  revision: number;
}

export interface DeploymentRecord {
  name: string;
  createTimeMs: number;
  routing: RoutingRecord;
  lastModifierIdentity: string;
  managerIdentity: string;
  /** Replaced on creation and on every SetCurrent / SetRamping / SetManager (a microsecond timestamp). */
  conflictToken: number;
  /** In creation order. */
  versions: VersionRecord[];
}

// ---- the registry's options and requests (registry.ts) ----

export interface DeploymentLimits {
  readonly maxDeployments: number;
  readonly maxVersionsInDeployment: number;
  readonly maxTaskQueuesInVersion: number;
  readonly maxVersionsInTaskQueue: number;
}

export interface WorkerDeploymentsOptions {
  /** First drainage check this long after a version started draining (default 3 min). */
  readonly drainageGraceMs?: number;
  /** Later drainage checks this often (default 3 min). */
  readonly drainageRefreshMs?: number;
  readonly limits?: Partial<DeploymentLimits>;
}


export interface SetCurrentVersionRequest {
  readonly deploymentName: string;
  /** null: unversioned. */
  readonly buildId: string | null;
  readonly identity: string;
  /** Empty or null: not checked. */
  readonly conflictToken: Uint8Array | null;
  readonly ignoreMissingTaskQueues: boolean;
  readonly allowNoPollers: boolean;
}

export interface SetRampingVersionRequest {
  readonly deploymentName: string;
  /** null: unset the ramp; `{ buildId: null }`: ramp to unversioned. */
  readonly ramp: { readonly buildId: string | null } | null;
  readonly percentage: number;
  readonly identity: string;
  readonly conflictToken: Uint8Array | null;
  readonly ignoreMissingTaskQueues: boolean;
  readonly allowNoPollers: boolean;
}

export interface SetRampingVersionResult {
  readonly conflictToken: Uint8Array;
  /** null: there was no ramp. */
  readonly previous: { readonly buildId: string | null } | null;
  readonly previousPercentage: number;
}

export type QueueRef = { readonly taskQueue: string; readonly kind: DeploymentQueueKind };

export type DeepReadonly<T> = T extends ReadonlyArray<infer U> ? ReadonlyArray<DeepReadonly<U>> : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

/** What readers get: the registry's own record, which they must not change. */
export type DeploymentView = DeepReadonly<DeploymentRecord>;
export type VersionView = DeepReadonly<VersionRecord>;

export function newDeploymentRecord(name: string, nowMs: number, conflictToken: number): DeploymentRecord {
  return {
    name,
    createTimeMs: nowMs,
    routing: { currentBuildId: null, ramp: null, currentChangedMs: null, rampChangedMs: null, rampPercentageChangedMs: null, revision: 0 },
    lastModifierIdentity: '',
    managerIdentity: '',
    conflictToken,
    versions: [],
  };
}

export function newVersionRecord(buildId: string, nowMs: number): VersionRecord {
  return {
    buildId,
    createTimeMs: nowMs,
    status: 'inactive',
    rampPercentage: 0,
    currentSinceMs: null,
    rampingSinceMs: null,
    routingUpdateMs: null,
    firstActivationMs: null,
    lastCurrentMs: null,
    lastDeactivationMs: null,
    drainage: null,
    taskQueues: [],
    metadata: {},
    lastModifierIdentity: '',
  };
}

/** The last time the deployment's routing changed (-1: never); picks among deployments sharing a task queue. */
export function routingChangedMs(routing: DeepReadonly<RoutingRecord>): number {
  return Math.max(routing.currentChangedMs ?? -1, routing.rampChangedMs ?? -1, routing.rampPercentageChangedMs ?? -1);
}

// ---- transitions of a version's status (applied to a draft record) ----

/** The version becomes the current one (from any status). */
export function makeCurrent(version: VersionRecord, nowMs: number): void {
  version.status = 'current';
  version.currentSinceMs = nowMs;
  version.routingUpdateMs = nowMs;
  version.lastCurrentMs = nowMs;
  version.firstActivationMs ??= nowMs;
  version.rampingSinceMs = null;
  version.rampPercentage = 0;
  version.drainage = null;
  version.lastDeactivationMs = null;
}

/** The version becomes (or stays) the ramping one at `percentage`. */
export function makeRamping(version: VersionRecord, percentage: number, nowMs: number): void {
  if (version.status !== 'ramping') version.rampingSinceMs = nowMs;
  version.status = 'ramping';
  version.rampPercentage = percentage;
  version.routingUpdateMs = nowMs;
  version.firstActivationMs ??= nowMs;
  version.currentSinceMs = null;
  version.drainage = null;
  version.lastDeactivationMs = null;
}

/** Routing no longer names the version: it drains until no running workflow is pinned to it. */
export function startDraining(version: VersionRecord, nowMs: number): void {
  version.status = 'draining';
  version.currentSinceMs = null;
  version.rampingSinceMs = null;
  version.rampPercentage = 0;
  version.routingUpdateMs = nowMs;
  version.lastDeactivationMs = nowMs;
  version.drainage = { status: 'draining', lastChangedMs: nowMs, lastCheckedMs: nowMs };
}

// ---- names and version strings ----

/** `(limit.maxIDLength - len("temporal-sys-worker-deployment-version:" + ":")) / 2`, counted in UTF-8 bytes. */
export const MAX_NAME_BYTES = 480;
export const UNVERSIONED = '__unversioned__';

export function validateDeploymentName(name: string): void {
  validateNamePart(name, 'WorkerDeploymentName');
}

export function validateBuildId(buildId: string): void {
  validateNamePart(buildId, 'BuildID');
}

function validateNamePart(value: string, field: 'WorkerDeploymentName' | 'BuildID'): void {
  if (value === '') throw new InvalidArgumentError(`${field} cannot be empty`);
  if (Buffer.byteLength(value, 'utf8') > MAX_NAME_BYTES) throw new InvalidArgumentError(`size of ${field} larger than the maximum allowed`);
  if (field === 'WorkerDeploymentName') {
    for (const c of ['.', ':']) if (value.includes(c)) throw new InvalidArgumentError(`worker deployment name cannot contain '${c}'`);
  }
  if (value.startsWith('__')) throw new InvalidArgumentError(`${field} cannot start with '__'`);
  // The separator of routing keys (registry.ts versionKey).
  if (value.includes('\u0001')) throw new InvalidArgumentError(`${field} cannot contain control character \\u0001`);
}

/** The deprecated v31 string of a version: "dep.bld", or "__unversioned__" for unversioned. */
export function v31String(deploymentName: string, buildId: string | null): string {
  return buildId === null ? UNVERSIONED : `${deploymentName}.${buildId}`;
}

/** The v32 string used in search attributes and error messages: "dep:bld". */
export function v32String(deploymentName: string, buildId: string): string {
  return `${deploymentName}:${buildId}`;
}

/**
 * Parses a version string ("dep.bld" or "dep:bld", split at the first separator); null for "" and
 * "__unversioned__". INVALID_ARGUMENT when a half is missing.
 */
export function parseVersionString(s: string): { deploymentName: string; buildId: string } | null {
  if (s === '' || s === UNVERSIONED) return null;
  const at = s.search(/[.:]/);
  if (at <= 0 || at === s.length - 1) throw new InvalidArgumentError(`invalid version string "${s}", expected format is "<deployment_name>.<build_id>"`);
  return { deploymentName: s.slice(0, at), buildId: s.slice(at + 1) };
}

// ---- routing, tokens and errors ----

/** Routing key of a version: `${deploymentName}\u0001${buildId}` (neither part may contain \u0001). */
export function versionKey(deploymentName: string, buildId: string): string {
  return `${deploymentName}\u0001${buildId}`;
}

export function parseVersionKey(key: string): { deploymentName: string; buildId: string } {
  const at = key.indexOf('\u0001');
  if (at < 0) throw new Error(`not a version key: ${JSON.stringify(key)}`);
  return { deploymentName: key.slice(0, at), buildId: key.slice(at + 1) };
}

/** The conflict token on the wire: the record's microsecond timestamp as 8 bytes, big-endian. */
export function encodeConflictToken(token: number): Uint8Array {
  const bytes = Buffer.alloc(8);
  bytes.writeBigInt64BE(BigInt(token));
  return bytes;
}

/** A (task queue, kind) pair as one string: the key of the registry's queue indexes. */
export const queueKey = (taskQueue: string, kind: DeploymentQueueKind): string => (kind === 'workflow' ? 'w' : 'a') + taskQueue;
const utf8 = new TextEncoder();

/** A workflow's place in [0, 100) for ramping: farmhash Fingerprint32 of its id, as Temporal computes it. */
export function rampThreshold(workflowId: string): number {
  if (workflowId === '') return Math.random() * 100;
  return (100 * farmFingerprint32(utf8.encode(workflowId))) / 2 ** 32;
}

export function nextConflictToken(previous: number, nowMs: number): number {
  return Math.max(nowMs * 1000, previous + 1);
}

export function checkConflictToken(record: DeploymentRecord, token: Uint8Array | null): void {
  if (!token || token.length === 0) return;
  if (!Buffer.from(token).equals(encodeConflictToken(record.conflictToken))) throw new FailedPreconditionError('conflict token mismatch');
}

export function managerMismatch(record: DeploymentView, identity: string): string | null {
  const manager = record.managerIdentity;
  if (manager === '' || manager === identity) return null;
  return `ManagerIdentity '${manager}' is set and does not match user identity '${identity}'; to proceed, set your own identity as the ManagerIdentity, remove the ManagerIdentity, or wait for the other client to do so`;
}

export function checkManager(record: DeploymentView, identity: string): void {
  const mismatch = managerMismatch(record, identity);
  if (mismatch) throw new FailedPreconditionError(mismatch);
}

export function deploymentNotFound(name: string): NotFoundError {
  return new NotFoundError(`no Worker Deployment found with name '${name}'; does your Worker Deployment have pollers?`);
}

export function decodeMetadata(metadata: Readonly<Record<string, string>>): Record<string, Uint8Array> {
  return Object.fromEntries(Object.entries(metadata).map(([key, value]) => [key, new Uint8Array(Buffer.from(value, 'base64'))]));
}

export function limitError(message: string): ResourceExhaustedError {
  const detail: ErrorDetail = {
    typeName: 'temporal.api.errordetails.v1.ResourceExhaustedFailure',
    value: api.errordetails.v1.ResourceExhaustedFailure.encode({
      cause: api.enums.v1.ResourceExhaustedCause.RESOURCE_EXHAUSTED_CAUSE_WORKER_DEPLOYMENT_LIMITS,
      scope: api.enums.v1.ResourceExhaustedScope.RESOURCE_EXHAUSTED_SCOPE_NAMESPACE,
    }).finish(),
  };
  return new ResourceExhaustedError(message, detail);
}

// ---- serialization ----

const FORMAT = 1;

export function encodeDeploymentRecord(record: DeploymentView): Uint8Array {
  return Buffer.from(JSON.stringify({ format: FORMAT, ...record }), 'utf8');
}

export function decodeDeploymentRecord(data: Uint8Array): DeploymentRecord {
  const parsed: unknown = JSON.parse(Buffer.from(data).toString('utf8'));
  if (!isObject(parsed) || parsed['format'] !== FORMAT) throw new Error('unknown worker deployment record format');
  const { format: _format, ...rest } = parsed;
  if (typeof rest['name'] !== 'string' || !isObject(rest['routing']) || !Array.isArray(rest['versions'])) throw new Error('malformed worker deployment record');
  for (const version of rest['versions'] as unknown[]) {
    if (!isObject(version) || typeof version['buildId'] !== 'string' || !Array.isArray(version['taskQueues']) || !isObject(version['metadata'])) {
      throw new Error('malformed worker deployment version record');
    }
  }
  // The shape above is what encodeDeploymentRecord wrote; the scalar fields are trusted.
  return rest as unknown as DeploymentRecord;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The queues some version of the records holds. */
export function queuesOf(records: ReadonlyArray<DeploymentView | null>): Map<string, QueueRef> {
  const queues = new Map<string, QueueRef>();
  for (const record of records) {
    for (const version of record?.versions ?? []) for (const q of version.taskQueues) queues.set(queueKey(q.name, q.kind), { taskQueue: q.name, kind: q.kind });
  }
  return queues;
}
