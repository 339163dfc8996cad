import { describe, expect, it } from 'vitest';
import { printQuery, type Expression, type QueryAst } from './ast.js';
import { InvalidQueryError } from './errors.js';
import { parseQuery } from './parser.js';

/** The tree without positions, as a compact string: easy to read in assertions. */
function shape(expression: Expression | null): string {
  if (expression === null) return '';
  switch (expression.kind) {
    case 'and':
    case 'or':
      return `${expression.kind}(${shape(expression.left)}, ${shape(expression.right)})`;
    case 'not':
      return `not(${shape(expression.operand)})`;
    case 'compare':
      return `${expression.attribute.name} ${expression.operator} ${literal(expression.value)}`;
    case 'startsWith':
      return `${expression.attribute.name} ${expression.negated ? '!' : ''}^= ${literal(expression.value)}`;
    case 'in':
      return `${expression.attribute.name} ${expression.negated ? '!' : ''}in [${expression.values.map(literal).join(' ')}]`;
    case 'between':
      return `${expression.attribute.name} ${expression.negated ? '!' : ''}between ${literal(expression.low)}..${literal(expression.high)}`;
    case 'isNull':
      return `${expression.attribute.name} is ${expression.negated ? 'not ' : ''}null`;
  }
}

function literal(value: Extract<Expression, { kind: 'compare' }>['value']): string {
  return value.kind === 'string' ? JSON.stringify(value.value) : value.kind === 'number' ? value.text : String(value.value);
}

const where = (query: string): string => shape(parseQuery(query).where);

function parseError(query: string): InvalidQueryError {
  try {
    parseQuery(query);
  } catch (error) {
    if (error instanceof InvalidQueryError) return error;
    throw error;
  }
  throw new Error(`expected ${query} to be rejected`);
}

describe('parseQuery', () => {
  it('reads comparisons with every operator and literal kind', () => {
    expect(where("WorkflowType = 'Order'")).toBe('WorkflowType = "Order"');
    expect(where('HistoryLength >= 10')).toBe('HistoryLength >= 10');
    expect(where('Amount < -2.5e3')).toBe('Amount < -2.5e3');
    expect(where('Amount <> .5')).toBe('Amount != .5');
    expect(where('Vip != TRUE')).toBe('Vip != true');
    expect(where('Vip = false')).toBe('Vip = false');
    expect(where('`Order Id` <= "x"')).toBe('Order Id <= "x"');
  });

  it('reads IN, BETWEEN, STARTS_WITH and IS with their negations, keywords in any case', () => {
    expect(where("ExecutionStatus in ('Running', 'Failed')")).toBe('ExecutionStatus in ["Running" "Failed"]');
    expect(where('HistoryLength NOT IN (1,2)')).toBe('HistoryLength !in [1 2]');
    expect(where('StartTime between 1 and 2')).toBe('StartTime between 1..2');
    expect(where('StartTime Not Between 1 AND 2')).toBe('StartTime !between 1..2');
    expect(where("WorkflowId starts_with 'ord-'")).toBe('WorkflowId ^= "ord-"');
    expect(where("WorkflowId NOT STARTS_WITH 'ord-'")).toBe('WorkflowId !^= "ord-"');
    expect(where('CloseTime is null')).toBe('CloseTime is null');
    expect(where('CloseTime IS NOT NULL')).toBe('CloseTime is not null');
  });

  it('binds comparison over NOT over AND over OR, left to right', () => {
    expect(where('a = 1 OR b = 2 AND c = 3')).toBe('or(a = 1, and(b = 2, c = 3))');
    expect(where('a = 1 AND b = 2 AND c = 3')).toBe('and(and(a = 1, b = 2), c = 3)');
    expect(where('NOT a = 1 AND b = 2')).toBe('and(not(a = 1), b = 2)');
    expect(where('NOT (a = 1 OR b = 2)')).toBe('not(or(a = 1, b = 2))');
    expect(where('(a = 1 OR b = 2) AND ((c = 3))')).toBe('and(or(a = 1, b = 2), c = 3)');
    expect(where('StartTime BETWEEN 1 AND 2 AND a = 1')).toBe('and(StartTime between 1..2, a = 1)');
  });

  it('reads string escapes and quoted identifiers as MySQL does', () => {
    expect(where("a = 'it''s'")).toBe(`a = ${JSON.stringify("it's")}`);
    expect(where("a = 'it\\'s \\\\ \\n'")).toBe(`a = ${JSON.stringify("it's \\ \n")}`);
    expect(where('a = "say ""hi"""')).toBe(`a = ${JSON.stringify('say "hi"')}`);
    expect(where('`we``ird` = 1')).toBe('we`ird = 1');
    expect(where('`AND` = 1')).toBe('AND = 1');
  });

  it('reads GROUP BY and ORDER BY clauses, and a query of only those', () => {
    const grouped: QueryAst = parseQuery("WorkflowType = 'x' GROUP BY ExecutionStatus");
    expect(grouped.groupBy.map((g) => g.name)).toEqual(['ExecutionStatus']);
    expect(parseQuery('order by StartTime desc, RunId asc').orderBy.map((o) => [o.attribute.name, o.descending])).toEqual([
      ['StartTime', true],
      ['RunId', false],
    ]);
    expect(parseQuery('GROUP BY ExecutionStatus').where).toBeNull();
    expect(parseQuery('   ')).toEqual({ where: null, groupBy: [], orderBy: [] });
  });

  it('prints a tree that parses back to itself', () => {
    for (const query of [
      "a = 1 OR b = 'x' AND NOT (c IS NULL OR d IN (1, -2))",
      'a = 1 AND (b = 2 AND c = 3)',
      'NOT NOT a BETWEEN 1 AND 2',
      "x NOT STARTS_WITH 'it\\'s' GROUP BY ExecutionStatus ORDER BY StartTime DESC",
    ]) {
      const tree = parseQuery(query);
      expect(where(printQuery(tree))).toBe(shape(tree.where));
    }
  });

  it.each([
    ['WorkflowId = ', "unexpected end of query at position 14 (expected a value)"],
    ["WorkflowId = 'a' AND", 'unexpected end of query at position 21 (expected a search attribute name)'],
    ["WorkflowId == 'a'", "unexpected token '=' at position 13 (expected a value)"],
    ["WorkflowId 'a'", "unexpected token ''a'' at position 12 (expected an operator"],
    ["'a' = WorkflowId", "unexpected token ''a'' at position 1 (expected a search attribute name)"],
    ['ExecutionStatus = Running', "unexpected token 'Running' at position 19 (expected a value; to compare with the text Running, quote it: 'Running')"],
    ["(a = 'x'", "unexpected end of query at position 9 (expected ')')"],
    ["a = 'x')", "unexpected token ')' at position 8"],
    ["a LIKE 'x%'", "unexpected token 'LIKE' at position 3"],
    ['a IN ()', "unexpected token ')' at position 7 (expected a value)"],
    ["a NOT = 'x'", "unexpected token '=' at position 7 (expected IN, BETWEEN or STARTS_WITH)"],
    ['a IS 1', "unexpected token '1' at position 6 (expected NULL)"],
    ["a = 'x' LIMIT 10", "operation is not supported: 'LIMIT' clause"],
    ["a = 'open", 'unterminated string starting at position 5'],
    ['`a = 1', 'unterminated identifier starting at position 1'],
    ['a = 1 ; DROP TABLE executions', "unexpected character ';' at position 7"],
    ["WHERE a = 'x'", "unexpected token 'a' at position 7 (expected an operator"],
  ])('rejects %j with INVALID_ARGUMENT naming the position', (query, message) => {
    const error = parseError(query);
    expect(error.code).toBe(3);
    expect(error.message).toContain(`invalid query: ${message}`);
  });
});
