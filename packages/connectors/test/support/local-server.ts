import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import type { SourceDefinition } from '../../src/connector.types.ts';

/** A throw-away HTTP server for connector tests; `handler` sees every request with its 1-based number. */
export async function localServer(
  handler: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => unknown,
): Promise<{
  url: string;
  requests: { n: number; at: number; path: string; auth: string | undefined }[];
  close(): Promise<void>;
}> {
  const requests: { n: number; at: number; path: string; auth: string | undefined }[] = [];
  const server = http.createServer((req, res) => {
    const n = requests.length + 1;
    requests.push({ n, at: Date.now(), path: req.url ?? '', auth: req.headers.authorization });
    Promise.resolve(handler(req, res, n)).catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/**
 * For a test file: `serve(handler)` starts a {@link localServer} that is closed after each test;
 * `serve.keep(server)` closes any other server after the test too.
 *
 * @example const serve = useLocalServers(); const s = await serve((req, res) => res.end('ok'));
 */
export function useLocalServers(): ((...args: Parameters<typeof localServer>) => ReturnType<typeof localServer>) & {
  keep<S extends { close(): Promise<void> }>(server: S): S;
} {
  const servers: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  const keep = <S extends { close(): Promise<void> }>(server: S): S => {
    servers.push(server);
    return server;
  };
  return Object.assign(async (...args: Parameters<typeof localServer>) => keep(await localServer(...args)), { keep });
}

/**
 * A file server that answers conditional GETs by ETag (304 when `If-None-Match` matches), logging
 * `<url> <If-None-Match or ->` per request. `files` may be changed between requests; an unknown
 * path answers 500.
 */
export async function etagFileServer(files: Record<string, { body: string; etag: string }>) {
  const log: string[] = [];
  const server = await localServer((req, res) => {
    const f = files[req.url!];
    if (!f) {
      res.writeHead(500);
      return res.end();
    }
    const inm = req.headers['if-none-match'];
    log.push(`${req.url} ${inm ?? '-'}`);
    if (inm === f.etag) {
      res.writeHead(304, { etag: f.etag });
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'text/csv', etag: f.etag });
    res.end(f.body);
  });
  return Object.assign(server, { log });
}

export function json(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

export function sourceDef(over: Partial<SourceDefinition> = {}): SourceDefinition {
  return {
    id: '16.71-disnaker',
    agency: 'Dinas Tenaga Kerja Kota Palembang',
    regionCode: '16.71',
    transport: 'api',
    url: null,
    formationsUrl: null,
    workloadsUrl: null,
    token: null,
    enabled: true,
    timeoutS: null,
    maxBytes: null,
    maxRows: null,
    ...over,
  };
}

/** Fast retry policy for tests. */
export const FAST = {
  backoffBaseMs: 10,
  backoffMaxMs: 40,
  attempts: 4,
  requestTimeoutMs: 2000,
  fetchTimeoutMs: 20_000,
};
