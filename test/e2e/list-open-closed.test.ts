/**
 * The older listing calls, ListOpenWorkflowExecutions and ListClosedWorkflowExecutions, that Temporal
 * still serves (older SDK clients and tools use them): open runs filtered by start time, closed runs
 * by close time, and by workflow id, workflow type or (closed runs) status; paged.
 */
import Long from 'long';
import { describe, expect, it } from 'vitest';
import { protocolSuite } from './helpers/environment.js';
import { enums, uniqueTaskQueue, uniqueWorkflowId } from './helpers/sdk.js';

const suite = protocolSuite();
const Status = enums.WorkflowExecutionStatus;
const ts = (ms: number) => ({ seconds: Long.fromNumber(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 });

describe('ListOpenWorkflowExecutions and ListClosedWorkflowExecutions', () => {
  it('list open runs by start time and closed runs by close time, filtered and paged', async () => {
    const { client, connection } = suite.conns;
    const service = connection.workflowService;
    const taskQueue = uniqueTaskQueue('list-open-closed');
    const type = `listOpenClosed${Date.now()}`;
    const before = Date.now() - 1;
    const ids = [0, 1, 2, 3].map((i) => uniqueWorkflowId(`list-open-closed-${i}`));
    for (const workflowId of ids) await client.workflow.start(type, { taskQueue, workflowId });
    await client.workflow.getHandle(ids[2]!).terminate('done');
    await client.workflow.getHandle(ids[3]!).cancel();
    await client.workflow.getHandle(ids[3]!).terminate('done too');
    const after = Date.now() + 1;

    const open = await service.listOpenWorkflowExecutions({ namespace: 'default', typeFilter: { name: type }, startTimeFilter: { earliestTime: ts(before) } });
    expect(open.executions.map((e) => e.execution?.workflowId).sort()).toEqual([ids[0], ids[1]].sort());
    expect(open.executions.every((e) => e.status === Status.WORKFLOW_EXECUTION_STATUS_RUNNING)).toBe(true);

    const closed = await service.listClosedWorkflowExecutions({ namespace: 'default', typeFilter: { name: type }, startTimeFilter: { earliestTime: ts(before), latestTime: ts(after) } });
    expect(closed.executions.map((e) => e.execution?.workflowId).sort()).toEqual([ids[2], ids[3]].sort());

    // Closed runs are found by their close time: none closed before the runs were started.
    const tooEarly = await service.listClosedWorkflowExecutions({ namespace: 'default', typeFilter: { name: type }, startTimeFilter: { latestTime: ts(before) } });
    expect(tooEarly.executions).toEqual([]);

    const byId = await service.listOpenWorkflowExecutions({ namespace: 'default', executionFilter: { workflowId: ids[1] } });
    expect(byId.executions.map((e) => e.execution?.workflowId)).toEqual([ids[1]]);
    const byStatus = await service.listClosedWorkflowExecutions({ namespace: 'default', statusFilter: { status: Status.WORKFLOW_EXECUTION_STATUS_TERMINATED } });
    expect(byStatus.executions.map((e) => e.execution?.workflowId)).toEqual(expect.arrayContaining([ids[2], ids[3]]));

    const first = await service.listOpenWorkflowExecutions({ namespace: 'default', typeFilter: { name: type }, maximumPageSize: 1 });
    expect(first.executions).toHaveLength(1);
    const second = await service.listOpenWorkflowExecutions({ namespace: 'default', typeFilter: { name: type }, maximumPageSize: 1, nextPageToken: first.nextPageToken });
    expect([first.executions[0]!.execution?.workflowId, second.executions[0]!.execution?.workflowId].sort()).toEqual([ids[0], ids[1]].sort());

    for (const workflowId of ids.slice(0, 2)) await client.workflow.getHandle(workflowId).terminate('test over');
  });

  it('refuses an earliest time after the latest time', async () => {
    const now = Date.now();
    const refused = await suite.conns.connection.workflowService
      .listOpenWorkflowExecutions({ namespace: 'default', startTimeFilter: { earliestTime: ts(now), latestTime: ts(now - 60_000) } })
      .then(
        () => null,
        (err: { code?: number; details?: string }) => err,
      );
    expect(refused).toMatchObject({ code: 3, details: 'EarliestTime in StartTimeFilter should not be larger than LatestTime.' });
  });
});
