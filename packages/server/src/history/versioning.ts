// A run's place in Worker Deployment versioning (ARCHITECTURE.md, "Worker Deployments"): the
// behavior and version the last versioned worker reported when it completed a workflow task, an
// override set at start or by UpdateWorkflowExecutionOptions, and what a continued run inherited. From
// these come the run's effective behavior and version, which route its tasks (a pinned run's tasks go
// to its version's workers only) and fill its versioning search attributes and DescribeWorkflowExecution's
// versioning_info.
import type { temporal } from '@temporalio/proto';
import { InvalidArgumentError } from '../errors.js';
import { SearchAttributesCodec, type HistoryEvent, type Payload } from '../proto-types.js';
import type { MutableState, VersioningInfo } from './mutable-state.js';
import { versionKey } from '../deployments/registry.js';

type VersioningOverride = temporal.api.workflow.v1.IVersioningOverride;
type DeploymentVersion = temporal.api.deployment.v1.IWorkerDeploymentVersion;

export const BEHAVIOR_UNSPECIFIED = 0;
export const BEHAVIOR_PINNED = 1;
export const BEHAVIOR_AUTO_UPGRADE = 2;
/** VersioningInfo.overrideKind. */
export const OVERRIDE_NONE = 0;
export const OVERRIDE_PINNED = 1;
export const OVERRIDE_AUTO_UPGRADE = 2;
/** ContinueAsNewVersioningBehavior. */
export const CAN_AUTO_UPGRADE = 1;
export const CAN_USE_RAMPING_VERSION = 2;
/** WorkerVersioningMode.WORKER_VERSIONING_MODE_VERSIONED. */
const MODE_VERSIONED = 2;

const WORKER_DEPLOYMENT = 'TemporalWorkerDeployment';
const WORKER_DEPLOYMENT_VERSION = 'TemporalWorkerDeploymentVersion';
const VERSIONING_BEHAVIOR = 'TemporalWorkflowVersioningBehavior';
const USED_VERSIONS = 'TemporalUsedWorkerDeploymentVersions';
const UNVERSIONED = 'unversioned';
const BUILD_IDS = 'BuildIds';

export function emptyVersioning(): VersioningInfo {
  return { behavior: 0, deploymentName: '', buildId: '', workerDeploymentName: '', overrideKind: 0, overrideDeploymentName: '', overrideBuildId: '', useRamping: false };
}

/** The behavior and version that route a run's tasks: an override's, else what its last versioned worker reported. */
export function effectiveVersioning(state: MutableState): { behavior: number; deploymentName: string; buildId: string } {
  const v = state.versioning;
  if (!v) return { behavior: BEHAVIOR_UNSPECIFIED, deploymentName: '', buildId: '' };
  if (v.overrideKind === OVERRIDE_PINNED) return { behavior: BEHAVIOR_PINNED, deploymentName: v.overrideDeploymentName, buildId: v.overrideBuildId };
  if (v.overrideKind === OVERRIDE_AUTO_UPGRADE) return { behavior: BEHAVIOR_AUTO_UPGRADE, deploymentName: v.deploymentName, buildId: v.buildId };
  if (v.behavior === BEHAVIOR_UNSPECIFIED) return { behavior: BEHAVIOR_UNSPECIFIED, deploymentName: '', buildId: '' };
  return { behavior: v.behavior, deploymentName: v.deploymentName, buildId: v.buildId };
}

/** What matching needs to route one of the run's tasks: the version a pinned run is pinned to, or the ramp flag. */
export interface TaskDirective {
  readonly version?: string;
  readonly useRamping?: boolean;
}

const NO_DIRECTIVE: TaskDirective = {};

export function taskDirective(state: MutableState): TaskDirective {
  if (!state.versioning) return NO_DIRECTIVE;
  const e = effectiveVersioning(state);
  if (e.behavior === BEHAVIOR_PINNED && e.buildId !== '') return { version: versionKey(e.deploymentName, e.buildId) };
  return state.versioning.useRamping ? { useRamping: true } : NO_DIRECTIVE;
}

/** The versioned worker's options of a completion, or null when it does not run versioned. */
export interface CompletingWorker {
  readonly deploymentName: string;
  readonly buildId: string;
  readonly versioned: boolean;
}

export function completingWorker(options: temporal.api.deployment.v1.IWorkerDeploymentOptions | null | undefined): CompletingWorker | null {
  if (!options) return null;
  return { deploymentName: options.deploymentName ?? '', buildId: options.buildId ?? '', versioned: options.workerVersioningMode === MODE_VERSIONED };
}

/** RespondWorkflowTaskCompleted's check of its versioning fields, as Temporal's. */
export function checkCompletionVersioning(behavior: number, worker: CompletingWorker | null): void {
  if (behavior !== BEHAVIOR_UNSPECIFIED && !worker?.versioned) {
    throw new InvalidArgumentError('versioning behavior cannot be specified without deployment options being set with versioned mode');
  }
}

/** WorkflowTaskCompleted's versioning attributes. */
export function completedEventVersioning(behavior: number, worker: CompletingWorker): { versioningBehavior: number; workerDeploymentName: string; deploymentVersion: DeploymentVersion | null } {
  return {
    versioningBehavior: worker.versioned ? behavior : BEHAVIOR_UNSPECIFIED,
    workerDeploymentName: worker.deploymentName,
    deploymentVersion: worker.versioned ? { deploymentName: worker.deploymentName, buildId: worker.buildId } : null,
  };
}

/** A worker outside any deployment. */
export const NO_DEPLOYMENT: CompletingWorker = { deploymentName: '', buildId: '', versioned: false };

/** A workflow task completed: the run takes the completing worker's behavior and version. */
export function recordCompletion(state: MutableState, behavior: number, worker: CompletingWorker): void {
  const v = (state.versioning ??= emptyVersioning());
  const before = `${v.behavior}\n${v.deploymentName}\n${v.buildId}\n${v.workerDeploymentName}\n${v.useRamping}`;
  v.useRamping = false;
  v.workerDeploymentName = worker.deploymentName;
  if (!worker.versioned || behavior === BEHAVIOR_UNSPECIFIED) {
    v.behavior = BEHAVIOR_UNSPECIFIED;
    v.deploymentName = '';
    v.buildId = '';
  } else {
    v.behavior = behavior;
    v.deploymentName = worker.deploymentName;
    v.buildId = worker.buildId;
  }
  const used = worker.versioned ? `${worker.deploymentName}:${worker.buildId}` : '';
  // Most completions come from the worker that completed the last task: the attributes stay as they are.
  if (used === '' && before === `${v.behavior}\n${v.deploymentName}\n${v.buildId}\n${v.workerDeploymentName}\n${v.useRamping}`) return;
  refreshSearchAttributes(state, used);
}

/** Validates an override (start, UpdateWorkflowExecutionOptions) and returns it in the run's terms. */
export function parseOverride(o: VersioningOverride | null | undefined): Pick<VersioningInfo, 'overrideKind' | 'overrideDeploymentName' | 'overrideBuildId'> | null {
  if (!o) return null;
  if (o.autoUpgrade === true) return { overrideKind: OVERRIDE_AUTO_UPGRADE, overrideDeploymentName: '', overrideBuildId: '' };
  if (o.autoUpgrade === false && !o.pinned && !o.behavior) throw new InvalidArgumentError('auto-upgrade override must be true');
  if (o.pinned) {     if (!o.pinned.version) throw new InvalidArgumentError('must provide version if override is pinned.');
    if (o.pinned.behavior !== 1) throw new InvalidArgumentError('must specify pinned override behavior if override is pinned.');
    return { overrideKind: OVERRIDE_PINNED, overrideDeploymentName: o.pinned.version.deploymentName ?? '', overrideBuildId: o.pinned.version.buildId ?? '' };
  }
  // The deprecated form: behavior plus pinned_version ("dep.bld").
  const behavior = o.behavior ?? 0;
  if (behavior === BEHAVIOR_UNSPECIFIED) throw new InvalidArgumentError('override behavior is required');
  if (behavior === BEHAVIOR_AUTO_UPGRADE) return { overrideKind: OVERRIDE_AUTO_UPGRADE, overrideDeploymentName: '', overrideBuildId: '' };
  const pinned = o.pinnedVersion ?? '';
  const dot = pinned.search(/[.:]/);
  if (dot <= 0 || dot === pinned.length - 1) throw new InvalidArgumentError("must provide deployment (deprecated) or pinned version if behavior is 'PINNED'");
  return { overrideKind: OVERRIDE_PINNED, overrideDeploymentName: pinned.slice(0, dot), overrideBuildId: pinned.slice(dot + 1) };
}

/** The override as the API shows it (both the oneof and the deprecated fields). */
export function overrideMessage(v: VersioningInfo | null | undefined, withDeprecated = true): VersioningOverride | null {
  if (!v || v.overrideKind === OVERRIDE_NONE) return null;
  if (v.overrideKind === OVERRIDE_AUTO_UPGRADE) return withDeprecated ? { autoUpgrade: true, behavior: BEHAVIOR_AUTO_UPGRADE } : { autoUpgrade: true };
  const pinned = { behavior: 1, version: { deploymentName: v.overrideDeploymentName, buildId: v.overrideBuildId } };
  return withDeprecated ? { pinned, behavior: BEHAVIOR_PINNED, pinnedVersion: `${v.overrideDeploymentName}.${v.overrideBuildId}` } : { pinned };
}

/** DescribeWorkflowExecution's versioning_info, or null for a run that never met versioning. */
export function versioningInfoMessage(state: MutableState): temporal.api.workflow.v1.IWorkflowExecutionVersioningInfo | null {
  const v = state.versioning;
  if (!v) return null;
  const versioned = v.behavior !== BEHAVIOR_UNSPECIFIED && v.buildId !== '';
  return {
    behavior: v.behavior,
    deploymentVersion: versioned ? { deploymentName: v.deploymentName, buildId: v.buildId } : null,
    version: versioned ? `${v.deploymentName}.${v.buildId}` : '',
    versioningOverride: overrideMessage(v),
  };
}

/**
 * The versioning search attributes from the run's effective versioning; `used` ('dep:bld') joins
 * TemporalUsedWorkerDeploymentVersions (a completion by a versioned worker).
 */
export function refreshSearchAttributes(state: MutableState, used = ''): void {
  const fields: Record<string, Payload> = state.searchAttributes ? { ...(SearchAttributesCodec.decode(state.searchAttributes).indexedFields ?? {}) } : {};
  const e = effectiveVersioning(state);
  const v = state.versioning;
  const deployment = e.deploymentName || v?.workerDeploymentName || '';
  setKeyword(fields, WORKER_DEPLOYMENT, deployment);
  setKeyword(fields, WORKER_DEPLOYMENT_VERSION, e.buildId !== '' ? `${e.deploymentName}:${e.buildId}` : '');
  setKeyword(fields, VERSIONING_BEHAVIOR, e.behavior === BEHAVIOR_PINNED ? 'Pinned' : e.behavior === BEHAVIOR_AUTO_UPGRADE ? 'AutoUpgrade' : '');
  if (used !== '') {
    const list = readList(fields[USED_VERSIONS]);
    if (!list.includes(used)) fields[USED_VERSIONS] = keywordList([...list, used]);
  }
  // BuildIds leads with `pinned:dep:bld` for a pinned run, and keeps the `unversioned` sentinel only for an unversioned one.
  const buildIds = readList(fields[BUILD_IDS]).filter((b) => !b.startsWith('pinned:') && b !== UNVERSIONED);
  if (e.behavior === BEHAVIOR_PINNED) buildIds.unshift(`pinned:${e.deploymentName}:${e.buildId}`);
  else if (e.behavior === BEHAVIOR_UNSPECIFIED) buildIds.unshift(UNVERSIONED);
  fields[BUILD_IDS] = keywordList(buildIds);
  state.searchAttributes = SearchAttributesCodec.encode({ indexedFields: fields }).finish();
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function setKeyword(fields: Record<string, Payload>, name: string, value: string): void {
  if (value === '') delete fields[name];
  else fields[name] = { metadata: { encoding: encoder.encode('json/plain'), type: encoder.encode('Keyword') }, data: encoder.encode(JSON.stringify(value)) };
}

function keywordList(values: string[]): Payload {
  return { metadata: { encoding: encoder.encode('json/plain'), type: encoder.encode('KeywordList') }, data: encoder.encode(JSON.stringify(values)) };
}

function readList(payload: Payload | undefined): string[] {
  if (!payload?.data) return [];
  try {
    const value: unknown = JSON.parse(decoder.decode(payload.data));
    return Array.isArray(value) ? value.filter((x): x is string => typeof x === 'string') : typeof value === 'string' ? [value] : [];
  } catch {
    return [];
  }
}

/** What a new run of the chain (continue-as-new, retry, cron) takes over from `state`, as Temporal's. */
export interface InheritedVersioning {
  readonly info: VersioningInfo;
  /** WorkflowExecutionStarted's fields that say so. */
  readonly event: {
    inheritedPinnedVersion?: DeploymentVersion;
    inheritedAutoUpgradeInfo?: temporal.api.deployment.v1.IInheritedAutoUpgradeInfo;
    versioningOverride?: VersioningOverride | null;
  };
}

/**
 * A pinned run's successor on the same task queue stays on its version unless the workflow asked
 * otherwise (`initialBehavior` AUTO_UPGRADE or USE_RAMPING_VERSION); an auto-upgrading run's starts as
 * auto-upgrade; a pinned override goes along with a pinned successor.
 */
export function inheritedVersioning(state: MutableState, initialBehavior: number, sameTaskQueue: boolean): InheritedVersioning | null {
  const v = state.versioning;
  if (!v || !sameTaskQueue) return null;
  const e = effectiveVersioning(state);
  if (e.behavior === BEHAVIOR_UNSPECIFIED || e.buildId === '') return null;
  const version = { deploymentName: e.deploymentName, buildId: e.buildId };
  const info = emptyVersioning();
  if (e.behavior === BEHAVIOR_PINNED && initialBehavior === 0) {
    if (v.overrideKind === OVERRIDE_PINNED) {
      Object.assign(info, { overrideKind: OVERRIDE_PINNED, overrideDeploymentName: e.deploymentName, overrideBuildId: e.buildId });
      return { info, event: { versioningOverride: overrideMessage(info, false) } };
    }
    Object.assign(info, { behavior: BEHAVIOR_PINNED, deploymentName: e.deploymentName, buildId: e.buildId });
    return { info, event: { inheritedPinnedVersion: version } };
  }
  Object.assign(info, { behavior: BEHAVIOR_AUTO_UPGRADE, deploymentName: e.deploymentName, buildId: e.buildId, useRamping: initialBehavior === CAN_USE_RAMPING_VERSION });
  return { info, event: { inheritedAutoUpgradeInfo: { sourceDeploymentVersion: version, continueAsNewInitialVersioningBehavior: initialBehavior } } };
}

/**
 * What a child takes over from its parent when its start command names no override, as Temporal's
 * transfer task decides: within the parent's namespace, on the parent's task queue or on one the
 * parent's version also serves (`inVersion`), a pinned parent's child starts pinned to that version
 * (with the parent's pinned override, if any) and an auto-upgrading parent's child starts as
 * auto-upgrade from the parent's version.
 */
export function childVersioning(
  parent: MutableState,
  child: { sameNamespace: boolean; sameTaskQueue: boolean },
  inVersion: (version: DeploymentVersion) => boolean,
): InheritedVersioning | null {
  const v = parent.versioning;
  if (!v || !child.sameNamespace) return null;
  const e = effectiveVersioning(parent);
  if (e.buildId === '') return null;
  const version = { deploymentName: e.deploymentName, buildId: e.buildId };
  if (!child.sameTaskQueue && !inVersion(version)) return null;
  const info = emptyVersioning();
  if (e.behavior === BEHAVIOR_PINNED) {
    Object.assign(info, { behavior: BEHAVIOR_PINNED, deploymentName: e.deploymentName, buildId: e.buildId });
    if (v.overrideKind !== OVERRIDE_PINNED) return { info, event: { inheritedPinnedVersion: version } };
    Object.assign(info, { overrideKind: OVERRIDE_PINNED, overrideDeploymentName: e.deploymentName, overrideBuildId: e.buildId });
    return { info, event: { inheritedPinnedVersion: version, versioningOverride: overrideMessage(info, false) } };
  }
  if (e.behavior !== BEHAVIOR_AUTO_UPGRADE) return null;
  Object.assign(info, { behavior: BEHAVIOR_AUTO_UPGRADE, deploymentName: e.deploymentName, buildId: e.buildId });
  return { info, event: { inheritedAutoUpgradeInfo: { sourceDeploymentVersion: version, continueAsNewInitialVersioningBehavior: 0 } } };
}

/** A new run's versioning from its start request's override (already validated). */
export function startVersioning(override: VersioningOverride | null | undefined): VersioningInfo | null {
  const parsed = parseOverride(override);
  return parsed ? { ...emptyVersioning(), ...parsed } : null;
}

type CompletedAttributes = HistoryEvent['workflowTaskCompletedEventAttributes'];

/** A reset's rebuild: what WorkflowTaskCompleted says of the completing worker's versioning. */
export function rebuildCompletionVersioning(state: MutableState, a: CompletedAttributes | null | undefined): void {
  if (!a) return;
  const version = a.deploymentVersion;
  if (!version && !a.workerDeploymentName && !state.versioning) return;
  const worker = { deploymentName: version?.deploymentName ?? a.workerDeploymentName ?? '', buildId: version?.buildId ?? '', versioned: !!version };
  recordCompletion(state, a.versioningBehavior ?? 0, worker);
}

/** A reset's rebuild: the versioning WorkflowExecutionStarted gave the run (an override or what it inherited). */
export function startedVersioning(a: NonNullable<HistoryEvent['workflowExecutionStartedEventAttributes']>): VersioningInfo | null {
  const fromOverride = startVersioning(a.versioningOverride);
  if (fromOverride) return fromOverride;
  const pinned = a.inheritedPinnedVersion;
  if (pinned?.buildId) return { ...emptyVersioning(), behavior: BEHAVIOR_PINNED, deploymentName: pinned.deploymentName ?? '', buildId: pinned.buildId };
  const auto = a.inheritedAutoUpgradeInfo?.sourceDeploymentVersion;
  if (auto?.buildId) return { ...emptyVersioning(), behavior: BEHAVIOR_AUTO_UPGRADE, deploymentName: auto.deploymentName ?? '', buildId: auto.buildId };
  return null;
}
