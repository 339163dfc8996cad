import { describe, expect, it } from 'vitest';
import { SearchAttributesCodec } from '../proto-types.js';
import { newRunState, type MutableState } from './mutable-state.js';
import {
  BEHAVIOR_AUTO_UPGRADE,
  BEHAVIOR_PINNED,
  CAN_AUTO_UPGRADE,
  CAN_USE_RAMPING_VERSION,
  childVersioning,
  effectiveVersioning,
  inheritedVersioning,
  parseOverride,
  recordCompletion,
  startVersioning,
  taskDirective,
} from './versioning.js';
import { versionKey } from '../deployments/registry.js';

function run(): MutableState {
  return newRunState({
    namespaceId: 'ns', workflowId: 'wf', runId: 'r1', firstExecutionRunId: 'r1', workflowType: 'T', taskQueue: 'tq', startTimeMs: 0,
    executionTimeMs: 0, workflowTaskTimeoutMs: 10_000, runTimeoutMs: 0, executionTimeoutMs: 0, startRequestId: '', requestIds: [],
    signalRequestIds: [], signalCount: 0, memo: null, searchAttributes: null, attempt: 1, retryPolicy: null, cronSchedule: '', parent: null,
    startInput: null, startHeader: null, executionExpirationMs: 0,
  });
}

function attributes(state: MutableState): Record<string, unknown> {
  const fields = SearchAttributesCodec.decode(state.searchAttributes!).indexedFields ?? {};
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, JSON.parse(new TextDecoder().decode(v.data!))]));
}

const v1 = { deploymentName: 'orders', buildId: '1', versioned: true };
const v2 = { deploymentName: 'orders', buildId: '2', versioned: true };

describe('a run’s versioning', () => {
  it('takes the completing worker’s behavior and version, and fills the search attributes', () => {
    const state = run();
    recordCompletion(state, BEHAVIOR_PINNED, v1);
    expect(effectiveVersioning(state)).toEqual({ behavior: BEHAVIOR_PINNED, deploymentName: 'orders', buildId: '1' });
    expect(taskDirective(state)).toEqual({ version: versionKey('orders', '1') });
    expect(attributes(state)).toMatchObject({
      TemporalWorkerDeployment: 'orders',
      TemporalWorkerDeploymentVersion: 'orders:1',
      TemporalWorkflowVersioningBehavior: 'Pinned',
      TemporalUsedWorkerDeploymentVersions: ['orders:1'],
      BuildIds: ['pinned:orders:1'],
    });
    recordCompletion(state, BEHAVIOR_AUTO_UPGRADE, v2);
    expect(taskDirective(state)).toEqual({});
    expect(attributes(state)).toMatchObject({ TemporalWorkflowVersioningBehavior: 'AutoUpgrade', TemporalUsedWorkerDeploymentVersions: ['orders:1', 'orders:2'] });
    // An unversioned completion clears the version and the behavior.
    recordCompletion(state, 0, { deploymentName: '', buildId: '', versioned: false });
    expect(effectiveVersioning(state).behavior).toBe(0);
    expect(attributes(state).TemporalWorkerDeploymentVersion).toBeUndefined();
    expect(attributes(state).BuildIds).toEqual(['unversioned']);
  });

  it('lets an override win over what workers reported', () => {
    const state = run();
    state.versioning = startVersioning({ pinned: { behavior: 1, version: { deploymentName: 'orders', buildId: '1' } } });
    recordCompletion(state, BEHAVIOR_AUTO_UPGRADE, v2);
    expect(effectiveVersioning(state)).toEqual({ behavior: BEHAVIOR_PINNED, deploymentName: 'orders', buildId: '1' });
    expect(parseOverride({ autoUpgrade: true })).toMatchObject({ overrideKind: 2 });
    expect(parseOverride({ behavior: 1, pinnedVersion: 'orders.3' })).toMatchObject({ overrideKind: 1, overrideDeploymentName: 'orders', overrideBuildId: '3' });
    expect(() => parseOverride({ pinned: { behavior: 1 } })).toThrow('must provide version if override is pinned.');
    expect(() => parseOverride({ pinned: { version: { deploymentName: 'a', buildId: 'b' } } })).toThrow('must specify pinned override behavior if override is pinned.');
    expect(() => parseOverride({ behavior: 1 })).toThrow("must provide deployment (deprecated) or pinned version if behavior is 'PINNED'");
  });

  it('passes a pinned version on to a continued run on the same task queue unless the workflow asks to upgrade', () => {
    const state = run();
    recordCompletion(state, BEHAVIOR_PINNED, v1);
    expect(inheritedVersioning(state, 0, true)).toMatchObject({ info: { behavior: BEHAVIOR_PINNED, buildId: '1' }, event: { inheritedPinnedVersion: { deploymentName: 'orders', buildId: '1' } } });
    expect(inheritedVersioning(state, 0, false)).toBeNull();
    expect(inheritedVersioning(state, CAN_AUTO_UPGRADE, true)).toMatchObject({ info: { behavior: BEHAVIOR_AUTO_UPGRADE, useRamping: false } });
    const ramping = inheritedVersioning(state, CAN_USE_RAMPING_VERSION, true)!;
    expect(ramping.event.inheritedAutoUpgradeInfo).toMatchObject({ continueAsNewInitialVersioningBehavior: CAN_USE_RAMPING_VERSION });
    const next = run();
    next.versioning = ramping.info;
    expect(taskDirective(next)).toEqual({ useRamping: true });
  });

  it('passes a pinned or auto-upgrading version on to a child in the namespace, on a task queue the version serves', () => {
    const parent = run();
    const same = { sameNamespace: true, sameTaskQueue: true };
    const never = () => false;
    expect(childVersioning(parent, same, never)).toBeNull();
    recordCompletion(parent, BEHAVIOR_PINNED, v1);
    expect(childVersioning(parent, same, never)).toMatchObject({ info: { behavior: BEHAVIOR_PINNED, buildId: '1' }, event: { inheritedPinnedVersion: { deploymentName: 'orders', buildId: '1' } } });
    expect(childVersioning(parent, { sameNamespace: false, sameTaskQueue: true }, () => true)).toBeNull();
    expect(childVersioning(parent, { sameNamespace: true, sameTaskQueue: false }, never)).toBeNull();
    const asked: unknown[] = [];
    const other = childVersioning(parent, { sameNamespace: true, sameTaskQueue: false }, (v) => (asked.push(v), true));
    expect(asked).toEqual([{ deploymentName: 'orders', buildId: '1' }]);
    expect(other?.info.behavior).toBe(BEHAVIOR_PINNED);

    // A pinned override goes along as the child's override.
    parent.versioning = { ...parent.versioning!, ...parseOverride({ pinned: { behavior: 1, version: { deploymentName: 'orders', buildId: '2' } } }) };
    const overridden = childVersioning(parent, same, never)!;
    expect(overridden.event).toMatchObject({ inheritedPinnedVersion: { buildId: '2' }, versioningOverride: { pinned: { version: { buildId: '2' } } } });
    expect(effectiveVersioning({ ...run(), versioning: overridden.info })).toMatchObject({ behavior: BEHAVIOR_PINNED, buildId: '2' });

    const upgrading = run();
    recordCompletion(upgrading, BEHAVIOR_AUTO_UPGRADE, v2);
    const child = childVersioning(upgrading, same, never)!;
    expect(child.info).toMatchObject({ behavior: BEHAVIOR_AUTO_UPGRADE, buildId: '2', useRamping: false });
    expect(child.event.inheritedAutoUpgradeInfo).toMatchObject({ sourceDeploymentVersion: { buildId: '2' }, continueAsNewInitialVersioningBehavior: 0 });
  });
});
