// What the store keeps of one schedule: the user's schedule (spec, action, policies, state) as Temporal's
// proto, its memo and search attributes, and the scheduler's own progress (last processed time, buffered
// starts, backfills, counters, recent and running actions). Serialized as JSON whose proto parts are
// the messages' encoded bytes in base64, so the row stays readable and the protos stay exact.
import type { temporal } from '@temporalio/proto';
import { api, type Loose } from '@kairos/common';

type Schedule = Loose<temporal.api.schedule.v1.ISchedule>;
type Memo = Loose<temporal.api.common.v1.IMemo>;
type SearchAttributes = Loose<temporal.api.common.v1.ISearchAttributes>;
type Payloads = Loose<temporal.api.common.v1.IPayloads>;
type Failure = Loose<temporal.api.failure.v1.IFailure>;

/** A start waiting to be taken (Temporal's BufferedStart). */
export interface BufferedStart {
  readonly nominalMs: number;
  /** The nominal time plus jitter: when the start is due. */
  readonly actualMs: number;
  /** ScheduleOverlapPolicy; 0 = the schedule's policy at the time the start is taken. */
  readonly overlapPolicy: number;
  /** Trigger or backfill: not subject to pause, remaining actions or the catchup window. */
  readonly manual: boolean;
}

export interface PendingBackfill {
  /** Exclusive: times strictly after this one (Temporal moves an inclusive start back 1 ms). */
  readonly afterMs: number;
  readonly endMs: number;
  readonly overlapPolicy: number;
}

export interface RecentAction {
  readonly scheduleTimeMs: number;
  readonly actualTimeMs: number;
  readonly workflowId: string;
  readonly runId: string;
  /** WorkflowExecutionStatus as last seen (RUNNING until the scheduler sees it close). */
  status: number;
}

export interface RunningWorkflow {
  readonly workflowId: string;
  readonly runId: string;
}

export interface ScheduleRecord {
  namespaceName: string;
  schedule: Schedule;
  memo: Memo | null;
  searchAttributes: SearchAttributes | null;
  createTimeMs: number;
  /** 0 until the first UpdateSchedule. */
  updateTimeMs: number;
  /** Bumped by changes a client must not overwrite blindly (update, pause, unpause, an action used). */
  conflictToken: number;
  /** Spec times at or before this one have been handled. */
  lastProcessedMs: number;
  buffered: BufferedStart[];
  backfills: PendingBackfill[];
  actionCount: number;
  missedCatchupWindow: number;
  overlapSkipped: number;
  bufferDropped: number;
  recentActions: RecentAction[];
  running: RunningWorkflow[];
  /** The running list must be checked before the next start is decided. */
  needRefresh: boolean;
  lastCompletionResult: Payloads | null;
  continuedFailure: Failure | null;
  /** Set while the spec cannot be compiled (then the schedule takes no scheduled action). */
  invalidScheduleError: string;
}

const { Schedule: ScheduleCodec } = api.schedule.v1;
const { Memo: MemoCodec, SearchAttributes: SearchAttributesCodec, Payloads: PayloadsCodec } = api.common.v1;
const { Failure: FailureCodec } = api.failure.v1;

interface Codec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(bytes: Uint8Array): T;
}

function pack<T>(codec: Codec<T>, message: T | null): string | null {
  return message == null ? null : Buffer.from(codec.encode(message).finish()).toString('base64');
}

function unpack<T>(codec: Codec<T>, text: string | null | undefined): T | null {
  return text == null ? null : codec.decode(Buffer.from(text, 'base64'));
}

export function encodeScheduleRecord(record: ScheduleRecord): Uint8Array {
  const json = {
    ...record,
    schedule: pack(ScheduleCodec as unknown as Codec<Schedule>, record.schedule),
    memo: pack(MemoCodec as unknown as Codec<Memo>, record.memo),
    searchAttributes: pack(SearchAttributesCodec as unknown as Codec<SearchAttributes>, record.searchAttributes),
    lastCompletionResult: pack(PayloadsCodec as unknown as Codec<Payloads>, record.lastCompletionResult),
    continuedFailure: pack(FailureCodec as unknown as Codec<Failure>, record.continuedFailure),
  };
  return Buffer.from(JSON.stringify(json), 'utf8');
}

export function decodeScheduleRecord(data: Uint8Array): ScheduleRecord {
  const json = JSON.parse(Buffer.from(data).toString('utf8')) as Record<string, unknown> & ScheduleRecord;
  return {
    ...json,
    schedule: unpack(ScheduleCodec as unknown as Codec<Schedule>, json.schedule as unknown as string) ?? {},
    memo: unpack(MemoCodec as unknown as Codec<Memo>, json.memo as unknown as string | null),
    searchAttributes: unpack(SearchAttributesCodec as unknown as Codec<SearchAttributes>, json.searchAttributes as unknown as string | null),
    lastCompletionResult: unpack(PayloadsCodec as unknown as Codec<Payloads>, json.lastCompletionResult as unknown as string | null),
    continuedFailure: unpack(FailureCodec as unknown as Codec<Failure>, json.continuedFailure as unknown as string | null),
  };
}
