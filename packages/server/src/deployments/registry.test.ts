// The Worker Deployments registry over a real SQLite store with virtual time: registration by polls,
// routing changes (current, ramping) with their statuses and times, conflict tokens, the no-op rule,
// the manager, deletes, metadata, drainage, reload from the store, task routing; and the handlers'
// answers (both version forms) and errors.
import { api } from '@kairos/common';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock, ScheduleKind } from '../clock.js';
import { GrpcCode, ServiceError } from '../errors.js';
import type { CallContext } from '../frontend/grpc-server.js';
import { deploymentHandlers } from '../frontend/deployment-handlers.js';
import { createLogger } from '../logger.js';
import { NamespaceRegistry } from '../namespace/registry.js';
import { SqliteStore } from '../persistence/sqlite/sqlite-store.js';
import type { Store } from '../persistence/store.js';
import { ManualClock } from '../timers/test-support/timer-fakes.js';
import { DEPLOYMENTS_SUFFIX, isDeploymentKeySpace, parseVersionKey, versionKey, WorkerDeployments, type WorkerDeploymentsOptions } from './registry.js';

const T0 = Date.UTC(2030, 0, 1);
const NS = 'ns-id';
const logger = createLogger({ level: 'never', format: 'json' });
const call = {} as CallContext;

/** A clock that counts the callbacks still scheduled (stop() must leave none). */
class TrackingClock implements Clock {
  pending = 0;
  constructor(readonly inner: ManualClock) {}
  now(): number {
    return this.inner.now();
  }
  schedule(atMs: number, fn: () => void | Promise<void>, kind?: ScheduleKind): () => void {
    this.pending += 1;
    let settled = false;
    const settle = () => {
      if (!settled) this.pending -= 1;
      settled = true;
    };
    const cancel = this.inner.schedule(
      atMs,
      () => {
        settle();
        return fn();
      },
      kind,
    );
    return () => {
      settle();
      cancel();
    };
  }
}

const stores: Store[] = [];
const registries: WorkerDeployments[] = [];
afterEach(async () => {
  for (const r of registries.splice(0)) r.stop();
  for (const store of stores.splice(0)) await store.close();
});

async function setup(options: WorkerDeploymentsOptions & { store?: Store } = {}) {
  const store = options.store ?? SqliteStore.open({ filename: ':memory:' });
  if (!options.store) stores.push(store);
  const manual = new ManualClock(T0);
  const clock = new TrackingClock(manual);
  const deployments = await WorkerDeployments.load(store, clock, logger, options);
  registries.push(deployments);
  const activity = new Map<string, { recentPollers: boolean; backlog: number }>();
  deployments.queueActivity = (_ns, taskQueue, kind, version) => activity.get(`${taskQueue}/${kind}/${version}`) ?? { recentPollers: false, backlog: 0 };
  const routed: string[][] = [];
  deployments.onRoutingChange = (_ns, queues) => routed.push(queues.map((q) => `${q.taskQueue}/${q.kind}`).sort());
  return { store, manual, clock, deployments, activity, routed };
}

async function rejection(p: Promise<unknown> | (() => unknown)): Promise<{ code: number; message: string }> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    if (err instanceof ServiceError) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a rejection');
}

const current = (buildId: string | null, identity = 'me', extra: Partial<{ conflictToken: Uint8Array | null; ignoreMissingTaskQueues: boolean; allowNoPollers: boolean }> = {}) => ({
  deploymentName: 'dep',
  buildId,
  identity,
  conflictToken: null,
  ignoreMissingTaskQueues: false,
  allowNoPollers: false,
  ...extra,
});
const ramping = (ramp: { buildId: string | null } | null, percentage: number, identity = 'me', extra: Partial<{ conflictToken: Uint8Array | null; ignoreMissingTaskQueues: boolean }> = {}) => ({
  deploymentName: 'dep',
  ramp,
  percentage,
  identity,
  conflictToken: null,
  ignoreMissingTaskQueues: false,
  allowNoPollers: false,
  ...extra,
});
const versionOf = (d: WorkerDeployments, buildId: string) => d.describeVersion(NS, 'dep', buildId).version;

describe('WorkerDeployments registration', () => {
  it('creates the deployment and an INACTIVE version on the first poll, once per (task queue, kind)', async () => {
    const { deployments, store, routed } = await setup();
    expect(deployments.isRegistered(NS, 'tq', 'workflow', 'dep', 'v1')).toBe(false);
    await Promise.all([1, 2, 3].map(() => deployments.register(NS, 'tq', 'workflow', 'dep', 'v1')));
    await deployments.register(NS, 'tq', 'activity', 'dep', 'v1');
    expect(deployments.isRegistered(NS, 'tq', 'workflow', 'dep', 'v1')).toBe(true);
    expect(deployments.hasTaskQueue(NS, versionKey('dep', 'v1'), 'tq', 'activity')).toBe(true);
    expect(deployments.isRegistered(NS, 'other', 'workflow', 'dep', 'v1')).toBe(false);
    const record = deployments.describe(NS, 'dep');
    expect(record).toMatchObject({ name: 'dep', createTimeMs: T0, lastModifierIdentity: '', managerIdentity: '', routing: { currentBuildId: null, ramp: null, revision: 0 } });
    expect(record.versions).toHaveLength(1);
    expect(record.versions[0]).toMatchObject({ buildId: 'v1', status: 'inactive', createTimeMs: T0, drainage: null, firstActivationMs: null });
    expect(record.versions[0]!.taskQueues).toEqual([
      { name: 'tq', kind: 'workflow' },
      { name: 'tq', kind: 'activity' },
    ]);
    // Two writes: the creation with the workflow queue, then the activity queue.
    expect((await store.getSchedule(NS + DEPLOYMENTS_SUFFIX, 'dep'))?.version).toBe(2);
    expect(routed).toEqual([]);
  });

  it('validates names as Temporal does', async () => {
    const { deployments } = await setup();
    const reg = (name: string, build: string) => rejection(deployments.register(NS, 'tq', 'workflow', name, build));
    expect(await reg('', 'v1')).toEqual({ code: GrpcCode.INVALID_ARGUMENT, message: 'WorkerDeploymentName cannot be empty' });
    expect(await reg('dep', '')).toEqual({ code: GrpcCode.INVALID_ARGUMENT, message: 'BuildID cannot be empty' });
    expect((await reg('a.b', 'v1')).message).toBe("worker deployment name cannot contain '.'");
    expect((await reg('a:b', 'v1')).message).toBe("worker deployment name cannot contain ':'");
    expect((await reg('__x', 'v1')).message).toBe("WorkerDeploymentName cannot start with '__'");
    expect((await reg('dep', '__v')).message).toBe("BuildID cannot start with '__'");
    expect((await reg('d'.repeat(481), 'v1')).message).toBe('size of WorkerDeploymentName larger than the maximum allowed');
    await deployments.register(NS, 'tq', 'workflow', 'd'.repeat(480), 'v.1');
  });

  it('enforces the limits, deleting the oldest deletable version to make room', async () => {
    const { deployments, manual, activity } = await setup({ limits: { maxDeployments: 1, maxVersionsInDeployment: 2, maxTaskQueuesInVersion: 1, maxVersionsInTaskQueue: 3 } });
    await deployments.register(NS, 'tq', 'workflow', 'dep', 'v1');
    const other = await rejection(deployments.register(NS, 'tq', 'workflow', 'other', 'v1'));
    expect(other).toEqual({ code: GrpcCode.RESOURCE_EXHAUSTED, message: 'reached maximum deployments in namespace (1)' });
    expect((await rejection(deployments.register(NS, 'tq2', 'workflow', 'dep', 'v1'))).message).toBe(
      'cannot add task queue tq2 since maximum number of task queues (1) have been registered in deployment',
    );
    await manual.advanceTo(T0 + 1000);
    await deployments.register(NS, 'tq', 'workflow', 'dep', 'v2');
    await deployments.setCurrentVersion(NS, current('v2'));
    // v1 (oldest, not current, no pollers) makes room for v3.
    await deployments.register(NS, 'tq', 'workflow', 'dep', 'v3');
    expect(deployments.describe(NS, 'dep').versions.map((v) => v.buildId)).toEqual(['v2', 'v3']);
    // v3 has pollers and v2 is current: nothing can go.
    activity.set(`tq/workflow/${versionKey('dep', 'v3')}`, { recentPollers: true, backlog: 0 });
    expect(await rejection(deployments.register(NS, 'tq', 'workflow', 'dep', 'v4'))).toEqual({
      code: GrpcCode.RESOURCE_EXHAUSTED,
      message: 'cannot add version dep.v4 since maximum number of versions (2) have been registered in the deployment',
    });
  });

  it('limits the versions of one task queue', async () => {
    const { deployments } = await setup({ limits: { maxVersionsInTaskQueue: 2 } });
    await deployments.register(NS, 'tq', 'workflow', 'dep', 'v1');
    await deployments.register(NS, 'tq', 'workflow', 'dep2', 'v1');
    expect((await rejection(deployments.register(NS, 'tq', 'workflow', 'dep', 'v2'))).message).toBe('exceeding maximum number of Deployment Versions in this task queue (limit = 2)');
    await deployments.register(NS, 'tq', 'activity', 'dep', 'v2');
  });
});

describe('WorkerDeployments routing changes', () => {
  async function twoVersions() {
    const s = await setup();
    await s.deployments.register(NS, 'tq', 'workflow', 'dep', 'v1');
    await s.manual.advanceTo(T0 + 1000);
    await s.deployments.register(NS, 'tq', 'workflow', 'dep', 'v2');
    return s;
  }

  it('sets the current version: statuses, times, revision, token, previous', async () => {
    const { deployments, manual, routed } = await twoVersions();
    const created = deployments.describe(NS, 'dep').conflictToken;
    await manual.advanceTo(T0 + 10_000);
    const first = await deployments.setCurrentVersion(NS, current('v1'));
    expect(first.previousBuildId).toBeNull();
    expect(routed).toEqual([['tq/workflow']]);
    let record = deployments.describe(NS, 'dep');
    expect(record.routing).toMatchObject({ currentBuildId: 'v1', currentChangedMs: T0 + 10_000, revision: 1, ramp: null });
    expect(record.lastModifierIdentity).toBe('me');
    expect(record.conflictToken).not.toBe(created);
    expect(versionOf(deployments, 'v1')).toMatchObject({ status: 'current', currentSinceMs: T0 + 10_000, routingUpdateMs: T0 + 10_000, firstActivationMs: T0 + 10_000, lastCurrentMs: T0 + 10_000 });

    await manual.advanceTo(T0 + 20_000);
    const second = await deployments.setCurrentVersion(NS, current('v2'));
    expect(second.previousBuildId).toBe('v1');
    record = deployments.describe(NS, 'dep');
    expect(record.routing).toMatchObject({ currentBuildId: 'v2', currentChangedMs: T0 + 20_000, revision: 2 });
    expect(versionOf(deployments, 'v1')).toMatchObject({
      status: 'draining',
      currentSinceMs: null,
      routingUpdateMs: T0 + 20_000,
      lastDeactivationMs: T0 + 20_000,
      firstActivationMs: T0 + 10_000,
      drainage: { status: 'draining', lastChangedMs: T0 + 20_000, lastCheckedMs: T0 + 20_000 },
    });
    expect(versionOf(deployments, 'v2')).toMatchObject({ status: 'current', currentSinceMs: T0 + 20_000 });

    // Back to v1: re-activation clears its drainage.
    await deployments.setCurrentVersion(NS, current('v1'));
    expect(versionOf(deployments, 'v1')).toMatchObject({ status: 'current', drainage: null, lastDeactivationMs: null, firstActivationMs: T0 + 10_000 });

    // To unversioned.
    const third = await deployments.setCurrentVersion(NS, current(null, 'other'));
    expect(third.previousBuildId).toBe('v1');
    expect(deployments.describe(NS, 'dep').routing.currentBuildId).toBeNull();
    expect(versionOf(deployments, 'v1').status).toBe('draining');
  });

  it('checks the conflict token, after the no-op rule', async () => {
    const { deployments } = await twoVersions();
    const stale = (await deployments.setCurrentVersion(NS, current('v1'))).conflictToken;
    const fresh = (await deployments.setCurrentVersion(NS, current('v2', 'me', { conflictToken: stale }))).conflictToken;
    expect(Buffer.from(fresh).equals(Buffer.from(stale))).toBe(false);
    expect(await rejection(deployments.setCurrentVersion(NS, current('v1', 'me', { conflictToken: stale })))).toEqual({
      code: GrpcCode.FAILED_PRECONDITION,
      message: 'conflict token mismatch',
    });
    // Same target, same identity: a no-op, whatever the token; previous = the requested version.
    const noop = await deployments.setCurrentVersion(NS, current('v2', 'me', { conflictToken: stale }));
    expect(noop.previousBuildId).toBe('v2');
    expect(Buffer.from(noop.conflictToken).equals(Buffer.from(fresh))).toBe(true);
    // Same target, another identity: routing unchanged, but identity and token move.
    const revision = deployments.describe(NS, 'dep').routing.revision;
    const other = await deployments.setCurrentVersion(NS, current('v2', 'you', { conflictToken: fresh }));
    expect(other.previousBuildId).toBe('v2');
    expect(Buffer.from(other.conflictToken).equals(Buffer.from(fresh))).toBe(false);
    expect(deployments.describe(NS, 'dep')).toMatchObject({ lastModifierIdentity: 'you', routing: { revision } });
  });

  it('reports unknown deployments and versions, or creates them with allow_no_pollers', async () => {
    const { deployments } = await twoVersions();
    expect(await rejection(deployments.setCurrentVersion(NS, { ...current('v1'), deploymentName: 'nope' }))).toEqual({
      code: GrpcCode.NOT_FOUND,
      message: "no Worker Deployment found with name 'nope'; does your Worker Deployment have pollers?",
    });
    expect(await rejection(deployments.setCurrentVersion(NS, current('v9')))).toEqual({ code: GrpcCode.NOT_FOUND, message: "build ID 'v9' not found in Worker Deployment 'dep'" });
    await deployments.setCurrentVersion(NS, current('v9', 'me', { allowNoPollers: true }));
    expect(versionOf(deployments, 'v9')).toMatchObject({ status: 'current', taskQueues: [] });
    await deployments.setCurrentVersion(NS, { ...current('b1', 'me', { allowNoPollers: true }), deploymentName: 'fresh' });
    expect(deployments.describe(NS, 'fresh').routing.currentBuildId).toBe('b1');
  });

  it('refuses routing changes by anyone but the manager', async () => {
    const { deployments } = await twoVersions();
    const set = await deployments.setManager(NS, { deploymentName: 'dep', managerIdentity: 'boss', identity: 'me', conflictToken: null });
    expect(set.previousManagerIdentity).toBe('');
    const message = "ManagerIdentity 'boss' is set and does not match user identity 'me'; to proceed, set your own identity as the ManagerIdentity, remove the ManagerIdentity, or wait for the other client to do so";
    expect(await rejection(deployments.setCurrentVersion(NS, current('v1', 'me')))).toEqual({ code: GrpcCode.FAILED_PRECONDITION, message });
    expect((await rejection(deployments.setRampingVersion(NS, ramping({ buildId: 'v1' }, 10, 'me')))).message).toBe(message);
    expect((await rejection(deployments.deleteVersion(NS, { deploymentName: 'dep', buildId: 'v1', skipDrainage: false, identity: 'me' }))).message).toBe(message);
    await deployments.setCurrentVersion(NS, current('v1', 'boss'));
    // SetManager itself is not checked; its no-op answers the new value and the current token.
    const token = deployments.describe(NS, 'dep').conflictToken;
    await deployments.setManager(NS, { deploymentName: 'dep', managerIdentity: '', identity: 'boss', conflictToken: null });
    const noop = await deployments.setManager(NS, { deploymentName: 'dep', managerIdentity: '', identity: 'boss', conflictToken: new Uint8Array(8) });
    expect(noop.previousManagerIdentity).toBe('');
    expect(deployments.describe(NS, 'dep').conflictToken).not.toBe(token);
    expect((await rejection(deployments.setManager(NS, { deploymentName: 'dep', managerIdentity: 'x', identity: 'boss', conflictToken: new Uint8Array(8) }))).message).toBe('conflict token mismatch');
  });

  it('ramps: statuses, times, percentage changes, promotion, unset', async () => {
    const { deployments, manual } = await twoVersions();
    await deployments.setCurrentVersion(NS, current('v1'));
    expect((await rejection(deployments.setRampingVersion(NS, ramping({ buildId: 'v1' }, 10)))).message).toBe('requested ramping version dep.v1 is already current');
    await manual.advanceTo(T0 + 5000);
    const first = await deployments.setRampingVersion(NS, ramping({ buildId: 'v2' }, 20));
    expect(first).toMatchObject({ previous: null, previousPercentage: 0 });
    expect(deployments.describe(NS, 'dep').routing).toMatchObject({ ramp: { buildId: 'v2', percentage: 20 }, rampChangedMs: T0 + 5000, rampPercentageChangedMs: T0 + 5000, revision: 2 });
    expect(versionOf(deployments, 'v2')).toMatchObject({ status: 'ramping', rampingSinceMs: T0 + 5000, rampPercentage: 20, routingUpdateMs: T0 + 5000, firstActivationMs: T0 + 5000 });

    await manual.advanceTo(T0 + 6000);
    const second = await deployments.setRampingVersion(NS, ramping({ buildId: 'v2' }, 40, 'you'));
    expect(second).toMatchObject({ previous: { buildId: 'v2' }, previousPercentage: 20 });
    expect(deployments.describe(NS, 'dep').routing).toMatchObject({ ramp: { percentage: 40 }, rampChangedMs: T0 + 5000, rampPercentageChangedMs: T0 + 6000, revision: 3 });
    expect(versionOf(deployments, 'v2')).toMatchObject({ rampingSinceMs: T0 + 5000, rampPercentage: 40, routingUpdateMs: T0 + 6000 });
    // The same request again by the same identity: a no-op answering the requested values.
    expect(await deployments.setRampingVersion(NS, ramping({ buildId: 'v2' }, 40, 'you'))).toMatchObject({ previous: { buildId: 'v2' }, previousPercentage: 40 });

    // Promotion clears the ramp; v1 drains.
    await manual.advanceTo(T0 + 7000);
    await deployments.setCurrentVersion(NS, current('v2'));
    expect(deployments.describe(NS, 'dep').routing).toMatchObject({ currentBuildId: 'v2', ramp: null, rampChangedMs: T0 + 7000, rampPercentageChangedMs: T0 + 7000 });
    expect(versionOf(deployments, 'v2')).toMatchObject({ status: 'current', rampingSinceMs: null, rampPercentage: 0 });
    expect(versionOf(deployments, 'v1').status).toBe('draining');

    // Ramp v1 again, then unset: v1 drains again.
    await deployments.setRampingVersion(NS, ramping({ buildId: 'v1' }, 0));
    expect(versionOf(deployments, 'v1')).toMatchObject({ status: 'ramping', drainage: null });
    const unset = await deployments.setRampingVersion(NS, ramping(null, 0));
    expect(unset).toMatchObject({ previous: { buildId: 'v1' }, previousPercentage: 0 });
    expect(versionOf(deployments, 'v1').status).toBe('draining');
    // Ramping to unversioned.
    await deployments.setRampingVersion(NS, ramping({ buildId: null }, 30));
    expect(deployments.describe(NS, 'dep').routing.ramp).toEqual({ buildId: null, percentage: 30 });
  });

  it('refuses a version missing task queues that still have a backlog', async () => {
    const { deployments, activity } = await setup();
    await deployments.register(NS, 'a', 'workflow', 'dep', 'v1');
    await deployments.register(NS, 'b', 'workflow', 'dep', 'v1');
    await deployments.register(NS, 'a', 'workflow', 'dep', 'v2');
    await deployments.register(NS, 'a', 'workflow', 'dep', 'v3');
    await deployments.setCurrentVersion(NS, current('v1'));
    activity.set(`b/workflow/${versionKey('dep', 'v1')}`, { recentPollers: false, backlog: 3 });
    expect(await rejection(deployments.setCurrentVersion(NS, current('v2')))).toEqual({
      code: GrpcCode.FAILED_PRECONDITION,
      message: "proposed current version 'dep:v2' is missing active task queues from the current version; these would become unversioned if it is set as the current version",
    });
    expect((await rejection(deployments.setRampingVersion(NS, ramping({ buildId: 'v2' }, 10)))).message).toBe(
      "proposed ramping version 'dep:v2' is missing active task queues from the current version; these would become unversioned if it is set as the ramping version",
    );
    await deployments.setRampingVersion(NS, ramping({ buildId: 'v3' }, 10, 'me', { ignoreMissingTaskQueues: true }));
    await deployments.setCurrentVersion(NS, current('v2', 'me', { ignoreMissingTaskQueues: true }));
    // A queue another deployment took over is not missing.
    await deployments.register(NS, 'b', 'workflow', 'dep2', 'x1');
    await deployments.setCurrentVersion(NS, current('v1'));
    await deployments.setCurrentVersion(NS, current('v2'));
  });
});

describe('WorkerDeployments deletes and metadata', () => {
  it('deletes versions by Temporal rules, then the deployment', async () => {
    const { deployments, activity } = await setup();
    await deployments.register(NS, 'tq', 'workflow', 'dep', 'v1');
    await deployments.register(NS, 'tq', 'workflow', 'dep', 'v2');
    await deployments.setCurrentVersion(NS, current('v1'));
    const del = (buildId: string, skipDrainage = false) => deployments.deleteVersion(NS, { deploymentName: 'dep', buildId, skipDrainage, identity: 'deleter' });
    expect(await rejection(del('v1'))).toEqual({ code: GrpcCode.FAILED_PRECONDITION, message: "version 'dep:v1' cannot be deleted since it is current or ramping" });
    await deployments.setCurrentVersion(NS, current('v2'));
    expect((await rejection(del('v1'))).message).toBe("version 'dep:v1' cannot be deleted since it is draining");
    activity.set(`tq/workflow/${versionKey('dep', 'v1')}`, { recentPollers: true, backlog: 0 });
    expect((await rejection(del('v1', true))).message).toBe("version 'dep:v1' cannot be deleted since it has active pollers");
    activity.clear();
    const token = deployments.describe(NS, 'dep').conflictToken;
    await del('v1', true);
    expect(deployments.describe(NS, 'dep')).toMatchObject({ conflictToken: token, lastModifierIdentity: 'deleter' });
    expect(deployments.isRegistered(NS, 'tq', 'workflow', 'dep', 'v1')).toBe(false);
    expect(await rejection(() => deployments.describeVersion(NS, 'dep', 'v1'))).toEqual({ code: GrpcCode.NOT_FOUND, message: 'Worker Deployment Version not found' });
    await del('v1'); // idempotent
    expect((await rejection(deployments.deleteVersion(NS, { deploymentName: 'nope', buildId: 'v1', skipDrainage: false, identity: '' }))).code).toBe(GrpcCode.NOT_FOUND);

    expect(await rejection(deployments.deleteDeployment(NS, 'dep'))).toEqual({ code: GrpcCode.FAILED_PRECONDITION, message: "deployment has versions, can't be deleted" });
    await deployments.setCurrentVersion(NS, current(null));
    await del('v2', true);
    await deployments.deleteDeployment(NS, 'dep');
    await deployments.deleteDeployment(NS, 'dep');
    expect((await rejection(() => deployments.describe(NS, 'dep'))).code).toBe(GrpcCode.NOT_FOUND);
    expect(deployments.list(NS, null, 10).deployments).toEqual([]);
    // A later poll starts over.
    await deployments.register(NS, 'tq', 'workflow', 'dep', 'v1');
    expect(deployments.describe(NS, 'dep')).toMatchObject({ routing: { revision: 0, currentBuildId: null }, lastModifierIdentity: '' });
  });

  it('upserts then removes metadata entries', async () => {
    const { deployments } = await setup();
    await deployments.register(NS, 'tq', 'workflow', 'dep', 'v1');
    const bytes = (s: string) => new Uint8Array(Buffer.from(s));
    const first = await deployments.updateVersionMetadata(NS, { deploymentName: 'dep', buildId: 'v1', upsert: { a: bytes('1'), b: bytes('2') }, remove: [], identity: 'x' });
    expect(Object.keys(first).sort()).toEqual(['a', 'b']);
    const second = await deployments.updateVersionMetadata(NS, { deploymentName: 'dep', buildId: 'v1', upsert: { c: bytes('3'), a: bytes('9') }, remove: ['b', 'c'], identity: 'y' });
    expect(Object.fromEntries(Object.entries(second).map(([k, v]) => [k, Buffer.from(v).toString()]))).toEqual({ a: '9' });
    expect(versionOf(deployments, 'v1').lastModifierIdentity).toBe('y');
    expect((await rejection(deployments.updateVersionMetadata(NS, { deploymentName: 'dep', buildId: 'v9', upsert: {}, remove: ['a'], identity: '' }))).code).toBe(GrpcCode.NOT_FOUND);
  });
});

describe('WorkerDeployments drainage and persistence', () => {
  it('marks a draining version DRAINED when no pinned workflow runs, after the grace period', async () => {
    const { deployments, manual, clock } = await setup({ drainageGraceMs: 10_000, drainageRefreshMs: 5000 });
    const counts: Array<{ at: number; version: string }> = [];
    let pinned = 2;
    deployments.countPinnedRunning = async (_ns, version) => {
      counts.push({ at: manual.now() - T0, version });
      return pinned;
    };
    deployments.start();
    await deployments.register(NS, 'tq', 'workflow', 'dep', 'v1');
    await deployments.register(NS, 'tq', 'workflow', 'dep', 'v2');
    await deployments.setCurrentVersion(NS, current('v1'));
    await deployments.setCurrentVersion(NS, current('v2'));
    await manual.advanceTo(T0 + 9999);
    expect(counts).toEqual([]);
    await manual.advanceTo(T0 + 10_000);
    expect(counts).toEqual([{ at: 10_000, version: 'dep:v1' }]);
    expect(versionOf(deployments, 'v1').drainage).toEqual({ status: 'draining', lastChangedMs: T0, lastCheckedMs: T0 + 10_000 });
    pinned = 0;
    await manual.advanceTo(T0 + 15_000);
    expect(counts.map((c) => c.at)).toEqual([10_000, 15_000]);
    expect(versionOf(deployments, 'v1')).toMatchObject({ status: 'drained', drainage: { status: 'drained', lastChangedMs: T0 + 15_000, lastCheckedMs: T0 + 15_000 } });
    expect(clock.pending).toBe(0);
    // A new drainage arms the timer again; stop() cancels it.
    await deployments.setCurrentVersion(NS, current('v1'));
    expect(clock.pending).toBe(1);
    deployments.stop();
    expect(clock.pending).toBe(0);
  });

  it('drains an INACTIVE or DRAINED version again when a workflow is pinned to it by an override', async () => {
    const { deployments } = await setup();
    await deployments.register(NS, 'tq', 'workflow', 'dep', 'v1');
    await deployments.notePinnedWorkflow(NS, versionKey('dep', 'v1'));
    expect(versionOf(deployments, 'v1')).toMatchObject({ status: 'draining', drainage: { status: 'draining', lastChangedMs: T0 } });
    await deployments.notePinnedWorkflow(NS, versionKey('dep', 'unknown'));
  });

  it('reloads everything from the store', async () => {
    const first = await setup();
    await first.deployments.register(NS, 'tq', 'workflow', 'dep', 'v1');
    await first.deployments.register(NS, 'tq', 'activity', 'dep', 'v2');
    await first.deployments.setCurrentVersion(NS, current('v1'));
    await first.deployments.setRampingVersion(NS, ramping({ buildId: 'v2' }, 25));
    await first.deployments.setManager(NS, { deploymentName: 'dep', managerIdentity: 'me', identity: 'me', conflictToken: null });
    await first.deployments.updateVersionMetadata(NS, { deploymentName: 'dep', buildId: 'v1', upsert: { k: new Uint8Array([1, 2]) }, remove: [], identity: 'me' });
    await first.deployments.register('ns-2', 'q', 'workflow', 'other', 'b');
    const rows = await first.store.listAllSchedules();
    expect(rows.map((r) => [r.namespaceId, r.scheduleId]).sort()).toEqual([
      ['ns-2' + DEPLOYMENTS_SUFFIX, 'other'],
      [NS + DEPLOYMENTS_SUFFIX, 'dep'],
    ]);
    expect(rows.every((r) => isDeploymentKeySpace(r.namespaceId))).toBe(true);
    expect(isDeploymentKeySpace(NS)).toBe(false);

    const second = await setup({ store: first.store });
    expect(second.deployments.describe(NS, 'dep')).toEqual(first.deployments.describe(NS, 'dep'));
    expect(second.deployments.isRegistered('ns-2', 'q', 'workflow', 'other', 'b')).toBe(true);
    // v2 holds only the activity queue: the ramp does not apply to the workflow queue.
    expect(second.deployments.target(NS, 'tq', 'workflow', 'wf', true)).toBe(versionKey('dep', 'v1'));
    expect(second.deployments.target(NS, 'tq', 'activity', 'wf', true)).toBe(versionKey('dep', 'v2'));
    // Writes continue from the stored row version.
    await second.deployments.setManager(NS, { deploymentName: 'dep', managerIdentity: '', identity: 'me', conflictToken: null });
    expect(second.deployments.describe(NS, 'dep').managerIdentity).toBe('');
  });
});

describe('WorkerDeployments.target', () => {
  it('routes unpinned tasks by current and ramp, hashing the workflow id', async () => {
    const { deployments } = await setup();
    expect(deployments.target('nobody', 'tq', 'workflow', 'wf')).toBeNull();
    await deployments.register(NS, 'tq', 'workflow', 'dep', 'v1');
    await deployments.register(NS, 'tq', 'workflow', 'dep', 'v2');
    expect(deployments.target(NS, 'tq', 'workflow', 'wf')).toBeNull();
    await deployments.setCurrentVersion(NS, current('v1'));
    const v1 = versionKey('dep', 'v1');
    const v2 = versionKey('dep', 'v2');
    expect(parseVersionKey(v1)).toEqual({ deploymentName: 'dep', buildId: 'v1' });
    expect(deployments.target(NS, 'tq', 'workflow', 'wf')).toBe(v1);
    expect(deployments.target(NS, 'tq', 'activity', 'wf')).toBeNull();

    const ids = Array.from({ length: 4000 }, (_, i) => `wf-${i}`);
    const share = () => ids.filter((id) => deployments.target(NS, 'tq', 'workflow', id) === v2).length / ids.length;
    await deployments.setRampingVersion(NS, ramping({ buildId: 'v2' }, 0));
    expect(share()).toBe(0);
    expect(deployments.target(NS, 'tq', 'workflow', 'wf', true)).toBe(v2);
    await deployments.setRampingVersion(NS, ramping({ buildId: 'v2' }, 100));
    expect(share()).toBe(1);
    await deployments.setRampingVersion(NS, ramping({ buildId: 'v2' }, 50));
    const half = share();
    expect(half).toBeGreaterThan(0.46);
    expect(half).toBeLessThan(0.54);
    // Stable per workflow id.
    const picks = ids.slice(0, 50).map((id) => deployments.target(NS, 'tq', 'workflow', id));
    expect(ids.slice(0, 50).map((id) => deployments.target(NS, 'tq', 'workflow', id))).toEqual(picks);
    // Ramping to unversioned sends that share to the unversioned queue.
    await deployments.setRampingVersion(NS, ramping({ buildId: null }, 100));
    expect(deployments.target(NS, 'tq', 'workflow', 'wf')).toBeNull();
  });

  it('follows the deployment whose routing changed last when several hold the queue', async () => {
    const { deployments, manual, routed } = await setup();
    await deployments.register(NS, 'tq', 'workflow', 'a', 'x');
    await deployments.register(NS, 'tq', 'workflow', 'b', 'y');
    await deployments.setCurrentVersion(NS, { ...current('x'), deploymentName: 'a' });
    expect(deployments.target(NS, 'tq', 'workflow', 'wf')).toBe(versionKey('a', 'x'));
    await manual.advanceTo(T0 + 1000);
    await deployments.setCurrentVersion(NS, { ...current('y'), deploymentName: 'b' });
    expect(deployments.target(NS, 'tq', 'workflow', 'wf')).toBe(versionKey('b', 'y'));
    expect(routed).toEqual([['tq/workflow'], ['tq/workflow']]);
  });
});

describe('deploymentHandlers', () => {
  async function handlers() {
    const s = await setup();
    const namespaces = await NamespaceRegistry.load(s.store, []);
    const nsId = namespaces.get('default').id;
    await s.deployments.register(nsId, 'tq', 'workflow', 'dep', 'v1');
    await s.deployments.register(nsId, 'tq', 'activity', 'dep', 'v2');
    const h = deploymentHandlers(s.deployments, namespaces);
    const rpc = (method: string, req: object) => h[method]!({ namespace: 'default', ...req }, call) as Promise<Record<string, unknown>>;
    return { ...s, rpc };
  }

  it('answers describe, list and routing changes with both version forms', async () => {
    const { rpc } = await handlers();
    const described = (await rpc('DescribeWorkerDeployment', { deploymentName: 'dep' })) as { conflictToken: Uint8Array; workerDeploymentInfo: Record<string, unknown> };
    expect(described.conflictToken).toHaveLength(8);
    expect(described.workerDeploymentInfo).toMatchObject({
      name: 'dep',
      routingConfig: { currentVersion: '__unversioned__', currentDeploymentVersion: null, rampingVersion: '', revisionNumber: 0 },
      routingConfigUpdateState: api.enums.v1.RoutingConfigUpdateState.ROUTING_CONFIG_UPDATE_STATE_COMPLETED,
    });
    expect(described.workerDeploymentInfo['versionSummaries']).toMatchObject([
      { version: 'dep.v2', status: api.enums.v1.WorkerDeploymentVersionStatus.WORKER_DEPLOYMENT_VERSION_STATUS_INACTIVE, drainageStatus: 0, drainageInfo: null },
      { version: 'dep.v1', deploymentVersion: { deploymentName: 'dep', buildId: 'v1' } },
    ]);

    expect(await rpc('SetWorkerDeploymentCurrentVersion', { deploymentName: 'dep', version: 'dep.v1', identity: 'me' })).toMatchObject({ previousVersion: '__unversioned__', previousDeploymentVersion: null });
    expect(await rpc('SetWorkerDeploymentRampingVersion', { deploymentName: 'dep', buildId: 'v2', percentage: 10, identity: 'me' })).toMatchObject({ previousVersion: '', previousDeploymentVersion: null, previousPercentage: 0 });
    expect(await rpc('SetWorkerDeploymentRampingVersion', { deploymentName: 'dep', percentage: 0, identity: 'me' })).toMatchObject({
      previousVersion: 'dep.v2',
      previousDeploymentVersion: { deploymentName: 'dep', buildId: 'v2' },
      previousPercentage: 10,
    });
    const list = (await rpc('ListWorkerDeployments', { pageSize: 0 })) as { workerDeployments: Array<Record<string, unknown>>; nextPageToken: unknown };
    expect(list.nextPageToken).toBeNull();
    expect(list.workerDeployments).toMatchObject([
      { name: 'dep', routingConfig: { currentVersion: 'dep.v1' }, latestVersionSummary: { version: 'dep.v2' }, currentVersionSummary: { version: 'dep.v1' }, rampingVersionSummary: null },
    ]);

    const version = (await rpc('DescribeWorkerDeploymentVersion', { deploymentVersion: { deploymentName: 'dep', buildId: 'v2' } })) as Record<string, Record<string, unknown>>;
    expect(version['workerDeploymentVersionInfo']).toMatchObject({ version: 'dep.v2', status: api.enums.v1.WorkerDeploymentVersionStatus.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINING });
    expect(version['workerDeploymentVersionInfo']!['drainageInfo']).toMatchObject({ status: api.enums.v1.VersionDrainageStatus.VERSION_DRAINAGE_STATUS_DRAINING });
    expect(version['versionTaskQueues']).toEqual([{ name: 'tq', type: api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY }]);

    const metadata = await rpc('UpdateWorkerDeploymentVersionMetadata', { version: 'dep.v1', upsertEntries: { k: { data: Buffer.from('"v"') } } });
    expect(metadata).toMatchObject({ metadata: { entries: { k: { data: new Uint8Array(Buffer.from('"v"')) } } } });
    expect(await rpc('SetWorkerDeploymentManager', { deploymentName: 'dep', self: true, identity: 'me' })).toMatchObject({ previousManagerIdentity: '' });
  });

  it('pages the list by name', async () => {
    const { rpc, deployments } = await handlers();
    const nsId = (await NamespaceRegistry.load(stores[0]!, [])).get('default').id;
    for (const name of ['c', 'a', 'b']) await deployments.register(nsId, 'tq', 'workflow', name, 'v1');
    const first = (await rpc('ListWorkerDeployments', { pageSize: 2 })) as { workerDeployments: Array<{ name: string }>; nextPageToken: Uint8Array };
    expect(first.workerDeployments.map((d) => d.name)).toEqual(['a', 'b']);
    const second = (await rpc('ListWorkerDeployments', { pageSize: 2, nextPageToken: first.nextPageToken })) as { workerDeployments: Array<{ name: string }>; nextPageToken: unknown };
    expect(second.workerDeployments.map((d) => d.name)).toEqual(['c', 'dep']);
    expect(second.nextPageToken).toBeNull();
  });

  it('answers Temporal errors', async () => {
    const { rpc } = await handlers();
    const err = (method: string, req: object) => rejection(rpc(method, req));
    expect(await err('DescribeWorkerDeployment', { deploymentName: 'nope' })).toEqual({
      code: GrpcCode.NOT_FOUND,
      message: "no Worker Deployment found with name 'nope'; does your Worker Deployment have pollers?",
    });
    expect(await err('DescribeWorkerDeploymentVersion', {})).toEqual({ code: GrpcCode.INVALID_ARGUMENT, message: 'deployment version cannot be empty' });
    expect((await err('DescribeWorkerDeploymentVersion', { version: 'nodot' })).message).toBe('invalid version string "nodot", expected format is "<deployment_name>.<build_id>"');
    expect(await err('DescribeWorkerDeploymentVersion', { version: 'dep:v9' })).toEqual({ code: GrpcCode.NOT_FOUND, message: 'Worker Deployment Version not found' });
    expect((await err('SetWorkerDeploymentCurrentVersion', { buildId: 'v1' })).message).toBe('deployment name cannot be empty');
    expect((await err('SetWorkerDeploymentCurrentVersion', { deploymentName: 'dep', version: 'other.v1' })).message).toBe("invalid version string 'other.v1' does not match deployment name 'dep'");
    expect((await err('SetWorkerDeploymentRampingVersion', { deploymentName: 'dep', buildId: 'v1', percentage: 101 })).message).toBe('Percentage must be between 0 and 100 (inclusive)');
    expect((await err('SetWorkerDeploymentRampingVersion', { deploymentName: 'dep', version: '__unversioned__', percentage: 5 })).message).toBe('requested ramping version __unversioned__ is already current');
    expect((await err('UpdateWorkerDeploymentVersionMetadata', { version: 'dep.v1' })).message).toBe('At least one of remove_entries or upsert_entries must be provided');
    expect((await err('SetWorkerDeploymentManager', { deploymentName: 'dep', self: true })).message).toBe('Identity is required');
    expect(await err('GetCurrentDeployment', {})).toEqual({ code: GrpcCode.UNIMPLEMENTED, message: 'Deployments are deprecated and no longer supported, use Worker Deployments instead' });
  });
});
