/**
 * Standalone Nexus operations through the official client (`client.nexus`) and an official worker's
 * Nexus handlers: a synchronous result, an asynchronous operation backed by a workflow (its links both
 * ways, completed by the workflow's callback), an operation error, cancel and terminate, the id reuse
 * and conflict policies, describe, list and count.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { NexusOperationAlreadyStartedError, NexusOperationExecutionStatus, NexusOperationFailureError, NexusOperationIdConflictPolicy, NexusOperationIdReusePolicy } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, TerminatedFailure } from '@temporalio/common';
import * as nexus from 'nexus-rpc';
import * as temporalnexus from '@temporalio/nexus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnvironment, type E2EEnvironment } from './helpers/environment.js';
import { EventType } from './helpers/sdk.js';
import { goSignal, greetingService, nexusBlocker, nexusWaiter } from './workflows/index.js';

let env: E2EEnvironment;
let client: Client;

beforeAll(async () => {
  env = await startEnvironment({ extraArgs: ['--dynamic-config-value', 'nexusoperation.enableStandalone=true', '--dynamic-config-value', 'activity.enableCallbacks=true'] });
  ({ client } = env);
});

afterAll(async () => {
  await env?.close();
});

const handlers = nexus.serviceHandler(greetingService, {
  greet: async (_ctx, name) => `hello, ${name}`,
  greetLater: async (_ctx, name) => `hello later, ${name}`,
  refuse: async (_ctx, name) => {
    throw ApplicationFailure.create({ message: `no greeting for ${name}`, nonRetryable: true });
  },
  block: new temporalnexus.WorkflowRunOperationHandler<string, string>(async (ctx, name) =>
    temporalnexus.startWorkflow(ctx, nexusBlocker, { workflowId: `sa-blocker-${name}`, args: [] }),
  ),
  greetOnSignal: new temporalnexus.WorkflowRunOperationHandler<string, string>(async (ctx, name) =>
    temporalnexus.startWorkflow(ctx, nexusWaiter, { workflowId: `sa-waiter-${name}`, args: [name] }),
  ),
});

/**
 * Operations backed by a standalone activity (the handler starts it with the caller's completion
 * callback), and one that joins a workflow another operation may have started (USE_EXISTING).
 */
const activityService = nexus.service('activityService', {
  greetByActivity: nexus.operation<string, string>(),
  failByActivity: nexus.operation<string, string>(),
  joinWaiter: nexus.operation<string, string>(),
});

const activityHandlers = nexus.serviceHandler(activityService, {
  greetByActivity: new temporalnexus.TemporalOperationHandler<string, string>({
    async start(_ctx, nexusClient, name) {
      return await nexusClient.startActivity<string>('greet', { id: `sa-act-${name}`, args: [name], scheduleToCloseTimeout: '30s' });
    },
  }),
  failByActivity: new temporalnexus.TemporalOperationHandler<string, string>({
    async start(_ctx, nexusClient, key) {
      return await nexusClient.startActivity<string>('failNonRetryable', { id: `sa-act-${key}`, args: [key, 'refused by the activity'], scheduleToCloseTimeout: '30s' });
    },
  }),
  joinWaiter: new temporalnexus.WorkflowRunOperationHandler<string, string>(async (ctx, name) =>
    temporalnexus.startWorkflow(ctx, nexusWaiter, { workflowId: `sa-shared-${name}`, args: [name], workflowIdConflictPolicy: 'USE_EXISTING' }),
  ),
});

/** Runs `fn` with a worker serving the handlers on a fresh task queue behind a fresh endpoint. */
async function withEndpoint(fn: (endpoint: string) => Promise<void>): Promise<void> {
  await env.withTaskQueue('nexus-sa', async (taskQueue) => {
    const endpoint = `ep-${randomUUID().slice(0, 8)}`;
    await client.connection.operatorService.createNexusEndpoint({ spec: { name: endpoint, target: { worker: { namespace: 'default', taskQueue } } } });
    await fn(endpoint);
  }, { nexusServices: [handlers, activityHandlers] });
}

const service = (endpoint: string) => client.nexus.createServiceClient({ endpoint, service: greetingService });
const opId = () => `op-${randomUUID()}`;

describe('standalone Nexus operations', () => {
  it('returns a synchronous result, and describes the closed operation', async () => {
    await withEndpoint(async (endpoint) => {
      const handle = await service(endpoint).startOperation(greetingService.operations.greet, 'Ada', { id: opId(), scheduleToCloseTimeout: '20s', summary: 'say hello' });
      expect(handle.runId).toMatch(/^[0-9a-f-]{36}$/);
      expect(await handle.result()).toBe('hello, Ada');
      const desc = await handle.describe();
      expect(desc).toMatchObject({ operationId: handle.operationId, runId: handle.runId, endpoint, service: 'greetingService', operation: 'greet', status: NexusOperationExecutionStatus.COMPLETED });
      expect(await desc.staticSummary()).toBe('say hello');
      expect(desc.raw.scheduleToCloseTimeout?.seconds?.toString()).toBe('20');
      expect(desc.raw.closeTime).toBeTruthy();
      expect(desc.raw.attempt).toBe(1);
      expect(desc.raw.requestId).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  it('runs an asynchronous operation to the close of the workflow backing it, linked both ways', async () => {
    await withEndpoint(async (endpoint) => {
      const name = randomUUID().slice(0, 8);
      const handle = await service(endpoint).startOperation(greetingService.operations.greetOnSignal, name, { id: opId(), scheduleToCloseTimeout: '60s' });
      // Poll until the handler's async start is recorded: STARTED, with the handler's token and link.
      const raw = client.connection.workflowService;
      const started = await raw.pollNexusOperationExecution({ namespace: 'default', operationId: handle.operationId, runId: handle.runId, waitStage: 1 });
      expect(started.waitStage).toBe(1);
      expect(started.operationToken).toBeTruthy();
      const running = await handle.describe();
      expect(running.status).toBe(NexusOperationExecutionStatus.RUNNING);
      expect(running.raw.state).toBe(3); // PENDING_NEXUS_OPERATION_STATE_STARTED
      const wf = client.workflow.getHandle(`sa-waiter-${name}`);
      const wfDesc = await wf.describe();
      const link = running.raw.links?.find((l) => l.workflowEvent?.workflowId === wf.workflowId)?.workflowEvent;
      expect(link).toMatchObject({ namespace: 'default', runId: wfDesc.runId, eventRef: { eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED } });
      const back = wfDesc.raw.callbacks?.flatMap((c) => c.callback?.links ?? []).find((l) => l.nexusOperation)?.nexusOperation;
      expect(back).toMatchObject({ namespace: 'default', operationId: handle.operationId, runId: handle.runId });

      await wf.signal(goSignal);
      expect(await handle.result()).toBe(`go, ${name}`);
      const closed = await handle.describe();
      expect(closed.status).toBe(NexusOperationExecutionStatus.COMPLETED);
      expect(closed.raw.operationToken).toBe(started.operationToken);
    });
  });

  it('reports an operation failure with its cause', async () => {
    await withEndpoint(async (endpoint) => {
      const err = await service(endpoint).executeOperation(greetingService.operations.refuse, 'Bob', { id: opId(), scheduleToCloseTimeout: '20s' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NexusOperationFailureError);
      expect((err as NexusOperationFailureError).cause).toBeInstanceOf(nexus.HandlerError);
      expect((err as NexusOperationFailureError).cause?.cause).toBeInstanceOf(ApplicationFailure);
    });
  });

  it('cancels an operation through its handler, and terminates another without it', async () => {
    await withEndpoint(async (endpoint) => {
      const name = randomUUID().slice(0, 8);
      const canceled = await service(endpoint).startOperation(greetingService.operations.block, name, { id: opId(), scheduleToCloseTimeout: '60s' });
      await canceled.cancel('no longer needed');
      const err = await canceled.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NexusOperationFailureError);
      expect((err as NexusOperationFailureError).cause).toBeInstanceOf(CancelledFailure);
      const desc = await canceled.describe();
      expect(desc.status).toBe(NexusOperationExecutionStatus.CANCELED);
      expect(desc.raw.cancellationInfo).toMatchObject({ reason: 'no longer needed', state: 3 });
      // The workflow backing it was canceled by the handler.
      await expect(client.workflow.getHandle(`sa-blocker-${name}`).result()).rejects.toThrow();
      const raw = client.connection.workflowService;
      await expect(raw.requestCancelNexusOperationExecution({ namespace: 'default', operationId: canceled.operationId, requestId: randomUUID() })).rejects.toThrow(/operation already completed/);

      const other = randomUUID().slice(0, 8);
      const terminated = await service(endpoint).startOperation(greetingService.operations.block, other, { id: opId(), scheduleToCloseTimeout: '60s' });
      // Terminate only once the handler has started the workflow: a start still in flight is dropped.
      await raw.pollNexusOperationExecution({ namespace: 'default', operationId: terminated.operationId, runId: terminated.runId, waitStage: 1 });
      await terminated.terminate('stop');
      const terr = await terminated.result().catch((e: unknown) => e);
      expect((terr as NexusOperationFailureError).cause).toBeInstanceOf(TerminatedFailure);
      expect(((terr as NexusOperationFailureError).cause as Error).message).toBe('stop');
      expect((await terminated.describe()).status).toBe(NexusOperationExecutionStatus.TERMINATED);
      // Terminate does not go through the handler: the workflow backing the operation still runs.
      const blocker = client.workflow.getHandle(`sa-blocker-${other}`);
      expect((await blocker.describe()).status.name).toBe('RUNNING');
      await blocker.terminate();
    });
  });

  it('applies the id conflict and reuse policies', async () => {
    await withEndpoint(async (endpoint) => {
      const id = opId();
      const name = randomUUID().slice(0, 8);
      const first = await service(endpoint).startOperation(greetingService.operations.greetOnSignal, name, { id, scheduleToCloseTimeout: '60s' });
      await expect(service(endpoint).startOperation(greetingService.operations.greetOnSignal, name, { id, scheduleToCloseTimeout: '60s' })).rejects.toBeInstanceOf(NexusOperationAlreadyStartedError);
      const same = await service(endpoint).startOperation(greetingService.operations.greetOnSignal, name, { id, scheduleToCloseTimeout: '60s', idConflictPolicy: NexusOperationIdConflictPolicy.USE_EXISTING });
      expect(same.runId).toBe(first.runId);
      await client.connection.workflowService.pollNexusOperationExecution({ namespace: 'default', operationId: id, runId: first.runId, waitStage: 1 });
      await client.workflow.getHandle(`sa-waiter-${name}`).signal(goSignal);
      expect(await same.result()).toBe(`go, ${name}`);
      const rejected = await service(endpoint).startOperation(greetingService.operations.greet, 'x', { id, scheduleToCloseTimeout: '20s', idReusePolicy: NexusOperationIdReusePolicy.REJECT_DUPLICATE }).catch((e: unknown) => e);
      expect(rejected).toBeInstanceOf(NexusOperationAlreadyStartedError);
      const again = await service(endpoint).startOperation(greetingService.operations.greet, 'x', { id, scheduleToCloseTimeout: '20s' });
      expect(again.runId).not.toBe(first.runId);
      expect(await again.result()).toBe('hello, x');
    });
  });

  it('completes an operation backed by a standalone activity through the activity\'s callback', async () => {
    await withEndpoint(async (endpoint) => {
      const ops = client.nexus.createServiceClient({ endpoint, service: activityService });
      const name = randomUUID().slice(0, 8);
      const handle = await ops.startOperation(activityService.operations.greetByActivity, name, { id: opId(), scheduleToCloseTimeout: '30s' });
      expect(await handle.result()).toBe(`Hello, ${name}!`);
      // The activity records the delivery in a transition after the operation has its result.
      const callbackOf = async () => (await client.activity.getHandle(`sa-act-${name}`).describe()).rawCallbacks?.[0];
      await expect.poll(async () => (await callbackOf())?.info?.state, { timeout: 10_000 }).toBe(5); // CALLBACK_STATE_SUCCEEDED
      const callback = await callbackOf();
      expect(callback?.trigger?.activityClosed).toBeTruthy();
      expect(callback?.info?.callback?.links?.find((l) => l.nexusOperation)?.nexusOperation?.operationId).toBe(handle.operationId);
      expect(callback?.info?.callback?.nexus?.header?.['nexus-operation-token']).toBeTruthy();

      const key = randomUUID().slice(0, 8);
      const failed = await ops.executeOperation(activityService.operations.failByActivity, key, { id: opId(), scheduleToCloseTimeout: '30s' }).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(NexusOperationFailureError);
      expect(((failed as NexusOperationFailureError).cause as Error).message).toBe('refused by the activity');
    });
  });

  it('attaches a second operation\'s callback to the workflow it finds running (on_conflict_options)', async () => {
    await withEndpoint(async (endpoint) => {
      const ops = client.nexus.createServiceClient({ endpoint, service: activityService });
      const name = randomUUID().slice(0, 8);
      const raw = client.connection.workflowService;
      const first = await ops.startOperation(activityService.operations.joinWaiter, name, { id: opId(), scheduleToCloseTimeout: '30s' });
      await raw.pollNexusOperationExecution({ namespace: 'default', operationId: first.operationId, runId: first.runId, waitStage: 1 });
      const second = await ops.startOperation(activityService.operations.joinWaiter, name, { id: opId(), scheduleToCloseTimeout: '30s' });
      await raw.pollNexusOperationExecution({ namespace: 'default', operationId: second.operationId, runId: second.runId, waitStage: 1 });
      const wf = client.workflow.getHandle(`sa-shared-${name}`);
      const callbacks = (await wf.describe()).raw.callbacks ?? [];
      expect(callbacks.map((c) => c.callback?.links?.find((l) => l.nexusOperation)?.nexusOperation?.operationId)).toEqual([first.operationId, second.operationId]);
      await wf.signal(goSignal);
      expect(await first.result()).toBe(`go, ${name}`);
      expect(await second.result()).toBe(`go, ${name}`);
      const { events } = await wf.fetchHistory();
      const updated = events?.filter((e) => e.workflowExecutionOptionsUpdatedEventAttributes) ?? [];
      expect(updated).toHaveLength(1);
      expect(updated[0]!.workflowExecutionOptionsUpdatedEventAttributes!.attachedCompletionCallbacks).toHaveLength(1);
      expect(updated[0]!.workflowExecutionOptionsUpdatedEventAttributes!.attachedRequestId).toBeTruthy();
      expect(updated[0]!.workerMayIgnore).toBe(true);
    });
  });

  it('lists and counts operations by endpoint, grouped by status', async () => {
    await withEndpoint(async (endpoint) => {
      const ids = [opId(), opId(), opId()];
      await Promise.all(ids.map((id, i) => service(endpoint).executeOperation(greetingService.operations.greet, `n${i}`, { id, scheduleToCloseTimeout: '20s' })));
      const count = await client.nexus.count(`Endpoint="${endpoint}" GROUP BY ExecutionStatus`);
      expect(count.count).toBe(3);
      expect(count.groups).toHaveLength(1);
      expect(count.groups[0]!.count).toBe(3);
      const listed: string[] = [];
      for await (const op of client.nexus.list({ query: `Endpoint="${endpoint}" AND Service="greetingService"` })) {
        expect(op).toMatchObject({ endpoint, service: 'greetingService', operation: 'greet', status: NexusOperationExecutionStatus.COMPLETED });
        listed.push(op.operationId);
      }
      expect(listed.sort()).toEqual([...ids].sort());
      expect((await client.nexus.count(`Endpoint="${endpoint}" AND Operation="refuse"`)).count).toBe(0);
      // The listing is not the namespace's workflows'.
      expect((await client.workflow.count(`TaskQueue="${endpoint}"`)).count).toBe(0);
    });
  });

  it('refuses a start naming an endpoint that does not exist, or no operation id', async () => {
    const raw = client.connection.workflowService;
    const start = { namespace: 'default', operationId: opId(), endpoint: 'no-such-endpoint', service: 's', operation: 'o' };
    await expect(raw.startNexusOperationExecution(start)).rejects.toThrow(/could not find Nexus endpoint by name: no-such-endpoint/);
    await expect(raw.startNexusOperationExecution({ ...start, operationId: '' })).rejects.toThrow(/operation_id is required/);
    await expect(raw.pollNexusOperationExecution({ namespace: 'default', operationId: 'never-started' })).rejects.toThrow(/operation not found for ID: never-started/);
  });
});
