// Assembles one Kairos server process: the SQLite store, namespace registry, history engine, matching,
// timer queue and the gRPC frontend; recovers pending work from the database before listening.
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { describeStoreLocation, openStore } from './persistence/open-store.js';
import type { Store } from './persistence/store.js';
import { DEFAULT_RETENTION_MS, NamespaceRegistry } from './namespace/registry.js';
import { ExecutionEngine } from './history/engine.js';
import { Matching } from './matching/matching.js';
import { QueryRegistry } from './history/queries.js';
import { TimerQueue } from './timers/timer-queue.js';
import { handleTimer } from './history/ops/timers.js';
import { decodeMutableState } from './history/mutable-state.js';
import { activityPriorityKey } from './history/machines/activity.js';
import type { HistoryContext } from './history/service-context.js';
import { createGrpcServer } from './frontend/grpc-server.js';
import { executionHandlers } from './frontend/workflow-handlers.js';
import { updateHandlers } from './frontend/update-handlers.js';
import { taskHandlers } from './frontend/task-handlers.js';
import { namespaceHandlers } from './frontend/namespace-handlers.js';
import { systemHandlers } from './frontend/system-handlers.js';
import { visibilityHandlers } from './frontend/visibility-handlers.js';
import { operatorHandlers } from './frontend/operator-handlers.js';
import { SearchAttributeRegistry } from './visibility/search-attribute-registry.js';
import type { SearchAttributeTypeName } from './visibility/search-attributes.js';
import { createLogger, type LogFormat, type LogLevel, type Logger } from './logger.js';
import { systemClock, type Clock } from './clock.js';
import { DEFAULT_NAMESPACE_RPS, NamespaceRateLimiter, rateLimited } from './frontend/rate-limit.js';
import { startHttpFrontend, type HttpFrontend } from './http/http-server.js';
import { defaultUiDirectory } from './http/static-files.js';

export interface StartServerOptions {
  ip: string;
  port: number;
  dbFilename: string;
  /** A PostgreSQL URL: when set, the store is PostgreSQL and `dbFilename` is ignored. */
  databaseUrl?: string;
  /** TLS for the gRPC frontend (PEM); `clientCa` turns on mutual TLS (clients must present a certificate it signed). */
  tls?: { certChain: Buffer; privateKey: Buffer; clientCa?: Buffer };
  namespaces: string[];
  logLevel: LogLevel;
  logFormat: LogFormat;
  dynamicConfig: ReadonlyMap<string, unknown>;
  /** Custom search attributes registered at start in every namespace of `namespaces`. */
  searchAttributes: ReadonlyMap<string, SearchAttributeTypeName>;
  headless: boolean;
  uiPort: number | undefined;
  httpPort: number | undefined;
  metricsPort: number | undefined;
  /** Injected clock (tests); the system clock by default. */
  clock?: Clock;
  logger?: Logger;
}

export interface RunningServer {
  readonly grpcAddress: string;
  /** `host:port` of the Web UI and HTTP API; undefined when headless. */
  readonly uiAddress?: string | undefined;
  readonly dbPath: string;
  readonly unknownDynamicConfigKeys: readonly string[];
  close(): Promise<void>;
}

/** Dynamic config keys the server understands (others are accepted and warned about). */
const KNOWN_DYNAMIC_CONFIG = new Set([
  'frontend.namespaceRPS',
  'frontend.enableServerVersionCheck',
  'frontend.enableUpdateWorkflowExecution',
  'frontend.enableUpdateWorkflowExecutionAsyncAccepted',
]);

function numberConfig(config: ReadonlyMap<string, unknown>, key: string, fallback: number): number {
  const value = Number(config.get(key) ?? fallback);
  return Number.isFinite(value) ? value : fallback;
}

export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const logger = options.logger ?? createLogger({ level: options.logLevel, format: options.logFormat });
  const clock = options.clock ?? systemClock;
  const storeOptions = { dbFilename: options.dbFilename, databaseUrl: options.databaseUrl };
  const store: Store = await openStore(storeOptions);
  try {
    const namespaces = await NamespaceRegistry.load(store, options.namespaces);
    const searchAttributes = await SearchAttributeRegistry.load(store, namespaces.list().map((n) => n.id));
    if (options.searchAttributes.size > 0) {
      for (const name of options.namespaces) await searchAttributes.add(namespaces.get(name).id, options.searchAttributes);
    }
    const engine = new ExecutionEngine(store, clock, logger.child({ component: 'history' }));
    const matching = new Matching(clock);
    const ctx: HistoryContext = { engine, matching, queries: new QueryRegistry(), namespaces, searchAttributes, logger };
    engine.stickyQueueAvailable = (namespaceId, taskQueue) => matching.stickyQueueAvailable(namespaceId, taskQueue);
    engine.retentionMsFor = (namespaceId) => namespaces.findById(namespaceId)?.retentionMs ?? DEFAULT_RETENTION_MS;
    engine.dispatchSink = {
      dispatch(key, d) {
        const ref = { key, scheduledEventId: d.scheduledEventId, attempt: d.attempt, priorityKey: d.priorityKey };
        if (d.kind === 'workflowTask') matching.addWorkflowTask(d.taskQueue, ref);
        else matching.addActivityTask(d.taskQueue, ref);
      },
    };
    const timers = new TimerQueue(store, clock, logger.child({ component: 'timers' }), (row) => handleTimer(ctx, row));
    engine.timerSink = timers;
    await recoverDispatches(store, matching);
    await timers.start();

    // One set of handlers behind both front doors: the HTTP API calls exactly what gRPC calls.
    const services = {
      workflowService: rateLimited({
        ...systemHandlers(randomUUID()),
        ...namespaceHandlers(namespaces),
        ...executionHandlers(ctx, searchAttributes),
        ...updateHandlers(ctx),
        ...taskHandlers(ctx),
        ...visibilityHandlers({ namespaces, searchAttributes, store }),
      }, new NamespaceRateLimiter(numberConfig(options.dynamicConfig, 'frontend.namespaceRPS', DEFAULT_NAMESPACE_RPS), clock)),
      operatorService: operatorHandlers(namespaces, searchAttributes),
    };
    const server = createGrpcServer(services, logger);
    const host = options.ip.includes(':') ? `[${options.ip}]` : options.ip;
    const port = await new Promise<number>((resolve, reject) => {
      const credentials = options.tls
        ? grpc.ServerCredentials.createSsl(options.tls.clientCa ?? null, [{ cert_chain: options.tls.certChain, private_key: options.tls.privateKey }], options.tls.clientCa !== undefined)
        : grpc.ServerCredentials.createInsecure();
      server.bindAsync(`${host}:${options.port}`, credentials, (err, bound) => {
        if (!err) return resolve(bound);
        const inUse = /EADDRINUSE/.test(err.message);
        reject(new Error(inUse ? `port ${options.port} on ${options.ip} is already in use (is another server running?)` : `cannot listen on ${host}:${options.port}: ${err.message}`));
      });
    });
    // HTTP after gRPC binds: the Web UI (with the API it calls) on the UI port, the API alone on --http-port.
    const httpFrontends: HttpFrontend[] = [];
    try {
      const http = { ...services, logger, uiDirectory: defaultUiDirectory() };
      if (!options.headless && options.uiPort !== undefined) httpFrontends.push(await startHttpFrontend({ ...http, serveUi: true }, options.ip, options.uiPort));
      if (options.httpPort !== undefined) httpFrontends.push(await startHttpFrontend({ ...http, serveUi: false }, options.ip, options.httpPort));
    } catch (err) {
      await Promise.all(httpFrontends.map((f) => f.close()));
      server.forceShutdown();
      throw err;
    }
    const unknownDynamicConfigKeys = [...options.dynamicConfig.keys()].filter((k) => !KNOWN_DYNAMIC_CONFIG.has(k));
    let closed = false;
    return {
      grpcAddress: `${options.ip}:${port}`,
      uiAddress: !options.headless && options.uiPort !== undefined ? httpFrontends[0]?.address : undefined,
      dbPath: describeStoreLocation(storeOptions),
      unknownDynamicConfigKeys,
      async close() {
        if (closed) return;
        closed = true;
        timers.stop();
        await Promise.all(httpFrontends.map((f) => f.close()));
        await new Promise<void>((resolve) => {
          server.tryShutdown(() => resolve());
          // Long polls are woken by the frontend on shutdown; do not wait for stragglers forever.
          setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, 2000).unref();
        });
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** Re-queues every workflow/activity task that was scheduled but not started when the server stopped. */
async function recoverDispatches(store: Store, matching: Matching): Promise<void> {
  for (const row of await store.listExecutionsNeedingDispatch()) {
    const state = decodeMutableState(row.state);
    const key = row.key;
    const wft = state.workflowTask;
    // A sticky worker does not outlive the server's restart in matching's eyes: use the normal queue.
    if (wft && wft.startedEventId === 0) matching.addWorkflowTask(wft.sticky ? state.taskQueue : wft.taskQueue, { key, scheduledEventId: wft.scheduledEventId, attempt: wft.attempt, priorityKey: state.priorityKey ?? 0 });
    for (const a of Object.values(state.activities)) {
      if (a.phase === 'scheduled' && !a.awaitingRetry) matching.addActivityTask(a.taskQueue, { key, scheduledEventId: a.scheduledEventId, attempt: a.attempt, priorityKey: activityPriorityKey(state, a) });
    }
  }
}
