// The filter of ListWorkers and CountWorkers, as Temporal's worker registry reads it: a WHERE clause
// over the fields of a worker's latest heartbeat (docs/workers.md lists them).
//
// Only a query that does not parse is an error. Everything judged per worker (an unknown field, an
// operator a field does not support, a value of the wrong kind) makes that worker not match, as in
// Temporal: `TaskQueue = 'a' OR Bogus = 'x'` lists the workers of queue `a`, and `Bogus = 'x'` none.
import type { temporal } from '@temporalio/proto';
import { timestampToMs } from '@kairos/common';
import { InvalidArgumentError } from '../errors.js';
import type { Expression, Literal } from '../visibility/query/ast.js';
import { InvalidQueryError } from '../visibility/query/errors.js';
import { parseQuery } from '../visibility/query/parser.js';
import { parseRfc3339Ms } from '../visibility/datetime.js';

type Heartbeat = temporal.api.worker.v1.IWorkerHeartbeat;

/** A compiled filter: true when the worker matches. */
export type WorkerFilter = (heartbeat: Heartbeat) => boolean;

/** Temporal's names of WorkerStatus values in queries (Go's short enum names; case-sensitive). */
const STATUS_NAMES = ['Unspecified', 'Running', 'ShuttingDown', 'Shutdown'];

export function workerStatusName(status: number | null | undefined): string {
  return STATUS_NAMES[status ?? 0] ?? String(status);
}

const STRING_FIELDS: Readonly<Record<string, (h: Heartbeat) => string>> = {
  WorkerInstanceKey: (h) => h.workerInstanceKey ?? '',
  WorkerIdentity: (h) => h.workerIdentity ?? '',
  HostName: (h) => h.hostInfo?.hostName ?? '',
  TaskQueue: (h) => h.taskQueue ?? '',
  DeploymentName: (h) => h.deploymentVersion?.deploymentName ?? '',
  BuildId: (h) => h.deploymentVersion?.buildId ?? '',
  SdkName: (h) => h.sdkName ?? '',
  SdkVersion: (h) => h.sdkVersion ?? '',
  WorkerStatus: (h) => workerStatusName(h.status),
};

/** Epoch milliseconds, or null when the heartbeat leaves the time unset. */
const TIME_FIELDS: Readonly<Record<string, (h: Heartbeat) => number | null>> = {
  StartTime: (h) => timestampToMs(h.startTime) ?? null,
  HeartbeatTime: (h) => timestampToMs(h.heartbeatTime) ?? null,
};

/** Thrown while judging one worker: that worker does not match. */
class NoMatch extends Error {}

export function compileWorkerQuery(query: string): WorkerFilter {
  if (query === '') return () => true;
  if (/^\s*(where|select)\s/i.test(query)) throw new InvalidArgumentError(`invalid filter: ${query}`);
  if (query.trim() === '') throw new InvalidArgumentError('malformed query: the query is blank');
  let where: Expression | null;
  try {
    where = parseQuery(query).where;
  } catch (err) {
    if (!(err instanceof InvalidQueryError)) throw err;
    if (/^operation is not supported: 'LIMIT'/.test(err.reason)) throw new InvalidArgumentError("operation is not supported: 'limit' clause");
    throw new InvalidArgumentError(`malformed query: ${err.reason}`);
  }
  if (where === null) return () => true;
  const expression = where;
  return (heartbeat) => {
    try {
      return evaluate(expression, heartbeat);
    } catch (err) {
      if (err instanceof NoMatch) return false;
      throw err;
    }
  };
}

function evaluate(e: Expression, h: Heartbeat): boolean {
  switch (e.kind) {
    case 'and':
      return evaluate(e.left, h) && evaluate(e.right, h);
    case 'or':
      return evaluate(e.left, h) || evaluate(e.right, h);
    case 'not':
    case 'in':
      throw new NoMatch();
    default:
      break;
  }
  const name = fieldName(e.attribute.name);
  const stringField = STRING_FIELDS[name];
  if (stringField) return evaluateString(e, stringField(h));
  const timeField = TIME_FIELDS[name];
  if (timeField) return evaluateTime(e, timeField(h));
  throw new NoMatch();
}

/** `Status` is WorkerStatus's alias and, being an SQL keyword, is read in any case. */
function fieldName(name: string): string {
  return name.toLowerCase() === 'status' ? 'WorkerStatus' : name;
}

type Predicate = Exclude<Expression, { kind: 'and' | 'or' | 'not' | 'in' }>;

function evaluateString(e: Predicate, value: string): boolean {
  switch (e.kind) {
    case 'isNull':
      return (value === '') !== e.negated;
    case 'startsWith':
      return value.startsWith(stringLiteral(e.value)) !== e.negated;
    case 'compare':
      if (e.operator === '=') return value === stringLiteral(e.value);
      if (e.operator === '!=') return value !== stringLiteral(e.value);
      throw new NoMatch();
    default:
      throw new NoMatch();
  }
}

function stringLiteral(literal: Literal): string {
  if (literal.kind !== 'string' || literal.value === '') throw new NoMatch();
  return literal.value;
}

function evaluateTime(e: Predicate, value: number | null): boolean {
  switch (e.kind) {
    case 'isNull':
      return (value === null) !== e.negated;
    case 'between': {
      if (value === null) return false;
      const inside = value >= timeLiteral(e.low) && value <= timeLiteral(e.high);
      return inside !== e.negated;
    }
    case 'compare': {
      // An unset time compares as the Unix epoch.
      const left = value ?? 0;
      const right = timeLiteral(e.value);
      switch (e.operator) {
        case '=':
          return left === right;
        case '!=':
          return left !== right;
        case '<':
          return left < right;
        case '<=':
          return left <= right;
        case '>':
          return left > right;
        case '>=':
          return left >= right;
      }
      throw new NoMatch();
    }
    default:
      throw new NoMatch();
  }
}

/** An RFC 3339 text, or an integer of nanoseconds since the epoch, as epoch milliseconds. */
function timeLiteral(literal: Literal): number {
  if (literal.kind === 'number' && /^-?\d+$/.test(literal.text)) return Number(BigInt(literal.text) / 1000n) / 1000;
  if (literal.kind === 'string') {
    if (/^-?\d+$/.test(literal.value)) return Number(BigInt(literal.value) / 1000n) / 1000;
    const ms = parseRfc3339Ms(literal.value);
    if (ms !== null) return ms;
  }
  throw new NoMatch();
}
