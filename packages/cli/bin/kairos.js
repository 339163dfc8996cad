#!/usr/bin/env node
// Runs the CLI from the prebuilt bundle (packages/cli/dist, see scripts/build-bundle.mjs) when it is up
// to date, else from the TypeScript sources through tsx. A stale bundle is rebuilt here, unless another
// process is already building it; when the build cannot run (a syntax error mid-edit, say) the sources
// run through tsx, which reports the error as before. KAIROS_NO_BUNDLE=1 always takes the tsx path.
//
// Everything happens inside this process: @temporalio/testing stops the dev server by killing the pid
// it spawned, and that must be the server itself (hence also tsx's loader registered here rather than
// through the tsx CLI, which would spawn a second process).
import { pathToFileURL } from 'node:url';
import { bundleDisabled, checkBundle } from '../scripts/bundle-state.mjs';

async function bundleToRun() {
  if (bundleDisabled()) return undefined;
  const state = checkBundle();
  if (state.bundle) return state.bundle;
  try {
    const { buildBundle } = await import('../scripts/build-bundle.mjs');
    return await buildBundle({ wait: false, quiet: true });
  } catch {
    return undefined;
  }
}

const bundle = await bundleToRun();
let runCli;
if (bundle !== undefined) {
  // As under tsx: stack traces name the TypeScript sources.
  process.setSourceMapsEnabled(true);
  ({ runCli } = await import(pathToFileURL(bundle).href));
} else {
  const { register } = await import('tsx/esm/api');
  // tsconfig: false, so that whatever tsconfig.json happens to be in the caller's cwd is not applied.
  register({ tsconfig: false });
  ({ runCli } = await import('../src/main.ts'));
}
await runCli(process.argv);
