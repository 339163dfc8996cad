// Drives a workflow sandbox through a history, one workflow task at a time, the way sdk-core does
// for the official SDK. The history is cut at each WorkflowTaskStarted event:
//
//   - inputs (activity results, timers fired, signals, cancel requests, ...) seen since the previous
//     cut become the jobs of the next activation;
//   - a WorkflowTaskStarted followed by WorkflowTaskCompleted is replayed: its activation runs with
//     isReplaying=true, and the commands it produces must match, one by one and in order, the command
//     events that follow the WorkflowTaskCompleted (else a NondeterminismError names both);
//   - a WorkflowTaskStarted followed by WorkflowTaskFailed/TimedOut is skipped: its inputs carry over;
//   - a WorkflowTaskStarted that ends the history is the live task: its commands go to the server.
//
// Updates: a replayed task gets a `doUpdate` job for each WorkflowExecutionUpdateAccepted event among
// its command events (the event holds the request), the live task one per request message of the
// poll (see updates.ts); both come after the task's signals, as in sdk-core.
//
// Local activities (see local-activity-markers.ts) are never sent as commands: the worker runs them
// during the task and records a marker. A replayed task first peeks at the local activity markers
// among its command events, as sdk-core does, and resolves each activity from its marker (in marker
// order) as soon as the code schedules it, in further activations of the same task, so the code
// continues exactly as it did when the task first ran; the marker events are then matched by seq,
// not by position. An activity scheduled during replay without a marker (its first run was cut
// short) stays pending and runs in the live task. The live task's own loop (run, resolve, activate
// again) is driven by the task handler through `pendingLocalActivities` / `resolveLocalActivities`.
//
// A replayer keeps its place: after a live task it expects the commands that task sent to come back
// as the command events of the next batch, so a cached run (workflow-cache.ts) is fed only the events
// after its last task (a sticky poll's partial history), and they are checked like replayed ones.
import type { temporal } from '@temporalio/proto';
import { api, durationToMs, timestampToMs } from '@kairos/common';
import {
  int64ToNumber,
  type ActivationCompletion,
  type ActivationJob,
  type LocalActivityMarker,
  type WorkflowCommand,
} from '@kairos/sdk-common';
import { NondeterminismError } from '../errors.js';
import type { WorkflowSandbox } from '../sandbox.js';
import { ExternalEventRouter } from './external-events.js';
import { isChangeVersionUpsert, patchMarkerOf } from './patches.js';
import type { ScheduledActivity } from './failures.js';
import { activityResolutionJob, initializeJob } from './input-jobs.js';
import { localActivityMarkerOf, localActivityResolution } from './local-activity-markers.js';
import { acceptedUpdateOf, replayedUpdateJob } from './updates.js';
import { COMMAND_EVENT_TYPES, commandMatchesEvent, describeCommand, describeEvent, eventTypeName } from './commands.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type LocalActivityRequest = WorkflowCommand & { kind: 'scheduleLocalActivity' };
const EventType = api.enums.v1.EventType;

export interface RunIdentity {
  namespace: string;
  workflowId: string;
  runId: string;
}

/** The end of a replay: the live task's completion, or none when the history holds no open task. */
export interface ReplayOutcome {
  live: ActivationCompletion | undefined;
}

/** A local activity the code scheduled and that has no outcome yet. */
export interface PendingLocalActivity {
  request: LocalActivityRequest;
  /** Workflow time of the activation that scheduled it. */
  scheduledAtMs: number;
}

export class HistoryReplayer {
  private jobs: ActivationJob[] = [];
  /** Commands of the last replayed activation not yet matched to history events. */
  private expected: WorkflowCommand[] = [];
  private readonly activitiesByScheduledId = new Map<number, ScheduledActivity>();
  private readonly scheduledIdByActivitySeq = new Map<number, number>();
  private readonly timerSeqById = new Map<string, number>();
  private readonly external: ExternalEventRouter;
  private taskNumber = 0;
  /** Requests of the updates accepted in history, by protocol instance id (their Response needs the meta). */
  private readonly acceptedUpdates = new Map<string, temporal.api.update.v1.IRequest>();
  /** Id of the next event to apply: batches continue each other without gaps. */
  private nextEventIdValue = 1;
  /** WorkflowTaskStarted event of the last live task (0: none yet). */
  private liveStartedEventIdValue = 0;
  private readonly pendingLocal = new Map<number, PendingLocalActivity>();
  /** Pending local activities whose cancellation the code requested (live tasks act on them). */
  private readonly localCancelRequests = new Set<number>();
  /** Local activity markers of the task being replayed, in history order, not applied yet. */
  private peekedMarkers: LocalActivityMarker[] = [];
  /** Local activities resolved from a peeked marker whose marker event has not been matched yet. */
  private readonly resolvedFromMarker = new Set<number>();
  /** Workflow time of the current activation (local activity outcomes move it forward, as in sdk-core). */
  private currentTimeMs = 0;
  private currentHistoryLength = 0;
  /** The live task's completion so far (its local activities add markers and commands). */
  private liveCompletion: ActivationCompletion = { commands: [] };
  /** The run's workflow task timeout, from its WorkflowExecutionStarted event (0: not seen yet). */
  private workflowTaskTimeoutMsValue = 0;

  constructor(
    private readonly sandbox: WorkflowSandbox,
    private readonly run: RunIdentity,
  ) {
    this.external = new ExternalEventRouter(run, (event, what) => this.unknownTarget(event, what));
  }

  get nextEventId(): number {
    return this.nextEventIdValue;
  }

  /** The started event id of the last live task: what the server calls the previous started event id once it completes. */
  get lastLiveStartedEventId(): number {
    return this.liveStartedEventIdValue;
  }

  /** The run's workflow task timeout (0 until the WorkflowExecutionStarted event was applied). */
  get workflowTaskTimeoutMs(): number {
    return this.workflowTaskTimeoutMsValue;
  }

  scheduledEventIdOf = (seq: number): number => this.scheduledIdByActivitySeq.get(seq) ?? 0;

  acceptedUpdateRequest = (protocolInstanceId: string): temporal.api.update.v1.IRequest | undefined =>
    this.acceptedUpdates.get(protocolInstanceId);

  /**
   * Applies the next events of the run: the whole history on the first call, then (cached run) the
   * events after the last live task. `liveJobs`: jobs the live task adds to those of its events
   * (update requests of the poll).
   */
  replay(events: readonly HistoryEvent[], liveJobs: readonly ActivationJob[] = []): ReplayOutcome {
    const firstId = events[0] === undefined ? this.nextEventIdValue : int64ToNumber(events[0].eventId);
    if (firstId !== this.nextEventIdValue) {
      throw new Error(`history of workflow ${this.run.workflowId} continues at event ${firstId}, expected event ${this.nextEventIdValue}`);
    }
    for (let i = 0; i < events.length; i++) {
      const event = events[i] as HistoryEvent;
      const type = event.eventType ?? 0;
      this.nextEventIdValue = int64ToNumber(event.eventId) + 1;
      if (type === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED) {
        const next = events[i + 1];
        this.checkAllCommandsMatched(event);
        if (next === undefined) {
          this.jobs.push(...liveJobs);
          const live = this.activate(event, false);
          this.liveStartedEventIdValue = int64ToNumber(event.eventId);
          this.peekedMarkers = [];
          this.liveCompletion = live;
          // What the server will write for this task, checked against the next batch's command events.
          this.expected = live.taskFailure === undefined ? [...live.commands] : [];
          return { live };
        }
        if (next.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) {
          this.notifyPatches(events, i + 1);
          this.peekLocalActivityMarkers(events, i + 1);
          this.deliverAcceptedUpdates(events, i + 1);
          this.replayTask(event);
        }
      } else if (COMMAND_EVENT_TYPES.has(type)) {
        // A patch marker may carry sdk-core's TemporalChangeVersion upsert along: skip that too.
        if (this.matchCommand(event) === 'patch' && isChangeVersionUpsert(events[i + 1])) i++;
      } else {
        this.addInput(event);
      }
    }
    this.checkAllCommandsMatched(undefined);
    return { live: undefined };
  }

  private replayTask(started: HistoryEvent): void {
    const commands: WorkflowCommand[] = [];
    let completion = this.activate(started, true);
    for (;;) {
      if (completion.taskFailure !== undefined) {
        throw new NondeterminismError(
          `workflow task ${this.taskNumber} (event ${String(started.eventId)}) completed in history, but replaying it failed: ${completion.taskFailure.message ?? ''}`,
        );
      }
      commands.push(...completion.commands);
      const jobs = this.takePeekedResolutions();
      if (jobs.length === 0) break;
      completion = this.activateAgain(jobs, true);
    }
    this.expected = commands;
  }

  private activate(started: HistoryEvent, isReplaying: boolean): ActivationCompletion {
    this.taskNumber++;
    const jobs = this.jobs;
    this.jobs = [];
    this.currentTimeMs = timestampToMs(started.eventTime) ?? 0;
    // Events are numbered from 1 without gaps: the started event's id is the history's length.
    this.currentHistoryLength = int64ToNumber(started.eventId);
    return this.activateAgain(jobs, isReplaying);
  }

  /** One more activation in the current task (the first one, or one resolving local activities). */
  private activateAgain(jobs: ActivationJob[], isReplaying: boolean): ActivationCompletion {
    const completion = this.sandbox.activate({ timestampMs: this.currentTimeMs, isReplaying, historyLength: this.currentHistoryLength, jobs });
    const commands: WorkflowCommand[] = [];
    for (const command of completion.commands) {
      if (command.kind === 'scheduleLocalActivity') this.pendingLocal.set(command.seq, { request: command, scheduledAtMs: this.currentTimeMs });
      // Local and normal activities share seqs: a cancel request for a local one stays in the worker.
      else if (command.kind === 'requestCancelActivity' && this.pendingLocal.has(command.seq)) this.localCancelRequests.add(command.seq);
      else commands.push(command);
    }
    return { ...completion, commands };
  }

  /** Local activities the live task must run: scheduled, and with no outcome in history. */
  get pendingLocalActivities(): PendingLocalActivity[] {
    return [...this.pendingLocal.values()];
  }

  /**
   * Pending local activities whose cancellation the code requested, once each. (While replaying, the
   * cancelled marker in history resolves them instead.)
   */
  takeLocalActivityCancellations(): PendingLocalActivity[] {
    const cancelled: PendingLocalActivity[] = [];
    for (const seq of this.localCancelRequests) {
      const pending = this.pendingLocal.get(seq);
      if (pending !== undefined) cancelled.push(pending);
    }
    this.localCancelRequests.clear();
    return cancelled;
  }

  /**
   * Records the outcomes of local activities the live task ran (a marker command each, placed after
   * the commands issued so far) and runs the activation that delivers them; returns the live task's
   * completion so far.
   */
  resolveLocalActivities(markers: readonly LocalActivityMarker[]): ActivationCompletion {
    const jobs: ActivationJob[] = [];
    const live = this.liveCompletion;
    for (const marker of markers) {
      this.pendingLocal.delete(marker.seq);
      live.commands.push({ kind: 'localActivityMarker', marker });
      jobs.push(this.resolutionJob(marker));
    }
    const completion = this.activateAgain(jobs, false);
    live.commands.push(...completion.commands);
    if (completion.taskFailure !== undefined) live.taskFailure ??= completion.taskFailure;
    this.expected = live.taskFailure === undefined ? [...live.commands] : [];
    return live;
  }

  private resolutionJob(marker: LocalActivityMarker): ActivationJob {
    if (marker.completeTimeMs !== undefined) this.currentTimeMs = Math.max(this.currentTimeMs, marker.completeTimeMs);
    return { kind: 'resolveLocalActivity', seq: marker.seq, resolution: localActivityResolution(marker) };
  }

  /** The local activity markers among the command events of the task about to be replayed. */
  private peekLocalActivityMarkers(events: readonly HistoryEvent[], from: number): void {
    this.peekedMarkers = [];
    for (let j = from; j < events.length && events[j]?.eventType !== EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED; j++) {
      const marker = localActivityMarkerOf(events[j]);
      if (marker !== undefined) this.peekedMarkers.push(marker);
    }
  }

  /** Resolutions of peeked markers, in marker order, while the next one's activity is scheduled. */
  private takePeekedResolutions(): ActivationJob[] {
    const jobs: ActivationJob[] = [];
    for (let marker = this.peekedMarkers[0]; marker !== undefined; marker = this.peekedMarkers[0]) {
      const pending = this.pendingLocal.get(marker.seq);
      if (pending === undefined) break;
      if (pending.request.activityType !== marker.activityType) {
        throw new NondeterminismError(
          `Nondeterminism in workflow ${this.run.workflowId} (run ${this.run.runId}): the history records local activity ` +
            `${marker.seq} of type '${marker.activityType}', but the workflow code scheduled type '${pending.request.activityType}'`,
        );
      }
      this.peekedMarkers.shift();
      this.pendingLocal.delete(marker.seq);
      this.resolvedFromMarker.add(marker.seq);
      jobs.push(this.resolutionJob(marker));
    }
    return jobs;
  }

  /** A local activity marker event: matched by seq, wherever its command is (sdk-core's special handling). */
  private matchLocalActivityMarker(event: HistoryEvent, marker: LocalActivityMarker): void {
    const index = this.expected.findIndex((c) => c.kind === 'localActivityMarker' && c.marker.seq === marker.seq);
    if (index >= 0) {
      this.expected.splice(index, 1);
      return;
    }
    if (this.resolvedFromMarker.delete(marker.seq)) return;
    throw new NondeterminismError(
      `Nondeterminism in workflow ${this.run.workflowId} (run ${this.run.runId}): history event ${describeEvent(event)} ` +
        `records local activity ${marker.seq} ('${marker.activityType}'), which the workflow code did not schedule in workflow task ${this.taskNumber}`,
    );
  }

  private checkAllCommandsMatched(nextTask: HistoryEvent | undefined): void {
    // Patch markers are never waited on: one without its event is dropped, as sdk-core does. Update
    // rejections write no event.
    this.expected = this.expected.filter((command) => command.kind !== 'setPatchMarker' && command.kind !== 'rejectUpdate');
    const unmatched = this.expected[0];
    if (unmatched === undefined) return;
    const where = nextTask === undefined ? 'before the end of the history' : `before event ${String(nextTask.eventId)} WorkflowTaskStarted`;
    throw new NondeterminismError(
      `Nondeterminism in workflow ${this.run.workflowId} (run ${this.run.runId}): the workflow code issued ${describeCommand(unmatched)} ` +
        `in workflow task ${this.taskNumber}, but the history has no matching event ${where}`,
    );
  }

  /**
   * Like sdk-core, tells the activation of a replayed task which patches its command events mark, so
   * that `patched()` answers as it did when the task first ran.
   */
  private notifyPatches(events: readonly HistoryEvent[], from: number): void {
    for (let j = from; j < events.length && events[j]?.eventType !== EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED; j++) {
      const patch = patchMarkerOf(events[j]);
      if (patch !== undefined) this.jobs.push({ kind: 'notifyHasPatch', patchId: patch.patchId });
    }
  }

  /** The updates a replayed task accepted, in the order of their Accepted events. */
  private deliverAcceptedUpdates(events: readonly HistoryEvent[], from: number): void {
    for (let j = from; j < events.length && events[j]?.eventType !== EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED; j++) {
      const accepted = acceptedUpdateOf(events[j] as HistoryEvent);
      if (accepted === undefined) continue;
      this.acceptedUpdates.set(accepted.protocolInstanceId, accepted.request);
      this.jobs.push(replayedUpdateJob(accepted.protocolInstanceId, accepted.request));
    }
  }

  /** Matches a command event with the next command; 'patch' when it was a patch marker. */
  private matchCommand(event: HistoryEvent): 'patch' | 'command' {
    const localActivity = localActivityMarkerOf(event);
    if (localActivity !== undefined) {
      this.matchLocalActivityMarker(event, localActivity);
      return 'command';
    }
    const marker = patchMarkerOf(event);
    // sdk-core's rules: a patch command meets a non-marker event -> the command is dropped; a
    // deprecated marker without its patch command -> the event is skipped (deprecated patches may
    // be removed from code).
    for (;;) {
      const head = this.expected[0]?.kind;
      if (head === 'rejectUpdate' || (head === 'setPatchMarker' && marker === undefined)) this.expected.shift();
      else break;
    }
    const next = this.expected[0];
    if (marker?.deprecated && !(next?.kind === 'setPatchMarker' && next.patchId === marker.patchId)) return 'patch';
    const command = this.expected.shift();
    if (command === undefined || !commandMatchesEvent(command, event, this.scheduledEventIdOf)) {
      const issued = command === undefined ? 'issued no further command' : `issued ${describeCommand(command)}`;
      throw new NondeterminismError(
        `Nondeterminism in workflow ${this.run.workflowId} (run ${this.run.runId}): history event ${describeEvent(event)} ` +
          `does not match the workflow code, which ${issued} in workflow task ${this.taskNumber}`,
      );
    }
    const eventId = int64ToNumber(event.eventId);
    if (command.kind === 'scheduleActivity') {
      this.activitiesByScheduledId.set(eventId, {
        seq: command.seq,
        activityType: command.activityType,
        activityId: String(command.seq),
        scheduledEventId: eventId,
      });
      this.scheduledIdByActivitySeq.set(command.seq, eventId);
    } else if (command.kind === 'startTimer') {
      this.timerSeqById.set(String(command.seq), command.seq);
    } else if (command.kind === 'acceptUpdate') {
      // A cached run accepted it live; its Response, in a later task, needs the request's meta.
      const accepted = acceptedUpdateOf(event);
      if (accepted !== undefined) this.acceptedUpdates.set(accepted.protocolInstanceId, accepted.request);
    } else {
      this.external.recordCommand(command, event, eventId);
    }
    return marker === undefined ? 'command' : 'patch';
  }

  private addInput(event: HistoryEvent): void {
    const job = this.inputJob(event);
    if (job !== undefined) this.jobs.push(job);
  }

  private inputJob(event: HistoryEvent): ActivationJob | undefined {
    if (event.workflowExecutionStartedEventAttributes) {
      this.workflowTaskTimeoutMsValue = durationToMs(event.workflowExecutionStartedEventAttributes.workflowTaskTimeout);
      return initializeJob(event, this.run);
    }
    const resolution = activityResolutionJob(event, (scheduledEventId) => this.activityOf(event, scheduledEventId));
    if (resolution !== undefined) return resolution;
    if (event.timerFiredEventAttributes) {
      const timerId = event.timerFiredEventAttributes.timerId ?? '';
      const seq = this.timerSeqById.get(timerId);
      if (seq === undefined) throw this.unknownTarget(event, `timer '${timerId}'`);
      return { kind: 'fireTimer', seq };
    }
    if (event.workflowExecutionSignaledEventAttributes) {
      const a = event.workflowExecutionSignaledEventAttributes;
      return { kind: 'signal', signalName: a.signalName ?? '', args: a.input?.payloads ?? [], headers: { ...a.header?.fields } };
    }
    if (event.workflowExecutionCancelRequestedEventAttributes) {
      return { kind: 'cancelWorkflow', reason: event.workflowExecutionCancelRequestedEventAttributes.cause ?? '' };
    }
    const external = this.external.jobFor(event);
    if (external !== undefined) return external;
    if (
      event.workflowTaskScheduledEventAttributes ||
      event.workflowTaskCompletedEventAttributes ||
      event.workflowTaskFailedEventAttributes ||
      event.workflowTaskTimedOutEventAttributes ||
      event.activityTaskStartedEventAttributes ||
      event.workflowExecutionTerminatedEventAttributes ||
      event.workflowExecutionTimedOutEventAttributes ||
      // The request of an admitted update is delivered from its Accepted event (our server writes no
      // Admitted events; Temporal writes them only for updates carried over a reset or a new run).
      event.workflowExecutionUpdateAdmittedEventAttributes
    ) {
      return undefined;
    }
    throw new NondeterminismError(
      `history event ${describeEvent(event)} is not supported by this version of the Kairos SDK (workflow ${this.run.workflowId})`,
    );
  }

  private activityOf(event: HistoryEvent, scheduledEventId: Parameters<typeof int64ToNumber>[0] | undefined): ScheduledActivity {
    const activity = this.activitiesByScheduledId.get(int64ToNumber(scheduledEventId));
    if (activity === undefined) throw this.unknownTarget(event, `activity scheduled by event ${int64ToNumber(scheduledEventId)}`);
    return activity;
  }

  private unknownTarget(event: HistoryEvent, what: string): NondeterminismError {
    return new NondeterminismError(
      `history event ${String(event.eventId)} ${eventTypeName(event)} refers to ${what}, which the workflow code never started (workflow ${this.run.workflowId})`,
    );
  }
}
