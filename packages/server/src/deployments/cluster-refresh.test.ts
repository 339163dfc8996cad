// Two registries over one store stand for two cluster nodes: what one writes reaches the other by a
// refresh, with matching told of the routing change; a write from a stale node is refused, and the
// node takes the newer row in so that a retry succeeds.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { SqliteStore } from '../persistence/sqlite/sqlite-store.js';
import { ConditionFailedError } from '../persistence/errors.js';
import { systemClock } from '../clock.js';
import { DeploymentRefresher } from './cluster-refresh.js';
import { versionKey, WorkerDeployments } from './registry.js';

const NS = 'ns-id';
const logger = createLogger({ level: 'never', format: 'json' });
const store = SqliteStore.open({ filename: ':memory:' });

describe('deployments on two nodes of a cluster', () => {
  it('takes in what the other node wrote, and refuses a stale write until it has', async () => {
    const a = await WorkerDeployments.load(store, systemClock, logger);
    const b = await WorkerDeployments.load(store, systemClock, logger);
    const changed: string[] = [];
    b.onRoutingChange = (_ns, queues) => changed.push(...queues.map((q) => `${q.taskQueue}/${q.kind}`));
    const refresher = new DeploymentRefresher(b, store, logger);

    await a.register(NS, 'tq', 'workflow', 'orders', '1');
    await a.setCurrentVersion(NS, { deploymentName: 'orders', buildId: '1', identity: 'a', conflictToken: null, ignoreMissingTaskQueues: false, allowNoPollers: false });
    expect(b.target(NS, 'tq', 'workflow', 'wf')).toBeNull();
    await refresher.refresh();
    expect(b.target(NS, 'tq', 'workflow', 'wf')).toBe(versionKey('orders', '1'));
    expect(changed).toEqual(['tq/workflow']);

    // A stale node's write fails once, then succeeds on the row it took in.
    await a.register(NS, 'tq', 'workflow', 'orders', '2');
    const stale = b.register(NS, 'tq', 'activity', 'orders', '1');
    await expect(stale).rejects.toBeInstanceOf(ConditionFailedError);
    await b.register(NS, 'tq', 'activity', 'orders', '1');
    expect(b.isRegistered(NS, 'tq', 'workflow', 'orders', '2')).toBe(true);

    await refresher.stop();
    await store.close();
  });
});
