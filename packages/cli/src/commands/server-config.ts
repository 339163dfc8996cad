// Configuration of `kairos server start` (production): a YAML or JSON file, environment variables and
// flags, in rising precedence, validated once into the complete StartServerOptions. Unlike start-dev
// there is no implicit database: an operator names SQLite or PostgreSQL explicitly.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { GrpcTransport, LogFormat, LogLevel, SearchAttributeTypeName, StartServerOptions } from '@kairos/server';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The file's shape (every key optional); see docs/operations.md for an annotated example. */
export interface ServerConfigFile {
  database?: { url?: string; filename?: string; sqliteThread?: boolean };
  frontend?: { ip?: string; port?: number; httpPort?: number; grpcTransport?: GrpcTransport };
  ui?: { enabled?: boolean; port?: number };
  tls?: { certFile?: string; keyFile?: string; clientCaFile?: string };
  cluster?: { nodeId?: string; nodeAddress?: string; shards?: number; leaseSeconds?: number };
  log?: { level?: LogLevel; format?: LogFormat };
  metrics?: { port?: number };
  namespaces?: string[];
  searchAttributes?: Record<string, SearchAttributeTypeName>;
  dynamicConfig?: Record<string, unknown>;
}

/** Environment variables, each overriding one key of the file. */
export const CONFIG_ENV: Readonly<Record<string, string>> = {
  KAIROS_DATABASE_URL: 'database.url',
  KAIROS_DB_FILENAME: 'database.filename',
  KAIROS_SQLITE_THREAD: 'database.sqliteThread',
  KAIROS_IP: 'frontend.ip',
  KAIROS_PORT: 'frontend.port',
  KAIROS_HTTP_PORT: 'frontend.httpPort',
  KAIROS_GRPC_TRANSPORT: 'frontend.grpcTransport',
  KAIROS_UI_ENABLED: 'ui.enabled',
  KAIROS_UI_PORT: 'ui.port',
  KAIROS_TLS_CERT_FILE: 'tls.certFile',
  KAIROS_TLS_KEY_FILE: 'tls.keyFile',
  KAIROS_TLS_CLIENT_CA_FILE: 'tls.clientCaFile',
  KAIROS_NODE_ID: 'cluster.nodeId',
  KAIROS_NODE_ADDRESS: 'cluster.nodeAddress',
  KAIROS_SHARDS: 'cluster.shards',
  KAIROS_LEASE_SECONDS: 'cluster.leaseSeconds',
  KAIROS_LOG_LEVEL: 'log.level',
  KAIROS_LOG_FORMAT: 'log.format',
  KAIROS_METRICS_PORT: 'metrics.port',
};

const SECTIONS: Record<string, Record<string, 'string' | 'port' | 'boolean' | 'count'>> = {
  database: { url: 'string', filename: 'string', sqliteThread: 'boolean' },
  frontend: { ip: 'string', port: 'port', httpPort: 'port', grpcTransport: 'string' },
  ui: { enabled: 'boolean', port: 'port' },
  tls: { certFile: 'string', keyFile: 'string', clientCaFile: 'string' },
  cluster: { nodeId: 'string', nodeAddress: 'string', shards: 'count', leaseSeconds: 'count' },
  log: { level: 'string', format: 'string' },
  metrics: { port: 'port' },
};
const LIST_KEYS = new Set(['namespaces', 'searchAttributes', 'dynamicConfig']);
const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'never'];
const LOG_FORMATS: readonly LogFormat[] = ['text', 'json', 'pretty'];
export const GRPC_TRANSPORTS: readonly GrpcTransport[] = ['lean', 'node'];
const SEARCH_ATTRIBUTE_TYPES: readonly SearchAttributeTypeName[] = ['Text', 'Keyword', 'Int', 'Double', 'Bool', 'Datetime', 'KeywordList'];

export interface ServerInvocation {
  readonly options: StartServerOptions;
  readonly warnings: readonly string[];
}

/** Reads `file` (YAML or JSON) into a plain object; ConfigError naming the file on any problem. */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the config file ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text); // YAML is a superset of JSON
  } catch (err) {
    throw new ConfigError(`${file} is not valid YAML or JSON: ${(err as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`${file} must hold a mapping of settings at its top level`);
  return parsed as Record<string, unknown>;
}

/** Applies the environment variables of CONFIG_ENV over `raw` (a parsed file). */
export function withEnvironment(raw: Record<string, unknown>, env: Readonly<Record<string, string | undefined>>): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone(raw);
  for (const [name, keyPath] of Object.entries(CONFIG_ENV)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    const [section, key] = keyPath.split('.') as [string, string];
    const target = (out[section] ??= {}) as Record<string, unknown>;
    if (typeof target !== 'object' || target === null) throw new ConfigError(`${section} must be a mapping`);
    target[key] = value; // typed by validation below ("7233" is a port, "true" a boolean)
  }
  return out;
}

/** Validates the merged settings and builds the server options; `baseDir` resolves relative paths. */
export function buildServerOptions(raw: Record<string, unknown>, baseDir: string): ServerInvocation {
  const config = validate(raw);
  const warnings: string[] = [];
  const db = config.database ?? {};
  if (db.url && db.filename) throw new ConfigError('database.url and database.filename name two databases; set one');
  if (!db.url && !db.filename) {
    throw new ConfigError('no database configured: set database.url (PostgreSQL) or database.filename (SQLite) in the config file, or KAIROS_DATABASE_URL / KAIROS_DB_FILENAME');
  }
  if (db.url && !/^postgres(ql)?:\/\//.test(db.url)) throw new ConfigError('database.url must be a postgres:// or postgresql:// URL');
  if (db.url && db.sqliteThread) throw new ConfigError('database.sqliteThread is for a SQLite file (database.filename), not PostgreSQL');
  const tls = config.tls ?? {};
  if (Boolean(tls.certFile) !== Boolean(tls.keyFile)) throw new ConfigError('tls.certFile and tls.keyFile go together: set both or neither');
  if (tls.clientCaFile && !tls.certFile) throw new ConfigError('tls.clientCaFile (mutual TLS) needs tls.certFile and tls.keyFile');
  const read = (file: string, key: string): Buffer => {
    try {
      return readFileSync(path.resolve(baseDir, file));
    } catch (err) {
      throw new ConfigError(`cannot read ${key} ${file}: ${(err as Error).message}`);
    }
  };
  const cluster = config.cluster ?? {};
  const clusterSet = Object.values(cluster).some((v) => v !== undefined);
  if (clusterSet && !db.url) warnings.push('cluster settings need a PostgreSQL database (database.url): a SQLite file has one node, which owns every execution');
  if (cluster.shards !== undefined && cluster.shards > 4096) throw new ConfigError('cluster.shards must be at most 4096');
  const enabledUi = config.ui?.enabled ?? true;
  const namespaces = ['default', ...(config.namespaces ?? []).filter((n) => n !== 'default')];
  return {
    warnings,
    options: {
      ip: config.frontend?.ip ?? '0.0.0.0',
      port: config.frontend?.port ?? 7233,
      grpcTransport: config.frontend?.grpcTransport ?? 'lean',
      dbFilename: db.filename ? path.resolve(baseDir, db.filename) : '',
      ...(db.url ? { databaseUrl: db.url } : {}),
      // The SQLite connection on a thread of its own: slower on 2 cores (docs/adr/0007-sqlite-thread.md).
      ...(db.sqliteThread ? { sqliteThread: true } : {}),
      namespaces,
      logLevel: config.log?.level ?? 'info',
      logFormat: config.log?.format ?? 'json',
      dynamicConfig: new Map(Object.entries(config.dynamicConfig ?? {})),
      searchAttributes: new Map(Object.entries(config.searchAttributes ?? {})),
      headless: !enabledUi,
      uiPort: enabledUi ? (config.ui?.port ?? 8233) : undefined,
      httpPort: config.frontend?.httpPort,
      metricsPort: config.metrics?.port,
      ...(db.url && clusterSet
        ? {
            cluster: {
              nodeId: cluster.nodeId,
              nodeAddress: cluster.nodeAddress,
              shards: cluster.shards,
              leaseMs: cluster.leaseSeconds !== undefined ? cluster.leaseSeconds * 1000 : undefined,
            },
          }
        : {}),
      ...(tls.certFile && tls.keyFile
        ? { tls: { certChain: read(tls.certFile, 'tls.certFile'), privateKey: read(tls.keyFile, 'tls.keyFile'), ...(tls.clientCaFile ? { clientCa: read(tls.clientCaFile, 'tls.clientCaFile') } : {}) } }
        : {}),
    },
  };
}

function validate(raw: Record<string, unknown>): ServerConfigFile {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const fields = SECTIONS[key];
    if (fields) out[key] = validateSection(key, value, fields);
    else if (LIST_KEYS.has(key)) out[key] = value;
    else throw new ConfigError(`unknown setting "${key}" (known: ${[...Object.keys(SECTIONS), ...LIST_KEYS].join(', ')})`);
  }
  const config = out as ServerConfigFile;
  if (config.log?.level !== undefined && !LOG_LEVELS.includes(config.log.level)) throw new ConfigError(`log.level must be one of ${LOG_LEVELS.join(', ')}`);
  if (config.log?.format !== undefined && !LOG_FORMATS.includes(config.log.format)) throw new ConfigError(`log.format must be one of ${LOG_FORMATS.join(', ')}`);
  const transport = config.frontend?.grpcTransport;
  if (transport !== undefined && !GRPC_TRANSPORTS.includes(transport)) throw new ConfigError(`frontend.grpcTransport must be one of ${GRPC_TRANSPORTS.join(', ')}`);
  if (config.namespaces !== undefined && (!Array.isArray(config.namespaces) || !config.namespaces.every((n) => typeof n === 'string' && n.trim() !== ''))) {
    throw new ConfigError('namespaces must be a list of names');
  }
  for (const [name, type] of Object.entries(mapping(config.searchAttributes, 'searchAttributes'))) {
    if (!SEARCH_ATTRIBUTE_TYPES.includes(type as SearchAttributeTypeName)) throw new ConfigError(`searchAttributes.${name} must be one of ${SEARCH_ATTRIBUTE_TYPES.join(', ')}`);
  }
  mapping(config.dynamicConfig, 'dynamicConfig');
  return config;
}

function mapping(value: unknown, key: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`${key} must be a mapping`);
  return value as Record<string, unknown>;
}

function validateSection(section: string, value: unknown, fields: Record<string, 'string' | 'port' | 'boolean' | 'count'>): Record<string, unknown> {
  const entries = mapping(value, section);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(entries)) {
    const kind = fields[key];
    const name = `${section}.${key}`;
    if (!kind) throw new ConfigError(`unknown setting "${name}" (known in ${section}: ${Object.keys(fields).join(', ')})`);
    if (kind === 'string') {
      if (typeof v !== 'string' || v.trim() === '') throw new ConfigError(`${name} must be a non-empty string`);
      out[key] = v;
    } else if (kind === 'boolean') {
      if (typeof v === 'boolean') out[key] = v;
      else if (v === 'true' || v === 'false') out[key] = v === 'true';
      else throw new ConfigError(`${name} must be true or false`);
    } else {
      const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : Number.NaN;
      const max = kind === 'port' ? 65535 : 16384;
      const min = kind === 'port' ? 0 : 1;
      if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be a whole number from ${min} to ${max}`);
      out[key] = n;
    }
  }
  return out;
}
