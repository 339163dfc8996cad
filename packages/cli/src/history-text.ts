// One line per history event for `workflow show`: id, time, type and the few attributes a person
// scans for (the activity type, the timer id, the signal name, the result or failure message). Events
// are first converted to JSON with decoded payloads, so the picks below read plain values.
import { truncate } from './format.js';

/** Attribute paths shown per event kind, in order; kinds not listed show their first few scalars. */
const KEY_ATTRIBUTES: Record<string, readonly string[]> = {
  workflowExecutionStartedEventAttributes: ['workflowType.name', 'taskQueue.name', 'input', 'attempt', 'cronSchedule', 'parentWorkflowExecution.workflowId'],
  workflowTaskScheduledEventAttributes: ['taskQueue.name', 'attempt'],
  workflowTaskStartedEventAttributes: ['identity'],
  workflowTaskCompletedEventAttributes: ['identity'],
  workflowTaskFailedEventAttributes: ['cause', 'failure.message'],
  workflowTaskTimedOutEventAttributes: ['timeoutType'],
  activityTaskScheduledEventAttributes: ['activityId', 'activityType.name', 'taskQueue.name', 'input'],
  activityTaskStartedEventAttributes: ['attempt', 'identity'],
  activityTaskCompletedEventAttributes: ['result'],
  activityTaskFailedEventAttributes: ['failure.message', 'retryState'],
  activityTaskTimedOutEventAttributes: ['failure.message', 'retryState'],
  activityTaskCancelRequestedEventAttributes: ['scheduledEventId'],
  activityTaskCanceledEventAttributes: ['details'],
  timerStartedEventAttributes: ['timerId', 'startToFireTimeout'],
  timerFiredEventAttributes: ['timerId'],
  timerCanceledEventAttributes: ['timerId'],
  workflowExecutionSignaledEventAttributes: ['signalName', 'input'],
  workflowExecutionCompletedEventAttributes: ['result'],
  workflowExecutionFailedEventAttributes: ['failure.message', 'retryState'],
  workflowExecutionTimedOutEventAttributes: ['retryState'],
  workflowExecutionTerminatedEventAttributes: ['reason'],
  workflowExecutionCancelRequestedEventAttributes: ['cause'],
  workflowExecutionCanceledEventAttributes: ['details'],
  workflowExecutionContinuedAsNewEventAttributes: ['newExecutionRunId', 'workflowType.name', 'input'],
  startChildWorkflowExecutionInitiatedEventAttributes: ['workflowId', 'workflowType.name', 'input'],
  startChildWorkflowExecutionFailedEventAttributes: ['workflowId', 'cause'],
  childWorkflowExecutionStartedEventAttributes: ['workflowExecution.workflowId', 'workflowExecution.runId'],
  childWorkflowExecutionCompletedEventAttributes: ['workflowExecution.workflowId', 'result'],
  childWorkflowExecutionFailedEventAttributes: ['workflowExecution.workflowId', 'failure.message'],
  childWorkflowExecutionCanceledEventAttributes: ['workflowExecution.workflowId'],
  childWorkflowExecutionTimedOutEventAttributes: ['workflowExecution.workflowId'],
  childWorkflowExecutionTerminatedEventAttributes: ['workflowExecution.workflowId'],
  signalExternalWorkflowExecutionInitiatedEventAttributes: ['workflowExecution.workflowId', 'signalName'],
  signalExternalWorkflowExecutionFailedEventAttributes: ['workflowExecution.workflowId', 'cause'],
  externalWorkflowExecutionSignaledEventAttributes: ['workflowExecution.workflowId'],
  requestCancelExternalWorkflowExecutionInitiatedEventAttributes: ['workflowExecution.workflowId'],
  requestCancelExternalWorkflowExecutionFailedEventAttributes: ['workflowExecution.workflowId', 'cause'],
  externalWorkflowExecutionCancelRequestedEventAttributes: ['workflowExecution.workflowId'],
  markerRecordedEventAttributes: ['markerName'],
  upsertWorkflowSearchAttributesEventAttributes: ['searchAttributes=searchAttributes.indexedFields'],
  workflowPropertiesModifiedEventAttributes: ['memo=upsertedMemo.fields'],
  workflowExecutionUpdateAcceptedEventAttributes: ['update=acceptedRequest.input.name', 'updateId=protocolInstanceId', 'args=acceptedRequest.input.args'],
  workflowExecutionUpdateCompletedEventAttributes: ['updateId=meta.updateId', 'result=outcome.success', 'failure=outcome.failure.message'],
};

const MAX_VALUE_CHARS = 80;
const GENERIC_ATTRIBUTES = 3;

function pick(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** Payload lists (input, result, details) hold one value in the common case: show that value alone. */
const PAYLOAD_LISTS = new Set(['input', 'result', 'details', 'args', 'success']);

/** Names and ids print bare; payload values print as JSON, so "7" and 7 stay apart. */
function valueText(value: unknown, asJson: boolean): string {
  return truncate(typeof value === 'string' && !asJson ? value : JSON.stringify(value), MAX_VALUE_CHARS);
}

/** "label=path" entries name themselves; otherwise the last segment names the value ("activityType.name" -> "activityType"). */
function labelled(entry: string): [string, string] {
  const at = entry.indexOf('=');
  if (at > 0) return [entry.slice(0, at), entry.slice(at + 1)];
  const segments = entry.split('.');
  const last = segments.at(-1) ?? entry;
  return [(last === 'name' || last === 'message') && segments.length > 1 ? (segments.at(-2) ?? last) : last, entry];
}

/** "activityType=greet input=[\"Ada\"]" for an event in proto JSON (as messageToJson gives it). */
export function eventDetails(event: Record<string, unknown>): string {
  const attributesKey = Object.keys(event).find((key) => key.endsWith('EventAttributes'));
  if (attributesKey === undefined) return '';
  const attributes = event[attributesKey];
  const paths =
    KEY_ATTRIBUTES[attributesKey] ??
    Object.entries((attributes ?? {}) as Record<string, unknown>)
      .filter(([, value]) => typeof value !== 'object')
      .slice(0, GENERIC_ATTRIBUTES)
      .map(([key]) => key);
  const parts: string[] = [];
  for (const path of paths) {
    const [label, attributePath] = labelled(path);
    const value = pick(attributes, attributePath);
    if (value === undefined) continue;
    const last = attributePath.split('.').at(-1) ?? '';
    const isPayload = PAYLOAD_LISTS.has(last);
    const shown = isPayload && Array.isArray(value) && value.length === 1 ? (value[0] as unknown) : value;
    parts.push(`${label}=${valueText(shown, isPayload)}`);
  }
  return parts.join('  ');
}

/** "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED" -> "ActivityTaskScheduled" (the name the UI and docs use). */
export function eventTypeTitle(constant: string): string {
  return constant
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .split('_')
    .map((word) => (word[0]?.toUpperCase() ?? '') + word.slice(1))
    .join('');
}
