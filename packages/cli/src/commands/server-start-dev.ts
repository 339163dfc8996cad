// `kairos server start-dev`: the flags of `temporal server start-dev` (so @temporalio/testing can
// launch Kairos in its place), normalised once into the complete StartServerOptions.
import { homedir } from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { LogFormat, LogLevel, RunningServer, SearchAttributeTypeName, StartServerOptions } from '@kairos/server';
import { GRPC_TRANSPORTS } from './server-config.js';

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'never'] as const satisfies readonly LogLevel[];
const LOG_FORMATS = ['text', 'json', 'pretty'] as const satisfies readonly LogFormat[];
const SEARCH_ATTRIBUTE_TYPES = ['Text', 'Keyword', 'Int', 'Double', 'Bool', 'Datetime', 'KeywordList'] as const satisfies readonly SearchAttributeTypeName[];
const DEFAULT_PORT = 7233;
const DEFAULT_NAMESPACE = 'default';

/** What the defaults depend on, injected so that tests can ask for another platform. */
export interface HostEnvironment {
  readonly platform: NodeJS.Platform;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly homedir: string;
  readonly cwd: string;
}

export function currentHostEnvironment(): HostEnvironment {
  return { platform: process.platform, env: process.env, homedir: homedir(), cwd: process.cwd() };
}

export interface StartDevInvocation {
  readonly options: StartServerOptions;
  /** Flags that were accepted but have no effect yet, one line each. */
  readonly warnings: readonly string[];
}

// No default array, so that help does not print "(default: [])".
const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError('Expected a port number from 0 to 65535.');
  return port;
}

function parseNonEmpty(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('Expected a non-empty value.');
  return value;
}

/** Adds the start-dev flags to `command`; shared by the CLI and parseStartDevArgs. */
export function addStartDevOptions(command: Command): Command {
  return command
    .option('-p, --port <port>', 'port of the gRPC frontend', parsePort, DEFAULT_PORT)
    .option('--ip <ip>', 'address to listen on (e.g. 0.0.0.0 for all interfaces)', parseNonEmpty, 'localhost')
    .option('-f, --db-filename <path>', 'SQLite database file (default: in memory, as in Temporal\'s dev server: lost when the server stops)')
    .addOption(new Option('--database-url <url>', 'PostgreSQL database instead of SQLite (postgres://user:password@host:port/db)').env('KAIROS_DATABASE_URL').argParser(parseNonEmpty))
    .option('-n, --namespace <name>', 'namespace to create at start, repeatable ("default" is always created)', collect)
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('warn'))
    .addOption(new Option('--log-format <format>', 'log format').choices(LOG_FORMATS).default('text'))
    .option('--dynamic-config-value <key=value>', 'dynamic config value, VALUE is JSON or a bare string; repeatable', collect)
    .option('--headless', 'do not serve the Web UI')
    .option('--ui-port <port>', 'port of the Web UI (default: gRPC port + 1000)', parsePort)
    .option('--ui-ip <ip>', 'address the Web UI listens on (default: --ip)', parseNonEmpty)
    .option('--http-port <port>', 'port of the HTTP API (default: none)', parsePort)
    .option('--metrics-port <port>', 'port of the Prometheus /metrics endpoint (default: none)', parsePort)
    .option('--search-attribute <key=type>', 'search attribute to register at start, repeatable', collect)
    .option('--sqlite-pragma <pragma=value>', 'SQLite pragma, repeatable', collect)
    .addOption(new Option('--grpc-transport <transport>', 'what carries gRPC calls: lean (JavaScript HTTP/2) or node (node:http2); see docs/adr/0009-lean-http2.md').choices(GRPC_TRANSPORTS).default('lean'))
    .option('--sqlite-thread', 'run the SQLite connection on a thread of its own (slower on 2 cores; see docs/adr/0007-sqlite-thread.md)')
    .option('--time-skipping', "serve Temporal's TestService: time skips ahead when nothing is in progress (for tests)");
}

/** Parses the arguments that follow `server start-dev`; throws commander's errors on bad input. */
export function parseStartDevArgs(argv: readonly string[], host: HostEnvironment = currentHostEnvironment()): StartDevInvocation {
  const command = addStartDevOptions(new Command('start-dev'))
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  command.parse([...argv], { from: 'user' });
  return startDevInvocation(command, host);
}

/** Normalises the parsed flags of `command` (a start-dev command after parsing). */
export function startDevInvocation(command: Command, host: HostEnvironment): StartDevInvocation {
  const raw: Record<string, unknown> = command.opts();
  const invalid: (message: string) => never = (message) =>
    command.error(`error: ${message}`, { code: 'kairos.invalidOption' });
  const keyValue = (entry: string, flag: string, shape: string): [string, string] => {
    const at = entry.indexOf('=');
    if (at <= 0) invalid(`${flag} expects ${shape}, got "${entry}"`);
    return [entry.slice(0, at), entry.slice(at + 1)];
  };
  const text = (key: string): string | undefined => (typeof raw[key] === 'string' ? raw[key] : undefined);
  const port = (key: string): number | undefined => (typeof raw[key] === 'number' ? raw[key] : undefined);
  const list = (key: string): string[] => {
    const value = raw[key];
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  };

  const grpcPort = port('port') ?? DEFAULT_PORT;
  const ip = text('ip') ?? 'localhost';
  const headless = raw['headless'] === true;
  // Port 0 asks the OS for a free port; the UI then gets one too rather than port 1000.
  const uiPort = headless ? undefined : (port('uiPort') ?? (grpcPort === 0 ? 0 : grpcPort + 1000));
  if (uiPort !== undefined && uiPort > 65535) invalid(`the Web UI port would be ${uiPort}; pass --ui-port or --headless`);

  const hostPath = host.platform === 'win32' ? path.win32 : path.posix;
  const dbFlag = text('dbFilename');
  const databaseUrl = text('databaseUrl');
  if (databaseUrl !== undefined && dbFlag !== undefined) invalid('--db-filename and --database-url name two databases; pass one');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) invalid(`--database-url must be a postgres:// or postgresql:// URL, got "${databaseUrl.replace(/:[^:@/]*@/, ':***@')}"`);
  let dbFilename: string;
  if (databaseUrl !== undefined) {
    dbFilename = '';
  } else if (dbFlag === undefined) {
    // As `temporal server start-dev`: without a file the server is a throwaway, so that test
    // environments (TestWorkflowEnvironment.createLocal) can start several at once and leave nothing.
    dbFilename = ':memory:';
  } else {
    dbFilename = dbFlag === ':memory:' ? dbFlag : hostPath.resolve(host.cwd, dbFlag);
  }

  const namespaces = [DEFAULT_NAMESPACE];
  for (const name of list('namespace')) {
    if (name.trim() === '') invalid('a namespace name must not be empty');
    if (!namespaces.includes(name)) namespaces.push(name);
  }

  const dynamicConfig = new Map<string, unknown>();
  for (const entry of list('dynamicConfigValue')) {
    const [key, value] = keyValue(entry, '--dynamic-config-value', 'KEY=VALUE');
    dynamicConfig.set(key, parseConfigValue(value));
  }

  const warnings: string[] = [];
  const searchAttributes = new Map<string, SearchAttributeTypeName>();
  for (const entry of list('searchAttribute')) {
    const [name, typeText] = keyValue(entry, '--search-attribute', 'KEY=Type');
    const type = SEARCH_ATTRIBUTE_TYPES.find((known) => known === typeText);
    if (type === undefined) {
      invalid(`search attribute ${name} has unknown type "${typeText}" (one of ${SEARCH_ATTRIBUTE_TYPES.join(', ')})`);
    }
    const earlier = searchAttributes.get(name);
    if (earlier !== undefined && earlier !== type) invalid(`search attribute ${name} is given twice, as ${earlier} and as ${type}`);
    searchAttributes.set(name, type);
  }
  for (const entry of list('sqlitePragma')) {
    keyValue(entry, '--sqlite-pragma', 'PRAGMA=VALUE');
    warnings.push(`--sqlite-pragma ${entry} is accepted but not applied yet`);
  }
  const uiIp = text('uiIp');
  if (uiIp !== undefined && uiIp !== ip) warnings.push(`--ui-ip ${uiIp} is accepted but the Web UI listens on ${ip}`);

  const options: StartServerOptions = {
    ip,
    port: grpcPort,
    dbFilename,
    ...(databaseUrl !== undefined ? { databaseUrl } : {}),
    ...(raw['sqliteThread'] === true ? { sqliteThread: true } : {}),
    grpcTransport: oneOf(GRPC_TRANSPORTS, raw['grpcTransport'], 'lean'),
    namespaces,
    logLevel: oneOf(LOG_LEVELS, raw['logLevel'], 'warn'),
    logFormat: oneOf(LOG_FORMATS, raw['logFormat'], 'text'),
    dynamicConfig,
    searchAttributes,
    headless,
    uiPort,
    httpPort: port('httpPort'),
    metricsPort: port('metricsPort'),
    ...(raw['timeSkipping'] === true ? { timeSkipping: true } : {}),
  };
  return { options, warnings };
}

/** VALUE is JSON when it parses as JSON (`false`, `10`, `"x"`, `{...}`), else the bare string. */
export function parseConfigValue(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

function oneOf<T extends string>(choices: readonly T[], value: unknown, fallback: T): T {
  return choices.find((c) => c === value) ?? fallback;
}

/** What running the command touches, injected so that its lifecycle can be tested without a process. */
export interface StartDevIo {
  readonly startServer: (options: StartServerOptions) => Promise<RunningServer>;
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  readonly onSignal: (listener: (signal: 'SIGINT' | 'SIGTERM') => void) => void;
  readonly exit: (code: number) => void;
}

/** Starts the server, prints the banner, and closes it on the first SIGINT/SIGTERM. */
export async function runStartDev(invocation: StartDevInvocation, io: StartDevIo): Promise<void> {
  const { options } = invocation;
  let running: RunningServer | undefined;
  let stopRequested = false;
  const stop = (server: RunningServer): void => {
    server.close().then(
      () => io.exit(0),
      (err: unknown) => {
        io.stderr(`Error: ${errorMessage(err)}`);
        io.exit(1);
      },
    );
  };
  // Listening before anything is printed: a supervisor may signal the moment it reads the banner,
  // and a signal during start-up must still close the database cleanly.
  io.onSignal((signal) => {
    if (stopRequested) {
      io.exit(signal === 'SIGINT' ? 130 : 143); // a second signal: the user wants out now
      return;
    }
    stopRequested = true;
    if (running !== undefined) stop(running);
  });

  try {
    running = await io.startServer(options);
  } catch (err) {
    io.stderr(`Error: ${errorMessage(err)}`);
    io.exit(1);
    return;
  }

  const listenPort = Number(/:(\d+)$/.exec(running.grpcAddress)?.[1] ?? options.port);
  io.stdout(`Kairos Server:  ${hostPort(options.ip, listenPort)}`);
  // With --port 0 the UI port is chosen by the OS too: the running server reports it.
  const uiPort = Number(/:(\d+)$/.exec(running.uiAddress ?? '')?.[1] ?? options.uiPort);
  if (!options.headless && options.uiPort !== undefined && uiPort !== 0) {
    io.stdout(`Kairos UI:      http://${hostPort(options.ip, uiPort)}`);
  }
  if (options.metricsPort !== undefined) {
    io.stdout(`Kairos Metrics: http://${hostPort(options.ip, options.metricsPort)}/metrics`);
  }
  io.stdout(`Database:       ${running.dbPath}`);
  if (options.timeSkipping === true) io.stdout('Time skipping:  on (TestService served; time starts locked)');
  for (const warning of invocation.warnings) io.stderr(`Warning: ${warning}`);
  for (const key of running.unknownDynamicConfigKeys) {
    io.stderr(`Warning: unknown dynamic config key ${key} (ignored)`);
  }
  if (stopRequested) stop(running);
}

function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
