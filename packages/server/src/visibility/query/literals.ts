// Query literals read as the attribute they are compared with needs them (Temporal's parseSQLVal):
// strings for Keyword/Text/KeywordList, numbers for Int/Double, true/false for Bool (stored as 1/0),
// RFC 3339 text or int64 nanoseconds for Datetime (to epoch ms), 'Running' / 'Completed' / ... or the
// enum number for ExecutionStatus, and nanoseconds or a duration ('90s', '1h30m', '2d', '01:30:00') for
// ExecutionDuration (to ms).

import { api } from '@kairos/common';
import type { FilterScalar } from '../../persistence/visibility.js';
import { parseRfc3339Ms } from '../datetime.js';
import { printLiteral, type Literal } from './ast.js';
import type { ResolvedAttribute } from './compile.js';
import { INVALID_EXPRESSION, InvalidQueryError } from './errors.js';

const STATUS_PREFIX = 'WORKFLOW_EXECUTION_STATUS_';

/** 'Running' and 'WORKFLOW_EXECUTION_STATUS_RUNNING' -> 1, ... (Go's WorkflowExecutionStatusFromString). */
const STATUS_BY_NAME: ReadonlyMap<string, number> = new Map(
  Object.entries(api.enums.v1.WorkflowExecutionStatus).flatMap(([name, value]): Array<[string, number]> => {
    if (typeof value !== 'number') return [];
    const short = name
      .slice(STATUS_PREFIX.length)
      .toLowerCase()
      .replace(/(^|_)([a-z])/g, (_match, _sep: string, letter: string) => letter.toUpperCase());
    return [
      [name, value],
      [short, value],
    ];
  }),
);
const STATUS_VALUES: ReadonlySet<number> = new Set(STATUS_BY_NAME.values());

/** Go's WorkflowExecutionStatus.String(): 1 -> 'Running', 6 -> 'ContinuedAsNew', ... */
export function statusName(status: number): string {
  for (const [name, value] of STATUS_BY_NAME) if (value === status && !name.startsWith(STATUS_PREFIX)) return name;
  return String(status);
}

const INTEGER = /^-?\d+$/;
const NS_PER_MS = 1_000_000n;
const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function literalValue(literal: Literal, attribute: ResolvedAttribute): FilterScalar {
  if (attribute.field === 'ExecutionStatus') return statusValue(literal, attribute);
  if (attribute.field === 'ExecutionDuration') return durationValue(literal, attribute);
  switch (attribute.type) {
    case 'Keyword':
    case 'KeywordList':
    case 'Text':
      if (literal.kind === 'string') return literal.value;
      break;
    case 'Int':
    case 'Double':
      if (literal.kind === 'number') return Number(literal.text);
      break;
    case 'Bool':
      if (literal.kind === 'bool') return literal.value ? 1 : 0;
      break;
    case 'Datetime':
      if (literal.kind === 'string') {
        const ms = parseRfc3339Ms(literal.value);
        if (ms === null) throw invalid(literal, `${INVALID_EXPRESSION}: unable to parse datetime '${literal.value}'`);
        return ms;
      }
      if (literal.kind === 'number' && INTEGER.test(literal.text)) return nanosToMs(BigInt(literal.text));
      break;
  }
  throw invalid(literal, `${INVALID_EXPRESSION}: invalid value for search attribute ${attribute.alias} of type ${attribute.type}: ${printLiteral(literal)}`);
}

function statusValue(literal: Literal, attribute: ResolvedAttribute): number {
  const status =
    literal.kind === 'string' ? STATUS_BY_NAME.get(literal.value) : literal.kind === 'number' && INTEGER.test(literal.text) ? Number(literal.text) : undefined;
  if (status === undefined || !STATUS_VALUES.has(status)) {
    throw invalid(literal, `${INVALID_EXPRESSION}: invalid ${attribute.alias} value ${printLiteral(literal)}`);
  }
  return status;
}

function durationValue(literal: Literal, attribute: ResolvedAttribute): number {
  const ms =
    literal.kind === 'number' && INTEGER.test(literal.text)
      ? nanosToMs(BigInt(literal.text))
      : literal.kind === 'string'
        ? parseDurationMs(literal.value)
        : null;
  if (ms === null) throw invalid(literal, `${INVALID_EXPRESSION}: invalid duration value for search attribute ${attribute.alias}: ${printLiteral(literal)}`);
  return ms;
}

/** Nanoseconds as a string of digits, a Go duration ('1h30m', '1.5s', '-2d'), or 'hh:mm:ss'. */
export function parseDurationMs(text: string): number | null {
  if (INTEGER.test(text)) return nanosToMs(BigInt(text));
  const clock = /^(\d+):([0-5]\d):([0-5]\d)$/.exec(text);
  if (clock !== null) return (Number(clock[1]) * 3600 + Number(clock[2]) * 60 + Number(clock[3])) * 1000;
  const go = /^([+-]?)((?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h|d))+)$/.exec(text);
  if (go === null) return null;
  let total = 0;
  for (const part of (go[2] ?? '').matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)/g)) {
    total += Number(part[1]) * (DURATION_UNITS_MS[part[2] ?? ''] ?? Number.NaN);
  }
  return Number.isFinite(total) ? (go[1] === '-' ? -total : total) : null;
}

function nanosToMs(nanos: bigint): number {
  return Number(nanos / NS_PER_MS) + Number(nanos % NS_PER_MS) / 1e6;
}

function invalid(literal: Literal, reason: string): InvalidQueryError {
  return new InvalidQueryError(reason, literal.position);
}
