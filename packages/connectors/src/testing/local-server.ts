import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SourceDefinition } from '../connector.types.ts';

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
