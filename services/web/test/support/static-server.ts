import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import { CONSOLE_CSP, cspHeader } from '@pksync/api';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/**
 * Serves the console's static root on 127.0.0.1 (port 0) for the browser tests that do not
 * need the real API (those intercept `/api/v1` in the page). Answers 404 for `/api/v1/*`. Sends
 * the console's Content-Security-Policy as the API does, so those pages run under it too.
 */
export async function serveStatic(root: string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      const rel = normalize(path === '/' ? '/index.html' : path);
      const file = join(root, rel);
      if (!file.startsWith(root.endsWith(sep) ? root : root + sep) || path.startsWith('/api/')) {
        res.writeHead(404).end();
        return;
      }
      try {
        const body = await readFile(file);
        res
          .writeHead(200, {
            'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
            'content-security-policy': cspHeader(CONSOLE_CSP),
          })
          .end(body);
      } catch {
        res.writeHead(404).end();
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
