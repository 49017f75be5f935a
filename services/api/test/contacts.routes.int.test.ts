import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase, useTestRedis } from '@pksync/testing';
import { createKeys, startTestApi, type Keys, type TestApi } from './helpers.ts';

// R15: the alert-contact routes, with the test keys and app.
describe('alert contacts API', () => {
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

  const call = async (key: string | null, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api.url}/api/v1${path}`, {
      method,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
  };

  it('admins add, list, disable and remove contacts; provinces read only their own; secrets never come back', async () => {
    expect((await call(null, 'GET', '/contacts')).status).toBe(401);
    expect(
      (await call(keys.own, 'POST', '/contacts', { province_code: '16', kind: 'email', address: 'a@b.id' })).status,
    ).toBe(403);

    const mail = await call(keys.admin, 'POST', '/contacts', {
      province_code: '16',
      kind: 'email',
      address: 'data@sumsel.go.id',
    });
    expect(mail.status).toBe(201);
    expect(mail.body).toMatchObject({
      province_code: '16',
      kind: 'email',
      admin: false,
      secret: null,
      has_secret: false,
    });
    const hook = await call(keys.admin, 'POST', '/contacts', {
      province_code: '16',
      kind: 'webhook',
      address: 'https://hooks.sumsel.go.id/x',
    });
    expect(hook.status).toBe(201);
    expect(String(hook.body!.secret)).toMatch(/^[A-Za-z0-9_-]{32}$/);
    await call(keys.admin, 'POST', '/contacts', { province_code: '31', kind: 'email', address: 'data@jakarta.go.id' });
    const admin = await call(keys.admin, 'POST', '/contacts', {
      admin: true,
      kind: 'email',
      address: 'pusat@kemnaker.go.id',
    });
    expect(admin.body).toMatchObject({ province_code: null, admin: true });

    const bad = await call(keys.admin, 'POST', '/contacts', { province_code: '16', kind: 'email', address: 'nope' });
    expect(bad.status).toBe(400);
    expect((bad.body!.error as { message: string }).message).toMatch(/^body\.address:/);
    const dup = await call(keys.admin, 'POST', '/contacts', {
      province_code: '16',
      kind: 'email',
      address: 'DATA@sumsel.go.id',
    });
    expect(dup.status).toBe(400);
    expect(
      (await call(keys.admin, 'POST', '/contacts', { province_code: '99', kind: 'email', address: 'a@b.id' })).status,
    ).toBe(400);
    expect((await call(keys.admin, 'POST', '/contacts', { kind: 'email', address: 'a@b.id' })).status).toBe(400);

    const all = await call(keys.admin, 'GET', '/contacts');
    expect((all.body!.data as unknown[]).length).toBe(4);
    expect(JSON.stringify(all.body)).not.toMatch(/secret_encrypted|"secret"/);
    const own = await call(keys.own, 'GET', '/contacts');
    expect((own.body!.data as { province_code: string }[]).map((c) => c.province_code)).toEqual(['16', '16']);
    expect((await call(keys.own, 'GET', '/contacts?province=31')).status).toBe(403);
    expect((await call(keys.own, 'GET', '/contacts?admin=true')).status).toBe(403);

    const hookId = String(hook.body!.id);
    const rotated = await call(keys.admin, 'POST', `/contacts/${hookId}/secret`, {});
    expect(rotated.status).toBe(200);
    expect(String(rotated.body!.secret)).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(rotated.body!.secret).not.toBe(hook.body!.secret);
    expect((await call(keys.admin, 'POST', `/contacts/${hookId}/secret`, { secret: 'short' })).status).toBe(400);
    expect((await call(keys.admin, 'POST', `/contacts/${String(mail.body!.id)}/secret`, {})).status).toBe(404);
    expect((await call(keys.own, 'POST', `/contacts/${hookId}/secret`, {})).status).toBe(403);

    const id = String(mail.body!.id);
    const off = await call(keys.admin, 'PATCH', `/contacts/${id}`, { enabled: false, reason: 'alamat diganti' });
    expect(off.body).toMatchObject({ id, enabled: false });
    expect((await call(keys.own, 'PATCH', `/contacts/${id}`, { enabled: true })).status).toBe(403);
    expect((await call(keys.admin, 'DELETE', `/contacts/${id}`)).status).toBe(204);
    expect((await call(keys.admin, 'DELETE', `/contacts/${id}`)).status).toBe(404);
    expect((await call(keys.admin, 'DELETE', '/contacts/not-a-uuid')).status).toBe(400);

    const audit = await t.db.selectFrom('audit_log').select('action').where('action', 'like', 'contact.%').execute();
    expect(audit.map((a) => a.action).sort()).toEqual([
      'contact.add',
      'contact.add',
      'contact.add',
      'contact.add',
      'contact.disable',
      'contact.remove',
      'contact.rotate_secret',
    ]);
    const deliveries = await call(keys.admin, 'GET', '/contacts/deliveries');
    expect(deliveries.body).toEqual({ data: [], next_cursor: null });
    expect((await call(keys.own, 'GET', '/contacts/deliveries')).status).toBe(403);
  });
});
