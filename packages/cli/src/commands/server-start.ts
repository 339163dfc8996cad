// `kairos server start`: the production server. Settings come from a config file, environment
// variables and flags (in rising precedence; server-config.ts), and it shares start-dev's lifecycle
// (banner, clean shutdown on SIGINT/SIGTERM) through runStartDev.
import path from 'node:path';
import { buildServerOptions, readConfigFile, withEnvironment } from './server-config.js';
import type { StartDevInvocation } from './server-start-dev.js';

export interface StartFlags {
  readonly config?: string;
  readonly databaseUrl?: string;
  readonly dbFilename?: string;
  readonly ip?: string;
  readonly port?: string;
  readonly logLevel?: string;
}

/** Builds the invocation; throws ConfigError (the CLI prints it and exits 1) on any invalid setting. */
export function serverInvocation(flags: StartFlags, env: Readonly<Record<string, string | undefined>>, cwd: string): StartDevInvocation {
  const file = flags.config ?? env['KAIROS_CONFIG'];
  const fromFile = file ? readConfigFile(path.resolve(cwd, file)) : {};
  const merged = withEnvironment(fromFile, env);
  // Flags override the file and the environment, key by key.
  const section = (name: string): Record<string, unknown> => (merged[name] ??= {}) as Record<string, unknown>;
  if (flags.databaseUrl !== undefined) {
    section('database')['url'] = flags.databaseUrl;
    delete section('database')['filename'];
  }
  if (flags.dbFilename !== undefined) {
    section('database')['filename'] = flags.dbFilename;
    delete section('database')['url'];
  }
  if (flags.ip !== undefined) section('frontend')['ip'] = flags.ip;
  if (flags.port !== undefined) section('frontend')['port'] = flags.port;
  if (flags.logLevel !== undefined) section('log')['level'] = flags.logLevel;
  const baseDir = file ? path.dirname(path.resolve(cwd, file)) : cwd;
  const { options, warnings } = buildServerOptions(merged, baseDir);
  return { options, warnings };
}
