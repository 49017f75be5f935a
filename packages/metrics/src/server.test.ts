import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { sharedRead } from './registry.ts';
import { probe, startMetricsServer, type MetricsServer, type ReadinessChecks } from './server.ts';

describe('startMetricsServer', () => {
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const serve = async (ready: () => Promise<ReadinessChecks>) => {
    const registry = new Registry();
    new Counter({ name: 'test_things_total', help: 'things', registers: [registry] }).inc(3);
    server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry, ready });
    return server.url;
  };

  it('serves /healthz, /readyz with its checks, /metrics in the text format, 404 and 405 otherwise', async () => {
    let redis: 'ok' | 'down' = 'ok';
    const url = await serve(async () => ({ postgres: 'ok', redis }));
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${url}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([
      200,
      { status: 'ready', checks: { postgres: 'ok', redis: 'ok' } },
    ]);
    redis = 'down';
    const notReady = await fetch(`${url}/readyz`);
    expect([notReady.status, await notReady.json()]).toEqual([
      503,
      { status: 'unavailable', checks: { postgres: 'ok', redis: 'down' } },
    ]);
    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await metrics.text()).toMatch(/^test_things_total 3$/m);
    expect((await fetch(`${url}/other`)).status).toBe(404);
    expect((await fetch(`${url}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('answers /readyz 503 `stopping` once draining, while /healthz still answers', async () => {
    const url = await serve(async () => ({ postgres: 'ok' }));
    server!.draining();
    const r = await fetch(`${url}/readyz`);
    expect([r.status, await r.json()]).toEqual([503, { status: 'stopping', checks: {} }]);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('a port in use is a start-up error', async () => {
    const url = await serve(async () => ({}));
    const port = Number(new URL(url).port);
    await expect(
      startMetricsServer({ host: '127.0.0.1', port, registry: new Registry(), ready: async () => ({}) }),
    ).rejects.toThrow(/EADDRINUSE/);
  });
});

describe('probe and sharedRead', () => {
  it('probe: ok when the check answers in time, down when it throws or does not answer', async () => {
    expect(await probe(async () => 1)).toBe('ok');
    expect(await probe(() => Promise.reject(new Error('no')))).toBe('down');
    expect(await probe(() => new Promise(() => {}), 20)).toBe('down');
  });

  it('sharedRead: calls while one is under way share it; the next call reads again', async () => {
    let reads = 0;
    const read = sharedRead(async () => ++reads);
    expect(await Promise.all([read(), read(), read()])).toEqual([1, 1, 1]);
    expect(await read()).toBe(2);
  });
});
