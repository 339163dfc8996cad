// Bundles workflow code with esbuild into one script for the sandbox. The generated entry imports the
// user's workflows and installs the runtime of @kairos/workflow next to them, so both share one copy
// of the workflow API. Node built-ins and the Node-side SDK packages are refused at bundle time, with
// the importing file named, because nothing in the sandbox could provide them.
import { builtinModules, createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { WorkflowBundleError } from './errors.js';

export interface WorkflowBundle {
  /** A script that, evaluated in a fresh context, defines `globalThis.__kairos`. */
  readonly code: string;
}

export interface BundleOptions {
  /** The module exporting the workflow functions (TypeScript or JavaScript). */
  workflowsPath: string;
  /**
   * Module substitutions, e.g. `{ '@temporalio/workflow': '@kairos/workflow' }` to run workflow code
   * written for the official SDK unchanged.
   */
  aliases?: Readonly<Record<string, string>>;
  /**
   * A module exporting `payloadConverter` (the worker's `dataConverter.payloadConverterPath`): bundled
   * with the workflows, it converts the workflow code's values.
   */
  payloadConverterPath?: string;
  /**
   * A module exporting `failureConverter` (the worker's `dataConverter.failureConverterPath`): bundled
   * with the workflows, it turns the workflow code's errors into failures and back.
   */
  failureConverterPath?: string;
  /**
   * Workflow interceptor modules (the worker's `interceptors.workflowModules`), each exporting
   * `interceptors`: bundled with the workflows, called once per run.
   */
  workflowInterceptorModules?: readonly string[];
  /** Modules that may be imported but are never called; replaced by empty modules. */
  ignoreModules?: readonly string[];
}

const FORBIDDEN_PACKAGES = ['@kairos/worker', '@kairos/client', '@kairos/activity', '@temporalio/worker', '@temporalio/client', '@temporalio/activity'];
const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
/**
 * protobufjs loads `fs` (to read .proto files) and other built-ins with guarded `require`s that
 * webpack, the official SDK's bundler, skips (`webpackIgnore`). Its messages work without them, so
 * those requires get empty modules instead of failing the bundle.
 */
const OPTIONAL_BUILTIN_IMPORTERS = /[\\/]node_modules[\\/](protobufjs|@protobufjs[\\/][^\\/]+)[\\/]/;

function resolveRuntime(workflowsPath: string): string {
  // Prefer the copy of @kairos/workflow the workflows themselves would import, so that there is one.
  for (const base of [workflowsPath, fileURLToPath(import.meta.url)]) {
    try {
      return createRequire(base).resolve('@kairos/workflow/internal');
    } catch {
      // try the next location
    }
  }
  throw new WorkflowBundleError('cannot find @kairos/workflow: install it next to your workflows');
}

export async function bundleWorkflowCode(options: BundleOptions): Promise<WorkflowBundle> {
  const workflowsPath = path.resolve(options.workflowsPath);
  const runtimePath = resolveRuntime(workflowsPath);
  const ignored = new Set(options.ignoreModules ?? []);
  const converterPath = options.payloadConverterPath === undefined ? undefined : path.resolve(options.payloadConverterPath);
  const failureConverterPath = options.failureConverterPath === undefined ? undefined : path.resolve(options.failureConverterPath);
  const interceptorPaths = (options.workflowInterceptorModules ?? []).map((modulePath) => path.resolve(modulePath));
  const entry = [
    `import * as workflows from ${JSON.stringify(workflowsPath)};`,
    `import { installWorkflowRuntime } from ${JSON.stringify(runtimePath)};`,
    ...(converterPath === undefined
      ? ['const payloadConverter = undefined;']
      : [
          `import * as converterModule from ${JSON.stringify(converterPath)};`,
          'if (converterModule.payloadConverter === undefined) throw new Error("the module at payloadConverterPath does not export payloadConverter");',
          'const payloadConverter = converterModule.payloadConverter;',
        ]),
    ...(failureConverterPath === undefined
      ? ['const failureConverter = undefined;']
      : [
          `import * as failureConverterModule from ${JSON.stringify(failureConverterPath)};`,
          'if (failureConverterModule.failureConverter === undefined) throw new Error("the module at failureConverterPath does not export failureConverter");',
          'const failureConverter = failureConverterModule.failureConverter;',
        ]),
    ...interceptorPaths.flatMap((modulePath, i) => [
      `import * as interceptorModule${i} from ${JSON.stringify(modulePath)};`,
      `if (typeof interceptorModule${i}.interceptors !== 'function') throw new Error(${JSON.stringify(`the workflow interceptor module ${modulePath} does not export an interceptors function`)});`,
    ]),
    `installWorkflowRuntime(workflows, payloadConverter, [${interceptorPaths.map((_, i) => `interceptorModule${i}.interceptors`).join(', ')}], failureConverter);`,
  ].join('\n');
  const sandboxGuard: esbuild.Plugin = {
    name: 'kairos-sandbox-guard',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (ignored.has(args.path)) return { path: args.path, namespace: 'kairos-ignored' };
        if (builtins.has(args.path) && args.kind === 'require-call' && OPTIONAL_BUILTIN_IMPORTERS.test(args.importer)) return { path: args.path, namespace: 'kairos-ignored' };
        const forbidden = builtins.has(args.path) || FORBIDDEN_PACKAGES.some((p) => args.path === p || args.path.startsWith(`${p}/`));
        if (!forbidden) return undefined;
        return {
          errors: [
            {
              text: `workflow code may not import '${args.path}' (imported from ${args.importer}): the workflow sandbox has no Node built-ins or Node-side SDK packages; move that code into an activity`,
            },
          ],
        };
      });
      build.onLoad({ filter: /.*/, namespace: 'kairos-ignored' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
    },
  };
  let result: esbuild.BuildResult & { outputFiles: esbuild.OutputFile[] };
  try {
    result = await esbuild.build({
      stdin: { contents: entry, resolveDir: path.dirname(workflowsPath), sourcefile: 'kairos-workflow-entry.js', loader: 'js' },
      bundle: true,
      write: false,
      format: 'iife',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      conditions: ['import', 'default'],
      target: 'es2022',
      alias: { ...options.aliases },
      plugins: [sandboxGuard],
      logLevel: 'silent',
      // Keep function names: workflow types are the exported function names.
      keepNames: true,
    });
  } catch (error) {
    const failure = error as { errors?: esbuild.Message[] };
    const messages = (failure.errors ?? []).map((m) => m.text).join('\n');
    throw new WorkflowBundleError(`could not bundle ${workflowsPath}:\n${messages || String(error)}`, { cause: error });
  }
  const output = result.outputFiles[0];
  if (output === undefined) throw new WorkflowBundleError(`esbuild produced no output for ${workflowsPath}`);
  return { code: output.text };
}
