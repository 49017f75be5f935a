import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '@pksync/queue';
import { useTestDatabase, useTestRedis } from '@pksync/testing';
import { createKeys, startTestApi, type Keys, type TestApi } from './helpers.ts';
import { loadConfig } from '@pksync/config';
import { buildApp, start } from '../src/index.ts';

describe('web console and queue dashboard', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  let api: TestApi;
  let keys: Keys;

  beforeAll(async () => {
    keys = await createKeys(t.db);
    api = await startTestApi(t.db, r.url, r.prefix);
  });
  afterAll(async () => {
    await api?.close();
  });

  it('asks a browser for the key on the dashboard and accepts it as the Basic password', async () => {
    const none = await fetch(`${api.url}/admin/queues`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm="pksync admin"/);
    const basic = (key: string) => `Basic ${Buffer.from(`admin:${key}`).toString('base64')}`;
    const page = await fetch(`${api.url}/admin/queues`, { headers: { authorization: basic(keys.admin) } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const queues = await fetch(`${api.url}/admin/queues/api/queues`, { headers: { authorization: basic(keys.admin) } });
    expect(queues.status).toBe(200);
    const names = ((await queues.json()) as { queues: { name: string }[] }).queues.map((q) => q.name).sort();
    expect(names).toEqual([...QUEUE_NAMES].sort());
    // A province key is not an admin, whichever way it is sent.
    expect(
      (await fetch(`${api.url}/admin/queues/api/queues`, { headers: { authorization: basic(keys.own) } })).status,
    ).toBe(403);
  });

  it('serves the web console at / next to the API', async () => {
    const webRoot = fileURLToPath(new URL('../../web/public/', import.meta.url));
    const app = await buildApp(api.app.ctx, { logger: false, webRoot });
    try {
      const index = await app.inject({ url: '/' });
      expect(index.statusCode).toBe(200);
      expect(index.headers['content-type']).toMatch(/text\/html/);
      const health = await app.inject({ url: '/api/v1/healthz' });
      expect(health.json()).toEqual({ status: 'ok' });
      const missing = await app.inject({ url: '/api/v1/nope' });
      expect(missing.statusCode).toBe(404);
      expect(missing.json()).toMatchObject({ error: { code: 'not_found' } });
    } finally {
      await app.close();
    }
  });

  it('start() listens on the configured port, answers, and closes (twice, safely)', async () => {
    const config = loadConfig({
      DATABASE_URL: t.url,
      REDIS_URL: r.url,
      QUEUE_PREFIX: r.prefix,
      PORT: '0',
      LOG_LEVEL: 'silent',
    });
    const running = await start(config, { webRoot: null });
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await (await fetch(`${running.url}/api/v1/readyz`)).json()).toMatchObject({ status: 'ready' });
    await running.close();
    await running.close();
    await expect(fetch(`${running.url}/api/v1/healthz`)).rejects.toThrow();
  });
});
