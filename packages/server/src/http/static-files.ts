// Serves the built Web UI (packages/ui/dist) as static files. The UI routes in the browser
// (/namespaces/default/workflows/...), so any GET that is not a file gets index.html.
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/** The directory of the built UI from the `@kairos/ui` workspace, or undefined when it is not installed. */
export function defaultUiDirectory(): string | undefined {
  try {
    const manifest = createRequire(import.meta.url).resolve('@kairos/ui/package.json');
    return path.join(path.dirname(manifest), 'dist');
  } catch {
    return undefined;
  }
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Kairos</title>
<body style="font-family: system-ui; max-width: 40rem; margin: 4rem auto">
<h1>The Kairos Web UI is not built</h1>
<p>Build it with <code>npm run build:ui</code> (or <code>npm run build -w @kairos/ui</code>) and reload.
The HTTP API under <code>/api/v1/</code> works without it.</p></body>`;

export async function serveStatic(root: string | undefined, req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  if (root === undefined) return sendNotBuilt(res);
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    res.writeHead(400).end();
    return;
  }
  // path.join normalises `..`; anything that lands outside the root is refused.
  const file = path.join(root, decoded);
  if (file !== root && !file.startsWith(root + path.sep)) {
    res.writeHead(403).end();
    return;
  }
  const info = await stat(file).catch(() => undefined);
  if (info?.isFile()) {
    const type = CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream';
    // Vite names built assets by content hash, so they can be cached for good; index.html never.
    const immutable = decoded.startsWith('/assets/');
    res.writeHead(200, {
      'content-type': type,
      'content-length': info.size,
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file).pipe(res);
    return;
  }
  if (path.extname(decoded) !== '' && decoded.startsWith('/assets/')) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return;
  }
  const index = await readFile(path.join(root, 'index.html')).catch(() => undefined);
  if (index === undefined) return sendNotBuilt(res);
  res.writeHead(200, { 'content-type': CONTENT_TYPES['.html'], 'cache-control': 'no-cache' });
  res.end(req.method === 'HEAD' ? undefined : index);
}

function sendNotBuilt(res: ServerResponse): void {
  res.writeHead(503, { 'content-type': 'text/html; charset=utf-8' }).end(NOT_BUILT);
}
