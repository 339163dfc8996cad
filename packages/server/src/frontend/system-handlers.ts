// GetSystemInfo / GetClusterInfo. The capability flags are read by the SDKs (see the wire-contract
// notes): sdk_metadata must be true and its data persisted; activity_failure_include_heartbeat is
// honoured; build-id versioning is off so workers send binary checksums.
import type { ServiceHandlers } from './grpc-server.js';
import { SERVER_VERSION } from '../version.js';

export function systemHandlers(clusterId: string): ServiceHandlers {
  return {
    async GetSystemInfo() {
      return {
        serverVersion: SERVER_VERSION,
        capabilities: {
          signalAndQueryHeader: true,
          internalErrorDifferentiation: true,
          activityFailureIncludeHeartbeat: true,
          supportsSchedules: true,
          encodedFailureAttributes: true,
          buildIdBasedVersioning: true,
          upsertMemo: true,
          eagerWorkflowStart: true,
          sdkMetadata: true,
          countGroupByExecutionStatus: true,
          nexus: true,
        },
      };
    },
    async GetClusterInfo() {
      return {
        supportedClients: {},
        serverVersion: SERVER_VERSION,
        clusterId,
        clusterName: 'active',
        historyShardCount: 1,
        persistenceStore: 'sqlite',
        visibilityStore: 'sqlite',
        versionInfo: null,
        failoverVersionIncrement: 10,
        initialFailoverVersion: 1,
        isGlobalNamespaceEnabled: false,
      };
    },
  };
}
