/**
 * Starts `kairos server start-dev` with its Web UI for the browser tests: free gRPC and UI ports, a
 * temporary SQLite file, a wait for the banner with a deadline, and a stop that deletes the file.
 * (The end-to-end helper always passes --headless, which these tests cannot use.)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findFreePort, KAIROS_BIN, REPO_ROOT } from '../../e2e/helpers/server.js';

export interface UiServer {
  /** gRPC `host:port` for the SDK. */
  readonly address: string;
  /** Base URL of the Web UI, e.g. `http://127.0.0.1:41234`. */
  readonly uiUrl: string;
  stop(): Promise<void>;
  output(): string;
}

const STARTUP_DEADLINE_MS = 45_000;

export async function startUiServer(extraArgs: readonly string[] = []): Promise<UiServer> {
  const [port, uiPort] = [await findFreePort(), await findFreePort()];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kairos-ui-test-'));
  const args = [KAIROS_BIN, 'server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--ui-port', String(uiPort), '--db-filename', path.join(dir, 'kairos.db'), '--log-level', 'warn', ...extraArgs];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner within ${STARTUP_DEADLINE_MS} ms:\n${output}`)), STARTUP_DEADLINE_MS);
    const onData = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-8000);
      if (/Kairos UI:\s+http/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (code ${String(code)}) before it was ready:\n${output}`));
    });
  });
  return {
    address: `127.0.0.1:${port}`,
    uiUrl: `http://127.0.0.1:${uiPort}`,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(killer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
