// TestWorkflowEnvironment: an in-process Kairos server on a free port and a throwaway SQLite database,
// with a connection and client to it, shaped like the official SDK's. `createTimeSkipping` serves
// Temporal's TestService: time jumps ahead whenever the client waits for a result (or `sleep` is
// called) and no workflow task or activity is in progress, so a workflow that sleeps for a month
// completes at once. `createLocal` runs on the wall clock. `createFromExistingServer` starts nothing:
// it connects to a server that already runs (no time skipping) and its teardown only disconnects.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, type ClientOptions, type ConnectionOptions } from '@kairos/client';
import { timestampToMs } from '@kairos/common';
import { msFromDuration, msToProtoDuration, type Duration } from '@kairos/sdk-common';
import { startServer, type LogLevel, type RunningServer, type SearchAttributeTypeName } from '@kairos/server';
import { TimeSkippingClient } from './client.js';

export interface TestServerOptions {
  /** Created at start; also the client's namespace. Default `default`. */
  readonly namespace?: string;
  /** Default 127.0.0.1. */
  readonly ip?: string;
  /** Default: a free port. */
  readonly port?: number;
  /** The SQLite file; default a file in a temporary directory, deleted by `teardown`. */
  readonly dbFilename?: string;
  /** Custom search attributes registered at start. */
  readonly searchAttributes?: Readonly<Record<string, SearchAttributeTypeName>>;
  /** Server log level (JSON lines on stderr); default `warn`. */
  readonly logLevel?: LogLevel;
}

export interface TestWorkflowEnvironmentOptions {
  readonly server?: TestServerOptions;
  /** Options of `env.client` other than its connection and namespace. */
  readonly client?: Omit<ClientOptions, 'connection' | 'namespace'>;
}

/** Options of `createFromExistingServer`. */
export interface ExistingServerTestWorkflowEnvironmentOptions {
  /** `host:port` of the running server; default localhost:7233. */
  readonly address?: string;
  /** Default `default`; it must exist on the server. */
  readonly namespace?: string;
  readonly connectionOptions?: Pick<ConnectionOptions, 'apiKey' | 'metadata' | 'tls'>;
  /** Options of `env.client` other than its connection and namespace. */
  readonly client?: Omit<ClientOptions, 'connection' | 'namespace'>;
}

export class TestWorkflowEnvironment {
  /** A Client for the environment's server; with time skipping, waiting for a result lets time skip. */
  readonly client: Client;

  private constructor(
    /** The server this environment started; undefined for `createFromExistingServer`. */
    private readonly server: RunningServer | undefined,
    private readonly serverAddress: string,
    private readonly temporaryDirectory: string | undefined,
    /** The connection to the environment's server: give it to `Worker.create({ connection })`. */
    readonly connection: Connection,
    readonly namespace: string,
    readonly supportsTimeSkipping: boolean,
    clientOptions: Omit<ClientOptions, 'connection' | 'namespace'>,
  ) {
    const options = { ...clientOptions, connection, namespace };
    this.client = supportsTimeSkipping ? new TimeSkippingClient(options) : new Client(options);
  }

  /** A server whose time skips ahead to the next timer whenever nothing is in progress (see the file comment). */
  static async createTimeSkipping(options: TestWorkflowEnvironmentOptions = {}): Promise<TestWorkflowEnvironment> {
    return await TestWorkflowEnvironment.create(options, true);
  }

  /** A server on the wall clock: `sleep` really waits. */
  static async createLocal(options: TestWorkflowEnvironmentOptions = {}): Promise<TestWorkflowEnvironment> {
    return await TestWorkflowEnvironment.create(options, false);
  }

  /**
   * Connects to a server that already runs (another process, `kairos server start`, a Temporal
   * server). No time skipping; `teardown` closes the connection and leaves the server running.
   */
  static async createFromExistingServer(options: ExistingServerTestWorkflowEnvironmentOptions = {}): Promise<TestWorkflowEnvironment> {
    const address = options.address ?? 'localhost:7233';
    const connection = await Connection.connect({ ...options.connectionOptions, address });
    return new TestWorkflowEnvironment(undefined, address, undefined, connection, options.namespace ?? 'default', false, options.client ?? {});
  }

  private static async create(options: TestWorkflowEnvironmentOptions, timeSkipping: boolean): Promise<TestWorkflowEnvironment> {
    const server = options.server ?? {};
    const namespace = server.namespace ?? 'default';
    const temporaryDirectory = server.dbFilename === undefined ? mkdtempSync(path.join(os.tmpdir(), 'kairos-test-env-')) : undefined;
    const removeTemporaryDirectory = (): void => {
      if (temporaryDirectory !== undefined) rmSync(temporaryDirectory, { recursive: true, force: true });
    };
    let running: RunningServer;
    try {
      running = await startServer({
        ip: server.ip ?? '127.0.0.1',
        port: server.port ?? 0,
        dbFilename: server.dbFilename ?? path.join(temporaryDirectory!, 'kairos.db'),
        namespaces: [namespace],
        logLevel: server.logLevel ?? 'warn',
        logFormat: 'json',
        dynamicConfig: new Map(),
        searchAttributes: new Map(Object.entries(server.searchAttributes ?? {})),
        headless: true,
        uiPort: undefined,
        httpPort: undefined,
        metricsPort: undefined,
        timeSkipping,
      });
    } catch (error) {
      removeTemporaryDirectory();
      throw error;
    }
    try {
      const connection = await Connection.connect({ address: running.grpcAddress });
      return new TestWorkflowEnvironment(running, running.grpcAddress, temporaryDirectory, connection, namespace, timeSkipping, options.client ?? {});
    } catch (error) {
      await running.close();
      removeTemporaryDirectory();
      throw error;
    }
  }

  /** `host:port` of the environment's server. */
  get address(): string {
    return this.serverAddress;
  }

  /** The same connection as `connection` (the official SDK's workers take a separate native one). */
  get nativeConnection(): Connection {
    return this.connection;
  }

  /**
   * Waits `duration` of the server's time. With time skipping this lets time skip (and locks it again
   * when done), so it usually returns at once; call it from an activity to make that activity take
   * long in the workflow's eyes. Otherwise it is a plain wait.
   */
  async sleep(duration: Duration): Promise<void> {
    const ms = msFromDuration(duration);
    if (this.supportsTimeSkipping) {
      // Record<string, unknown>: protobufjs accepts a number where its types say Long.
      const request: Record<string, unknown> = { duration: msToProtoDuration(ms) };
      await this.connection.testService.unlockTimeSkippingWithSleep(request);
    } else {
      await new Promise<void>((resolve) => setTimeout(resolve, ms));
    }
  }

  /** The server's current time in epoch ms (virtual time with time skipping). */
  async currentTimeMs(): Promise<number> {
    if (!this.supportsTimeSkipping) return Date.now();
    const { time } = await this.connection.testService.getCurrentTime({});
    return timestampToMs(time) ?? Date.now();
  }

  /** Closes the connection; stops the server and deletes its temporary database if this environment started them. */
  async teardown(): Promise<void> {
    this.connection.close();
    await this.server?.close();
    if (this.temporaryDirectory !== undefined) rmSync(this.temporaryDirectory, { recursive: true, force: true });
  }
}
