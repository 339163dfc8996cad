// Where the prebuilt CLI bundle lives and whether it may run. bin/kairos.js imports this on every
// start, so it only reads a manifest and stats files: no esbuild, no TypeScript.
//
// The manifest (dist/bundle.json) lists every file the bundle was built from (the .ts sources, the
// dependencies' .js files, the package.json files on their way, the lockfile npm rewrites on every
// install, the build scripts) with the mtime and size each had. The bundle is fresh only while every
// one of them still has exactly that mtime and size: an edit, a `git checkout`, an `npm install` or a
// deleted file makes it stale, and a stale bundle never runs (see docs/adr/0005-cli-bundle.md).
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = path.resolve(CLI_DIR, '../..');
export const DIST_DIR = path.join(CLI_DIR, 'dist');
export const MANIFEST_FILE = path.join(DIST_DIR, 'bundle.json');
/** Bumped when the manifest's shape or the bundle's build options change meaning. */
export const MANIFEST_FORMAT = 3;

/** Set (to anything but "" or "0") to always run the TypeScript sources through tsx. */
export function bundleDisabled(env = process.env) {
  const value = env['KAIROS_NO_BUNDLE'];
  return value !== undefined && value !== '' && value !== '0';
}

/**
 * `{ bundle }` (an absolute path) when the bundle is up to date, else `{ reason }` saying why not.
 * @returns {{ bundle: string, reason?: undefined } | { bundle?: undefined, reason: string }}
 */
export function checkBundle() {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(MANIFEST_FILE, 'utf8'));
  } catch {
    return { reason: 'no bundle has been built' };
  }
  if (!isManifest(manifest)) return { reason: 'the bundle manifest is from another version of the build script' };
  for (const [file, mtimeMs, size] of manifest.inputs) {
    const stats = statSync(path.join(REPO_ROOT, file), { throwIfNoEntry: false });
    if (stats === undefined) return { reason: `${file} is gone` };
    if (stats.mtimeMs !== mtimeMs || stats.size !== size) return { reason: `${file} changed` };
  }
  const bundle = path.join(DIST_DIR, manifest.bundle);
  if (statSync(bundle, { throwIfNoEntry: false }) === undefined) return { reason: `${manifest.bundle} is missing` };
  return { bundle };
}

/** @returns {value is { format: number, bundle: string, inputs: Array<[string, number, number]> }} */
function isManifest(value) {
  return (
    typeof value === 'object' &&
    value !== null &&
    value.format === MANIFEST_FORMAT &&
    typeof value.bundle === 'string' &&
    /^kairos-[\w-]+\/main\.mjs$/.test(value.bundle) &&
    Array.isArray(value.inputs) &&
    value.inputs.length > 0 &&
    value.inputs.every((e) => Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'number' && typeof e[2] === 'number')
  );
}
