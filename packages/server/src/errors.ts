// Errors a handler raises to answer an RPC. The frontend maps each to its gRPC status code and, when
// `details` is set, a google.rpc.Status in the `grpc-status-details-bin` trailer whose Any carries a
// temporal.api.errordetails.v1 failure (the official clients decode these into typed errors).

/** gRPC status codes (grpc/status.proto). */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;
export type GrpcCodeValue = (typeof GrpcCode)[keyof typeof GrpcCode];

/** A detail message: the fully-qualified proto type name and its encoded bytes. */
export interface ErrorDetail {
  readonly typeName: string;
  readonly value: Uint8Array;
}

export class ServiceError extends Error {
  override name = 'ServiceError';
  constructor(
    readonly code: GrpcCodeValue,
    message: string,
    readonly details?: ErrorDetail,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class InvalidArgumentError extends ServiceError {
  override name = 'InvalidArgumentError';
  constructor(message: string, details?: ErrorDetail) {
    super(GrpcCode.INVALID_ARGUMENT, message, details);
  }
}

export class NotFoundError extends ServiceError {
  override name = 'NotFoundError';
  constructor(message: string, details?: ErrorDetail) {
    super(GrpcCode.NOT_FOUND, message, details);
  }
}

export class AlreadyExistsError extends ServiceError {
  override name = 'AlreadyExistsError';
  constructor(message: string, details?: ErrorDetail) {
    super(GrpcCode.ALREADY_EXISTS, message, details);
  }
}

export class FailedPreconditionError extends ServiceError {
  override name = 'FailedPreconditionError';
  constructor(message: string, details?: ErrorDetail) {
    super(GrpcCode.FAILED_PRECONDITION, message, details);
  }
}

export class ResourceExhaustedError extends ServiceError {
  override name = 'ResourceExhaustedError';
  constructor(message: string, details?: ErrorDetail) {
    super(GrpcCode.RESOURCE_EXHAUSTED, message, details);
  }
}

export class DeadlineExceededError extends ServiceError {
  override name = 'DeadlineExceededError';
  constructor(message: string) {
    super(GrpcCode.DEADLINE_EXCEEDED, message);
  }
}

export class UnavailableError extends ServiceError {
  override name = 'UnavailableError';
  constructor(message: string) {
    super(GrpcCode.UNAVAILABLE, message);
  }
}

export class InternalError extends ServiceError {
  override name = 'InternalError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(GrpcCode.INTERNAL, message, undefined, options);
  }
}

/**
 * Cluster mode: this node does not hold the lease of the shard a request needs (it moved, or is moving,
 * to another node). UNAVAILABLE, which clients retry; by then the request is forwarded to the new owner.
 */
export class ShardUnavailableError extends ServiceError {
  override name = 'ShardUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(GrpcCode.UNAVAILABLE, message, undefined, options);
  }
}
