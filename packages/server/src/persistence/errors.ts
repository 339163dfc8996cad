/** Base class of persistence errors. */
export class PersistenceError extends Error {
  override name = 'PersistenceError';
}

/** A conditional write lost: the row's version or current run was not what the writer read. */
export class ConditionFailedError extends PersistenceError {
  override name = 'ConditionFailedError';
  constructor(
    message: string,
    readonly expected?: string | number | null,
    readonly found?: string | number | null,
  ) {
    super(message);
  }
}

/** The database file is held by another running server. */
export class DatabaseLockedError extends PersistenceError {
  override name = 'DatabaseLockedError';
}

/** The database does not provide the durability Kairos requires (e.g. synchronous below FULL). */
export class DurabilityError extends PersistenceError {
  override name = 'DurabilityError';
}
