/**
 * Runs the real `kairos` binary (packages/cli/bin/kairos.js) as a child process, the way a user does,
 * and collects its exit code, stdout and stderr.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import type { History } from './sdk.js';
import { KAIROS_BIN, REPO_ROOT } from './server.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Extra environment variables (TEMPORAL_ADDRESS etc. are removed first unless given here). */
  env?: Record<string, string>;
  /** Kill the process past this many ms (the run then fails the test). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;

export async function kairos(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // The caller's shell settings must not leak into what a test checks.
  for (const name of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'NO_COLOR', 'FORCE_COLOR']) delete env[name];
  Object.assign(env, options.env);
  const child = spawn(process.execPath, [KAIROS_BIN, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode) => resolve(exitCode));
  });
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Runs `kairos` and parses its stdout as JSON; fails with the output when it exits non-zero. */
export async function kairosJson<T = unknown>(args: readonly string[], options: CliOptions = {}): Promise<T> {
  const run = await kairos([...args, '-o', 'json'], options);
  if (run.code !== 0) throw new Error(`kairos ${args.join(' ')} exited ${String(run.code)}\n${run.stderr}\n${run.stdout}`);
  return JSON.parse(run.stdout) as T;
}

/** A failure message that shows what the command printed. */
export function describeRun(run: CliRun): string {
  return `exit ${String(run.code)}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
}

/**
 * The SDK's `historyFromJSON` (@temporalio/common/lib/proto-utils), the function `Worker.runReplayHistory`
 * applies to a JSON history. It parses with `protobufjs/ext/protojson` against the reflection root of
 * @temporalio/proto, and protojson checks `type instanceof Type`. This repository's install holds two
 * copies of protobufjs 8 (one under each of those packages, because protobufjs 7 sits at the root for
 * @grpc/proto-loader), so that check fails for every history ("type must be a Type") whatever the
 * JSON. Until the install is deduplicated, this loads a fresh copy of proto-utils whose protojson is
 * the one @temporalio/proto uses, so the test checks the history JSON and not the install layout.
 * With a single protobufjs copy it is simply the SDK's function.
 */
export function loadHistoryFromJSON(): (history: unknown) => History {
  const require = createRequire(import.meta.url);
  const protoUtilsPath = require.resolve('@temporalio/common/lib/proto-utils');
  const protoCopy = createRequire(require.resolve('@temporalio/proto')).resolve('protobufjs/ext/protojson');
  const commonCopy = createRequire(protoUtilsPath).resolve('protobufjs/ext/protojson');
  if (protoCopy === commonCopy) return (require(protoUtilsPath) as ProtoUtils).historyFromJSON;
  const Module = require('node:module') as { _resolveFilename: ResolveFilename };
  const original = Module._resolveFilename;
  Module._resolveFilename = function (request, parent, ...rest) {
    if (request === 'protobufjs/ext/protojson' && parent?.filename === protoUtilsPath) return protoCopy;
    return original.call(this, request, parent, ...rest);
  };
  const cached = require.cache[protoUtilsPath];
  delete require.cache[protoUtilsPath];
  try {
    return (require(protoUtilsPath) as ProtoUtils).historyFromJSON;
  } finally {
    Module._resolveFilename = original;
    if (cached) require.cache[protoUtilsPath] = cached;
  }
}

type ResolveFilename = (request: string, parent: { filename?: string } | undefined, ...rest: unknown[]) => string;
interface ProtoUtils {
  historyFromJSON(history: unknown): History;
}
