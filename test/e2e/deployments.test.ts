/**
 * Worker Deployments (worker versioning), with official workers of two builds of the same workflows
 * (workflows/versioning/build-1.ts and build-2.ts) polling one task queue: a version's first poll
 * registers it; the current version takes new and auto-upgrading work while a pinned run stays on
 * its version (activities too); a ramp splits new work; continue-as-new moves a pinned run to the new
 * version when it asks; an override pins a run at start; a pinned parent's child starts on its version; and the deployment calls' answers and errors.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowBundle } from '@temporalio/worker';
import { startEnvironment, type E2EEnvironment } from './helpers/environment.js';
import { bundleWorkflows, enums, EventType, eventsOfType, uniqueTaskQueue, waitFor, withWorker } from './helpers/sdk.js';
import * as activities from './activities.js';
import { buildQuery, unblockSignal } from './workflows/versioning/shared.js';

const BUILD_PATH = (n: number) => new URL(`./workflows/versioning/build-${n}.ts`, import.meta.url).pathname;
const Status = enums.WorkerDeploymentVersionStatus;
const PINNED = enums.VersioningBehavior.VERSIONING_BEHAVIOR_PINNED;

describe('worker deployments', () => {
  let env: E2EEnvironment;
  const bundles: WorkflowBundle[] = [];
  const service = () => env.sdk.client.workflowService;

  beforeAll(async () => {
    env = await startEnvironment();
    bundles[1] = await bundleWorkflows(BUILD_PATH(1));
    bundles[2] = await bundleWorkflows(BUILD_PATH(2));
  });

  afterAll(async () => {
    await env?.close();
  });

  /** Runs `fn` while workers of builds 1 and 2 of `deploymentName` poll `taskQueue`. */
  async function withBuilds<R>(deploymentName: string, taskQueue: string, fn: () => Promise<R>, builds = [1, 2]): Promise<R> {
    const run = async (i: number): Promise<R> => {
      if (i === builds.length) return fn();
      const build = builds[i]!;
      return withWorker(
        {
          connection: env.sdk.nativeConnection,
          taskQueue,
          workflowBundle: bundles[build]!,
          activities,
          workerDeploymentOptions: { useWorkerVersioning: true, version: { deploymentName, buildId: String(build) }, defaultVersioningBehavior: 'AUTO_UPGRADE' },
        },
        () => run(i + 1),
      );
    };
    return run(0);
  }

  const describeDeployment = (deploymentName: string) => service().describeWorkerDeployment({ namespace: 'default', deploymentName });
  const versionsOf = async (deploymentName: string) => (await describeDeployment(deploymentName)).workerDeploymentInfo!.versionSummaries!.map((v) => v.deploymentVersion?.buildId).sort();
  const waitForVersions = (deploymentName: string, builds: string[]) =>
    waitFor(async () => JSON.stringify(await versionsOf(deploymentName)) === JSON.stringify(builds), { description: `versions ${builds.join(',')} of ${deploymentName}` });
  const setCurrent = async (deploymentName: string, buildId: string, conflictToken?: Uint8Array | null) =>
    service().setWorkerDeploymentCurrentVersion({ namespace: 'default', deploymentName, buildId, identity: 'e2e', ...(conflictToken ? { conflictToken } : {}) });
  const setRamping = (deploymentName: string, buildId: string, percentage: number) =>
    service().setWorkerDeploymentRampingVersion({ namespace: 'default', deploymentName, buildId, percentage, identity: 'e2e' });

  it('registers a version at its first poll, routes new work to the current version, and keeps a pinned run on its own', async () => {
    const deploymentName = `dep-${randomUUID().slice(0, 8)}`;
    const taskQueue = uniqueTaskQueue('deploy-route');
    await withBuilds(deploymentName, taskQueue, async () => {
      await waitForVersions(deploymentName, ['1', '2']);
      const described = await describeDeployment(deploymentName);
      const info = described.workerDeploymentInfo!;
      expect(info.name).toBe(deploymentName);
      expect(info.routingConfig?.currentVersion).toBe('__unversioned__');
      expect(info.routingConfig?.currentDeploymentVersion ?? null).toBeNull();
      expect(info.versionSummaries!.every((v) => v.status === Status.WORKER_DEPLOYMENT_VERSION_STATUS_INACTIVE)).toBe(true);
      const version = await service().describeWorkerDeploymentVersion({ namespace: 'default', deploymentVersion: { deploymentName, buildId: '1' } });
      const queues = version.workerDeploymentVersionInfo!.taskQueueInfos!.map((q) => `${q.name}/${q.type}`).sort();
      expect(queues).toEqual([`${taskQueue}/1`, `${taskQueue}/2`]);

      // A stale conflict token is refused; the one describe gave is taken.
      await expect(setCurrent(deploymentName, '1', new Uint8Array([1, 2, 3]))).rejects.toThrow(/conflict token mismatch/);
      const first = await setCurrent(deploymentName, '1', described.conflictToken);
      expect(first.previousVersion).toBe('__unversioned__');
      const pinned = await env.client.workflow.start('pinned', { taskQueue, workflowId: `pinned-${randomUUID()}` });
      const upgrading = await env.client.workflow.start('autoUpgrading', { taskQueue, workflowId: `upgrading-${randomUUID()}` });
      expect(await pinned.query(buildQuery)).toBe('v1');
      expect(await upgrading.query(buildQuery)).toBe('v1');

      const second = await setCurrent(deploymentName, '2');
      expect(second.previousDeploymentVersion).toMatchObject({ deploymentName, buildId: '1' });
      const after = (await describeDeployment(deploymentName)).workerDeploymentInfo!;
      expect(after.routingConfig?.currentDeploymentVersion).toMatchObject({ deploymentName, buildId: '2' });
      const statuses = Object.fromEntries(after.versionSummaries!.map((v) => [v.deploymentVersion!.buildId, v.status]));
      expect(statuses).toEqual({ '1': Status.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINING, '2': Status.WORKER_DEPLOYMENT_VERSION_STATUS_CURRENT });

      const fresh = await env.client.workflow.start('autoUpgrading', { taskQueue, workflowId: `fresh-${randomUUID()}` });
      expect(await fresh.query(buildQuery)).toBe('v2');
      await Promise.all([pinned.signal(unblockSignal), upgrading.signal(unblockSignal), fresh.signal(unblockSignal)]);
      // The pinned run stays on build 1, its activity too; the auto-upgrading one moved to build 2.
      expect(await pinned.result()).toBe('v1:Hello, v1!');
      expect(await upgrading.result()).toBe('v2');
      expect(await fresh.result()).toBe('v2');

      const history = await pinned.fetchHistory();
      const completed = eventsOfType(history, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED).map((e) => e.workflowTaskCompletedEventAttributes!);
      expect(completed[0]).toMatchObject({ versioningBehavior: PINNED, deploymentVersion: { deploymentName, buildId: '1' }, workerDeploymentName: deploymentName });
      const run = (await service().describeWorkflowExecution({ namespace: 'default', execution: { workflowId: pinned.workflowId } })).workflowExecutionInfo!;
      expect(run.versioningInfo).toMatchObject({ behavior: PINNED, deploymentVersion: { deploymentName, buildId: '1' }, version: `${deploymentName}.1` });
      expect(run.workerDeploymentName).toBe(deploymentName);
      const listed = await env.client.workflow.count(`TemporalWorkerDeploymentVersion = '${deploymentName}:1' AND TemporalWorkflowVersioningBehavior = 'Pinned'`);
      expect(listed.count).toBe(1);

      // A current version cannot be deleted; a draining one with pollers cannot either.
      await expect(service().deleteWorkerDeploymentVersion({ namespace: 'default', deploymentVersion: { deploymentName, buildId: '2' } })).rejects.toThrow(/current or ramping/);
      await expect(service().deleteWorkerDeployment({ namespace: 'default', deploymentName })).rejects.toThrow(/has versions/);
    });
  });

  it('splits new work by the ramp, and continue-as-new moves a pinned run to the new current version', async () => {
    const deploymentName = `ramp-${randomUUID().slice(0, 8)}`;
    const taskQueue = uniqueTaskQueue('deploy-ramp');
    await withBuilds(deploymentName, taskQueue, async () => {
      await waitForVersions(deploymentName, ['1', '2']);
      await setCurrent(deploymentName, '1');
      const canRun = await env.client.workflow.start('upgradeByContinueAsNew', { taskQueue, workflowId: `can-${randomUUID()}`, args: [0] });
      await waitFor(async () => (await service().describeWorkflowExecution({ namespace: 'default', execution: { workflowId: canRun.workflowId } })).workflowExecutionInfo?.versioningInfo?.deploymentVersion?.buildId === '1', {
        description: 'the run pinned to build 1',
      });

      const ramped = await setRamping(deploymentName, '2', 100);
      expect(ramped.previousVersion).toBe('');
      const all = await env.client.workflow.start('autoUpgrading', { taskQueue, workflowId: `ramp100-${randomUUID()}` });
      expect(await all.query(buildQuery)).toBe('v2');
      await setRamping(deploymentName, '2', 0);
      const none = await env.client.workflow.start('autoUpgrading', { taskQueue, workflowId: `ramp0-${randomUUID()}` });
      expect(await none.query(buildQuery)).toBe('v1');
      await setRamping(deploymentName, '2', 50);
      const seen = new Set<string>();
      for (let i = 0; i < 40 && seen.size < 2; i++) {
        const wf = await env.client.workflow.start('autoUpgrading', { taskQueue, workflowId: `ramp50-${i}-${randomUUID()}` });
        seen.add(await wf.query(buildQuery));
        await wf.terminate();
      }
      expect([...seen].sort()).toEqual(['v1', 'v2']);
      const routing = (await describeDeployment(deploymentName)).workerDeploymentInfo!.routingConfig!;
      expect(routing).toMatchObject({ rampingDeploymentVersion: { deploymentName, buildId: '2' }, rampingVersionPercentage: 50, rampingVersion: `${deploymentName}.2` });

      // Promoting the ramping version clears the ramp; the pinned run sees its target change and continues as new on build 2.
      await setCurrent(deploymentName, '2');
      expect(await canRun.result()).toBe('v2');
      const first = await env.client.workflow.getHandle(canRun.workflowId, canRun.firstExecutionRunId).fetchHistory();
      expect(eventsOfType(first, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED).some((e) => e.workflowTaskStartedEventAttributes?.targetWorkerDeploymentVersionChanged)).toBe(true);
      await Promise.all([all, none].map((wf) => wf.terminate()));
    });
  });

  it('pins a run to a version by an override at start', async () => {
    const deploymentName = `override-${randomUUID().slice(0, 8)}`;
    const taskQueue = uniqueTaskQueue('deploy-override');
    await withBuilds(deploymentName, taskQueue, async () => {
      await waitForVersions(deploymentName, ['1', '2']);
      await setCurrent(deploymentName, '2');
      const wf = await env.client.workflow.start('autoUpgrading', { taskQueue, workflowId: `override-${randomUUID()}`, versioningOverride: { pinnedTo: { deploymentName, buildId: '1' } } });
      expect(await wf.query(buildQuery)).toBe('v1');
      const started = eventsOfType(await wf.fetchHistory(), EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)[0]!.workflowExecutionStartedEventAttributes!;
      expect(started.versioningOverride?.pinned?.version).toMatchObject({ deploymentName, buildId: '1' });
      await wf.signal(unblockSignal);
      expect(await wf.result()).toBe('v1');
    });
  });

  it('starts a pinned parent’s child on the parent’s version', async () => {
    const deploymentName = `child-${randomUUID().slice(0, 8)}`;
    const taskQueue = uniqueTaskQueue('deploy-child');
    await withBuilds(deploymentName, taskQueue, async () => {
      await waitForVersions(deploymentName, ['1', '2']);
      await setCurrent(deploymentName, '1');
      const childId = `child-${randomUUID()}`;
      const parent = await env.client.workflow.start('pinnedParent', { taskQueue, workflowId: `parent-${randomUUID()}`, args: [childId] });
      expect(await parent.query(buildQuery)).toBe('v1');
      await setCurrent(deploymentName, '2');
      await parent.signal(unblockSignal);
      // Build 2 is current now, but the child takes over its parent's pinned version.
      expect(await parent.result()).toBe('v1:v1');
      const child = env.client.workflow.getHandle(childId);
      const started = eventsOfType(await child.fetchHistory(), EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)[0]!.workflowExecutionStartedEventAttributes!;
      expect(started.inheritedPinnedVersion).toMatchObject({ deploymentName, buildId: '1' });
      const run = (await child.describe()).raw.workflowExecutionInfo!;
      expect(run.versioningInfo).toMatchObject({ behavior: PINNED, deploymentVersion: { deploymentName, buildId: '1' } });
      // An unversioned parent's child is not pinned.
      const fresh = await env.client.workflow.execute('whichBuild', { taskQueue, workflowId: `plain-${randomUUID()}` });
      expect(fresh).toBe('v2');
    });
  });

  it('answers bad deployment calls with Temporal’s errors', async () => {
    await expect(describeDeployment(`missing-${randomUUID().slice(0, 8)}`)).rejects.toThrow(/no Worker Deployment found with name/);
    await expect(service().describeWorkerDeploymentVersion({ namespace: 'default', deploymentVersion: { deploymentName: 'nope', buildId: 'x' } })).rejects.toThrow(/Worker Deployment Version not found/);
    const deploymentName = `errors-${randomUUID().slice(0, 8)}`;
    const taskQueue = uniqueTaskQueue('deploy-errors');
    await withBuilds(
      deploymentName,
      taskQueue,
      async () => {
        await waitForVersions(deploymentName, ['1']);
        await expect(setCurrent(deploymentName, '9')).rejects.toThrow(/build ID '9' not found in Worker Deployment/);
        await setCurrent(deploymentName, '1');
        await expect(setRamping(deploymentName, '1', 10)).rejects.toThrow(/already current/);
        const listed = await service().listWorkerDeployments({ namespace: 'default' });
        expect(listed.workerDeployments!.map((d) => d.name)).toContain(deploymentName);
      },
      [1],
    );
  });
});
