import { describe, expect, it } from 'vitest';
import { systemClock } from '../clock.js';
import { Matching, versionedQueueName, type TaskRef, type TaskRouter } from './matching.js';

const ref = (workflowId: string, extra: Partial<TaskRef> = {}): TaskRef => ({ key: { namespaceId: 'ns', workflowId, runId: 'r' }, scheduledEventId: 2, attempt: 1, ...extra });

async function take(m: Matching, name: string): Promise<string | null> {
  const entry = await m.pollWorkflowTaskQueue('ns', name, 0, new AbortController().signal);
  return entry && entry.kind === 'task' ? entry.ref.key.workflowId : null;
}

describe('matching with Worker Deployment routing', () => {
  it('queues each task where the router sends it, and moves waiting unpinned tasks when the routing changes', async () => {
    const m = new Matching(systemClock);
    let current: string | null = 'v1';
    const router: TaskRouter = (_kind, _ns, taskQueue, _workflowId, version) => {
      const target = version ?? current;
      return target === null ? taskQueue : versionedQueueName(taskQueue, target);
    };
    m.router = router;
    m.addWorkflowTask('tq', ref('unpinned'));
    m.addWorkflowTask('tq', ref('pinned', { version: 'v1' }));
    expect(m.describe('ns', 'tq').workflowBacklog).toBe(0);
    expect(m.describe('ns', versionedQueueName('tq', 'v1')).workflowBacklog).toBe(2);

    current = 'v2';
    m.reroute('workflow', 'ns', 'tq');
    expect(await take(m, versionedQueueName('tq', 'v2'))).toBe('unpinned');
    expect(await take(m, versionedQueueName('tq', 'v1'))).toBe('pinned');

    current = null;
    m.addWorkflowTask('tq', ref('later'));
    expect(await take(m, 'tq')).toBe('later');
  });
});

describe('Nexus queues in a cluster', () => {
  it('announces a Nexus task no poll waits for, hands it to a peer, and lets a hint lead a local poll to the peer', async () => {
    const owner = new Matching(systemClock);
    const announced: string[] = [];
    owner.onBacklog = (kind, ns, name) => announced.push(`${kind}/${ns}/${name}`);
    owner.addNexusTask('ns', 'nq', 'task-1');
    expect(announced).toEqual(['nexus/ns/nq']);
    expect(owner.queueInfo('ns', 'nq', 'nexus').backlog).toBe(1);
    // What a peer's `take` gets: the task itself, once.
    expect(owner.takeLocal('nexus', 'ns', 'nq')).toEqual({ entry: { kind: 'nexus', taskId: 'task-1' }, more: false });
    expect(owner.takeLocal('nexus', 'ns', 'nq').entry).toBeNull();

    // On the worker's node: a poll waiting on the queue is woken by the owner's hint.
    const peer = new Matching(systemClock);
    const newQueues: string[] = [];
    peer.onNewPolledQueue = (kind, _ns, name) => newQueues.push(`${kind}/${name}`);
    const polled = peer.pollNexusTaskQueue('ns', 'nq', 5_000, new AbortController().signal, 'worker');
    expect(newQueues).toEqual(['nexus/nq']);
    expect(peer.queuesWithWaitingPolls()).toContainEqual({ kind: 'nexus', namespaceId: 'ns', name: 'nq' });
    peer.addRemoteHint('nexus', 'ns', 'nq', 'node-1');
    expect(await polled).toEqual({ kind: 'remote', node: 'node-1' });
  });
});
