import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '@pksync/testing';
import { listContacts } from '@pksync/db';
import { runContactsAdd } from '../src/commands/contacts.command.ts';
import { runFindings, runFindingsAck } from '../src/commands/findings.command.ts';

const key = randomBytes(32);

describe('pksync contacts / pksync findings', () => {
  const t = useTestDatabase();

  it('adds validated contacts, generates a webhook secret once, refuses bad input naming the field', async () => {
    const ok = await runContactsAdd(t.db, { province: '16', email: 'Data@Sumsel.go.id' }, key);
    expect(ok.exitCode).toBe(0);
    const hook = await runContactsAdd(t.db, { province: '16', webhook: 'https://hooks.sumsel.go.id/x' }, key);
    expect(hook.exitCode).toBe(0);
    expect(hook.output).toMatch(/signing secret .*: [A-Za-z0-9_-]{32}$/m);
    expect((await runContactsAdd(t.db, { province: '16', email: 'data@sumsel.go.id' }, key)).output).toMatch(
      /already exists/,
    );
    expect((await runContactsAdd(t.db, { province: '99', email: 'a@b.id' }, key)).output).toMatch(/invalid province/);
    expect((await runContactsAdd(t.db, { province: '16', email: 'not-an-address' }, key)).output).toMatch(
      /invalid address/,
    );
    expect((await runContactsAdd(t.db, { province: '16', webhook: 'ftp://x.id/' }, key)).output).toMatch(/https/);
    expect(
      (await runContactsAdd(t.db, { province: '16', webhook: 'https://x.id/', secret: 'short' }, key)).exitCode,
    ).toBe(1);
    expect((await runContactsAdd(t.db, { province: '16', webhook: 'https://x.id/' }, undefined)).output).toMatch(
      /TOKEN_ENCRYPTION_KEY/,
    );
    expect((await runContactsAdd(t.db, { province: '16' }, key)).exitCode).toBe(1);
    expect((await runContactsAdd(t.db, { admin: true, email: 'pusat@kemnaker.go.id' }, key)).exitCode).toBe(0);
    const all = await listContacts(t.db);
    expect(all.map((c) => `${c.isAdmin ? 'admin' : c.provinceCode}/${c.kind}`)).toEqual([
      'admin/email',
      '16/email',
      '16/webhook',
    ]);
    expect(JSON.stringify(all)).not.toMatch(/secret_encrypted|v1:/);
  });

  it('lists findings with filters and acknowledges one', async () => {
    const base = {
      severity: 'error' as const,
      message: 'Baris ditolak',
      source_id: '16.71-disnaker',
    };
    const rows = await t.db
      .insertInto('findings')
      .values([
        { ...base, code: 'record_rejected', fingerprint: 'a', province_code: '16', region_code: '16.71' },
        { ...base, code: 'record_rejected', fingerprint: 'b', province_code: '31', region_code: '31.71' },
        {
          ...base,
          code: 'source_failed',
          fingerprint: 'c',
          province_code: '16',
          region_code: '16.02',
          status: 'resolved',
        },
      ])
      .returning('id')
      .execute();
    const [a, , c] = rows.map((r) => Number(r.id));
    const open16 = await runFindings(t.db, { province: '16', open: true });
    expect(open16.output).toContain(`#${a} `);
    expect(open16.output).not.toContain(`#${c} `);
    expect(open16.output).toMatch(/1 findings \(1 open\)$/);
    expect((await runFindings(t.db, { status: 'resolved' })).output).toContain(`#${c} `);
    expect((await runFindings(t.db, { province: '1' })).exitCode).toBe(1);
    expect((await runFindings(t.db, { status: 'closed' })).exitCode).toBe(1);
    expect((await runFindingsAck(t.db, String(a), { note: 'diperbaiki minggu ini' })).output).toBe(
      `#${a} acknowledged`,
    );
    expect((await runFindingsAck(t.db, String(c), {})).output).toMatch(/already resolved/);
    expect((await runFindingsAck(t.db, '999999', {})).exitCode).toBe(3);
    const acked = await runFindings(t.db, { status: 'acknowledged' });
    expect(acked.output).toContain('ack: diperbaiki minggu ini');
  });
});
