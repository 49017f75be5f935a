import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useTestDatabase } from '@pksync/testing';
import { acknowledgeFindingById, addContact, listOutbox, rotateContactSecret, type AlertContact } from '@pksync/db';
import {
  deliverDue,
  sendTestMessage,
  writeDigestOutbox,
  writeDigestOutboxIsolated,
  type NotifyConfig,
} from '../src/index.ts';
import {
  freePort,
  insertFinding,
  insertRun,
  resolveFindings,
  startSmtpSink,
  startAlertReceivers,
  type SmtpSink,
  type WebhookReceiver,
} from './support/index.ts';

const DAY = 86_400_000;
const T0 = new Date('2026-11-27T02:00:00Z');
const at = (days: number, ms = 0) => new Date(T0.getTime() + days * DAY + ms);
const key = randomBytes(32);
const SECRET = 'province-16-signing-secret';

describe('R15 alerts against PostgreSQL, a real SMTP server and a real webhook receiver', () => {
  const t = useTestDatabase();
  let smtp: SmtpSink;
  let hook: WebhookReceiver;
  let config: NotifyConfig;
  let c16mail: AlertContact;
  let c16hook: AlertContact;

  beforeAll(async () => {
    ({ smtp, hook, config } = await startAlertReceivers(key));
    c16mail = await addContact(t.db, { provinceCode: '16', kind: 'email', address: 'data@sumsel.go.id' }, key);
    c16hook = await addContact(t.db, { provinceCode: '16', kind: 'webhook', address: hook.url, secret: SECRET }, key);
    await addContact(t.db, { provinceCode: '31', kind: 'email', address: 'data@jakarta.go.id' }, key);
    // Province 32 has a contact but no finding: it must get nothing.
    await addContact(t.db, { provinceCode: '32', kind: 'email', address: 'data@jabarprov.go.id' }, key);
    await addContact(t.db, { admin: true, kind: 'email', address: 'pusat@kemnaker.go.id' }, key);
  });
  afterAll(async () => {
    await smtp?.close();
    await hook?.close();
  });
  beforeEach(async () => {
    // Each test starts from no findings and an empty outbox (contacts stay).
    await t.db.deleteFrom('alert_outbox').execute();
    await t.db.deleteFrom('findings').execute();
    smtp.messages.length = 0;
    hook.requests.length = 0;
    hook.processed.clear();
  });

  const deps = (now: Date, extra: Partial<Parameters<typeof deliverDue>[0]> = {}) => ({
    db: t.db,
    config,
    now: () => now,
    retry: { baseDelayMs: 60_000, maxDelayMs: 3_600_000, leaseMs: 60_000, timeoutMs: 5_000 },
    ...extra,
  });
  const afterRun = (runId: string, opened: number[], resolved: number[], now: Date) =>
    t.db
      .transaction()
      .execute((trx) => writeDigestOutbox(trx, { runId, openedFindingIds: opened, resolvedFindingIds: resolved, now }));

  it('a national run gives one digest per affected province, with exactly its findings, and none elsewhere', async () => {
    const run = await insertRun(t.db);
    const nip = '198501012010011001';
    const f1 = await insertFinding(t.db, { region: '16.71', runId: run, nip, row: 12, firstSeenAt: T0 });
    const f2 = await insertFinding(t.db, {
      region: '16.71',
      runId: run,
      nip: '199002022015022002',
      row: 13,
      firstSeenAt: T0,
    });
    const f3 = await insertFinding(t.db, {
      region: '16.02',
      code: 'formation_missing',
      severity: 'warning',
      runId: run,
      firstSeenAt: T0,
      message: 'Formasi 2026 belum ada',
    });
    const f4 = await insertFinding(t.db, {
      region: '31.71',
      runId: run,
      nip: '197001011990031003',
      row: 2,
      firstSeenAt: T0,
    });
    const res = await afterRun(run, [f1, f2, f3, f4], [], T0);
    expect(res.provinces).toEqual(['16', '31']);
    expect(res.counts.new).toBe(4);
    // 16: e-mail + webhook; 31: e-mail; 32: none (no findings).
    expect(res.rows).toBe(3);

    const summary = await deliverDue(deps(T0));
    expect(summary.counts).toMatchObject({ claimed: 3, sent: 3, failed: 0 });
    expect(smtp.messages).toHaveLength(2);
    const to = (m: (typeof smtp.messages)[number]) => (Array.isArray(m.to) ? m.to[0] : m.to)?.text;
    const m16 = smtp.messages.find((m) => to(m) === 'data@sumsel.go.id')!;
    const m31 = smtp.messages.find((m) => to(m) === 'data@jakarta.go.id')!;
    expect(m16 && m31).toBeTruthy();
    expect(smtp.messages.some((m) => to(m) === 'data@jabarprov.go.id')).toBe(false);
    // Exactly the province's own findings.
    for (const id of [f1, f2, f3]) expect(m16.text).toContain(`#${id} `);
    expect(m16.text).not.toContain(`#${f4} `);
    expect(m31.text).toContain(`#${f4} `);
    for (const id of [f1, f2, f3]) expect(m31.text).not.toContain(`#${id} `);
    // Bahasa Indonesia, grouped, counts first, how to fix, link to the API.
    expect(m16.subject).toContain('Sumatera Selatan');
    expect(m16.text).toMatch(/Temuan baru\s+: 3/);
    expect(m16.text!.indexOf('RINGKASAN')).toBeLessThan(m16.text!.indexOf('RINCIAN'));
    expect(m16.text).toContain('Kota Palembang (16.71)');
    expect(m16.text).toContain('Cara memperbaiki:');
    expect(m16.text).toContain('https://pksync.test/api/v1/findings?province=16&region=16.71&rule=record_rejected');
    // NIP masked in e-mail (text and HTML): first 4 and last 3 digits.
    expect(m16.text).toContain('1985***********001');
    expect(m16.text).not.toContain(nip);
    expect(String(m16.html)).not.toContain(nip);
    expect(m16.messageId).toContain('digest:');

    // Webhook: signed with the contact's secret, idempotency key, full data.
    expect(hook.requests).toHaveLength(1);
    const req = hook.requests[0]!;
    const expected = `sha256=${createHmac('sha256', SECRET).update(req.body).digest('hex')}`;
    expect(req.headers['x-pksync-signature']).toBe(expected);
    expect(req.headers['idempotency-key']).toBe(`digest:${run}:16:${c16hook.id}`);
    const body = JSON.parse(req.body) as {
      province_code: string;
      groups: { rows: { finding_id: number; nip: string | null }[] }[];
    };
    expect(body.province_code).toBe('16');
    const ids = body.groups.flatMap((g) => g.rows.map((r) => r.finding_id)).sort((a, b) => a - b);
    expect(ids).toEqual([f1, f2, f3].sort((a, b) => a - b));
    expect(body.groups.flatMap((g) => g.rows).some((r) => r.nip === nip)).toBe(true);

    // Idempotent: the same run again writes nothing, a new run without new findings writes nothing.
    expect((await afterRun(run, [f1, f2, f3, f4], [], T0)).rows).toBe(0);
    expect((await afterRun(await insertRun(t.db), [], [], at(1))).rows).toBe(0);
    expect(c16mail.id).toBeTruthy();
  });

  it('acknowledge, auto-resolve on the next run, reminders after 7 days and never before', async () => {
    const run1 = await insertRun(t.db);
    const a = await insertFinding(t.db, { region: '16.71', runId: run1, nip: '198501012010011001', firstSeenAt: T0 });
    const b = await insertFinding(t.db, { region: '16.72', runId: run1, nip: '198601012010011001', firstSeenAt: T0 });
    const c = await insertFinding(t.db, {
      region: '16.73',
      runId: run1,
      firstSeenAt: T0,
      code: 'over_formation',
      severity: 'warning',
    });
    await afterRun(run1, [a, b, c], [], T0);
    await deliverDue(deps(T0));
    expect(smtp.messages).toHaveLength(1);

    // The province acknowledges b, with a note: it is not reminded.
    expect(await acknowledgeFindingById(t.db, { id: b, by: 'key:prov16', note: 'sedang diperbaiki', now: at(1) })).toBe(
      'acknowledged',
    );
    expect(await acknowledgeFindingById(t.db, { id: b, by: 'key:prov16', note: 'lagi', now: at(1) })).toBe(
      'already_acknowledged',
    );
    expect(
      await acknowledgeFindingById(t.db, { id: b, by: 'key:prov31', note: null, provinceCode: '31', now: at(1) }),
    ).toBe('not_found');

    // Next day: the run no longer finds c: resolved, and the resolution is told once.
    const run2 = await insertRun(t.db);
    await resolveFindings(t.db, [c], run2, at(1));
    const r2 = await afterRun(run2, [], [c], at(1));
    expect(r2.counts).toMatchObject({ new: 0, reminder: 0, resolved: 1 });
    await deliverDue(deps(at(1)));
    const last = smtp.messages.at(-1)!;
    expect(last.subject).toContain('1 selesai');
    expect(last.text).toContain(`[Selesai] #${c} `);

    // 6 days 23 h after the first digest: no reminder yet.
    const r3 = await afterRun(await insertRun(t.db), [], [], at(7, -3_600_000));
    expect(r3.rows).toBe(0);
    // 7 days: one reminder, for a only (b is acknowledged, c resolved).
    const r4 = await afterRun(await insertRun(t.db), [], [], at(7));
    expect(r4.counts).toMatchObject({ new: 0, reminder: 1, resolved: 0 });
    await deliverDue(deps(at(7)));
    const reminder = smtp.messages.at(-1)!;
    expect(reminder.text).toContain(`[Pengingat] #${a} `);
    expect(reminder.text).not.toContain(`#${b} `);
    // Not again 3 days later; again 7 days after the reminder.
    expect((await afterRun(await insertRun(t.db), [], [], at(10))).rows).toBe(0);
    expect((await afterRun(await insertRun(t.db), [], [], at(14))).counts.reminder).toBe(1);
  });

  it('SMTP down, then up: delivered once', async () => {
    const port = await freePort();
    const down = { ...config, smtpUrl: `smtp://127.0.0.1:${port}` };
    const run = await insertRun(t.db, { scope: { province: '31' } });
    const f = await insertFinding(t.db, { region: '31.71', runId: run, firstSeenAt: T0 });
    await afterRun(run, [f], [], T0);

    const s1 = await deliverDue({ ...deps(T0), config: down });
    expect(s1.counts).toMatchObject({ claimed: 1, sent: 0, failed: 1 });
    // Not due again before its back-off.
    expect((await deliverDue({ ...deps(at(0, 1000)), config: down })).counts.claimed).toBe(0);

    const sink = await startSmtpSink(port);
    try {
      const s2 = await deliverDue({ ...deps(at(0, 120_000)), config: down });
      expect(s2.counts).toMatchObject({ claimed: 1, sent: 1 });
      expect((await deliverDue({ ...deps(at(1)), config: down })).counts.claimed).toBe(0);
      expect(sink.messages).toHaveLength(1);
      expect(sink.messages[0]!.text).toContain(`#${f} `);
    } finally {
      await sink.close();
    }
    const [row] = await listOutbox(t.db, { runId: run });
    expect(row).toMatchObject({ status: 'sent', attempts: 2 });
  });

  it('a webhook answering 500 three times is delivered on the 4th, with the same idempotency key each time', async () => {
    await t.db.updateTable('alert_contacts').set({ enabled: false }).where('id', '=', c16mail.id).execute();
    try {
      const run = await insertRun(t.db, { scope: { province: '16' } });
      const f = await insertFinding(t.db, { region: '16.71', runId: run, firstSeenAt: T0 });
      await afterRun(run, [f], [], T0);
      hook.failNext(500, 500, 500);
      let now = T0;
      for (let i = 0; i < 6; i++) {
        await deliverDue(deps(now));
        now = new Date(now.getTime() + 3_600_000);
      }
      expect(hook.requests.map((r) => r.status)).toEqual([500, 500, 500, 200]);
      const keys = new Set(hook.requests.map((r) => r.headers['idempotency-key']));
      expect(keys).toEqual(new Set([`digest:${run}:16:${c16hook.id}`]));
      // The same bytes each time (so the same signature).
      expect(new Set(hook.requests.map((r) => r.body)).size).toBe(1);
      expect(hook.processed.size).toBe(1);
      const [row] = await listOutbox(t.db, { runId: run });
      expect(row).toMatchObject({ status: 'sent', attempts: 4 });
    } finally {
      await t.db.updateTable('alert_contacts').set({ enabled: true }).where('id', '=', c16mail.id).execute();
    }
  });

  it('a notify worker killed after sending and before recording: not lost, not processed twice by the webhook', async () => {
    await t.db.updateTable('alert_contacts').set({ enabled: false }).where('id', '=', c16mail.id).execute();
    try {
      const run = await insertRun(t.db, { scope: { province: '16' } });
      const f = await insertFinding(t.db, { region: '16.71', runId: run, firstSeenAt: T0 });
      await afterRun(run, [f], [], T0);
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', fileURLToPath(new URL('./support/crash-child.fixture.ts', import.meta.url))],
        {
          env: {
            ...process.env,
            CRASH_DATABASE_URL: t.url,
            CRASH_TOKEN_KEY: key.toString('hex'),
            CRASH_NOW: T0.toISOString(),
          },
          stdio: ['ignore', 'inherit', 'inherit'],
        },
      );
      const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
        child.on('exit', (_code, sig) => resolve(sig)),
      );
      expect(signal).toBe('SIGKILL');
      // Sent, processed by the receiver, but not recorded.
      expect(hook.requests).toHaveLength(1);
      expect(hook.processed.size).toBe(1);
      const [pending] = await listOutbox(t.db, { runId: run });
      expect(pending).toMatchObject({ status: 'pending', attempts: 1 });
      // Under the dead worker's lease nobody resends; after it, another worker does, with the same key.
      expect((await deliverDue(deps(at(0, 30_000)))).counts.claimed).toBe(0);
      expect((await deliverDue(deps(at(0, 61_000)))).counts.sent).toBe(1);
      expect(hook.requests).toHaveLength(2);
      expect(hook.requests[1]!.headers['idempotency-key']).toBe(hook.requests[0]!.headers['idempotency-key']);
      expect(hook.requests[1]!.body).toBe(hook.requests[0]!.body);
      expect(hook.processed.size).toBe(1);
      const [sent] = await listOutbox(t.db, { runId: run });
      expect(sent).toMatchObject({ status: 'sent', attempts: 2 });
      expect((await deliverDue(deps(at(1)))).counts.claimed).toBe(0);
    } finally {
      await t.db.updateTable('alert_contacts').set({ enabled: true }).where('id', '=', c16mail.id).execute();
    }
  }, 60_000);

  it('hostile strings in names are escaped in the HTML e-mail', async () => {
    const run = await insertRun(t.db, { scope: { province: '31' } });
    const hostile = '<script>alert("x")</script><img src=x onerror=alert(1)> & "Budi" \'O\'';
    const f = await insertFinding(t.db, {
      region: '31.71',
      runId: run,
      sourceId: '31.71-"><b>src</b>',
      message: `Nama ${hostile} ditolak`,
      firstSeenAt: T0,
    });
    await afterRun(run, [f], [], T0);
    await deliverDue(deps(T0));
    const html = String(smtp.messages[0]!.html);
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<b>src</b>');
    expect(html).toContain(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; &amp; &quot;Budi&quot; &#39;O&#39;',
    );
    expect(html).toContain('31.71-&quot;&gt;&lt;b&gt;src&lt;/b&gt;');
    // The text part keeps the string as it is (plain text is not markup).
    expect(smtp.messages[0]!.text).toContain(hostile);
  });

  it('a delivery failing for 24 h becomes a finding for the ministry; a later success resolves it', async () => {
    const port = await freePort();
    const down = { ...config, smtpUrl: `smtp://127.0.0.1:${port}` };
    await t.db.updateTable('alert_contacts').set({ enabled: false }).where('id', '=', c16hook.id).execute();
    try {
      const run = await insertRun(t.db, { scope: { province: '16' } });
      const f = await insertFinding(t.db, { region: '16.71', runId: run, firstSeenAt: T0 });
      await afterRun(run, [f], [], T0);
      let now = T0;
      let reported = 0;
      while (now < at(1, 3_600_000)) {
        reported += (await deliverDue({ ...deps(now), config: down })).counts.reported;
        now = new Date(now.getTime() + 3_600_000);
      }
      expect(reported).toBe(1);
      const failed = await t.db.selectFrom('findings').selectAll().where('code', '=', 'delivery_failed').execute();
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ status: 'open', province_code: '16', severity: 'error' });
      expect(failed[0]!.message).toContain('data@sumsel.go.id');
      // The ministry's admin contact got an outbox row for it.
      const ministry = await t.db.selectFrom('alert_outbox').selectAll().where('audience', '=', 'ministry').execute();
      expect(ministry).toHaveLength(1);
      expect(ministry[0]!.kind).toBe('delivery_failed');
      // SMTP comes back: the province's digest and the ministry's alert both go out; the finding resolves.
      const sink = await startSmtpSink(port);
      try {
        await deliverDue({ ...deps(at(2)), config: down });
        expect(sink.messages.map((m) => (Array.isArray(m.to) ? m.to[0] : m.to)?.text).sort()).toEqual([
          'data@sumsel.go.id',
          'pusat@kemnaker.go.id',
        ]);
      } finally {
        await sink.close();
      }
      const after = await t.db.selectFrom('findings').select('status').where('code', '=', 'delivery_failed').execute();
      expect(after).toEqual([{ status: 'resolved' }]);
    } finally {
      await t.db.updateTable('alert_contacts').set({ enabled: true }).where('id', '=', c16hook.id).execute();
    }
  });

  it('a failing alert step does not fail the run; the next run reports what was missed', async () => {
    const run1 = await insertRun(t.db, { scope: { province: '31' } });
    const told = await insertFinding(t.db, { region: '31.71', runId: run1, firstSeenAt: T0 });
    await afterRun(run1, [told], [], T0);
    const run2 = await insertRun(t.db, { scope: { province: '31' } });
    const errors: unknown[] = [];
    // The reconciliation transaction: it raises a finding and resolves another, then the alert step fails.
    const fresh = await t.db.transaction().execute(async (trx) => {
      const id = await insertFinding(trx, { region: '31.72', runId: run2, firstSeenAt: at(1) });
      await resolveFindings(trx, [told], run2, at(1));
      const r = await writeDigestOutboxIsolated(
        trx,
        { runId: 'not-a-uuid', openedFindingIds: [id], resolvedFindingIds: [told], now: at(1) },
        (e) => errors.push(e),
      );
      expect(r).toBeNull();
      return id;
    });
    expect(errors).toHaveLength(1);
    // The run's own writes committed.
    const rows = await t.db.selectFrom('findings').select(['id', 'status']).orderBy('id').execute();
    expect(rows).toEqual([
      { id: told, status: 'resolved' },
      { id: fresh, status: 'open' },
    ]);
    expect(await t.db.selectFrom('alert_outbox').select('id').where('run_id', '=', run2).execute()).toEqual([]);
    // The next run tells both: the new finding and the resolution.
    const run3 = await insertRun(t.db, { scope: { province: '31' } });
    const r3 = await afterRun(run3, [], [], at(2));
    expect(r3.counts).toMatchObject({ new: 1, resolved: 1 });
  });

  it('test messages reach a contact now; a rotated secret signs the next delivery', async () => {
    expect(await sendTestMessage({ db: t.db, config }, c16mail.id)).toEqual({
      kind: 'email',
      address: 'data@sumsel.go.id',
    });
    expect(smtp.messages.at(-1)!.subject).toBe('[pksync] Uji pemberitahuan');
    await sendTestMessage({ db: t.db, config }, c16hook.id);
    const first = hook.requests.at(-1)!;
    expect(first.headers['x-pksync-event']).toBe('pksync.test');
    expect(first.headers['x-pksync-signature']).toBe(
      `sha256=${createHmac('sha256', SECRET).update(first.body).digest('hex')}`,
    );
    const rotated = 'a-brand-new-signing-secret';
    expect(await rotateContactSecret(t.db, c16hook.id, rotated, key)).toBe(true);
    expect(await rotateContactSecret(t.db, c16mail.id, rotated, key)).toBe(false);
    try {
      await sendTestMessage({ db: t.db, config }, c16hook.id);
      const second = hook.requests.at(-1)!;
      expect(second.headers['x-pksync-signature']).toBe(
        `sha256=${createHmac('sha256', rotated).update(second.body).digest('hex')}`,
      );
    } finally {
      await rotateContactSecret(t.db, c16hook.id, SECRET, key);
    }
    await expect(sendTestMessage({ db: t.db, config: { ...config, smtpUrl: undefined } }, c16mail.id)).rejects.toThrow(
      /SMTP_URL/,
    );
  });

  it('escalates a finding open for 30 days to the ministry, once', async () => {
    const run = await insertRun(t.db);
    const old = await insertFinding(t.db, { region: '31.71', runId: run, firstSeenAt: at(-30) });
    await insertFinding(t.db, { region: '31.72', runId: run, firstSeenAt: at(-29) });
    const r = await afterRun(run, [], [], T0);
    expect(r.ministryRows).toBe(1);
    expect(r.counts.escalation).toBe(1);
    await deliverDue(deps(T0));
    const mail = smtp.messages.find((m) => (Array.isArray(m.to) ? m.to[0] : m.to)?.text === 'pusat@kemnaker.go.id')!;
    expect(mail.subject).toContain('Eskalasi');
    expect(mail.text).toContain(`[Eskalasi] #${old} `);
    expect((await afterRun(await insertRun(t.db), [], [], at(1))).counts.escalation).toBe(1);
    expect((await afterRun(await insertRun(t.db), [], [], at(2))).counts.escalation).toBe(0);
  });
});
