import { createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useTestDatabase } from '@pksync/testing';
import {
  addContact,
  CONFIGURED_WEBHOOK_ID,
  ConfiguredContactError,
  ContactValidationError,
  getContact,
  listContacts,
  listOutbox,
  removeContact,
  rotateContactSecret,
  setContactEnabled,
  syncConfiguredWebhook,
} from '@pksync/db';
import { deliverDue, keepConfiguredWebhook, writeDigestOutbox, type NotifyConfig } from '../src/index.ts';
import { insertFinding, insertRun, startWebhookReceiver, type WebhookReceiver } from './support/index.ts';

// ALERT_WEBHOOK_URL + ALERT_WEBHOOK_SECRET: the configured ministry webhook, a contact of every
// province kept in line with the configuration (syncConfiguredWebhook), against PostgreSQL and
// real HTTP receivers.

const T0 = new Date('2026-11-27T02:00:00Z');
const key = randomBytes(32);
const SECRET = 'the-ministry-signing-secret';
const sign = (body: string, secret: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
const silent = { info() {}, warn() {}, error() {} };

describe('the configured ministry webhook', () => {
  const t = useTestDatabase();
  let a: WebhookReceiver;
  let b: WebhookReceiver;
  let province: WebhookReceiver;
  let config: NotifyConfig;

  beforeAll(async () => {
    a = await startWebhookReceiver();
    b = await startWebhookReceiver();
    province = await startWebhookReceiver();
    config = {
      smtpUrl: undefined,
      alertFrom: 'pksync <noreply@pksync.test>',
      publicBaseUrl: 'https://pksync.test/',
      tokenKey: key,
    };
    // Province 16 has a webhook of its own; province 31 has no contact.
    await addContact(
      t.db,
      { provinceCode: '16', kind: 'webhook', address: province.url, secret: 'province-16-secret!' },
      key,
    );
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await province?.close();
  });
  beforeEach(async () => {
    await t.db.deleteFrom('alert_outbox').execute();
    await t.db.deleteFrom('findings').execute();
    for (const r of [a, b, province]) {
      r.requests.length = 0;
      r.processed.clear();
    }
  });

  const deps = (now: Date) => ({
    db: t.db,
    config,
    now: () => now,
    retry: { baseDelayMs: 60_000, leaseMs: 60_000, timeoutMs: 5_000 },
  });
  const afterRun = (runId: string, opened: number[], now = T0) =>
    t.db
      .transaction()
      .execute((trx) => writeDigestOutbox(trx, { runId, openedFindingIds: opened, resolvedFindingIds: [], now }));
  const findingsIn = async (runId: string) => [
    await insertFinding(t.db, { region: '16.71', runId, nip: '198501012010011001', row: 3, firstSeenAt: T0 }),
    await insertFinding(t.db, { region: '31.71', runId, nip: '197001011990031003', row: 4, firstSeenAt: T0 }),
  ];

  it('is created from the configuration with a fixed id, shown without its secret, and kept on restarts', async () => {
    expect(await syncConfiguredWebhook(t.db, { url: a.url, secret: SECRET }, key)).toEqual({
      status: 'created',
      changed: [],
    });
    // A restart with the same variables changes nothing (not even updated_at).
    const before = await getContact(t.db, CONFIGURED_WEBHOOK_ID);
    expect(await syncConfiguredWebhook(t.db, { url: a.url, secret: SECRET }, key)).toEqual({
      status: 'unchanged',
      changed: [],
    });
    const c = await getContact(t.db, CONFIGURED_WEBHOOK_ID);
    expect(c).toEqual(before);
    expect(c).toMatchObject({
      id: CONFIGURED_WEBHOOK_ID,
      isAdmin: true,
      provinceCode: null,
      kind: 'webhook',
      address: a.url,
      enabled: true,
      hasSecret: true,
      configured: true,
      createdBy: 'ALERT_WEBHOOK_URL',
      name: 'ministry webhook (ALERT_WEBHOOK_URL)',
    });
    // Listed among the ministry's contacts, never to a province, never with its secret.
    const admins = await listContacts(t.db, { admin: true });
    expect(admins.map((x) => x.id)).toEqual([CONFIGURED_WEBHOOK_ID]);
    expect(JSON.stringify(admins)).not.toContain(SECRET);
    expect((await listContacts(t.db, { provinceCode: '16' })).map((x) => x.configured)).toEqual([false]);
    // Stored encrypted, like every contact secret.
    const row = await t.db
      .selectFrom('alert_contacts')
      .selectAll()
      .where('id', '=', CONFIGURED_WEBHOOK_ID)
      .executeTakeFirstOrThrow();
    expect(row.secret_encrypted).toMatch(/^v1:/);
    expect(row.secret_encrypted).not.toContain(SECRET);
  });

  it('CLI/API cannot disable, remove or re-key it; other contacts still can', async () => {
    await syncConfiguredWebhook(t.db, { url: a.url, secret: SECRET }, key);
    await expect(removeContact(t.db, CONFIGURED_WEBHOOK_ID)).rejects.toBeInstanceOf(ConfiguredContactError);
    await expect(setContactEnabled(t.db, CONFIGURED_WEBHOOK_ID, false)).rejects.toThrow(/ALERT_WEBHOOK_URL/);
    await expect(rotateContactSecret(t.db, CONFIGURED_WEBHOOK_ID, 'another-secret-16ch', key)).rejects.toMatchObject({
      field: 'secret',
      statusCode: 409,
    });
    expect((await getContact(t.db, CONFIGURED_WEBHOOK_ID))?.enabled).toBe(true);
    // The same URL cannot be added by hand as another ministry webhook.
    await expect(
      addContact(t.db, { admin: true, kind: 'webhook', address: a.url, secret: 'x'.repeat(16) }, key),
    ).rejects.toBeInstanceOf(ContactValidationError);
    const other = await addContact(t.db, { admin: true, kind: 'email', address: 'pusat@kemnaker.go.id' }, key);
    expect(await setContactEnabled(t.db, other.id, false)).toBe(true);
    expect(await removeContact(t.db, other.id)).toBe(true);
  });

  it('gets every province’s digest, one row per province, signed with its secret; a province without contacts is reached', async () => {
    await syncConfiguredWebhook(t.db, { url: a.url, secret: SECRET }, key);
    const run = await insertRun(t.db);
    const [f16, f31] = await findingsIn(run);
    const res = await afterRun(run, [f16!, f31!]);
    expect(res).toMatchObject({ provinces: ['16', '31'], unreachableProvinces: [], rows: 3, ministryWebhookRows: 2 });
    const rows = await listOutbox(t.db, { runId: run });
    expect(
      rows
        .filter((r) => r.contactId === CONFIGURED_WEBHOOK_ID)
        .map((r) => [r.provinceCode, r.audience, r.kind, r.channel])
        .sort(),
    ).toEqual([
      ['16', 'ministry', 'digest', 'webhook'],
      ['31', 'ministry', 'digest', 'webhook'],
    ]);

    expect((await deliverDue(deps(T0))).counts).toMatchObject({ claimed: 3, sent: 3 });
    expect(a.requests).toHaveLength(2);
    const byProvince = new Map(
      a.requests.map((r) => [(JSON.parse(r.body) as { province_code: string }).province_code, r]),
    );
    for (const [p, f] of [
      ['16', f16],
      ['31', f31],
    ] as const) {
      const r = byProvince.get(p)!;
      expect(r.headers['x-pksync-signature']).toBe(sign(r.body, SECRET));
      expect(r.headers['idempotency-key']).toBe(`digest:${run}:${p}:${CONFIGURED_WEBHOOK_ID}`);
      expect(r.headers['x-pksync-event']).toBe('findings.digest');
      const body = JSON.parse(r.body) as {
        audience: string;
        groups: { rows: { finding_id: number; nip: string }[] }[];
      };
      // The province's digest as the province gets it: its findings only, NIP in full.
      expect(body.audience).toBe('province');
      expect(body.groups.flatMap((g) => g.rows.map((x) => x.finding_id))).toEqual([f]);
    }
    // The province's own webhook got its digest, with its own key and secret, as before.
    expect(province.requests).toHaveLength(1);
    expect(province.requests[0]!.headers['x-pksync-signature']).toBe(
      sign(province.requests[0]!.body, 'province-16-secret!'),
    );
    // The same digest, but for its idempotency key.
    const { idempotency_key: own, ...ownBody } = JSON.parse(province.requests[0]!.body) as Record<string, unknown>;
    const { idempotency_key: ministry, ...ministryBody } = JSON.parse(byProvince.get('16')!.body) as Record<
      string,
      unknown
    >;
    expect(ownBody).toEqual(ministryBody);
    expect(own).not.toBe(ministry);
    // Told: the next run writes nothing more.
    expect((await afterRun(await insertRun(t.db), [])).rows).toBe(0);
  });

  it('failing for 24 h is only logged: never a delivery_failed finding of the province', async () => {
    await syncConfiguredWebhook(t.db, { url: a.url, secret: SECRET }, key);
    const run = await insertRun(t.db, { scope: { province: '31' } });
    const f = await insertFinding(t.db, { region: '31.71', runId: run, firstSeenAt: T0 });
    await afterRun(run, [f]);
    a.failNext(...Array<number>(27).fill(503));
    let now = T0;
    for (let i = 0; i < 27; i++) {
      await deliverDue(deps(now));
      now = new Date(now.getTime() + 3_600_000);
    }
    const [row] = await listOutbox(t.db, { runId: run });
    expect(row).toMatchObject({ status: 'pending', contactId: CONFIGURED_WEBHOOK_ID });
    expect(row!.attempts).toBe(27);
    expect(a.requests.map((r) => r.status)).toEqual(Array<number>(27).fill(503));
    expect(await t.db.selectFrom('findings').select('id').where('code', '=', 'delivery_failed').execute()).toEqual([]);
  });

  it('a new URL or secret takes effect at the next start: pending deliveries go there, under the same keys', async () => {
    await syncConfiguredWebhook(t.db, { url: a.url, secret: SECRET }, key);
    const run = await insertRun(t.db);
    await afterRun(run, await findingsIn(run));
    // A answers 500 once: the row waits out its back-off.
    a.failNext(500, 500);
    expect((await deliverDue(deps(T0))).counts).toMatchObject({ failed: 2 });
    const keys = a.requests.map((r) => r.headers['idempotency-key']).sort();

    const moved = await syncConfiguredWebhook(t.db, { url: b.url, secret: 'a-new-ministry-secret' }, key, T0);
    expect(moved).toEqual({ status: 'updated', changed: ['url', 'secret'] });
    expect((await getContact(t.db, CONFIGURED_WEBHOOK_ID))?.address).toBe(b.url);
    // Due at once (not after the back-off), to B, signed with the new secret.
    expect((await deliverDue(deps(new Date(T0.getTime() + 1000)))).counts).toMatchObject({ sent: 2 });
    expect(a.requests).toHaveLength(2);
    const toB = b.requests;
    expect(toB.map((r) => r.headers['idempotency-key']).sort()).toEqual(keys);
    for (const r of toB) expect(r.headers['x-pksync-signature']).toBe(sign(r.body, 'a-new-ministry-secret'));
    expect(await t.db.selectFrom('alert_outbox').select('id').execute()).toHaveLength(3);
  });

  it('unset: disabled (same id kept), pending deliveries cancelled, no new rows; set again: the same contact', async () => {
    await syncConfiguredWebhook(t.db, { url: a.url, secret: SECRET }, key);
    const run = await insertRun(t.db, { scope: { province: '31' } });
    await afterRun(run, [await insertFinding(t.db, { region: '31.71', runId: run, firstSeenAt: T0 })]);
    expect(await syncConfiguredWebhook(t.db, undefined, key)).toEqual({ status: 'disabled', changed: ['enabled'] });
    expect(await syncConfiguredWebhook(t.db, undefined, key)).toEqual({ status: 'absent', changed: [] });
    expect((await listOutbox(t.db, { runId: run }))[0]).toMatchObject({ status: 'cancelled' });
    expect((await getContact(t.db, CONFIGURED_WEBHOOK_ID))?.enabled).toBe(false);
    // Province 31 has no contact left: unreachable, told later.
    const run2 = await insertRun(t.db, { scope: { province: '31' } });
    const f = await insertFinding(t.db, { region: '31.71', runId: run2, firstSeenAt: T0 });
    expect(await afterRun(run2, [f])).toMatchObject({ rows: 0, unreachableProvinces: ['31'] });
    expect(await deliverDue(deps(T0))).toMatchObject({ counts: { claimed: 0 } });
    expect(a.requests).toHaveLength(0);

    const back = await syncConfiguredWebhook(t.db, { url: a.url, secret: SECRET }, key);
    expect(back).toEqual({ status: 'updated', changed: ['enabled'] });
    const run3 = await insertRun(t.db, { scope: { province: '31' } });
    expect(await afterRun(run3, [])).toMatchObject({ rows: 1, ministryWebhookRows: 1 });
    await deliverDue(deps(T0));
    expect(a.requests.map((r) => r.headers['idempotency-key'])).toEqual([`digest:${run3}:31:${CONFIGURED_WEBHOOK_ID}`]);
  });

  it('another TOKEN_ENCRYPTION_KEY: the secret is stored again with it', async () => {
    await syncConfiguredWebhook(t.db, { url: a.url, secret: SECRET }, key);
    const other = randomBytes(32);
    expect(await syncConfiguredWebhook(t.db, { url: a.url, secret: SECRET }, other)).toEqual({
      status: 'updated',
      changed: ['secret'],
    });
    expect(await syncConfiguredWebhook(t.db, { url: a.url, secret: SECRET }, other)).toMatchObject({
      status: 'unchanged',
    });
    await syncConfiguredWebhook(t.db, { url: a.url, secret: SECRET }, key);
  });

  it('start-up: an admin webhook added by hand with the same URL stops it, naming the conflict', async () => {
    await syncConfiguredWebhook(t.db, undefined, key);
    await t.db.deleteFrom('alert_contacts').where('id', '=', CONFIGURED_WEBHOOK_ID).execute();
    const hand = await addContact(t.db, { admin: true, kind: 'webhook', address: b.url, secret: 'y'.repeat(16) }, key);
    await expect(
      keepConfiguredWebhook(t.db, { alertWebhook: { url: b.url, secret: SECRET }, tokenKey: key }, silent),
    ).rejects.toThrow(/ALERT_WEBHOOK_URL .* is already a ministry webhook contact/);
    expect(await getContact(t.db, CONFIGURED_WEBHOOK_ID)).toBeUndefined();
    await removeContact(t.db, hand.id);
    const keeper = await keepConfiguredWebhook(
      t.db,
      { alertWebhook: { url: a.url, secret: SECRET }, tokenKey: key },
      silent,
    );
    keeper.stop();
    keeper.stop();
    expect((await getContact(t.db, CONFIGURED_WEBHOOK_ID))?.address).toBe(a.url);
  });
});
