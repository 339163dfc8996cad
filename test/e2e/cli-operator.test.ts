/**
 * `kairos operator namespace ...`, `kairos operator search-attribute ...`, `kairos operator nexus endpoint ...`, `kairos batch ...` and
 * `kairos worker ...`, run as the real binary
 * against a real server; a registered search attribute is then used by `workflow start` and
 * `workflow list --query` (no worker needed: the workflows only have to exist).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, kairos, kairosJson } from './helpers/cli.js';
import { startKairos, type KairosServer } from './helpers/server.js';
import { uniqueWorkflowId } from './helpers/sdk.js';
import { Connection } from '@temporalio/client';
import Long from 'long';

let server: KairosServer;
let address: string[];

beforeAll(async () => {
  server = await startKairos();
  address = ['--address', server.address];
});

afterAll(async () => {
  await server?.stop();
});

const run = (...args: string[]) => kairos([...args, ...address]);

describe('operator namespace', () => {
  it('creates, describes, lists and updates namespaces', async () => {
    const created = await run('operator', 'namespace', 'create', 'orders', '--description', 'order workflows', '--email', 'ops@example.com', '--retention', '5d');
    expect(created.code, describeRun(created)).toBe(0);
    expect(created.stdout).toContain('Namespace orders created.');
    const [byFlag, duplicate, unnamed] = await Promise.all([
      run('operator', 'namespace', 'create', '--namespace', 'billing'),
      run('operator', 'namespace', 'create', 'orders'),
      run('operator', 'namespace', 'create'),
    ]);
    expect(byFlag.code, describeRun(byFlag)).toBe(0);
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('namespace "orders" already exists');
    expect(unnamed.code).toBe(2);
    expect(unnamed.stderr).toContain('name the namespace');

    const [described, describedJson, list, listJson] = await Promise.all([
      run('operator', 'namespace', 'describe', '-n', 'orders'),
      kairosJson<{ namespaceInfo: Record<string, unknown>; config: Record<string, unknown> }>(['operator', 'namespace', 'describe', 'orders', ...address]),
      run('operator', 'namespace', 'list'),
      kairosJson<{ namespaceInfo: { name: string } }[]>(['operator', 'namespace', 'list', ...address]),
    ]);
    expect(described.stdout).toMatch(/Name\s+orders/);
    expect(described.stdout).toMatch(/Description\s+order workflows/);
    expect(described.stdout).toMatch(/OwnerEmail\s+ops@example\.com/);
    expect(described.stdout).toMatch(/Retention\s+5d/);
    expect(describedJson.namespaceInfo).toMatchObject({ name: 'orders', state: 'NAMESPACE_STATE_REGISTERED', description: 'order workflows' });
    expect(describedJson.config['workflowExecutionRetentionTtl']).toBe('432000s');
    expect(list.stdout).toMatch(/^Name\s+State\s+Retention\s+Description$/m);
    expect(list.stdout).toMatch(/^billing\s+Registered\s+3d/m);
    expect(list.stdout).toMatch(/^default\s+Registered\s+1d/m);
    expect(listJson.map((item) => item.namespaceInfo.name).sort()).toEqual(['billing', 'default', 'orders']);

    const updated = await run('operator', 'namespace', 'update', 'orders', '--retention', '2d', '--data', 'team="payments"');
    expect(updated.code, describeRun(updated)).toBe(0);
    expect(updated.stdout).toMatch(/Retention\s+2d/);
    expect(updated.stdout).toMatch(/Data\s+team="payments"/);
    const nothing = await run('operator', 'namespace', 'update', 'orders');
    expect(nothing.code).toBe(2);

    // Workflows live in the namespace given by -n / TEMPORAL_NAMESPACE.
    const workflowId = uniqueWorkflowId('cli-ns');
    expect((await run('workflow', 'start', '--type', 'anything', '-t', 'nobody-polls', '-w', workflowId, '-n', 'orders')).code).toBe(0);
    const [inOrders, inDefault] = await Promise.all([
      kairos(['workflow', 'list'], { env: { TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: 'orders' } }),
      run('workflow', 'list'),
    ]);
    expect(inOrders.stdout).toContain(workflowId);
    expect(inDefault.stdout).not.toContain(workflowId);
  });
});

describe('operator search-attribute', () => {
  it('creates, lists and removes custom search attributes that workflows and queries then use', async () => {
    const created = await run('operator', 'search-attribute', 'create', '--name', 'CustomerId', '--name', 'Priority', '--type', 'Keyword', '--type', 'int');
    expect(created.code, describeRun(created)).toBe(0);
    const [list, listJson] = await Promise.all([
      run('operator', 'search-attribute', 'list'),
      kairosJson<{ name: string; type: string; kind: string }[]>(['operator', 'search-attribute', 'list', ...address]),
    ]);
    expect(list.stdout).toMatch(/^Name\s+Type\s+Kind$/m);
    expect(list.stdout).toMatch(/^CustomerId\s+Keyword\s+custom$/m);
    expect(list.stdout).toMatch(/^Priority\s+Int\s+custom$/m);
    expect(listJson).toContainEqual({ name: 'WorkflowType', type: 'Keyword', kind: 'system' });

    const [first, second] = [uniqueWorkflowId('cli-sa'), uniqueWorkflowId('cli-sa')];
    const starts = await Promise.all([
      run('workflow', 'start', '--type', 'anything', '-t', 'nobody-polls', '-w', first, '--search-attribute', 'CustomerId="c-1"', '--search-attribute', 'Priority=1', '--memo', 'note="first"'),
      run('workflow', 'start', '--type', 'anything', '-t', 'nobody-polls', '-w', second, '--search-attribute', 'CustomerId="c-2"', '--search-attribute', 'Priority=5'),
    ]);
    for (const start of starts) expect(start.code, describeRun(start)).toBe(0);
    const [matching, counted, described] = await Promise.all([
      kairosJson<{ execution: { workflowId: string }; searchAttributes: { indexedFields: Record<string, unknown> } }[]>(['workflow', 'list', '-q', "CustomerId = 'c-1'", ...address]),
      run('workflow', 'count', '-q', 'Priority >= 2'),
      run('workflow', 'describe', '-w', first),
    ]);
    expect(matching.map((item) => item.execution.workflowId)).toEqual([first]);
    expect(matching[0]?.searchAttributes.indexedFields).toMatchObject({ CustomerId: 'c-1', Priority: 1 });
    expect(counted.stdout).toMatch(/^Total: 1$/m);
    expect(described.stdout).toMatch(/Memo\s+\{"note":"first"\}/);
    expect(described.stdout).toMatch(/SearchAttributes\s+\{.*"CustomerId":"c-1".*\}/);

    const badQuery = await run('workflow', 'list', '-q', 'CustomerId = ');
    expect(badQuery.code).toBe(1);
    expect(badQuery.stderr).toMatch(/^Error: the server rejected the request: /);

    const unconfirmed = await run('operator', 'search-attribute', 'remove', '--name', 'Priority');
    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.stderr).toContain('pass --yes');
    const removed = await run('operator', 'search-attribute', 'remove', '--name', 'Priority', '--yes');
    expect(removed.code, describeRun(removed)).toBe(0);
    const after = await kairosJson<{ name: string }[]>(['operator', 'search-attribute', 'list', ...address]);
    expect(after.map((item) => item.name)).not.toContain('Priority');
    expect(after.map((item) => item.name)).toContain('CustomerId');
  });
});

describe('operator nexus endpoint', () => {
  it('creates, shows, lists, updates and deletes an endpoint by name, with usage and server errors', async () => {
    const created = await run('operator', 'nexus', 'endpoint', 'create', '--name', 'payments', '--target-namespace', 'default', '--target-task-queue', 'payments-q', '--description', 'card payments');
    expect(created.code, describeRun(created)).toBe(0);
    expect(created.stdout).toMatch(/^Endpoint payments created \(id [0-9a-f-]{36}\)\./);

    const shown = await kairosJson<{ name: string; version: number; description: string; target: { worker: { namespace: string; taskQueue: string } } }>(['operator', 'nexus', 'endpoint', 'get', '--name', 'payments', ...address]);
    expect(shown).toMatchObject({ name: 'payments', version: 1, description: 'card payments', target: { worker: { namespace: 'default', taskQueue: 'payments-q' } } });

    const again = await run('operator', 'nexus', 'endpoint', 'create', '--name', 'payments', '--target-namespace', 'default', '--target-task-queue', 'other');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already registered');
    const noTarget = await run('operator', 'nexus', 'endpoint', 'create', '--name', 'refunds');
    expect(noTarget.code).toBe(2);
    expect(noTarget.stderr).toContain('give a target');

    const updated = await run('operator', 'nexus', 'endpoint', 'update', '--name', 'payments', '--target-task-queue', 'payments-v2');
    expect(updated.code, describeRun(updated)).toBe(0);
    const listed = await kairosJson<Array<{ name: string; version: number; target: { worker: { taskQueue: string } } }>>(['operator', 'nexus', 'endpoint', 'list', ...address]);
    expect(listed.find((e) => e.name === 'payments')).toMatchObject({ version: 2, target: { worker: { taskQueue: 'payments-v2' } } });
    const table = await run('operator', 'nexus', 'endpoint', 'list');
    expect(table.stdout).toContain('default/payments-v2');

    const unconfirmed = await run('operator', 'nexus', 'endpoint', 'delete', '--name', 'payments');
    expect(unconfirmed.code).toBe(1);
    const deleted = await run('operator', 'nexus', 'endpoint', 'delete', '--name', 'payments', '--yes');
    expect(deleted.code, describeRun(deleted)).toBe(0);
    const gone = await run('operator', 'nexus', 'endpoint', 'get', '--name', 'payments');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('Nexus endpoint "payments" not found');
  });
});

describe('batch', () => {
  it('lists, describes and stops batch jobs the server runs', async () => {
    const taskQueue = `batch-cli-${uniqueWorkflowId('q')}`;
    const ids = [uniqueWorkflowId('batch-cli'), uniqueWorkflowId('batch-cli'), uniqueWorkflowId('batch-cli')];
    for (const id of ids) expect((await run('workflow', 'start', '--type', 'anything', '-t', taskQueue, '-w', id)).code).toBe(0);
    const connection = await Connection.connect({ address: server.address });
    try {
      const { workflowService } = connection;
      const done = `job-${uniqueWorkflowId('done')}`;
      await workflowService.startBatchOperation({ namespace: 'default', jobId: done, reason: 'cli test', executions: [{ workflowId: ids[0] }], terminationOperation: {} });
      await expect.poll(async () => (await kairosJson<{ state: string }>(['batch', 'describe', '--job-id', done, ...address])).state, { timeout: 20_000 }).toBe('Completed');
      const described = await kairosJson<Record<string, unknown>>(['batch', 'describe', '--job-id', done, ...address]);
      expect(described).toMatchObject({ jobId: done, operationType: 'TerminateWorkflow', reason: 'cli test', totalOperationCount: 1, completeOperationCount: 1, failureOperationCount: 0, executions: [{ id: ids[0] }] });
      const text = await run('batch', 'describe', '--job-id', done);
      expect(text.stdout).toMatch(/State\s+Completed/);
      expect(text.stdout).toMatch(/Completed\s+1/);

      // A job paced at one call a second over 30 workflows (gone ones count as done) is still running when it is stopped.
      const slow = `job-${uniqueWorkflowId('slow')}`;
      const executions = Array.from({ length: 30 }, (_, i) => ({ workflowId: ids[i] ?? uniqueWorkflowId('gone') }));
      await workflowService.startBatchOperation({ namespace: 'default', jobId: slow, reason: 'slow', maxOperationsPerSecond: 1, executions, signalOperation: { signal: 'poke' } });
      const listed = await run('batch', 'list');
      expect(listed.stdout).toMatch(new RegExp(`^${slow}\\s+Running\\s+SignalWorkflow`, 'm'));
      expect(listed.stdout).toMatch(new RegExp(`^${done}\\s+Completed\\s+TerminateWorkflow`, 'm'));
      const stopped = await run('batch', 'terminate', '--job-id', slow, '--reason', 'enough', '--yes');
      expect(stopped.code, describeRun(stopped)).toBe(0);
      expect((await kairosJson<{ state: string }>(['batch', 'describe', '--job-id', slow, ...address])).state).toBe('Failed');
      const missing = await run('batch', 'describe', '--job-id', 'no-such-job');
      expect(missing.code).toBe(1);
      const noReason = await run('batch', 'terminate', '--job-id', slow, '--yes');
      expect(noReason.code).toBe(2);
    } finally {
      await connection.close();
    }
  });
});

describe('worker', () => {
  it('lists, counts and describes the workers that report heartbeats', async () => {
    const taskQueue = `workers-cli-${uniqueWorkflowId('q')}`;
    const connection = await Connection.connect({ address: server.address });
    try {
      const now = Long.fromNumber(Math.floor(Date.now() / 1000));
      const beat = (key: string, status: number) => ({
        workerInstanceKey: key,
        workerIdentity: `${key}@host`,
        taskQueue,
        status,
        sdkName: 'temporal-typescript',
        sdkVersion: '1.24.0',
        hostInfo: { hostName: 'host-1', processId: '7', currentHostCpuUsage: 0.25 },
        deploymentVersion: { deploymentName: 'orders', buildId: 'v3' },
        startTime: { seconds: now },
        heartbeatTime: { seconds: now },
        elapsedSinceLastHeartbeat: { seconds: Long.fromNumber(60) },
        activityTaskSlotsInfo: { currentAvailableSlots: 98, currentUsedSlots: 2, slotSupplierKind: 'Fixed', totalProcessedTasks: 10 },
        activityPollerInfo: { currentPollers: 5 },
      });
      await connection.workflowService.recordWorkerHeartbeat({ namespace: 'default', workerHeartbeat: [beat('w-running', 1), beat('w-stopping', 2)] });

      const listed = await run('worker', 'list', '-q', `TaskQueue = '${taskQueue}'`);
      expect(listed.code, describeRun(listed)).toBe(0);
      expect(listed.stdout).toMatch(new RegExp(`^w-running\\s+Running\\s+${taskQueue}\\s+w-running@host\\s+host-1\\s+orders@v3\\s+\\S+ \\(.* ago\\)\\s+1m`, 'm'));
      expect(listed.stdout).toMatch(/^w-stopping\s+ShuttingDown/m);
      const json = await kairosJson<{ workerHeartbeat: { workerInstanceKey: string; status: string } }[]>(['worker', 'list', '-q', `TaskQueue = '${taskQueue}' AND Status = 'Running'`, ...address]);
      expect(json.map((w) => [w.workerHeartbeat.workerInstanceKey, w.workerHeartbeat.status])).toEqual([['w-running', 'WORKER_STATUS_RUNNING']]);
      expect((await run('worker', 'count', '-q', `TaskQueue = '${taskQueue}'`)).stdout.trim()).toBe('Total: 2');

      const described = await run('worker', 'describe', '--worker-instance-key', 'w-running');
      expect(described.code, describeRun(described)).toBe(0);
      expect(described.stdout).toMatch(/Activity Task Slots\s+2 used, 98 available \(Fixed\); 10 processed, 0 failed/);
      expect(described.stdout).toMatch(/Host CPU\s+25\.0%/);
      expect(described.stdout).toMatch(/Activity Pollers\s+5 polling/);

      const missing = await run('worker', 'describe', '--worker-instance-key', 'no-such-worker');
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/Worker no-such-worker not found/);
      const badQuery = await run('worker', 'list', '-q', 'TaskQueue =');
      expect(badQuery.code).toBe(1);
      expect(badQuery.stderr).toMatch(/malformed query/);
    } finally {
      await connection.close();
    }
  });
});
