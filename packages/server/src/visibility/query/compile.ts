// From query text to the VisibilityFilter a store runs: parse, resolve each name against the
// namespace's search attributes (custom, system, predefined, as Temporal's converter does), check each
// operator against the attribute's type, and turn each literal into the value the store compares
// (persistence/visibility.ts). Every failure is an InvalidQueryError (INVALID_ARGUMENT).

import type { FilterScalar, FilterTarget, SearchAttributeTypeName, VisibilityFilter } from '../../persistence/visibility.js';
import { textTokens } from '../../persistence/visibility.js';
import type { NamespaceSearchAttributes } from '../search-attribute-values.js';
import { NAMESPACE_DIVISION, PREDEFINED_SEARCH_ATTRIBUTES, SYSTEM_SEARCH_ATTRIBUTES } from '../search-attributes.js';
import type { AttributeName, Expression, Literal } from './ast.js';
import { INVALID_EXPRESSION, InvalidQueryError, NOT_SUPPORTED } from './errors.js';
import { parseQuery } from './parser.js';
import { literalValue } from './literals.js';

export type QueryPurpose = 'list' | 'count';

export interface CompiledQuery {
  /** null = every run. */
  readonly filter: VisibilityFilter | null;
  /** `GROUP BY ExecutionStatus` (count only). */
  readonly groupByStatus: boolean;
}

/** A name resolved in a namespace: what the user wrote, the attribute it means, its type and storage. */
export interface ResolvedAttribute {
  readonly alias: string;
  readonly field: string;
  readonly type: SearchAttributeTypeName;
  readonly target: FilterTarget;
  readonly position: number;
}

const RANGE_TYPES: ReadonlySet<SearchAttributeTypeName> = new Set(['Int', 'Double', 'Datetime', 'Keyword']);

/**
 * `aliases`: names of this kind of execution for system attributes (standalone activities call WorkflowId
 * ActivityId, and WorkflowType ActivityType).
 */
export function compileQuery(text: string, custom: NamespaceSearchAttributes, purpose: QueryPurpose, aliases: ReadonlyMap<string, string> = NO_ALIASES): CompiledQuery {
  const ast = parseQuery(text);
  const first = ast.orderBy[0];
  if (first !== undefined) {
    resolveAttribute(first.attribute, custom, aliases);
    throw new InvalidQueryError(`${NOT_SUPPORTED}: 'ORDER BY' clause`, first.attribute.position);
  }
  let groupByStatus = false;
  const [group, ...moreGroups] = ast.groupBy;
  if (group !== undefined) {
    if (purpose !== 'count') throw new InvalidQueryError(`${NOT_SUPPORTED}: 'GROUP BY' clause is only supported by count`, group.position);
    if (moreGroups.length > 0) throw new InvalidQueryError(`${NOT_SUPPORTED}: 'GROUP BY' clause supports only a single field`, group.position);
    const resolved = resolveAttribute(group, custom, aliases);
    if (resolved.field !== 'ExecutionStatus') {
      throw new InvalidQueryError(`${NOT_SUPPORTED}: 'GROUP BY' clause is not supported for search attribute ${resolved.alias}`, group.position);
    }
    groupByStatus = true;
  }
  const names = new Set<string>();
  const filter = ast.where === null ? null : compileExpression(ast.where, custom, names, aliases);
  // As in Temporal: runs of another namespace division (e.g. schedulers) are hidden unless asked for.
  if (names.has(NAMESPACE_DIVISION)) return { filter, groupByStatus };
  const ownDivision: VisibilityFilter = { kind: 'isNull', target: { attribute: NAMESPACE_DIVISION }, negated: false };
  return { filter: filter === null ? ownDivision : and([ownDivision, filter]), groupByStatus };
}

const NO_ALIASES: ReadonlyMap<string, string> = new Map();

function compileExpression(expression: Expression, custom: NamespaceSearchAttributes, names: Set<string>, aliases: ReadonlyMap<string, string>): VisibilityFilter {
  switch (expression.kind) {
    case 'and':
    case 'or': {
      const operands = [expression.left, expression.right].map((operand) => compileExpression(operand, custom, names, aliases));
      return expression.kind === 'and' ? and(operands) : or(operands);
    }
    case 'not':
      return { kind: 'not', operand: compileExpression(expression.operand, custom, names, aliases) };
    default: {
      const attribute = resolveAttribute(expression.attribute, custom, aliases);
      names.add(attribute.field);
      return compilePredicate(expression, attribute);
    }
  }
}

type Predicate = Exclude<Expression, { kind: 'and' | 'or' | 'not' }>;

function compilePredicate(predicate: Predicate, attribute: ResolvedAttribute): VisibilityFilter {
  const { target, type } = attribute;
  const value = (literal: Literal): FilterScalar => literalValue(literal, attribute);
  if (predicate.kind === 'isNull') return { kind: 'isNull', target, negated: predicate.negated };
  if (type === 'KeywordList') return compileKeywordList(predicate, attribute);
  if (type === 'Text') return compileText(predicate, attribute);
  switch (predicate.kind) {
    case 'compare':
      return { kind: 'compare', target, operator: predicate.operator, value: value(predicate.value) };
    case 'in':
      return { kind: 'in', target, negated: predicate.negated, values: predicate.values.map(value) };
    case 'between':
      if (!RANGE_TYPES.has(type)) {
        const reason = `${INVALID_EXPRESSION}: cannot do range condition on search attribute '${attribute.alias}' of type ${type}`;
        throw new InvalidQueryError(reason, attribute.position);
      }
      return { kind: 'between', target, negated: predicate.negated, low: value(predicate.low), high: value(predicate.high) };
    case 'startsWith': {
      if (type !== 'Keyword' || attribute.field === 'ExecutionStatus') throw unsupportedOperator(predicate, attribute);
      const prefix = value(predicate.value);
      return { kind: 'startsWith', target, negated: predicate.negated, prefix: String(prefix) };
    }
  }
}

/** KeywordList holds values: `=` / IN ask whether it holds any of them, `!=` / NOT IN whether none. */
function compileKeywordList(predicate: Exclude<Predicate, { kind: 'isNull' }>, attribute: ResolvedAttribute): VisibilityFilter {
  const strings = (literals: readonly Literal[]): string[] => literals.map((literal) => String(literalValue(literal, attribute)));
  if (predicate.kind === 'compare' && (predicate.operator === '=' || predicate.operator === '!=')) {
    return { kind: 'listContains', attribute: attribute.field, negated: predicate.operator === '!=', values: strings([predicate.value]) };
  }
  if (predicate.kind === 'in') return { kind: 'listContains', attribute: attribute.field, negated: predicate.negated, values: strings(predicate.values) };
  if (predicate.kind === 'between') {
    throw new InvalidQueryError(`${INVALID_EXPRESSION}: cannot do range condition on search attribute '${attribute.alias}' of type KeywordList`, attribute.position);
  }
  throw unsupportedOperator(predicate, attribute);
}

/** Text is matched by words: `=` asks whether the text holds any word of the value, `!=` whether none. */
function compileText(predicate: Exclude<Predicate, { kind: 'isNull' }>, attribute: ResolvedAttribute): VisibilityFilter {
  if (predicate.kind !== 'compare' || (predicate.operator !== '=' && predicate.operator !== '!=')) {
    if (predicate.kind === 'between') {
      throw new InvalidQueryError(`${INVALID_EXPRESSION}: cannot do range condition on search attribute '${attribute.alias}' of type Text`, attribute.position);
    }
    throw unsupportedOperator(predicate, attribute);
  }
  const tokens = textTokens(String(literalValue(predicate.value, attribute)));
  if (tokens.length === 0) {
    throw new InvalidQueryError(`${INVALID_EXPRESSION}: unexpected value for Text type search attribute '${attribute.alias}' (no words found)`, predicate.value.position);
  }
  return { kind: 'textMatch', attribute: attribute.field, negated: predicate.operator === '!=', tokens };
}

function unsupportedOperator(predicate: Predicate, attribute: ResolvedAttribute): InvalidQueryError {
  const not = 'negated' in predicate && predicate.negated ? 'NOT ' : '';
  const operator = predicate.kind === 'compare' ? predicate.operator : `${not}${predicate.kind === 'startsWith' ? 'STARTS_WITH' : predicate.kind.toUpperCase()}`;
  const reason = `${NOT_SUPPORTED}: operator '${operator}' not supported for ${attribute.type} type search attribute '${attribute.alias}'`;
  return new InvalidQueryError(reason, attribute.position);
}

/**
 * Temporal's resolution order: a custom attribute of the namespace, then a system or predefined one,
 * then the ScheduleId alias of WorkflowId, then the name with the `Temporal` prefix added or removed.
 */
export function resolveAttribute(attribute: AttributeName, custom: NamespaceSearchAttributes, aliases: ReadonlyMap<string, string> = NO_ALIASES): ResolvedAttribute {
  const { name: alias, position } = attribute;
  const known = (field: string): ResolvedAttribute | undefined => {
    const customType = field === alias ? custom.get(field) : undefined;
    if (customType !== undefined) return { alias, field, type: customType, target: { attribute: field }, position };
    const system = SYSTEM_SEARCH_ATTRIBUTES.get(field);
    if (system !== undefined) return { alias, field, type: system.type, target: { column: system.column }, position };
    const predefined = PREDEFINED_SEARCH_ATTRIBUTES.get(field);
    if (predefined !== undefined) return { alias, field, type: predefined, target: { attribute: field }, position };
    return undefined;
  };
  const prefixed = alias.startsWith('Temporal') ? alias.slice('Temporal'.length) : `Temporal${alias}`;
  const scheduleAlias = alias === 'ScheduleId' || alias === 'TemporalScheduleId' ? 'WorkflowId' : undefined;
  const kindAlias = aliases.get(alias);
  const resolved = (kindAlias === undefined ? undefined : known(kindAlias)) ?? known(alias) ?? (scheduleAlias === undefined ? undefined : known(scheduleAlias)) ?? known(prefixed);
  if (resolved === undefined) {
    throw new InvalidQueryError(`${INVALID_EXPRESSION}: column name '${alias}' is not a valid search attribute (at position ${position})`, position);
  }
  return resolved;
}

function and(operands: readonly VisibilityFilter[]): VisibilityFilter {
  return { kind: 'and', operands: operands.flatMap((operand) => (operand.kind === 'and' ? operand.operands : [operand])) };
}

function or(operands: readonly VisibilityFilter[]): VisibilityFilter {
  return { kind: 'or', operands: operands.flatMap((operand) => (operand.kind === 'or' ? operand.operands : [operand])) };
}
