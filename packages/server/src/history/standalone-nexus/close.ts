// How a standalone Nexus operation's run records what its operation machine (machines/nexus-operation.ts)
// decides. A workflow's operation writes history events and wakes its workflow; a standalone one writes
// no events: it keeps the links its handler returned, and closes its run with the outcome a caller of
// PollNexusOperationExecution gets (Temporal's standalone operation resolves the same way).
import { ActivityOutcomeCodec, LinkCodec, WorkflowExecutionStatus as Status, type Failure, type HistoryEvent, type Payload } from '../../proto-types.js';
import type { NexusOperationInfo, StandaloneNexusOperation } from '../mutable-state.js';
import type { Transition } from '../transition.js';

type Links = NonNullable<HistoryEvent['links']>;

/** The key of a standalone operation's NexusOperationInfo in its run's `nexusOperations`. */
export const STANDALONE_NEXUS_SLOT = 1;

/** A result-less success still answers with a payload, so that a client polling for it sees the close. */
const NULL_PAYLOAD: Payload = { metadata: { encoding: Buffer.from('binary/null') }, data: Buffer.alloc(0) };

/** Keeps the links a handler returned (the run or activity that backs the operation). */
export function addStandaloneNexusLinks(standalone: StandaloneNexusOperation, links: Links): void {
  for (const link of links) standalone.links.push(LinkCodec.encode(link).finish());
}

export function completeStandaloneNexus(t: Transition, standalone: StandaloneNexusOperation, info: NexusOperationInfo, result: Payload | null): void {
  closeRun(t, standalone, info, Status.WORKFLOW_EXECUTION_STATUS_COMPLETED, ActivityOutcomeCodec.encode({ result: { payloads: [result ?? NULL_PAYLOAD] } }).finish());
}

/** Failed, canceled or timed out: the outcome is the cause itself (no wrapper, unlike a workflow's close events). */
export function failStandaloneNexus(t: Transition, standalone: StandaloneNexusOperation, info: NexusOperationInfo, status: number, failure: Failure): void {
  closeRun(t, standalone, info, status, ActivityOutcomeCodec.encode({ failure }).finish());
}

/** TerminateNexusOperationExecution: a terminated failure whose message is the reason. Nothing is sent to the handler. */
export function terminateStandaloneNexus(t: Transition, standalone: StandaloneNexusOperation, info: NexusOperationInfo, reason: string, identity: string): void {
  failStandaloneNexus(t, standalone, info, Status.WORKFLOW_EXECUTION_STATUS_TERMINATED, { message: reason, terminatedFailureInfo: { identity } });
}

function closeRun(t: Transition, standalone: StandaloneNexusOperation, info: NexusOperationInfo, status: number, outcome: Uint8Array): void {
  for (const id of info.timerTaskIds) t.deleteTimer(id);
  info.timerTaskIds = [];
  info.invocationTaskId = '';
  info.cancelTaskId = '';
  info.nextAttemptMs = 0;
  standalone.outcome = outcome;
  t.state.status = status;
  t.state.closeTimeMs = t.nowMs;
  t.stateChanged = true;
  t.closed = true;
}
