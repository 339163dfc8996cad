import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { printQuery, type AttributeName, type Expression, type Literal, type QueryAst } from './ast.js';
import { compileQuery } from './compile.js';
import { InvalidQueryError } from './errors.js';
import { parseQuery } from './parser.js';

const names: fc.Arbitrary<AttributeName> = fc
  .oneof(fc.constantFrom('WorkflowId', 'ExecutionStatus', 'StartTime', 'Color', 'AND', 'not'), fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }))
  .map((name) => ({ name, position: 0 }));

/** Number texts as the tokenizer reads them (JS's own formatting included: 1e+21, 5e-7). */
const numberText = fc.oneof(
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => String(d)),
  fc.constantFrom('.5', '1.', '2E3', '007'),
);

const literals: fc.Arbitrary<Literal> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 10 }).map((value) => ({ kind: 'string' as const, value, position: 0 })),
  numberText.map((text) => ({ kind: 'number' as const, text, position: 0 })),
  fc.boolean().map((value) => ({ kind: 'bool' as const, value, position: 0 })),
);

const expressions: fc.Arbitrary<Expression> = fc.letrec<{ expression: Expression }>((tie) => ({
  expression: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ kind: fc.constant('compare' as const), attribute: names, operator: fc.constantFrom('=', '!=', '<', '<=', '>', '>=' as const), value: literals }),
    fc.record({ kind: fc.constant('startsWith' as const), attribute: names, negated: fc.boolean(), value: literals }),
    fc.record({ kind: fc.constant('in' as const), attribute: names, negated: fc.boolean(), values: fc.array(literals, { minLength: 1, maxLength: 3 }) }),
    fc.record({ kind: fc.constant('between' as const), attribute: names, negated: fc.boolean(), low: literals, high: literals }),
    fc.record({ kind: fc.constant('isNull' as const), attribute: names, negated: fc.boolean() }),
    fc.record({ kind: fc.constantFrom('and' as const, 'or' as const), left: tie('expression'), right: tie('expression') }),
    fc.record({ kind: fc.constant('not' as const), operand: tie('expression') }),
  ),
})).expression;

const queries: fc.Arbitrary<QueryAst> = fc.record({
  where: fc.option(expressions, { nil: null }),
  groupBy: fc.array(names, { maxLength: 2 }),
  orderBy: fc.array(fc.record({ attribute: names, descending: fc.boolean() }), { maxLength: 2 }),
});

/** Drops positions (the printer does not keep the original layout). */
function withoutPositions(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (key, field: unknown) => (key === 'position' ? undefined : field)));
}

/** Runs `fn`; anything thrown must be an InvalidQueryError. */
function onlyInvalidQuery(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof InvalidQueryError)) throw error;
    expect(error.code).toBe(3);
    expect(error.message).toMatch(/^invalid query: /);
  }
}

const CUSTOM = new Map([['Color', 'Keyword'], ['Tags', 'KeywordList'], ['Amount', 'Double'], ['Notes', 'Text']] as const);

describe('parser properties', () => {
  it('parses every printed tree back to the same tree', () => {
    fc.assert(
      fc.property(queries, (query) => {
        const text = printQuery(query);
        expect(withoutPositions(parseQuery(text))).toEqual(withoutPositions(query));
      }),
      { numRuns: 2_000 },
    );
  });

  it('never crashes on arbitrary text: it parses, or it is INVALID_ARGUMENT', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (text) => {
        onlyInvalidQuery(() => parseQuery(text));
        onlyInvalidQuery(() => compileQuery(text, CUSTOM, 'count'));
      }),
      { numRuns: 3_000 },
    );
  });

  it('never crashes on token soup', () => {
    const token = fc.constantFrom(
      ...['AND', 'OR', 'NOT', '(', ')', '=', '!=', '<', 'IN', 'BETWEEN', 'STARTS_WITH', 'IS', 'NULL', ',', '-', 'GROUP', 'BY', 'ORDER', 'LIMIT'],
      ...["'x'", '"y"', '1', '2.5', 'true', 'Color', 'Tags', 'Amount', 'Notes', 'ExecutionStatus', 'StartTime', '`a b`', "'Running'", "'2024-01-01T00:00:00Z'"],
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 14 }), (tokens) => {
        const text = tokens.join(' ');
        onlyInvalidQuery(() => parseQuery(text));
        onlyInvalidQuery(() => compileQuery(text, CUSTOM, 'list'));
        onlyInvalidQuery(() => compileQuery(text, CUSTOM, 'count'));
      }),
      { numRuns: 5_000 },
    );
  });

  it('reports a position inside the query (or just past its end)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        try {
          parseQuery(text);
        } catch (error) {
          if (!(error instanceof InvalidQueryError) || error.position === undefined) return;
          expect(error.position).toBeGreaterThanOrEqual(1);
          expect(error.position).toBeLessThanOrEqual(text.length + 1);
        }
      }),
      { numRuns: 2_000 },
    );
  });
});
