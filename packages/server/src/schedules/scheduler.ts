// The scheduler: runs every schedule of the database (of this node's shards in a cluster) the way
// Temporal's per-schedule scheduler workflow does (docs/schedules.md):
// - at each wake-up, the spec's times since the last one become buffered starts (or missed ones,
//   past the catchup window); paused schedules and spent remaining actions take none;
// - the buffer is resolved against the overlap policy and the workflows this schedule started that
//   still run (skip, buffer one, buffer all, cancel other, terminate other, allow all);
// - starts go through the WorkflowService like any client's, with the workflow id suffixed by the
//   nominal time, TemporalScheduledStartTime/TemporalScheduledById set, and the previous action's
//   result or failure handed on;
// - while starts wait for a running workflow, one long poll on that workflow's close wakes the schedule.
// Every change is written to the schedule's row under a version check before the next wake-up is armed;
// starts carry request ids derived from the schedule and the nominal time, so a start repeated after a
// crash finds the run it started before instead of starting another.
import { isDeploymentKeySpace } from '../deployments/registry.js';
import { ENDPOINTS_KEY_SPACE } from '../nexus/endpoints.js';
import { api, timestampToMs, type Loose } from '@kairos/common';
import type { temporal } from '@temporalio/proto';
import type { Clock } from '../clock.js';
import { FailedPreconditionError, InvalidArgumentError, ServiceError, GrpcCode } from '../errors.js';
import { KeyedMutex } from '../history/keyed-mutex.js';
import type { Logger } from '../logger.js';
import { ConditionFailedError } from '../persistence/errors.js';
import type { ScheduleRow, Store } from '../persistence/store.js';
import { compileSpec, type CompiledSpec } from './spec.js';
import { decodeScheduleRecord, encodeScheduleRecord, type BufferedStart, type RecentAction, type ScheduleRecord } from './schedule-record.js';
import { processBuffer } from './buffer.js';
import {
  addStart,
  alreadyRegistered,
  canTakeScheduledAction,
  catchupWindow,
  closeStatus,
  isUserError,
  keyText,
  MAX_BUFFER_SIZE,
  parseKeyText,
  recordAction,
  requestIdFor,
  resolveOverlap,
  scheduledSearchAttributes,
  scheduleNotFound,
  withDefaults,
  type ScheduleKey,
} from './schedule-rules.js';

export { withDefaults, type ScheduleKey };

type Schedule = Loose<temporal.api.schedule.v1.ISchedule>;
type SchedulePatch = Loose<temporal.api.schedule.v1.ISchedulePatch>;
type Memo = Loose<temporal.api.common.v1.IMemo>;
type SearchAttributes = Loose<temporal.api.common.v1.ISearchAttributes>;

const OverlapPolicy = api.enums.v1.ScheduleOverlapPolicy;
const Status = api.enums.v1.WorkflowExecutionStatus;

/** Schedules live where Temporal's scheduler workflows would: this workflow id names a schedule's shard. */
export const SCHEDULER_WORKFLOW_ID_PREFIX = 'temporal-sys-scheduler:';

// Temporal's defaults (service/worker/scheduler/workflow.go, CurrentTweakablePolicies).
const FUTURE_ACTION_COUNT = 10;
const FUTURE_ACTION_COUNT_FOR_LIST = 5;
const RECENT_ACTION_COUNT_FOR_LIST = 5;
const SPEC_FIELD_LIMIT_FOR_LIST = 10;
const BACKFILLS_PER_WAKE = 10;
const MAX_MATCHING_TIMES = 1000;
/** How long one watch of a running workflow's close waits before it asks again. */
const WATCH_POLL_MS = 60_000;
/** After a start failed for a reason that may pass (the owner of its shard away, say). */
const RETRY_AFTER_MS = 1000;

/** The WorkflowService as the scheduler calls it (routed to the owning node in a cluster). */
export type WorkflowCaller = (method: string, request: object, options?: { timeoutMs?: number; signal?: AbortSignal }) => Promise<object>;


interface Loaded {
  readonly row: ScheduleRow;
  readonly record: ScheduleRecord;
}

export interface CreateScheduleInput {
  readonly namespaceId: string;
  readonly namespaceName: string;
  readonly scheduleId: string;
  readonly schedule: Schedule;
  readonly initialPatch: SchedulePatch | null;
  readonly memo: Memo | null;
  readonly searchAttributes: SearchAttributes | null;
}

export class Scheduler {
  /** Cluster mode: whether this node runs the schedule (holds its shard); everything, alone. */
  accepts: (key: ScheduleKey) => boolean = () => true;

  private readonly mutex = new KeyedMutex();
  private readonly wakeups = new Map<string, { atMs: number; cancel: () => void }>();
  private readonly watches = new Map<string, AbortController>();
  private readonly compiled = new Map<string, { spec: unknown; compiled: CompiledSpec | null; error: string }>();
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly call: WorkflowCaller,
  ) {}

  /** Arms every accepted schedule not armed yet (at start-up, and when a cluster node takes shards). */
  async resume(): Promise<void> {
    for (const row of await this.store.listAllSchedules()) {
      // Worker Deployments keep their records in the same table, in a key space of their own.
      if (isDeploymentKeySpace(row.namespaceId) || row.namespaceId === ENDPOINTS_KEY_SPACE) continue;
      const key = { namespaceId: row.namespaceId, scheduleId: row.scheduleId };
      if (!this.accepts(key) || this.wakeups.has(keyText(key))) continue;
      this.wake(key, this.clock.now());
    }
  }

  /** Forgets the schedules no longer accepted here (a cluster node lost their shards). */
  release(): void {
    for (const text of [...this.wakeups.keys(), ...this.watches.keys()]) {
      if (!this.accepts(parseKeyText(text))) this.disarm(text);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const text of [...this.wakeups.keys(), ...this.watches.keys()]) this.disarm(text);
  }

  // ---- the API ------------------------------------------------------------------------------------

  async create(input: CreateScheduleInput): Promise<number> {
    const key = { namespaceId: input.namespaceId, scheduleId: input.scheduleId };
    return this.mutex.run(keyText(key), async () => {
      const now = this.clock.now();
      const record: ScheduleRecord = {
        namespaceName: input.namespaceName,
        schedule: withDefaults(input.schedule),
        memo: input.memo,
        searchAttributes: input.searchAttributes,
        createTimeMs: now,
        updateTimeMs: 0,
        conflictToken: 1,
        lastProcessedMs: now,
        buffered: [],
        backfills: [],
        actionCount: 0,
        missedCatchupWindow: 0,
        overlapSkipped: 0,
        bufferDropped: 0,
        recentActions: [],
        running: [],
        needRefresh: false,
        lastCompletionResult: null,
        continuedFailure: null,
        invalidScheduleError: '',
      };
      if (await this.store.getSchedule(key.namespaceId, key.scheduleId)) throw alreadyRegistered(key.scheduleId);
      try {
        await this.store.putSchedule({ ...key, data: encodeScheduleRecord(record), version: 1 }, 0);
      } catch (err) {
        if (err instanceof ConditionFailedError) throw alreadyRegistered(key.scheduleId);
        throw err;
      }
      const row = { ...key, data: encodeScheduleRecord(record), version: 1 };
      await this.advance(key, { row, record }, (r) => {
        if (input.initialPatch) this.applyPatch(r, input.initialPatch, now);
        return false;
      });
      return record.conflictToken;
    });
  }

  async describe(key: ScheduleKey): Promise<{ record: ScheduleRecord; compiled: CompiledSpec | null }> {
    return this.mutex.run(keyText(key), async () => {
      const loaded = await this.load(key);
      // Answer with the running list as it is now, not as of the last action.
      if (loaded.record.running.length > 0) loaded.record.needRefresh = true;
      const record = await this.advance(key, loaded, null);
      return { record, compiled: this.compile(key, record) };
    });
  }

  async update(key: ScheduleKey, schedule: Schedule, conflictToken: number, searchAttributes: SearchAttributes | null | undefined): Promise<void> {
    await this.mutex.run(keyText(key), async () => {
      const loaded = await this.load(key);
      if (conflictToken !== 0 && conflictToken !== loaded.record.conflictToken) {
        throw new FailedPreconditionError('mismatched conflict token: the schedule changed since it was read');
      }
      await this.advance(key, loaded, (r, now) => {
        r.schedule = withDefaults(schedule);
        // null leaves the attributes alone; an empty message clears them.
        if (searchAttributes != null) r.searchAttributes = searchAttributes;
        r.updateTimeMs = now;
        r.conflictToken++;
        return true;
      });
    });
  }

  async patch(key: ScheduleKey, patch: SchedulePatch): Promise<void> {
    await this.mutex.run(keyText(key), async () => {
      const loaded = await this.load(key);
      await this.advance(key, loaded, (r, now) => {
        this.applyPatch(r, patch, now);
        return false;
      });
    });
  }

  async delete(key: ScheduleKey): Promise<void> {
    await this.mutex.run(keyText(key), async () => {
      if (!(await this.store.deleteSchedule(key.namespaceId, key.scheduleId))) throw scheduleNotFound(key.scheduleId);
      this.disarm(keyText(key));
      this.compiled.delete(keyText(key));
    });
  }

  /** The spec's (jittered) times after `startMs` and up to `endMs`, at most 1000, as Temporal lists them. */
  async matchingTimes(key: ScheduleKey, startMs: number, endMs: number): Promise<number[]> {
    const { record } = await this.load(key);
    const compiled = this.compile(key, record);
    if (!compiled) throw new InvalidArgumentError(`invalid schedule: ${record.invalidScheduleError}`);
    const out: number[] = [];
    for (let t = compiled.next(startMs); t && t.actualMs <= endMs && out.length < MAX_MATCHING_TIMES; t = compiled.next(t.actualMs)) out.push(t.actualMs);
    return out;
  }

  /** Up to `n` upcoming action times (describe: 10, list: 5). */
  futureActionTimes(record: ScheduleRecord, compiled: CompiledSpec | null, n: number): number[] {
    if (!compiled) return [];
    const state = record.schedule.state;
    if (state?.limitedActions) n = Math.min(n, Number(state.remainingActions ?? 0));
    const out: number[] = [];
    let t = record.lastProcessedMs;
    while (out.length < n) {
      const next = compiled.next(t);
      if (!next) break;
      t = next.actualMs;
      if (record.updateTimeMs > t) continue;
      out.push(t);
    }
    return out;
  }

  /** A page of a namespace's schedules, decoded. */
  async list(namespaceId: string, afterScheduleId: string | null, limit: number): Promise<Array<{ scheduleId: string; record: ScheduleRecord; compiled: CompiledSpec | null }>> {
    const rows = await this.store.listSchedules(namespaceId, afterScheduleId, limit);
    return rows.map((row) => {
      const record = decodeScheduleRecord(row.data);
      return { scheduleId: row.scheduleId, record, compiled: this.compile({ namespaceId, scheduleId: row.scheduleId }, record) };
    });
  }

  static readonly LIST_LIMITS = { futureActions: FUTURE_ACTION_COUNT_FOR_LIST, recentActions: RECENT_ACTION_COUNT_FOR_LIST, specFields: SPEC_FIELD_LIMIT_FOR_LIST };
  static readonly DESCRIBE_FUTURE_ACTIONS = FUTURE_ACTION_COUNT;

  // ---- one step ---------------------------------------------------------------------------------

  private async load(key: ScheduleKey): Promise<Loaded> {
    const row = await this.store.getSchedule(key.namespaceId, key.scheduleId);
    if (!row) throw scheduleNotFound(key.scheduleId);
    return { row, record: decodeScheduleRecord(row.data) };
  }

  /** Runs a wake-up (its timer fired or a watched workflow closed); the schedule may be gone. */
  private wake(key: ScheduleKey, atMs: number): void {
    const text = keyText(key);
    const existing = this.wakeups.get(text);
    if (existing && existing.atMs <= atMs) return;
    existing?.cancel();
    const cancel = this.clock.schedule(
      atMs,
      () => {
        if (this.wakeups.get(text)?.cancel === cancel) this.wakeups.delete(text);
        if (this.stopped || !this.accepts(key)) return;
        return this.mutex
          .run(text, async () => {
            const row = await this.store.getSchedule(key.namespaceId, key.scheduleId);
            if (!row) return this.disarm(text);
            await this.advance(key, { row, record: decodeScheduleRecord(row.data) }, null);
          })
          .catch((err: unknown) => {
            this.logger.warn('schedule wake-up failed; retrying', { scheduleId: key.scheduleId, error: String(err) });
            if (!this.stopped) this.wake(key, this.clock.now() + RETRY_AFTER_MS);
          });
      },
      'wait',
    );
    this.wakeups.set(text, { atMs, cancel });
  }

  private disarm(text: string): void {
    this.wakeups.get(text)?.cancel();
    this.wakeups.delete(text);
    this.watches.get(text)?.abort();
    this.watches.delete(text);
  }

  /**
   * Temporal's scheduler loop, once: the time since the last wake-up, then `change` (an update or a
   * patch; true when the spec may have changed), backfills, the buffer; written under the row's version,
   * then the next wake-up armed. Returns the record as written.
   */
  private async advance(key: ScheduleKey, loaded: Loaded, change: ((record: ScheduleRecord, nowMs: number) => boolean) | null): Promise<ScheduleRecord> {
    const { record } = loaded;
    const now = Math.max(this.clock.now(), record.lastProcessedMs);
    let next = this.processTimeRange(key, record, record.lastProcessedMs, now, OverlapPolicy.SCHEDULE_OVERLAP_POLICY_UNSPECIFIED, false, null);
    record.lastProcessedMs = now;
    if (change?.(record, now)) {
      this.compiled.delete(keyText(key));
      next = this.processTimeRange(key, record, record.lastProcessedMs, now, OverlapPolicy.SCHEDULE_OVERLAP_POLICY_UNSPECIFIED, false, null);
    }
    this.processBackfills(key, record);
    let retry = false;
    for (;;) {
      const outcome = await this.processBuffer(key, record);
      retry ||= outcome.retry;
      if (!outcome.again) break;
    }
    const data = encodeScheduleRecord(record);
    await this.store.putSchedule({ ...key, data, version: loaded.row.version + 1 }, loaded.row.version);

    // The next wake-up: the next spec time, sooner while allow-all backfills remain or a start must be retried.
    let wakeAt = next !== null && canTakeScheduledAction(record, false) ? next : Infinity;
    if (record.backfills.length > 0 && resolveOverlap(record, record.backfills[0]!.overlapPolicy) === OverlapPolicy.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL) wakeAt = Math.min(wakeAt, now + 1000);
    if (record.backfills.length > 0 && record.buffered.length === 0) wakeAt = Math.min(wakeAt, now + 1000);
    if (retry) wakeAt = Math.min(wakeAt, now + RETRY_AFTER_MS);
    const text = keyText(key);
    if (Number.isFinite(wakeAt)) this.wake(key, wakeAt);
    else {
      this.wakeups.get(text)?.cancel();
      this.wakeups.delete(text);
    }
    this.watchIfBuffered(key, record);
    return record;
  }

  private compile(key: ScheduleKey, record: ScheduleRecord): CompiledSpec | null {
    const text = keyText(key);
    const spec = record.schedule.spec ?? {};
    const cached = this.compiled.get(text);
    if (cached && cached.spec === spec) return cached.compiled;
    let compiled: CompiledSpec | null = null;
    let error = '';
    try {
      compiled = compileSpec(spec, `${key.namespaceId}-${key.scheduleId}`);
    } catch (err) {
      error = (err as Error).message;
    }
    record.invalidScheduleError = error;
    this.compiled.set(text, { spec, compiled, error });
    return compiled;
  }

  /**
   * Buffers the spec's times in (startMs, endMs]; returns the first time after the range (null: none).
   * A manual range (backfill) ignores pause, remaining actions and the catchup window.
   */
  private processTimeRange(key: ScheduleKey, record: ScheduleRecord, startMs: number, endMs: number, overlapPolicy: number, manual: boolean, limit: { n: number } | null): number | null {
    const compiled = this.compile(key, record);
    if (!compiled) return null;
    if (!canTakeScheduledAction(record, manual)) return compiled.next(endMs)?.actualMs ?? null;
    const catchupWindowMs = catchupWindow(record);
    let t = compiled.next(startMs);
    for (; t && t.actualMs <= endMs; t = compiled.next(t.actualMs)) {
      // Times before an update belong to the schedule as it was.
      if (!manual && record.updateTimeMs > t.actualMs) continue;
      if (!manual && endMs - t.actualMs > catchupWindowMs) {
        record.missedCatchupWindow++;
        continue;
      }
      addStart(record, { nominalMs: t.nominalMs, actualMs: t.actualMs, overlapPolicy, manual });
      if (limit && --limit.n <= 0) break;
    }
    return t?.actualMs ?? null;
  }

  private processBackfills(key: ScheduleKey, record: ScheduleRecord): void {
    const limit = { n: BACKFILLS_PER_WAKE };
    while (record.backfills.length > 0 && limit.n > 0 && record.buffered.length < MAX_BUFFER_SIZE / 2) {
      const backfill = record.backfills[0]!;
      const next = this.processTimeRange(key, record, backfill.afterMs, backfill.endMs, backfill.overlapPolicy, true, limit);
      if (next === null || next > backfill.endMs) record.backfills.shift();
      else record.backfills[0] = { ...backfill, afterMs: next };
    }
  }

  private applyPatch(record: ScheduleRecord, patch: SchedulePatch, now: number): void {
    if (patch.triggerImmediately) {
      const at = timestampToMs(patch.triggerImmediately.scheduledTime) || now;
      addStart(record, { nominalMs: at, actualMs: at, overlapPolicy: patch.triggerImmediately.overlapPolicy ?? 0, manual: true });
    }
    for (const backfill of patch.backfillRequest ?? []) {
      if (record.backfills.length >= MAX_BUFFER_SIZE) {
        record.bufferDropped++;
        continue;
      }
      // The start is inclusive: times strictly after one millisecond before it.
      record.backfills.push({ afterMs: (timestampToMs(backfill.startTime) ?? 0) - 1, endMs: timestampToMs(backfill.endTime) ?? 0, overlapPolicy: backfill.overlapPolicy ?? 0 });
    }
    const state = (record.schedule.state ??= {});
    if (patch.pause) {
      state.paused = true;
      state.notes = patch.pause;
      record.conflictToken++;
    }
    if (patch.unpause) {
      state.paused = false;
      state.notes = patch.unpause;
      record.conflictToken++;
    }
  }

  /** Resolves the buffer once; `again`: there may be more to do now. */
  private async processBuffer(key: ScheduleKey, record: ScheduleRecord): Promise<{ again: boolean; retry: boolean }> {
    if (record.needRefresh) {
      await this.refreshRunning(key, record);
      record.needRefresh = false;
    }
    const action = record.schedule.action?.startWorkflow;
    if (!action || record.buffered.length === 0) {
      record.buffered = [];
      return { again: false, retry: false };
    }
    const result = processBuffer(record.buffered, record.running.length > 0, (policy) => resolveOverlap(record, policy));
    record.buffered = result.newBuffer;
    record.overlapSkipped += result.overlapSkipped;
    let again = false;
    const starts = [...result.overlappingStarts, ...(result.nonOverlappingStart ? [result.nonOverlappingStart] : [])];
    for (const [index, start] of starts.entries()) {
      if (!canTakeScheduledAction(record, start.manual, true)) {
        again = true;
        continue;
      }
      try {
        const started = await this.startWorkflow(key, record, start, action);
        recordAction(record, started, start === result.nonOverlappingStart);
      } catch (err) {
        this.logger.warn('schedule could not start its workflow', { scheduleId: key.scheduleId, error: String(err) });
        if (isUserError(err)) {
          again = true;
          continue;
        }
        // A start that may succeed later goes back to the front of the buffer with every start not tried
        // yet, and the schedule retries soon; the action it spent is given back.
        record.buffered.unshift(...starts.slice(index));
        const state = record.schedule.state;
        if (!start.manual && state?.limitedActions) state.remainingActions = Number(state.remainingActions ?? 0) + 1;
        return { again: false, retry: true };
      }
    }
    if (result.needTerminate) for (const run of record.running) await this.stopRun(key, record, run, 'TerminateWorkflowExecution');
    else if (result.needCancel) for (const run of record.running) await this.stopRun(key, record, run, 'RequestCancelWorkflowExecution');
    return { again, retry: false };
  }

  private async startWorkflow(key: ScheduleKey, record: ScheduleRecord, start: BufferedStart, action: Loose<temporal.api.workflow.v1.INewWorkflowExecutionInfo>): Promise<RecentAction> {
    const nominalSecondMs = Math.floor(start.nominalMs / 1000) * 1000;
    const workflowId = `${action.workflowId ?? ''}-${new Date(nominalSecondMs).toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
    const allowAll = start.overlapPolicy === OverlapPolicy.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL;
    const request: Loose<temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest> = {
      namespace: record.namespaceName,
      workflowId,
      workflowType: action.workflowType ?? null,
      taskQueue: action.taskQueue ?? null,
      input: action.input ?? null,
      workflowExecutionTimeout: action.workflowExecutionTimeout ?? null,
      workflowRunTimeout: action.workflowRunTimeout ?? null,
      workflowTaskTimeout: action.workflowTaskTimeout ?? null,
      identity: `temporal-scheduler-${record.namespaceName}-${key.scheduleId}`,
      requestId: requestIdFor(key, start),
      // Scheduled starts never repeat a workflow id; manual ones may.
      workflowIdReusePolicy: start.manual
        ? api.enums.v1.WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
        : api.enums.v1.WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
      retryPolicy: action.retryPolicy ?? null,
      memo: action.memo ?? null,
      searchAttributes: scheduledSearchAttributes(action.searchAttributes, nominalSecondMs, key.scheduleId),
      header: action.header ?? null,
      // Allow-all runs do not take part in the chain of results.
      lastCompletionResult: allowAll ? null : record.lastCompletionResult,
      continuedFailure: allowAll ? null : record.continuedFailure,
      userMetadata: action.userMetadata ?? null,
      priority: action.priority ?? null,
    };
    const response = (await this.call('StartWorkflowExecution', request)) as { runId?: string };
    return { scheduleTimeMs: start.actualMs, actualTimeMs: this.clock.now(), workflowId, runId: response.runId ?? '', status: Status.WORKFLOW_EXECUTION_STATUS_RUNNING };
  }

  private async stopRun(key: ScheduleKey, record: ScheduleRecord, run: { workflowId: string; runId: string }, method: 'TerminateWorkflowExecution' | 'RequestCancelWorkflowExecution'): Promise<void> {
    const identity = `temporal-scheduler-${record.namespaceName}-${key.scheduleId}`;
    const reason = method === 'TerminateWorkflowExecution' ? 'terminated by schedule overlap policy' : 'cancelled by schedule overlap policy';
    try {
      await this.call(method, { namespace: record.namespaceName, workflowExecution: run, identity, reason, requestId: `${run.runId}-${method}` });
    } catch (err) {
      // Tried again the next time the buffer is resolved.
      this.logger.warn('schedule could not stop a running workflow', { scheduleId: key.scheduleId, workflowId: run.workflowId, error: String(err) });
    }
  }

  /** Drops the workflows that closed from the running list, with what their close means for the schedule. */
  private async refreshRunning(key: ScheduleKey, record: ScheduleRecord): Promise<void> {
    for (const run of [...record.running]) {
      const closed = await this.closeOf(record, run.workflowId, null);
      if (closed) this.noteClosed(record, run.workflowId, closed);
    }
  }

  /** The close event of the workflow's latest run, or null while it runs (a long poll when `wait`). */
  private async closeOf(record: ScheduleRecord, workflowId: string, wait: { signal: AbortSignal } | null): Promise<temporal.api.history.v1.IHistoryEvent | 'gone' | null> {
    try {
      const response = (await this.call(
        'GetWorkflowExecutionHistory',
        {
          namespace: record.namespaceName,
          execution: { workflowId },
          waitNewEvent: wait !== null,
          historyEventFilterType: api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
        },
        wait ? { timeoutMs: WATCH_POLL_MS, signal: wait.signal } : undefined,
      )) as temporal.api.workflowservice.v1.IGetWorkflowExecutionHistoryResponse;
      return response.history?.events?.[0] ?? null;
    } catch (err) {
      if (err instanceof ServiceError && err.code === GrpcCode.NOT_FOUND) return 'gone';
      throw err;
    }
  }

  private noteClosed(record: ScheduleRecord, workflowId: string, closed: temporal.api.history.v1.IHistoryEvent | 'gone'): void {
    record.running = record.running.filter((r) => r.workflowId !== workflowId);
    const status = closed === 'gone' ? Status.WORKFLOW_EXECUTION_STATUS_TERMINATED : closeStatus(closed);
    const recent = record.recentActions.find((a) => a.workflowId === workflowId);
    if (recent) recent.status = status;
    if (closed === 'gone') return;
    const state = (record.schedule.state ??= {});
    const failed = status === Status.WORKFLOW_EXECUTION_STATUS_FAILED || status === Status.WORKFLOW_EXECUTION_STATUS_TIMED_OUT;
    if (record.schedule.policies?.pauseOnFailure && failed && !state.paused) {
      state.paused = true;
      state.notes =
        status === Status.WORKFLOW_EXECUTION_STATUS_FAILED
          ? `paused due to workflow failure: ${workflowId}: ${closed.workflowExecutionFailedEventAttributes?.failure?.message ?? ''}`
          : `paused due to workflow timeout: ${workflowId}`;
      record.conflictToken++;
    }
    const result = closed.workflowExecutionCompletedEventAttributes?.result;
    const failure = closed.workflowExecutionFailedEventAttributes?.failure;
    if (closed.workflowExecutionCompletedEventAttributes) {
      record.lastCompletionResult = result ?? null;
      record.continuedFailure = null;
    } else if (failure) record.continuedFailure = failure;
  }

  /** While starts wait on a running workflow, one long poll on its close wakes the schedule. */
  private watchIfBuffered(key: ScheduleKey, record: ScheduleRecord): void {
    const text = keyText(key);
    const target = record.buffered.length > 0 ? record.running[0] : undefined;
    if (!target || this.watches.has(text) || this.stopped) return;
    const controller = new AbortController();
    this.watches.set(text, controller);
    void (async () => {
      try {
        while (!controller.signal.aborted) {
          const closed = await this.closeOf(record, target.workflowId, { signal: controller.signal });
          if (closed) break;
        }
      } catch (err) {
        if (!controller.signal.aborted) this.logger.warn('watching a scheduled workflow failed', { scheduleId: key.scheduleId, error: String(err) });
      } finally {
        if (this.watches.get(text) === controller) this.watches.delete(text);
      }
      if (controller.signal.aborted || this.stopped) return;
      // Wake the schedule now, with its running list refreshed.
      await this.mutex
        .run(text, async () => {
          const row = await this.store.getSchedule(key.namespaceId, key.scheduleId);
          if (!row) return;
          const loaded = { row, record: decodeScheduleRecord(row.data) };
          loaded.record.needRefresh = true;
          await this.advance(key, loaded, null);
        })
        .catch((err: unknown) => {
          this.logger.warn('schedule wake-up failed; retrying', { scheduleId: key.scheduleId, error: String(err) });
          this.wake(key, this.clock.now() + RETRY_AFTER_MS);
        });
    })();
  }
}
