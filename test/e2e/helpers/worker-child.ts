/**
 * Spawns a worker script (by default `worker-process.ts`, the official worker) in a child process and
 * waits until it prints WORKER_READY.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from './server.js';
import type { WorkerProcessConfig } from './worker-process.js';

const WORKER_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker-process.ts');
const READY_DEADLINE_MS = 60_000;

export interface WorkerChild {
  readonly pid: number;
  /** Sends `signal` and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  output(): string;
}

export async function spawnWorkerProcess(config: WorkerProcessConfig): Promise<WorkerChild> {
  return spawnWorkerScript(WORKER_SCRIPT, config);
}

/** Runs `script` (TypeScript, through tsx) with `config` as JSON in its first argument. */
export async function spawnWorkerScript(script: string, config: unknown): Promise<WorkerChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(config)], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const append = (chunk: string): void => {
    output = (output + chunk).slice(-8_000);
  };
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', append);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(`worker process not ready within ${READY_DEADLINE_MS} ms`), READY_DEADLINE_MS);
    function fail(why: string): void {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${why}\n--- worker output ---\n${output}`));
    }
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      fail(`worker process exited (code ${String(code)}, signal ${String(signal)})`);
    child.once('exit', onExit);
    child.stdout.on('data', (chunk: string) => {
      append(chunk);
      if (output.includes('WORKER_READY')) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve();
      }
    });
  });

  return {
    pid: child.pid!,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
      process.off('exit', killOnExit);
    },
    output: () => output,
  };
}
