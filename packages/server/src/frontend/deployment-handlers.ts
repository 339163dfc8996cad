// WorkflowService RPCs for Worker Deployments (worker versioning v3): validate, resolve the namespace,
// call the registry (deployments/registry.ts), and answer in Temporal's shapes. Every answer fills both
// the version structs and the deprecated version strings ("dep.bld", "__unversioned__").
import { api, msToTimestamp, type Loose } from '@kairos/common';
import type { temporal } from '@temporalio/proto';
import { GrpcCode, InvalidArgumentError, ServiceError } from '../errors.js';
import type { NamespaceRegistry } from '../namespace/registry.js';
import { parseVersionString, UNVERSIONED, v31String, type VersionStatus } from '../deployments/deployment-record.js';
import { encodeConflictToken, type DeploymentView, type VersionView, type WorkerDeployments } from '../deployments/registry.js';
import type { ServiceHandlers } from './grpc-server.js';
import { decodeListToken, encodeListToken } from './list-token.js';
import { requireString } from './validation.js';

type WS = typeof temporal.api.workflowservice.v1;
type VersionSummary = Loose<temporal.api.deployment.v1.WorkerDeploymentInfo.IWorkerDeploymentVersionSummary>;
type VersionStruct = temporal.api.deployment.v1.IWorkerDeploymentVersion;
void (null as unknown as WS);

/** frontend.visibilityMaxPageSize: the page size of a list that asks for none, or for more. */
const MAX_PAGE_SIZE = 1000;

const Status = api.enums.v1.WorkerDeploymentVersionStatus;
const Drainage = api.enums.v1.VersionDrainageStatus;
const TaskQueueType = api.enums.v1.TaskQueueType;

const STATUS: Record<VersionStatus, number> = {
  inactive: Status.WORKER_DEPLOYMENT_VERSION_STATUS_INACTIVE,
  current: Status.WORKER_DEPLOYMENT_VERSION_STATUS_CURRENT,
  ramping: Status.WORKER_DEPLOYMENT_VERSION_STATUS_RAMPING,
  draining: Status.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINING,
  drained: Status.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINED,
};

const DEPRECATED_DEPLOYMENTS = 'Deployments are deprecated and no longer supported, use Worker Deployments instead';

export function deploymentHandlers(deployments: WorkerDeployments, namespaces: NamespaceRegistry): ServiceHandlers {
  const ns = (name: string | null | undefined) => namespaces.get(requireString(name, 'Namespace'));
  const deprecated = async (): Promise<never> => {
    throw new ServiceError(GrpcCode.UNIMPLEMENTED, DEPRECATED_DEPLOYMENTS);
  };

  return {
    async DescribeWorkerDeployment(request) {
      const req = request as temporal.api.workflowservice.v1.IDescribeWorkerDeploymentRequest;
      const namespace = ns(req.namespace);
      const record = deployments.describe(namespace.id, req.deploymentName ?? '');
      return {
        conflictToken: encodeConflictToken(record.conflictToken),
        workerDeploymentInfo: {
          name: record.name,
          versionSummaries: newestFirst(record.versions).map((v) => versionSummary(record, v)),
          createTime: msToTimestamp(record.createTimeMs),
          routingConfig: routingConfig(record),
          lastModifierIdentity: record.lastModifierIdentity,
          managerIdentity: record.managerIdentity,
          routingConfigUpdateState: api.enums.v1.RoutingConfigUpdateState.ROUTING_CONFIG_UPDATE_STATE_COMPLETED,
        },
      } satisfies Loose<temporal.api.workflowservice.v1.IDescribeWorkerDeploymentResponse>;
    },

    async ListWorkerDeployments(request) {
      const req = request as temporal.api.workflowservice.v1.IListWorkerDeploymentsRequest;
      const namespace = ns(req.namespace);
      const pageSize = req.pageSize && req.pageSize > 0 && req.pageSize <= MAX_PAGE_SIZE ? req.pageSize : MAX_PAGE_SIZE;
      const { deployments: page, more } = deployments.list(namespace.id, decodeListToken(req.nextPageToken), pageSize);
      const summaryOf = (record: DeploymentView, buildId: string | null | undefined) => {
        const version = buildId ? record.versions.find((v) => v.buildId === buildId) : undefined;
        return version ? versionSummary(record, version) : null;
      };
      return {
        workerDeployments: page.map((record) => ({
          name: record.name,
          createTime: msToTimestamp(record.createTimeMs),
          routingConfig: routingConfig(record),
          latestVersionSummary: record.versions.length > 0 ? versionSummary(record, newestFirst(record.versions)[0]!) : null,
          currentVersionSummary: summaryOf(record, record.routing.currentBuildId),
          rampingVersionSummary: summaryOf(record, record.routing.ramp?.buildId),
        })),
        nextPageToken: more && page.length > 0 ? encodeListToken(page[page.length - 1]!.name) : null,
      } satisfies Loose<temporal.api.workflowservice.v1.IListWorkerDeploymentsResponse>;
    },

    async DescribeWorkerDeploymentVersion(request) {
      const req = request as temporal.api.workflowservice.v1.IDescribeWorkerDeploymentVersionRequest;
      const namespace = ns(req.namespace);
      const target = req.version ? parseRequiredVersion(req.version) : versionFromStruct(req.deploymentVersion);
      const { deployment, version } = deployments.describeVersion(namespace.id, target.deploymentName, target.buildId);
      const drainageInfo = drainage(version);
      return {
        workerDeploymentVersionInfo: {
          version: v31String(deployment.name, version.buildId),
          status: STATUS[version.status],
          deploymentVersion: struct(deployment.name, version.buildId),
          createTime: msToTimestamp(version.createTimeMs),
          routingChangedTime: time(version.routingUpdateMs),
          currentSinceTime: time(version.currentSinceMs),
          rampingSinceTime: time(version.rampingSinceMs),
          rampPercentage: version.rampPercentage,
          taskQueueInfos: taskQueues(version),
          ...(drainageInfo ? { drainageInfo } : {}),
          metadata: Object.keys(version.metadata).length > 0 ? { entries: payloads(version.metadata) } : null,
          lastModifierIdentity: version.lastModifierIdentity,
        },
        versionTaskQueues: taskQueues(version),
      } satisfies Loose<temporal.api.workflowservice.v1.IDescribeWorkerDeploymentVersionResponse>;
    },

    async SetWorkerDeploymentCurrentVersion(request) {
      const req = request as temporal.api.workflowservice.v1.ISetWorkerDeploymentCurrentVersionRequest;
      const namespace = ns(req.namespace);
      const name = requireDeploymentName(req.deploymentName);
      let buildId: string | null = req.buildId || null;
      if (req.version) buildId = versionOfDeployment(req.version, name)?.buildId ?? null;
      const result = await deployments.setCurrentVersion(namespace.id, {
        deploymentName: name,
        buildId,
        identity: req.identity ?? '',
        conflictToken: req.conflictToken ?? null,
        ignoreMissingTaskQueues: req.ignoreMissingTaskQueues === true,
        allowNoPollers: req.allowNoPollers === true,
      });
      return {
        conflictToken: result.conflictToken,
        previousVersion: v31String(name, result.previousBuildId),
        previousDeploymentVersion: struct(name, result.previousBuildId),
      } satisfies Loose<temporal.api.workflowservice.v1.ISetWorkerDeploymentCurrentVersionResponse>;
    },

    async SetWorkerDeploymentRampingVersion(request) {
      const req = request as temporal.api.workflowservice.v1.ISetWorkerDeploymentRampingVersionRequest;
      const namespace = ns(req.namespace);
      const name = requireDeploymentName(req.deploymentName);
      const percentage = req.percentage ?? 0;
      // What to ramp: a version, unversioned (`buildId` null), or nothing (null: unset the ramp).
      let ramp: { buildId: string | null } | null;
      if (req.version === UNVERSIONED) ramp = percentage === 0 && !req.buildId ? null : { buildId: null };
      else if (req.version) ramp = { buildId: versionOfDeployment(req.version, name)!.buildId };
      else if (req.buildId) ramp = { buildId: req.buildId };
      else ramp = percentage > 0 ? { buildId: null } : null;
      if (!(percentage >= 0 && percentage <= 100)) throw new InvalidArgumentError('Percentage must be between 0 and 100 (inclusive)');
      const result = await deployments.setRampingVersion(namespace.id, {
        deploymentName: name,
        ramp,
        percentage,
        identity: req.identity ?? '',
        conflictToken: req.conflictToken ?? null,
        ignoreMissingTaskQueues: req.ignoreMissingTaskQueues === true,
        allowNoPollers: req.allowNoPollers === true,
      });
      const previous = result.previous;
      return {
        conflictToken: result.conflictToken,
        previousVersion: previous === null ? '' : v31String(name, previous.buildId),
        previousDeploymentVersion: previous === null ? null : struct(name, previous.buildId),
        previousPercentage: result.previousPercentage,
      } satisfies Loose<temporal.api.workflowservice.v1.ISetWorkerDeploymentRampingVersionResponse>;
    },

    async DeleteWorkerDeploymentVersion(request) {
      const req = request as temporal.api.workflowservice.v1.IDeleteWorkerDeploymentVersionRequest;
      const namespace = ns(req.namespace);
      const target = structOrString(req.deploymentVersion, req.version);
      await deployments.deleteVersion(namespace.id, { ...target, skipDrainage: req.skipDrainage === true, identity: req.identity ?? '' });
      return {};
    },

    async DeleteWorkerDeployment(request) {
      const req = request as temporal.api.workflowservice.v1.IDeleteWorkerDeploymentRequest;
      const namespace = ns(req.namespace);
      await deployments.deleteDeployment(namespace.id, requireDeploymentName(req.deploymentName));
      return {};
    },

    async UpdateWorkerDeploymentVersionMetadata(request) {
      const req = request as temporal.api.workflowservice.v1.IUpdateWorkerDeploymentVersionMetadataRequest;
      const namespace = ns(req.namespace);
      const upsertEntries = req.upsertEntries ?? {};
      const removeEntries = req.removeEntries ?? [];
      if (Object.keys(upsertEntries).length === 0 && removeEntries.length === 0) {
        throw new InvalidArgumentError('At least one of remove_entries or upsert_entries must be provided');
      }
      const target = structOrString(req.deploymentVersion, req.version);
      const upsert = Object.fromEntries(Object.entries(upsertEntries).map(([key, payload]) => [key, api.common.v1.Payload.encode(payload).finish()]));
      const metadata = await deployments.updateVersionMetadata(namespace.id, { ...target, upsert, remove: removeEntries, identity: req.identity ?? '' });
      return {
        metadata: { entries: Object.fromEntries(Object.entries(metadata).map(([key, bytes]) => [key, api.common.v1.Payload.decode(bytes)])) },
      } satisfies Loose<temporal.api.workflowservice.v1.IUpdateWorkerDeploymentVersionMetadataResponse>;
    },

    async SetWorkerDeploymentManager(request) {
      const req = request as temporal.api.workflowservice.v1.ISetWorkerDeploymentManagerRequest;
      const namespace = ns(req.namespace);
      const name = requireDeploymentName(req.deploymentName);
      if (!req.identity) throw new InvalidArgumentError('Identity is required');
      const result = await deployments.setManager(namespace.id, {
        deploymentName: name,
        managerIdentity: req.self ? req.identity : (req.managerIdentity ?? ''),
        identity: req.identity,
        conflictToken: req.conflictToken ?? null,
      });
      return result satisfies Loose<temporal.api.workflowservice.v1.ISetWorkerDeploymentManagerResponse>;
    },

    // The pre-release "Deployment" API (system.enableDeployments), which Temporal has retired.
    DescribeDeployment: deprecated,
    ListDeployments: deprecated,
    SetCurrentDeployment: deprecated,
    GetCurrentDeployment: deprecated,
    GetDeploymentReachability: deprecated,
  };
}

// ---- requests ----

function requireDeploymentName(name: string | null | undefined): string {
  if (!name) throw new InvalidArgumentError('deployment name cannot be empty');
  return name;
}

function parseRequiredVersion(s: string): { deploymentName: string; buildId: string } {
  const parsed = parseVersionString(s);
  if (!parsed) throw invalidVersionString(s);
  return parsed;
}

/** A version string of a request that also names the deployment: it must be in that deployment. */
function versionOfDeployment(s: string, deploymentName: string): { deploymentName: string; buildId: string } | null {
  const parsed = parseVersionString(s);
  if (parsed && parsed.deploymentName !== deploymentName) throw new InvalidArgumentError(`invalid version string '${s}' does not match deployment name '${deploymentName}'`);
  return parsed;
}

function versionFromStruct(v: VersionStruct | null | undefined): { deploymentName: string; buildId: string } {
  const deploymentName = v?.deploymentName ?? '';
  const buildId = v?.buildId ?? '';
  if (deploymentName === '' && buildId === '') throw new InvalidArgumentError('deployment version cannot be empty');
  if (deploymentName === '' || buildId === '') throw invalidVersionString(`${deploymentName}.${buildId}`);
  return { deploymentName, buildId };
}

/** The version a delete or metadata update names: the struct wins over the deprecated string. */
function structOrString(v: VersionStruct | null | undefined, s: string | null | undefined): { deploymentName: string; buildId: string } {
  if (v?.deploymentName || v?.buildId || !s) return versionFromStruct(v);
  return parseRequiredVersion(s);
}

function invalidVersionString(s: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid version string "${s}", expected format is "<deployment_name>.<build_id>"`);
}


// ---- answers ----

function time(ms: number | null): ReturnType<typeof msToTimestamp> | null {
  return ms === null ? null : msToTimestamp(ms);
}

/** The struct of a version; null for unversioned. */
function struct(deploymentName: string, buildId: string | null): VersionStruct | null {
  return buildId === null ? null : { deploymentName, buildId };
}

function newestFirst(versions: readonly VersionView[]): VersionView[] {
  // Stable: of versions created in the same millisecond, the later registered comes first.
  return [...versions].reverse().sort((a, b) => b.createTimeMs - a.createTimeMs);
}

function routingConfig(record: DeploymentView): Loose<temporal.api.deployment.v1.IRoutingConfig> {
  const { currentBuildId, ramp, currentChangedMs, rampChangedMs, rampPercentageChangedMs, revision } = record.routing;
  return {
    currentDeploymentVersion: struct(record.name, currentBuildId),
    currentVersion: v31String(record.name, currentBuildId),
    rampingDeploymentVersion: ramp === null ? null : struct(record.name, ramp.buildId),
    rampingVersion: ramp === null ? '' : v31String(record.name, ramp.buildId),
    rampingVersionPercentage: ramp?.percentage ?? 0,
    currentVersionChangedTime: time(currentChangedMs),
    rampingVersionChangedTime: time(rampChangedMs),
    rampingVersionPercentageChangedTime: time(rampPercentageChangedMs),
    revisionNumber: revision,
  };
}

function drainage(version: VersionView): Loose<temporal.api.deployment.v1.IVersionDrainageInfo> | null {
  const d = version.drainage;
  if (!d) return null;
  return {
    status: d.status === 'draining' ? Drainage.VERSION_DRAINAGE_STATUS_DRAINING : Drainage.VERSION_DRAINAGE_STATUS_DRAINED,
    lastChangedTime: msToTimestamp(d.lastChangedMs),
    lastCheckedTime: msToTimestamp(d.lastCheckedMs),
  };
}

function versionSummary(record: DeploymentView, version: VersionView): VersionSummary {
  const drainageInfo = drainage(version);
  return {
    version: v31String(record.name, version.buildId),
    status: STATUS[version.status],
    deploymentVersion: struct(record.name, version.buildId),
    createTime: msToTimestamp(version.createTimeMs),
    drainageStatus: drainageInfo?.status ?? Drainage.VERSION_DRAINAGE_STATUS_UNSPECIFIED,
    drainageInfo,
    currentSinceTime: time(version.currentSinceMs),
    rampingSinceTime: time(version.rampingSinceMs),
    routingUpdateTime: time(version.routingUpdateMs),
    firstActivationTime: time(version.firstActivationMs),
    lastCurrentTime: time(version.lastCurrentMs),
    lastDeactivationTime: time(version.lastDeactivationMs),
  };
}

function taskQueues(version: VersionView): Array<{ name: string; type: number }> {
  return version.taskQueues.map((q) => ({ name: q.name, type: q.kind === 'workflow' ? TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW : TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY }));
}

function payloads(metadata: Readonly<Record<string, string>>): Record<string, temporal.api.common.v1.IPayload> {
  return Object.fromEntries(Object.entries(metadata).map(([key, value]) => [key, api.common.v1.Payload.decode(Buffer.from(value, 'base64'))]));
}
