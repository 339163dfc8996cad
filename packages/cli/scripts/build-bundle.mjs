// Builds the CLI, with the server and every JavaScript dependency, into one ES module,
// packages/cli/dist/kairos-<id>/main.mjs (and its source map), so that `kairos` starts without loading
// hundreds of modules through tsx.
//
//   node packages/cli/scripts/build-bundle.mjs            build unless the bundle is up to date
//   node packages/cli/scripts/build-bundle.mjs --force    build regardless
//   node packages/cli/scripts/build-bundle.mjs --check    only say whether it is up to date (exit 1 if not)
//
// bin/kairos.js also calls buildBundle() when it finds the bundle stale. Builds may run concurrently
// (tests spawn the bin in parallel): a lock file lets one process build while the others go on
// through tsx. Each build writes a new directory under a temporary name and renames it into place,
// then replaces the manifest the same way, so a reader sees either the previous bundle or the
// complete new one. Design: docs/adr/0005-cli-bundle.md.
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkBundle, CLI_DIR, DIST_DIR, MANIFEST_FILE, MANIFEST_FORMAT, REPO_ROOT } from './bundle-state.mjs';

const ENTRY = path.join(CLI_DIR, 'src/main.ts');
/** The SQLite thread's entry (packages/server/src/persistence/sqlite/threaded-store.ts starts it). */
const SQLITE_THREAD_ENTRY = path.join(REPO_ROOT, 'packages/server/src/persistence/sqlite/sqlite-thread-main.ts');
const LOCK_FILE = path.join(DIST_DIR, '.build.lock');
/** A lock older than this belongs to a builder that died. */
const LOCK_STALE_MS = 120_000;
/** Superseded bundles are deleted once they are this old (a process may be about to load one). */
const PRUNE_AFTER_MS = 60 * 60_000;
/**
 * An input modified this close to the start of the build (or after it) may have changed while esbuild
 * read it. Timestamps come from a coarse kernel clock, so "before the start" needs a margin.
 */
const MTIME_MARGIN_MS = 1_000;

/**
 * Native addons cannot be inlined; pg-native and pg-cloudflare are optional peers of pg that are not
 * installed (pg requires them only when asked to use them).
 */
const EXTERNAL = ['better-sqlite3', 'pg-native', 'pg-cloudflare'];

/** Node's own resolution, not esbuild's defaults: no "module" condition, no "module" main field. */
const RESOLUTION = { conditions: [], mainFields: ['main'] };

// The output is an ES module, but bundled CommonJS still calls require() for Node built-ins and reads
// __dirname; sources read import.meta.url. These helpers give each input the values it had on disk,
// relative to the output file (packages/cli/dist/kairos-<id>/main.mjs, four levels below the
// repository root), so the checkout may move.
const BANNER = [
  "import { createRequire as __kairosCreateRequire } from 'node:module';",
  "import { dirname as __kairosDirname } from 'node:path';",
  "import { fileURLToPath as __kairosFileURLToPath } from 'node:url';",
  'const require = __kairosCreateRequire(import.meta.url);',
  "const __kairosRoot = new URL('../../../../', import.meta.url);",
  'const __kairosSourceUrl = (file) => new URL(file, __kairosRoot).href;',
  'const __kairosSourcePath = (file) => __kairosFileURLToPath(__kairosSourceUrl(file));',
  // Where the bundle is: threaded-store.ts starts its thread from sqlite-thread.mjs beside it.
  'globalThis.__kairosBundleUrl = import.meta.url;',
].join('\n');

/** Rewrites, in each input, what would otherwise name the bundle instead of the input itself. */
const sourceLocationPlugin = {
  name: 'kairos-source-location',
  setup(build) {
    build.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!/import\.meta\.(url|dirname|filename)|__dirname|__filename/.test(text)) return undefined;
      const file = JSON.stringify(path.relative(REPO_ROOT, args.path).split(path.sep).join('/'));
      let contents = text
        .replaceAll('import.meta.url', `__kairosSourceUrl(${file})`)
        .replaceAll('import.meta.filename', `__kairosSourcePath(${file})`)
        .replaceAll('import.meta.dirname', `__kairosDirname(__kairosSourcePath(${file}))`);
      // A module that declares its own (ESM code computing them from import.meta.url) keeps them.
      if (/__dirname|__filename/.test(contents) && !/\b(?:var|let|const|function)\s+__(?:dirname|filename)\b/.test(contents)) {
        // Declared on the first line (after a hashbang) so that line numbers in stack traces still match.
        const prefix = `var __filename = __kairosSourcePath(${file}), __dirname = __kairosDirname(__filename);`;
        const hashbang = /^#!.*\n/.exec(contents)?.[0] ?? '';
        contents = hashbang + prefix + contents.slice(hashbang.length);
      }
      return { contents, loader: /\.[cm]?ts$/.test(args.path) ? 'ts' : 'js' };
    });
  },
};

/**
 * Keeps the EXTERNAL packages out of the bundle. esbuild would hoist an ES `import` of one to the top
 * of the bundle, loading better-sqlite3's addon on every start (even `kairos --version`); instead such
 * an import becomes a CommonJS stub that requires the package, from the importing file's location,
 * when the importing module is first evaluated, as before. A `require()` of one is left as it is.
 */
const externalPlugin = {
  name: 'kairos-external',
  setup(build) {
    const names = new RegExp(`^(${EXTERNAL.join('|')})(/|$)`);
    build.onResolve({ filter: names }, (args) => {
      if (args.kind !== 'import-statement') return { path: args.path, external: true };
      const importer = path.relative(REPO_ROOT, args.importer).split(path.sep).join('/');
      return { path: `${args.path}?from=${importer}`, namespace: 'kairos-external', pluginData: { name: args.path, importer } };
    });
    build.onLoad({ filter: /.*/, namespace: 'kairos-external' }, (args) => ({
      contents: `module.exports = __kairosCreateRequire(__kairosSourceUrl(${JSON.stringify(args.pluginData.importer)}))(${JSON.stringify(args.pluginData.name)});`,
      loader: 'js',
    }));
  },
};

/**
 * The esbuild options of the bundle (exported for experiments: bench variants, size reports).
 * @param {string} outdir @param {boolean} quiet
 */
export function esbuildOptions(outdir, quiet) {
  return {
    absWorkingDir: REPO_ROOT,
    entryPoints: { main: ENTRY, 'sqlite-thread': SQLITE_THREAD_ENTRY },
    outdir,
    outExtension: { '.js': '.mjs' },
    // One file per entry, no code splitting: esbuild's chunks would give `await import()` of a CommonJS module
    // (the CLI's lazy `@temporalio/client/lib/connection.js`) only a default export, where Node gives
    // named ones too. The lazily imported parts are still evaluated only when a command needs them.
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.9',
    // As tsx runs the sources: no tsconfig.json applied, whitespace minified, source maps for stack
    // traces. No keepNames: it wraps every function, closures included, in a call that costs the
    // server about a tenth of its CPU (docs/adr/0005-cli-bundle.md).
    tsconfigRaw: '{}',
    minifyWhitespace: true,
    sourcemap: 'linked',
    sourcesContent: false,
    ...RESOLUTION,
    banner: { js: BANNER },
    plugins: [externalPlugin, sourceLocationPlugin],
    logLevel: quiet ? 'silent' : 'warning',
  };
}

/**
 * Builds the bundle unless it is up to date. Returns its path, or undefined when another process holds
 * the build lock and `wait` is false. Throws on a build error (a syntax error in a source, say).
 * @param {{ force?: boolean, wait?: boolean, quiet?: boolean }} [options]
 * @returns {Promise<string | undefined>}
 */
export async function buildBundle(options = {}) {
  const { force = false, wait = true, quiet = false } = options;
  if (!force) {
    const state = checkBundle();
    if (state.bundle) return state.bundle;
  }
  mkdirSync(DIST_DIR, { recursive: true });
  const lock = await acquireLock(wait);
  if (lock === undefined) return undefined;
  try {
    // Someone else may have finished a build while we waited for the lock.
    if (!force) {
      const state = checkBundle();
      if (state.bundle) return state.bundle;
    }
    return await build(quiet);
  } finally {
    closeSync(lock);
    rmSync(LOCK_FILE, { force: true });
  }
}

/** @param {boolean} quiet */
async function build(quiet) {
  const esbuild = await import('esbuild');
  const started = Date.now();
  const name = `kairos-${started.toString(36)}-${randomBytes(4).toString('hex')}`;
  const outdir = path.join(DIST_DIR, name);
  const temporary = path.join(DIST_DIR, `.${name}.tmp`);
  try {
    const result = await esbuild.build(esbuildOptions(outdir, quiet));
    mkdirSync(temporary);
    for (const output of result.outputFiles) writeFileSync(path.join(temporary, path.relative(outdir, output.path)), output.contents);
    renameSync(temporary, outdir);
    const bundle = path.join(outdir, 'main.mjs');
    const inputs = inputsOf(result.metafile);
    const changed = inputs.find(([, mtimeMs]) => mtimeMs >= started - MTIME_MARGIN_MS);
    if (changed === undefined) {
      const manifest = { format: MANIFEST_FORMAT, bundle: `${name}/main.mjs`, builtAt: new Date(started).toISOString(), inputs };
      writeAtomically(MANIFEST_FILE, `${JSON.stringify(manifest)}\n`);
      if (!quiet) process.stdout.write(`Kairos CLI bundled into ${path.relative(REPO_ROOT, outdir)} (${inputs.length} inputs, ${Date.now() - started} ms)\n`);
    } else if (!quiet) {
      // This build may hold a half-saved file: use it this once, but do not record it as up to date.
      process.stdout.write(`Kairos CLI bundled, but ${changed[0]} changed during the build: it will be rebuilt on next use\n`);
    }
    pruneOldBundles(name);
    return bundle;
  } finally {
    rmSync(temporary, { recursive: true, force: true });
    await esbuild.stop();
  }
}

/**
 * Every file the bundle depends on, as [path from the repository root, mtimeMs, size]: the inputs
 * esbuild read, the package.json of each package they belong to (exports, main) and the files that
 * decide how they were built.
 * @returns {Array<[string, number, number]>}
 */
function inputsOf(metafile) {
  const files = new Set();
  const packageFiles = new Map();
  const nearestPackageJson = (dir) => {
    if (packageFiles.has(dir)) return packageFiles.get(dir);
    const candidate = path.join(dir, 'package.json');
    const parent = path.dirname(dir);
    const found = existsSync(candidate) ? candidate : parent === dir ? undefined : nearestPackageJson(parent);
    packageFiles.set(dir, found);
    return found;
  };
  for (const input of Object.keys(metafile.inputs)) {
    // Skip esbuild's virtual modules ("<runtime>", "(disabled):...").
    const file = path.resolve(REPO_ROOT, input);
    if (!existsSync(file)) continue;
    files.add(file);
    const packageJson = nearestPackageJson(path.dirname(file));
    if (packageJson !== undefined) files.add(packageJson);
  }
  const scripts = path.dirname(fileURLToPath(import.meta.url));
  files.add(path.join(scripts, 'build-bundle.mjs'));
  files.add(path.join(scripts, 'bundle-state.mjs'));
  files.add(path.join(REPO_ROOT, 'package.json'));
  // npm rewrites its hidden lockfile whenever it changes node_modules.
  for (const extra of ['node_modules/.package-lock.json', 'node_modules/esbuild/package.json']) {
    if (existsSync(path.join(REPO_ROOT, extra))) files.add(path.join(REPO_ROOT, extra));
  }
  return [...files].sort().map((file) => {
    const stats = statSync(file);
    return [path.relative(REPO_ROOT, file).split(path.sep).join('/'), stats.mtimeMs, stats.size];
  });
}

/** @param {string} file @param {string | Uint8Array} contents */
function writeAtomically(file, contents) {
  const temporary = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, file);
}

/** @param {boolean} wait @returns {Promise<number | undefined>} the lock's file descriptor */
async function acquireLock(wait) {
  const deadline = Date.now() + LOCK_STALE_MS;
  for (;;) {
    try {
      const fd = openSync(LOCK_FILE, 'wx');
      writeSync(fd, `${process.pid}\n`);
      return fd;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    }
    const held = statSync(LOCK_FILE, { throwIfNoEntry: false });
    if (held !== undefined && Date.now() - held.mtimeMs > LOCK_STALE_MS) {
      rmSync(LOCK_FILE, { force: true });
      continue;
    }
    if (!wait || Date.now() > deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Deletes superseded bundles and the directories of builds that died, once old enough. */
function pruneOldBundles(current) {
  const now = Date.now();
  for (const entry of readdirSync(DIST_DIR)) {
    if (entry === current || !/^\.?kairos-/.test(entry)) continue;
    const file = path.join(DIST_DIR, entry);
    const stats = statSync(file, { throwIfNoEntry: false });
    if (stats !== undefined && now - stats.mtimeMs > PRUNE_AFTER_MS) rmSync(file, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--check')) {
    const state = checkBundle();
    process.stdout.write(state.bundle ? `up to date: ${path.relative(REPO_ROOT, state.bundle)}\n` : `stale: ${state.reason}\n`);
    process.exitCode = state.bundle ? 0 : 1;
  } else {
    const force = process.argv.includes('--force');
    const state = force ? undefined : checkBundle();
    if (state?.bundle) process.stdout.write(`Kairos CLI bundle is up to date: ${path.relative(REPO_ROOT, state.bundle)}\n`);
    else await buildBundle({ force });
  }
}
