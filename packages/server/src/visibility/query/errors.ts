import { InvalidArgumentError } from '../../errors.js';

/** A list/count query that cannot be run: INVALID_ARGUMENT "invalid query: ..." (Temporal's prefix). */
export class InvalidQueryError extends InvalidArgumentError {
  override name = 'InvalidQueryError';
  constructor(
    readonly reason: string,
    /** 1-based character position in the query the reason is about, when there is one. */
    readonly position?: number,
  ) {
    super(`invalid query: ${reason}`);
  }
}

/** Temporal's message classes (common/persistence/visibility/store/query/errors.go). */
export const NOT_SUPPORTED = 'operation is not supported';
export const INVALID_EXPRESSION = 'invalid expression';
