// The reference semantics of a VisibilityFilter, evaluated in memory over one run (the rules are written
// down in persistence/visibility.ts). Tests hold every store backend to it; it is also what a backend
// without a query engine would run.

import type { ExecutionListing } from '../../persistence/store.js';
import { textTokens, type FilterScalar, type FilterTarget, type VisibilityColumn, type VisibilityFilter } from '../../persistence/visibility.js';

/** SQL's three truth values: null is UNKNOWN. */
export type Truth = boolean | null;
type Scalar = string | number | null;

export function matches(filter: VisibilityFilter | null, run: ExecutionListing): boolean {
  return filter === null || evaluate(filter, run) === true;
}

export function evaluate(filter: VisibilityFilter, run: ExecutionListing): Truth {
  switch (filter.kind) {
    case 'and': {
      // FALSE wins over UNKNOWN, UNKNOWN over TRUE.
      const results = filter.operands.map((operand) => evaluate(operand, run));
      return results.includes(false) ? false : results.includes(null) ? null : true;
    }
    case 'or': {
      const results = filter.operands.map((operand) => evaluate(operand, run));
      return results.includes(true) ? true : results.includes(null) ? null : false;
    }
    case 'not': {
      const result = evaluate(filter.operand, run);
      return result === null ? null : !result;
    }
    case 'compare': {
      const order = compare(read(filter.target, run), filter.value);
      if (order === null) return null;
      switch (filter.operator) {
        case '=':
          return order === 0;
        case '!=':
          return order !== 0;
        case '<':
          return order < 0;
        case '<=':
          return order <= 0;
        case '>':
          return order > 0;
        case '>=':
          return order >= 0;
      }
      break;
    }
    case 'in': {
      const value = read(filter.target, run);
      if (value === null) return null;
      const found = filter.values.some((candidate) => compare(value, candidate) === 0);
      return found !== filter.negated;
    }
    case 'between': {
      const value = read(filter.target, run);
      const low = compare(value, filter.low);
      const high = compare(value, filter.high);
      if (low === null || high === null) return null;
      return (low >= 0 && high <= 0) !== filter.negated;
    }
    case 'startsWith': {
      const value = read(filter.target, run);
      if (value === null) return null;
      return String(value).startsWith(filter.prefix) !== filter.negated;
    }
    case 'isNull':
      return (read(filter.target, run) === null) !== filter.negated;
    case 'listContains': {
      const value = run.summary.searchAttributeValues?.[filter.attribute];
      const items = value === undefined ? [] : Array.isArray(value) ? value : [value];
      return items.some((item) => filter.values.includes(item as string)) !== filter.negated;
    }
    case 'textMatch': {
      const value = run.summary.searchAttributeValues?.[filter.attribute];
      const words = typeof value === 'string' ? textTokens(value) : [];
      return words.some((word) => filter.tokens.includes(word)) !== filter.negated;
    }
  }
  return null;
}

/** A column or attribute as the store's SQL sees it: booleans are 1/0, lists their JSON text. */
function read(target: FilterTarget, run: ExecutionListing): Scalar {
  if ('column' in target) return column(target.column, run);
  const value = run.summary.searchAttributeValues?.[target.attribute];
  if (value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (Array.isArray(value)) return JSON.stringify(value);
  return value as string | number;
}

function column(name: VisibilityColumn, { key, summary }: ExecutionListing): Scalar {
  switch (name) {
    case 'workflowId':
      return key.workflowId;
    case 'runId':
      return key.runId;
    case 'startTime':
      return summary.startTimeMs;
    case 'executionTime':
      return summary.executionTimeMs;
    case 'closeTime':
      return summary.closeTimeMs;
    case 'executionDuration':
      return summary.executionDurationMs;
    default:
      return summary[name];
  }
}

/**
 * SQLite's ordering of two values without affinity: UNKNOWN with NULL, numbers before text, numbers
 * numerically, text by UTF-8 bytes.
 */
function compare(value: Scalar, literal: FilterScalar): number | null {
  if (value === null) return null;
  if (typeof value === 'number' && typeof literal === 'number') return value < literal ? -1 : value > literal ? 1 : 0;
  if (typeof value === 'string' && typeof literal === 'string') return Buffer.compare(Buffer.from(value), Buffer.from(literal));
  return typeof value === 'number' ? -1 : 1;
}
