import { describe, expect, it } from 'vitest';
import type { temporal } from '@temporalio/proto';
import { InvalidArgumentError } from '../errors.js';
import { compileWorkerQuery } from './worker-query.js';
import { WorkerRegistry } from './worker-registry.js';

type Heartbeat = temporal.api.worker.v1.IWorkerHeartbeat;

const worker = (key: string, fields: Partial<Heartbeat> = {}): Heartbeat => ({ workerInstanceKey: key, taskQueue: 'q', status: 1, ...fields });

describe('the worker query', () => {
  const a = worker('a', {
    workerIdentity: 'id-a',
    hostInfo: { hostName: 'h1' },
    deploymentVersion: { deploymentName: 'orders', buildId: 'v1' },
    sdkName: 'temporal-typescript',
    sdkVersion: '1.24.0',
    startTime: { seconds: 1_700_000_000, nanos: 500_000_000 } as never,
  });
  const b = worker('b', { status: 2, taskQueue: 'other' });
  const run = (query: string) => [a, b].filter(compileWorkerQuery(query)).map((w) => w.workerInstanceKey);

  it('matches every field with the operators Temporal allows on it', () => {
    expect(run('')).toEqual(['a', 'b']);
    expect(run("WorkerIdentity = 'id-a'")).toEqual(['a']);
    expect(run("HostName != 'h1'")).toEqual(['b']);
    expect(run("TaskQueue STARTS_WITH 'ot'")).toEqual(['b']);
    expect(run("TaskQueue NOT STARTS_WITH 'ot'")).toEqual(['a']);
    expect(run("DeploymentName = 'orders' AND BuildId = 'v1' AND SdkName = 'temporal-typescript' AND SdkVersion = '1.24.0'")).toEqual(['a']);
    expect(run('DeploymentName IS NULL')).toEqual(['b']);
    expect(run('BuildId IS NOT NULL')).toEqual(['a']);
    expect(run("Status = 'Running'")).toEqual(['a']);
    expect(run("STATUS = 'ShuttingDown'")).toEqual(['b']);
    expect(run("`WorkerStatus` = 'Running' OR WorkerInstanceKey = 'b'")).toEqual(['a', 'b']);
  });

  it('compares times as RFC 3339 or nanoseconds, an unset time as the epoch (but never BETWEEN)', () => {
    expect(run("StartTime > '2023-11-14T22:13:20Z'")).toEqual(['a']);
    expect(run("StartTime = '2023-11-14T22:13:20.5Z'")).toEqual(['a']);
    expect(run('StartTime >= 1700000000500000000')).toEqual(['a']);
    expect(run("StartTime < '2000-01-01T00:00:00Z'")).toEqual(['b']);
    expect(run("StartTime BETWEEN '1960-01-01T00:00:00Z' AND '2030-01-01T00:00:00Z'")).toEqual(['a']);
    expect(run("StartTime NOT BETWEEN '1960-01-01T00:00:00Z' AND '2000-01-01T00:00:00Z'")).toEqual(['a']);
    expect(run('HeartbeatTime IS NULL')).toEqual(['a', 'b']);
  });

  it('lets a worker that cannot be judged not match, and refuses only what does not parse', () => {
    expect(run("Bogus = 'x'")).toEqual([]);
    // Judged left to right, as Temporal does: an error before a deciding operand ends the worker's match.
    expect(run("TaskQueue = 'q' OR Bogus = 'x'")).toEqual(['a']);
    expect(run("Bogus = 'x' OR TaskQueue = 'q'")).toEqual([]);
    expect(run("NOT TaskQueue = 'q'")).toEqual([]);
    expect(run("TaskQueue IN ('q')")).toEqual([]);
    expect(run("TaskQueue = ''")).toEqual([]);
    expect(run('TaskQueue = 3')).toEqual([]);
    expect(run("TaskQueue > 'a'")).toEqual([]);
    expect(run("StartTime > 'yesterday'")).toEqual([]);
    expect(() => compileWorkerQuery('TaskQueue =')).toThrow(/^malformed query: /);
    expect(() => compileWorkerQuery('   ')).toThrow(/^malformed query: /);
    expect(() => compileWorkerQuery("TaskQueue = 'q' LIMIT 1")).toThrow("operation is not supported: 'limit' clause");
    expect(() => compileWorkerQuery("where TaskQueue = 'q'")).toThrow(InvalidArgumentError);
  });
});

describe('the worker registry', () => {
  it('replaces a worker by its heartbeats, drops it on SHUTDOWN, and marks the server’s own workers', () => {
    const registry = new WorkerRegistry(() => 0);
    registry.record('ns', [worker('a', { sdkVersion: '1' }), worker('b'), worker('s', { taskQueue: 'temporal-sys-per-ns-tq' })]);
    registry.record('ns', [worker('a', { sdkVersion: '2' })]);
    registry.record('other', [worker('a')]);
    expect(registry.get('ns', 'a')?.heartbeat.sdkVersion).toBe('2');
    expect(registry.entries('ns').map((e) => [e.heartbeat.workerInstanceKey, e.system])).toEqual([
      ['b', false],
      ['s', true],
      ['a', false],
    ]);
    registry.record('ns', [worker('b', { status: 3 })]);
    expect(registry.get('ns', 'b')).toBeUndefined();
    expect(registry.size).toBe(3);
  });

  it('forgets workers not heard from within the TTL, and the least recently heard past capacity', () => {
    let now = 0;
    const registry = new WorkerRegistry(() => now, { ttlMs: 300_000, maxEntries: 3, minEvictAgeMs: 60_000 });
    registry.record('ns', [worker('old')]);
    now = 200_000;
    registry.record('ns', [worker('a'), worker('b')]);
    now = 300_000;
    registry.sweep();
    expect(registry.entries('ns').map((e) => e.heartbeat.workerInstanceKey)).toEqual(['a', 'b']);

    registry.record('ns', [worker('c'), worker('d')]);
    // Over capacity, but c and d were heard from within the minimum age: only the oldest go.
    registry.sweep();
    expect(registry.entries('ns').map((e) => e.heartbeat.workerInstanceKey)).toEqual(['b', 'c', 'd']);
    registry.record('ns', [worker('e')]);
    registry.sweep();
    expect(registry.size).toBe(3);
    now = 320_000;
    registry.record('ns', [worker('f')]);
    registry.sweep();
    expect(registry.size).toBe(4);
  });
});
