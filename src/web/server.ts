// A small static server for the web pages (`normlab serve`, `npm run web`, and the browser tests):
// web/ at /, plus the two things the explainer links to, docs/ at /docs/ and the kernels at
// /src/shaders/. GET and HEAD only, nothing outside those folders, loopback by default.
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../engine/errors.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.wgsl': 'text/plain; charset=utf-8',
  '.gz': 'application/octet-stream',
  '.png': 'image/png',
};

/** The project folder holding web/index.html, found from this module upwards (src/web/ or dist/). */
export function findProjectRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'web', 'index.html'))) return dir;
    if (dirname(dir) === dir) throw new UserError('cannot find the web/ folder of normlab (web/index.html) above this program');
  }
}

/** The file a URL path names, or null when it is outside what is served. */
export function resolveWebPath(root: string, urlPath: string): string | null {
  let path: string;
  try {
    path = decodeURIComponent(urlPath.split('?')[0]!.split('#')[0]!);
  } catch {
    return null;
  }
  if (path.includes('\0') || path.split('/').some((part) => part === '..')) return null;
  if (path === '/' || path === '') path = '/index.html';
  const mounts: [string, string][] = [
    ['/docs/', join(root, 'docs')],
    ['/src/shaders/', join(root, 'src', 'shaders')],
    ['/', join(root, 'web')],
  ];
  for (const [prefix, dir] of mounts) {
    if (!path.startsWith(prefix)) continue;
    const file = resolve(dir, path.slice(prefix.length));
    return file === dir || file.startsWith(dir + sep) ? file : null;
  }
  return null;
}

export interface WebServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export async function startWebServer(options: { root?: string; host?: string; port?: number; log?: (line: string) => void } = {}): Promise<WebServer> {
  const root = options.root ?? findProjectRoot();
  const host = options.host ?? '127.0.0.1';
  if (!existsSync(join(root, 'web', 'dist', 'train-page.js'))) {
    throw new UserError(`the web bundle is missing (${join(root, 'web', 'dist')}): build it with \`npm run build\` (or use \`npm run web\`)`);
  }
  const server = createServer((req, res) => {
    const send = (status: number, body: string): void => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'only GET and HEAD\n');
    const file = resolveWebPath(root, req.url ?? '/');
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      options.log?.(`404 ${req.url}`);
      return send(404, `not found: ${req.url}\n`);
    }
    const body = readFileSync(file);
    // no-store: a rebuilt bundle is picked up by a reload.
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': body.length, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      fail(
        e.code === 'EADDRINUSE'
          ? new UserError(`port ${options.port} on ${host} is in use: pass --port N (or --port 0 for any free port)`)
          : e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND'
            ? new UserError(`cannot listen on ${host}: no such address on this machine`)
            : e,
      ),
    );
    server.listen(options.port ?? 8080, host, () => ok());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`,
    server,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections(); // a browser's keep-alive connections would hold close() open
      }),
  };
}
