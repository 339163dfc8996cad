// The payload codec chain around workflow tasks. Codecs are async and live outside the sandbox, so,
// as the official worker's codec runner does around activations, the worker decodes every payload of
// a task's history, update requests and queries before the run sees them, and encodes every payload
// of its answer (commands, update answers, query answers, failures) after the run produced it.
//
// Which fields hold payloads is listed per event and command attributes below (as in the Temporal
// API). Not encoded, as in Temporal: search attributes (the server indexes them) and the details of
// markers except a local activity's `result` (the marker's `data` and patch details are the SDK's own
// JSON, which sdk-core writes and reads unencoded).
import type { temporal } from '@temporalio/proto';
import { api } from '@kairos/common';
import {
  codePayloadMapInPlace,
  codePayloadsInPlace,
  decodeFailureInPlace,
  decodePayloads,
  encodeFailureInPlace,
  encodePayloads,
  encodesCommonAttributes,
  type LoadedDataConverter,
  type Payload,
  type PayloadCodec,
  type ProtoFailure,
  type ProtoPayloads,
} from '@kairos/sdk-common';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type ProtoCommand = temporal.api.command.v1.ICommand;
type ProtocolMessage = temporal.api.protocol.v1.IMessage;
type Direction = (codecs: readonly PayloadCodec[], payloads: Payload[]) => Promise<Payload[]>;

/** Payload fields of one attributes message: dotted paths to Payloads, payload maps (`.fields`) and failures. */
interface PayloadFields {
  payloads?: readonly string[];
  maps?: readonly string[];
  failures?: readonly string[];
}

const EVENT_FIELDS: Readonly<Record<string, PayloadFields>> = {
  workflowExecutionStartedEventAttributes: { payloads: ['input', 'lastCompletionResult'], maps: ['memo', 'header'], failures: ['continuedFailure'] },
  workflowExecutionCompletedEventAttributes: { payloads: ['result'] },
  workflowExecutionFailedEventAttributes: { failures: ['failure'] },
  workflowExecutionCanceledEventAttributes: { payloads: ['details'] },
  workflowExecutionTerminatedEventAttributes: { payloads: ['details'] },
  workflowExecutionContinuedAsNewEventAttributes: { payloads: ['input', 'lastCompletionResult'], maps: ['memo', 'header'], failures: ['failure'] },
  workflowExecutionSignaledEventAttributes: { payloads: ['input'], maps: ['header'] },
  workflowTaskFailedEventAttributes: { failures: ['failure'] },
  activityTaskScheduledEventAttributes: { payloads: ['input'], maps: ['header'] },
  activityTaskCompletedEventAttributes: { payloads: ['result'] },
  activityTaskFailedEventAttributes: { failures: ['failure'] },
  activityTaskTimedOutEventAttributes: { failures: ['failure'] },
  activityTaskCanceledEventAttributes: { payloads: ['details'] },
  markerRecordedEventAttributes: { payloads: ['details.result'], maps: ['header'], failures: ['failure'] },
  startChildWorkflowExecutionInitiatedEventAttributes: { payloads: ['input'], maps: ['memo', 'header'] },
  childWorkflowExecutionCompletedEventAttributes: { payloads: ['result'] },
  childWorkflowExecutionFailedEventAttributes: { failures: ['failure'] },
  childWorkflowExecutionCanceledEventAttributes: { payloads: ['details'] },
  signalExternalWorkflowExecutionInitiatedEventAttributes: { payloads: ['input'], maps: ['header'] },
  workflowPropertiesModifiedEventAttributes: { maps: ['upsertedMemo'] },
  workflowExecutionUpdateAdmittedEventAttributes: { payloads: ['request.input.args'], maps: ['request.input.header'] },
  workflowExecutionUpdateAcceptedEventAttributes: { payloads: ['acceptedRequest.input.args'], maps: ['acceptedRequest.input.header'] },
  workflowExecutionUpdateCompletedEventAttributes: { payloads: ['outcome.success'], failures: ['outcome.failure'] },
};

const COMMAND_FIELDS: Readonly<Record<string, PayloadFields>> = {
  scheduleActivityTaskCommandAttributes: { payloads: ['input'], maps: ['header'] },
  completeWorkflowExecutionCommandAttributes: { payloads: ['result'] },
  failWorkflowExecutionCommandAttributes: { failures: ['failure'] },
  cancelWorkflowExecutionCommandAttributes: { payloads: ['details'] },
  recordMarkerCommandAttributes: { payloads: ['details.result'], maps: ['header'], failures: ['failure'] },
  continueAsNewWorkflowExecutionCommandAttributes: { payloads: ['input', 'lastCompletionResult'], maps: ['memo', 'header'], failures: ['failure'] },
  startChildWorkflowExecutionCommandAttributes: { payloads: ['input'], maps: ['memo', 'header'] },
  signalExternalWorkflowExecutionCommandAttributes: { payloads: ['input'], maps: ['header'] },
  modifyWorkflowPropertiesCommandAttributes: { maps: ['upsertedMemo'] },
};

const UpdatePb = api.update.v1;
const REQUEST_TYPE_URL = 'type.googleapis.com/temporal.api.update.v1.Request';
const ACCEPTANCE_TYPE_URL = 'type.googleapis.com/temporal.api.update.v1.Acceptance';
const REJECTION_TYPE_URL = 'type.googleapis.com/temporal.api.update.v1.Rejection';
const RESPONSE_TYPE_URL = 'type.googleapis.com/temporal.api.update.v1.Response';

function at(root: unknown, path: string): unknown {
  let value = root;
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

export class WorkflowCodecRunner {
  /** False when there is nothing to do: no codec and failures not encoded. */
  readonly active: boolean;

  constructor(private readonly dataConverter: LoadedDataConverter) {
    this.active = dataConverter.payloadCodecs.length > 0 || encodesCommonAttributes(dataConverter.failureConverter);
  }

  private get codecs(): readonly PayloadCodec[] {
    return this.dataConverter.payloadCodecs;
  }

  private async codeFields(direction: Direction, attributes: unknown, fields: PayloadFields): Promise<void> {
    for (const path of fields.payloads ?? []) await codePayloadsInPlace(direction, this.codecs, at(attributes, path) as ProtoPayloads | undefined);
    for (const path of fields.maps ?? []) {
      await codePayloadMapInPlace(direction, this.codecs, at(attributes, `${path}.fields`) as Record<string, Payload> | undefined);
    }
    for (const path of fields.failures ?? []) {
      const failure = at(attributes, path) as ProtoFailure | undefined;
      if (direction === encodePayloads) await encodeFailureInPlace(this.dataConverter, failure);
      else await decodeFailureInPlace(this.codecs, failure);
    }
  }

  private async codeAttributes(direction: Direction, holder: object, table: Readonly<Record<string, PayloadFields>>): Promise<void> {
    for (const [key, fields] of Object.entries(table)) {
      const attributes = (holder as Record<string, unknown>)[key];
      if (attributes !== undefined && attributes !== null) await this.codeFields(direction, attributes, fields);
    }
  }

  /** Decodes a task's history events in place. */
  async decodeHistory(events: readonly HistoryEvent[]): Promise<void> {
    if (this.codecs.length === 0) return;
    for (const event of events) await this.codeAttributes(decodePayloads, event, EVENT_FIELDS);
  }

  /** The task's protocol messages with the update requests decoded. */
  async decodeMessages(messages: readonly ProtocolMessage[] | null | undefined): Promise<ProtocolMessage[]> {
    const result: ProtocolMessage[] = [];
    for (const message of messages ?? []) {
      if (this.codecs.length === 0 || message.body?.type_url !== REQUEST_TYPE_URL) {
        result.push(message);
        continue;
      }
      const request = UpdatePb.Request.decode(message.body.value ?? new Uint8Array());
      await this.codeFields(decodePayloads, request, { payloads: ['input.args'], maps: ['input.header'] });
      result.push({ ...message, body: { type_url: REQUEST_TYPE_URL, value: UpdatePb.Request.encode(request).finish() } });
    }
    return result;
  }

  /** Decodes a query's arguments in place. */
  async decodeQuery(query: temporal.api.query.v1.IWorkflowQuery | null | undefined): Promise<void> {
    if (query === null || query === undefined) return;
    await this.codeFields(decodePayloads, query, { payloads: ['queryArgs'], maps: ['header'] });
  }

  /**
   * Encoded copies of a completion's commands, update messages and query results. Copies, because
   * the run may still hold the objects (a failure it caught travels on unchanged when rethrown).
   */
  async encodeCompletion(completion: {
    commands: ProtoCommand[];
    messages: ProtocolMessage[];
    queryResults: Record<string, temporal.api.query.v1.IWorkflowQueryResult>;
  }): Promise<typeof completion> {
    if (!this.active) return completion;
    const commands = structuredClone(completion.commands);
    for (const command of commands) await this.codeAttributes(encodePayloads, command, COMMAND_FIELDS);
    const messages: ProtocolMessage[] = [];
    for (const message of completion.messages) messages.push(await this.encodeMessage(message));
    const queryResults = structuredClone(completion.queryResults);
    for (const result of Object.values(queryResults)) await this.codeFields(encodePayloads, result, { payloads: ['answer'], failures: ['failure'] });
    return { commands, messages, queryResults };
  }

  /** An encoded copy of a failure (a failed task, a failed query). */
  async encodeFailure<F extends ProtoFailure>(failure: F): Promise<F> {
    if (!this.active) return failure;
    const copy = structuredClone(failure);
    await encodeFailureInPlace(this.dataConverter, copy);
    return copy;
  }

  /** An encoded copy of a query answer's payloads. */
  async encodeQueryResult(result: temporal.api.query.v1.IWorkflowQueryResult): Promise<temporal.api.query.v1.IWorkflowQueryResult> {
    if (!this.active) return result;
    const copy = structuredClone(result);
    await this.codeFields(encodePayloads, copy, { payloads: ['answer'], failures: ['failure'] });
    return copy;
  }

  private async encodeMessage(message: ProtocolMessage): Promise<ProtocolMessage> {
    const body = message.body;
    const value = body?.value ?? new Uint8Array();
    let encoded: Uint8Array;
    switch (body?.type_url) {
      case ACCEPTANCE_TYPE_URL: {
        const acceptance = UpdatePb.Acceptance.decode(value);
        await this.codeFields(encodePayloads, acceptance, { payloads: ['acceptedRequest.input.args'], maps: ['acceptedRequest.input.header'] });
        encoded = UpdatePb.Acceptance.encode(acceptance).finish();
        break;
      }
      case REJECTION_TYPE_URL: {
        const rejection = UpdatePb.Rejection.decode(value);
        await this.codeFields(encodePayloads, rejection, {
          payloads: ['rejectedRequest.input.args'],
          maps: ['rejectedRequest.input.header'],
          failures: ['failure'],
        });
        encoded = UpdatePb.Rejection.encode(rejection).finish();
        break;
      }
      case RESPONSE_TYPE_URL: {
        const response = UpdatePb.Response.decode(value);
        await this.codeFields(encodePayloads, response, { payloads: ['outcome.success'], failures: ['outcome.failure'] });
        encoded = UpdatePb.Response.encode(response).finish();
        break;
      }
      default:
        return message;
    }
    return { ...message, body: { type_url: body.type_url, value: encoded } };
  }
}
