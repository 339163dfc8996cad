/**
 * The `kairos workflow ...` and `kairos task-queue describe` commands, run as the real binary against a
 * real server with the official SDK's worker running the suite's workflows: text and JSON output, exit
 * codes, errors, and a `workflow show -o json` history replayed by the SDK.
 */
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, kairos, kairosJson, loadHistoryFromJSON } from './helpers/cli.js';
import { startEnvironment, type E2EEnvironment } from './helpers/environment.js';
import { EventType, uniqueWorkflowId, waitFor } from './helpers/sdk.js';
import { counterWorkflow, parentLeavesChild, stepsAroundSignal } from './workflows/index.js';

let env: E2EEnvironment;
let address: string[];

beforeAll(async () => {
  env = await startEnvironment();
  address = ['--address', env.server.address];
});

afterAll(async () => {
  await env?.close();
});

/** Runs kairos with --address of this file's server. */
const run = (...args: string[]) => kairos([...args, ...address]);

describe('workflow execute and result', () => {
  it('prints the result, exits 1 for a failed workflow, and speaks JSON', async () => {
    await env.withTaskQueue('cli-execute', async (taskQueue) => {
      const [ok, failed] = [uniqueWorkflowId('cli-ok'), uniqueWorkflowId('cli-fail')];
      const [text, json, failure] = await Promise.all([
        run('workflow', 'execute', '--type', 'greetingWorkflow', '-t', taskQueue, '-w', ok, '-i', '"Ada"'),
        kairosJson<Record<string, unknown>>(['workflow', 'execute', '--type', 'greetingWorkflow', '--task-queue', taskQueue, '--input', '"Bo"', ...address]),
        run('workflow', 'execute', '--name', 'failingWorkflow', '-t', taskQueue, '-w', failed, '-i', '"no way"'),
      ]);
      expect(text.code, describeRun(text)).toBe(0);
      expect(text.stdout).toMatch(/Running execution:\n\s+WorkflowId\s+cli-ok-/);
      expect(text.stdout).toMatch(/Args\s+\["Ada"\]/);
      expect(text.stdout).toMatch(/Status\s+Completed/);
      expect(text.stdout).toMatch(/Result\s+"Hello, Ada!"/);
      expect(json).toMatchObject({ type: 'greetingWorkflow', taskQueue, namespace: 'default', status: 'Completed', result: 'Hello, Bo!' });
      expect(json['runId']).toMatch(/^[0-9a-f-]{36}$/);

      expect(failure.code, describeRun(failure)).toBe(1);
      expect(failure.stdout).toMatch(/Status\s+Failed/);
      expect(failure.stdout).toMatch(/Failure\s+no way \[ApplicationFailure BusinessRuleViolation, non-retryable\]/);
      expect(failure.stderr).toMatch(/ended failed/);

      const [result, failedResult] = await Promise.all([run('workflow', 'result', '-w', ok), run('workflow', 'result', '-w', failed, '-o', 'json')]);
      expect(result.code, describeRun(result)).toBe(0);
      expect(result.stdout).toMatch(/Result\s+"Hello, Ada!"/);
      expect(failedResult.code).toBe(1);
      expect(JSON.parse(failedResult.stdout)).toMatchObject({ workflowId: failed, status: 'Failed', failure: { message: 'no way' } });
    });
  });
});

describe('a running workflow', () => {
  it('takes signals, answers queries and stack, and is described, listed, counted and shown', async () => {
    await env.withTaskQueue('cli-messages', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('cli-collector');
      const started = await run('workflow', 'start', '--type', 'collectorWorkflow', '-t', taskQueue, '-w', workflowId);
      expect(started.code, describeRun(started)).toBe(0);
      expect(started.stdout).toMatch(new RegExp(`WorkflowId\\s+${workflowId}\\n\\s+RunId\\s+[0-9a-f-]{36}`));
      for (const item of ['apple', 'pear']) {
        const signal = await run('workflow', 'signal', '-w', workflowId, '--name', 'addItem', '-i', JSON.stringify(item));
        expect(signal.code, describeRun(signal)).toBe(0);
        expect(signal.stdout).toContain(`Signal addItem sent to workflow "${workflowId}"`);
      }
      const [query, queryJson, stack, describeText, describeJson, list, count] = await Promise.all([
        run('workflow', 'query', '-w', workflowId, '--name', 'items'),
        kairosJson<{ queryResult: unknown }>(['workflow', 'query', '-w', workflowId, '--type', 'state', ...address]),
        run('workflow', 'stack', '-w', workflowId),
        run('workflow', 'describe', '-w', workflowId),
        kairosJson<{ workflowExecutionInfo: Record<string, unknown> }>(['workflow', 'describe', '-w', workflowId, ...address]),
        run('workflow', 'list', '-q', `WorkflowId = '${workflowId}'`),
        run('workflow', 'count', '-q', `WorkflowType = 'collectorWorkflow'`),
      ]);
      expect(query.code, describeRun(query)).toBe(0);
      expect(JSON.parse(query.stdout)).toEqual(['apple', 'pear']);
      expect(queryJson.queryResult).toEqual({ items: 2, closed: false });
      expect(stack.code, describeRun(stack)).toBe(0);
      expect(stack.stdout).toMatch(/collectorWorkflow/);
      expect(describeText.stdout).toMatch(/Execution Info:/);
      expect(describeText.stdout).toMatch(/Type\s+collectorWorkflow/);
      expect(describeText.stdout).toMatch(/Status\s+Running/);
      expect(describeText.stdout).toMatch(new RegExp(`TaskQueue\\s+${taskQueue}`));
      expect(describeText.stdout).toMatch(/Pending Activities: 0/);
      expect(describeJson.workflowExecutionInfo).toMatchObject({ execution: { workflowId }, type: { name: 'collectorWorkflow' }, status: 'WORKFLOW_EXECUTION_STATUS_RUNNING' });
      expect(list.stdout.split('\n')[0]).toMatch(/^Status\s+WorkflowId\s+Type\s+StartTime\s+CloseTime$/);
      expect(list.stdout).toMatch(new RegExp(`Running\\s+${workflowId}\\s+collectorWorkflow`));
      expect(count.stdout).toMatch(/^Total: 1$/m);

      // `show --follow` long-polls until the run closes, then exits by itself.
      const following = run('workflow', 'show', '-w', workflowId, '--follow', '-o', 'jsonl');
      expect((await run('workflow', 'signal', '-w', workflowId, '--name', 'close')).code).toBe(0);
      const result = await kairosJson<{ result: unknown }>(['workflow', 'result', '-w', workflowId, ...address]);
      expect(result.result).toEqual(['apple', 'pear']);

      const [show, showJson, listJsonl, grouped] = await Promise.all([
        run('workflow', 'show', '-w', workflowId),
        run('workflow', 'show', '-w', workflowId, '-o', 'json'),
        run('workflow', 'list', '-q', `WorkflowId = '${workflowId}'`, '-o', 'jsonl'),
        kairosJson<{ count: number; groups: { groupValues: unknown[]; count: number }[] }>(['workflow', 'count', '-q', 'GROUP BY ExecutionStatus', ...address]),
      ]);
      const lines = show.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^\s+ID\s+Time\s+Type\s+Details$/);
      expect(lines[1]).toMatch(new RegExp(`^\\s+1\\s+\\S+Z\\s+WorkflowExecutionStarted\\s+workflowType=collectorWorkflow\\s+taskQueue=${taskQueue}`));
      expect(show.stdout).toMatch(/\s+WorkflowExecutionSignaled\s+signalName=addItem\s+input="apple"/);
      expect(lines.at(-1)).toMatch(/WorkflowExecutionCompleted\s+result=\["apple","pear"\]/);

      // The history file: the same events the SDK fetches, and the SDK replayer accepts it.
      const historyJson = JSON.parse(showJson.stdout) as { events: { eventId: string; eventType: string }[] };
      const fetched = await env.client.workflow.getHandle(workflowId).fetchHistory();
      expect(historyJson.events).toHaveLength(fetched.events?.length ?? -1);
      expect(lines).toHaveLength(historyJson.events.length + 1);
      expect(historyJson.events[0]).toMatchObject({ eventId: '1', eventType: 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED' });
      const historyFromJSON = loadHistoryFromJSON();
      await Worker.runReplayHistory({ workflowBundle: env.workflowBundle, replayName: 'cli-show' }, historyFromJSON(historyJson), workflowId);

      const followed = await following;
      expect(followed.code, describeRun(followed)).toBe(0);
      const followedEvents = followed.stdout.trim().split('\n').map((line) => JSON.parse(line) as { eventType: string });
      expect(followedEvents.map((event) => event.eventType)).toEqual(historyJson.events.map((event) => event.eventType));

      const listed = listJsonl.stdout.trim().split('\n').map((line) => JSON.parse(line) as { execution: { workflowId: string }; status: string });
      expect(listed).toEqual([expect.objectContaining({ execution: expect.objectContaining({ workflowId }), status: 'WORKFLOW_EXECUTION_STATUS_COMPLETED' })]);
      expect(grouped.groups.some((group) => group.groupValues[0] === 'Completed' && group.count >= 1)).toBe(true);
    });
  });

  it('runs updates: a result, a rejection (exit 1), and a later look at the result', async () => {
    await env.withTaskQueue('cli-update', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('cli-counter');
      await env.client.workflow.start(counterWorkflow, { taskQueue, workflowId, args: [1] });
      const executed = await run('workflow', 'update', 'execute', '-w', workflowId, '--name', 'add', '-i', '5', '--update-id', 'plus-five');
      expect(executed.code, describeRun(executed)).toBe(0);
      expect(executed.stdout).toMatch(/UpdateId\s+plus-five/);
      expect(executed.stdout).toMatch(/Result\s+6/);
      const [rejected, again] = await Promise.all([
        run('workflow', 'update', 'execute', '-w', workflowId, '--name', 'add', '-i', '-1'),
        kairosJson<Record<string, unknown>>(['workflow', 'update', 'result', '-w', workflowId, '--update-id', 'plus-five', ...address]),
      ]);
      expect(rejected.code, describeRun(rejected)).toBe(1);
      expect(rejected.stdout).toMatch(/Failure\s+cannot add a negative number: -1/);
      expect(again).toMatchObject({ workflowId, updateId: 'plus-five', stage: 'Completed', result: 6 });
      const terminated = await run('workflow', 'terminate', '-w', workflowId, '--reason', 'test over');
      expect(terminated.stdout).toContain(`Terminated workflow "${workflowId}".`);
    });
  });
});

describe('trace, cancel, terminate, delete', () => {
  it('shows a parent and its child as a tree, then ends and deletes them', async () => {
    await env.withTaskQueue('cli-trace', async (taskQueue) => {
      const parentId = uniqueWorkflowId('cli-parent');
      const childId = await env.client.workflow.execute(parentLeavesChild, { taskQueue, workflowId: parentId, args: ['ABANDON'] });
      const [tree, treeJson] = await Promise.all([
        run('workflow', 'trace', '-w', parentId),
        kairosJson<{ status: string; children: { workflowId: string; type: string; status: string }[] }>(['workflow', 'trace', '-w', parentId, ...address]),
      ]);
      expect(tree.code, describeRun(tree)).toBe(0);
      const [root, child] = tree.stdout.trimEnd().split('\n');
      expect(root).toMatch(new RegExp(`^Completed\\s+parentLeavesChild\\s+${parentId} \\(run [0-9a-f-]+\\)`));
      expect(child).toMatch(new RegExp(`^└── Running\\s+childWaits\\s+${childId} \\(run`));
      expect(treeJson).toMatchObject({ status: 'Completed', children: [{ workflowId: childId, type: 'childWaits', status: 'Running' }] });

      // Cancel: childWaits catches the cancellation and completes; terminate a second one.
      const cancel = await run('workflow', 'cancel', '-w', childId);
      expect(cancel.stdout).toContain(`Cancellation requested for workflow "${childId}".`);
      expect(JSON.parse((await run('workflow', 'result', '-w', childId, '-o', 'json')).stdout)).toMatchObject({ status: 'Completed', result: 'cancelled' });

      const waiting = uniqueWorkflowId('cli-waits');
      expect((await run('workflow', 'start', '--type', 'childWaits', '-t', taskQueue, '-w', waiting)).code).toBe(0);
      const terminated = await run('workflow', 'terminate', '-w', waiting, '--reason', 'enough');
      expect(terminated.code, describeRun(terminated)).toBe(0);
      const result = await run('workflow', 'result', '-w', waiting);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/Status\s+Terminated\n\s+Reason\s+enough/);

      // Terminate by query needs --yes when nobody can be asked.
      const unconfirmed = await run('workflow', 'terminate', '-q', `WorkflowId = '${parentId}'`);
      expect(unconfirmed.code).toBe(1);
      expect(unconfirmed.stderr).toContain('pass --yes');

      const deleted = await run('workflow', 'delete', '-w', waiting);
      expect(deleted.stdout).toContain(`Deleted workflow "${waiting}".`);
      const gone = await waitFor(async () => {
        const described = await run('workflow', 'describe', '-w', waiting);
        return described.code === 1 ? described : undefined;
      });
      expect(gone.stderr).toContain(`workflow "${waiting}" not found in namespace "default"`);
    });
  });
});

describe('workflow reset', () => {
  it('resets to the first workflow task by --type and to an event id, re-applying the signal', async () => {
    await env.withTaskQueue('cli-reset', async (taskQueue) => {
      const workflowId = uniqueWorkflowId('cli-reset');
      const handle = await env.client.workflow.start(stepsAroundSignal, { taskQueue, workflowId, args: [workflowId] });
      await handle.signal('addItem', 'kept');
      expect(await handle.result()).toEqual(['kept']);

      // Usually event 4 (after Started, WorkflowTaskScheduled, WorkflowTaskStarted); 5 when the signal
      // arrived before the first workflow task was started.
      const history = await handle.fetchHistory();
      const firstCompleted = Number(history.events?.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)?.eventId);
      const byType = await run('workflow', 'reset', '-w', workflowId, '--type', 'FirstWorkflowTask', '--reason', 'cli test');
      expect(byType.code, describeRun(byType)).toBe(0);
      expect(byType.stdout).toMatch(new RegExp(`Resetting workflow "${workflowId}" to event ID ${firstCompleted}\\nNew run: [0-9a-f-]{36}`));
      const afterType = await kairosJson<{ runId: string; result: unknown }>(['workflow', 'result', '-w', workflowId, ...address]);
      expect(afterType.result).toEqual(['kept']);

      const byEvent = await kairosJson<{ eventId: number; runId: string }>(['workflow', 'reset', '-w', workflowId, '-e', String(firstCompleted), '--reason', 'again', ...address]);
      expect(byEvent.eventId).toBe(firstCompleted);
      expect(byEvent.runId).not.toBe(afterType.runId);
      const last = await kairosJson<{ runId: string; result: unknown }>(['workflow', 'result', '-w', workflowId, ...address]);
      expect(last).toMatchObject({ runId: byEvent.runId, result: ['kept'] });
    });
  });
});

describe('task-queue describe', () => {
  it('lists the workers polling a task queue', async () => {
    await env.withTaskQueue('cli-pollers', async (taskQueue) => {
      const described = await waitFor(async () => {
        const json = await kairosJson<{ pollers: { taskQueueType: string; identity: string }[] }>(['task-queue', 'describe', '-t', taskQueue, ...address]);
        const types = new Set(json.pollers.map((poller) => poller.taskQueueType));
        return types.has('workflow') && types.has('activity') ? json : undefined;
      });
      expect(described.pollers[0]?.identity).not.toBe('');
      const text = await run('task-queue', 'describe', '--task-queue', taskQueue);
      expect(text.stdout).toMatch(/Type\s+Identity\s+LastAccessTime/);
      expect(text.stdout).toMatch(/\nworkflow\s+\S+/);
    });
  });
});

describe('connection, usage and lookup errors', () => {
  it('exits 1 or 2 with a message that says what to do, and honours TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE', async () => {
    const [noServer, missingType, badJson, unknown, fromEnv, flagWins, badNamespace] = await Promise.all([
      kairos(['workflow', 'list', '--address', '127.0.0.1:1']),
      run('workflow', 'start', '-t', 'q'),
      run('workflow', 'start', '--type', 'x', '-t', 'q', '-i', '{oops'),
      run('workflow', 'describe', '-w', 'no-such-workflow'),
      kairos(['workflow', 'count'], { env: { TEMPORAL_ADDRESS: env.server.address } }),
      kairos(['workflow', 'count', '--address', env.server.address], { env: { TEMPORAL_ADDRESS: '127.0.0.1:1' } }),
      kairos(['workflow', 'list'], { env: { TEMPORAL_ADDRESS: env.server.address, TEMPORAL_NAMESPACE: 'no-such-namespace' } }),
    ]);
    expect(noServer.code).toBe(1);
    expect(noServer.stderr).toMatch(/cannot connect to a server at 127\.0\.0\.1:1: is the server running\? Start one with `kairos server start-dev`/);
    expect(missingType.code).toBe(2);
    expect(missingType.stderr).toContain("required option '--type <name>' not specified");
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toContain('--input "{oops" is not valid JSON');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('workflow "no-such-workflow" not found in namespace "default"');
    expect(fromEnv.code, describeRun(fromEnv)).toBe(0);
    expect(fromEnv.stdout).toMatch(/^Total: \d+$/m);
    expect(flagWins.code, describeRun(flagWins)).toBe(0);
    expect(badNamespace.code).toBe(1);
    expect(badNamespace.stderr).toContain('no-such-namespace');
  });
});
