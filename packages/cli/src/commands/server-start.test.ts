// `kairos server start`: settings from file < environment < flags, clear errors for bad settings, and
// the real launcher serving gRPC over TLS from a config file.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from './server-config.js';
import { serverInvocation } from './server-start.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'kairos-server-start-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('server start settings', () => {
  it('reads a YAML file, lets the environment and then flags override it, and resolves paths from the file', () => {
    const config = file(
      'kairos.yaml',
      ['database:', '  filename: data/kairos.db', 'frontend:', '  port: 7300', 'log:', '  level: warn', 'namespaces: [orders]', 'searchAttributes:', '  CustomerId: Keyword', 'ui:', '  enabled: false'].join('\n'),
    );
    const fromFile = serverInvocation({ config }, {}, '/elsewhere').options;
    expect(fromFile).toMatchObject({ port: 7300, ip: '0.0.0.0', logLevel: 'warn', logFormat: 'json', headless: true, uiPort: undefined, namespaces: ['default', 'orders'] });
    expect(fromFile.dbFilename).toBe(path.join(dir, 'data/kairos.db'));
    expect(fromFile.searchAttributes.get('CustomerId')).toBe('Keyword');

    const env = { KAIROS_PORT: '7400', KAIROS_LOG_LEVEL: 'debug' };
    expect(serverInvocation({ config }, env, '/').options).toMatchObject({ port: 7400, logLevel: 'debug' });
    const flags = serverInvocation({ config, port: '7500', databaseUrl: 'postgres://u:p@db/kairos' }, env, '/').options;
    expect(flags).toMatchObject({ port: 7500, databaseUrl: 'postgres://u:p@db/kairos', dbFilename: '' });
  });

  it('puts the SQLite connection on a thread of its own only when asked (database.sqliteThread, KAIROS_SQLITE_THREAD)', () => {
    const config = file('thread.yaml', 'database: {filename: a.db, sqliteThread: true}');
    expect(serverInvocation({ config }, {}, '/').options.sqliteThread).toBe(true);
    const plain = file('plain.yaml', 'database: {filename: a.db}');
    expect(serverInvocation({ config: plain }, {}, '/').options.sqliteThread).toBeUndefined();
    expect(serverInvocation({ config: plain }, { KAIROS_SQLITE_THREAD: 'true' }, '/').options.sqliteThread).toBe(true);
  });

  it('carries gRPC on the lean transport unless frontend.grpcTransport or KAIROS_GRPC_TRANSPORT says node', () => {
    const plain = file('transport.yaml', 'database: {filename: a.db}');
    expect(serverInvocation({ config: plain }, {}, '/').options.grpcTransport).toBe('lean');
    expect(serverInvocation({ config: plain }, { KAIROS_GRPC_TRANSPORT: 'node' }, '/').options.grpcTransport).toBe('node');
    const node = file('transport-node.yaml', 'database: {filename: a.db}\nfrontend: {grpcTransport: node}');
    expect(serverInvocation({ config: node }, {}, '/').options.grpcTransport).toBe('node');
  });

  it('takes JSON and KAIROS_CONFIG too', () => {
    const config = file('kairos.json', JSON.stringify({ database: { url: 'postgresql://db/k' }, ui: { port: 9000 } }));
    expect(serverInvocation({}, { KAIROS_CONFIG: config }, '/').options).toMatchObject({ databaseUrl: 'postgresql://db/k', uiPort: 9000, headless: false });
  });

  it('refuses what it cannot run with an error that names the setting', () => {
    const cases: Array<[string, RegExp]> = [
      ['frontend: {port: 7233}', /no database configured/],
      ['database: {filename: a.db, url: "postgres://x/y"}', /two databases/],
      ['database: {url: "mysql://x/y"}', /postgres:\/\/ or postgresql:\/\//],
      ['database: {url: "postgres://x/y", sqliteThread: true}', /database.sqliteThread is for a SQLite file/],
      ['database: {filename: a.db, sqliteThread: maybe}', /database.sqliteThread must be true or false/],
      ['database: {filename: a.db}\nfrontend: {port: 70000}', /frontend.port must be a whole number from 0 to 65535/],
      ['database: {filename: a.db}\nfrontend: {prot: 1}', /unknown setting "frontend.prot"/],
      ['database: {filename: a.db}\nfrontends: {}', /unknown setting "frontends"/],
      ['database: {filename: a.db}\ntls: {certFile: c.pem}', /tls.certFile and tls.keyFile go together/],
      ['database: {filename: a.db}\ntls: {certFile: c.pem, keyFile: k.pem}', /cannot read tls.certFile/],
      ['database: {filename: a.db}\nlog: {level: loud}', /log.level must be one of/],
      ['database: {filename: a.db}\nfrontend: {grpcTransport: h3}', /frontend.grpcTransport must be one of lean, node/],
      ['database: {filename: a.db}\nsearchAttributes: {X: Float}', /searchAttributes.X must be one of/],
      ['database: [a', /not valid YAML or JSON/],
    ];
    for (const [text, message] of cases) {
      const config = file('bad.yaml', text);
      expect(() => serverInvocation({ config }, {}, '/'), text).toThrow(message);
      expect(() => serverInvocation({ config }, {}, '/')).toThrow(ConfigError);
    }
    expect(() => serverInvocation({ config: path.join(dir, 'missing.yaml') }, {}, '/')).toThrow(/cannot read the config file/);
  });

  it('passes cluster settings on for PostgreSQL and warns that SQLite has no cluster', () => {
    const sqlite = file('cluster.yaml', 'database: {filename: a.db}\ncluster: {shards: 64, nodeAddress: "10.0.0.1:7233"}');
    expect(serverInvocation({ config: sqlite }, {}, '/').warnings.join('\n')).toContain('cluster settings need a PostgreSQL database');
    const pgConfig = file('pg.yaml', 'database: {url: "postgres://k@db/kairos"}\ncluster: {shards: 16, nodeId: n1, leaseSeconds: 3}');
    const invocation = serverInvocation({ config: pgConfig }, { KAIROS_NODE_ADDRESS: '10.0.0.2:7233' }, '/');
    expect(invocation.warnings).toEqual([]);
    expect(invocation.options.cluster).toEqual({ nodeId: 'n1', nodeAddress: '10.0.0.2:7233', shards: 16, leaseMs: 3000 });
  });
});

describe('server start process', () => {
  it('serves gRPC over TLS from a config file and stops cleanly on SIGTERM', async () => {
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
    const config = file('tls.yaml', ['database: {filename: tls.db}', 'frontend: {ip: 127.0.0.1, port: 0}', 'ui: {enabled: false}', 'tls: {certFile: cert.pem, keyFile: key.pem}', 'log: {level: warn}'].join('\n'));
    const launcher = fileURLToPath(new URL('../../bin/kairos.js', import.meta.url));
    const child = spawn(launcher, ['server', 'start', '--config', config], { stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 30_000;
      // The banner's lines may arrive in separate chunks: wait for the last one read below too.
      while (!/Kairos Server:\s+\S+:(\d+)/.test(stdout) || !/Database:\s+\S+\n/.test(stdout)) {
        if (Date.now() > deadline) throw new Error(`no banner; stderr: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const port = /Kairos Server:\s+\S+:(\d+)/.exec(stdout)![1]!;
      expect(stdout).toContain(`Database:       ${path.join(dir, 'tls.db')}`);
      const connection = await Connection.connect({ address: `127.0.0.1:${port}`, tls: { serverRootCACertificate: Buffer.from(execFileSync('cat', [cert])), serverNameOverride: 'localhost' } });
      const info = await connection.workflowService.getSystemInfo({});
      expect(info.serverVersion).toBeTruthy();
      await connection.close();
      // Without TLS the server does not answer.
      const plain = await Connection.connect({ address: `127.0.0.1:${port}`, connectTimeout: 2000 }).then(
        async (c) => c.workflowService.getSystemInfo({}).then(() => 'answered', () => 'refused').finally(() => void c.close()),
        () => 'refused',
      );
      expect(plain).toBe('refused');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 60_000);
});

describe('server migrate', () => {
  it('creates or upgrades the schema of the configured database and reports its version', () => {
    const launcher = fileURLToPath(new URL('../../bin/kairos.js', import.meta.url));
    const db = path.join(dir, 'migrate.db');
    const run = (...args: string[]): string => execFileSync(launcher, ['server', 'migrate', '--db-filename', db, ...args], { encoding: 'utf8' });
    expect(run('--dry-run')).toMatch(/schema version 0 \(behind: this Kairos knows version \d+\)/);
    expect(run()).toMatch(/schema migrated from version 0 to (\d+) \(up to date\)/);
    expect(run()).toMatch(/schema version \d+ \(up to date\)/);
  });
});
