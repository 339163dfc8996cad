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

/**
 * A fenced write found its shard leased under another range id: the writer no longer owns the shard
 * (another node took it over) and nothing was written.
 */
export class ShardOwnershipLostError extends PersistenceError {
  override name = 'ShardOwnershipLostError';
  constructor(
    readonly shardId: number,
    readonly rangeId: number,
    readonly foundRangeId: number | null,
  ) {
    super(`shard ${shardId} is no longer held under range ${rangeId} (found ${foundRangeId ?? 'no lease'}): another node owns it now`);
  }
}
