/**
 * The Vercel Workflow DevKit row of the `peers` scenario, in a process of its own:
 * `tsx bench/peers-vercel.ts '<ChildSettings JSON>'`, where `target` is an empty temp directory.
 *
 * The DevKit needs a build step: its SWC plugin turns "use workflow" / "use step" functions into a
 * workflow bundle (run in a VM, replayed from the event log) and a step bundle, served as
 * `POST /.well-known/workflow/v1/{flow,step}` routes that the world's queue calls over HTTP. A
 * framework plugin (Next.js, Nitro, ...) normally does both; here the DevKit's own standalone
 * builder (`StandaloneBuilder` from @workflow/builders, what `workflow build` runs) compiles
 * bench/peers-vercel-workflow.ts in the temp directory, and a plain node:http server in this process
 * serves the two bundles. The world is the local one (`@workflow/world-local`, the default outside
 * Vercel): runs, steps and events are JSON files under `<target>/data`, the queue is in memory and
 * delivers over HTTP to this process. Workflows are started with `start()` from `workflow/api`.
 *
 * `Run.returnValue` polls the run every 1 s; to time completions as closely as the other rows, the
 * bench reads the run's status every 10 ms instead (a file read each).
 */
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { closedLoop, ownCpuSeconds, printChildReport, type ChildSettings } from './peers-load.js';

const settings = JSON.parse(process.argv[2] ?? '{}') as ChildSettings;
const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(BENCH_DIR, '..');
const ROUTES = '.well-known/workflow/v1';
const POLL_MS = 10;

type RouteHandler = (request: Request) => Promise<Response>;

/** Compiles the workflow file with the DevKit's standalone builder; returns the bundles' directory and the workflow id. */
async function build(project: string): Promise<{ routes: string; workflowId: string }> {
  mkdirSync(path.join(project, 'workflows'), { recursive: true });
  copyFileSync(path.join(BENCH_DIR, 'peers-vercel-workflow.ts'), path.join(project, 'workflows', 'one-step.ts'));
  writeFileSync(path.join(project, 'package.json'), '{ "name": "kairos-bench-vercel-workflow", "private": true, "type": "module" }\n');
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(project, 'node_modules'), 'dir');
  // SWC keeps its compiled-plugin cache in `.swc/` under the working directory: keep it in the temp project.
  process.chdir(project);
  const { StandaloneBuilder } = await import('@workflow/builders');
  await new StandaloneBuilder({
    buildTarget: 'standalone',
    dirs: ['./workflows'],
    workingDir: project,
    stepsBundlePath: `./${ROUTES}/step.js`,
    workflowsBundlePath: `./${ROUTES}/flow.js`,
    webhookBundlePath: `./${ROUTES}/webhook.js`,
  }).build();
  const routes = path.join(project, ROUTES);
  // The bundles are CommonJS with a .js name, inside a "type": "module" project.
  writeFileSync(path.join(routes, 'package.json'), '{ "type": "commonjs" }\n');
  const manifest = JSON.parse(readFileSync(path.join(routes, 'manifest.json'), 'utf8')) as {
    workflows: Record<string, Record<string, { workflowId: string }>>;
  };
  const workflowId = manifest.workflows['workflows/one-step.ts']?.['oneStepWorkflow']?.workflowId;
  if (workflowId === undefined) throw new Error(`oneStepWorkflow not in the build manifest: ${JSON.stringify(manifest.workflows)}`);
  return { routes, workflowId };
}

/** Serves the flow and step bundles the way a framework would mount them. */
async function serve(routes: string): Promise<http.Server> {
  const require = createRequire(path.join(routes, 'flow.js'));
  const flow = require('./flow.js') as { POST: RouteHandler };
  const step = require('./step.js') as { POST: RouteHandler };
  const server = http.createServer((req, res) => {
    void (async () => {
      const url = req.url ?? '/';
      const handler = url.startsWith(`/${ROUTES}/flow`) ? flow.POST : url.startsWith(`/${ROUTES}/step`) ? step.POST : undefined;
      if (handler === undefined || req.method !== 'POST') {
        res.writeHead(404).end();
        return;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value);
      const response = await handler(new Request(`http://127.0.0.1${url}`, { method: 'POST', headers, body: Buffer.concat(chunks) }));
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(Buffer.from(await response.arrayBuffer()));
    })().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function main(): Promise<void> {
  const setupStart = performance.now();
  const { routes, workflowId } = await build(settings.target);
  const dataDir = path.join(settings.target, 'data');
  // Read by the local world (in the bundles and in workflow/api) when it is first used.
  process.env['WORKFLOW_LOCAL_DATA_DIR'] = dataDir;
  const server = await serve(routes);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  process.env['WORKFLOW_LOCAL_BASE_URL'] = `http://127.0.0.1:${address.port}`;
  const { start } = await import('workflow/api');
  try {
    const execute = async (): Promise<void> => {
      const run = await start({ workflowId }, []);
      for (;;) {
        const status = await run.status;
        if (status === 'completed') break;
        if (status === 'failed' || status === 'cancelled') throw new Error(`run ${run.runId} ${status}`);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      if ((await run.returnValue) !== 'done') throw new Error('unexpected workflow result');
    };
    await execute(); // warm-up, unmeasured
    const setupSeconds = (performance.now() - setupStart) / 1000;
    const cpuBefore = ownCpuSeconds();
    const load = await closedLoop(settings.workflows, settings.concurrency, execute);
    printChildReport({
      load,
      setupSeconds,
      cpuSeconds: { 'DevKit process (runtime, world, HTTP routes, caller)': ownCpuSeconds() - cpuBefore },
      durability: {
        store: '@workflow/world-local: JSON files in a temp directory',
        fsync: 'none (each file is written to a temp name and renamed; no fsync)',
        queue: 'in memory, delivered over HTTP to this process; unfinished runs are re-enqueued from the files on restart',
      },
    });
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`vercel workflow child failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
