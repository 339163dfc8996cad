/**
 * Bad input gets a clear gRPC error that names the problem, and changes nothing: missing and oversize
 * fields, unknown namespaces, forged and stale task tokens, bad page tokens.
 */
import { randomUUID } from 'node:crypto';
import Long from 'long';
import { status as grpcStatus } from '@grpc/grpc-js';
import { ActivityNotFoundError, WorkflowNotFoundError } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { protocolSuite } from './helpers/environment.js';
import { uniqueTaskQueue, uniqueWorkflowId } from './helpers/sdk.js';

const suite = protocolSuite();

type StartRequest = temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest;

function startRequest(overrides: Partial<StartRequest> = {}): StartRequest {
  return {
    namespace: 'default',
    workflowId: uniqueWorkflowId('bad-input'),
    workflowType: { name: 'greetingWorkflow' },
    taskQueue: { name: uniqueTaskQueue('bad-input') },
    requestId: randomUUID(),
    ...overrides,
  };
}

/** Runs `call` and returns the gRPC error it must raise. */
async function grpcError(call: () => Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await call();
  } catch (err) {
    const e = err as { code?: number; details?: string; message?: string };
    return { code: e.code ?? -1, details: e.details ?? e.message ?? '' };
  }
  throw new Error('expected the call to fail');
}

const json = (value: unknown) => ({ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(value)) });

describe('StartWorkflowExecution validation', () => {
  it.each([
    ['no workflow id', { workflowId: '' }, 'WorkflowId is not set on request.'],
    ['a workflow id over 1000 characters', { workflowId: 'x'.repeat(1001) }, 'WorkflowId length exceeds limit.'],
    ['no workflow type', { workflowType: { name: '' } }, 'WorkflowType is not set on request.'],
    ['no task queue', { taskQueue: { name: '' } }, 'TaskQueue is not set on request.'],
    ['a negative run timeout', { workflowRunTimeout: { seconds: -5 } }, 'Invalid WorkflowRunTimeout.'],
    ['an input over 2 MiB', { input: { payloads: [{ metadata: {}, data: Buffer.alloc(2 * 1024 * 1024 + 1) }] } }, 'Blob data size exceeds limit.'],
  ] as const)('rejects %s with INVALID_ARGUMENT naming the field', async (_label, overrides, message) => {
    const request = startRequest(overrides as Partial<StartRequest>);
    const err = await grpcError(() => suite.conns.connection.workflowService.startWorkflowExecution(request));
    expect(err.code).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(err.details).toBe(message);
    if (request.workflowId && request.workflowId.length <= 1000) {
      // Nothing was created.
      const describe = await grpcError(() => suite.conns.connection.workflowService.describeWorkflowExecution({ namespace: 'default', execution: { workflowId: request.workflowId } }));
      expect(describe.code).toBe(grpcStatus.NOT_FOUND);
    }
  });

  it('rejects an unknown namespace with NOT_FOUND', async () => {
    const err = await grpcError(() => suite.conns.connection.workflowService.startWorkflowExecution(startRequest({ namespace: 'no-such-namespace' })));
    expect(err.code).toBe(grpcStatus.NOT_FOUND);
    expect(err.details).toContain('no-such-namespace');
  });

  it('returns the same run for a repeated request id instead of starting twice', async () => {
    const request = startRequest();
    const first = await suite.conns.connection.workflowService.startWorkflowExecution(request);
    const second = await suite.conns.connection.workflowService.startWorkflowExecution(request);
    expect(second.runId).toBe(first.runId);
    await suite.conns.client.workflow.getHandle(request.workflowId!).terminate('test over');
  });
});

describe('task tokens', () => {
  it('rejects a forged token with INVALID_ARGUMENT and a stale one with NOT_FOUND, changing nothing', async () => {
    const workflowId = uniqueWorkflowId('tokens');
    const taskQueue = uniqueTaskQueue('tokens');
    const { runId } = await suite.conns.connection.workflowService.startWorkflowExecution(startRequest({ workflowId, taskQueue: { name: taskQueue } }));
    const before = await suite.conns.client.workflow.getHandle(workflowId).fetchHistory();

    const forged = await grpcError(() =>
      suite.conns.connection.workflowService.respondWorkflowTaskCompleted({ namespace: 'default', taskToken: Buffer.from('not a token'), commands: [] }),
    );
    expect(forged.code).toBe(grpcStatus.INVALID_ARGUMENT);

    // A well-formed token (the server's own encoding) for a task attempt that does not exist.
    const ns = await suite.conns.connection.workflowService.describeNamespace({ namespace: 'default' });
    const stale = Buffer.from(JSON.stringify({ k: 'wft', ns: ns.namespaceInfo?.id, wid: workflowId, rid: runId, sid: 2, att: 7, st: 3 }));
    const staleErr = await grpcError(() => suite.conns.connection.workflowService.respondWorkflowTaskCompleted({ namespace: 'default', taskToken: stale, commands: [] }));
    expect(staleErr.code).toBe(grpcStatus.NOT_FOUND);
    expect(staleErr.details).toBe('Workflow task not found.');

    const staleActivity = await grpcError(() =>
      suite.conns.connection.workflowService.respondActivityTaskCompletedById({ namespace: 'default', workflowId, runId, activityId: 'nope', result: { payloads: [json(1)] } }),
    );
    expect(staleActivity.code).toBe(grpcStatus.NOT_FOUND);

    const after = await suite.conns.client.workflow.getHandle(workflowId).fetchHistory();
    expect(after.events?.length).toBe(before.events?.length);
    await suite.conns.client.workflow.getHandle(workflowId).terminate('test over');
  });
});

/**
 * A task token in the form Temporal's server writes (temporal.server.api.token.v1.Task): string fields
 * and small numbers only, which is all a test needs.
 */
function temporalTaskToken(fields: Record<number, string | number>): Buffer {
  const parts = Object.entries(fields).map(([field, value]) => {
    const tag = Number(field) << 3;
    if (typeof value === 'number') return Buffer.from([tag, value]);
    const bytes = Buffer.from(value);
    return Buffer.concat([Buffer.from([tag | 2, bytes.length]), bytes]);
  });
  return Buffer.concat(parts);
}

describe('task tokens in Temporal\'s form', () => {
  it('finds the task such a token names, or reports it not found', async () => {
    const ns = (await suite.conns.connection.workflowService.describeNamespace({ namespace: 'default' })).namespaceInfo?.id ?? '';
    // An activity of a workflow that does not exist: the client's ActivityNotFoundError, not a bad token.
    const missing = temporalTaskToken({ 1: ns, 2: randomUUID(), 3: randomUUID(), 4: 5, 5: 1, 6: '1', 8: 'completeAsync' });
    await expect(suite.conns.client.activity.complete(missing, 'done')).rejects.toBeInstanceOf(ActivityNotFoundError);
    await expect(suite.conns.client.activity.heartbeat(missing, 'beat')).rejects.toBeInstanceOf(ActivityNotFoundError);

    // A workflow task attempt of a real run that is not the one started.
    const workflowId = uniqueWorkflowId('temporal-token');
    const { runId } = await suite.conns.connection.workflowService.startWorkflowExecution(startRequest({ workflowId }));
    const stale = temporalTaskToken({ 1: ns, 2: workflowId, 3: runId ?? '', 4: 2, 5: 7, 10: 3 });
    const err = await grpcError(() => suite.conns.connection.workflowService.respondWorkflowTaskCompleted({ namespace: 'default', taskToken: stale, commands: [] }));
    expect([err.code, err.details]).toEqual([grpcStatus.NOT_FOUND, 'Workflow task not found.']);

    // Bytes that are neither form.
    const garbage = await grpcError(() =>
      suite.conns.connection.workflowService.respondActivityTaskCompleted({ namespace: 'default', taskToken: Buffer.from([0x0a, 0x40, 1, 2]) }),
    );
    expect([garbage.code, garbage.details]).toEqual([grpcStatus.INVALID_ARGUMENT, 'Error deserializing task token.']);
    await suite.conns.client.workflow.getHandle(workflowId).terminate('test over');
  });
});

describe('other requests', () => {
  it('signalling a workflow that does not exist is NOT_FOUND', async () => {
    await expect(suite.conns.client.workflow.getHandle(uniqueWorkflowId('missing')).signal('anything')).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });

  it('a signal without a name is INVALID_ARGUMENT', async () => {
    const err = await grpcError(() =>
      suite.conns.connection.workflowService.signalWorkflowExecution({ namespace: 'default', workflowExecution: { workflowId: 'w' }, signalName: '' }),
    );
    expect(err.code).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(err.details).toBe('SignalName is not set on request.');
  });

  it('a garbage history page token is INVALID_ARGUMENT', async () => {
    const workflowId = uniqueWorkflowId('page-token');
    await suite.conns.connection.workflowService.startWorkflowExecution(startRequest({ workflowId }));
    const err = await grpcError(() =>
      suite.conns.connection.workflowService.getWorkflowExecutionHistory({ namespace: 'default', execution: { workflowId }, nextPageToken: Buffer.from('garbage') }),
    );
    expect(err.code).toBe(grpcStatus.INVALID_ARGUMENT);
    await suite.conns.client.workflow.getHandle(workflowId).terminate('test over');
  });

  it('registering an existing namespace is ALREADY_EXISTS', async () => {
    const err = await grpcError(() =>
      suite.conns.connection.workflowService.registerNamespace({ namespace: 'default', workflowExecutionRetentionPeriod: { seconds: Long.fromNumber(86_400) } }),
    );
    expect(err.code).toBe(grpcStatus.ALREADY_EXISTS);
  });
});
