import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CommanderError } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunningServer, StartServerOptions } from '@kairos/server';
import {
  parseConfigValue,
  parseStartDevArgs,
  runStartDev,
  type HostEnvironment,
  type StartDevInvocation,
  type StartDevIo,
} from './server-start-dev.js';

const linux: HostEnvironment = { platform: 'linux', env: {}, homedir: '/home/ada', cwd: '/work/app' };

function usageError(argv: string[]): CommanderError {
  try {
    parseStartDevArgs(argv, linux);
  } catch (err) {
    if (err instanceof CommanderError) return err;
    throw err;
  }
  throw new Error(`expected ${argv.join(' ')} to be rejected`);
}

describe('parseStartDevArgs', () => {
  it('fills every option with Temporal start-dev defaults, the database in memory', () => {
    const { options, warnings } = parseStartDevArgs([], linux);
    expect(options).toEqual({
      ip: 'localhost',
      port: 7233,
      dbFilename: ':memory:',
      grpcTransport: 'lean',
      namespaces: ['default'],
      logLevel: 'warn',
      logFormat: 'text',
      dynamicConfig: new Map(),
      searchAttributes: new Map(),
      headless: false,
      uiPort: 8233,
      httpPort: undefined,
      metricsPort: undefined,
    } satisfies StartServerOptions);
    expect(warnings).toEqual([]);
  });

  it('puts the SQLite connection on a thread of its own only when asked (--sqlite-thread)', () => {
    expect(parseStartDevArgs([], linux).options.sqliteThread).toBeUndefined();
    expect(parseStartDevArgs(['--sqlite-thread'], linux).options.sqliteThread).toBe(true);
  });

  it('carries gRPC on the lean transport unless --grpc-transport node', () => {
    expect(parseStartDevArgs(['--grpc-transport', 'node'], linux).options.grpcTransport).toBe('node');
    expect(() => parseStartDevArgs(['--grpc-transport', 'h3'], linux)).toThrow(/h3/);
  });

  it('accepts exactly what @temporalio/testing passes to its dev server', () => {
    // sdk-core ephemeral_server/mod.rs TemporalDevServerConfig::start_server_with_output
    const { options } = parseStartDevArgs(
      [
        ...['--port', '41234', '--namespace', 'default', '--ip', '127.0.0.1'],
        ...['--log-format', 'pretty', '--log-level', 'warn'],
        ...['--dynamic-config-value', 'frontend.enableServerVersionCheck=false'],
        ...['--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true'],
        ...['--dynamic-config-value', 'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true'],
        '--headless',
      ],
      linux,
    );
    expect(options).toMatchObject({ ip: '127.0.0.1', port: 41234, logFormat: 'pretty', headless: true, uiPort: undefined });
    expect(options.namespaces).toEqual(['default']);
    expect([...options.dynamicConfig]).toEqual([
      ['frontend.enableServerVersionCheck', false],
      ['frontend.enableUpdateWorkflowExecution', true],
      ['frontend.enableUpdateWorkflowExecutionAsyncAccepted', true],
    ]);
    expect(parseStartDevArgs(['--port', '41234', '--ui-port', '42234'], linux).options.uiPort).toBe(42234);
  });

  it('takes short flags, repeated namespaces, and resolves the database path', () => {
    const { options } = parseStartDevArgs(
      ['-p', '7300', '-n', 'orders', '-n', 'default', '-n', 'billing', '-n', 'orders', '-f', 'data/dev.db'],
      linux,
    );
    expect(options.port).toBe(7300);
    expect(options.uiPort).toBe(8300);
    expect(options.namespaces).toEqual(['default', 'orders', 'billing']);
    expect(options.dbFilename).toBe(path.resolve('/work/app', 'data/dev.db'));
    expect(parseStartDevArgs(['--db-filename', ':memory:'], linux).options.dbFilename).toBe(':memory:');
  });

  it('reads ports and addresses, and lets port 0 pick free ports', () => {
    const { options } = parseStartDevArgs(['--ip', '0.0.0.0', '--http-port', '7243', '--metrics-port', '9090'], linux);
    expect(options).toMatchObject({ ip: '0.0.0.0', httpPort: 7243, metricsPort: 9090 });
    expect(parseStartDevArgs(['-p', '0'], linux).options).toMatchObject({ port: 0, uiPort: 0 });
  });

  it('collects dynamic config values as JSON or bare strings', () => {
    const { options } = parseStartDevArgs(
      ['a=10', 'b="x"', 'c=hello world', 'd={"k":[1]}', 'e=', 'f=a=b', 'a=11'].flatMap((v) => ['--dynamic-config-value', v]),
      linux,
    );
    expect(Object.fromEntries(options.dynamicConfig)).toEqual({ a: 11, b: 'x', c: 'hello world', d: { k: [1] }, e: '', f: 'a=b' });
    expect(parseConfigValue('null')).toBeNull();
  });

  it('collects search attributes to register at start', () => {
    const { options, warnings } = parseStartDevArgs(
      ['CustomKeywordField=Keyword', 'Amount=Double', 'Tags=KeywordList', 'Amount=Double'].flatMap((v) => ['--search-attribute', v]),
      linux,
    );
    expect([...options.searchAttributes]).toEqual([
      ['CustomKeywordField', 'Keyword'],
      ['Amount', 'Double'],
      ['Tags', 'KeywordList'],
    ]);
    expect(warnings).toEqual([]);
    expect(usageError(['--search-attribute', 'Amount=Int', '--search-attribute', 'Amount=Double']).message).toContain('given twice');
  });

  it('accepts pragmas and --ui-ip, saying they have no effect yet', () => {
    const { warnings } = parseStartDevArgs(['--sqlite-pragma', 'journal_mode=wal', '--ui-ip', '0.0.0.0'], linux);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('journal_mode=wal');
  });

  it('rejects bad input with commander errors', () => {
    expect(usageError(['--no-such-flag']).code).toBe('commander.unknownOption');
    expect(usageError(['--port', '70000']).code).toBe('commander.invalidArgument');
    expect(usageError(['--port', 'http']).code).toBe('commander.invalidArgument');
    expect(usageError(['--log-level', 'verbose']).code).toBe('commander.invalidArgument');
    expect(usageError(['--log-format', 'xml']).code).toBe('commander.invalidArgument');
    expect(usageError(['--dynamic-config-value', 'novalue']).message).toContain('KEY=VALUE');
    expect(usageError(['--search-attribute', 'Foo=Banana']).message).toContain('Banana');
    expect(usageError(['--port', '65000']).message).toContain('--ui-port');
    expect(parseStartDevArgs(['--port', '65000', '--headless'], linux).options.uiPort).toBeUndefined();
    expect(usageError(['extra']).code).toBe('commander.excessArguments');
  });
});

describe('runStartDev', () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'kairos-cli-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  function fakeIo(startServer: StartDevIo['startServer']) {
    const out: string[] = [];
    const err: string[] = [];
    const exits: number[] = [];
    let signal: ((s: 'SIGINT' | 'SIGTERM') => void) | undefined;
    const io: StartDevIo = {
      startServer,
      stdout: (line) => out.push(line),
      stderr: (line) => err.push(line),
      onSignal: (listener) => (signal = listener),
      exit: (code) => exits.push(code),
    };
    const send = (s: 'SIGINT' | 'SIGTERM'): void => {
      if (signal === undefined) throw new Error('no signal listener');
      signal(s);
    };
    return { io, out, err, exits, send };
  }

  function fakeServer(options: StartServerOptions, closeResult: () => Promise<void> = () => Promise.resolve()) {
    const server = {
      closed: 0,
      grpcAddress: `${options.ip}:${options.port === 0 ? 40001 : options.port}`,
      dbPath: options.dbFilename,
      unknownDynamicConfigKeys: ['frontend.somethingNew'],
      close: () => {
        server.closed++;
        return closeResult();
      },
    } satisfies RunningServer & { closed: number };
    return server;
  }

  async function until(condition: () => boolean): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  it('prints the banner, warns on stderr, and closes then exits 0 on the first signal', async () => {
    const dataDir = path.join(scratch, 'data', 'kairos');
    const parsed = parseStartDevArgs(['--metrics-port', '9090', '--sqlite-pragma', 'cache_size=100'], linux);
    mkdirSync(dataDir, { recursive: true });
    const invocation: StartDevInvocation = { ...parsed, options: { ...parsed.options, dbFilename: path.join(dataDir, 'kairos.db') } };
    let server: ReturnType<typeof fakeServer> | undefined;
    const fake = fakeIo((options) => Promise.resolve((server = fakeServer(options))));
    await runStartDev(invocation, fake.io);
    expect(fake.out).toEqual([
      'Kairos Server:  localhost:7233',
      'Kairos UI:      http://localhost:8233',
      'Kairos Metrics: http://localhost:9090/metrics',
      `Database:       ${path.join(dataDir, 'kairos.db')}`,
    ]);
    expect(fake.err).toEqual([
      'Warning: --sqlite-pragma cache_size=100 is accepted but not applied yet',
      'Warning: unknown dynamic config key frontend.somethingNew (ignored)',
    ]);
    fake.send('SIGTERM');
    await until(() => fake.exits.length > 0);
    expect(fake.exits).toEqual([0]);
    expect(server?.closed).toBe(1);
  });

  it('prints the port actually bound, and exits at once on a second signal', async () => {
    const never = new Promise<void>(() => undefined);
    const fake = fakeIo((options) => Promise.resolve(fakeServer(options, () => never)));
    await runStartDev(parseStartDevArgs(['-p', '0', '--headless', '--ip', '::1', '-f', ':memory:'], linux), fake.io);
    expect(fake.out).toEqual(['Kairos Server:  [::1]:40001', 'Database:       :memory:']);
    fake.send('SIGINT');
    fake.send('SIGINT');
    expect(fake.exits).toEqual([130]);
  });

  it('closes a server whose start-up was interrupted by a signal', async () => {
    let finishStart: (() => void) | undefined;
    let server: ReturnType<typeof fakeServer> | undefined;
    const fake = fakeIo(
      (options) =>
        new Promise((resolve) => {
          finishStart = () => resolve((server = fakeServer(options)));
        }),
    );
    const running = runStartDev(parseStartDevArgs(['-f', ':memory:'], linux), fake.io);
    await until(() => finishStart !== undefined);
    fake.send('SIGTERM');
    finishStart?.();
    await running;
    await until(() => fake.exits.length > 0);
    expect(server?.closed).toBe(1);
    expect(fake.exits).toEqual([0]);
  });

  it('reports a failed start as "Error: <message>" and exits 1', async () => {
    const fake = fakeIo(() => Promise.reject(new Error('database is locked')));
    await runStartDev(parseStartDevArgs(['-f', ':memory:'], linux), fake.io);
    expect(fake.err).toEqual(['Error: database is locked']);
    expect(fake.exits).toEqual([1]);
    expect(fake.out).toEqual([]);
  });

  it('exits 1 when closing fails', async () => {
    const fake = fakeIo((options) => Promise.resolve(fakeServer(options, () => Promise.reject(new Error('disk full')))));
    await runStartDev(parseStartDevArgs(['-f', ':memory:'], linux), fake.io);
    fake.send('SIGINT');
    await until(() => fake.exits.length > 0);
    expect(fake.exits).toEqual([1]);
    expect(fake.err.at(-1)).toBe('Error: disk full');
  });
});
