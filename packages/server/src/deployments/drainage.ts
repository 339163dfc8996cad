// Drainage of Worker Deployment versions. A version that routing stops naming is DRAINING until no
// running workflow is pinned to it. Its first check comes a grace period after it started draining
// (visibility may lag behind the last pinned starts), the next ones every refresh interval; a check
// that counts none marks it DRAINED (registry.ts writes that). One clock callback, at the earliest
// check due; a check that fails is retried a refresh interval later.
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { v32String, versionKey, type VersionView } from './deployment-record.js';

export interface DrainingVersion {
  readonly namespaceId: string;
  readonly deploymentName: string;
  readonly version: VersionView;
}

export interface DrainageSource {
  /** Every version of every deployment (the monitor picks the draining ones). */
  versions(): Iterable<DrainingVersion>;
  /** What counts the running workflows pinned to a version ('dep:bld'); null while nobody can. */
  counter(): ((namespaceId: string, versionColonForm: string) => Promise<number>) | null;
  /** Writes a check's outcome, unless the version's drainage that started at `lastChangedMs` is over. */
  recordCheck(namespaceId: string, deploymentName: string, buildId: string, lastChangedMs: number, pinned: number): Promise<void>;
}

export class DrainageMonitor {
  private running = false;
  private checking = false;
  private cancelTimer: (() => void) | null = null;
  private timerAt = Infinity;
  /** Versions whose last check failed: not checked again before this time. */
  private readonly deferred = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly graceMs: number,
    private readonly refreshMs: number,
    private readonly source: DrainageSource,
  ) {}

  start(): void {
    this.running = true;
    this.rearm();
  }

  stop(): void {
    this.running = false;
    this.cancelTimer?.();
    this.cancelTimer = null;
    this.timerAt = Infinity;
  }

  /** Called after every change of a deployment: re-arms the callback for the earliest check due. */
  rearm(): void {
    if (!this.running || this.checking || !this.source.counter()) return;
    let earliest = Infinity;
    for (const v of this.source.versions()) earliest = Math.min(earliest, this.nextCheck(v));
    if (earliest === this.timerAt) return;
    this.cancelTimer?.();
    this.cancelTimer = null;
    this.timerAt = earliest;
    // 'wait': a time-skipping clock must not jump ahead to a drainage check.
    if (earliest !== Infinity) this.cancelTimer = this.clock.schedule(earliest, () => this.checkDue(), 'wait');
  }

  private nextCheck({ namespaceId, deploymentName, version }: DrainingVersion): number {
    const drainage = version.drainage;
    if (drainage?.status !== 'draining') return Infinity;
    const graceEnd = drainage.lastChangedMs + this.graceMs;
    const due = drainage.lastCheckedMs < graceEnd ? graceEnd : drainage.lastCheckedMs + this.refreshMs;
    return Math.max(due, this.deferred.get(deferKey(namespaceId, deploymentName, version.buildId)) ?? -Infinity);
  }

  private async checkDue(): Promise<void> {
    this.cancelTimer = null;
    this.timerAt = Infinity;
    const count = this.source.counter();
    if (!this.running || !count) return;
    this.checking = true;
    try {
      const nowMs = this.clock.now();
      const due = [...this.source.versions()].filter((v) => this.nextCheck(v) <= nowMs);
      for (const { namespaceId, deploymentName, version } of due) {
        const key = deferKey(namespaceId, deploymentName, version.buildId);
        try {
          const pinned = await count(namespaceId, v32String(deploymentName, version.buildId));
          this.deferred.delete(key);
          await this.source.recordCheck(namespaceId, deploymentName, version.buildId, version.drainage!.lastChangedMs, pinned);
        } catch (err) {
          this.deferred.set(key, this.clock.now() + this.refreshMs);
          this.logger.warn('worker deployment drainage check failed', { namespaceId, deploymentName, buildId: version.buildId, error: String(err) });
        }
      }
    } finally {
      this.checking = false;
      this.rearm();
    }
  }
}

function deferKey(namespaceId: string, deploymentName: string, buildId: string): string {
  return `${namespaceId}\u0002${versionKey(deploymentName, buildId)}`;
}
