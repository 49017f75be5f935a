import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { within } from './registry.ts';

/** What `/readyz` reports: each dependency `ok` or `down`. */
export type ReadinessChecks = Record<string, 'ok' | 'down'>;

export interface MetricsServerOptions {
  host: string;
  /** 0: any free port (tests). */
  port: number;
  registry: Registry;
  /** The dependencies' state (PostgreSQL, Redis) for `/readyz`; each check should answer quickly. */
  ready: () => Promise<ReadinessChecks>;
}

export interface MetricsServer {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  /** From now on `/readyz` answers 503 `stopping` (a stopping process takes no new work). */
  draining(): void;
  close(): Promise<void>;
}

/**
 * `ok` when `check` answers within `ms` (default 2 s, as the API's `/readyz`), else `down`.
 *
 * @example const postgres = await probe(() => pingDatabase(db));
 */
export async function probe(check: () => Promise<unknown>, ms = 2_000): Promise<'ok' | 'down'> {
  try {
    await within(ms, check());
    return 'ok';
  } catch {
    return 'down';
  }
}

const json = (status: number, body: unknown) => ({ status, type: 'application/json', body: JSON.stringify(body) });

/**
 * Serves a worker's or the scheduler's health and metrics over node:http:
 * `/healthz` (200 while the process runs), `/readyz` (200 `ready` when every check is `ok`, else 503
 * `unavailable` with the checks, as the API's) and `/metrics` (the registry, Prometheus text format).
 *
 * @example
 * const server = await startMetricsServer({ host: '127.0.0.1', port: 9464, registry, ready });
 * console.log(`${server.url}/metrics`);
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  let stopping = false;
  const answer = async (path: string) => {
    if (path === '/healthz') return json(200, { status: 'ok' });
    if (path === '/readyz') {
      if (stopping) return json(503, { status: 'stopping', checks: {} });
      const checks = await options.ready();
      const ok = Object.values(checks).every((c) => c === 'ok');
      return json(ok ? 200 : 503, { status: ok ? 'ready' : 'unavailable', checks });
    }
    if (path === '/metrics')
      return { status: 200, type: options.registry.contentType, body: await options.registry.metrics() };
    return json(404, { error: 'not_found' });
  };
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://metrics').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res
        .writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' })
        .end('{"error":"method_not_allowed"}');
      return;
    }
    answer(path).then(
      (a) => res.writeHead(a.status, { 'content-type': a.type, 'cache-control': 'no-store' }).end(a.body),
      (e: unknown) =>
        res
          .writeHead(500, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: 'internal', message: e instanceof Error ? e.message : String(e) })),
    );
  });
  // Scrapes and probes are short: an idle keep-alive connection must not hold a shutdown up.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    draining() {
      stopping = true;
    },
    close() {
      stopping = true;
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
