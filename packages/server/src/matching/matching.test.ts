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
