// The stored form of a run's mutable state (the executions row's `state`, and the engine's cache).
//
// Format 3 (first byte 3, what is written): the state *packed by position*: every record becomes the
// array of its field values in the order of its field list below, so no field name is stored. Keyed
// maps become arrays of [key, packed value] pairs. The packed arrays are written in the compact binary
// form of packed-values.ts. A parked run's state is about 420 bytes instead of about 1,000 with field
// names, and packing is cheaper than compressing (a dictionary deflate cost about 40 µs per encode).
// Encoding a 250-byte state takes about 7 µs and decoding it 11 µs, against 24 and 21 µs in the v8
// serialization (format 2, below).
//
// Format 2 (first byte 2): the same packed arrays in the v8 serialization. Still read, and still written
// for a state holding a value the compact form has no tag for (none does today).
//
// What the row already holds is not stored twice: the run's three ids (the row's key) are left out and
// given back by the caller on decode, and firstExecutionRunId / startRequestId are left out when they
// are the run id / the first request id (as they are for most runs). The memo and the search attributes
// are the row's listing columns as well (every write of the state writes them from it, in the same
// transaction): their positions hold the marker `true` (IN_ROW) and the caller gives them back on
// decode. States written before that hold the bytes (or null) there, and decode as they are.
//
// Evolution: a field list only ever grows at its end. A state packed before a field existed has a
// shorter array; its missing fields decode as undefined and `decodeMutableState` fills their defaults, as
// it does for the older format below. Reordering or removing an entry would misread stored states.
//
// Format 0 (first byte 0xFF, the v8 version tag): the bare v8 serialization of the state object, what
// runs written before format 2 hold; still read.
import { serialize, deserialize } from 'node:v8';
import type {
  ActivityInfo,
  BufferedEvent,
  CallbackInfo,
  ChildInfo,
  ExternalRequestInfo,
  NexusOperationInfo,
  MutableState,
  ParentInfo,
  StandaloneActivity,
  StandaloneNexusOperation,
  VersioningInfo,
  UpdateInfo,
  UserTimerInfo,
  WorkflowTaskInfo,
} from './mutable-state.js';
import type { ExecutionKey, ListedFields } from '../persistence/store.js';
import { decodePacked, encodePacked, UnpackableValueError, type PackedValue } from './packed-values.js';

const FORMAT_PACKED = 2;
const FORMAT_COMPACT = 3;
const V8_VERSION_TAG = 0xff;
/** In a packed state's memo or search attributes position: the value is the row's column's. */
const IN_ROW = true;

/** A record's field list; `missing` makes the compiler name any field of T the list forgets. */
function fieldsOf<T>() {
  return <const K extends readonly (keyof T)[]>(...keys: K & ([Exclude<keyof T, K[number]>] extends [never] ? unknown : { missing: Exclude<keyof T, K[number]> })): K => keys;
}

const WORKFLOW_TASK = fieldsOf<WorkflowTaskInfo>()(
  'scheduledEventId', 'startedEventId', 'attempt', 'transient', 'scheduledTimeMs', 'startedTimeMs', 'startToCloseMs',
  'taskQueue', 'identity', 'requestId', 'timeoutTaskId', 'heartbeat', 'speculative', 'sticky', 'scheduleToStartTaskId',
);
const ACTIVITY = fieldsOf<ActivityInfo>()(
  'scheduledEventId', 'activityId', 'activityType', 'taskQueue', 'scheduledAttributes', 'scheduledTimeMs', 'phase', 'attempt',
  'awaitingRetry', 'currentAttemptScheduledTimeMs', 'startedTimeMs', 'startedIdentity', 'startedRequestId', 'scheduleToCloseMs',
  'scheduleToStartMs', 'startToCloseMs', 'heartbeatMs', 'heartbeatDetails', 'lastHeartbeatMs', 'lastFailure', 'cancelRequested',
  'cancelRequestedEventId', 'timerTaskIds', 'heartbeatTimerTaskId', 'priorityKey', 'paused', 'pausedAtMs', 'pausedBy',
  'pauseReason', 'pauseRequestId', 'resetRequested', 'resetHeartbeats', 'lastAttemptCompleteMs',
);
const TIMER = fieldsOf<UserTimerInfo>()('timerId', 'startedEventId', 'fireAtMs', 'taskId');
const BUFFERED = fieldsOf<BufferedEvent>()('event', 'eventType', 'scheduledEventId', 'timerId');
const CHILD = fieldsOf<ChildInfo>()(
  'initiatedEventId', 'namespaceId', 'namespace', 'workflowId', 'workflowType', 'runId', 'startedEventId', 'started',
  'parentClosePolicy', 'initiatedAttributes',
);
const EXTERNAL_REQUEST = fieldsOf<ExternalRequestInfo>()('initiatedEventId', 'kind', 'initiatedAttributes');
const PARENT = fieldsOf<ParentInfo>()('namespaceId', 'namespace', 'workflowId', 'runId', 'initiatedEventId', 'rootWorkflowId', 'rootRunId');
const UPDATE = fieldsOf<UpdateInfo>()(
  'updateId', 'phase', 'seq', 'admittedTimeMs', 'request', 'sentInWft', 'acceptedEventId', 'completedEventId', 'outcome',
);
const STATE = fieldsOf<MutableState>()(
  'namespaceId', 'workflowId', 'runId', 'firstExecutionRunId', 'workflowType', 'taskQueue', 'status', 'startTimeMs',
  'executionTimeMs', 'closeTimeMs', 'workflowTaskTimeoutMs', 'runTimeoutMs', 'executionTimeoutMs', 'startRequestId',
  'requestIds', 'signalRequestIds', 'signalCount', 'nextEventId', 'historySizeBytes', 'lastCompletedWftStartedEventId',
  'workflowTask', 'activities', 'timers', 'buffered', 'cancelRequested', 'memo', 'searchAttributes', 'workflowTimerTaskIds',
  'stateTransitionCount', 'attempt', 'retryPolicy', 'cronSchedule', 'children', 'externalRequests', 'parent', 'startInput',
  'startHeader', 'executionExpirationMs', 'updates', 'stickyTaskQueue', 'stickyScheduleToStartMs', 'priorityKey',
  'resetRunId', 'standalone', 'versioning', 'nexusOperations', 'callbacks', 'standaloneNexus', 'fairnessKey', 'fairnessWeight',
);
const NEXUS_OPERATION = fieldsOf<NexusOperationInfo>()(
  'scheduledEventId', 'endpoint', 'endpointId', 'service', 'operation', 'requestId', 'scheduledTimeMs', 'scheduleToCloseMs',
  'scheduleToStartMs', 'startToCloseMs', 'phase', 'attempt', 'operationToken', 'startedTimeMs', 'lastAttemptCompleteMs',
  'lastAttemptFailure', 'nextAttemptMs', 'timerTaskIds', 'invocationTaskId', 'cancelPhase', 'cancelRequestedEventId',
  'cancelRequestedTimeMs', 'cancelAttempt', 'cancelLastAttemptCompleteMs', 'cancelLastFailure', 'cancelNextAttemptMs', 'cancelTaskId',
);
const CALLBACK = fieldsOf<CallbackInfo>()(
  'callback', 'registeredMs', 'requestId', 'phase', 'attempt', 'lastAttemptCompleteMs', 'lastAttemptFailure', 'nextAttemptMs',
);
const VERSIONING = fieldsOf<VersioningInfo>()(
  'behavior', 'deploymentName', 'buildId', 'workerDeploymentName', 'overrideKind', 'overrideDeploymentName', 'overrideBuildId',
  'useRamping',
);
const STANDALONE = fieldsOf<StandaloneActivity>()(
  'outcome', 'userMetadata', 'startDelayMs', 'canceledReason', 'cancelIdentity', 'cancelRequestId', 'terminateRequestId',
  'lastAttemptCompleteMs', 'currentRetryIntervalMs', 'totalHeartbeats', 'lastWorkerIdentity',
);

const STANDALONE_NEXUS = fieldsOf<StandaloneNexusOperation>()(
  'outcome', 'input', 'nexusHeader', 'userMetadata', 'identity', 'links', 'cancelRequestId', 'cancelIdentity', 'cancelReason',
  'terminateRequestId',
);

type Packed = unknown[];

function pack(record: object, fields: readonly PropertyKey[]): Packed {
  const values = record as Record<PropertyKey, unknown>;
  return fields.map((field) => values[field]);
}

/**
 * Builds the records of one field list from their packed values, as one object literal with every
 * field: each record gets the same hidden class at once. Adding the fields one by one instead moved
 * them out of the object and grew that store again and again (about half of a decode's time and most
 * of its garbage). A field absent from the packed values (never set, or added to the list after the
 * state was packed) is present with the value undefined, which reads the same.
 */
function recordOf<T>(fields: readonly string[]): (values: Packed) => T {
  const body = fields.map((field, i) => `${JSON.stringify(field)}: values[${i}]`).join(', ');
  try {
    // The field names are this module's constants, not input.
    return new Function('values', `return { ${body} };`) as (values: Packed) => T;
  } catch {
    // Code generation from strings is disallowed (node --disallow-code-generation-from-strings).
    return (values) => Object.fromEntries(fields.map((field, i) => [field, values[i]])) as T;
  }
}

function packMap(map: Record<PropertyKey, object>, fields: readonly PropertyKey[]): Packed {
  return Object.entries(map).map(([key, value]) => [key, pack(value, fields)]);
}

function unpackMap<T>(entries: Packed | undefined, record: (values: Packed) => T): Record<string, T> {
  const map: Record<string, T> = {};
  for (const [key, value] of (entries ?? []) as Array<[string, Packed]>) map[key] = record(value);
  return map;
}

const workflowTaskRecord = recordOf<WorkflowTaskInfo>(WORKFLOW_TASK);
const activityRecord = recordOf<ActivityInfo>(ACTIVITY);
const timerRecord = recordOf<UserTimerInfo>(TIMER);
const bufferedRecord = recordOf<BufferedEvent>(BUFFERED);
const childRecord = recordOf<ChildInfo>(CHILD);
const externalRequestRecord = recordOf<ExternalRequestInfo>(EXTERNAL_REQUEST);
const parentRecord = recordOf<ParentInfo>(PARENT);
const updateRecord = recordOf<UpdateInfo>(UPDATE);
const standaloneRecord = recordOf<StandaloneActivity>(STANDALONE);
const versioningRecord = recordOf<VersioningInfo>(VERSIONING);
const nexusOperationRecord = recordOf<NexusOperationInfo>(NEXUS_OPERATION);
const callbackRecord = recordOf<CallbackInfo>(CALLBACK);
const standaloneNexusRecord = recordOf<StandaloneNexusOperation>(STANDALONE_NEXUS);
const stateRecord = recordOf<MutableState>(STATE);

/** The position of each of the state's fields in its packed array. */
const AT = Object.fromEntries(STATE.map((field, i) => [field, i])) as Record<(typeof STATE)[number], number>;

function packState(state: MutableState): Packed {
  const packed = pack(state, STATE);
  packed[AT.namespaceId] = null;
  packed[AT.workflowId] = null;
  packed[AT.runId] = null;
  if (state.firstExecutionRunId === state.runId) packed[AT.firstExecutionRunId] = null;
  if (state.startRequestId === state.requestIds[0]) packed[AT.startRequestId] = null;
  packed[AT.memo] = IN_ROW;
  packed[AT.searchAttributes] = IN_ROW;
  packed[AT.workflowTask] = state.workflowTask ? pack(state.workflowTask, WORKFLOW_TASK) : null;
  packed[AT.activities] = packMap(state.activities, ACTIVITY);
  packed[AT.timers] = packMap(state.timers, TIMER);
  packed[AT.buffered] = state.buffered.map((event) => pack(event, BUFFERED));
  packed[AT.children] = packMap(state.children, CHILD);
  packed[AT.externalRequests] = packMap(state.externalRequests, EXTERNAL_REQUEST);
  packed[AT.parent] = state.parent ? pack(state.parent, PARENT) : null;
  packed[AT.updates] = packMap(state.updates, UPDATE);
  packed[AT.standalone] = state.standalone ? pack(state.standalone, STANDALONE) : undefined;
  packed[AT.versioning] = state.versioning ? pack(state.versioning, VERSIONING) : undefined;
  const ops = state.nexusOperations;
  packed[AT.nexusOperations] = ops && Object.keys(ops).length > 0 ? packMap(ops, NEXUS_OPERATION) : undefined;
  packed[AT.callbacks] = state.callbacks && state.callbacks.length > 0 ? state.callbacks.map((c) => pack(c, CALLBACK)) : undefined;
  packed[AT.standaloneNexus] = state.standaloneNexus ? pack(state.standaloneNexus, STANDALONE_NEXUS) : undefined;
  return packed;
}

function unpackState(packed: Packed, key: ExecutionKey, listed: ListedFields): MutableState {
  const state = stateRecord(packed);
  state.namespaceId = key.namespaceId;
  state.workflowId = key.workflowId;
  state.runId = key.runId;
  if (packed[AT.memo] === IN_ROW) state.memo = listed.memo;
  if (packed[AT.searchAttributes] === IN_ROW) state.searchAttributes = listed.searchAttributes;
  state.firstExecutionRunId ??= key.runId;
  state.startRequestId ??= state.requestIds[0] ?? '';
  const at = (field: (typeof STATE)[number]): Packed | null | undefined => packed[AT[field]] as Packed | null | undefined;
  const workflowTask = at('workflowTask');
  state.workflowTask = workflowTask ? workflowTaskRecord(workflowTask) : null;
  state.activities = unpackMap(at('activities') ?? undefined, activityRecord);
  state.timers = unpackMap(at('timers') ?? undefined, timerRecord);
  state.buffered = (at('buffered') ?? []).map((event) => bufferedRecord(event as Packed));
  state.children = unpackMap(at('children') ?? undefined, childRecord);
  state.externalRequests = unpackMap(at('externalRequests') ?? undefined, externalRequestRecord);
  const parent = at('parent');
  state.parent = parent ? parentRecord(parent) : null;
  state.updates = unpackMap(at('updates') ?? undefined, updateRecord);
  const standalone = at('standalone');
  state.standalone = standalone ? standaloneRecord(standalone) : undefined;
  const versioning = at('versioning');
  state.versioning = versioning ? versioningRecord(versioning) : undefined;
  const ops = at('nexusOperations');
  state.nexusOperations = ops ? unpackMap(ops, nexusOperationRecord) : undefined;
  const callbacks = at('callbacks');
  state.callbacks = callbacks ? callbacks.map((c) => callbackRecord(c as Packed)) : undefined;
  const standaloneNexus = at('standaloneNexus');
  state.standaloneNexus = standaloneNexus ? standaloneNexusRecord(standaloneNexus) : undefined;
  return state;
}

export function encodeMutableState(state: MutableState): Uint8Array {
  const packed = packState(state);
  try {
    return encodePacked(FORMAT_COMPACT, packed as PackedValue);
  } catch (err) {
    // A value the compact form has no tag for: this state keeps the v8 form, which holds anything.
    if (!(err instanceof UnpackableValueError)) throw err;
  }
  const serialized = serialize(packed);
  // Not from Buffer's shared pool: the engine caches these bytes, and a cached slice of a pool slab
  // would keep the whole 8 KiB slab alive (10,000 cached states held 22 MB of slabs for 2.5 MB of state).
  const bytes = Buffer.allocUnsafeSlow(serialized.length + 1);
  bytes[0] = FORMAT_PACKED;
  serialized.copy(bytes, 1);
  return bytes;
}

/**
 * `key`: the run's ids, which formats 2 and 3 do not store (they are its row's key); `listed`: the memo
 * and search attributes of its row's listing columns, which they leave to the row since 2026-11-23.
 */
export function decodeMutableState(bytes: Uint8Array, key: ExecutionKey, listed: ListedFields): MutableState {
  let state: MutableState;
  if (bytes[0] === FORMAT_COMPACT) {
    state = unpackState(decodePacked(bytes, 1) as Packed, key, listed);
  } else if (bytes[0] === FORMAT_PACKED) {
    state = unpackState(deserialize(bytes.subarray(1)) as Packed, key, listed);
  } else if (bytes[0] === V8_VERSION_TAG) {
    state = deserialize(bytes) as MutableState;
  } else {
    throw new Error(`stored run state has unknown format ${bytes[0] ?? '(empty)'}`);
  }
  // Fields later than the state (of either format): states written before updates existed have no map...
  state.updates ??= {};
  // ... nor stickiness.
  state.stickyTaskQueue ??= '';
  state.stickyScheduleToStartMs ??= 0;
  // ... nor a signal count (they kept every signal's request id in the state).
  state.signalCount ??= state.signalRequestIds.length;
  return state;
}
