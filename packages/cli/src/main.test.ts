// Runs the real launcher as a separate process, the way @temporalio/testing and `npx kairos` do.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { grpcHealth } from '@kairos/common';

const launcher = fileURLToPath(new URL('../bin/kairos.js', import.meta.url));
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const children = new Set<ChildProcessWithoutNullStreams>();
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

function launch(args: string[]): { child: ChildProcessWithoutNullStreams; exit: Promise<Exit>; output: { stdout: string; stderr: string } } {
  // Spawned by path, as the SDK's test harness does: the shebang must make it runnable on its own.
  const child = spawn(launcher, args, { stdio: 'pipe' });
  children.add(child);
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  const exit = new Promise<Exit>((resolve) =>
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal, ...output });
    }),
  );
  return { child, exit, output };
}

async function until(condition: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('kairos launcher', () => {
  it('prints its version', async () => {
    const result = await launch(['--version']).exit;
    expect(result).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('prints help that lists server start-dev and its flags', async () => {
    expect((await launch(['--help']).exit).stdout).toContain('server');
    const help = await launch(['server', 'start-dev', '--help']).exit;
    expect(help.code).toBe(0);
    for (const flag of ['--port', '--db-filename', '--namespace', '--dynamic-config-value', '--headless']) {
      expect(help.stdout).toContain(flag);
    }
  });

  it('rejects an unknown flag with exit code 2 and says which', async () => {
    const result = await launch(['server', 'start-dev', '--colour']).exit;
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown option '--colour'");
  });

  it('starts a dev server that answers Health Check, and stops with exit 0 on SIGTERM', async () => {
    const { child, exit, output } = launch(['server', 'start-dev', '-p', '0', '--headless', '-f', ':memory:', '--ip', '127.0.0.1']);
    await until(() => output.stdout.includes('Database:'), 'the banner');
    const address = /Kairos Server: +(\S+)/.exec(output.stdout)?.[1];
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(output.stdout).not.toContain('Kairos UI:');

    const health = grpcHealth.health.v1;
    const client = new grpc.Client(address ?? '', grpc.credentials.createInsecure());
    try {
      const status = await new Promise<number>((resolve, reject) =>
        client.makeUnaryRequest(
          '/grpc.health.v1.Health/Check',
          (b: Uint8Array) => Buffer.from(b),
          (b: Buffer) => health.HealthCheckResponse.decode(b).status,
          health.HealthCheckRequest.encode({ service: 'temporal.api.workflowservice.v1.WorkflowService' }).finish(),
          (err, value) => (err ? reject(err) : resolve(value ?? 0)),
        ),
      );
      expect(status).toBe(health.HealthCheckResponse.ServingStatus.SERVING);
    } finally {
      client.close();
    }

    child.kill('SIGTERM');
    expect(await exit).toMatchObject({ code: 0, signal: null });
  });
});
