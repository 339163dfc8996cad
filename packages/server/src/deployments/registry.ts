// Worker Deployments (worker versioning v3): the deployments of every namespace, their versions and
// routing config. Temporal keeps these in two system workflows per deployment; here they are plain
// records (deployment-record.ts), one row per deployment in the schedules table under the namespace
// id `${namespaceId}/deployments`, loaded at start and kept in memory. Every change is written
// through (optimistic concurrency on the row version) before it becomes visible, one change at a
// time per deployment (creating a deployment also holds the namespace, for the deployment limit).
//
// Matching asks two hot-path questions without I/O: whether a poller's version already holds its
// task queue (`isRegistered`), and where an unpinned task goes (`target`). A namespace without
// deployments costs a Map miss for both.
//
// Drainage: a version that routing stops naming is DRAINING; a timer counts the running workflows
// pinned to it (`countPinnedRunning`) first a grace period after it started draining, then every
// refresh interval, and marks it DRAINED when none are left.
import type { Clock } from '../clock.js';
import { FailedPreconditionError, NotFoundError } from '../errors.js';
import { KeyedMutex } from '../history/keyed-mutex.js';
import type { Logger } from '../logger.js';
import type { Store } from '../persistence/store.js';
import { ConditionFailedError } from '../persistence/errors.js';
import {
  checkConflictToken, checkManager, decodeDeploymentRecord, decodeMetadata, deploymentNotFound, encodeConflictToken, encodeDeploymentRecord, limitError, makeCurrent, makeRamping, managerMismatch, newDeploymentRecord,
  newVersionRecord, nextConflictToken, parseVersionKey, queueKey, queuesOf, rampThreshold, routingChangedMs, startDraining, v31String, v32String, validateBuildId, validateDeploymentName, versionKey,
} from './deployment-record.js';
import type { DeploymentLimits, DeploymentQueueKind, DeploymentRecord, QueueRef, SetCurrentVersionRequest, SetRampingVersionRequest, SetRampingVersionResult, WorkerDeploymentsOptions, DeploymentView, VersionRecord, VersionView } from './deployment-record.js';
import { DrainageMonitor, type DrainingVersion } from './drainage.js';

export type { DeploymentLimits, DeploymentQueueKind, DeploymentView, QueueRef, SetCurrentVersionRequest } from './deployment-record.js';
export type { SetRampingVersionRequest, SetRampingVersionResult, VersionView, WorkerDeploymentsOptions } from './deployment-record.js';
export { encodeConflictToken, parseVersionKey, rampThreshold, versionKey } from './deployment-record.js';

export const DEPLOYMENTS_SUFFIX = '/deployments';

/** Whether a schedules-table namespace id holds deployment rows (the scheduler skips those). */
export function isDeploymentKeySpace(namespaceId: string): boolean {
  return namespaceId.endsWith(DEPLOYMENTS_SUFFIX);
}

interface CompiledOptions {
  readonly drainageGraceMs: number;
  readonly drainageRefreshMs: number;
  readonly limits: DeploymentLimits;
}

const DEFAULT_LIMITS: DeploymentLimits = { maxDeployments: 100, maxVersionsInDeployment: 100, maxTaskQueuesInVersion: 100, maxVersionsInTaskQueue: 200 };
const THREE_MINUTES = 3 * 60_000;

interface VersionState {
  readonly record: VersionView;
  /** The routing key, made once. */
  readonly key: string;
  /** queueKey() of each of its task queues. */
  readonly queues: ReadonlySet<string>;
}

interface DeploymentState {
  record: DeploymentView;
  rowVersion: number;
  versions: Map<string, VersionState>;
  /** Every queue some version of the deployment holds. */
  queueKeys: Set<string>;
  routingChangedMs: number;
}

interface NamespaceState {
  readonly deployments: Map<string, DeploymentState>;
  /** queueKey -> the deployments with a version holding that queue. */
  readonly queues: Map<string, Set<DeploymentState>>;
}

/** What a change does: its answer, and the record to write (or delete); nothing written when absent. */
interface Change<R> {
  readonly result: R;
  readonly write?: DeploymentRecord | 'delete';
}

export class WorkerDeployments {
  onRoutingChange: ((namespaceId: string, queues: ReadonlyArray<QueueRef>) => void) | null = null;
  queueActivity: ((namespaceId: string, taskQueue: string, kind: DeploymentQueueKind, version: string) => { recentPollers: boolean; backlog: number }) | null = null;
  countPinnedRunning: ((namespaceId: string, versionColonForm: string) => Promise<number>) | null = null;

  private readonly namespaces = new Map<string, NamespaceState>();
  private readonly mutex = new KeyedMutex();
  private readonly options: CompiledOptions;
  private readonly drainage: DrainageMonitor;

  private constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly logger: Logger,
    options: WorkerDeploymentsOptions,
  ) {
    this.options = {
      drainageGraceMs: options.drainageGraceMs ?? THREE_MINUTES,
      drainageRefreshMs: options.drainageRefreshMs ?? THREE_MINUTES,
      limits: { ...DEFAULT_LIMITS, ...options.limits },
    };
    this.drainage = new DrainageMonitor(clock, logger, this.options.drainageGraceMs, this.options.drainageRefreshMs, {
      versions: () => this.allVersions(),
      counter: () => this.countPinnedRunning,
      recordCheck: (namespaceId, deploymentName, buildId, lastChangedMs, pinned) => this.recordDrainageCheck(namespaceId, deploymentName, buildId, lastChangedMs, pinned),
    });
  }

  static async load(store: Store, clock: Clock, logger: Logger, options: WorkerDeploymentsOptions = {}): Promise<WorkerDeployments> {
    const registry = new WorkerDeployments(store, clock, logger, options);
    for (const row of await store.listAllSchedules()) {
      if (!isDeploymentKeySpace(row.namespaceId)) continue;
      const namespaceId = row.namespaceId.slice(0, -DEPLOYMENTS_SUFFIX.length);
      try {
        registry.install(namespaceId, row.scheduleId, decodeDeploymentRecord(row.data), row.version);
      } catch (err) {
        logger.error('unreadable worker deployment row skipped', { namespaceId, deploymentName: row.scheduleId, error: String(err) });
      }
    }
    return registry;
  }

  start(): void {
    this.drainage.start();
  }

  stop(): void {
    this.drainage.stop();
  }

  isRegistered(namespaceId: string, taskQueue: string, kind: DeploymentQueueKind, deploymentName: string, buildId: string): boolean {
    return this.namespaces.get(namespaceId)?.deployments.get(deploymentName)?.versions.get(buildId)?.queues.has(queueKey(taskQueue, kind)) ?? false;
  }

  hasTaskQueue(namespaceId: string, version: string, taskQueue: string, kind: DeploymentQueueKind): boolean {
    const { deploymentName, buildId } = parseVersionKey(version);
    return this.isRegistered(namespaceId, taskQueue, kind, deploymentName, buildId);
  }

  target(namespaceId: string, taskQueue: string, kind: DeploymentQueueKind, workflowId: string, useRamping = false): string | null {
    const ns = this.namespaces.get(namespaceId);
    if (ns === undefined) return null;
    const route = this.route(ns, queueKey(taskQueue, kind));
    if (route === null) return null;
    const { current, ramp } = route;
    if (ramp === null) return current;
    if (useRamping || ramp.percentage >= 100) return ramp.target;
    if (ramp.percentage <= 0) return current;
    return rampThreshold(workflowId) <= ramp.percentage ? ramp.target : current;
  }

  /**
   * How a queue is routed: by the deployment with a version holding it whose routing changed last. A
   * version routes the queue only if it holds it: a queue missing from the current version is
   * unversioned, and a ramp to a version without the queue does not apply to it.
   */
  private route(ns: NamespaceState, qk: string): { current: string | null; ramp: { target: string | null; percentage: number } | null } | null {
    const holders = ns.queues.get(qk);
    if (holders === undefined) return null;
    let chosen: DeploymentState | undefined;
    for (const state of holders) if (chosen === undefined || state.routingChangedMs > chosen.routingChangedMs) chosen = state;
    if (chosen === undefined) return null;
    const { currentBuildId, ramp } = chosen.record.routing;
    const currentVersion = currentBuildId === null ? undefined : chosen.versions.get(currentBuildId);
    const current = currentVersion?.queues.has(qk) ? currentVersion.key : null;
    if (ramp === null) return { current, ramp: null };
    if (ramp.buildId === null) return { current, ramp: { target: null, percentage: ramp.percentage } };
    const rampVersion = chosen.versions.get(ramp.buildId);
    return { current, ramp: rampVersion?.queues.has(qk) ? { target: rampVersion.key, percentage: ramp.percentage } : null };
  }

  async register(namespaceId: string, taskQueue: string, kind: DeploymentQueueKind, deploymentName: string, buildId: string): Promise<void> {
    if (this.isRegistered(namespaceId, taskQueue, kind, deploymentName, buildId)) return;
    validateDeploymentName(deploymentName);
    validateBuildId(buildId);
    await this.mutate(namespaceId, deploymentName, (draft, nowMs) => {
      const record = draft ?? this.createDeployment(namespaceId, deploymentName, nowMs);
      let version = record.versions.find((v) => v.buildId === buildId);
      if (version?.taskQueues.some((q) => q.name === taskQueue && q.kind === kind)) return { result: undefined };
      version ??= this.addVersion(namespaceId, record, buildId, nowMs);
      const { maxTaskQueuesInVersion, maxVersionsInTaskQueue } = this.options.limits;
      if (version.taskQueues.length >= maxTaskQueuesInVersion) {
        throw limitError(`cannot add task queue ${taskQueue} since maximum number of task queues (${maxTaskQueuesInVersion}) have been registered in deployment`);
      }
      if (this.versionsInQueue(namespaceId, record, queueKey(taskQueue, kind)) >= maxVersionsInTaskQueue) {
        throw limitError(`exceeding maximum number of Deployment Versions in this task queue (limit = ${maxVersionsInTaskQueue})`);
      }
      version.taskQueues.push({ name: taskQueue, kind });
      return { result: undefined, write: record };
    });
  }

  describe(namespaceId: string, deploymentName: string): DeploymentView {
    validateDeploymentName(deploymentName);
    const state = this.lookup(namespaceId, deploymentName);
    if (!state) throw deploymentNotFound(deploymentName);
    return state.record;
  }

  /** Deployments by name ascending, after `afterName` when given; `more` when others follow. */
  list(namespaceId: string, afterName: string | null, limit: number): { deployments: DeploymentView[]; more: boolean } {
    const all = [...(this.namespaces.get(namespaceId)?.deployments.values() ?? [])].map((s) => s.record).filter((r) => afterName === null || r.name > afterName);
    all.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { deployments: all.slice(0, limit), more: all.length > limit };
  }

  describeVersion(namespaceId: string, deploymentName: string, buildId: string): { deployment: DeploymentView; version: VersionView } {
    const state = this.lookup(namespaceId, deploymentName);
    const version = state?.versions.get(buildId);
    if (!state || !version) throw new NotFoundError('Worker Deployment Version not found');
    return { deployment: state.record, version: version.record };
  }

  async setCurrentVersion(namespaceId: string, req: SetCurrentVersionRequest): Promise<{ conflictToken: Uint8Array; previousBuildId: string | null }> {
    const name = req.deploymentName;
    validateDeploymentName(name);
    if (req.buildId !== null) validateBuildId(req.buildId);
    return this.mutate(namespaceId, name, (draft, nowMs) => {
      const record = draft ?? this.createIfAllowed(namespaceId, name, req.allowNoPollers, nowMs);
      const created = draft === null ? { write: record } : {};
      const routing = record.routing;
      const target = req.buildId;
      if (routing.currentBuildId === target && req.identity === record.lastModifierIdentity) {
        return { result: { conflictToken: encodeConflictToken(record.conflictToken), previousBuildId: target }, ...created };
      }
      checkConflictToken(record, req.conflictToken);
      const version = target === null ? null : this.findOrCreateVersion(namespaceId, record, target, req.allowNoPollers, nowMs);
      checkManager(record, req.identity);
      const previous = routing.currentBuildId;
      if (previous !== null && target !== null && previous !== target && !req.ignoreMissingTaskQueues) {
        this.checkMissingQueues(namespaceId, record, previous, target, 'current');
      }
      record.lastModifierIdentity = req.identity;
      record.conflictToken = nextConflictToken(record.conflictToken, nowMs);
      if (previous !== target) {
        routing.currentBuildId = target;
        routing.currentChangedMs = nowMs;
        routing.revision += 1;
        if (routing.ramp !== null && routing.ramp.buildId === target) {
          routing.ramp = null;
          routing.rampChangedMs = nowMs;
          routing.rampPercentageChangedMs = nowMs;
        }
        if (version) makeCurrent(version, nowMs);
        const replaced = previous === null ? undefined : record.versions.find((v) => v.buildId === previous);
        if (replaced) startDraining(replaced, nowMs);
      }
      return { result: { conflictToken: encodeConflictToken(record.conflictToken), previousBuildId: previous }, write: record };
    });
  }

  async setRampingVersion(namespaceId: string, req: SetRampingVersionRequest): Promise<SetRampingVersionResult> {
    const name = req.deploymentName;
    validateDeploymentName(name);
    const targetBuildId = req.ramp?.buildId ?? null;
    if (targetBuildId !== null) validateBuildId(targetBuildId);
    return this.mutate(namespaceId, name, (draft, nowMs) => {
      const record = draft ?? this.createIfAllowed(namespaceId, name, req.allowNoPollers, nowMs);
      const created = draft === null ? { write: record } : {};
      const routing = record.routing;
      const old = routing.ramp;
      const unchanged = req.ramp === null ? old === null : old !== null && old.buildId === targetBuildId && old.percentage === req.percentage;
      if (unchanged && req.identity === record.lastModifierIdentity) {
        return { result: { conflictToken: encodeConflictToken(record.conflictToken), previous: req.ramp, previousPercentage: req.percentage }, ...created };
      }
      checkConflictToken(record, req.conflictToken);
      if (req.ramp !== null && targetBuildId === routing.currentBuildId) {
        throw new FailedPreconditionError(`requested ramping version ${v31String(name, targetBuildId)} is already current`);
      }
      const version = targetBuildId === null ? null : this.findOrCreateVersion(namespaceId, record, targetBuildId, req.allowNoPollers, nowMs);
      checkManager(record, req.identity);
      const rampVersionChanges = req.ramp !== null && (old === null || old.buildId !== targetBuildId);
      if (rampVersionChanges && targetBuildId !== null && routing.currentBuildId !== null && !req.ignoreMissingTaskQueues) {
        this.checkMissingQueues(namespaceId, record, routing.currentBuildId, targetBuildId, 'ramping');
      }
      record.lastModifierIdentity = req.identity;
      record.conflictToken = nextConflictToken(record.conflictToken, nowMs);
      if (!unchanged) {
        routing.revision += 1;
        if (req.ramp === null) {
          routing.ramp = null;
          routing.rampChangedMs = nowMs;
          routing.rampPercentageChangedMs = nowMs;
        } else {
          if (rampVersionChanges) routing.rampChangedMs = nowMs;
          routing.rampPercentageChangedMs = nowMs;
          routing.ramp = { buildId: targetBuildId, percentage: req.percentage };
        }
        if (version) makeRamping(version, req.percentage, nowMs);
        const oldBuildId = old?.buildId ?? null;
        if (oldBuildId !== null && oldBuildId !== (routing.ramp?.buildId ?? null)) {
          const replaced = record.versions.find((v) => v.buildId === oldBuildId);
          if (replaced) startDraining(replaced, nowMs);
        }
      }
      const previous = old === null ? null : { buildId: old.buildId };
      return { result: { conflictToken: encodeConflictToken(record.conflictToken), previous, previousPercentage: old?.percentage ?? 0 }, write: record };
    });
  }

  async setManager(namespaceId: string, req: { deploymentName: string; managerIdentity: string; identity: string; conflictToken: Uint8Array | null }): Promise<{ conflictToken: Uint8Array; previousManagerIdentity: string }> {
    validateDeploymentName(req.deploymentName);
    return this.mutate(namespaceId, req.deploymentName, (record, nowMs) => {
      if (!record) throw deploymentNotFound(req.deploymentName);
      if (record.managerIdentity === req.managerIdentity && record.lastModifierIdentity === req.identity) {
        return { result: { conflictToken: encodeConflictToken(record.conflictToken), previousManagerIdentity: req.managerIdentity } };
      }
      checkConflictToken(record, req.conflictToken);
      const previousManagerIdentity = record.managerIdentity;
      record.managerIdentity = req.managerIdentity;
      record.lastModifierIdentity = req.identity;
      record.conflictToken = nextConflictToken(record.conflictToken, nowMs);
      return { result: { conflictToken: encodeConflictToken(record.conflictToken), previousManagerIdentity }, write: record };
    });
  }

  async deleteVersion(namespaceId: string, req: { deploymentName: string; buildId: string; skipDrainage: boolean; identity: string }): Promise<void> {
    await this.mutate(namespaceId, req.deploymentName, (record) => {
      if (!record) throw deploymentNotFound(req.deploymentName);
      const version = record.versions.find((v) => v.buildId === req.buildId);
      if (!version) return { result: undefined };
      const refusal = this.deletionRefusal(namespaceId, record, version, req.identity, req.skipDrainage);
      if (refusal) throw new FailedPreconditionError(refusal);
      record.versions = record.versions.filter((v) => v !== version);
      record.lastModifierIdentity = req.identity;
      return { result: undefined, write: record };
    });
  }

  async deleteDeployment(namespaceId: string, deploymentName: string): Promise<void> {
    await this.mutate(namespaceId, deploymentName, (record): Change<void> => {
      if (!record) return { result: undefined };
      if (record.versions.length > 0) throw new FailedPreconditionError("deployment has versions, can't be deleted");
      return { result: undefined, write: 'delete' };
    });
  }

  /** Upserts then removes metadata entries (values: encoded Payloads); resolves to the resulting map. */
  async updateVersionMetadata(
    namespaceId: string,
    req: { deploymentName: string; buildId: string; upsert: Readonly<Record<string, Uint8Array>>; remove: readonly string[]; identity: string },
  ): Promise<Record<string, Uint8Array>> {
    return this.mutate(namespaceId, req.deploymentName, (record) => {
      const version = record?.versions.find((v) => v.buildId === req.buildId);
      if (!record || !version) throw new NotFoundError('Worker Deployment Version not found');
      for (const [key, value] of Object.entries(req.upsert)) version.metadata[key] = Buffer.from(value).toString('base64');
      for (const key of req.remove) delete version.metadata[key];
      version.lastModifierIdentity = req.identity;
      return { result: decodeMetadata(version.metadata), write: record };
    });
  }

  /**
   * Temporal's reactivation signal: a workflow was pinned to the version by an override (start or
   * update-options), so an INACTIVE or DRAINED version is DRAINING again.
   */
  async notePinnedWorkflow(namespaceId: string, version: string): Promise<void> {
    const { deploymentName, buildId } = parseVersionKey(version);
    if (!this.lookup(namespaceId, deploymentName)?.versions.has(buildId)) return;
    await this.mutate(namespaceId, deploymentName, (record, nowMs) => {
      const target = record?.versions.find((v) => v.buildId === buildId);
      if (!record || !target || (target.status !== 'inactive' && target.status !== 'drained')) return { result: undefined };
      target.status = 'draining';
      target.drainage = { status: 'draining', lastChangedMs: nowMs, lastCheckedMs: nowMs };
      return { result: undefined, write: record };
    });
  }

  private createDeployment(namespaceId: string, name: string, nowMs: number): DeploymentRecord {
    const { maxDeployments } = this.options.limits;
    if ((this.namespaces.get(namespaceId)?.deployments.size ?? 0) >= maxDeployments) throw limitError(`reached maximum deployments in namespace (${maxDeployments})`);
    return newDeploymentRecord(name, nowMs, nextConflictToken(0, nowMs));
  }

  private createIfAllowed(namespaceId: string, name: string, allowNoPollers: boolean, nowMs: number): DeploymentRecord {
    if (!allowNoPollers) throw deploymentNotFound(name);
    return this.createDeployment(namespaceId, name, nowMs);
  }

  private findOrCreateVersion(namespaceId: string, record: DeploymentRecord, buildId: string, allowNoPollers: boolean, nowMs: number): VersionRecord {
    const version = record.versions.find((v) => v.buildId === buildId);
    if (version) return version;
    if (!allowNoPollers) throw new NotFoundError(`build ID '${buildId}' not found in Worker Deployment '${record.name}'`);
    return this.addVersion(namespaceId, record, buildId, nowMs);
  }

  /** Adds an INACTIVE version; at the limit, first deletes the oldest version that may be deleted. */
  private addVersion(namespaceId: string, record: DeploymentRecord, buildId: string, nowMs: number): VersionRecord {
    const { maxVersionsInDeployment } = this.options.limits;
    if (record.versions.length >= maxVersionsInDeployment) {
      const oldest = [...record.versions]
        .sort((a, b) => a.createTimeMs - b.createTimeMs)
        .find((v) => this.deletionRefusal(namespaceId, record, v, record.managerIdentity, false) === null);
      if (!oldest) {
        throw limitError(`cannot add version ${v31String(record.name, buildId)} since maximum number of versions (${maxVersionsInDeployment}) have been registered in the deployment`);
      }
      this.logger.info('worker deployment version deleted to make room for a new one', { namespaceId, deploymentName: record.name, buildId: oldest.buildId });
      record.versions = record.versions.filter((v) => v !== oldest);
    }
    const version = newVersionRecord(buildId, nowMs);
    record.versions.push(version);
    return version;
  }

  /** Why a version may not be deleted (Temporal's order of checks), or null. */
  private deletionRefusal(namespaceId: string, record: DeploymentRecord, version: VersionRecord, identity: string, skipDrainage: boolean): string | null {
    const name = v32String(record.name, version.buildId);
    if (record.routing.currentBuildId === version.buildId || record.routing.ramp?.buildId === version.buildId) return `version '${name}' cannot be deleted since it is current or ramping`;
    const manager = managerMismatch(record, identity);
    if (manager) return manager;
    if (version.drainage?.status === 'draining' && !skipDrainage) return `version '${name}' cannot be deleted since it is draining`;
    const key = versionKey(record.name, version.buildId);
    if (version.taskQueues.some((q) => this.queueActivity?.(namespaceId, q.name, q.kind, key).recentPollers)) return `version '${name}' cannot be deleted since it has active pollers`;
    return null;
  }

  /**
   * A task queue of the `from` version (the current one) that the proposed version lacks would become
   * unversioned: refused while that queue has a backlog, unless another deployment took the queue over.
   */
  private checkMissingQueues(namespaceId: string, record: DeploymentRecord, from: string, to: string, role: 'current' | 'ramping'): void {
    const fromVersion = record.versions.find((v) => v.buildId === from);
    const toVersion = record.versions.find((v) => v.buildId === to);
    if (!fromVersion || !toVersion) return;
    const holders = this.namespaces.get(namespaceId)?.queues;
    const key = versionKey(record.name, from);
    for (const q of fromVersion.taskQueues) {
      if (toVersion.taskQueues.some((t) => t.name === q.name && t.kind === q.kind)) continue;
      const movedAway = [...(holders?.get(queueKey(q.name, q.kind)) ?? [])].some((s) => s.record.name !== record.name);
      if (movedAway) continue;
      if ((this.queueActivity?.(namespaceId, q.name, q.kind, key).backlog ?? 0) > 0) {
        throw new FailedPreconditionError(
          `proposed ${role} version '${v32String(record.name, to)}' is missing active task queues from the current version; these would become unversioned if it is set as the ${role} version`,
        );
      }
    }
  }

  /** How many versions hold the queue in the namespace, with `record` (a draft) counted as it is now. */
  private versionsInQueue(namespaceId: string, record: DeploymentRecord, qk: string): number {
    let count = 0;
    for (const state of this.namespaces.get(namespaceId)?.queues.get(qk) ?? []) {
      if (state.record.name === record.name) continue;
      for (const version of state.versions.values()) if (version.queues.has(qk)) count += 1;
    }
    for (const version of record.versions) if (version.taskQueues.some((q) => queueKey(q.name, q.kind) === qk)) count += 1;
    return count;
  }

  private lookup(namespaceId: string, name: string): DeploymentState | undefined {
    return this.namespaces.get(namespaceId)?.deployments.get(name);
  }

  /**
   * Runs `change` on a copy of the deployment's record under its lock (and the namespace's when the
   * deployment does not exist yet: creation checks the deployment limit), writes the result through,
   * then makes it visible and tells matching which queues' routing may have changed.
   */
  private async mutate<R>(namespaceId: string, name: string, change: (draft: DeploymentRecord | null, nowMs: number) => Change<R>): Promise<R> {
    const deploymentKey = `${namespaceId}\u0001${name}`;
    const keys = this.lookup(namespaceId, name) ? [deploymentKey] : [namespaceId, deploymentKey];
    return this.mutex.runMany(keys, async () => {
      const state = this.lookup(namespaceId, name);
      const before = state?.record ?? null;
      const draft = before ? (structuredClone(before) as DeploymentRecord) : null;
      const { result, write } = change(draft, this.clock.now());
      if (write === undefined) return result;
      const rowVersion = state?.rowVersion ?? 0;
      const namespaceKey = namespaceId + DEPLOYMENTS_SUFFIX;
      try {
        if (write === 'delete') {
          if (state) await this.store.deleteSchedule(namespaceKey, name);
        } else {
          await this.store.putSchedule({ namespaceId: namespaceKey, scheduleId: name, data: encodeDeploymentRecord(write), version: rowVersion + 1 }, rowVersion);
        }
      } catch (err) {
        // Another node of a cluster wrote the row since this one read it: take its row in; the caller may retry.
        if (err instanceof ConditionFailedError) {
          const row = await this.store.getSchedule(namespaceKey, name);
          this.adoptNow(namespaceId, name, row ? decodeDeploymentRecord(row.data) : null, row?.version ?? 0);
        }
        throw err;
      }
      this.adoptNow(namespaceId, name, write === 'delete' ? null : write, rowVersion + 1);
      return result;
    });
  }

  /** Cluster mode: makes a row another node wrote (null: deleted) the truth here, unless this node holds that version or a later one. */
  adopt(namespaceId: string, name: string, record: DeploymentRecord | null, rowVersion: number): Promise<void> {
    return this.mutex.runMany([`${namespaceId}\u0001${name}`], async () => {
      const held = this.lookup(namespaceId, name);
      if (record ? !held || held.rowVersion < rowVersion : held) this.adoptNow(namespaceId, name, record, rowVersion);
    });
  }

  /** The deployments held here and their row versions (cluster mode compares them with the store's). */
  *rowVersions(): Iterable<{ namespaceId: string; name: string; rowVersion: number }> {
    for (const [namespaceId, ns] of this.namespaces) for (const [name, state] of ns.deployments) yield { namespaceId, name, rowVersion: state.rowVersion };
  }

  private adoptNow(namespaceId: string, name: string, after: DeploymentRecord | null, rowVersion: number): void {
    const queues = queuesOf([this.lookup(namespaceId, name)?.record ?? null, after]);
    const routingBefore = this.routingOf(namespaceId, queues);
    this.install(namespaceId, name, after, rowVersion);
    this.notifyRoutingChange(namespaceId, queues, routingBefore);
    this.drainage.rearm();
  }

  /** Makes a record (or its absence) the in-memory truth and re-indexes its queues. */
  private install(namespaceId: string, name: string, record: DeploymentRecord | null, rowVersion: number): void {
    let ns = this.namespaces.get(namespaceId);
    const existing = ns?.deployments.get(name);
    if (ns && existing) {
      for (const qk of existing.queueKeys) {
        const holders = ns.queues.get(qk);
        holders?.delete(existing);
        if (holders?.size === 0) ns.queues.delete(qk);
      }
    }
    if (record === null) {
      ns?.deployments.delete(name);
      if (ns?.deployments.size === 0) this.namespaces.delete(namespaceId);
      return;
    }
    if (!ns) {
      ns = { deployments: new Map(), queues: new Map() };
      this.namespaces.set(namespaceId, ns);
    }
    const versions = new Map<string, VersionState>();
    const queueKeys = new Set<string>();
    for (const version of record.versions) {
      const queues = new Set(version.taskQueues.map((q) => queueKey(q.name, q.kind)));
      for (const qk of queues) queueKeys.add(qk);
      versions.set(version.buildId, { record: version, key: versionKey(record.name, version.buildId), queues });
    }
    // Kept as one object per deployment: the queue index holds it.
    const state: DeploymentState = existing ?? { record, rowVersion, versions, queueKeys, routingChangedMs: -1 };
    Object.assign(state, { record, rowVersion, versions, queueKeys, routingChangedMs: routingChangedMs(record.routing) });
    ns.deployments.set(name, state);
    for (const qk of queueKeys) {
      let holders = ns.queues.get(qk);
      if (!holders) ns.queues.set(qk, (holders = new Set()));
      holders.add(state);
    }
  }

  /** Each queue's routing as a comparable string. */
  private routingOf(namespaceId: string, queues: ReadonlyMap<string, QueueRef>): Map<string, string> {
    const ns = this.namespaces.get(namespaceId);
    return new Map(
      [...queues.keys()].map((qk) => {
        const route = ns ? this.route(ns, qk) : null;
        const unversioned = route === null || (route.current === null && (route.ramp === null || route.ramp.target === null));
        return [qk, unversioned ? 'unversioned' : JSON.stringify(route)];
      }),
    );
  }

  private notifyRoutingChange(namespaceId: string, queues: ReadonlyMap<string, QueueRef>, routingBefore: ReadonlyMap<string, string>): void {
    if (!this.onRoutingChange || queues.size === 0) return;
    const routingAfter = this.routingOf(namespaceId, queues);
    const changed = [...queues].filter(([qk]) => routingBefore.get(qk) !== routingAfter.get(qk)).map(([, ref]) => ref);
    if (changed.length === 0) return;
    try {
      this.onRoutingChange(namespaceId, changed);
    } catch (err) {
      this.logger.error('worker deployment routing change listener failed', { namespaceId, error: String(err) });
    }
  }

  private *allVersions(): Iterable<DrainingVersion> {
    for (const [namespaceId, ns] of this.namespaces) {
      for (const [deploymentName, state] of ns.deployments) for (const v of state.versions.values()) yield { namespaceId, deploymentName, version: v.record };
    }
  }

  private async recordDrainageCheck(namespaceId: string, name: string, buildId: string, lastChangedMs: number, pinned: number): Promise<void> {
    await this.mutate(namespaceId, name, (record, nowMs) => {
      const version = record?.versions.find((v) => v.buildId === buildId);
      // Routing moved on while the count ran: this check is about a drainage that is over.
      if (!record || !version?.drainage || version.drainage.status !== 'draining' || version.drainage.lastChangedMs !== lastChangedMs) return { result: undefined };
      if (pinned === 0) {
        version.status = 'drained';
        version.drainage = { status: 'drained', lastChangedMs: nowMs, lastCheckedMs: nowMs };
      } else {
        version.drainage.lastCheckedMs = nowMs;
      }
      return { result: undefined, write: record };
    });
  }
}
