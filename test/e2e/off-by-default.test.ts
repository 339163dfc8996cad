/**
 * Calls Temporal serves only behind a flag that is off by default answer as Temporal's do with the flag
 * off; ListTaskQueuePartitions names the queue's one partition; a deprecated namespace stops taking new
 * workflows and serves everything else.
 */
import { randomUUID } from 'node:crypto';
import Long from 'long';
import { status as grpcStatus } from '@grpc/grpc-js';
import { api, google } from '@kairos/common';
import { describe, expect, it } from 'vitest';
import { protocolSuite } from './helpers/environment.js';
import { uniqueTaskQueue, uniqueWorkflowId } from './helpers/sdk.js';

const suite = protocolSuite();
const service = () => suite.conns.connection.workflowService;

/** Runs `call` and returns the gRPC error it must raise, with its status details' first type. */
async function grpcError(call: () => Promise<unknown>): Promise<{ code: number; details: string; detailType: string }> {
  try {
    await call();
  } catch (err) {
    const e = err as { code?: number; details?: string; message?: string; metadata?: { get(key: string): Array<string | Buffer> } };
    const bin = e.metadata?.get('grpc-status-details-bin')?.[0];
    const status = bin ? google.rpc.Status.decode(bin as Buffer) : null;
    return { code: e.code ?? -1, details: e.details ?? e.message ?? '', detailType: status?.details?.[0]?.type_url?.split('/').pop() ?? '' };
  }
  throw new Error('expected the call to fail');
}

describe('calls of features that are off by default', () => {
  it('refuses the deprecated build-id versioning calls as disabled (PERMISSION_DENIED)', async () => {
    const taskQueue = uniqueTaskQueue('off');
    const v1 = 'Worker versioning v0.1 (Version Set-based, deprecated) is disabled on this namespace.';
    const v2 = 'Worker versioning v0.2 (Rules-based, deprecated) is disabled on this namespace.';
    const calls: Array<[() => Promise<unknown>, string]> = [
      [() => service().getWorkerBuildIdCompatibility({ namespace: 'default', taskQueue }), v1],
      [() => service().updateWorkerBuildIdCompatibility({ namespace: 'default', taskQueue, addNewBuildIdInNewDefaultSet: 'b1' }), v1],
      [() => service().getWorkerTaskReachability({ namespace: 'default', buildIds: ['b1'] }), v2],
      [() => service().getWorkerVersioningRules({ namespace: 'default', taskQueue }), v2],
      [() => service().updateWorkerVersioningRules({ namespace: 'default', taskQueue }), v2],
    ];
    for (const [call, message] of calls) {
      expect(await grpcError(call)).toEqual({ code: grpcStatus.PERMISSION_DENIED, details: message, detailType: 'temporal.api.errordetails.v1.PermissionDeniedFailure' });
    }
  });

  it('answers workflow rules and workflow pause as not enabled, and archived listings as not configured', async () => {
    const rules: Array<[string, () => Promise<unknown>]> = [
      ['CreateWorkflowRule', () => service().createWorkflowRule({ namespace: 'default', spec: { id: 'r1' } })],
      ['DescribeWorkflowRule', () => service().describeWorkflowRule({ namespace: 'default', ruleId: 'r1' })],
      ['DeleteWorkflowRule', () => service().deleteWorkflowRule({ namespace: 'default', ruleId: 'r1' })],
      ['ListWorkflowRules', () => service().listWorkflowRules({ namespace: 'default' })],
      ['TriggerWorkflowRule', () => service().triggerWorkflowRule({ namespace: 'default', execution: { workflowId: 'w' } })],
    ];
    for (const [method, call] of rules) expect(await grpcError(call)).toMatchObject({ code: grpcStatus.UNIMPLEMENTED, details: `method ${method} not supported` });
    expect(await grpcError(() => service().pauseWorkflowExecution({ namespace: 'default', workflowId: 'w', reason: 'r' }))).toMatchObject({
      code: grpcStatus.UNIMPLEMENTED,
      details: 'workflow pause is not enabled for namespace: default',
    });
    expect(await grpcError(() => service().listArchivedWorkflowExecutions({ namespace: 'default', query: '' }))).toMatchObject({
      code: grpcStatus.INVALID_ARGUMENT,
      details: 'Cluster is not configured for visibility archival.',
    });
    expect(await grpcError(() => service().listArchivedWorkflowExecutions({ namespace: 'default', pageSize: 1001 }))).toMatchObject({
      code: grpcStatus.INVALID_ARGUMENT,
      details: 'PageSize is larger than allowed 1000.',
    });
  });
});

describe('ListTaskQueuePartitions', () => {
  it("names the queue's one partition of each type, owned by this server", async () => {
    const taskQueue = uniqueTaskQueue('partitions');
    const answer = await service().listTaskQueuePartitions({ namespace: 'default', taskQueue: { name: taskQueue } });
    for (const partitions of [answer.activityTaskQueuePartitions, answer.workflowTaskQueuePartitions]) {
      expect(partitions).toHaveLength(1);
      expect(partitions![0]!.key).toBe(taskQueue);
      expect(partitions![0]!.ownerHostName).toMatch(/^[^:]+:\d+$/);
    }
    expect(await grpcError(() => service().listTaskQueuePartitions({ namespace: 'default', taskQueue: { name: '' } }))).toMatchObject({ code: grpcStatus.INVALID_ARGUMENT });
    expect(await grpcError(() => service().listTaskQueuePartitions({ namespace: 'no-such-namespace', taskQueue: { name: taskQueue } }))).toMatchObject({ code: grpcStatus.NOT_FOUND });
  });
});

describe('a deprecated namespace', () => {
  it('refuses new workflows with NamespaceInvalidState and serves the runs it has', async () => {
    const namespace = `deprecated-${randomUUID().slice(0, 8)}`;
    await service().registerNamespace({ namespace, workflowExecutionRetentionPeriod: { seconds: Long.fromNumber(86_400) } });
    const start = (workflowId: string) =>
      service().startWorkflowExecution({ namespace, workflowId, workflowType: { name: 'w' }, taskQueue: { name: uniqueTaskQueue('deprecated') }, requestId: randomUUID() });
    const workflowId = uniqueWorkflowId('before');
    await start(workflowId);

    await service().deprecateNamespace({ namespace });
    const described = await service().describeNamespace({ namespace });
    expect(described.namespaceInfo?.state).toBe(api.enums.v1.NamespaceState.NAMESPACE_STATE_DEPRECATED);

    const refused = {
      code: grpcStatus.FAILED_PRECONDITION,
      details: 'Namespace has invalid state: Deprecated. Must be Registered.',
      detailType: 'temporal.api.errordetails.v1.NamespaceInvalidStateFailure',
    };
    expect(await grpcError(() => start(uniqueWorkflowId('after')))).toEqual(refused);
    expect(
      await grpcError(() =>
        service().signalWithStartWorkflowExecution({ namespace, workflowId: uniqueWorkflowId('after'), workflowType: { name: 'w' }, taskQueue: { name: 'q' }, signalName: 's', requestId: randomUUID() }),
      ),
    ).toEqual(refused);
    // The run it has is still served: signalled, described, terminated.
    await service().signalWorkflowExecution({ namespace, workflowExecution: { workflowId }, signalName: 's', requestId: randomUUID() });
    await service().terminateWorkflowExecution({ namespace, workflowExecution: { workflowId }, reason: 'done' });
    const run = await service().describeWorkflowExecution({ namespace, execution: { workflowId } });
    expect(run.workflowExecutionInfo?.status).toBe(api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED);

    // Deprecating again is a no-op; a deprecated namespace cannot go back to registered.
    await service().deprecateNamespace({ namespace });
    expect(await grpcError(() => service().updateNamespace({ namespace, updateInfo: { state: api.enums.v1.NamespaceState.NAMESPACE_STATE_REGISTERED } }))).toMatchObject({
      code: grpcStatus.INVALID_ARGUMENT,
      details: 'Invalid namespace state update.',
    });
    expect(await grpcError(() => service().deprecateNamespace({ namespace: 'no-such-namespace' }))).toMatchObject({ code: grpcStatus.NOT_FOUND });
  });

  it('can be deprecated through UpdateNamespace too', async () => {
    const namespace = `deprecated-${randomUUID().slice(0, 8)}`;
    await service().registerNamespace({ namespace, workflowExecutionRetentionPeriod: { seconds: Long.fromNumber(86_400) } });
    await service().updateNamespace({ namespace, updateInfo: { state: api.enums.v1.NamespaceState.NAMESPACE_STATE_DEPRECATED } });
    expect((await service().describeNamespace({ namespace })).namespaceInfo?.state).toBe(api.enums.v1.NamespaceState.NAMESPACE_STATE_DEPRECATED);
  });
});
