// Recursive-descent parser of the list filter language:
//
//   query      := [or-expr] [GROUP BY name {, name}] [ORDER BY name [ASC|DESC] {, ...}] [LIMIT ...]
//   or-expr    := and-expr {OR and-expr}
//   and-expr   := not-expr {AND not-expr}
//   not-expr   := NOT not-expr | '(' or-expr ')' | predicate
//   predicate  := name ( op value | [NOT] IN '(' value {, value} ')' | [NOT] BETWEEN value AND value
//                      | [NOT] STARTS_WITH value | IS [NOT] NULL )
//   value      := 'string' | "string" | [-]number | TRUE | FALSE
//
// Precedence is MySQL's (Temporal parses queries as the WHERE clause of a MySQL SELECT): comparison
// binds tightest, then NOT, AND, OR; AND and OR associate to the left. LIMIT is refused as Temporal
// refuses it; GROUP BY and ORDER BY are parsed and judged by the caller (compile.ts).

import type { AttributeName, ComparisonOp, Expression, Literal, OrderTerm, QueryAst } from './ast.js';
import { InvalidQueryError, NOT_SUPPORTED } from './errors.js';
import { tokenize, type Token } from './tokenizer.js';

const COMPARISON_OPS: ReadonlySet<string> = new Set(['=', '!=', '<', '<=', '>', '>=']);
/** Words that cannot be a bare attribute name (backquote them to use them as one). */
const RESERVED = new Set(['AND', 'OR', 'NOT', 'IN', 'BETWEEN', 'IS', 'NULL', 'TRUE', 'FALSE', 'STARTS_WITH', 'ORDER', 'GROUP', 'BY', 'LIMIT', 'LIKE']);
const OPERATOR_HINT = 'an operator (=, !=, <, <=, >, >=, IN, NOT IN, BETWEEN, STARTS_WITH, NOT STARTS_WITH, IS)';

export function parseQuery(text: string): QueryAst {
  return new Parser(tokenize(text)).query();
}

class Parser {
  private index = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  query(): QueryAst {
    const where = this.atKeyword('GROUP') || this.atKeyword('ORDER') || this.peek().kind === 'end' ? null : this.orExpression();
    const groupBy: AttributeName[] = [];
    const orderBy: OrderTerm[] = [];
    if (this.acceptKeyword('GROUP')) {
      this.expectKeyword('BY');
      do groupBy.push(this.name()); while (this.acceptOperator(','));
    }
    if (this.acceptKeyword('ORDER')) {
      this.expectKeyword('BY');
      do {
        const attribute = this.name();
        const descending = this.acceptKeyword('DESC');
        if (!descending) this.acceptKeyword('ASC');
        orderBy.push({ attribute, descending });
      } while (this.acceptOperator(','));
    }
    if (this.atKeyword('LIMIT')) throw new InvalidQueryError(`${NOT_SUPPORTED}: 'LIMIT' clause`, this.position(this.peek()));
    if (this.peek().kind !== 'end') throw this.unexpected(where === null ? 'a condition' : 'AND, OR, GROUP BY, ORDER BY or the end of the query');
    return { where, groupBy, orderBy };
  }

  private orExpression(): Expression {
    let left = this.andExpression();
    while (this.acceptKeyword('OR')) left = { kind: 'or', left, right: this.andExpression() };
    return left;
  }

  private andExpression(): Expression {
    let left = this.notExpression();
    while (this.acceptKeyword('AND')) left = { kind: 'and', left, right: this.notExpression() };
    return left;
  }

  private notExpression(): Expression {
    if (this.acceptKeyword('NOT')) return { kind: 'not', operand: this.notExpression() };
    if (this.acceptOperator('(')) {
      const inner = this.orExpression();
      this.expectOperator(')');
      return inner;
    }
    return this.predicate();
  }

  private predicate(): Expression {
    const attribute = this.name();
    const token = this.peek();
    if (token.kind === 'operator' && COMPARISON_OPS.has(token.text)) {
      this.index++;
      return { kind: 'compare', attribute, operator: token.text as ComparisonOp, value: this.literal() };
    }
    if (this.acceptKeyword('IS')) {
      const negated = this.acceptKeyword('NOT');
      this.expectKeyword('NULL');
      return { kind: 'isNull', attribute, negated };
    }
    const negated = this.acceptKeyword('NOT');
    if (this.acceptKeyword('IN')) {
      this.expectOperator('(');
      const values: Literal[] = [];
      do values.push(this.literal()); while (this.acceptOperator(','));
      this.expectOperator(')');
      return { kind: 'in', attribute, negated, values };
    }
    if (this.acceptKeyword('BETWEEN')) {
      const low = this.literal();
      this.expectKeyword('AND');
      return { kind: 'between', attribute, negated, low, high: this.literal() };
    }
    if (this.acceptKeyword('STARTS_WITH')) return { kind: 'startsWith', attribute, negated, value: this.literal() };
    throw this.unexpected(negated ? 'IN, BETWEEN or STARTS_WITH' : OPERATOR_HINT);
  }

  private name(): AttributeName {
    const token = this.peek();
    if (token.kind === 'quotedIdentifier' || (token.kind === 'identifier' && !RESERVED.has(token.text.toUpperCase()))) {
      this.index++;
      return { name: token.text, position: this.position(token) };
    }
    throw this.unexpected('a search attribute name');
  }

  private literal(): Literal {
    const token = this.peek();
    const position = this.position(token);
    if (token.kind === 'string') {
      this.index++;
      return { kind: 'string', value: token.text, position };
    }
    if (token.kind === 'number') {
      this.index++;
      return { kind: 'number', text: token.text, position };
    }
    if (token.kind === 'operator' && token.text === '-' && this.peek(1).kind === 'number') {
      this.index += 2;
      return { kind: 'number', text: `-${this.tokens[this.index - 1]?.text ?? ''}`, position };
    }
    if (token.kind === 'identifier' && ['TRUE', 'FALSE'].includes(token.text.toUpperCase())) {
      this.index++;
      return { kind: 'bool', value: token.text.toUpperCase() === 'TRUE', position };
    }
    if (token.kind === 'identifier' || token.kind === 'quotedIdentifier') {
      // Temporal's hint for the commonest mistake: `ExecutionStatus = Running`.
      throw this.unexpected(`a value; to compare with the text ${token.text}, quote it: '${token.text}'`);
    }
    throw this.unexpected('a value');
  }

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.index + ahead, this.tokens.length - 1)] ?? { kind: 'end', text: '', start: 0, source: '' };
  }

  private position(token: Token): number {
    return token.start + 1;
  }

  private atKeyword(word: string): boolean {
    const token = this.peek();
    return token.kind === 'identifier' && token.text.toUpperCase() === word;
  }

  private acceptKeyword(word: string): boolean {
    if (!this.atKeyword(word)) return false;
    this.index++;
    return true;
  }

  private expectKeyword(word: string): void {
    if (!this.acceptKeyword(word)) throw this.unexpected(word);
  }

  private acceptOperator(operator: string): boolean {
    const token = this.peek();
    if (token.kind !== 'operator' || token.text !== operator) return false;
    this.index++;
    return true;
  }

  private expectOperator(operator: string): void {
    if (!this.acceptOperator(operator)) throw this.unexpected(`'${operator}'`);
  }

  private unexpected(expected: string): InvalidQueryError {
    const token = this.peek();
    const position = this.position(token);
    const what = token.kind === 'end' ? 'end of query' : `token '${token.source}'`;
    return new InvalidQueryError(`unexpected ${what} at position ${position} (expected ${expected})`, position);
  }
}
