import { spawn, type ChildProcess } from 'node:child_process';
import net, { type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '@pksync/db';
import { createQueueClient, producerConnection } from '@pksync/queue';
import { useTestDatabase, useTestRedis } from '@pksync/testing';
import { createKeys, createResponseChecker, seedRegister, startTestApi, type Keys } from './helpers.ts';
// The fault suite's own Redis server (a free port, never the shared one), to stop and start at will.
import { startRedis, type FaultRedis } from '../../../test/faults/support/redis.ts';

/** A port nothing listens on (taken from the system, then released). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A TCP proxy in front of the shared PostgreSQL, to take "PostgreSQL" away and bring it back
 * without touching the real server: `down()` closes the listener and every connection through it.
 */
function tcpProxy(target: { host: string; port: number }) {
  const sockets = new Set<net.Socket>();
  let server: net.Server | null = null;
  let port = 0;
  return {
    get port() {
      return port;
    },
    async up(): Promise<void> {
      server = net.createServer((client) => {
        const upstream = net.connect(target.port, target.host);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('error', () => {});
          s.on('close', () => {
            sockets.delete(s);
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    },
    async down(): Promise<void> {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
      server = null;
    },
  };
}

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe().catch(() => undefined as T);
    if (last !== undefined && ok(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${what}: not within ${ms} ms (last: ${JSON.stringify(last)})`);
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

const envelope = (name: RegExp) => ({
  error: { code: 'unavailable', message: expect.stringMatching(name) as unknown as string },
});

describe('the API survives PostgreSQL and Redis outages: 503 with the envelope, then 200 again, never exits', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  let keys: Keys;

  beforeAll(async () => {
    await seedRegister(t.db);
    keys = await createKeys(t.db);
  });

  it('answers 503 naming Redis for a trigger and readiness when Redis is not reachable; reads still work', async () => {
    const dead = `redis://127.0.0.1:${await freePort()}`;
    const redis = producerConnection(dead);
    const queues = createQueueClient({ redisUrl: dead, prefix: `${r.prefix}x` });
    const api = await startTestApi(t.db, r.url, `${r.prefix}x`, { redis, queues });
    try {
      const doc = (await (await fetch(`${api.url}/api/v1/openapi.json`)).json()) as Parameters<
        typeof createResponseChecker
      >[0];
      // Every operation documents its 503 (a dependency down, the server closing).
      for (const [p, methods] of Object.entries(doc.paths))
        for (const [m, op] of Object.entries(methods))
          expect(Object.keys(op.responses ?? {}), `${m} ${p}`).toContain('503');
      const check = createResponseChecker(doc);
      const sync = await fetch(`${api.url}/api/v1/sync`, {
        method: 'POST',
        headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ scope: { region: '16.71' }, reason: 'outage test' }),
      });
      expect(sync.status).toBe(503);
      expect(sync.headers.get('retry-after')).toBe('5');
      const syncBody = (await sync.json()) as unknown;
      expect(syncBody).toEqual(envelope(/Redis/));
      check('POST', '/api/v1/sync', 503, syncBody);
      // The run that could not be queued does not block its scope (triggerRun marks it failed).
      const runs = await t.db.selectFrom('runs').select('status').where('scope_key', '=', 'region:16.71').execute();
      expect(runs.map((x) => x.status)).toEqual(['failed']);

      const ready = await fetch(`${api.url}/api/v1/readyz`);
      expect(ready.status).toBe(503);
      const readyBody = (await ready.json()) as unknown;
      expect(readyBody).toEqual({
        status: 'unavailable',
        checks: { postgres: 'ok', redis: 'down' },
        ...envelope(/Redis/),
      });
      check('GET', '/api/v1/readyz', 503, readyBody);
      expect((await fetch(`${api.url}/api/v1/officers?limit=1`)).status).toBe(200);
    } finally {
      await api.close();
      await queues.close();
      redis.disconnect();
    }
  });

  it('answers 503 naming PostgreSQL when the database refuses connections, for public and keyed routes alike', async () => {
    const refused = createDb(`postgres://postgres@127.0.0.1:${await freePort()}/pksync`);
    const api = await startTestApi(refused, r.url, `${r.prefix}p`);
    try {
      for (const [p, headers] of [
        ['/api/v1/officers', {}],
        ['/api/v1/regions', {}],
        ['/api/v1/publications/1', {}],
        ['/api/v1/runs', { authorization: `Bearer ${keys.admin}` }],
      ] as const) {
        const res = await fetch(`${api.url}${p}`, { headers });
        expect(res.status, p).toBe(503);
        expect(await res.json()).toEqual(envelope(/PostgreSQL/));
      }
      const ready = await fetch(`${api.url}/api/v1/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({
        checks: { postgres: 'down', redis: 'ok' },
        ...envelope(/PostgreSQL/),
      });
    } finally {
      await api.close();
      await refused.destroy();
    }
  });

  describe('a running `pksync serve api` through outages of both, recovering by itself', () => {
    let redis: FaultRedis | undefined;
    let pg: ReturnType<typeof tcpProxy>;
    let child: ChildProcess;
    let exited: { code: number | null; signal: string | null } | null = null;
    let stderr = '';
    let url = '';

    const call = async (method: string, p: string, body?: unknown): Promise<Answer> => {
      const res = await fetch(`${url}${p}`, {
        method,
        headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const sync = (region: string) => call('POST', '/api/v1/sync', { scope: { region }, reason: 'outage test' });

    beforeAll(async () => {
      redis = await startRedis();
      const db = new URL(t.url);
      pg = tcpProxy({ host: db.hostname, port: Number(db.port || 5432) });
      await pg.up();
      db.host = `127.0.0.1:${pg.port}`;
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      const main = fileURLToPath(new URL('../../cli/src/main.ts', import.meta.url));
      child = spawn(process.execPath, ['--import', 'tsx', main, 'serve', 'api'], {
        cwd: fileURLToPath(new URL('../../..', import.meta.url)),
        env: {
          ...process.env,
          DATABASE_URL: db.toString(),
          REDIS_URL: redis!.url,
          PORT: String(port),
          HOST: '127.0.0.1',
          QUEUE_PREFIX: `${r.prefix.slice(0, -1)}-serve}`,
          LOG_LEVEL: 'warn',
          SHUTDOWN_TIMEOUT_MS: '5000',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
      child.on('exit', (code, signal) => (exited = { code, signal }));
      await until(
        'the API is ready',
        () => call('GET', '/api/v1/readyz'),
        (a) => a.status === 200,
        30_000,
      );
    }, 60_000);

    afterAll(async () => {
      if (child && !exited) {
        child.kill('SIGTERM');
        await until(
          'the API stops',
          async () => exited,
          (e) => e !== null,
          10_000,
        ).catch(() => child.kill('SIGKILL'));
      }
      await redis?.destroy();
      await pg?.down();
    });

    it('Redis down: readiness and triggers answer 503 naming Redis, reads 200; back: 202 again', async () => {
      expect((await sync('16.71')).status).toBe(202);
      await redis!.stop();
      const ready = await until(
        'readiness reports Redis',
        () => call('GET', '/api/v1/readyz'),
        (a) => a.status === 503,
      );
      expect(ready.body).toEqual({
        status: 'unavailable',
        checks: { postgres: 'ok', redis: 'down' },
        ...envelope(/Redis/),
      });
      const refused = await sync('16.02');
      expect(refused.status).toBe(503);
      expect(refused.body).toEqual(envelope(/Redis/));
      expect((await call('GET', '/api/v1/officers?limit=1')).status).toBe(200);
      const metrics = await fetch(`${url}/api/v1/metrics`, { signal: AbortSignal.timeout(10_000) });
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/^pksync_metrics_source_up\{source="redis",service="api"\} 0$/m);

      await redis!.start();
      await until(
        'readiness recovers',
        () => call('GET', '/api/v1/readyz'),
        (a) => a.status === 200,
      );
      const again = await until(
        'triggers recover',
        () => sync('16.02'),
        (a) => a.status === 202,
      );
      expect(again.body).toMatchObject({ created: true, status: 'queued' });
      expect(exited).toBeNull();
    }, 60_000);

    it('PostgreSQL down: every route answers 503 naming PostgreSQL, quickly; back: 200 again', async () => {
      await pg.down();
      for (const p of ['/api/v1/officers', '/api/v1/runs', '/api/v1/sources', '/api/v1/publications']) {
        const a = await call('GET', p);
        expect(a.status, p).toBe(503);
        expect(a.body).toEqual(envelope(/PostgreSQL/));
      }
      const refused = await sync('16');
      expect(refused.status).toBe(503);
      expect(refused.body).toEqual(envelope(/PostgreSQL/));
      const ready = await call('GET', '/api/v1/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ checks: { postgres: 'down', redis: 'ok' }, ...envelope(/PostgreSQL/) });

      await pg.up();
      await until(
        'readiness recovers',
        () => call('GET', '/api/v1/readyz'),
        (a) => a.status === 200,
      );
      expect((await call('GET', '/api/v1/officers?limit=1')).status).toBe(200);
      expect((await call('GET', '/api/v1/runs')).status).toBe(200);
      expect(exited, stderr).toBeNull();
    }, 60_000);

    it('both down at once, then both back: still the same process, which stops cleanly on SIGTERM', async () => {
      await redis!.stop();
      await pg.down();
      const ready = await call('GET', '/api/v1/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ checks: { postgres: 'down', redis: 'down' } });
      expect((await call('GET', '/api/v1/officers')).status).toBe(503);
      await redis!.start();
      await pg.up();
      await until(
        'readiness recovers',
        () => call('GET', '/api/v1/readyz'),
        (a) => a.status === 200,
      );
      expect(exited, stderr).toBeNull();
      expect(stderr).not.toMatch(/Unhandled|uncaught/i);
      child.kill('SIGTERM');
      const end = await until(
        'the API stops',
        async () => exited,
        (e) => e !== null,
        10_000,
      );
      expect(end).toEqual({ code: 0, signal: null });
    }, 60_000);
  });
});
