// A gRPC connection to a Temporal-compatible server. Requests are encoded with the protobufjs classes
// of @temporalio/proto and sent with @grpc/grpc-js; transient failures (UNAVAILABLE and friends) are
// retried with backoff, as the official client does.
import * as grpc from '@grpc/grpc-js';
import type { temporal } from '@temporalio/proto';
import { temporal as proto } from '@kairos/common';
import { msFromDuration, type Duration } from '@kairos/sdk-common';
import { ServiceError } from './errors.js';

export type WorkflowService = temporal.api.workflowservice.v1.WorkflowService;
export type OperatorService = temporal.api.operatorservice.v1.OperatorService;
/** Temporal's time-skipping API: served by test servers only (`kairos server start-dev --time-skipping`). */
export type TestService = temporal.api.testservice.v1.TestService;

export interface TLSConfig {
  serverRootCACertificate?: Buffer;
  clientCertPair?: { crt: Buffer; key: Buffer };
  serverNameOverride?: string;
}

export interface ConnectionOptions {
  /** `host:port`; defaults to `localhost:7233`. */
  address?: string;
  /** `true` for TLS with the system roots, or a config object; off by default. */
  tls?: boolean | TLSConfig;
  /** Sent as `Authorization: Bearer <apiKey>` on every call (Temporal Cloud style API keys). */
  apiKey?: string;
  /** More headers for every call. */
  metadata?: Record<string, string>;
  /** How long `connect` waits for the server; default 10 s. */
  connectTimeout?: Duration;
}

/** Per-call options: a deadline, an AbortSignal, and whether transient errors are retried. */
export interface CallOptions {
  deadlineMs?: number;
  signal?: AbortSignal;
  retry?: boolean;
  metadata?: Record<string, string>;
}

const RETRYABLE = new Set([
  grpc.status.UNAVAILABLE,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.ABORTED,
  grpc.status.UNKNOWN,
  grpc.status.DATA_LOSS,
  grpc.status.OUT_OF_RANGE,
]);
const MAX_ATTEMPTS = 10;
const WORKFLOW_SERVICE = 'temporal.api.workflowservice.v1.WorkflowService';
const OPERATOR_SERVICE = 'temporal.api.operatorservice.v1.OperatorService';
const TEST_SERVICE = 'temporal.api.testservice.v1.TestService';

interface NormalisedOptions {
  readonly address: string;
  readonly credentials: grpc.ChannelCredentials;
  readonly metadata: Readonly<Record<string, string>>;
  readonly connectTimeoutMs: number;
  readonly serverNameOverride: string | undefined;
}

function normalise(options: ConnectionOptions): NormalisedOptions {
  const tls = options.tls === true ? {} : options.tls === false ? undefined : options.tls;
  const credentials =
    tls === undefined
      ? grpc.credentials.createInsecure()
      : grpc.credentials.createSsl(tls.serverRootCACertificate ?? null, tls.clientCertPair?.key ?? null, tls.clientCertPair?.crt ?? null);
  const metadata: Record<string, string> = { 'client-name': 'kairos-typescript', 'client-version': '0.1.0', ...options.metadata };
  if (options.apiKey !== undefined) metadata['authorization'] = `Bearer ${options.apiKey}`;
  return {
    address: options.address ?? 'localhost:7233',
    credentials,
    metadata,
    connectTimeoutMs: msFromDuration(options.connectTimeout ?? '10s'),
    serverNameOverride: tls === undefined ? undefined : tls.serverNameOverride,
  };
}

function isServiceError(error: unknown): error is grpc.ServiceError {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'number';
}

export class Connection {
  private readonly client: grpc.Client;
  /** WorkflowService with default call options (retries on, no deadline). */
  readonly workflowService: WorkflowService;
  readonly operatorService: OperatorService;
  /** Calls fail with UNIMPLEMENTED unless the server skips time (@kairos/testing uses it). */
  readonly testService: TestService;

  private constructor(private readonly options: NormalisedOptions) {
    const channelOptions: grpc.ChannelOptions = {
      'grpc.max_receive_message_length': 128 * 1024 * 1024,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 15_000,
    };
    if (options.serverNameOverride !== undefined) {
      channelOptions['grpc.ssl_target_name_override'] = options.serverNameOverride;
      channelOptions['grpc.default_authority'] = options.serverNameOverride;
    }
    this.client = new grpc.Client(options.address, options.credentials, channelOptions);
    this.workflowService = this.workflowServiceWith({});
    this.operatorService = proto.api.operatorservice.v1.OperatorService.create(this.rpcImpl(OPERATOR_SERVICE, {}));
    // Not retried: a lock or unlock that reached the server must not be applied twice.
    this.testService = proto.api.testservice.v1.TestService.create(this.rpcImpl(TEST_SERVICE, { retry: false }));
  }

  /** Connects and checks that the server answers (GetSystemInfo), failing after `connectTimeout`. */
  static async connect(options: ConnectionOptions = {}): Promise<Connection> {
    const connection = new Connection(normalise(options));
    try {
      await connection.ensureConnected();
    } catch (error) {
      connection.close();
      throw error;
    }
    return connection;
  }

  /** A connection that connects on its first call. */
  static lazy(options: ConnectionOptions = {}): Connection {
    return new Connection(normalise(options));
  }

  async ensureConnected(): Promise<void> {
    const deadlineMs = Date.now() + this.options.connectTimeoutMs;
    await new Promise<void>((resolve, reject) =>
      this.client.waitForReady(deadlineMs, (error) =>
        error ? reject(new ServiceError(`Failed to connect to ${this.options.address}: ${error.message}`, undefined, { cause: error })) : resolve(),
      ),
    );
    try {
      await this.workflowServiceWith({ deadlineMs }).getSystemInfo({});
    } catch (error) {
      // Servers that predate GetSystemInfo answer UNIMPLEMENTED; they are still usable.
      if (!(error instanceof ServiceError && error.code === grpc.status.UNIMPLEMENTED)) throw error;
    }
  }

  /** WorkflowService whose calls use `options` (deadline, abort signal, retries, headers). */
  workflowServiceWith(options: CallOptions): WorkflowService {
    return proto.api.workflowservice.v1.WorkflowService.create(this.rpcImpl(WORKFLOW_SERVICE, options));
  }

  private rpcImpl(serviceName: string, options: CallOptions) {
    return (
      method: { name: string },
      requestData: Uint8Array,
      callback: (error: Error | null, response?: Uint8Array) => void,
    ): void => {
      const path = `/${serviceName}/${method.name}`;
      const metadata = new grpc.Metadata();
      for (const [key, value] of Object.entries({ ...this.options.metadata, ...options.metadata })) metadata.set(key, value);
      const request = Buffer.from(requestData);
      const retry = options.retry ?? true;
      const attempt = (n: number): void => {
        if (options.signal?.aborted) {
          callback(new ServiceError(`${method.name} cancelled`, grpc.status.CANCELLED, { cause: options.signal.reason }));
          return;
        }
        const callOptions: grpc.CallOptions = {};
        if (options.deadlineMs !== undefined) callOptions.deadline = options.deadlineMs;
        const call = this.client.makeUnaryRequest<Buffer, Buffer>(
          path,
          (arg) => arg,
          (arg) => arg,
          request,
          metadata,
          callOptions,
          (error, response) => {
            options.signal?.removeEventListener('abort', onAbort);
            if (error === null) {
              callback(null, response);
              return;
            }
            const code = isServiceError(error) ? error.code : undefined;
            const pastDeadline = options.deadlineMs !== undefined && Date.now() >= options.deadlineMs;
            if (retry && code !== undefined && RETRYABLE.has(code) && n < MAX_ATTEMPTS && !pastDeadline && !options.signal?.aborted) {
              const delay = Math.min(100 * 2 ** n, 5_000) * (0.8 + Math.random() * 0.4);
              setTimeout(() => attempt(n + 1), delay);
              return;
            }
            const details = isServiceError(error) ? error.details : String(error);
            callback(new ServiceError(`${method.name}: ${details}`, code, { cause: error }));
          },
        );
        const onAbort = (): void => call.cancel();
        options.signal?.addEventListener('abort', onAbort, { once: true });
      };
      attempt(0);
    };
  }

  close(): void {
    this.client.close();
  }
}
