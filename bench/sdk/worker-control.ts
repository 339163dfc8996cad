/**
 * Starts and stops bench/sdk/worker-child.ts: one worker (the official one, or the Kairos SDK's with or
 * without its workflow cache) in a process of its own, as bench sdk-worker and peers run them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { onInterrupt } from '../harness.js';

const CHILD = fileURLToPath(new URL('./worker-child.ts', import.meta.url));

export type WorkerKind = 'official' | 'kairos' | 'kairos-nocache';

/** Spawns the worker and resolves once it printed `ready`; rejects (with its stderr) if it exits or takes over 60 s. */
export async function startWorker(kind: WorkerKind, address: string, taskQueue: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, kind, address, taskQueue], { stdio: ['pipe', 'pipe', 'pipe'] });
  const unregister = onInterrupt(() => stopWorker(child));
  child.once('exit', unregister);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${kind} worker did not start within 60 s: ${stderr}`)), 60_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${kind} worker exited with ${code}: ${stderr}`));
    });
  });
  return child;
}

/** Closes the worker's stdin (it drains and exits) and waits; SIGKILL after 15 s. */
export async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}
