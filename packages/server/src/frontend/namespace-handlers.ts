// Namespace RPCs: Register / Describe / List / Update.
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import { durationToMs, msToDuration } from '@kairos/common';
import { InvalidArgumentError } from '../errors.js';
import type { NamespaceRecord, NamespaceRegistry } from '../namespace/registry.js';
import { DEFAULT_RETENTION_MS } from '../namespace/registry.js';
import type { ServiceHandlers } from './grpc-server.js';
import { requireString } from './validation.js';

const NAMESPACE_STATE_REGISTERED = 1;
const NAMESPACE_STATE_DEPRECATED = 2;
import { DEFAULT_SIZE_LIMITS, type SizeLimits } from '../limits.js';

type WS = typeof temporal.api.workflowservice.v1;
type DescribeNamespaceResponse = Loose<temporal.api.workflowservice.v1.IDescribeNamespaceResponse>;

const MIN_RETENTION_MS = 24 * 3600 * 1000;

/** Capabilities that depend on the server's configuration. */
export interface NamespaceCapabilityOptions {
  /** ShutdownWorker answers the worker's outstanding polls (`frontend.enableCancelWorkerPollsOnShutdown`). */
  readonly workerPollCompleteOnShutdown?: boolean;
  /** Worker heartbeats are kept and listed (`frontend.WorkerHeartbeatsEnabled`); SDKs send them only then. */
  readonly workerHeartbeats?: boolean;
  /** Standalone activities are served (`activity.enableStandalone`), and with a start delay (`activity.startDelayEnabled`). */
  readonly standaloneActivities?: boolean;
  readonly standaloneActivityStartDelay?: boolean;
  /** Standalone Nexus operations are served (`nexusoperation.enableStandalone`). */
  readonly standaloneNexusOperation?: boolean;
  /** The size limits reported to SDKs (they refuse oversized payloads before sending them). */
  readonly sizeLimits?: SizeLimits;
}

/** NamespaceInfo.limits: what Temporal's frontend reports from its dynamic config. */
function namespaceLimits(l: SizeLimits): Record<string, number> {
  return {
    blobSizeLimitError: l.blobSizeLimitError,
    memoSizeLimitError: l.memoSizeLimitError,
    workflowTaskCompletionSizeLimitError: l.workflowTaskCompletionSizeLimitError,
  };
}

export function describeNamespaceRecord(r: NamespaceRecord, options: NamespaceCapabilityOptions = {}): DescribeNamespaceResponse {
  return {
    namespaceInfo: {
      name: r.name,
      state: r.state,
      description: r.description,
      ownerEmail: r.ownerEmail,
      data: { ...r.data },
      id: r.id,
      // Features this server does not offer yet are advertised as off, so SDKs do not try them.
      capabilities: {
        eagerWorkflowStart: true,
        syncUpdate: true,
        asyncUpdate: true,
        workerHeartbeats: options.workerHeartbeats === true,
        workerPollCompleteOnShutdown: options.workerPollCompleteOnShutdown === true,
        standaloneActivities: options.standaloneActivities === true,
        standaloneActivityStartDelay: options.standaloneActivities === true && options.standaloneActivityStartDelay === true,
        standaloneNexusOperation: options.standaloneNexusOperation === true,
      },
      supportsSchedules: true,
      limits: namespaceLimits(options.sizeLimits ?? DEFAULT_SIZE_LIMITS),
    },
    config: {
      workflowExecutionRetentionTtl: msToDuration(r.retentionMs),
      historyArchivalState: 2,
      visibilityArchivalState: 2,
    },
    replicationConfig: { activeClusterName: 'active', clusters: [{ clusterName: 'active' }], state: 1 },
    isGlobalNamespace: false,
    failoverVersion: 0,
  };
}

export function namespaceHandlers(registry: NamespaceRegistry, capabilities: NamespaceCapabilityOptions = {}): ServiceHandlers {
  const describe = (r: NamespaceRecord): DescribeNamespaceResponse => describeNamespaceRecord(r, capabilities);
  return {
    async DescribeNamespace(request) {
      const req = request as temporal.api.workflowservice.v1.IDescribeNamespaceRequest;
      if (req.id) {
        const byId = registry.findById(req.id);
        if (byId) return describe(byId);
      }
      return describe(registry.get(requireString(req.namespace, 'Namespace')));
    },
    async ListNamespaces() {
      return { namespaces: registry.list().map(describe), nextPageToken: null } satisfies Loose<temporal.api.workflowservice.v1.IListNamespacesResponse>;
    },
    async RegisterNamespace(request) {
      const req = request as temporal.api.workflowservice.v1.IRegisterNamespaceRequest;
      const name = requireString(req.namespace, 'Namespace');
      if (!/^[a-zA-Z0-9][a-zA-Z0-9._-]*$/.test(name) || name.length > 255) throw new InvalidArgumentError(`Namespace name "${name}" is invalid.`);
      const retentionMs = durationToMs(req.workflowExecutionRetentionPeriod) || DEFAULT_RETENTION_MS;
      if (retentionMs < MIN_RETENTION_MS) throw new InvalidArgumentError('WorkflowExecutionRetentionPeriod must be at least 1 day.');
      await registry.register({ name, description: req.description ?? '', ownerEmail: req.ownerEmail ?? '', retentionMs, data: { ...(req.data ?? {}) } });
      return {};
    },
    // Deprecated by Temporal but still served: the namespace stops taking new workflows (StartWorkflowExecution
    // and SignalWithStartWorkflowExecution answer NamespaceInvalidState) and serves everything else.
    async DeprecateNamespace(request) {
      const req = request as temporal.api.workflowservice.v1.IDeprecateNamespaceRequest;
      const name = requireString(req.namespace, 'Namespace');
      if (registry.get(name).state !== NAMESPACE_STATE_DEPRECATED) await registry.update(name, { state: NAMESPACE_STATE_DEPRECATED });
      return {};
    },
    async UpdateNamespace(request) {
      const req = request as temporal.api.workflowservice.v1.IUpdateNamespaceRequest;
      const name = requireString(req.namespace, 'Namespace');
      const change: { -readonly [K in keyof Parameters<NamespaceRegistry['update']>[1]]: Parameters<NamespaceRegistry['update']>[1][K] } = {};
      if (req.updateInfo) {
        if (req.updateInfo.description) change.description = req.updateInfo.description;
        if (req.updateInfo.ownerEmail) change.ownerEmail = req.updateInfo.ownerEmail;
        if (req.updateInfo.data) change.data = { ...registry.get(name).data, ...req.updateInfo.data };
        const state = req.updateInfo.state ?? 0;
        if (state !== 0 && state !== registry.get(name).state) {
          // Temporal allows REGISTERED -> DEPRECATED or DELETED and DEPRECATED -> DELETED; Kairos deletes
          // a namespace only through the operator's DeleteNamespace.
          if (state !== NAMESPACE_STATE_DEPRECATED || registry.get(name).state !== NAMESPACE_STATE_REGISTERED) throw new InvalidArgumentError('Invalid namespace state update.');
          change.state = state;
        }
      }
      const ttl = req.config?.workflowExecutionRetentionTtl;
      if (ttl) {
        const ms = durationToMs(ttl);
        if (ms < MIN_RETENTION_MS) throw new InvalidArgumentError('WorkflowExecutionRetentionPeriod must be at least 1 day.');
        change.retentionMs = ms;
      }
      const updated = await registry.update(name, change);
      const d = describe(updated);
      return { namespaceInfo: d.namespaceInfo, config: d.config, replicationConfig: d.replicationConfig, isGlobalNamespace: false, failoverVersion: 0 };
    },
  };
}
void (null as unknown as WS);
