// The work of one batch job, run as its workflow's one activity (docs/batch.md): count the targets, walk
// them page by page, apply the operation to each at a limited rate, and keep the progress in the
// activity's heartbeat so that a later attempt (after a crash) goes on from the last finished page.
import { api, type Loose } from '@kairos/common';
import type { temporal } from '@temporalio/proto';
import { GrpcCode, ServiceError } from '../errors.js';
import { ACTIVITY_EXECUTION_KINDS, BATCH_PAGE_SIZE, explicitTargets, targetQuery, type Progress } from './batch-rules.js';
import { applyToTarget, NonRetryableTargetError, type TargetContext } from './batch-targets.js';

type Execution = Loose<temporal.api.common.v1.IExecution>;

/** The settings of one job (Temporal's worker.batcherRPS, worker.batcherConcurrency and its retry rules). */
export interface JobSettings {
  /** Calls per second at most (each attempt takes one token). */
  readonly rps: number;
  /** Targets worked on at once. */
  readonly concurrency: number;
  /** Attempts per target after the first (Temporal: 50). */
  readonly retries: number;
  readonly callTimeoutMs: number;
}

/** `signal` is aborted when the job is stopped or the server shuts down: the job ends without an outcome. */
export interface JobContext extends Omit<TargetContext, 'timeoutMs'> {
  readonly settings: JobSettings;
  /** Records progress (the activity's heartbeat). */
  heartbeat(progress: Progress): void;
}

/** A job that cannot go on (its query is invalid): the job fails instead of retrying. */
export class JobFailure extends Error {
  override name = 'JobFailure';
  constructor(
    message: string,
    readonly type: string,
  ) {
    super(message);
  }
}

/** Runs the job from `resumeFrom` (a previous attempt's last heartbeat) to the end; returns the final progress. */
export async function runJob(ctx: JobContext, resumeFrom: Progress | null): Promise<Progress> {
  const progress: Progress = resumeFrom ? { ...resumeFrom } : await initialProgress(ctx);
  ctx.heartbeat(progress);
  const limiter = new TokenBucket(ctx.settings.rps);
  const explicit = explicitTargets(ctx.request, ctx.kind);
  const query = ctx.request.visibilityQuery ? targetQuery(ctx.kind, ctx.request.visibilityQuery) : null;
  // Targets done in this attempt: a listing ordered by close time can show a run again after the job
  // closed it (a reset one, say); it is not worked on twice.
  const seen = new Set<string>();
  for (;;) {
    const page = query === null ? { targets: explicit, next: null } : await listPage(ctx, query, progress.PageToken);
    const fresh = page.targets.filter((t) => {
      const key = `${t.businessId ?? ''}\u0000${t.runId ?? ''}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    const counts = await processPage(ctx, limiter, fresh);
    if (ctx.signal.aborted) throw ctx.signal.reason;
    progress.SuccessCount += counts.success;
    progress.ErrorCount += counts.failure;
    progress.CurrentPage += 1;
    progress.PageToken = page.next;
    ctx.heartbeat(progress);
    if (page.next === null) return progress;
  }
}

async function initialProgress(ctx: JobContext): Promise<Progress> {
  const progress: Progress = { PageToken: null, CurrentPage: 0, TotalEstimate: explicitTargets(ctx.request, ctx.kind).length, SuccessCount: 0, ErrorCount: 0 };
  if (ctx.request.visibilityQuery) {
    const method = ACTIVITY_EXECUTION_KINDS.has(ctx.kind) ? 'CountActivityExecutions' : 'CountWorkflowExecutions';
    const counted = (await listCall(ctx, method, { namespace: ctx.namespace, query: targetQuery(ctx.kind, ctx.request.visibilityQuery) })) as { count?: number | Long | null };
    progress.TotalEstimate = Number(counted.count ?? 0);
  }
  return progress;
}

async function listPage(ctx: JobContext, query: string, pageToken: string | null): Promise<{ targets: Execution[]; next: string | null }> {
  const nextPageToken = pageToken === null ? null : Buffer.from(pageToken, 'base64');
  const request = { namespace: ctx.namespace, query, pageSize: BATCH_PAGE_SIZE, nextPageToken };
  let targets: Execution[];
  let next: Uint8Array | null | undefined;
  if (ACTIVITY_EXECUTION_KINDS.has(ctx.kind)) {
    const page = (await listCall(ctx, 'ListActivityExecutions', request)) as { executions?: Array<{ activityId?: string | null; runId?: string | null }> | null; nextPageToken?: Uint8Array | null };
    targets = (page.executions ?? []).map((e) => ({ type: api.enums.v1.ExecutionType.EXECUTION_TYPE_ACTIVITY, businessId: e.activityId ?? '', runId: e.runId ?? '' }));
    next = page.nextPageToken;
  } else {
    const page = (await listCall(ctx, 'ListWorkflowExecutions', request)) as {
      executions?: Array<{ execution?: { workflowId?: string | null; runId?: string | null } | null }> | null;
      nextPageToken?: Uint8Array | null;
    };
    targets = (page.executions ?? []).map((e) => ({ type: api.enums.v1.ExecutionType.EXECUTION_TYPE_WORKFLOW, businessId: e.execution?.workflowId ?? '', runId: e.execution?.runId ?? '' }));
    next = page.nextPageToken;
  }
  return { targets, next: next && next.length > 0 ? Buffer.from(next).toString('base64') : null };
}

/** A count or list call; an invalid query fails the job (Temporal's non-retryable "InvalidArgument"). */
async function listCall(ctx: JobContext, method: string, request: object): Promise<object> {
  try {
    return await ctx.call(method, request, { timeoutMs: ctx.settings.callTimeoutMs, signal: ctx.signal });
  } catch (err) {
    if (err instanceof ServiceError && err.code === GrpcCode.INVALID_ARGUMENT) throw new JobFailure(err.message, 'InvalidArgument');
    throw err;
  }
}

/** Works through one page with `concurrency` workers; returns how many targets succeeded and failed. */
async function processPage(ctx: JobContext, limiter: TokenBucket, targets: readonly Execution[]): Promise<{ success: number; failure: number }> {
  const counts = { success: 0, failure: 0 };
  let next = 0;
  const targetCtx: TargetContext = { ...ctx, timeoutMs: ctx.settings.callTimeoutMs };
  const worker = async () => {
    while (next < targets.length && !ctx.signal.aborted) {
      const target = targets[next++]!;
      if (await applyWithRetries(targetCtx, limiter, target, ctx.settings.retries)) counts.success += 1;
      else if (!ctx.signal.aborted) counts.failure += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(ctx.settings.concurrency, targets.length)) }, worker));
  return counts;
}

/**
 * One target, retried: NOT_FOUND counts as done (the workflow closed or went away: there is nothing left
 * to do to it), an invalid argument or a non-retryable error fails it at once, any other error is tried
 * again, `retries` times at most, each attempt paced by the job's rate.
 */
async function applyWithRetries(ctx: TargetContext, limiter: TokenBucket, target: Execution, retries: number): Promise<boolean> {
  for (let attempt = 0; attempt <= retries; attempt++) {
    await limiter.take(ctx.signal);
    if (ctx.signal.aborted) return false;
    try {
      await applyToTarget(ctx, target);
      return true;
    } catch (err) {
      if (ctx.signal.aborted) return false;
      if (err instanceof ServiceError && err.code === GrpcCode.NOT_FOUND && ctx.kind !== 'reset') return true;
      if (err instanceof NonRetryableTargetError) return false;
      if (err instanceof ServiceError && err.code === GrpcCode.INVALID_ARGUMENT) return false;
      if (err instanceof ServiceError && err.code === GrpcCode.FAILED_PRECONDITION && (ctx.kind === 'terminate_activities' || ctx.kind === 'cancel_activities')) return false;
      if (ctx.kind === 'update_options' && err instanceof Error && err.message.includes('is not present in task queue')) return false;
    }
  }
  return false;
}

/** A token bucket of `rate` tokens a second, holding at most `rate`. */
export class TokenBucket {
  private tokens: number;
  private last = performance.now();

  constructor(private readonly rate: number) {
    this.tokens = rate;
  }

  async take(signal: AbortSignal): Promise<void> {
    for (;;) {
      const now = performance.now();
      this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) / 1000) * this.rate);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      if (signal.aborted) return;
      await sleep(Math.ceil(((1 - this.tokens) / this.rate) * 1000), signal);
    }
  }
}

/** Resolves after `ms`, or at once when `signal` is aborted. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
