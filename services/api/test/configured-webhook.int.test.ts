import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase, useTestRedis } from '@pksync/testing';
import { CONFIGURED_WEBHOOK_ID, getContact, syncConfiguredWebhook } from '@pksync/db';
import { createKeys, startTestApi, type Keys, type TestApi } from './helpers.ts';

// The ministry webhook of ALERT_WEBHOOK_URL through the contact routes: visible to admins (never
// its secret), hidden from provinces, and changed only by the configuration.
describe('alert contacts API: the configured ministry webhook', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  const SECRET = 'the-ministry-signing-secret';
  const URL = 'https://pusat.example.go.id/hooks/pksync';
  let api: TestApi;
  let keys: Keys;

  beforeAll(async () => {
    keys = await createKeys(t.db);
    api = await startTestApi(t.db, r.url, r.prefix);
    // The API's token key (helpers.ts): the worker that synced it shares the key.
    await syncConfiguredWebhook(t.db, { url: URL, secret: SECRET }, Buffer.alloc(32, 7));
  });
  afterAll(async () => {
    await api?.close();
  });

  const call = async (key: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api.url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, text, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
  };

  it('GET /contacts shows it to admins without its secret; a province key does not see it', async () => {
    const all = await call(keys.admin, 'GET', '/contacts');
    expect(all.status).toBe(200);
    expect(all.body!.data).toEqual([
      expect.objectContaining({
        id: CONFIGURED_WEBHOOK_ID,
        admin: true,
        province_code: null,
        kind: 'webhook',
        address: URL,
        name: 'ministry webhook (ALERT_WEBHOOK_URL)',
        created_by: 'ALERT_WEBHOOK_URL',
        enabled: true,
        has_secret: true,
      }),
    ]);
    expect(all.text).not.toContain(SECRET);
    const own = await call(keys.own, 'GET', '/contacts');
    expect(own.status).toBe(200);
    expect(own.body!.data).toEqual([]);
  });

  it('PATCH and DELETE answer 409 and the secret route 400, naming the variables; nothing changes', async () => {
    for (const [method, body] of [
      ['PATCH', { enabled: false }],
      ['DELETE', undefined],
    ] as const) {
      const res = await call(keys.admin, method, `/contacts/${CONFIGURED_WEBHOOK_ID}`, body);
      expect(res.status).toBe(409);
      expect(String((res.body!.error as { message: string }).message)).toContain('ALERT_WEBHOOK_URL');
    }
    const rotate = await call(keys.admin, 'POST', `/contacts/${CONFIGURED_WEBHOOK_ID}/secret`, {});
    expect(rotate.status).toBe(400);
    expect(rotate.body).toMatchObject({ error: { code: 'invalid_request' } });
    expect(String((rotate.body!.error as { message: string }).message)).toContain('ALERT_WEBHOOK_SECRET');
    expect(await getContact(t.db, CONFIGURED_WEBHOOK_ID)).toMatchObject({ enabled: true, address: URL });
  });
});
