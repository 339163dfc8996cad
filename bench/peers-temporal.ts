/**
 * The reference Temporal dev server for the `peers` scenario, when this machine has one:
 * `TEMPORAL_CLI_PATH`, else `temporal` on PATH. Started as
 * `temporal server start-dev --headless --ip 127.0.0.1 --port P --db-filename F --log-level warn`
 * (a SQLite file in a temp directory, the dev server's own defaults otherwise), ready once a client
 * gets an answer to GetSystemInfo.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { findFreePort } from '../test/e2e/helpers/server.js';

const STARTUP_DEADLINE_MS = 60_000;
const STOP_DEADLINE_MS = 15_000;

export interface TemporalBinary {
  readonly path: string;
  readonly version: string;
}

/** The `temporal` CLI to use, or undefined when there is none. */
export function temporalBinary(): TemporalBinary | undefined {
  const configured = process.env['TEMPORAL_CLI_PATH'];
  let binary = configured !== undefined && configured !== '' ? configured : undefined;
  if (binary === undefined) {
    const which = spawnSync('sh', ['-c', 'command -v temporal'], { encoding: 'utf8' });
    binary = which.status === 0 && which.stdout.trim() !== '' ? which.stdout.trim() : undefined;
  }
  if (binary === undefined) return undefined;
  const version = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  const text = `${version.stdout ?? ''}`.trim().split('\n')[0] ?? '';
  return { path: binary, version: version.status === 0 && text !== '' ? text : 'version unknown' };
}

export interface TemporalDevServer {
  readonly address: string;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export async function startTemporalDevServer(binary: string): Promise<TemporalDevServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kairos-bench-temporal-'));
  const port = await findFreePort();
  const args = ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port), '--db-filename', path.join(dir, 'temporal.db'), '--log-level', 'warn'];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => void (output = (output + chunk.toString()).slice(-4000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_DEADLINE_MS);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + STARTUP_DEADLINE_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`${binary} ${args.join(' ')} exited (${child.exitCode ?? child.signalCode}): ${output}`);
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
      } finally {
        await connection.close();
      }
      return { address, pid: child.pid, stop };
    } catch (error) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`the Temporal dev server did not answer within ${STARTUP_DEADLINE_MS} ms: ${output}`, { cause: error });
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
