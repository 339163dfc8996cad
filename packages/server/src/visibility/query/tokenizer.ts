// The lexer of Temporal's list filter language, a slice of MySQL's expression syntax (Temporal parses it
// with a MySQL parser): identifiers (bare or `backquoted`), 'single' or "double" quoted strings with
// backslash escapes and doubled quotes, numbers, and the operators the grammar uses. Keywords are bare
// identifiers compared without case; the parser decides which ones it expects.

import { InvalidQueryError } from './errors.js';

export type TokenKind = 'identifier' | 'quotedIdentifier' | 'string' | 'number' | 'operator' | 'end';

export interface Token {
  readonly kind: TokenKind;
  /** Identifier name, string contents (unescaped), number text or operator. */
  readonly text: string;
  /** 0-based offset of the token's first character. */
  readonly start: number;
  /** The token as written (for error messages). */
  readonly source: string;
}

const OPERATORS = ['<=', '>=', '!=', '<>', '=', '<', '>', '(', ')', ',', '-'] as const;
const IDENTIFIER_START = /[\p{L}_$]/u;
const IDENTIFIER_PART = /[\p{L}\p{N}_$]/u;
const NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/;

/** MySQL's backslash escapes; any other escaped character stands for itself. */
const ESCAPES: Readonly<Record<string, string>> = { '0': '\0', b: '\b', n: '\n', r: '\r', t: '\t', Z: '\x1a' };

export function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < query.length) {
    const char = query[at] ?? '';
    if (/\s/.test(char)) {
      at++;
      continue;
    }
    const start = at;
    let token: Token;
    if (char === "'" || char === '"') {
      const { value, end } = readQuoted(query, at, char, true);
      token = { kind: 'string', text: value, start, source: query.slice(start, end) };
    } else if (char === '`') {
      const { value, end } = readQuoted(query, at, '`', false);
      if (value === '') throw new InvalidQueryError(`empty identifier at position ${start + 1}`, start + 1);
      token = { kind: 'quotedIdentifier', text: value, start, source: query.slice(start, end) };
    } else if (/[0-9.]/.test(char) && NUMBER.test(query.slice(at))) {
      const text = NUMBER.exec(query.slice(at))?.[0] ?? '';
      token = { kind: 'number', text, start, source: text };
    } else if (IDENTIFIER_START.test(char)) {
      let end = at + 1;
      while (end < query.length && IDENTIFIER_PART.test(query[end] ?? '')) end++;
      const text = query.slice(at, end);
      token = { kind: 'identifier', text, start, source: text };
    } else {
      const operator = OPERATORS.find((op) => query.startsWith(op, at));
      if (operator === undefined) {
        const shown = String.fromCodePoint(query.codePointAt(at) ?? 0);
        throw new InvalidQueryError(`unexpected character '${shown}' at position ${start + 1}`, start + 1);
      }
      token = { kind: 'operator', text: operator === '<>' ? '!=' : operator, start, source: operator };
    }
    tokens.push(token);
    at = start + token.source.length;
  }
  tokens.push({ kind: 'end', text: '', start: query.length, source: '' });
  return tokens;
}

/** Reads a quoted string or identifier starting at `start`; a doubled quote stands for one quote. */
function readQuoted(query: string, start: number, quote: string, backslashEscapes: boolean): { value: string; end: number } {
  let value = '';
  let at = start + 1;
  while (at < query.length) {
    const char = query[at] ?? '';
    if (char === quote) {
      if (query[at + 1] === quote) {
        value += quote;
        at += 2;
        continue;
      }
      return { value, end: at + 1 };
    }
    if (char === '\\' && backslashEscapes && at + 1 < query.length) {
      const next = query[at + 1] ?? '';
      value += ESCAPES[next] ?? next;
      at += 2;
      continue;
    }
    value += char;
    at++;
  }
  const what = quote === '`' ? 'identifier' : 'string';
  throw new InvalidQueryError(`unterminated ${what} starting at position ${start + 1}`, start + 1);
}
