// Assembles one Kairos server process: the SQLite store, namespace registry, history engine, matching,
// timer queue and the gRPC frontend; recovers pending work from the database before listening.
import { activityExecutionHandlers } from './frontend/activity-execution-handlers.js';
import { featureOffHandlers } from './frontend/feature-off-handlers.js';
import { activityOperatorHandlers } from './frontend/activity-operator-handlers.js';
import { nexusOperationExecutionHandlers } from './frontend/nexus-operation-execution-handlers.js';
import { parseDurationMs } from './visibility/query/literals.js';
import { ownerNamespaceId } from './history/standalone-activity/key-space.js';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { describeStoreLocation, openStore } from './persistence/open-store.js';
import type { Store } from './persistence/store.js';
import { DEFAULT_RETENTION_MS, NamespaceRegistry } from './namespace/registry.js';
import { ExecutionEngine } from './history/engine.js';
import { Matching } from './matching/matching.js';
import { QueryRegistry } from './history/queries.js';
import { TimerQueue, type TimerQueueOptions } from './timers/timer-queue.js';
import { handleTimer } from './history/ops/timers.js';
import { recoverDispatches } from './history/recover-dispatches.js';
import { ClusterNode, type ClusterOptions } from './cluster/cluster-node.js';
import { DEFAULT_SHARD_COUNT } from './cluster/shards.js';
import type { HistoryContext } from './history/service-context.js';
import { createGrpcServer, type GrpcTransport, type ServiceHandlers } from './frontend/grpc-server.js';
import { executionHandlers } from './frontend/workflow-handlers.js';
import { updateHandlers } from './frontend/update-handlers.js';
import { taskHandlers } from './frontend/task-handlers.js';
import { namespaceHandlers } from './frontend/namespace-handlers.js';
import { systemHandlers } from './frontend/system-handlers.js';
import { visibilityHandlers } from './frontend/visibility-handlers.js';
import { operatorHandlers } from './frontend/operator-handlers.js';
import { nexusEndpointHandlers, nexusTaskHandlers } from './frontend/nexus-handlers.js';
import { NexusEndpoints } from './nexus/endpoints.js';
import { NexusTasks } from './nexus/nexus-tasks.js';
import { scheduleHandlers } from './frontend/schedule-handlers.js';
import { deploymentHandlers } from './frontend/deployment-handlers.js';
import { WorkerDeployments } from './deployments/registry.js';
import { DeploymentRefresher } from './deployments/cluster-refresh.js';
import { stickyKeepsVersion, wireDeployments } from './deployments/wiring.js';
import { taskDirective } from './history/versioning.js';
import { Scheduler, type WorkflowCaller } from './schedules/scheduler.js';
import { SearchAttributeRegistry } from './visibility/search-attribute-registry.js';
import type { SearchAttributeTypeName } from './visibility/search-attributes.js';
import { createLogger, type LogFormat, type LogLevel, type Logger } from './logger.js';
import { systemClock, type Clock } from './clock.js';
import { DEFAULT_NAMESPACE_RPS, NamespaceRateLimiter, rateLimited } from './frontend/rate-limit.js';
import { startHttpFrontend, type HttpFrontend } from './http/http-server.js';
import { defaultUiDirectory } from './http/static-files.js';
import { TimeSkipping } from './testing/time-skipping.js';
import { configureSizeLimits, SIZE_LIMIT_KEYS } from './limits.js';
import type { temporal } from '@temporalio/proto';
import { batchHandlers } from './frontend/batch-handlers.js';
import { workerHandlers } from './frontend/worker-handlers.js';
import { DEFAULT_WORKER_REGISTRY_OPTIONS, WorkerRegistry } from './workers/worker-registry.js';
import { BatchWorker } from './batch/batch-worker.js';

export interface StartServerOptions {
  ip: string;
  port: number;
  dbFilename: string;
  /** A PostgreSQL URL: when set, the store is PostgreSQL and `dbFilename` is ignored. */
  databaseUrl?: string;
  /**
   * SQLite: run the connection on a thread of its own, so that statements and fsyncs do not stop the
   * main thread. Off by default: on 2 cores the thread hops cost more than they save (docs/adr/0007).
   */
  sqliteThread?: boolean;
  /** What carries gRPC calls (frontend/grpc-server.ts, docs/adr/0009-lean-http2.md); `lean` unless set. */
  grpcTransport?: GrpcTransport;
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
  /**
   * Cluster membership (PostgreSQL only: every PostgreSQL-backed server is a node of the cluster on
   * its database, alone or not). Defaults: node id `<hostname>:<port>`, address `<ip or hostname>:<port>`,
   * 64 shards, 10 s lease.
   */
  cluster?: ClusterSettings;
  /** Injected clock (tests); the system clock by default. */
  clock?: Clock;
  /**
   * Time skipping (tests; replaces `clock`): serves Temporal's TestService, and virtual time jumps to
   * the next timer whenever no lock and no outstanding work holds it (docs/sdk.md "Testing").
   */
  timeSkipping?: boolean;
  /** How much of the durable timer queue is kept in memory (defaults: rows due within 60 s, at most 10,000). */
  timerQueue?: TimerQueueOptions;
  logger?: Logger;
}

export interface ClusterSettings {
  /** Unique among the nodes of one database; stable across restarts of the same node. */
  readonly nodeId?: string | undefined;
  /** host:port where the other nodes reach this node's gRPC port. */
  readonly nodeAddress?: string | undefined;
  /** History shards of the database (fixed once the first node started on it). */
  readonly shards?: number | undefined;
  /** How long a node's shard leases last without renewal (a hung node's shards move after this). */
  readonly leaseMs?: number | undefined;
}

export const DEFAULT_LEASE_MS = 10_000;

export interface RunningServer {
  readonly grpcAddress: string;
  /** `host:port` of the Web UI and HTTP API; undefined when headless. */
  readonly uiAddress?: string | undefined;
  readonly dbPath: string;
  readonly unknownDynamicConfigKeys: readonly string[];
  /** Cluster mode: this node's id. */
  readonly nodeId?: string | undefined;
  close(): Promise<void>;
}

/** Temporal's activity.longPollTimeout (and nexusoperation.longPollTimeout): how long a standalone activity's or Nexus operation's Describe or Poll waits at most. */
const DEFAULT_ACTIVITY_LONG_POLL_MS = 60_000;

/** Dynamic config keys the server understands (others are accepted and warned about). */
const KNOWN_DYNAMIC_CONFIG = new Set([
  'frontend.namespaceRPS',
  'frontend.enableServerVersionCheck',
  'frontend.enableUpdateWorkflowExecution',
  'frontend.enableUpdateWorkflowExecutionAsyncAccepted',
  'frontend.enableCancelWorkerPollsOnShutdown',
  'activity.enableStandalone',
  'activity.startDelayEnabled',
  'activity.longPollTimeout',
  'activity.enableCallbacks',
  'nexusoperation.enableStandalone',
  'nexusoperation.longPollTimeout',
  'frontend.enableBatcher',
  'frontend.MaxConcurrentBatchOperationPerNamespace',
  'frontend.enableBatchOperationsForStandaloneActivities',
  'worker.batcherRPS',
  'worker.batcherConcurrency',
  'frontend.WorkerHeartbeatsEnabled',
  'matching.workerRegistryEntryTTL',
  'matching.workerRegistryMaxEntries',
  'matching.workerRegistryMinEvictAge',
  'matching.workerRegistryEvictionInterval',
  ...Object.values(SIZE_LIMIT_KEYS),
].map((k) => k.toLowerCase()));

/** Dynamic config keys are case-insensitive, as in Temporal (`frontend.workerHeartbeatsEnabled` is `frontend.WorkerHeartbeatsEnabled`). */
function caseInsensitiveConfig(config: ReadonlyMap<string, unknown>): ReadonlyMap<string, unknown> {
  const lowered = new Map([...config].map(([k, v]) => [k.toLowerCase(), v] as const));
  return {
    get: (key: string) => lowered.get(key.toLowerCase()),
    has: (key: string) => lowered.has(key.toLowerCase()),
    get size() {
      return lowered.size;
    },
    keys: () => config.keys(),
    values: () => config.values(),
    entries: () => config.entries(),
    forEach: (fn, thisArg) => config.forEach(fn, thisArg),
    [Symbol.iterator]: () => config[Symbol.iterator](),
  };
}

/** A boolean dynamic config value (true, or the string "true"), else `fallback`. */
function booleanConfig(config: ReadonlyMap<string, unknown>, key: string, fallback: boolean): boolean {
  const value = config.get(key);
  return value === true || value === 'true' ? true : value === false || value === 'false' ? false : fallback;
}

/** A duration dynamic config value: a Go duration string ('5s', '5000ms') or a number of seconds; else `fallbackMs`. */
function durationConfigMs(config: ReadonlyMap<string, unknown>, key: string, fallbackMs: number): number {
  const value = config.get(key);
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value * 1000;
  const ms = typeof value === 'string' ? parseDurationMs(value.trim()) : null;
  if (value !== undefined && (ms === null || ms < 0)) throw new Error(`dynamic config ${key}: ${JSON.stringify(value)} is not a duration`);
  return ms ?? fallbackMs;
}

function numberConfig(config: ReadonlyMap<string, unknown>, key: string, fallback: number): number {
  const value = Number(config.get(key) ?? fallback);
  return Number.isFinite(value) ? value : fallback;
}

export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const logger = options.logger ?? createLogger({ level: options.logLevel, format: options.logFormat });
  // Virtual time belongs to one process: a cluster's nodes share the database's (and each other's) clock.
  if (options.timeSkipping && options.databaseUrl) throw new Error('time skipping is for tests on one node: it cannot run on a PostgreSQL (cluster) database');
  const dynamicConfig = caseInsensitiveConfig(options.dynamicConfig);
  const sizeLimits = configureSizeLimits(dynamicConfig);
  const timeSkipping = options.timeSkipping ? new TimeSkipping() : null;
  const clock = timeSkipping?.clock ?? options.clock ?? systemClock;
  const leaseMs = options.cluster?.leaseMs ?? DEFAULT_LEASE_MS;
  const storeOptions = { dbFilename: options.dbFilename, databaseUrl: options.databaseUrl, idleInTransactionTimeoutMs: options.databaseUrl ? leaseMs : undefined, sqliteThread: options.sqliteThread };
  const store: Store = await openStore(storeOptions);
  try {
    const namespaces = await NamespaceRegistry.load(store, options.namespaces);
    const searchAttributes = await SearchAttributeRegistry.load(store, namespaces.list().map((n) => n.id));
    if (options.searchAttributes.size > 0) {
      for (const name of options.namespaces) await searchAttributes.add(namespaces.get(name).id, options.searchAttributes);
    }
    const engine = new ExecutionEngine(store, clock, logger.child({ component: 'history' }));
    const matching = new Matching(clock);
    const deployments = await WorkerDeployments.load(store, clock, logger.child({ component: 'deployments' }));
    wireDeployments(deployments, engine, matching, store, searchAttributes);
    engine.stickyQueueAvailable = (namespaceId, taskQueue) => matching.stickyQueueAvailable(namespaceId, taskQueue);
    engine.retentionMsFor = (namespaceId) => namespaces.findById(ownerNamespaceId(namespaceId))?.retentionMs ?? DEFAULT_RETENTION_MS;
    engine.reserveWorkflowPoll = (namespaceId, taskQueue, state) => matching.reserveWorkflowPoll(namespaceId, taskQueue, state.versioning ? { key: state, ...taskDirective(state) } : { key: state });
    engine.dispatchSink = {
      dispatch(key, d, state) {
        const ref = state.versioning
          ? { key, scheduledEventId: d.scheduledEventId, attempt: d.attempt, priorityKey: d.priorityKey, ...taskDirective(state) }
          : { key, scheduledEventId: d.scheduledEventId, attempt: d.attempt, priorityKey: d.priorityKey };
        if (d.kind === 'workflowTask') matching.addWorkflowTask(d.taskQueue, ref);
        else matching.addActivityTask(d.taskQueue, ref);
      },
    };
    const timers = new TimerQueue(store, clock, logger.child({ component: 'timers' }), (row) => handleTimer(ctx, row), options.timerQueue);
    engine.timerSink = timers;
    timeSkipping?.attach(engine);
    // The scheduler starts workflows through the same (routed) handlers a client reaches, set below.
    let workflowHandlers: ServiceHandlers = {};
    const callWorkflowService: WorkflowCaller = async (method, request, callOptions) => {
      const handler = workflowHandlers[method];
      if (!handler) throw new Error(`no handler for ${method}`);
      const signal = callOptions?.signal ?? new AbortController().signal;
      const deadlineMs = callOptions?.timeoutMs === undefined ? undefined : clock.now() + callOptions.timeoutMs;
      return handler(request, { deadlineMs, signal, metadata: new Map(), peer: 'scheduler' });
    };
    const scheduler = new Scheduler(store, clock, logger.child({ component: 'scheduler' }), callWorkflowService);
    // Worker heartbeats age on the wall clock: skipped (virtual) time does not expire a live worker.
    const workers = new WorkerRegistry(Date.now, {
      ttlMs: durationConfigMs(dynamicConfig, 'matching.workerRegistryEntryTTL', DEFAULT_WORKER_REGISTRY_OPTIONS.ttlMs),
      maxEntries: numberConfig(dynamicConfig, 'matching.workerRegistryMaxEntries', DEFAULT_WORKER_REGISTRY_OPTIONS.maxEntries),
      minEvictAgeMs: durationConfigMs(dynamicConfig, 'matching.workerRegistryMinEvictAge', DEFAULT_WORKER_REGISTRY_OPTIONS.minEvictAgeMs),
    });
    const heartbeatsEnabled = booleanConfig(dynamicConfig, 'frontend.WorkerHeartbeatsEnabled', true);
    const recordHeartbeats = heartbeatsEnabled ? (namespaceId: string, heartbeats: readonly temporal.api.worker.v1.IWorkerHeartbeat[]) => workers.record(namespaceId, heartbeats) : undefined;
    const cluster = options.databaseUrl
      ? new ClusterNode(clusterOptions(options, options.databaseUrl, leaseMs), { store, engine, matching, timers, namespaces, searchAttributes, logger, scheduler, workers })
      : null;
    // Whatever decides a sticky worker's liveness (matching, or the cluster), a run keeps its sticky queue only while its version does.
    const stickyAlive = engine.stickyQueueAvailable;
    engine.stickyQueueAvailable = (namespaceId, taskQueue, state) => stickyKeepsVersion(deployments, state) && stickyAlive(namespaceId, taskQueue, state);
    const nexus = { endpoints: await NexusEndpoints.load(store, namespaces, clock, cluster !== null), tasks: new NexusTasks(matching, clock) };
    const ctx: HistoryContext = { engine, matching, queries: new QueryRegistry(), namespaces, searchAttributes, logger, cluster, deployments, nexus };
    if (!cluster) {
      await recoverDispatches(store, matching);
      await timers.start();
    }

    // Temporal's default: off (workers then cancel their own polls when they shut down).
    const cancelPollsOnShutdown = booleanConfig(dynamicConfig, 'frontend.enableCancelWorkerPollsOnShutdown', false);
    const activityOptions = {
      enabled: booleanConfig(dynamicConfig, 'activity.enableStandalone', true),
      startDelayEnabled: booleanConfig(dynamicConfig, 'activity.startDelayEnabled', true),
      longPollTimeoutMs: durationConfigMs(dynamicConfig, 'activity.longPollTimeout', DEFAULT_ACTIVITY_LONG_POLL_MS),
      // Temporal's default: off.
      callbacksEnabled: booleanConfig(dynamicConfig, 'activity.enableCallbacks', false),
    };
    const nexusOperationOptions = {
      // Temporal's default: off.
      enabled: booleanConfig(dynamicConfig, 'nexusoperation.enableStandalone', false),
      longPollTimeoutMs: durationConfigMs(dynamicConfig, 'nexusoperation.longPollTimeout', DEFAULT_ACTIVITY_LONG_POLL_MS),
    };
    // Batch jobs run as workflows served by the server's own worker, through the routed handlers.
    const batchWorker = new BatchWorker(callWorkflowService, namespaces, logger.child({ component: 'batcher' }), {
      rps: Math.max(1, numberConfig(dynamicConfig, 'worker.batcherRPS', 50)),
      concurrency: Math.max(1, numberConfig(dynamicConfig, 'worker.batcherConcurrency', 5)),
    });
    const batchOptions = {
      enabled: booleanConfig(dynamicConfig, 'frontend.enableBatcher', true),
      maxConcurrentPerNamespace: numberConfig(dynamicConfig, 'frontend.MaxConcurrentBatchOperationPerNamespace', 1),
      activityExecutionOperations: activityOptions.enabled && booleanConfig(dynamicConfig, 'frontend.enableBatchOperationsForStandaloneActivities', false),
      maxPageSize: 1000,
    };
    // One set of handlers behind both front doors: the HTTP API calls exactly what gRPC calls.
    let hostAddress = '';
    const localHandlers = {
      ...systemHandlers(randomUUID()),
      ...namespaceHandlers(namespaces, {
        workerPollCompleteOnShutdown: cancelPollsOnShutdown,
        workerHeartbeats: heartbeatsEnabled,
        sizeLimits,
        standaloneActivities: activityOptions.enabled,
        standaloneActivityStartDelay: activityOptions.startDelayEnabled,
        standaloneNexusOperation: nexusOperationOptions.enabled,
      }),
      ...executionHandlers(ctx, searchAttributes),
      ...updateHandlers(ctx),
      ...taskHandlers(ctx, { cancelPollsOnShutdown, recordHeartbeats, hostAddress: () => hostAddress }),
      ...activityExecutionHandlers(ctx, activityOptions),
      ...activityOperatorHandlers(ctx, { standaloneActivities: activityOptions.enabled }),
      ...nexusOperationExecutionHandlers(ctx, nexusOperationOptions),
      ...visibilityHandlers({ namespaces, searchAttributes, store }),
      ...scheduleHandlers(scheduler, namespaces, searchAttributes),
      ...deploymentHandlers(deployments, namespaces),
      ...nexusTaskHandlers(ctx, nexus.tasks, recordHeartbeats),
      ...workerHandlers(namespaces, workers, { heartbeatsEnabled, allEntries: cluster ? (namespaceId) => cluster.workerEntries(namespaceId) : undefined }),
      ...batchHandlers(callWorkflowService, namespaces, batchOptions, (namespace) => batchWorker.ensure(namespace)),
      ...featureOffHandlers(),
    };
    cluster?.attach(ctx, localHandlers);
    workflowHandlers = cluster ? cluster.route(localHandlers) : localHandlers;
    const services = {
      workflowService: rateLimited(workflowHandlers, new NamespaceRateLimiter(numberConfig(dynamicConfig, 'frontend.namespaceRPS', DEFAULT_NAMESPACE_RPS), clock)),
      operatorService: { ...operatorHandlers(namespaces, searchAttributes), ...nexusEndpointHandlers(nexus.endpoints) },
      ...(timeSkipping ? { testService: timeSkipping.testService } : {}),
    };
    const server = createGrpcServer(services, logger, clock, options.grpcTransport ?? 'lean');
    cluster?.addPeerService(server);
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
    hostAddress = `${['0.0.0.0', '::', ''].includes(options.ip) ? os.hostname() : host}:${port}`;
    // HTTP after gRPC binds: the Web UI (with the API it calls) on the UI port, the API alone on --http-port.
    const httpFrontends: HttpFrontend[] = [];
    try {
      // Peers reach this node once it holds shards: join only once the gRPC port listens.
      await cluster?.start(port);
      const http = { ...services, logger, uiDirectory: defaultUiDirectory() };
      if (!options.headless && options.uiPort !== undefined) httpFrontends.push(await startHttpFrontend({ ...http, serveUi: true }, options.ip, options.uiPort));
      if (options.httpPort !== undefined) httpFrontends.push(await startHttpFrontend({ ...http, serveUi: false }, options.ip, options.httpPort));
    } catch (err) {
      await Promise.all(httpFrontends.map((f) => f.close()));
      await cluster?.stop().catch(() => undefined);
      server.forceShutdown();
      throw err;
    }
    // Alone, this node runs every schedule; a cluster node runs those of its shards (ClusterNode).
    if (!cluster) await scheduler.resume();
    deployments.start();
    batchWorker.start();
    const workerSweep = setInterval(() => workers.sweep(), Math.max(1000, durationConfigMs(dynamicConfig, 'matching.workerRegistryEvictionInterval', 60_000)));
    workerSweep.unref();
    // Versions and routings another node writes reach this node's matching by a refresh.
    const deploymentRefresher = cluster ? new DeploymentRefresher(deployments, store, logger.child({ component: 'deployments' })) : null;
    deploymentRefresher?.start();
    const unknownDynamicConfigKeys = [...options.dynamicConfig.keys()].filter((k) => !KNOWN_DYNAMIC_CONFIG.has(k.toLowerCase()));
    let closed = false;
    return {
      grpcAddress: `${options.ip}:${port}`,
      uiAddress: !options.headless && options.uiPort !== undefined ? httpFrontends[0]?.address : undefined,
      dbPath: describeStoreLocation(storeOptions),
      unknownDynamicConfigKeys,
      nodeId: cluster?.nodeId,
      async close() {
        if (closed) return;
        closed = true;
        // Hand the shards over first: requests still arriving here are forwarded to their new owners.
        await cluster?.stop().catch((err: unknown) => logger.warn('leaving the cluster failed', { error: String(err) }));
        timers.stop();
        scheduler.stop();
        batchWorker.stop();
        clearInterval(workerSweep);
        deployments.stop();
        await deploymentRefresher?.stop();
        timeSkipping?.close();
        await Promise.all(httpFrontends.map((f) => f.close()));
        await new Promise<void>((resolve) => {
          server.tryShutdown(() => resolve());
          // Long polls are woken by the frontend on shutdown; do not wait for stragglers forever.
          setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, 2000).unref();
        });
        cluster?.closePeers();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** The cluster identity of this node from the options, with defaults drawn from its host and port. */
function clusterOptions(options: StartServerOptions, databaseUrl: string, leaseMs: number): ClusterOptions {
  const c = options.cluster ?? {};
  const wildcard = options.ip === '0.0.0.0' || options.ip === '::' || options.ip === '';
  const host = wildcard ? os.hostname() : options.ip.includes(':') ? `[${options.ip}]` : options.ip;
  const shardCount = c.shards ?? DEFAULT_SHARD_COUNT;
  if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > 4096) throw new Error(`cluster shards must be a whole number from 1 to 4096, not ${shardCount}`);
  if (!(leaseMs >= 1000)) throw new Error(`the cluster lease must be at least 1 second, not ${leaseMs} ms`);
  return {
    databaseUrl,
    tls: options.tls,
    nodeId: c.nodeId ?? `${os.hostname()}:${options.port === 0 ? randomUUID().slice(0, 8) : options.port}`,
    // A port of 0 is chosen at bind time: the address is completed then (ClusterNode.start).
    address: c.nodeAddress ?? `${host}:${options.port}`,
    shardCount,
    leaseMs,
  };
}
