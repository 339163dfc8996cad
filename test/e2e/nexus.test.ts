/**
 * Nexus through the official SDK: endpoints on OperatorService, and workflows calling Nexus operations
 * served by an official worker's Nexus handlers — a synchronous result, an asynchronous operation run
 * by a workflow and completed by its close (the completion callback), an operation error, a cancel,
 * an unknown endpoint, and a schedule-to-start timeout when no worker serves the endpoint.
 */
import { randomUUID } from 'node:crypto';
import Long from 'long';
import type { Client } from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import { NexusOperationFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/common';
import * as nexus from 'nexus-rpc';
import * as temporalnexus from '@temporalio/nexus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnvironment, type E2EEnvironment } from './helpers/environment.js';
import { EventType, eventsOfType, uniqueTaskQueue, uniqueWorkflowId, type HistoryRecorder } from './helpers/sdk.js';
import { goSignal, greetingService, nexusBlocker, nexusCaller, nexusCanceller, nexusGreeter, nexusTimeoutCaller, nexusWaiter } from './workflows/index.js';

let env: E2EEnvironment;
let client: Client;
let recorder: HistoryRecorder;

beforeAll(async () => {
  env = await startEnvironment();
  ({ client, recorder } = env);
});

afterAll(async () => {
  await env?.close();
});

const operator = () => client.connection.operatorService;

async function createEndpoint(taskQueue: string): Promise<{ id: string; name: string; version: number }> {
  const name = `ep-${randomUUID().slice(0, 8)}`;
  const { endpoint } = await operator().createNexusEndpoint({ spec: { name, target: { worker: { namespace: 'default', taskQueue } } } });
  return { id: endpoint!.id!, name, version: Number(endpoint!.version) };
}

const handlers = nexus.serviceHandler(greetingService, {
  greet: async (_ctx, name) => `hello, ${name}`,
  greetLater: new temporalnexus.WorkflowRunOperationHandler<string, string>(async (ctx, name) =>
    temporalnexus.startWorkflow(ctx, nexusGreeter, { workflowId: `greeter-${name}`, args: [name] }),
  ),
  refuse: async (_ctx, name) => {
    throw new nexus.OperationError('failed', `no greeting for ${name}`);
  },
  block: new temporalnexus.WorkflowRunOperationHandler<string, string>(async (ctx, name) =>
    temporalnexus.startWorkflow(ctx, nexusBlocker, { workflowId: `blocker-${name}`, args: [] }),
  ),
  greetOnSignal: new temporalnexus.WorkflowRunOperationHandler<string, string>(async (ctx, name) =>
    temporalnexus.startWorkflow(ctx, nexusWaiter, { workflowId: `waiter-${name}`, args: [name] }),
  ),
});

describe('Nexus endpoints', () => {
  it('creates, reads, lists, updates and deletes an endpoint, with Temporal\'s errors', async () => {
    const created = await createEndpoint('tq-a');
    expect(created.version).toBe(1);
    const got = (await operator().getNexusEndpoint({ id: created.id })).endpoint!;
    expect(got.spec?.name).toBe(created.name);
    expect(got.spec?.target?.worker).toMatchObject({ namespace: 'default', taskQueue: 'tq-a' });
    expect(got.urlPrefix).toBe(`/nexus/endpoints/${created.id}/services`);
    expect(got.lastModifiedTime).toBeFalsy();
    const byName = await operator().listNexusEndpoints({ name: created.name });
    expect(byName.endpoints?.map((e) => e.id)).toEqual([created.id]);

    await expect(operator().createNexusEndpoint({ spec: { name: created.name, target: { worker: { namespace: 'default', taskQueue: 'x' } } } })).rejects.toThrow(/already registered/);
    await expect(operator().createNexusEndpoint({ spec: { name: 'bad name!', target: { worker: { namespace: 'default', taskQueue: 'x' } } } })).rejects.toThrow(/must match the regex/);
    await expect(operator().createNexusEndpoint({ spec: { name: 'no-such-ns', target: { worker: { namespace: 'nope', taskQueue: 'x' } } } })).rejects.toThrow(/could not verify namespace/);

    const updated = (await operator().updateNexusEndpoint({ id: created.id, version: Long.fromNumber(created.version), spec: { name: created.name, target: { worker: { namespace: 'default', taskQueue: 'tq-b' } } } })).endpoint!;
    expect(Number(updated.version)).toBe(2);
    expect(updated.spec?.target?.worker?.taskQueue).toBe('tq-b');
    expect(updated.lastModifiedTime).toBeTruthy();
    await expect(operator().updateNexusEndpoint({ id: created.id, version: Long.fromNumber(1), spec: { name: created.name, target: { worker: { namespace: 'default', taskQueue: 'tq-c' } } } })).rejects.toThrow(/version mismatch/);

    await operator().deleteNexusEndpoint({ id: created.id, version: Long.fromNumber(2) });
    await expect(operator().getNexusEndpoint({ id: created.id })).rejects.toThrow(/not/i);
  });
});

describe('Nexus operations from a workflow', () => {
  it('returns a synchronous result, and writes Scheduled then Completed', async () => {
    await env.withTaskQueue('nexus-sync', async (taskQueue) => {
      const endpoint = await createEndpoint(taskQueue);
      const handle = recorder.record(await client.workflow.start(nexusCaller, { taskQueue, workflowId: uniqueWorkflowId('nexus-sync'), args: [endpoint.name, 'greet', 'Ada'] }));
      expect(await handle.result()).toBe('hello, Ada');
      const history = await handle.fetchHistory();
      const [scheduled] = eventsOfType(history, EventType.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED);
      expect(scheduled?.nexusOperationScheduledEventAttributes).toMatchObject({ endpoint: endpoint.name, endpointId: endpoint.id, service: 'greetingService', operation: 'greet' });
      const [completed] = eventsOfType(history, EventType.EVENT_TYPE_NEXUS_OPERATION_COMPLETED);
      expect(Number(completed?.nexusOperationCompletedEventAttributes?.scheduledEventId)).toBe(Number(scheduled?.eventId));
      expect(eventsOfType(history, EventType.EVENT_TYPE_NEXUS_OPERATION_STARTED)).toHaveLength(0);
      // The worker's Nexus poller is listed under the queue's NEXUS type.
      const described = await client.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue }, taskQueueType: 3 /* NEXUS */ });
      expect(described.pollers?.length).toBeGreaterThan(0);
    }, { nexusServices: [handlers] });
  });

  it('runs an asynchronous operation as a workflow whose close completes it, with links both ways', async () => {
    await env.withTaskQueue('nexus-async', async (taskQueue) => {
      const endpoint = await createEndpoint(taskQueue);
      const name = `Grace-${randomUUID().slice(0, 6)}`;
      const handle = recorder.record(await client.workflow.start(nexusCaller, { taskQueue, workflowId: uniqueWorkflowId('nexus-async'), args: [endpoint.name, 'greetLater', name] }));
      expect(await handle.result()).toBe(`later, ${name}`);
      const history = await handle.fetchHistory();
      const [started] = eventsOfType(history, EventType.EVENT_TYPE_NEXUS_OPERATION_STARTED);
      expect(started?.nexusOperationStartedEventAttributes?.operationToken).toBeTruthy();
      // The caller's Started event links to the handler run's first event ...
      expect(started?.links?.[0]?.workflowEvent).toMatchObject({ namespace: 'default', workflowId: `greeter-${name}` });
      expect(eventsOfType(history, EventType.EVENT_TYPE_NEXUS_OPERATION_COMPLETED)).toHaveLength(1);
      // ... and the handler run carries the caller's callback and a link to its Scheduled event.
      const greeter = recorder.record(client.workflow.getHandle(`greeter-${name}`));
      const first = (await greeter.fetchHistory()).events?.[0];
      expect(first?.workflowExecutionStartedEventAttributes?.completionCallbacks?.[0]?.nexus?.url).toBe('temporal://system');
      const callerLink = first?.workflowExecutionStartedEventAttributes?.completionCallbacks?.[0]?.links?.[0]?.workflowEvent;
      expect(callerLink).toMatchObject({ workflowId: handle.workflowId, eventRef: { eventType: EventType.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED } });
      // The handler run records the delivery in a transition of its own, after the caller has the result.
      const callbackState = async () => (await client.workflowService.describeWorkflowExecution({ namespace: 'default', execution: { workflowId: `greeter-${name}` } })).callbacks?.[0]?.state;
      await expect.poll(callbackState, { timeout: 10_000 }).toBe(5 /* SUCCEEDED */);
    }, { nexusServices: [handlers] });
  });

  it('fails the caller with the handler\'s operation error', async () => {
    await env.withTaskQueue('nexus-error', async (taskQueue) => {
      const endpoint = await createEndpoint(taskQueue);
      const handle = recorder.record(await client.workflow.start(nexusCaller, { taskQueue, workflowId: uniqueWorkflowId('nexus-error'), args: [endpoint.name, 'refuse', 'Eve'] }));
      const err = await handle.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause;
      expect(cause).toBeInstanceOf(NexusOperationFailure);
      expect((cause as NexusOperationFailure).cause).toBeInstanceOf(ApplicationFailure);
      expect((cause as NexusOperationFailure).cause?.message).toBe('no greeting for Eve');
      expect(eventsOfType(await handle.fetchHistory(), EventType.EVENT_TYPE_NEXUS_OPERATION_FAILED)).toHaveLength(1);
    }, { nexusServices: [handlers] });
  });

  it('cancels a started operation: the cancel reaches the handler, whose run is canceled', async () => {
    await env.withTaskQueue('nexus-cancel', async (taskQueue) => {
      const endpoint = await createEndpoint(taskQueue);
      const name = `Bob-${randomUUID().slice(0, 6)}`;
      const handle = recorder.record(await client.workflow.start(nexusCanceller, { taskQueue, workflowId: uniqueWorkflowId('nexus-cancel'), args: [endpoint.name, name] }));
      expect(await handle.result()).toBe('canceled');
      const types = (await handle.fetchHistory()).events?.map((e) => e.eventType) ?? [];
      for (const type of [
        EventType.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED,
        EventType.EVENT_TYPE_NEXUS_OPERATION_STARTED,
        EventType.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUESTED,
        EventType.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUEST_COMPLETED,
        EventType.EVENT_TYPE_NEXUS_OPERATION_CANCELED,
      ]) expect(types).toContain(type);
      const blocker = await client.workflow.getHandle(`blocker-${name}`).describe();
      expect(blocker.status.name).toBe('CANCELLED');
    }, { nexusServices: [handlers] });
  });

  it('fails the workflow task for an endpoint that is not registered', async () => {
    await env.withTaskQueue('nexus-unknown', async (taskQueue) => {
      const handle = recorder.record(await client.workflow.start(nexusCaller, { taskQueue, workflowId: uniqueWorkflowId('nexus-unknown'), args: ['no-such-endpoint', 'greet', 'x'] }));
      await expect.poll(async () => eventsOfType(await handle.fetchHistory(), EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED).length, { timeout: 15_000 }).toBeGreaterThan(0);
      const [failed] = eventsOfType(await handle.fetchHistory(), EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED);
      expect(failed?.workflowTaskFailedEventAttributes?.failure?.message).toContain('endpoint "no-such-endpoint" not found');
      await handle.terminate();
    });
  });

  it('times out an operation nobody serves, retrying it meanwhile (DescribeWorkflowExecution shows the attempts)', async () => {
    const endpoint = await createEndpoint(uniqueTaskQueue('nobody-polls'));
    await env.withTaskQueue('nexus-timeout', async (taskQueue) => {
      const handle = recorder.record(await client.workflow.start(nexusTimeoutCaller, { taskQueue, workflowId: uniqueWorkflowId('nexus-timeout'), args: [endpoint.name] }));
      await expect.poll(async () => {
        const d = await client.workflowService.describeWorkflowExecution({ namespace: 'default', execution: { workflowId: handle.workflowId } });
        return d.pendingNexusOperations?.[0]?.lastAttemptFailure?.message ?? '';
      }, { timeout: 20_000, interval: 500 }).toBe('upstream timeout');
      const err = await handle.result().catch((e: unknown) => e);
      const cause = (err as WorkflowFailedError).cause as NexusOperationFailure;
      expect(cause).toBeInstanceOf(NexusOperationFailure);
      expect(cause.cause).toBeInstanceOf(TimeoutFailure);
      expect(eventsOfType(await handle.fetchHistory(), EventType.EVENT_TYPE_NEXUS_OPERATION_TIMED_OUT)).toHaveLength(1);
    });
  }, 60_000);

  it('survives a SIGKILL of the server: the started operation is completed by its callback after the restart', async () => {
    await env.withTaskQueue('nexus-crash', async (taskQueue) => {
      const endpoint = await createEndpoint(taskQueue);
      const name = `Kim-${randomUUID().slice(0, 6)}`;
      const handle = recorder.record(await client.workflow.start(nexusCaller, { taskQueue, workflowId: uniqueWorkflowId('nexus-crash'), args: [endpoint.name, 'greetOnSignal', name] }));
      await expect.poll(async () => eventsOfType(await handle.fetchHistory(), EventType.EVENT_TYPE_NEXUS_OPERATION_STARTED).length, { timeout: 15_000 }).toBe(1);
      await env.server.kill('SIGKILL');
      await env.server.restart();
      // The callback the handler run carries, and the operation the caller waits on, were both on disk.
      await client.workflow.getHandle(`waiter-${name}`).signal(goSignal);
      expect(await handle.result()).toBe(`go, ${name}`);
      expect(eventsOfType(await handle.fetchHistory(), EventType.EVENT_TYPE_NEXUS_OPERATION_COMPLETED)).toHaveLength(1);
    }, { nexusServices: [handlers] });
  }, 90_000);

  it('keeps a started operation through a reset of the caller: the completion reaches the reset run', async () => {
    await env.withTaskQueue('nexus-reset', async (taskQueue) => {
      const endpoint = await createEndpoint(taskQueue);
      const name = `Lin-${randomUUID().slice(0, 6)}`;
      const handle = recorder.record(await client.workflow.start(nexusCaller, { taskQueue, workflowId: uniqueWorkflowId('nexus-reset'), args: [endpoint.name, 'greetOnSignal', name] }));
      // The workflow task that the Started event triggered has completed: reset to its end.
      const lastCompleted = async () => {
        const events = (await handle.fetchHistory()).events ?? [];
        const started = events.find((e) => e.eventType === EventType.EVENT_TYPE_NEXUS_OPERATION_STARTED);
        const completed = events.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED).at(-1);
        return started && completed && Number(completed.eventId) > Number(started.eventId) ? Number(completed.eventId) : 0;
      };
      await expect.poll(lastCompleted, { timeout: 15_000 }).toBeGreaterThan(0);
      const { runId } = await client.workflowService.resetWorkflowExecution({
        namespace: 'default',
        workflowExecution: { workflowId: handle.workflowId },
        workflowTaskFinishEventId: Long.fromNumber(await lastCompleted()),
        requestId: randomUUID(),
        reason: 'nexus reset',
      });
      const described = await client.workflowService.describeWorkflowExecution({ namespace: 'default', execution: { workflowId: handle.workflowId, runId } });
      expect(described.pendingNexusOperations?.[0]).toMatchObject({ operation: 'greetOnSignal', state: 3 /* STARTED */ });
      // The handler run's callback names the run that was reset; its completion goes on to the reset run.
      await client.workflow.getHandle(`waiter-${name}`).signal(goSignal);
      const reset = recorder.record(client.workflow.getHandle(handle.workflowId, runId));
      expect(await reset.result()).toBe(`go, ${name}`);
      expect(eventsOfType(await reset.fetchHistory(), EventType.EVENT_TYPE_NEXUS_OPERATION_COMPLETED)).toHaveLength(1);
      const current = await client.workflowService.describeWorkflowExecution({ namespace: 'default', execution: { workflowId: handle.workflowId } });
      expect(current.workflowExecutionInfo?.execution?.runId).toBe(runId);
    }, { nexusServices: [handlers] });
  });
});
