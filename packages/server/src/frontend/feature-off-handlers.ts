// Calls that Temporal's frontend serves only behind a feature flag that is off by default, or only with
// archival configured. Kairos has neither the features nor the flags, and answers them as Temporal does
// with the flag off (service/frontend/workflow_handler.go, errors.go), so that a client can tell "not
// enabled here" from a failure: the deprecated build-id versioning calls are PERMISSION_DENIED, the
// workflow rules and workflow pause are UNIMPLEMENTED with Temporal's texts, and listing archived
// executions is INVALID_ARGUMENT because no archival is configured.
import { api } from '@kairos/common';
import type { temporal } from '@temporalio/proto';
import { GrpcCode, InvalidArgumentError, ServiceError } from '../errors.js';
import type { ServiceHandlers } from './grpc-server.js';

/** The largest page Temporal's frontend accepts (frontend.visibilityMaxPageSize). */
const MAX_PAGE_SIZE = 1000;

function permissionDenied(message: string): ServiceError {
  return new ServiceError(GrpcCode.PERMISSION_DENIED, message, {
    typeName: 'temporal.api.errordetails.v1.PermissionDeniedFailure',
    value: api.errordetails.v1.PermissionDeniedFailure.encode({ reason: '' }).finish(),
  });
}

const versioningV1Off = (): Promise<never> => Promise.reject(permissionDenied('Worker versioning v0.1 (Version Set-based, deprecated) is disabled on this namespace.'));
const versioningV2Off = (): Promise<never> => Promise.reject(permissionDenied('Worker versioning v0.2 (Rules-based, deprecated) is disabled on this namespace.'));
const notSupported =
  (method: string) =>
  (): Promise<never> =>
    Promise.reject(new ServiceError(GrpcCode.UNIMPLEMENTED, `method ${method} not supported`));

export function featureOffHandlers(): ServiceHandlers {
  return {
    UpdateWorkerBuildIdCompatibility: versioningV1Off,
    GetWorkerBuildIdCompatibility: versioningV1Off,
    // Temporal checks the v0.1 flag here but answers with the v0.2 text.
    GetWorkerTaskReachability: versioningV2Off,
    UpdateWorkerVersioningRules: versioningV2Off,
    GetWorkerVersioningRules: versioningV2Off,

    CreateWorkflowRule: notSupported('CreateWorkflowRule'),
    DescribeWorkflowRule: notSupported('DescribeWorkflowRule'),
    DeleteWorkflowRule: notSupported('DeleteWorkflowRule'),
    ListWorkflowRules: notSupported('ListWorkflowRules'),
    TriggerWorkflowRule: notSupported('TriggerWorkflowRule'),

    async PauseWorkflowExecution(request) {
      const req = request as temporal.api.workflowservice.v1.IPauseWorkflowExecutionRequest;
      throw new ServiceError(GrpcCode.UNIMPLEMENTED, `workflow pause is not enabled for namespace: ${req.namespace ?? ''}`);
    },

    async ListArchivedWorkflowExecutions(request) {
      const req = request as temporal.api.workflowservice.v1.IListArchivedWorkflowExecutionsRequest;
      if ((req.pageSize ?? 0) > MAX_PAGE_SIZE) throw new InvalidArgumentError(`PageSize is larger than allowed ${MAX_PAGE_SIZE}.`);
      throw new InvalidArgumentError('Cluster is not configured for visibility archival.');
    },
  };
}
