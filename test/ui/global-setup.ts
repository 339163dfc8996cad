/** Before the browser tests: a fresh build of the Web UI (the server serves packages/ui/dist) and the
 * system Chromium in place. */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../e2e/helpers/server.js';
import { ensureChromium } from './helpers/browser.js';

export default function setup(): void {
  const started = Date.now();
  execFileSync(process.execPath, [path.join(REPO_ROOT, 'packages/ui/scripts/ensure-built.mjs'), '--force'], { cwd: REPO_ROOT, stdio: 'inherit' });
  console.log(`UI built in ${Date.now() - started} ms`);
  ensureChromium();
}
