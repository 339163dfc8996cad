// The batch job workflow's input, in the shape of Temporal's BatchOperationInput (namespace id, the older
// batch type number, and the whole StartBatchOperationRequest), as proto3 JSON: readable in the job's
// history in the Web UI and the CLI, and read back by the batch worker.
import { api } from '@kairos/common';
import { jsonToMessage, messageToJson, type JsonType } from '../http/proto-json.js';
import type { Payload } from '../proto-types.js';
import { BATCH_INPUT_TYPE, kindOf, OPERATIONS, type OperationKind, type StartBatchRequest } from './batch-rules.js';

const REQUEST_TYPE = api.workflowservice.v1.StartBatchOperationRequest as unknown as JsonType;
const JSON_OPTIONS = { payloadShorthand: false };

export function encodeBatchInput(namespaceId: string, kind: OperationKind, request: StartBatchRequest): Payload {
  const op = OPERATIONS.find((o) => o.kind === kind)!;
  const body = { namespaceId, batchType: op.legacyType, request: messageToJson(REQUEST_TYPE, request, JSON_OPTIONS) };
  return {
    metadata: { encoding: Buffer.from('json/protobuf'), messageType: Buffer.from(BATCH_INPUT_TYPE) },
    data: Buffer.from(JSON.stringify(body)),
  };
}

/** The job's request and operation; throws when the payload is not a batch input. */
export function decodeBatchInput(payload: Payload | null | undefined): { namespaceId: string; kind: OperationKind; request: StartBatchRequest } {
  if (!payload?.data) throw new Error('batch job without input');
  const body = JSON.parse(Buffer.from(payload.data).toString('utf8')) as { namespaceId?: unknown; request?: unknown };
  const request = jsonToMessage(REQUEST_TYPE, body.request ?? {}, JSON_OPTIONS) as StartBatchRequest;
  const op = OPERATIONS.find((o) => request[o.field]);
  if (!op) throw new Error('batch job input without an operation');
  return { namespaceId: typeof body.namespaceId === 'string' ? body.namespaceId : '', kind: kindOf(op.kind)!.kind, request };
}
