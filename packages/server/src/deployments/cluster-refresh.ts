// Cluster mode: each node keeps the Worker Deployments in memory (registry.ts), and a version
// registered, or a routing set, on one node must reach the others' matching. Every interval a node
// reads the deployment rows and takes in those another node wrote since (and drops deleted ones).
import type { Logger } from '../logger.js';
import type { Store } from '../persistence/store.js';
import { decodeDeploymentRecord } from './deployment-record.js';
import { DEPLOYMENTS_SUFFIX, isDeploymentKeySpace, type WorkerDeployments } from './registry.js';

export const CLUSTER_REFRESH_MS = 1_000;

export class DeploymentRefresher {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly deployments: WorkerDeployments,
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly intervalMs = CLUSTER_REFRESH_MS,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => {
      this.running ??= this.refresh()
        .catch((err: unknown) => this.logger.warn('worker deployment refresh failed', { error: String(err) }))
        .finally(() => (this.running = null));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Takes in every deployment row whose version differs from the one held here. */
  async refresh(): Promise<void> {
    const stored = new Map<string, number>();
    for (const row of await this.store.listAllSchedules()) {
      if (!isDeploymentKeySpace(row.namespaceId)) continue;
      const namespaceId = row.namespaceId.slice(0, -DEPLOYMENTS_SUFFIX.length);
      stored.set(`${namespaceId}\u0000${row.scheduleId}`, row.version);
      await this.deployments.adopt(namespaceId, row.scheduleId, decodeDeploymentRecord(row.data), row.version);
    }
    for (const held of [...this.deployments.rowVersions()]) {
      if (!stored.has(`${held.namespaceId}\u0000${held.name}`)) await this.deployments.adopt(held.namespaceId, held.name, null, 0);
    }
  }
}
