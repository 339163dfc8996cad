// Typed errors of the CLI. Each carries the exit code the process ends with, so that scripts can tell
// a usage mistake (2) from a failed operation (1) without parsing messages.

/** Exit codes: 0 success, 1 the operation failed, 2 the command line was wrong. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export class CliError extends Error {
  override readonly name: string = 'CliError';
  readonly exitCode: number;
  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.exitCode = options.exitCode ?? EXIT_FAILURE;
  }
}

/** A flag combination or value commander cannot check by itself (e.g. "--input and --input-file"). */
export class UsageError extends CliError {
  override readonly name = 'UsageError';
  constructor(message: string) {
    super(message, { exitCode: EXIT_USAGE });
  }
}

/**
 * The command ran but its subject ended badly (a workflow failed, an update was rejected): the
 * output has already been printed, only the exit code is left to set.
 */
export class OutcomeError extends CliError {
  override readonly name = 'OutcomeError';
  constructor(message: string) {
    super(message, { exitCode: EXIT_FAILURE });
  }
}

// gRPC status codes the messages below distinguish (from grpc's status.proto).
const GRPC = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  UNAVAILABLE: 14,
} as const;

interface GrpcLikeError {
  code: number;
  details?: string;
  message: string;
}

function isGrpcError(error: unknown): error is GrpcLikeError {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'number';
}

/** What a failed call was about, so that its error message can name it. */
export interface RpcSubject {
  /** e.g. `workflow "order-42" (run 1b2c...)` */
  readonly what: string;
  readonly address: string;
  readonly namespace: string;
}

export function cannotConnect(address: string, cause?: unknown): CliError {
  return new CliError(
    `cannot connect to a server at ${address}: is the server running? Start one with \`kairos server start-dev\`, ` +
      'or point --address (or TEMPORAL_ADDRESS) at a running one.',
    { cause },
  );
}

/** Turns a gRPC error into a message that says what went wrong and what to do about it. */
export function explainRpcError(error: unknown, subject: RpcSubject, method: string): CliError {
  if (error instanceof CliError) return error;
  if (!isGrpcError(error)) return new CliError(error instanceof Error ? error.message : String(error), { cause: error });
  const details = error.details || error.message;
  switch (error.code) {
    case GRPC.NOT_FOUND:
      return new CliError(`${subject.what} not found in namespace "${subject.namespace}" (${details}). Check the id, or list workflows with \`kairos workflow list\`.`, { cause: error });
    case GRPC.ALREADY_EXISTS:
      return new CliError(`${subject.what} already exists (${details}).`, { cause: error });
    case GRPC.INVALID_ARGUMENT:
      return new CliError(`the server rejected the request: ${details}`, { cause: error });
    case GRPC.FAILED_PRECONDITION:
      return new CliError(`${subject.what}: ${details}`, { cause: error });
    case GRPC.DEADLINE_EXCEEDED:
      return new CliError(`${method} timed out: ${details}`, { cause: error });
    case GRPC.RESOURCE_EXHAUSTED:
      return new CliError(`the server is rate limiting this namespace: ${details}. Try again shortly.`, { cause: error });
    case GRPC.PERMISSION_DENIED:
      return new CliError(`permission denied: ${details}`, { cause: error });
    case GRPC.UNIMPLEMENTED:
      return new CliError(`the server at ${subject.address} does not implement ${method} yet.`, { cause: error });
    case GRPC.UNAVAILABLE:
      return cannotConnect(subject.address, error);
    default:
      return new CliError(`${method} failed: ${details}`, { cause: error });
  }
}

export function grpcCode(error: unknown): number | undefined {
  return isGrpcError(error) ? error.code : undefined;
}

export const GRPC_STATUS = GRPC;
