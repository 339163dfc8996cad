// The syntax tree of a list filter, before names are resolved against a namespace's search attributes,
// and its printer. Printing adds exactly the parentheses the tree needs, so parse(print(tree)) gives
// the tree back (a property the parser's tests check).

export interface AttributeName {
  readonly name: string;
  /** 1-based position in the query text (0 for trees built in code). */
  readonly position: number;
}

export type Literal =
  | { readonly kind: 'string'; readonly value: string; readonly position: number }
  /** As written, sign included: resolution reads it as the attribute's type needs (int64 nanoseconds, double, ...). */
  | { readonly kind: 'number'; readonly text: string; readonly position: number }
  | { readonly kind: 'bool'; readonly value: boolean; readonly position: number };

export type ComparisonOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type Expression =
  | { readonly kind: 'and' | 'or'; readonly left: Expression; readonly right: Expression }
  | { readonly kind: 'not'; readonly operand: Expression }
  | { readonly kind: 'compare'; readonly attribute: AttributeName; readonly operator: ComparisonOp; readonly value: Literal }
  | { readonly kind: 'startsWith'; readonly attribute: AttributeName; readonly negated: boolean; readonly value: Literal }
  | { readonly kind: 'in'; readonly attribute: AttributeName; readonly negated: boolean; readonly values: readonly Literal[] }
  | {
      readonly kind: 'between';
      readonly attribute: AttributeName;
      readonly negated: boolean;
      readonly low: Literal;
      readonly high: Literal;
    }
  | { readonly kind: 'isNull'; readonly attribute: AttributeName; readonly negated: boolean };

export interface OrderTerm {
  readonly attribute: AttributeName;
  readonly descending: boolean;
}

export interface QueryAst {
  /** null for an empty query (or one with only GROUP BY / ORDER BY): every run. */
  readonly where: Expression | null;
  readonly groupBy: readonly AttributeName[];
  readonly orderBy: readonly OrderTerm[];
}

/** The query text of a tree; parse(printQuery(q)) equals q up to positions. */
export function printQuery(query: QueryAst): string {
  const parts: string[] = [];
  if (query.where !== null) parts.push(printExpression(query.where));
  if (query.groupBy.length > 0) parts.push(`GROUP BY ${query.groupBy.map(printName).join(', ')}`);
  if (query.orderBy.length > 0) {
    parts.push(`ORDER BY ${query.orderBy.map((term) => `${printName(term.attribute)}${term.descending ? ' DESC' : ''}`).join(', ')}`);
  }
  return parts.join(' ');
}

export function printExpression(expression: Expression): string {
  switch (expression.kind) {
    case 'and':
    case 'or': {
      // AND binds tighter than OR and both associate to the left: a child needs parentheses when it
      // binds looser than its parent, or when it is a right child of the same operator.
      const operator = expression.kind === 'and' ? 'AND' : 'OR';
      const left = printExpression(expression.left);
      const right = printExpression(expression.right);
      const wrapLeft = expression.kind === 'and' && expression.left.kind === 'or';
      const wrapRight = expression.right.kind === 'or' || expression.right.kind === expression.kind;
      return `${wrapLeft ? `(${left})` : left} ${operator} ${wrapRight ? `(${right})` : right}`;
    }
    case 'not': {
      const operand = printExpression(expression.operand);
      const wrap = expression.operand.kind === 'and' || expression.operand.kind === 'or';
      return `NOT ${wrap ? `(${operand})` : operand}`;
    }
    case 'compare':
      return `${printName(expression.attribute)} ${expression.operator} ${printLiteral(expression.value)}`;
    case 'startsWith':
      return `${printName(expression.attribute)} ${expression.negated ? 'NOT ' : ''}STARTS_WITH ${printLiteral(expression.value)}`;
    case 'in':
      return `${printName(expression.attribute)} ${expression.negated ? 'NOT ' : ''}IN (${expression.values.map(printLiteral).join(', ')})`;
    case 'between': {
      const range = `${printLiteral(expression.low)} AND ${printLiteral(expression.high)}`;
      return `${printName(expression.attribute)} ${expression.negated ? 'NOT ' : ''}BETWEEN ${range}`;
    }
    case 'isNull':
      return `${printName(expression.attribute)} IS ${expression.negated ? 'NOT ' : ''}NULL`;
  }
}

/** Backquotes every name, so keywords and unusual characters need no special case. */
export function printName(attribute: AttributeName): string {
  return `\`${attribute.name.replaceAll('`', '``')}\``;
}

export function printLiteral(literal: Literal): string {
  switch (literal.kind) {
    case 'string':
      return `'${literal.value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
    case 'number':
      return literal.text;
    case 'bool':
      return literal.value ? 'true' : 'false';
  }
}
