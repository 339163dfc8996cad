// Workflow updates between the server's protocol messages and the runtime's jobs and commands, the
// way sdk-core's update state machine does it:
//
//   - a live task carries each update request as a protocol message (body temporal.api.update.v1.Request);
//     it becomes a `doUpdate` job that runs the validator;
//   - on replay, the WorkflowExecutionUpdateAccepted event of a completed task carries the request: it
//     becomes a `doUpdate` job of that task's activation, without the validator (a rejected update
//     left no event, so it is never replayed);
//   - the runtime answers with acceptUpdate / completeUpdate, each an outgoing message (Acceptance,
//     Response) plus a PROTOCOL_MESSAGE command naming it, placed where the command was issued (the
//     server writes the Accepted/Completed events in command order), and with rejectUpdate, a
//     Rejection message without a command (it writes nothing).
import type { temporal } from '@temporalio/proto';
import { api } from '@kairos/common';
import type { ActivationJob, Payload, WorkflowCommand } from '@kairos/sdk-common';
import { hostPayload } from './commands.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type ProtocolMessage = temporal.api.protocol.v1.IMessage;
type ProtoCommand = temporal.api.command.v1.ICommand;
type UpdateRequest = temporal.api.update.v1.IRequest;
type Long = NonNullable<temporal.api.update.v1.IAcceptance['acceptedRequestSequencingEventId']>;

export type UpdateCommand = WorkflowCommand & { kind: 'acceptUpdate' | 'rejectUpdate' | 'completeUpdate' };

const UpdatePb = api.update.v1;
const REQUEST_TYPE_URL = 'type.googleapis.com/temporal.api.update.v1.Request';
const ACCEPTANCE_TYPE_URL = 'type.googleapis.com/temporal.api.update.v1.Acceptance';
const REJECTION_TYPE_URL = 'type.googleapis.com/temporal.api.update.v1.Rejection';
const RESPONSE_TYPE_URL = 'type.googleapis.com/temporal.api.update.v1.Response';

export function isUpdateCommand(command: WorkflowCommand): command is UpdateCommand {
  return command.kind === 'acceptUpdate' || command.kind === 'rejectUpdate' || command.kind === 'completeUpdate';
}

function doUpdateJob(protocolInstanceId: string, request: UpdateRequest, runValidator: boolean): ActivationJob {
  return {
    kind: 'doUpdate',
    updateId: request.meta?.updateId ?? protocolInstanceId,
    protocolInstanceId,
    name: request.input?.name ?? '',
    args: (request.input?.args?.payloads ?? []) as Payload[],
    headers: { ...request.input?.header?.fields } as Record<string, Payload>,
    runValidator,
  };
}

/** The update request an Accepted event holds, with its protocol instance id; undefined for other events. */
export function acceptedUpdateOf(event: HistoryEvent): { protocolInstanceId: string; request: UpdateRequest } | undefined {
  const a = event.workflowExecutionUpdateAcceptedEventAttributes;
  if (!a) return undefined;
  return { protocolInstanceId: a.protocolInstanceId ?? '', request: a.acceptedRequest ?? {} };
}

/** The `doUpdate` job that replays an accepted update (the validator does not run again). */
export function replayedUpdateJob(protocolInstanceId: string, request: UpdateRequest): ActivationJob {
  return doUpdateJob(protocolInstanceId, request, false);
}

interface LiveRequest {
  messageId: string;
  sequencingEventId: number;
  request: UpdateRequest;
}

/** The update requests of one live workflow task and the answers to send back for them. */
export class LiveUpdates {
  private readonly requests = new Map<string, LiveRequest>();
  readonly jobs: ActivationJob[] = [];

  constructor(messages: readonly ProtocolMessage[] | null | undefined) {
    for (const message of messages ?? []) {
      const body = message.body;
      if (body?.type_url !== REQUEST_TYPE_URL) {
        throw new Error(`unsupported protocol message body type '${body?.type_url ?? ''}' in message ${message.id ?? ''}`);
      }
      const request = UpdatePb.Request.decode(body.value ?? new Uint8Array());
      const protocolInstanceId = message.protocolInstanceId ?? '';
      this.requests.set(protocolInstanceId, {
        messageId: message.id ?? '',
        sequencingEventId: Number(message.eventId ?? 0),
        request,
      });
      this.jobs.push(doUpdateJob(protocolInstanceId, request, true));
    }
  }

  /**
   * The proto answer to an update command: an outgoing message, and (except for a rejection) the
   * PROTOCOL_MESSAGE command that places it among the other commands.
   */
  answer(
    command: UpdateCommand,
    acceptedEarlier: (protocolInstanceId: string) => UpdateRequest | undefined,
  ): { message: ProtocolMessage; command: ProtoCommand | undefined } {
    const id = command.protocolInstanceId;
    // An update accepted by an earlier task completes with the request its Accepted event holds.
    const earlier = acceptedEarlier(id);
    const live = this.requests.get(id) ?? (earlier && { messageId: `${id}/request`, sequencingEventId: 0, request: earlier });
    if (live === undefined) throw new Error(`the workflow answered update ${id}, which this workflow task did not carry`);
    const message = (suffix: string, typeUrl: string, value: Uint8Array): ProtocolMessage => ({
      id: `${live.messageId}/${suffix}`,
      protocolInstanceId: id,
      body: { type_url: typeUrl, value },
    });
    const withCommand = (m: ProtocolMessage) => ({
      message: m,
      command: {
        commandType: api.enums.v1.CommandType.COMMAND_TYPE_PROTOCOL_MESSAGE,
        protocolMessageCommandAttributes: { messageId: m.id ?? '' },
      },
    });
    switch (command.kind) {
      case 'acceptUpdate': {
        const value = UpdatePb.Acceptance.encode({
          acceptedRequestMessageId: live.messageId,
          // protobufjs takes a number where the generated types say Long.
          acceptedRequestSequencingEventId: live.sequencingEventId as unknown as Long,
          acceptedRequest: live.request,
        }).finish();
        return withCommand(message('accept', ACCEPTANCE_TYPE_URL, value));
      }
      case 'rejectUpdate': {
        const value = UpdatePb.Rejection.encode({
          rejectedRequestMessageId: live.messageId,
          rejectedRequestSequencingEventId: live.sequencingEventId as unknown as Long,
          rejectedRequest: live.request,
          failure: command.failure as temporal.api.failure.v1.IFailure,
        }).finish();
        return { message: message('reject', REJECTION_TYPE_URL, value), command: undefined };
      }
      case 'completeUpdate': {
        const outcome =
          'result' in command.outcome
            ? { success: { payloads: [hostPayload(command.outcome.result)] } }
            : { failure: command.outcome.failure as temporal.api.failure.v1.IFailure };
        const value = UpdatePb.Response.encode({ meta: live.request.meta ?? { updateId: id }, outcome }).finish();
        return withCommand(message('complete', RESPONSE_TYPE_URL, value));
      }
    }
  }
}
