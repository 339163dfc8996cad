// Builds the Web UI when packages/ui/dist is missing (a fresh clone), so that `npm start` serves it.
// `--force` rebuilds regardless (the browser tests use it so they never test a stale build).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const force = process.argv.includes('--force');
if (force || !existsSync(path.join(root, 'dist', 'index.html'))) {
  // Vite's CLI sets this for a build, its JS API does not: without it React ships its development build.
  process.env.NODE_ENV = 'production';
  const { build } = await import('vite');
  await build({ root, logLevel: 'warn' });
  console.log(`Kairos UI built into ${path.join(root, 'dist')}`);
}
