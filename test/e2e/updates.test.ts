/**
 * Workflow updates through the official SDK: accepted and completed with a result, rejected by a
 * validator (no history events), de-duplicated by update id, started with WAITING_FOR ACCEPTED and
 * awaited later, update-with-start, outcomes polled after the workflow closed, updates to a closed
 * workflow, the in-flight limit, and an update caught by continue-as-new landing on the new run.
 */
import { randomUUID } from 'node:crypto';
import {
  Connection,
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateStage,
  type Client,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as activities from './activities.js';
import { activityProbe, openGate } from './activities.js';
import { startEnvironment, type E2EEnvironment } from './helpers/environment.js';
import { EventType, eventsOfType, eventTypeNames, uniqueTaskQueue, uniqueWorkflowId, waitFor, waitForHistory, withWorker, type HistoryRecorder } from './helpers/sdk.js';
import { addCallsQuery, addUpdate, bigUpdate, continueWithUpdatesWorkflow, counterWorkflow, counterFinishSignal, releaseSignal, slowUpdate } from './workflows/index.js';

const Stage = proto.temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage;

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

async function startCounter(taskQueue: string, initial = 0): Promise<WorkflowHandleWithFirstExecutionRunId<typeof counterWorkflow>> {
  return recorder.record(await client.workflow.start(counterWorkflow, { taskQueue, workflowId: uniqueWorkflowId('counter'), args: [initial] }));
}

async function finish(handle: WorkflowHandle<typeof counterWorkflow>): Promise<number> {
  await handle.signal(counterFinishSignal);
  return await handle.result();
}

describe('UpdateWorkflowExecution', () => {
  it('accepts and completes an update, returning its result', async () => {
    await env.withTaskQueue('update-basic', async (taskQueue) => {
      const handle = await startCounter(taskQueue, 10);
      expect(await handle.executeUpdate(addUpdate, { args: [5] })).toBe(15);
      expect(await handle.executeUpdate(addUpdate, { args: [7] })).toBe(22);
      expect(await finish(handle)).toBe(22);
      const history = await handle.fetchHistory();
      const accepted = eventsOfType(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED);
      const completed = eventsOfType(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED);
      expect(accepted).toHaveLength(2);
      expect(completed).toHaveLength(2);
      const acceptedAttrs = accepted[0]!.workflowExecutionUpdateAcceptedEventAttributes!;
      expect(acceptedAttrs.acceptedRequest?.input?.name).toBe('add');
      expect(acceptedAttrs.acceptedRequestMessageId).toBe(`${acceptedAttrs.protocolInstanceId}/request`);
      expect(Number(completed[0]!.workflowExecutionUpdateCompletedEventAttributes!.acceptedEventId)).toBe(Number(accepted[0]!.eventId));
      expect(completed[0]!.workflowExecutionUpdateCompletedEventAttributes!.meta?.updateId).toBe(acceptedAttrs.protocolInstanceId);
    });
  });

  it('delivers an update to a workflow whose start is delayed at once, ending the delay as Temporal does', async () => {
    await env.withTaskQueue('update-start-delay', async (taskQueue) => {
      const handle = recorder.record(await client.workflow.start(counterWorkflow, { taskQueue, workflowId: uniqueWorkflowId('update-delayed'), args: [1], startDelay: '1 day' }));
      expect(await handle.executeUpdate(addUpdate, { args: [2] })).toBe(3);
      expect(await finish(handle)).toBe(3);
      const names = eventTypeNames(await handle.fetchHistory());
      expect(names.slice(0, 4)).toEqual(['WORKFLOW_EXECUTION_STARTED', 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED', 'WORKFLOW_TASK_COMPLETED']);
    });
  });

  it('rejects an update in its validator without writing any event for it', async () => {
    await env.withTaskQueue('update-reject', async (taskQueue) => {
      const handle = await startCounter(taskQueue, 1);
      // Once the first task completed, nothing is pending: the update gets a speculative task.
      const idle = await waitForHistory(handle, (h) => eventsOfType(h, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED).length > 0);
      const before = idle.events?.length ?? 0;
      const err = await handle.executeUpdate(addUpdate, { args: [-3] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
      // The workflow task that carried it was speculative and is discarded: not one event more.
      expect((await handle.fetchHistory()).events?.length ?? 0).toBe(before);
      expect(((err as WorkflowUpdateFailedError).cause as Error | undefined)?.message).toContain('cannot add a negative number: -3');
      // The workflow is unharmed and takes the next update.
      expect(await handle.executeUpdate(addUpdate, { args: [2] })).toBe(3);
      expect(await handle.query(addCallsQuery)).toBe(1);
      expect(await finish(handle)).toBe(3);
      const history = await handle.fetchHistory();
      expect(eventsOfType(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)).toHaveLength(1);
      expect(eventsOfType(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)).toHaveLength(1);
    });
  });

  it('de-duplicates updates by update id: the handler runs once and every caller gets its result', async () => {
    await env.withTaskQueue('update-dedupe', async (taskQueue) => {
      const handle = await startCounter(taskQueue, 100);
      const updateId = `dedupe-${randomUUID()}`;
      const [a, b] = await Promise.all([
        handle.executeUpdate(addUpdate, { args: [1], updateId }),
        handle.executeUpdate(addUpdate, { args: [1], updateId }),
      ]);
      expect([a, b]).toEqual([101, 101]);
      // Once more after completion: still the first outcome, no second run of the handler.
      expect(await handle.executeUpdate(addUpdate, { args: [50], updateId })).toBe(101);
      expect(await handle.query(addCallsQuery)).toBe(1);
      expect(await finish(handle)).toBe(101);
      expect(eventsOfType(await handle.fetchHistory(), EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)).toHaveLength(1);
    });
  });

  it('returns at ACCEPTED when asked to, and the handle later yields the result', async () => {
    await env.withTaskQueue('update-accepted', async (taskQueue) => {
      const handle = await startCounter(taskQueue);
      const updateHandle = await handle.startUpdate(slowUpdate, { args: ['one'], waitForStage: WorkflowUpdateStage.ACCEPTED });
      expect(updateHandle.workflowRunId).toBe(handle.firstExecutionRunId);
      let history = await handle.fetchHistory();
      expect(eventTypeNames(history)).toContain('WORKFLOW_EXECUTION_UPDATE_ACCEPTED');
      expect(eventTypeNames(history)).not.toContain('WORKFLOW_EXECUTION_UPDATE_COMPLETED');
      // The raw RPC reports the stage reached when asked for ACCEPTED only.
      const raw = await env.sdk.connection.workflowService.pollWorkflowExecutionUpdate({
        namespace: 'default',
        updateRef: { workflowExecution: { workflowId: handle.workflowId, runId: updateHandle.workflowRunId }, updateId: updateHandle.updateId },
        waitPolicy: { lifecycleStage: Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED },
      });
      expect(raw.stage).toBe(Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED);
      expect(raw.outcome).toBeFalsy();
      await handle.signal(releaseSignal);
      expect(await updateHandle.result()).toBe('slow one done');
      expect(await handle.getUpdateHandle<string>(updateHandle.updateId).result()).toBe('slow one done');
      expect(await finish(handle)).toBe(0);
      history = await handle.fetchHistory();
      expect(eventsOfType(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)).toHaveLength(1);
    });
  });

  it('carries a large update result (read back from history)', async () => {
    await env.withTaskQueue('update-big', async (taskQueue) => {
      const handle = await startCounter(taskQueue);
      const updateId = `big-${randomUUID()}`;
      expect((await handle.executeUpdate(bigUpdate, { args: [100_000], updateId })).length).toBe(100_000);
      expect((await handle.getUpdateHandle<string>(updateId).result()).length).toBe(100_000);
      expect(await finish(handle)).toBe(0);
    });
  });

  it('refuses an eleventh in-flight update with RESOURCE_EXHAUSTED', async () => {
    await env.withTaskQueue('update-limit', async (taskQueue) => {
      const handle = await startCounter(taskQueue);
      const handles = await Promise.all(
        Array.from({ length: 10 }, (_, i) => handle.startUpdate(slowUpdate, { args: [`n${i}`], waitForStage: WorkflowUpdateStage.ACCEPTED })),
      );
      expect(handles).toHaveLength(10);
      // A connection without the client's retries, to see the server's answer.
      const raw = await Connection.connect({ address: env.server.address, interceptors: [] });
      try {
        const err = await raw.workflowService
          .updateWorkflowExecution({
            namespace: 'default',
            workflowExecution: { workflowId: handle.workflowId },
            request: { meta: { updateId: randomUUID() }, input: { name: 'slow', args: { payloads: [] } } },
            waitPolicy: { lifecycleStage: Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED },
          })
          .catch((e: unknown) => e);
        expect((err as { code?: number }).code).toBe(8 /* RESOURCE_EXHAUSTED */);
        expect(String((err as Error).message)).toContain('in-flight updates');
      } finally {
        await raw.close();
      }
      await handle.signal(releaseSignal);
      expect(await Promise.all(handles.map((h) => h.result()))).toEqual(Array.from({ length: 10 }, (_, i) => `slow n${i} done`));
      expect(await finish(handle)).toBe(0);
    });
  });
});

describe('update-with-start', () => {
  it('starts the workflow with the update, then updates the running workflow', async () => {
    await env.withTaskQueue('update-with-start', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('uws');
      const operation = () =>
        new WithStartWorkflowOperation(counterWorkflow, { workflowId, taskQueue, args: [100], workflowIdConflictPolicy: 'USE_EXISTING' });
      const first = operation();
      expect(await client.workflow.executeUpdateWithStart(addUpdate, { args: [1], startWorkflowOperation: first })).toBe(101);
      const handle = recorder.record(await first.workflowHandle());
      const history = await handle.fetchHistory();
      // The update came with the first workflow task: accepted right after its completion.
      expect(eventTypeNames(history).slice(0, 5)).toEqual([
        'WORKFLOW_EXECUTION_STARTED',
        'WORKFLOW_TASK_SCHEDULED',
        'WORKFLOW_TASK_STARTED',
        'WORKFLOW_TASK_COMPLETED',
        'WORKFLOW_EXECUTION_UPDATE_ACCEPTED',
      ]);
      const second = operation();
      const updateHandle = await client.workflow.startUpdateWithStart(addUpdate, {
        args: [2],
        startWorkflowOperation: second,
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      });
      expect(await updateHandle.result()).toBe(103);
      // The second call updated the running workflow instead of starting another run.
      const firstRunId = (await handle.describe()).runId;
      expect(updateHandle.workflowRunId).toBe(firstRunId);
      expect((await (await second.workflowHandle()).describe()).runId).toBe(firstRunId);
      await handle.signal(counterFinishSignal);
      expect(await handle.result()).toBe(103);
    });
  });

  it('fails the start with the conflict policy FAIL when the workflow is running', async () => {
    await env.withTaskQueue('uws-conflict', async (taskQueue) => {
      const handle = await startCounter(taskQueue);
      const operation = new WithStartWorkflowOperation(counterWorkflow, {
        workflowId: handle.workflowId,
        taskQueue,
        args: [0],
        workflowIdConflictPolicy: 'FAIL',
      });
      const err = await client.workflow.executeUpdateWithStart(addUpdate, { args: [1], startWorkflowOperation: operation }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
      await expect(operation.workflowHandle()).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
      expect(await handle.query(addCallsQuery)).toBe(0);
      expect(await finish(handle)).toBe(0);
    });
  });

  it('returns the operation errors as a MultiOperationExecutionFailure', async () => {
    const err = await env.sdk.connection.workflowService
      .executeMultiOperation({
        namespace: 'default',
        operations: [
          { startWorkflow: { namespace: 'default', workflowId: 'a', workflowType: { name: 'counterWorkflow' }, taskQueue: { name: 'q' }, requestId: randomUUID() } },
          { updateWorkflow: { namespace: 'default', workflowExecution: { workflowId: 'b' }, request: { meta: { updateId: 'u' }, input: { name: 'add' } } } },
        ],
      })
      .catch((e: unknown) => e);
    expect((err as { code?: number }).code).toBe(3 /* INVALID_ARGUMENT */);
    // One status per operation: the update's says why, the start's that it was aborted.
    const bin = (err as { metadata: { get(key: string): Array<string | Buffer> } }).metadata.get('grpc-status-details-bin')[0] as Buffer;
    const detail = proto.google.rpc.Status.decode(bin).details[0]!;
    expect(detail.type_url).toBe('type.googleapis.com/temporal.api.errordetails.v1.MultiOperationExecutionFailure');
    const { statuses } = proto.temporal.api.errordetails.v1.MultiOperationExecutionFailure.decode(detail.value!);
    expect(statuses.map((st) => st.code)).toEqual([10 /* ABORTED */, 3 /* INVALID_ARGUMENT */]);
    expect(statuses[1]!.message).toContain('WorkflowId is not consistent');
    expect(statuses[0]!.details?.[0]?.type_url).toBe('type.googleapis.com/temporal.api.failure.v1.MultiOperationExecutionAborted');
  });
});

describe('updates and closed workflows', () => {
  it('keeps completed updates pollable after the workflow completed', async () => {
    await env.withTaskQueue('update-after-close', async (taskQueue) => {
      const handle = await startCounter(taskQueue, 1);
      const updateId = `kept-${randomUUID()}`;
      expect(await handle.executeUpdate(addUpdate, { args: [1], updateId })).toBe(2);
      expect(await finish(handle)).toBe(2);
      expect(await handle.getUpdateHandle<number>(updateId).result()).toBe(2);
      expect(await handle.getUpdateHandle<number>(updateId, { workflowRunId: handle.firstExecutionRunId }).result()).toBe(2);
      // The same update id again: its outcome, not an error.
      expect(await handle.executeUpdate(addUpdate, { args: [1], updateId })).toBe(2);
    });
  });

  it('refuses a new update to a closed workflow', async () => {
    await env.withTaskQueue('update-closed', async (taskQueue) => {
      const handle = await startCounter(taskQueue);
      expect(await finish(handle)).toBe(0);
      const err = await handle.executeUpdate(addUpdate, { args: [1] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowNotFoundError);
      expect((err as Error).message).toContain('workflow execution already completed');
      const poll = await handle.getUpdateHandle<number>('never-sent').result().catch((e: unknown) => e);
      expect(poll).toBeInstanceOf(WorkflowNotFoundError);
    });
  });

  it('fails an accepted update whose workflow completed before it did', async () => {
    await env.withTaskQueue('update-abandoned', async (taskQueue) => {
      const handle = await startCounter(taskQueue);
      const updateHandle = await handle.startUpdate(slowUpdate, { args: ['late'], waitForStage: WorkflowUpdateStage.ACCEPTED });
      await handle.terminate('done waiting');
      const err = await updateHandle.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
      const cause = (err as WorkflowUpdateFailedError).cause;
      expect(cause).toBeInstanceOf(ApplicationFailure);
      expect((cause as ApplicationFailure).type).toBe('AcceptedUpdateCompletedWorkflow');
    });
  });

  it('moves an update that was not yet delivered to the run a continue-as-new starts', async () => {
    await env.withTaskQueue('update-can', async (taskQueue) => {
      const key = uniqueWorkflowId('update-can-gate');
      const handle = await client.workflow.start(continueWithUpdatesWorkflow, { taskQueue, workflowId: uniqueWorkflowId('update-can'), args: [key, 40, false] });
      // While the local activity runs, the first run's workflow task stays started: the update is
      // admitted there but not delivered, and the run then continues as new.
      await waitFor(() => activityProbe.running.has(key), { description: 'the local activity to run' });
      const update = handle.executeUpdate(addUpdate, { args: [2] });
      await new Promise((resolve) => setTimeout(resolve, 500));
      openGate(key);
      expect(await update).toBe(42);
      const current = client.workflow.getHandle(handle.workflowId);
      await current.signal(counterFinishSignal);
      expect(await handle.result()).toBe(42);
      const first = recorder.record(client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId));
      const firstHistory = await first.fetchHistory();
      expect(eventTypeNames(firstHistory).at(-1)).toBe('WORKFLOW_EXECUTION_CONTINUED_AS_NEW');
      expect(eventTypeNames(firstHistory)).not.toContain('WORKFLOW_EXECUTION_UPDATE_ACCEPTED');
      const secondRunId = firstHistory.events!.at(-1)!.workflowExecutionContinuedAsNewEventAttributes!.newExecutionRunId!;
      const second = recorder.record(client.workflow.getHandle(handle.workflowId, secondRunId));
      const secondHistory = await waitForHistory(second, (h) => eventTypeNames(h).includes('WORKFLOW_EXECUTION_COMPLETED'));
      expect(eventsOfType(secondHistory, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)).toHaveLength(1);
    });
  });
});

describe('durability', () => {
  it('delivers an update admitted before a server crash once the server is back', async () => {
    const taskQueue = uniqueTaskQueue('update-restart');
    // No worker yet: the update is admitted and waits in the workflow's mutable state.
    const handle = await startCounter(taskQueue, 1);
    const updateId = `restart-${randomUUID()}`;
    const raw = await Connection.connect({ address: env.server.address, interceptors: [] });
    const ref = { workflowExecution: { workflowId: handle.workflowId }, updateId };
    const pending = raw.workflowService
      .updateWorkflowExecution({
        namespace: 'default',
        workflowExecution: { workflowId: handle.workflowId },
        request: { meta: { updateId }, input: { name: 'add', args: { payloads: [{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('5') }] } } },
        waitPolicy: { lifecycleStage: Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED },
      })
      .catch((e: unknown) => e);
    await waitFor(async () => {
      const r = await env.sdk.connection.workflowService.pollWorkflowExecutionUpdate({ namespace: 'default', updateRef: ref, waitPolicy: {} });
      return r.stage === Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED;
    }, { description: 'the update to be admitted' });
    await env.server.kill('SIGKILL');
    expect(await pending).toBeInstanceOf(Error);
    await raw.close();
    await env.server.restart();
    await withWorker({ connection: env.sdk.nativeConnection, taskQueue, workflowBundle: env.workflowBundle, activities }, async () => {
      expect(await handle.getUpdateHandle<number>(updateId).result()).toBe(6);
      expect(await finish(handle)).toBe(6);
    });
  });
});

it('replays every history of this file without nondeterminism', async () => {
  expect(recorder.size).toBeGreaterThan(0);
  expect(await recorder.replayAll(env.workflowBundle)).toEqual([]);
});
